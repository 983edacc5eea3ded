"""Notification channels subscribed to the engine's domain events (engine.events).

In the app: a bell with unread notifications. By email: SMTP, in Indonesian, plain text and HTML,
right away or in a daily digest, as each person prefers. Notifications are made from the outbox
after the change that caused them has committed; a failure never undoes or blocks that change.
"""

from __future__ import annotations

from engine import events
from engine.uow import Database
from notifications import delivery, email

EVENT_TYPES = ["task.created", "task.due_soon", "task.overdue", "submission.returned", "submission.verified",
               "cycle.opened", "cycle.closing_soon", "cycle.closed"]


def register(db: Database) -> None:
    """Subscribe to the engine's events and register the email jobs with the scheduler."""
    for event_type in EVENT_TYPES:
        events.subscribe(event_type, delivery.on_event)
    email.register_jobs()
