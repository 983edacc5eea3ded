"""Import validation throughput: the largest file an upload may hold (50,000 rows) checked against
1,000,000 existing records.

Fills an empty database with 1,000,000 records spread over the province, then imports a CSV of
`--rows` rows (by default the upload limit, `TABLE_LIMITS.rows`) into one desa's submission end
to end: parsing, every record rule (NIK against the record, category criteria, family card),
duplicate detection (within the file, in other submissions of the period, among the records, and
probable duplicates by name and birth date), and writing the items. 1 % of the rows reuse a NIK
already recorded elsewhere. Prints rows per second for validation and for the whole import.
Target: >= 10,000 rows/s end to end on PostgreSQL.

Usage: python bench/quality.py [--database-url URL] [--records N] [--rows N]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import func, select

from bench.fixtures import empty_database, fill_records, province_desa
from engine.core.actors import Actor
from engine.core.tables import TABLE_LIMITS
from engine.core.uow import Database
from engine.quality.nik import compose
from engine.verification import imports, submissions
from engine.verification.items import ITEM_COLUMNS
from models import Record, SubmissionItem

DESA = "65.01.01.2005"
PERIOD = "2026-Q4"
SYSTEM = Actor.system("bench")


def make_file(rows: int, existing: list[str], rng: random.Random) -> bytes:
    lines = [",".join(ITEM_COLUMNS)]
    for i in range(rows):
        if existing and i % 100 == 0:
            nik = existing[i % len(existing)]  # someone recorded in another desa or category
            born = date(1900 + int(nik[10:12]), int(nik[8:10]), int(nik[6:8]) % 40 or 1)
            sex = "P" if int(nik[6:8]) > 40 else "L"
            if born.year < 1927:
                born = born.replace(year=born.year + 100)
        else:
            sex = "LP"[i % 2]
            born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 9000))
            kecamatan = f"65.01.{i // 9999 % 12 + 1:02d}"  # the NIK's region of first issue varies
            nik = compose(kecamatan, born, sex, i % 9999 + 1)
        age = 2026 - born.year
        kategori = "LUT" if age >= 61 else "PD" if age >= 19 else "ADK"  # a category that fits the age
        lines.append(
            ",".join(
                [nik, f"650101{i % 999999:010d}", f"Warga Uji {i}", sex, born.isoformat(), f"RT {i % 40}", kategori, ""]
            )
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=TABLE_LIMITS.rows)
    args = parser.parse_args()
    if not 0 < args.rows <= TABLE_LIMITS.rows:
        parser.error(f"--rows: 1 to {TABLE_LIMITS.rows:,}, the most an uploaded file may hold")
    rng = random.Random(65)
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "quality")
        fill_records(db, args.records, province_desa(db), rng)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        figures = import_once(db, args.rows, rng)
        db.dispose()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"database: {db.engine.dialect.name}; {args.records:,} existing records, {args.rows:,} rows imported"
    )
    print(f"  parse    {figures['parse']:6.2f} s")
    print(
        f"  validate {figures['validate']:6.2f} s  ({args.rows / figures['validate']:,.0f} rows/s; "
        f"{figures['errors']} errors, {figures['warnings']} warnings)"
    )
    print(f"  write    {figures['write']:6.2f} s  ({figures['added']:,} items; {figures['stored']:,} stored)")
    total = figures["total"]
    print(f"end to end: {total:.2f} s, {args.rows / total:,.0f} rows/s (target >= 10,000 rows/s)")


def import_once(db: Database, count: int, rng: random.Random, desa: str = DESA) -> dict[str, float]:
    """Import a generated file of `count` rows into a new submission of `desa`; seconds per phase."""
    with db.read() as s:
        existing = list(s.scalars(select(Record.nik).where(Record.kode_desa != desa).limit(2000)))
    content = make_file(count, existing, rng)
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, desa, PERIOD, "65").submission.id
    start = time.perf_counter()
    rows = imports.read_file("impor.csv", content)
    parsed = time.perf_counter()
    with db.read() as s:
        check = imports.check_rows(s, submissions.get_submission(s, sid), rows)
    validated = time.perf_counter()
    with db.transaction() as s:
        # the write of all rows is timed, as if the rows with errors had been corrected
        report = imports.import_rows(s, SYSTEM, sid, rows, checked=imports.RowCheck([], check.warnings))
    written = time.perf_counter()
    with db.read() as s:
        stored = s.scalar(select(func.count()).select_from(SubmissionItem).where(SubmissionItem.submission_id == sid))
    return {
        "parse": parsed - start,
        "validate": validated - parsed,
        "write": written - validated,
        "total": written - start,
        "errors": len(check.errors),
        "warnings": len(check.warnings),
        "added": report.added,
        "stored": stored or 0,
    }


if __name__ == "__main__":
    main()
