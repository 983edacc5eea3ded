"""Sending email over SMTP: immediate messages and the daily digest, with retries.

The SMTP settings are part of the product's settings (`engine.core.config.SmtpSettings`); without a
host, email is kept queued, not sent.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage

from sqlalchemy import func, select

from engine.core import clock, events
from engine.core.config import SmtpSettings
from engine.core.errors import Unavailable
from engine.core.registry import Job, Registry
from engine.core.uow import Database
from models import Channel, EmailKind, EmailMessage, Notification, User
from notifications.delivery import wants
from notifications.templates import render_digest

MAX_ATTEMPTS = 6
BACKOFF = timedelta(minutes=2)
CLAIM = timedelta(minutes=5)


def _send(settings: SmtpSettings, message: EmailMessage) -> None:
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = settings.sender, message.to_address, message.subject
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    if settings.tls == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=30, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with server:
        if settings.tls == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.user:
            server.login(settings.user, settings.password)
        server.send_message(mime)


def deliver_pending(db: Database, settings: SmtpSettings | None = None, now: datetime | None = None) -> int:
    """Send what is due; the number sent (see `_deliver`)."""
    return _deliver(db, settings, now)[0]


def _deliver(db: Database, settings: SmtpSettings | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Send what is due; a failure is kept on the message and tried again later (visible to admins).
    The numbers sent and failed.

    Messages are claimed in a short transaction, sent outside it (SMTP may be slow; SQLite writers
    must not wait on it), and their outcome written in another.
    """
    settings = settings or db.settings.smtp
    now = now or clock.now()
    if not settings.host:
        return 0, 0
    with db.transaction() as s:
        due = s.scalars(
            select(EmailMessage)
            .where(
                EmailMessage.sent_at.is_(None),
                EmailMessage.attempts < MAX_ATTEMPTS,
                EmailMessage.next_attempt_at <= now,
            )
            .order_by(EmailMessage.id)
            .limit(200)
            .with_for_update(skip_locked=True)
        ).all()
        for message in due:
            message.attempts += 1
            message.next_attempt_at = now + CLAIM  # no other node sends it meanwhile
        s.flush()
        s.expunge_all()  # the messages are read again below, after sending
    outcomes: dict[int, str | None] = {}
    for message in due:
        try:
            _send(settings, message)
            outcomes[message.id] = None
        except (OSError, smtplib.SMTPException) as exc:
            outcomes[message.id] = f"{type(exc).__name__}: {exc}"[:1000]
    with db.transaction() as s:
        for message in due:
            row = s.get(EmailMessage, message.id)
            error = outcomes[message.id]
            if error is None:
                row.sent_at, row.last_error = clock.now(), None
            else:
                row.last_error = error
                row.next_attempt_at = now + BACKOFF * (2 ** (row.attempts - 1))
    sent = sum(1 for error in outcomes.values() if error is None)
    return sent, len(outcomes) - sent


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before any notification: a person's first digest has them all
# A digest holds the notifications made up to this long before it. A notification carries the time
# it was made, and its transaction (a batch of delivered events) may commit a little later: one made
# just before a digest and committed just after it fell between two digests and was never sent.
# Every notification's transaction ends well within this lag (statements are cut at 30 s).
DIGEST_LAG = timedelta(minutes=15)


def queue_digests(db: Database, now: datetime | None = None) -> int:
    """One email per person with what happened between their last digest and this one (each up to
    `DIGEST_LAG` before it was made), for the events they chose."""
    now = now or clock.now()
    queued = 0
    with db.transaction() as s:
        for user in s.scalars(select(User).where(User.aktif.is_(True), User.email.is_not(None))):
            since = (
                s.scalar(
                    select(func.max(EmailMessage.created_at)).where(
                        EmailMessage.user_id == user.id, EmailMessage.kind == EmailKind.RINGKASAN
                    )
                )
                or EARLIEST
            )  # (datetime.min in WITA overflows when the database converts it to UTC)
            items = [
                n
                for n in s.scalars(
                    select(Notification)
                    .where(
                        Notification.user_id == user.id,
                        Notification.created_at > since - DIGEST_LAG,
                        Notification.created_at <= now - DIGEST_LAG,
                    )
                    .order_by(Notification.id)
                )
                if wants(s, user, n.event_type, Channel.RINGKASAN)
            ]
            if not items:
                continue
            subject, text, html = render_digest(user, [{"judul": n.judul, "isi": n.isi} for n in items])
            s.add(
                EmailMessage(
                    user_id=user.id,
                    to_address=user.email,
                    subject=subject,
                    text=text,
                    html=html,
                    kind=EmailKind.RINGKASAN,
                    created_at=now,
                    next_attempt_at=now,
                    attempts=0,
                )
            )
            queued += 1
    return queued


def failures(db: Database, limit: int = 100) -> list[EmailMessage]:
    with db.read() as s:
        return list(
            s.scalars(
                select(EmailMessage)
                .where(EmailMessage.sent_at.is_(None), EmailMessage.last_error.is_not(None))
                .order_by(EmailMessage.id.desc())
                .limit(limit)
            )
        )


def send_email(db: Database, now: datetime) -> str:
    """The scheduled job. When every e-mail it tried failed, the run fails too: the job history and
    the failed-run alert show a mail server that refuses or is away, not a quiet "0 sent"."""
    delivered = events.deliver_pending(db.sessions)
    sent, failed = _deliver(db, now=now)
    if failed and not sent:
        raise Unavailable(f"Server surel tidak menerima: {failed} surel gagal dikirim; dicoba lagi nanti")
    return f"{delivered} peristiwa, {sent} surel terkirim" + (f", {failed} gagal (dicoba lagi nanti)" if failed else "")


def daily_digest(db: Database, now: datetime) -> str:
    return f"{queue_digests(db, now)} ringkasan disiapkan"


def add_jobs(registry: Registry) -> None:
    registry.add_job(Job("surel", "minute", send_email))
    registry.add_job(Job("ringkasan_harian", "day", daily_digest))
