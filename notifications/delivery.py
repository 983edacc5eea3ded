"""Turning a domain event into notifications in the app and emails, by each person's preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from models import EmailMessage, Notification, NotificationPreference, OutboxEvent, User
from notifications import recipients
from notifications.templates import render

# Defaults per event type: whether to show it in the app, email it at once, or put it in the digest.
DEFAULTS: dict[str, dict[str, bool]] = {
    "task.created": {"app": True, "email": False, "ringkasan": True},
    "task.due_soon": {"app": True, "email": False, "ringkasan": True},
    "task.overdue": {"app": True, "email": True, "ringkasan": False},
    "submission.returned": {"app": True, "email": True, "ringkasan": False},
    "submission.verified": {"app": True, "email": False, "ringkasan": True},
    "cycle.opened": {"app": True, "email": True, "ringkasan": False},
    "cycle.closing_soon": {"app": True, "email": True, "ringkasan": False},
    "cycle.closed": {"app": True, "email": False, "ringkasan": True},
}
CHANNELS = ("app", "email", "ringkasan")


def wants(session: Session, user: User, event_type: str, channel: str) -> bool:
    chosen = session.scalar(select(NotificationPreference.enabled).where(
        NotificationPreference.user_id == user.id, NotificationPreference.event_type == event_type,
        NotificationPreference.channel == channel))
    return DEFAULTS.get(event_type, {}).get(channel, False) if chosen is None else chosen


def preferences(session: Session, user: User) -> dict[str, dict[str, bool]]:
    return {event: {channel: wants(session, user, event, channel) for channel in CHANNELS} for event in DEFAULTS}


def set_preferences(session: Session, user: User, chosen: dict[tuple[str, str], bool]) -> None:
    existing = {(p.event_type, p.channel): p for p in session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for (event, channel), enabled in chosen.items():
        if event not in DEFAULTS or channel not in CHANNELS:
            continue
        row = existing.get((event, channel))
        if row is None:
            session.add(NotificationPreference(user_id=user.id, event_type=event, channel=channel, enabled=enabled))
        else:
            row.enabled = enabled


def on_event(session: Session, event: OutboxEvent) -> None:
    """The outbox subscriber: one notification per person, and an email where they want one now."""
    payload: dict[str, Any] = dict(event.payload)
    for user in recipients.for_event(session, event.event_type, payload):
        message = render(event.event_type, payload, user)
        if wants(session, user, event.event_type, "app"):
            session.add(Notification(user_id=user.id, event_type=event.event_type, judul=message.subject,
                                     isi=message.text_body, tautan=message.link, created_at=clock.now()))
        if user.email and wants(session, user, event.event_type, "email"):
            session.add(EmailMessage(user_id=user.id, to_address=user.email, subject=message.subject,
                                     text=message.text, html=message.html, kind="segera", created_at=clock.now(),
                                     next_attempt_at=clock.now(), attempts=0))
