"""The audit trail: written with each change, and any edit or deletion is detected."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text, update

from engine.core import audit
from models import AuditEvent
from tests.factories import make_team, open_with_items, submit


def _history(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def _verify(db):
    with db.read() as session:
        return audit.verify_chain(session)


def test_an_untouched_trail_verifies(db):
    rows = _history(db)
    report = _verify(db)
    assert report.ok and report.rows == rows and rows >= 8


def test_an_altered_row_is_detected_naming_it(db):
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="orang.lain"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 3 and "diubah" in report.message


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(db):
    _history(db)
    with db.transaction() as session:
        row = session.get(AuditEvent, 4)
        row.reason = "ditulis ulang"
        row.hash = audit._digest(row)
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 5


def test_a_deleted_middle_row_is_detected(db):
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 2 and "hilang" in report.message


def test_a_deleted_last_row_is_detected(db):
    rows = _history(db)
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM audit_event WHERE seq = {rows}"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == rows


def test_record_changes_carry_values_before_and_after(db):
    from tests.factories import decide

    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    for user in (team.kecamatan, team.kabupaten, team.provinsi):
        decide(db, user, submission_id, "approve")
    with db.read() as session:
        created = session.scalars(select(AuditEvent).where(AuditEvent.action == "RECORD_CREATED")).all()
    assert len(created) == 2
    assert created[0].before is None and created[0].after["nama"].startswith("Maria Ingan")
    assert created[0].actor == team.provinsi and created[0].human_task_id
