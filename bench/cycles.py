"""Opening an update cycle: every desa of Kalimantan Utara (482), and of Indonesia (83,762).

Each desa gets a submission, a process instance at the operator's first task, an inbox row, an
audit row and a `task.created` event, in batches of 500 desa per transaction. Targets: 482 desa in
<= 3 s; 83,762 desa in <= 120 s on PostgreSQL.

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
from engine import audit, bulk_open, cycles, definitions, submissions
from engine.actors import Actor
from models import Region, Submission, Tier

SYSTEM = Actor.system("bench")


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
            with db.read() as s:
                desa = list(s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA).order_by(Region.kode)))
                template = bulk_open.template(s, definitions.current(s, submissions.PROCESS_KEY).id, "P14D")
            start = time.perf_counter()
            opened = cycles.open_desa(db, SYSTEM, "2027-Q1", desa, template)
            national = time.perf_counter() - start
            with db.read() as s:
                count = s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == "2027-Q1"))
                chain = audit.verify_chain(s)
            print(f"Indonesia: {opened:,} desa in {national:.1f} s ({opened / national:,.0f} desa/s; "
                  f"{count:,} submissions stored; audit chain {'intact' if chain.ok else 'BROKEN'}) "
                  f"(target <= 120 s on PostgreSQL)")
        print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
              f"database: {db.engine.dialect.name}")
        db.dispose()


if __name__ == "__main__":
    main()
