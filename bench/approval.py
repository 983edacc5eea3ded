"""The province's approval of one large kelurahan: the transaction that writes every verified item
to the register as a new record version, with its audit row.

Two periods of one kelurahan of N people, through the service functions: the first enters them all
(N new records), the second re-verifies each of them on the register (N new versions). For each,
the province's approval is timed and its statements counted; every lower tier decides first.
With --kelurahan K, K kelurahan of Kota Tarakan of N people each are prepared the same way and the
province approves the whole city at once (bulk approval by region and period), as one web request.

Usage: python bench/approval.py [--items 5000] [--kelurahan 1] [--item-budget N] [--database-url URL]
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
from datetime import date, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import func, select

from bench.engine import OPEN_TASK, make_team
from bench.fixtures import empty_database, statements_sent
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.setup.demo import demo_csv, nik_for
from engine.verification import bulk_approval, decisions, imports, register, submissions
from models import ItemSource, Region, SubmissionItem, VervalStatus

DESA = "65.71.01.1001"  # a kelurahan of Kota Tarakan
KOTA = "65.71"
BORN = date(1950, 5, 17)


def people(n: int, desa: str = DESA, born: date = BORN) -> str:
    rows = [
        {
            "nik": nik_for(desa, born, "P", serial),
            "no_kk": f"{desa[:8].replace('.', '')}{born:%d%m%y}{serial:04d}",
            "nama": f"Maria Ingan {serial}",
            "jenis_kelamin": "P",
            "tanggal_lahir": born.isoformat(),
            "alamat": "Jl. Yos Sudarso",
            "kategori": "LUT",
            "keterangan": "",
        }
        for serial in range(1, n + 1)
    ]
    return demo_csv(rows)


def prepared(db: Database, actors: dict[str, Actor], period: str, n: int, desa: str = DESA, born: date = BORN) -> int:
    """The period's submission, entered (or re-verified) by the desa and approved up to the kabupaten."""
    system = Actor.system("bench")
    with db.transaction() as s:
        submission_id = submissions.open_submission(s, system, desa, period, "65").submission.id
    with db.transaction() as s:
        # Opening the period carried the register (`open_submission`): only a desa with none enters its people.
        if s.scalar(select(func.count()).where(SubmissionItem.submission_id == submission_id)) == 0:
            imports.import_items(s, system, submission_id, people(n, desa, born))
    with db.read() as s:
        carried = list(
            s.scalars(
                select(SubmissionItem.id).where(
                    SubmissionItem.submission_id == submission_id, SubmissionItem.source == ItemSource.REGISTER
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


def kelurahan(db: Database, k: int) -> list[str]:
    with db.read() as s:
        found = s.scalars(select(Region.kode).where(Region.kode.like(f"{KOTA}.__.____")).order_by(Region.kode).limit(k))
        return list(found)


def one_kelurahan(db: Database, n: int) -> None:
    actors = make_team(db, DESA)
    for period, what in (("2026-Q1", "new records"), ("2026-Q2", "register re-verified")):
        submission_id = prepared(db, actors, period, n)
        seconds, statements = timed_approval(db, actors["provinsi"], submission_id)
        print(
            f"{period} ({what}): province approval {seconds:.1f} s, {statements:,} statements "
            f"({seconds / n * 1000:.2f} ms an item)"
        )


def whole_city(db: Database, k: int, n: int) -> None:
    """K kelurahan of Tarakan, each approved up to the kabupaten; the province approves the city at once."""
    places = kelurahan(db, k)
    teams = [make_team(db, desa, suffix=f"{i}") for i, desa in enumerate(places)]
    province = teams[0]["provinsi"]
    for period, what in (("2026-Q1", "new records"), ("2026-Q2", "register re-verified")):
        for i, (desa, team) in enumerate(zip(places, teams, strict=True)):
            prepared(db, team, period, n, desa, BORN + timedelta(days=i))
        turns, approved, left = [], 0, True
        while left:  # the same action again, as the page tells the person, until nothing is left
            start = time.perf_counter()
            with db.transaction() as s:
                outcome = bulk_approval.approve_many(s, province, region=KOTA, periode=period)
            turns.append(time.perf_counter() - start)
            approved, left = approved + len(outcome.decided), bool(outcome.left)
        print(
            f"{period} ({what}): province approves {approved} kelurahan of {k * n:,} items in {len(turns)} "
            f"action(s) of at most {bulk_approval.ITEM_BUDGET:,} items: longest {max(turns):.1f} s, "
            f"all {sum(turns):.1f} s ({sum(turns) / (k * n) * 1000:.2f} ms an item)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--kelurahan", type=int, default=1)
    parser.add_argument(
        "--item-budget", type=int, default=bulk_approval.ITEM_BUDGET, help="items per action (huge: all at once)"
    )
    parser.add_argument("--database-url")
    args = parser.parse_args()
    bulk_approval.ITEM_BUDGET = args.item_budget
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "approval")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
            f"database: {db.engine.dialect.name}; {args.kelurahan} kelurahan of {args.items:,} people"
        )
        if args.kelurahan > 1:
            whole_city(db, args.kelurahan, args.items)
        else:
            one_kelurahan(db, args.items)
        db.dispose()


if __name__ == "__main__":
    main()
