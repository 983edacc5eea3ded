"""A run of the timers over many due instances: each pick asks the same question however many
instances the run has fired, and an instance still due after its timers fired is left to the
next run instead of being fired again and again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from engine.bpmn import runtime, timers
from engine.core.uow import Database
from engine.people import users
from models import AuditEvent
from tests.factories import SYSTEM, make_team, open_task, open_with_items, submit

NEIGHBOURS = ("65.01.01.2006", "65.01.01.2007")


def _waiting_with_timers(db: Database) -> list[int]:
    """Three desa's submissions waiting at the kecamatan, each with its SLA timer."""
    team = make_team(db)
    sent = [open_with_items(db)]
    submit(db, team.operator, sent[0])
    for number, desa in enumerate(NEIGHBOURS):
        with db.transaction() as session:
            users.add_user(session, SYSTEM, f"op.tetangga{number}", "operator", desa)
        sent.append(open_with_items(db, desa=desa))
        submit(db, f"op.tetangga{number}", sent[-1])
    return sent


def _picks(db: Database, into: list[Any]) -> Any:
    """Record the bound parameters of each statement that picks the next due instance."""

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "next_timer_at" in statement and "ORDER BY" in statement and statement.lstrip().startswith("SELECT"):
            into.append(parameters)

    event.listen(db.engine, "before_cursor_execute", record)
    return lambda: event.remove(db.engine, "before_cursor_execute", record)


def test_each_pick_of_a_run_binds_as_much_as_the_last_however_many_fired(db):
    sent = _waiting_with_timers(db)
    due = max(open_task(db, s, "kecamatan").due_at for s in sent)
    picks: list[Any] = []
    stop = _picks(db, picks)
    try:
        assert timers.fire_due_timers(db, due + timedelta(minutes=1)) == 3
    finally:
        stop()
    assert len(picks) == 4  # three instances, then the question that finds none left
    # the first pick starts from the earliest deadline; each later one from the last reached
    assert len({len(p) for p in picks[1:]}) == 1, "the fired instances' ids are not sent back with every pick"
    assert all(open_task(db, s, "kecamatan").overdue for s in sent)


def test_an_instance_due_still_after_its_timers_ran_waits_for_the_next_run(db, monkeypatch):
    sent = _waiting_with_timers(db)
    due = max(open_task(db, s, "kecamatan").due_at for s in sent)
    calls: list[int] = []

    def fire_nothing(running: runtime.Running) -> None:
        # A timer the workflow does not fire at its moment: the instance stays due after saving.
        calls.append(running.row.id)
        if calls.count(running.row.id) > 1:
            raise RuntimeError("fired twice in one run")

    monkeypatch.setattr(runtime, "fire_timers", fire_nothing)
    assert timers.fire_due_timers(db, due + timedelta(minutes=1)) == 3
    assert len(calls) == len(set(calls)) == 3, "each instance is tried once per run"
    with db.read() as session:
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "TIMER_FAILED")) is None
    monkeypatch.undo()
    assert timers.fire_due_timers(db, due + timedelta(minutes=2)) == 3  # the next run fires them
    assert all(open_task(db, s, "kecamatan").overdue for s in sent)
