"""An operator's work on a submission racing what moves it on: each waits for the other's commit and
then sees what it left, instead of writing over it with what it read before.

Each pair runs in a fixed order (`tests/integration/interleave.py`)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpmn import bulk_start, definitions
from engine.core import audit
from engine.core.actors import Actor
from engine.core.errors import Conflict
from engine.people import users
from engine.verification import cycle_batches, cycles, imports, register, submissions
from models import AuditEvent, HumanTask, ProcessInstance, Submission, SubmissionItem, SubmissionStatus, VervalStatus
from tests.factories import SYSTEM, confirm_register, csv_of, decide, make_team, open_period, person_row
from tests.integration.interleave import first_then_second

PERIOD = "2026-Q4"


def _person(session, name: str) -> Actor:
    return Actor.of(users.find_user(session, name))


def _submit(session, submission_id: int) -> None:
    operator = _person(session, "op.desa")
    confirm_register(session, operator, submission_id)
    submissions.submit(session, operator, submission_id)


def test_a_cycle_closing_as_a_desa_submits_leaves_the_submission_gone_up(db):
    """The closing waits for the submit, and then does not mark the desa silent nor cancel its task."""
    make_team(db)
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == "65.01.01.2005"))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    closed = first_then_second(
        db, lambda s: _submit(s, sid), lambda: cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    )
    with db.read() as s:
        submission = s.get(Submission, sid)
        assert submission.status == SubmissionStatus.DIAJUKAN
        assert s.get(ProcessInstance, submission.instance_id).status.value == "berjalan"
        tasks = s.execute(select(HumanTask.bpmn_id, HumanTask.status).where(HumanTask.submission_id == sid)).all()
        assert ("verifikasi_kecamatan", "terbuka") in [(b, t.value) for b, t in tasks]
        silent = s.scalar(select(func.count()).select_from(Submission).where(Submission.status == "tidak_melapor"))
        assert closed["tidak_melapor"] == silent == s.scalar(select(func.count()).select_from(Submission)) - 1
        assert audit.verify_chain(s).ok


def test_two_tabs_marking_one_register_record_leave_the_last_mark_whole(db):
    """One tab reports the person dead, the other still eligible: the record ends as the last one
    said, all of it, and its audit row starts from what the first tab wrote."""
    make_team(db)
    first = open_period(db, "2026-Q3", [person_row(1)])
    with db.transaction() as s:
        _submit(s, first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    sid = open_period(db, PERIOD, [])
    with db.transaction() as s:
        register.prefill(s, {"65.01.01.2005": sid})
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid))

    def dead(s) -> None:
        register.set_status(s, _person(s, "op.desa"), sid, [item_id], VervalStatus.MENINGGAL, "meninggal 3 Maret")

    def eligible() -> int:
        with db.transaction() as s:
            return register.set_status(s, _person(s, "op.desa"), sid, [item_id], VervalStatus.LAYAK)

    assert first_then_second(db, dead, eligible) == 1
    with db.read() as s:
        item = s.get(SubmissionItem, item_id)
        assert (item.verval, item.aksi.value, item.verval_alasan) == (VervalStatus.LAYAK, "periksa", None)
        assert "alasan_hapus" not in item.data
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "ITEM_VERVAL_SET").order_by(AuditEvent.seq)
        ).all()
        assert [r.before["verval"] for r in rows[-2:]] == [None, "meninggal"]


def test_an_import_landing_as_the_desa_submits_is_refused_not_slipped_in_unchecked(db):
    make_team(db)
    sid = open_period(db, PERIOD, [person_row(1)])
    late = csv_of([person_row(n) for n in range(2, 6)])

    def import_now() -> object:
        with db.transaction() as s:
            return imports.import_items(s, SYSTEM, sid, late)

    refused = first_then_second(db, lambda s: _submit(s, sid), import_now)
    assert isinstance(refused, Conflict) and "tidak dapat diubah sekarang" in str(refused)
    assert str(refused).startswith("Pengajuan periode 2026-Q4 sudah diajukan dan sedang diperiksa di tingkat kecamatan")
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(SubmissionItem).where(SubmissionItem.submission_id == sid)) == 1
        )


def test_desa_are_not_opened_in_a_cycle_closed_while_the_opening_ran(db):
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01.2005")
    cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    with db.transaction() as s:
        definition = definitions.current(s, submissions.PROCESS_KEY)
        template = bulk_start.template(s, definition, {"sla_durasi": "P14D"}, cycles.START_VARIABLES)
    with pytest.raises(Conflict, match="sudah ditutup"):
        cycle_batches.open_desa(db, SYSTEM, PERIOD, ["65.01.01.1001"], template)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == PERIOD)) == 1
