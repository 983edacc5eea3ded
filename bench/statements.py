"""What one statement costs the client: this process's CPU per statement, on one connection.

Four statements, each run 2,000 times after a warm-up: `SELECT 1` through the driver alone, the
same through SQLAlchemy, one column of one row, and one ORM row of the inbox's task table (23
columns), on PostgreSQL also through psycopg's own cursor, whose description builds every column
(models/pg_cursor.py builds them when read). The gap between the driver and SQLAlchemy, and between
SQLite and PostgreSQL, is the client's share of every round trip the engine and the pages make
(docs/benchmarks.md).

Usage: python bench/statements.py [--database-url URL] [--runs N]
The default database is a fresh SQLite file; --database-url must name an empty database.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.fixtures import empty_database, province_desa
from bench.inbox import fill_tasks
from models import HumanTask, Region
from models.db import make_engine, postgresql_timeouts

Measured = dict[str, tuple[float, float]]


def _measure(statements: dict[str, Callable[[], object]], runs: int, rounds: int = 10) -> Measured:
    """Microseconds of this process's CPU and of wall time per statement: medians of `rounds`
    rounds, the statements taking turns so that the machine's noise hits them alike."""
    for run in statements.values():
        for _ in range(runs // 10):
            run()
    cpu: dict[str, list[float]] = {name: [] for name in statements}
    wall: dict[str, list[float]] = {name: [] for name in statements}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, run in statements.items():
            started_cpu, started = time.process_time(), time.perf_counter()
            for _ in range(per_round):
                run()
            cpu[name].append((time.process_time() - started_cpu) / per_round * 1e6)
            wall[name].append((time.perf_counter() - started) / per_round * 1e6)
    return {name: (statistics.median(cpu[name]), statistics.median(wall[name])) for name in statements}


def _driver(session: Session) -> Callable[[], object]:
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def run() -> object:
        cursor.execute("SELECT 1")
        return cursor.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    db = empty_database(args.database_url, tempfile.mkdtemp(prefix="sijosku-statements-"), "statements")
    fill_tasks(db, 10, 0, province_desa(db), random.Random(8))
    with db.read() as session:
        row = select(HumanTask).where(HumanTask.id == session.scalar(select(HumanTask.id).limit(1)))
        statements = {
            "SELECT 1 through the driver alone": _driver(session),
            "SELECT 1 through SQLAlchemy (text)": lambda: session.execute(text("SELECT 1")).all(),
            "one column of one row": lambda: session.execute(select(Region.nama).where(Region.kode == "65.01")).all(),
            "one ORM row of 23 columns": lambda: session.execute(row).all(),
        }
        with ExitStack() as stack:
            if db.engine.dialect.name == "postgresql":  # the same row, its columns described by psycopg itself
                plain = make_engine(db.settings.database_url, connect_args=postgresql_timeouts(5, 30))
                stack.callback(plain.dispose)
                other = stack.enter_context(Session(plain))
                statements["the same, psycopg's own description"] = lambda: other.execute(row).all()
            print(f"database: {db.engine.dialect.name}; {args.runs} runs each on one connection")
            for name, (cpu, wall) in _measure(statements, args.runs).items():
                print(f"{name:<38} {cpu:7.0f} us CPU {wall:7.0f} us wall")
    db.dispose()


if __name__ == "__main__":
    main()
