"""National scale: all 83,762 desa of Indonesia, 2,000,000 records and 200,000 open tasks, loaded
with PostgreSQL's COPY; then the inbox page's server time and an import's rate at that scale.

The records are spread over every desa of the country; the open tasks over every desa and tier,
with a block of `--local` of them in one kecamatan (65.01.01) whose verifier's inbox is measured,
as `bench/inbox.py` does for the province. The import is `bench/quality.py`'s: a file as large as an
upload may be (50,000 rows) into one desa's submission, checked against every existing record.
Targets: inbox p95 <= 50 ms, import >= 10,000 rows/s.

Usage: python bench/national.py --database-url postgresql://.../EMPTY [--records N] [--tasks N]
       python bench/national.py --database-url postgresql://.../FILLED --again   (measure only)
PostgreSQL only (COPY); the database must be empty. The scale is a parameter: on a small machine
start with --records 200000 --tasks 20000.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import Table, func, select

from bench.fixtures import NAMES, empty_database
from bench.inbox import KECAMATAN, PASSWORD, measure, p95
from bench.quality import PERIOD, import_once
from engine.bootstrap import bootstrap
from engine.core import rows as rows_written
from engine.core.actors import Actor
from engine.core.config import load_settings
from engine.core.tables import TABLE_LIMITS
from engine.core.uow import Database
from engine.people import users
from models import (
    Category,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    Record,
    Region,
    Submission,
    Tier,
    User,
    ancestor_code,
)

TIERS = [Tier.DESA, Tier.KECAMATAN, Tier.KECAMATAN, Tier.KABUPATEN, Tier.PROVINSI]
CHUNK = 100_000


def copy_rows(db: Database, table: Table, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY `rows` into `table` in a transaction of their own, as the product's import writes items."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # a bulk load, not a request
        return rows_written.copy_rows(conn, table, columns, rows)


def records(
    desa: list[str], kinds: list[str], count: int, rng: random.Random, offset: int = 0
) -> Iterator[tuple[Any, ...]]:
    born, now = date(1940, 1, 1), datetime.now(UTC)
    for i in range(offset, offset + count):
        code = desa[i % len(desa)]
        nik = f"{code[:8].replace('.', '')}{i % 28 + 1:02d}{i % 12 + 1:02d}{i % 90 + 10:02d}{i % 9999 + 1:04d}"
        yield (
            code,
            kinds[i % len(kinds)],
            nik,
            None,
            f"{rng.choice(NAMES)} {i}",
            "LP"[i % 2],
            born + timedelta(days=i % 25000),
            "",
            "",
            {},
            "aktif",
            1,
            now,
        )


RECORD_COLUMNS = [
    "kode_desa",
    "kategori",
    "nik",
    "no_kk",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "alamat",
    "keterangan",
    "atribut",
    "status",
    "versi",
    "updated_at",
]
INSTANCE_COLUMNS = [
    "id",
    "definition_id",
    "business_key",
    "region_kode",
    "periode",
    "status",
    "state",
    "serializer_version",
    "revision",
    "created_at",
    "updated_at",
]
TASK_COLUMNS = [
    "id",
    "instance_id",
    "spiff_task_id",
    "bpmn_id",
    "nama",
    "tingkat",
    "region_kode",
    "kode_desa",
    "periode",
    "business_key",
    "status",
    "priority",
    "overdue",
    "due_at",
    "created_at",
    "data",
]


def task_plan(desa: list[str], local: int, total: int) -> list[tuple[str, Tier]]:
    """(desa, tier) of each open task: `local` at the kecamatan tier in KECAMATAN, the rest spread."""
    here = [d for d in desa if d.startswith(KECAMATAN + ".")]
    plan = [(here[i % len(here)], Tier.KECAMATAN) for i in range(local)]
    plan += [(desa[(i * 7919) % len(desa)], TIERS[i % len(TIERS)]) for i in range(total - local)]
    return plan


def fill_tasks(db: Database, plan: list[tuple[str, Tier]], rng: random.Random) -> None:
    with db.read() as s:
        definition_id = s.scalar(select(ProcessDefinition.id))
    now = datetime.now(UTC)
    periods = [f"2026-Q{q}" for q in range(1, 5)]
    keys = [f"nasional/{i}/{periods[i % 4]}" for i in range(len(plan))]
    copy_rows(
        db,
        ProcessInstance.__table__,  # type: ignore[arg-type]
        INSTANCE_COLUMNS,
        (
            (i + 1, definition_id, keys[i], code, periods[i % 4], "berjalan", "{}", "1.5", 1, now, now)
            for i, (code, _) in enumerate(plan)
        ),
    )
    copy_rows(
        db,
        HumanTask.__table__,  # type: ignore[arg-type]
        TASK_COLUMNS,
        (
            (
                i + 1,
                i + 1,
                f"nasional-{i + 1}",
                f"verifikasi_{tier.value}",
                f"Verifikasi {tier.value}",
                tier,
                ancestor_code(code, tier),
                code,
                periods[i % 4],
                keys[i],
                "terbuka",
                rng.randint(0, 3),
                rng.random() < 0.1,
                now + timedelta(hours=rng.randint(-200, 600)),
                now,
                {},
            )
            for i, (code, tier) in enumerate(plan)
        ),
    )
    with db.engine.begin() as conn:  # the sequences continue after the ids written by COPY
        for table in ("process_instance", "human_task"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            conn.exec_driver_sql(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")


def load(db: Database, args: argparse.Namespace, rng: random.Random) -> dict[str, float]:
    """The country: its records by COPY, its open tasks and their instances; seconds per part."""
    with db.transaction() as s:
        users.add_user(s, Actor.system("bench"), "verif.bench", "verifier", KECAMATAN, password=PASSWORD)
    with db.read() as s:
        desa = list(s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA).order_by(Region.kode)))
        kinds = list(s.scalars(select(Category.kode).where(Category.jenis == "PPKS")))
    start = time.perf_counter()
    loaded = 0
    for first in range(0, args.records, CHUNK):  # one transaction per chunk: bounded memory and WAL
        loaded += copy_rows(
            db,
            Record.__table__,  # type: ignore[arg-type]
            RECORD_COLUMNS,
            records(desa, kinds, min(CHUNK, args.records - first), rng, offset=first),
        )
        print(f"  catatan {loaded:>10,}", end="\r", flush=True)
    print()  # the progress line ends here, so the figures printed next start on their own line
    seconds = {"records": time.perf_counter() - start}
    start = time.perf_counter()
    fill_tasks(db, task_plan(desa, args.local, args.tasks), rng)
    seconds["tasks"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        conn.exec_driver_sql("ANALYZE")
    seconds["analyse"] = time.perf_counter() - start
    return seconds


def loaded_database(url: str, tmp: str) -> Database:
    """A database `bench/national.py` has filled before (`--again`): measured as it is."""
    db = bootstrap(
        Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "b"}))
    )
    with db.read() as s:
        if not s.scalar(select(func.count()).select_from(User).where(User.username == "verif.bench")):
            sys.exit(f"{url}: belum diisi oleh bench/national.py; jalankan tanpa --again")
    return db


def unopened_desa(db: Database) -> str:
    """A desa of the measured kecamatan without a submission yet: each run imports into a new one,
    as the first run did, instead of adding to an earlier run's items."""
    with db.read() as s:
        opened = select(Submission.kode_desa).where(Submission.periode == PERIOD)
        found = s.scalar(
            select(Region.kode)
            .where(Region.tingkat == Tier.DESA, Region.kode.like(f"{KECAMATAN[:5]}.%"), Region.kode.not_in(opened))
            .order_by(Region.kode)
        )
    if found is None:
        sys.exit("semua desa kabupaten ini sudah punya pengajuan; isi basis data baru")
    return found


def earlier_imports(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == PERIOD)) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--tasks", type=int, default=200_000, help="open tasks in all")
    parser.add_argument("--local", type=int, default=10_000, help="of them, in the measured kecamatan")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rows", type=int, default=TABLE_LIMITS.rows, help="rows of the imported file")
    parser.add_argument("--again", action="store_true", help="measure a database this script has already filled")
    args = parser.parse_args()
    if not 0 < args.rows <= TABLE_LIMITS.rows:
        parser.error(f"--rows: 1 to {TABLE_LIMITS.rows:,}, the most an uploaded file may hold")
    if not args.database_url.startswith("postgresql"):
        sys.exit("COPY: hanya PostgreSQL")
    rng = random.Random(65)
    with tempfile.TemporaryDirectory() as tmp:
        if args.again:
            db, seconds = loaded_database(args.database_url, tmp), {}
        else:
            db = empty_database(args.database_url, tmp, "national")
            seconds = load(db, args, rng)
        with db.read() as s:
            counted = (
                s.scalar(select(func.count()).select_from(Record)) or 0,
                s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "terbuka")) or 0,
                s.scalar(select(func.count()).select_from(Region).where(Region.tingkat == Tier.DESA)) or 0,
            )
        timings = measure(db, args.requests)
        if args.again:  # a file of other people than the earlier runs' files, as another desa's would be
            rng = random.Random(65 + earlier_imports(db))
        figures = import_once(db, args.rows, rng, desa=unopened_desa(db))
        db.dispose()
    everything = [t for values in timings.values() for t in values]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
        f"{platform.python_implementation()} {platform.python_version()}, PostgreSQL"
    )
    if seconds:
        print(
            f"loaded with COPY: {counted[2]:,} desa, {counted[0]:,} records in {seconds['records']:.0f} s "
            f"({counted[0] / seconds['records']:,.0f} rows/s), {counted[1]:,} open tasks (and their instances) in "
            f"{seconds['tasks']:.0f} s, ANALYZE {seconds['analyse']:.0f} s"
        )
    else:
        print(f"measured again: {counted[2]:,} desa, {counted[0]:,} records, {counted[1]:,} open tasks")
    for name, values in timings.items():
        print(f"  inbox {name:20s} median {statistics.median(values):6.1f} ms   p95 {p95(values):6.1f} ms")
    print(
        f"inbox, all requests ({len(everything)}): median {statistics.median(everything):.1f} ms, "
        f"p95 {p95(everything):.1f} ms (target <= 50 ms)"
    )
    print(
        f"import of {args.rows:,} rows against {counted[0]:,} records: validate {figures['validate']:.2f} s, "
        f"write {figures['write']:.2f} s, end to end {args.rows / figures['total']:,.0f} rows/s "
        f"(target >= 10,000 rows/s)"
    )


if __name__ == "__main__":
    main()
