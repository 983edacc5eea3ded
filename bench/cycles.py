"""Opening an update cycle: every desa of Kalimantan Utara (482), and of Indonesia (83,762).

Each desa gets a submission, a process instance at the operator's first task, an inbox row, an
audit row and a `task.created` event, in batches of 500 desa per transaction. Targets: 482 desa in
<= 3 s; 83,762 desa in <= 60 s on PostgreSQL.

Usage: python bench/cycles.py [--database-url URL] [--national]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import func, select

from bench.fixtures import empty_database
from engine.bpmn import bulk_start, definitions
from engine.core import audit
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.verification import cycle_batches, cycles, submissions
from models import Region, Submission, Tier

SYSTEM = Actor.system("bench")


def open_national(db: Database, period: str = "2027-Q1") -> tuple[int, float, int, bool]:
    """Open `period` for every desa of Indonesia: (desa opened, seconds, submissions stored, chain intact)."""
    with db.read() as s:
        desa = list(s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA).order_by(Region.kode)))
        current = definitions.current(s, submissions.PROCESS_KEY)
        template = bulk_start.template(s, current, {"sla_durasi": "P14D"}, cycles.START_VARIABLES)
    start = time.perf_counter()
    opened = cycle_batches.open_desa(db, SYSTEM, period, desa, template)
    seconds = time.perf_counter() - start
    with db.read() as s:
        count = s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == period)) or 0
        intact = audit.verify_chain(s).ok
    return opened, seconds, count, intact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--national", action="store_true", help="also open the cycle for every desa of Indonesia")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "cycles")
        start = time.perf_counter()
        result = cycles.open_cycle(db, SYSTEM, "2026-Q4")
        province = time.perf_counter() - start
        print(f"Kalimantan Utara: {result.opened} desa in {province:.2f} s (target <= 3 s)")
        if args.national:
            opened, national, count, intact = open_national(db)
            print(
                f"Indonesia: {opened:,} desa in {national:.1f} s ({opened / national:,.0f} desa/s; "
                f"{count:,} submissions stored; audit chain {'intact' if intact else 'BROKEN'}) "
                f"(target <= 60 s on PostgreSQL)"
            )
        print(
            f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
            f"database: {db.engine.dialect.name}"
        )
        db.dispose()


if __name__ == "__main__":
    main()
