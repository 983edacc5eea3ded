"""Building test data through the same use cases the product uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import definitions
from engine.core import clock
from engine.core.actors import Actor
from engine.core.errors import Invalid
from engine.core.uow import Database
from engine.people import users
from engine.quality import aggregates, figure_files
from engine.setup.demo import demo_csv, nik_for
from engine.verification import cycles, decisions, imports, register, submissions
from models import (
    HumanTask,
    ItemSource,
    QualityFlag,
    Record,
    RecordStatus,
    Submission,
    SubmissionItem,
    TaskStatus,
    User,
    VervalStatus,
)

DESA = "65.01.01.2005"  # Gunung Putih, Kecamatan Tanjung Palas, Kabupaten Bulungan
KECAMATAN, KABUPATEN, PROVINSI = "65.01.01", "65.01", "65"
PERIOD = "2026-Q4"
SYSTEM = Actor.system("test")
PASSWORD = "kata-sandi-uji-123"  # every test person's password (hashed cheaply by the `people` fixture)


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
    row = {
        "nik": nik_for(DESA, born, "P", serial),
        "no_kk": "6501011705500001",
        "nama": f"Maria Ingan {serial}",
        "jenis_kelamin": "P",
        "tanggal_lahir": born.isoformat(),
        "alamat": "Jl. Sengkawit No. 3",
        "kategori": "LUT",
        "keterangan": "musdes 2026",
    }
    row.update(overrides)
    return row


def register_record(serial: int, **overrides: Any) -> Record:
    """Person `serial` standing on Gunung Putih's register as an active LUT record, written straight
    in (a register that was there before the test), with `overrides` on any column."""
    row = person_row(serial)
    columns: dict[str, Any] = {
        "kode_desa": DESA,
        "kategori": "LUT",
        "nik": row["nik"],
        "no_kk": row["no_kk"],
        "nama": row["nama"],
        "jenis_kelamin": "P",
        "tanggal_lahir": date(1950, 5, 17),
        "alamat": "",
        "keterangan": "",
        "atribut": {},
        "status": RecordStatus.AKTIF,
        "versi": 1,
        "updated_at": clock.now(),
    }
    return Record(**{**columns, **overrides})


def carded_record(db: Database, serial: int, kategori: str = "LUT", **columns: Any) -> Record:
    """Person `serial` written onto Gunung Putih's register with a family card of their own."""
    columns.setdefault("no_kk", f"65010100000000{serial:02d}")
    with db.transaction() as s:
        record = register_record(serial, kategori=kategori, **columns)
        s.add(record)
    return record


def csv_of(rows: list[dict[str, Any]]) -> str:
    return demo_csv(rows)


def items_of(db: Database, submission_id: int) -> list[SubmissionItem]:
    """The submission's items as stored, in the order they were entered."""
    with db.read() as session:
        return list(
            session.scalars(
                select(SubmissionItem).where(SubmissionItem.submission_id == submission_id).order_by(SubmissionItem.id)
            )
        )


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
        query = select(HumanTask).where(
            HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.TERBUKA
        )
        found = session.scalars(query).all()
    assert len(found) == 1, f"expected one open task, found {[(t.bpmn_id, t.status) for t in found]}"
    if tier:
        assert found[0].tingkat.value == tier, found[0].tingkat
    return found[0]


def submit(db: Database, username: str, submission_id: int, reverify: bool = True) -> None:
    """The operator submits; unless told otherwise, having found every register record still eligible."""
    with db.transaction() as session:
        operator = Actor.of(users.find_user(session, username))
        if reverify:
            confirm_register(session, operator, submission_id)
        submissions.submit(session, operator, submission_id)


def waiting_at_kecamatan(db: Database) -> tuple[Team, int, HumanTask, int]:
    """A team, its desa's submission sent up and waiting at the kecamatan, that task, and one item."""
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with db.read() as session:
        item = session.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == submission_id)).first()
    return team, submission_id, task, item


def returned_in_cycle(db: Database, team: Team, region: str = DESA[:8]) -> int:
    """The cycle of PERIOD opened for `region`; the desa's submission, with one entry, sent up and
    returned by its kecamatan."""
    cycles.open_cycle(db, SYSTEM, PERIOD, region=region)
    with db.read() as session:
        sid = session.scalar(select(Submission.id).where(Submission.kode_desa == DESA, Submission.periode == PERIOD))
    with db.transaction() as session:
        imports.import_items(session, SYSTEM, sid, csv_of([person_row(1)]))
    submit(db, team.operator, sid)
    decide(db, team.kecamatan, sid, "return", reason="alamat belum lengkap")
    return sid


def confirm_register(session: Session, operator: Actor, submission_id: int) -> None:
    """Mark every register record still without a status as found and still eligible."""
    register.prefill(session, {s.kode_desa: s.id for s in [submissions.get_submission(session, submission_id)]})
    waiting = session.scalars(
        select(SubmissionItem.id).where(
            SubmissionItem.submission_id == submission_id,
            SubmissionItem.source == ItemSource.REGISTER,
            SubmissionItem.verval.is_(None),
            SubmissionItem.dibuang.is_(False),
        )
    ).all()
    if waiting:
        register.set_status(session, operator, submission_id, list(waiting), VervalStatus.LAYAK)


def decide(
    db: Database,
    username: str,
    submission_id: int,
    decision: str,
    reason: str | None = None,
    verdicts: dict[int, str] | None = None,
) -> HumanTask:
    task = open_task(db, submission_id)
    with db.transaction() as session:
        return decide_task(session, username, task.id, decision, reason, verdicts)


def new_person(db: Database, username: str, role: str = "admin", region: str = "65.01") -> Actor:
    """A person added with one role (Bulungan's admin by default), as they act."""
    with db.transaction() as session:
        return Actor.of(users.add_user(session, SYSTEM, username, role, region))


def approved_everywhere(db: Database, team: Team, submission_id: int) -> None:
    """The submission approved at the kecamatan, the kabupaten and the province, in turn."""
    for user in (team.kecamatan, team.kabupaten, team.provinsi):
        decide(db, user, submission_id, "approve")


def refused_when_run(db: Database, xml: str, match: str) -> None:
    """A diagram deployed (confirmed) whose step is refused only when it runs: the desa's submission is
    refused with `match` and stays a draft, nothing gone up."""
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml, confirmed=True)
    make_team(db)
    submission_id = open_with_items(db)
    with pytest.raises(Invalid, match=match):
        submit(db, "op.desa", submission_id)
    with db.read() as session:
        assert session.get(Submission, submission_id).status.value == "draf"  # nothing went up


def decide_task(
    session: Any,
    username: str,
    task_id: int,
    decision: str,
    reason: str | None = None,
    verdicts: dict[int, str] | None = None,
    revision: int | None = None,
    acknowledgements: dict[int, str] | None = None,
) -> HumanTask:
    """One person's decision on a task, as the task page or `sijosku task complete` sends it."""
    command = decisions.DecisionCommand(
        task_id=task_id,
        keputusan=decision,
        alasan=reason,
        tidak_sesuai=verdicts or {},
        revisi_instans=revision,
        pengakuan=acknowledgements or {},
        semua_sesuai=True,  # the other items judged in order, as a person would after looking
    )
    return decisions.decide(session, Actor.of(users.find_user(session, username)), command)


@dataclass
class World:
    draft: int  # Gunung Putih's draft submission (2026-Q4), two items
    other_draft: int  # the neighbouring desa's draft
    kab_task: int  # an open kabupaten task for Gunung Putih (2026-Q3)
    record: int  # a verified record of Gunung Putih
    instance: int  # the verified submission's process instance
    verified: int


def build_world(db: Database) -> World:
    draft = open_with_items(db)  # Gunung Putih's draft of PERIOD
    other = open_with_items(db, desa="65.01.01.2006")
    verified = open_period(db, "2026-Q2", [person_row(7)])
    submit(db, "op.desa", verified)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, verified, "approve")
    waiting = open_period(db, "2026-Q3", [person_row(8)])
    submit(db, "op.desa", waiting)
    decide(db, "verif.kec", waiting, "approve")
    with db.read() as s:
        kab_task = s.scalar(
            select(HumanTask.id).where(HumanTask.submission_id == waiting, HumanTask.status == TaskStatus.TERBUKA)
        )
        record = s.scalar(select(Record.id).where(Record.nik == person_row(7)["nik"]))
        instance = s.get(Submission, verified).instance_id
    return World(draft, other, kab_task, record, instance, verified)


def open_period(db: Database, period: str, rows: list[dict[str, Any]]) -> int:
    """Gunung Putih's submission of `period` with these rows."""
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, "65.01.01.2005", period, "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of(rows))
    return sid


# A regency's historic figures: LUT the same three years, then a fourfold jump; an agency disagrees.
HISTORY = """kode_wilayah,kategori,periode,nilai,sumber
65.01,LUT,2022,17,dinsos
65.01,LUT,2023,17,dinsos
65.01,LUT,2024,17,dinsos
65.01,LUT,2025,68,dinsos
65.01,LUT,2025,30,DP3AP2KB
"""


def store_history(db: Database) -> None:
    """Bulungan's LUT series stored and scanned: its flags (a repeat, a jump, DP3AP2KB's figure beside ours)."""
    with db.transaction() as s:
        values = figure_files.read_baseline(s, "historis.csv", HISTORY.encode())
        aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
        aggregates.rescan(s, SYSTEM, values)


def verified_records(db: Database, desa: str, serials: tuple[int, ...], periode: str = "2026-Q3") -> None:
    """Records on the desa's register, verified through every tier (its operator is op.lain)."""
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, desa, periode, "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(n) for n in serials]))
    submit(db, "op.lain", sid)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")


# The annual reconciliation of 2026: three LUT records and one ODHA record verified in Gunung Putih
# (Bulungan). DP3AP2KB counted about as many LUT as we did in earlier years and now counts 30: a real
# discrepancy (a changed ratio). Dinkes has no history and counts the ODHA it treats: a level gap.
RECONCILIATION_YEAR = 2026
RECONCILIATION_HISTORY = """kode_wilayah,kategori,periode,nilai,sumber
65.01,LUT,2022,3,dinsos
65.01,LUT,2023,3,dinsos
65.01,LUT,2024,4,dinsos
65.01,LUT,2025,3,dinsos
65.01,LUT,2022,3,DP3AP2KB
65.01,LUT,2023,3,DP3AP2KB
65.01,LUT,2024,4,DP3AP2KB
65.01,LUT,2025,3,DP3AP2KB
"""
RECONCILIATION_AGENCIES = """instansi,kategori,kode_wilayah,periode,nilai
DP3AP2KB,LUT,65.01,2026,30
Dinkes,ODHA,65.01,2026,40
"""
RECONCILIATION_PEOPLE = [
    ("walidata.prov", "walidata", "65"),
    ("walidata.kab", "walidata", "65.01"),
    ("walidata.kab.lain", "walidata", "65.02"),
    ("forum.sdi", "forum_sdi", "65"),
    ("kepala.dinas", "kepala_dinas", "65"),
]


def reconciliation_year(db: Database, password_hash: str | None = None, team: bool = True) -> None:
    """Records verified, history and agency figures stored, the process deployed, its people named."""
    from engine.bpmn import definitions
    from engine.core.audit import AuditAction
    from engine.core.config import DEFAULT_BPMN_DIR
    from engine.quality import aggregates, figure_files

    xml = (DEFAULT_BPMN_DIR / "rekonsiliasi_tahunan.bpmn").read_text("utf-8")
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml)
        for username, role, region in RECONCILIATION_PEOPLE:
            person = users.add_user(session, SYSTEM, username, role, region)
            if password_hash:
                person.password_hash = password_hash
    if team:
        make_team(db)
    rows = [person_row(1), person_row(2), person_row(3), person_row(4, kategori="ODHA")]
    submission = open_period(db, f"{RECONCILIATION_YEAR}-Q4", rows)
    submit(db, "op.desa", submission)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, submission, "approve")
    with db.transaction() as session:
        history = figure_files.read_baseline(session, "riwayat.csv", RECONCILIATION_HISTORY.encode())
        aggregates.store(session, SYSTEM, history, AuditAction.BASELINE_IMPORTED)
        agencies = figure_files.read_agency(session, "instansi.csv", RECONCILIATION_AGENCIES.encode())
        aggregates.store(session, SYSTEM, agencies, AuditAction.AGENCY_FIGURES_IMPORTED)


def finish_as_system(session: Session, task: HumanTask) -> None:
    """A regency with nothing to explain goes up (the system completes it, for tests)."""
    from engine.bpmn import human_tasks

    step = human_tasks.begin(session, SYSTEM, task)
    human_tasks.finish(step, SYSTEM, "ajukan", None, {}, audit_after={})


def odha_person_died(db: Database, period: str, reason: str = "meninggal") -> int:
    """Gunung Putih's register re-verified in `period` with its one ODHA person marked dead, approved
    at every tier: the category's last record ended. The submission's id."""
    removal = open_period(db, period, [])
    with db.transaction() as s:
        register.prefill(s, {DESA: removal})
        odha = s.scalar(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == removal, SubmissionItem.kategori == "ODHA")
        )
        register.set_status(s, actor(db, "op.desa"), removal, [odha], VervalStatus.MENINGGAL, reason)
    submit(db, "op.desa", removal)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, removal, "approve")
    return removal


def region_flag(
    db: Database, region: str = "65.01", message: str = "LUT di 65.01 naik dari 17 ke 68", **fields: Any
) -> int:
    """An open warning on a region's LUT figure for 2025, as a series check raises it; `fields` replace any column."""
    values = {"rule": "lonjakan", "severity": "warning", "kategori": "LUT", "periode": "2025", "observed": 68}
    values |= {"expected": [10, 20], "sources": {}, "skor": 3.0, "status": "terbuka", "created_at": clock.now()}
    with db.transaction() as s:
        flag = QualityFlag(region_kode=region, message=message, **(values | fields))
        s.add(flag)
        s.flush()
        return flag.id
