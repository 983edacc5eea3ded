"""The province's approval of one large kelurahan: the transaction that writes every verified item
to the register as a new record version, with its audit row.

Two periods of one kelurahan of N people, through the service functions: the first enters them all
(N new records), the second re-verifies each of them on the register (N new versions). For each,
the province's approval is timed and its statements counted; every lower tier decides first.

Usage: python bench/approval.py [--items 5000] [--database-url URL]
The default database is a fresh SQLite file; --database-url must name an empty database that may be
filled. A kelurahan in Tarakan holds 2,000-6,000 PPKS records; the approval runs in one web request,
which gunicorn ends after 60 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import select

from bench.engine import OPEN_TASK, make_team
from bench.fixtures import empty_database, statements_sent
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.setup.demo import demo_csv, nik_for
from engine.verification import decisions, imports, register, submissions
from models import FROM_REGISTER, SubmissionItem, VervalStatus

DESA = "65.71.01.1001"  # a kelurahan of Kota Tarakan
BORN = date(1950, 5, 17)


def people(n: int) -> str:
    rows = [
        {
            "nik": nik_for(DESA, BORN, "P", serial),
            "no_kk": f"657101170550{serial:04d}",
            "nama": f"Maria Ingan {serial}",
            "jenis_kelamin": "P",
            "tanggal_lahir": BORN.isoformat(),
            "alamat": "Jl. Yos Sudarso",
            "kategori": "LUT",
            "keterangan": "",
        }
        for serial in range(1, n + 1)
    ]
    return demo_csv(rows)


def prepared(db: Database, actors: dict[str, Actor], period: str, n: int) -> int:
    """The period's submission, entered (or re-verified) by the desa and approved up to the kabupaten."""
    system = Actor.system("bench")
    with db.transaction() as s:
        submission_id = submissions.open_submission(s, system, DESA, period, "65").submission.id
    with db.transaction() as s:
        if register.prefill(s, {DESA: submission_id}) == 0:
            imports.import_items(s, system, submission_id, people(n))
    with db.read() as s:
        carried = list(
            s.scalars(
                select(SubmissionItem.id).where(
                    SubmissionItem.submission_id == submission_id, SubmissionItem.source == FROM_REGISTER
                )
            )
        )
    for start in range(0, len(carried), register.MARK_LIMIT):
        with db.transaction() as s:
            chunk = carried[start : start + register.MARK_LIMIT]
            register.set_status(s, actors["desa"], submission_id, chunk, VervalStatus.LAYAK)
    with db.transaction() as s:
        submissions.submit(s, actors["desa"], submission_id)
    for tier in ("kecamatan", "kabupaten"):
        decide(db, actors[tier], submission_id)
    return submission_id


def decide(db: Database, actor: Actor, submission_id: int) -> None:
    with db.transaction() as s:
        task_id = s.scalar(OPEN_TASK, {"sid": submission_id})
        decisions.decide(s, actor, decisions.DecisionCommand(task_id=task_id, keputusan="setuju", semua_sesuai=True))


def timed_approval(db: Database, actor: Actor, submission_id: int) -> tuple[float, int]:
    with statements_sent(db.engine) as sent:
        start = time.perf_counter()
        decide(db, actor, submission_id)
        seconds = time.perf_counter() - start
    return seconds, sent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "approval")
        actors = make_team(db, DESA)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
            f"database: {db.engine.dialect.name}; one kelurahan of {args.items:,} people"
        )
        for period, what in (("2026-Q1", "new records"), ("2026-Q2", "register re-verified")):
            submission_id = prepared(db, actors, period, args.items)
            seconds, statements = timed_approval(db, actors["provinsi"], submission_id)
            print(
                f"{period} ({what}): province approval {seconds:.1f} s, {statements:,} statements "
                f"({seconds / args.items * 1000:.2f} ms an item)"
            )
        db.dispose()


if __name__ == "__main__":
    main()
