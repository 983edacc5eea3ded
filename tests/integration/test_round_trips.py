"""Round trips of one step on PostgreSQL: the events and audit rows go in two statements, the
instance's open inbox rows come with its lock, and what is stored is the same as on SQLite."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.core import audit
from models import AuditEvent, HumanTask, OutboxEvent, TaskStatus
from tests.factories import decide, make_team, open_task, open_with_items, submit


def test_a_step_writes_its_events_and_audit_rows_in_two_statements(db, statements, is_postgresql):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.read() as s:
        before = (
            s.scalar(select(func.count()).select_from(AuditEvent)),
            s.scalar(select(func.count()).select_from(OutboxEvent)),
        )
    task = open_task(db, submission_id, "kecamatan")
    statements.clear()
    decide(db, team.kecamatan, submission_id, "approve")
    step = [s for s in statements if "audit_head" in s or "outbox_event" in s or "audit_event" in s]
    separate_inbox_reads = [s for s in statements if s.startswith("SELECT human_task.id, human_task.spiff_task_id")]
    if is_postgresql:
        assert len(step) == 2, step
        assert step[0].startswith("WITH queued AS (INSERT INTO outbox_event")
        assert step[1].startswith("WITH appended AS (INSERT INTO audit_event")
    else:
        assert len(step) == 4, step  # portable: events, head lock, rows, head advance
    assert separate_inbox_reads == []
    with db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.human_task_id == task.id)).all()
        assert [r.action for r in rows] == ["TASK_COMPLETED"]
        assert rows[0].after["keputusan"] == "setuju" and rows[0].at.tzinfo is not None
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > before[0]
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) > before[1]
        assert audit.verify_chain(s).ok
        created = s.scalars(
            select(HumanTask).where(HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.TERBUKA)
        ).all()
        assert [t.tingkat.value for t in created] == ["kabupaten"]
        assert s.get(HumanTask, task.id).status == TaskStatus.SELESAI  # closed, not cancelled by the save
