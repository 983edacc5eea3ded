"""BPMN timers: SpiffWorkflow's timer events follow the engine's clock, and due timers fire
without polling every instance.

Each instance stores its earliest waiting timer (`next_timer_at`, indexed). A run selects only
due instances, one at a time, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that two scheduler
processes never fire the same instance; each instance is its own transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.uow import Database
from models import InstanceStatus, ProcessInstance

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=5)


class _ClockDatetime(datetime):
    """`datetime` as SpiffWorkflow's timer module sees it: `now()` asks the engine's clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockDatetime:
        current = clock.now()
        current = current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)
        return cls.fromtimestamp(current.timestamp(), tz) if tz else cls.fromisoformat(current.isoformat())


def follow_engine_clock() -> None:
    """Make SpiffWorkflow's timer events read `engine.core.clock` (the composition root calls this)."""
    spiff_timer.datetime = _ClockDatetime
    spiff_timer.LOCALTZ = clock.zone()  # a date saved without its zone before deploys refused one


def fire_due_timers(db: Database, now: datetime | None = None) -> int:
    """Fire every timer due at `now`; returns how many instances advanced."""
    moment = now or clock.now()
    actor = Actor.system("timer")
    # Instances fired in this run that are due still (a timer not fired at its moment): left to
    # the next run. Only these are kept out by id, so the query stays the same size however many
    # instances fire, where keeping out every fired id made each pick slower than the last. Picks go
    # forward from the last deadline `reached`: PostgreSQL's index keeps an entry for each instance
    # fired earlier in the run until it is vacuumed, and a pick from there steps over none of them
    # (an instance another transaction held locked meanwhile waits for the next run, a minute on).
    fired, still_due, reached = 0, set[int](), None
    with clock.frozen_at(moment):
        while True:
            with db.transaction() as session:
                picked = session.execute(_next_due(moment, still_due, reached)).first()
                if picked is None:
                    return fired
                instance_id, reached = picked
                if _fire(session, actor, instance_id, moment):
                    fired += 1
                if session.scalar(_due_again(instance_id, moment)) is not None:
                    still_due.add(instance_id)


def _next_due(moment: datetime, still_due: set[int], reached: datetime | None) -> Select[int, datetime | None]:
    """The earliest due instance from `reached` on that no other process is firing (`SKIP LOCKED`)."""
    return (
        select(ProcessInstance.id, ProcessInstance.next_timer_at)
        .where(
            ProcessInstance.status == InstanceStatus.BERJALAN,
            ProcessInstance.next_timer_at <= moment,
            ProcessInstance.next_timer_at >= reached if reached else ProcessInstance.next_timer_at.is_not(None),
            ProcessInstance.id.not_in(still_due) if still_due else ProcessInstance.id.is_not(None),
        )
        .order_by(ProcessInstance.next_timer_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _due_again(instance_id: int, moment: datetime) -> Select[int]:
    return select(ProcessInstance.id).where(
        ProcessInstance.id == instance_id,
        ProcessInstance.status == InstanceStatus.BERJALAN,
        ProcessInstance.next_timer_at <= moment,
    )


def _fire(session: Session, actor: Actor, instance_id: int, moment: datetime) -> bool:
    """Fire one instance's due timers; whether it advanced. A broken instance is recorded and
    tried again after `RETRY_AFTER`: it must not stop the others."""
    try:
        with session.begin_nested():
            running = runtime.load(session, actor, instance_id)
            runtime.fire_timers(running)
            runtime.save(running)
        return True
    except Exception as exc:
        log.exception("timer instans %s gagal", instance_id)
        row = session.get(ProcessInstance, instance_id)
        if row is not None:
            row.next_timer_at = moment + RETRY_AFTER
            row.last_error, row.failed_at = f"{type(exc).__name__}: {exc}"[:2000], moment
        audit.record(
            session,
            actor,
            AuditAction.TIMER_FAILED,
            "process_instance",
            instance_id,
            after={"error": f"{type(exc).__name__}: {exc}"[:500]},
            instance_id=instance_id,
        )
        return False
