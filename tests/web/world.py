"""A small, realistic state of the product for page tests, built through the use cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import HumanTask, Record, Submission, TaskStatus
from tests.factories import decide, open_with_items, person_row, submit


@dataclass
class World:
    draft: int  # Gunung Putih's draft submission (2026-Q4), two items
    other_draft: int  # the neighbouring desa's draft
    kab_task: int  # an open kabupaten task for Gunung Putih (2026-Q3)
    record: int  # a verified record of Gunung Putih
    instance: int  # the verified submission's process instance
    verified: int


def build(db) -> World:
    from tests.factories import PERIOD  # noqa: F401 - the draft's period

    draft = open_with_items(db)
    other = open_with_items(db, desa="65.01.01.2006")
    verified = _open(db, "2026-Q2", [person_row(7)])
    submit(db, "op.desa", verified)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, verified, "approve")
    waiting = _open(db, "2026-Q3", [person_row(8)])
    submit(db, "op.desa", waiting)
    decide(db, "verif.kec", waiting, "approve")
    with db.read() as s:
        kab_task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == waiting,
                                                       HumanTask.status == TaskStatus.TERBUKA))
        record = s.scalar(select(Record.id).where(Record.nik == person_row(7)["nik"]))
        instance = s.get(Submission, verified).instance_id
    return World(draft, other, kab_task, record, instance, verified)


def _open(db, period: str, rows) -> int:
    from engine import imports, submissions
    from tests.factories import SYSTEM, csv_of

    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, "65.01.01.2005", period, "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of(rows))
    return sid
