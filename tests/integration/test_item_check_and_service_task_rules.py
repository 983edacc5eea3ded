"""What the province's approval writes to the register and what a passed deadline marks: a register
record the operator stated could not be checked stays as it was, a record taken off the register
meanwhile is not brought back, the trail counts only the items that became record versions, and a
deadline passed marks the task still waiting, not one finished in an earlier round."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.bpmn import timers
from engine.core import audit
from engine.verification import register
from models import AuditEvent, HumanTask, Record, RecordStatus, RecordVersion, Submission, SubmissionItem, VervalStatus
from tests.factories import (
    actor,
    approved_everywhere,
    decide,
    items_of,
    make_team,
    open_task,
    open_with_items,
    submit,
)
from tests.integration.entry_steps import _register

UNCHECKED_REASON = "jalan ke dusun 2 putus karena banjir"


def _mark(db, sid: int, ids: list[int], status: VervalStatus, reason: str = "") -> None:
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, ids, status, reason)


def _declare_unchecked(db, sid: int) -> None:
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, unchecked=UNCHECKED_REASON)


def _records(db) -> dict[str, tuple[int, RecordStatus]]:
    """Each register record by name: its version number and standing."""
    with db.read() as s:
        return {r.nama: (r.versi, r.status) for r in s.scalars(select(Record))}


def _verified_items(db, sid: int) -> int:
    with db.read() as s:
        (event,) = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "SUBMISSION_VERIFIED", AuditEvent.subject_id == str(sid))
        )
    return event.after["items"]


def _versions_written_by(db, sid: int) -> list[int]:
    with db.read() as s:
        return sorted(s.scalars(select(RecordVersion.record_id).where(RecordVersion.submission_id == sid)))


def test_a_register_record_stated_unchecked_is_not_re_verified_by_the_approval(db):
    """One record found still eligible, the other left without a status under the operator's
    statement that the register could not be checked: only the one found becomes a new version."""
    team = make_team(db)
    sid, (found, unchecked) = _register(db, 1, 2)
    _mark(db, sid, [found], VervalStatus.LAYAK)
    _declare_unchecked(db, sid)
    submit(db, team.operator, sid, reverify=False)
    approved_everywhere(db, team, sid)
    with db.read() as s:
        found_record = s.get(SubmissionItem, found).record_id
        assert s.get(Submission, sid).status.value == "terverifikasi"
    assert _versions_written_by(db, sid) == [found_record]
    assert _records(db) == {
        "Maria Ingan 1": (2, RecordStatus.AKTIF),
        "Maria Ingan 2": (1, RecordStatus.AKTIF),  # as it stood before: nobody looked at it
    }
    assert _verified_items(db, sid) == 1


def test_a_register_record_taken_off_meanwhile_is_not_counted_as_verified(db):
    """A record removed from the register while its copy waited at the province is not brought back,
    and the trail of the approval counts only the record that became a new version."""
    team = make_team(db)
    sid, (kept, removed) = _register(db, 1, 2)
    _mark(db, sid, [kept, removed], VervalStatus.LAYAK)
    submit(db, team.operator, sid)
    for user in (team.kecamatan, team.kabupaten):
        decide(db, user, sid, "approve")
    with db.transaction() as s:
        s.get(Record, s.get(SubmissionItem, removed).record_id).status = RecordStatus.DIHAPUS
    decide(db, team.provinsi, sid, "approve")
    assert _records(db) == {"Maria Ingan 1": (2, RecordStatus.AKTIF), "Maria Ingan 2": (1, RecordStatus.DIHAPUS)}
    assert [i.dibuang for i in items_of(db, sid)] == [False, True]
    assert _verified_items(db, sid) == 1
    with db.read() as s:
        assert audit.verify_chain(s).ok


def test_a_deadline_passed_after_a_return_marks_the_task_waiting_now_overdue(db):
    """Returned by the kecamatan and sent up again: when the new round's deadline passes, the task the
    kecamatan has open is the one marked overdue and escalated, not the one it finished before."""
    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    first = open_task(db, sid, "kecamatan")
    decide(db, team.kecamatan, sid, "return", "alamat belum lengkap")
    submit(db, team.operator, sid)
    again = open_task(db, sid, "kecamatan")
    assert timers.fire_due_timers(db, again.due_at + timedelta(minutes=1)) == 1
    with db.read() as s:
        assert (s.get(HumanTask, again.id).overdue, s.get(HumanTask, first.id).overdue) == (True, False)
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "TASK_OVERDUE"))
    assert (event.subject_id, event.after) == (str(again.id), {"overdue": True, "eskalasi_ke": "kabupaten"})
