"""Building test data through the same use cases the product uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from engine import imports, submissions, tasks, users
from engine.actors import Actor
from engine.demo import demo_csv, nik_for
from engine.uow import Database
from models import HumanTask, TaskStatus, User

DESA = "65.01.01.2005"  # Gunung Putih, Kecamatan Tanjung Palas, Kabupaten Bulungan
KECAMATAN, KABUPATEN, PROVINSI = "65.01.01", "65.01", "65"
PERIOD = "2026-Q4"
SYSTEM = Actor.system("test")


@dataclass
class Team:
    operator: str = "op.desa"
    kecamatan: str = "verif.kec"
    kabupaten: str = "verif.kab"
    provinsi: str = "valid.prov"


def make_team(db: Database, desa: str = DESA) -> Team:
    team = Team()
    with db.transaction() as session:
        users.add_user(session, SYSTEM, team.operator, "operator", desa)
        users.add_user(session, SYSTEM, team.kecamatan, "verifier", desa[:8])
        users.add_user(session, SYSTEM, team.kabupaten, "verifier", desa[:5])
        users.add_user(session, SYSTEM, team.provinsi, "validator", desa[:2])
    return team


def person_row(serial: int = 1, **overrides: Any) -> dict[str, Any]:
    born = date(1950, 5, 17)
    row = {"nik": nik_for(DESA, born, "P", serial), "no_kk": "6501011705500001", "nama": f"Maria Ingan {serial}",
           "jenis_kelamin": "P", "tanggal_lahir": born.isoformat(), "alamat": "Jl. Sengkawit No. 3",
           "kategori": "LUT", "keterangan": "musdes 2026"}
    row.update(overrides)
    return row


def csv_of(rows: list[dict[str, Any]]) -> str:
    return demo_csv(rows)


def actor(db: Database, username: str) -> Actor:
    with db.read() as session:
        return Actor.of(session.scalar(select(User).where(User.username == username)))


def open_with_items(db: Database, rows: list[dict[str, Any]] | None = None, desa: str = DESA) -> int:
    with db.transaction() as session:
        opened = submissions.open_submission(session, SYSTEM, desa, PERIOD, "65")
        submission_id = opened.submission.id
        if rows is None:  # two people per desa, with NIKs of their own
            base = 0 if desa == DESA else int(desa[-4:]) % 1000 * 10
            rows = [person_row(base + 1), person_row(base + 2)]
        if rows:
            imports.import_items(session, SYSTEM, submission_id, csv_of(rows))
    return submission_id


def open_task(db: Database, submission_id: int, tier: str | None = None) -> HumanTask:
    with db.read() as session:
        query = select(HumanTask).where(HumanTask.submission_id == submission_id,
                                        HumanTask.status == TaskStatus.TERBUKA)
        found = session.scalars(query).all()
    assert len(found) == 1, f"expected one open task, found {[(t.bpmn_id, t.status) for t in found]}"
    if tier:
        assert found[0].tingkat.value == tier, found[0].tingkat
    return found[0]


def submit(db: Database, username: str, submission_id: int) -> None:
    with db.transaction() as session:
        submissions.submit(session, Actor.of(users.find_user(session, username)), submission_id)


def decide(db: Database, username: str, submission_id: int, decision: str, reason: str | None = None,
           verdicts: dict[int, str] | None = None) -> HumanTask:
    task = open_task(db, submission_id)
    with db.transaction() as session:
        return tasks.complete_task(session, Actor.of(users.find_user(session, username)), task.id, decision,
                                   reason, verdicts)
