"""Turning a domain event into notifications in the app and emails, by each person's preferences."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock, events
from engine.core.config import Settings
from models import Channel, EmailKind, EmailMessage, Notification, NotificationPreference, User
from notifications import recipients
from notifications.templates import render

# Defaults per event: whether to show it in the app, email it at once, or put it in the digest.
DEFAULTS: dict[str, dict[Channel, bool]] = {
    events.TaskCreated.name: {Channel.APP: True, Channel.EMAIL: False, Channel.RINGKASAN: True},
    events.TaskDueSoon.name: {Channel.APP: True, Channel.EMAIL: False, Channel.RINGKASAN: True},
    events.TaskOverdue.name: {Channel.APP: True, Channel.EMAIL: True, Channel.RINGKASAN: False},
    events.SubmissionReturned.name: {Channel.APP: True, Channel.EMAIL: True, Channel.RINGKASAN: False},
    events.SubmissionVerified.name: {Channel.APP: True, Channel.EMAIL: False, Channel.RINGKASAN: True},
    events.SubmissionBroughtUpToDate.name: {Channel.APP: True, Channel.EMAIL: False, Channel.RINGKASAN: True},
    events.CycleOpened.name: {Channel.APP: True, Channel.EMAIL: True, Channel.RINGKASAN: False},
    events.CycleClosingSoon.name: {Channel.APP: True, Channel.EMAIL: True, Channel.RINGKASAN: False},
    events.CycleClosed.name: {Channel.APP: True, Channel.EMAIL: False, Channel.RINGKASAN: True},
}
CHANNELS = tuple(Channel)
# What a person must hear of one way or another: the bell keeps these when every channel is unticked
# (an operator who switched all off would never learn that the submission came back, or why).
REQUIRED = (events.SubmissionReturned.name, events.TaskOverdue.name)


def wants(session: Session, user: User, event_name: str, channel: Channel) -> bool:
    chosen = session.scalar(
        select(NotificationPreference.enabled).where(
            NotificationPreference.user_id == user.id,
            NotificationPreference.event_type == event_name,
            NotificationPreference.channel == channel,
        )
    )
    return DEFAULTS.get(event_name, {}).get(channel, False) if chosen is None else chosen


def preferences(session: Session, user: User) -> dict[str, dict[str, bool]]:
    return {event: {channel.value: wants(session, user, event, channel) for channel in CHANNELS} for event in DEFAULTS}


def set_preferences(session: Session, user: User, chosen: dict[tuple[str, str], bool]) -> list[str]:
    """Store the person's choices; the required events of which every channel was unticked keep the
    bell, and are returned so that the page can say so."""
    kept = [e for e in REQUIRED if all(chosen.get((e, c.value)) is False for c in CHANNELS)]
    chosen = {**chosen, **{(e, Channel.APP.value): True for e in kept}}
    existing = {
        (p.event_type, p.channel): p
        for p in session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    for (event, channel), enabled in chosen.items():
        if event not in DEFAULTS or channel not in set(Channel):
            continue
        row = existing.get((event, channel))
        if row is None:
            session.add(NotificationPreference(user_id=user.id, event_type=event, channel=channel, enabled=enabled))
        else:
            row.enabled = enabled
    return kept


def subscriber(settings: Settings) -> Callable[[Session, events.DomainEvent], None]:
    """The outbox subscriber: one notification per person, and an email where they want one now."""

    def on_event(session: Session, event: events.DomainEvent) -> None:
        place = recipients.place_name(session, event)
        if isinstance(event, events.TaskOverdue):  # one read of both tiers, and who is only the tier above
            people, other_tier = recipients.told_of_late_task(session, event)
        elif isinstance(event, events.SubmissionBroughtUpToDate):  # its desa, and the tier judging it
            people, other_tier = recipients.told_of_update(session, event)
        else:
            people, other_tier = recipients.for_event(session, event), set()
        for user in people:
            message = render(event, user, settings, place, other_tier=user.id in other_tier)
            in_app = wants(session, user, event.name, Channel.APP)
            if in_app or wants(session, user, event.name, Channel.RINGKASAN):  # the digest is built from these
                session.add(
                    Notification(
                        user_id=user.id,
                        event_type=event.name,
                        judul=message.subject,
                        isi=message.text_body,
                        tautan=message.link,
                        created_at=clock.now(),
                        di_aplikasi=in_app,
                    )
                )
            if user.email and wants(session, user, event.name, Channel.EMAIL):
                session.add(
                    EmailMessage(
                        user_id=user.id,
                        to_address=user.email,
                        subject=message.subject,
                        text=message.text,
                        html=message.html,
                        kind=EmailKind.SEGERA,
                        created_at=clock.now(),
                        next_attempt_at=clock.now(),
                        attempts=0,
                        isi=message.text_body,
                        tautan=message.link,
                    )
                )

    return on_event
