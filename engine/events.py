"""Domain events: written to the outbox with their cause, delivered to subscribers after commit.

A subscriber that fails never undoes the change; the event stays undelivered with its error
and is tried again by `deliver_pending`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from models import OutboxEvent

log = logging.getLogger(__name__)

Subscriber = Callable[[Session, OutboxEvent], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
PUBLISHED_KEY = "sijosku_published"
_INSERT_EVENT = insert(OutboxEvent)

# The event types the engine publishes.
TASK_CREATED = "task.created"
TASK_COMPLETED = "task.completed"
TASK_OVERDUE = "task.overdue"
SUBMISSION_SUBMITTED = "submission.submitted"
SUBMISSION_RETURNED = "submission.returned"
SUBMISSION_VERIFIED = "submission.verified"


def subscribe(event_type: str, subscriber: Subscriber) -> None:
    """`event_type` "*" receives every event."""
    if subscriber not in _subscribers[event_type]:
        _subscribers[event_type].append(subscriber)


def unsubscribe_all() -> None:
    _subscribers.clear()


def publish(session: Session, event_type: str, payload: dict[str, Any], human_task_id: int | None = None) -> None:
    """Record the event with its cause. With no subscriber for it, it is kept as already delivered,
    so that a subscriber added later does not receive stale events."""
    interested = bool(_subscribers.get(event_type) or _subscribers.get("*"))
    now = clock.now()
    session.connection().execute(_INSERT_EVENT, {
        "event_type": event_type, "payload": payload, "created_at": now, "human_task_id": human_task_id,
        "delivered_at": None if interested else now, "attempts": 0})
    if interested:
        session.info[PUBLISHED_KEY] = True


def publish_many(session: Session, event_type: str, payloads: list[tuple[dict[str, Any], int | None]]) -> None:
    """Many events of one type in one statement (bulk use cases): (payload, human_task_id) pairs."""
    if not payloads:
        return
    interested = bool(_subscribers.get(event_type) or _subscribers.get("*"))
    now = clock.now()
    session.connection().execute(_INSERT_EVENT, [
        {"event_type": event_type, "payload": payload, "created_at": now, "human_task_id": task_id,
         "delivered_at": None if interested else now, "attempts": 0} for payload, task_id in payloads])
    if interested:
        session.info[PUBLISHED_KEY] = True


def deliver_pending(session_factory: sessionmaker[Session], limit: int = 500) -> int:
    """Hand undelivered events to their subscribers, `limit` per transaction until none are left."""
    total = 0
    for _ in range(10_000):
        delivered, seen = _deliver_batch(session_factory, limit)
        total += delivered
        if seen < limit:
            return total
    return total


def _deliver_batch(session_factory: sessionmaker[Session], limit: int) -> tuple[int, int]:
    delivered = 0
    with session_factory() as session:
        pending = session.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None),
                                                            OutboxEvent.attempts < 5)
                                  .order_by(OutboxEvent.id).limit(limit).with_for_update(skip_locked=True)).all()
        for event in pending:
            try:
                with session.begin_nested():
                    for subscriber in _subscribers[event.event_type] + _subscribers["*"]:
                        subscriber(session, event)
                event.delivered_at = clock.now()
                delivered += 1
            except Exception as exc:  # a subscriber's failure is recorded, never raised
                log.exception("pengiriman peristiwa %s gagal", event.id)
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
    return delivered, len(pending)


def failures(session: Session, limit: int = 100) -> list[OutboxEvent]:
    """Events a subscriber could not take (visible to admins; retried up to five times)."""
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None),
                                                          OutboxEvent.last_error.is_not(None))
                                .order_by(OutboxEvent.id.desc()).limit(limit)))
