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
from sqlalchemy import select

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
    fired, seen = 0, set[int]()
    with clock.frozen_at(moment):
        while True:
            with db.transaction() as session:
                instance_id = session.scalar(
                    select(ProcessInstance.id)
                    .where(
                        ProcessInstance.status == InstanceStatus.BERJALAN,
                        ProcessInstance.next_timer_at <= moment,
                        ProcessInstance.id.not_in(seen) if seen else ProcessInstance.id.is_not(None),
                    )
                    .order_by(ProcessInstance.next_timer_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if instance_id is None:
                    return fired
                seen.add(instance_id)
                try:
                    with session.begin_nested():
                        running = runtime.load(session, actor, instance_id)
                        runtime.fire_timers(running)
                        runtime.save(running)
                    fired += 1
                except Exception as exc:  # one broken instance must not stop the others
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
