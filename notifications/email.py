"""Sending email over SMTP: immediate messages and the daily digest, with retries.

The SMTP settings are part of the product's settings (`engine.core.config.SmtpSettings`); without a
host, email is kept queued, not sent.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import func, select, update

from engine.core import clock, events, rows
from engine.core.config import SmtpSettings
from engine.core.errors import Unavailable
from engine.core.registry import Job, Registry
from engine.core.uow import Database
from models import EMAIL_MAX_ATTEMPTS, EMAIL_NOT_SENT, Channel, EmailKind, EmailMessage, Notification, User
from notifications.delivery import wants
from notifications.templates import render_bundle, render_digest

# Retries outlast a night without mail: 2, 4, 8, 16, 32 minutes, then hourly, about 26 hours in all.
MAX_ATTEMPTS = EMAIL_MAX_ATTEMPTS
BACKOFF = timedelta(minutes=2)
LONGEST_WAIT = timedelta(hours=1)
CLAIM = timedelta(minutes=5)
# A run sends only while well inside its claim: what is left goes back to the queue for the next run,
# so that no other node takes a message this one is still sending.
SENDING_TIME = CLAIM / 2
BATCH = 200
NOT_SENT = EMAIL_NOT_SENT  # a message dropped on purpose (the person left), not a failure


class Refused(Exception):
    """The mail server refused this message for good (an unknown mailbox, a rejected message)."""


def _one_line(value: str) -> str:
    """A header's value on one line: a line break in a process step's or region's name would make the
    message unwritable, and the run would fail on it for every message queued behind it."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def _mime(settings: SmtpSettings, to: str, subject: str, text: str, html: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"], mime["To"] = settings.sender, _one_line(to)
    mime["Subject"] = _one_line(subject)
    mime["Date"] = formatdate(localtime=True)  # required by RFC 5322; some providers refuse mail without it
    mime["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    mime["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    mime.set_content(text)
    mime.add_alternative(html, subtype="html")
    return mime


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.tls == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=30, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=30)
    if settings.tls == "starttls":
        server.starttls(context=ssl.create_default_context())
    if settings.user:
        server.login(settings.user, settings.password)
    return server


def _send(server: smtplib.SMTP, mime: MimeMessage) -> None:
    """One message on an open connection; a refusal of this message alone raises `Refused`."""
    try:
        server.send_message(mime)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise Refused(f"alamat ditolak server surel: {exc.recipients}") from exc
        raise
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise Refused(f"surel ditolak server surel: {exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
    except smtplib.SMTPNotSupportedError as exc:  # said before anything was sent: the connection serves the next
        raise Refused(f"server surel tidak menerima alamat dengan huruf di luar ASCII (SMTPUTF8): {exc}") from exc


def deliver_pending(db: Database, settings: SmtpSettings | None = None, now: datetime | None = None) -> int:
    """Send what is due; the number of messages sent (see `_deliver`)."""
    return _deliver(db, settings, now).sent


@dataclass
class Outcome:
    sent: int = 0  # messages (a bundle counts each message it carries)
    failed: int = 0  # the server was away or failed: tried again later
    refused: int = 0  # refused for good, or dropped (the person left): not tried again


@dataclass
class _Mail:
    """One e-mail to one person: a message, or a bundle of the messages due for them at once."""

    to: str
    ids: list[int]
    mime: MimeMessage


def _deliver(db: Database, settings: SmtpSettings | None = None, now: datetime | None = None) -> Outcome:
    """Send what is due, one e-mail per person (several messages due at once go as one bundle),
    over one connection; a failure is kept on the message and tried again later (visible to admins).

    Messages are claimed in a short transaction and sent outside it (SMTP may be slow; SQLite writers
    must not wait on it); each outcome is written as soon as it is known, so that a run killed
    mid-way sends nothing twice but the message it was on."""
    settings = settings or db.settings.smtp
    now = now or clock.now()
    outcome = Outcome()
    if not settings.host:
        return outcome
    mails = _claim(db, settings, now, outcome)
    if not mails:
        return outcome
    started = time.monotonic()
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        _failed(db, [i for m in mails for i in m.ids], f"{type(exc).__name__}: {exc}", now)
        outcome.failed += sum(len(m.ids) for m in mails)
        return outcome
    with server:
        for index, mail in enumerate(mails):
            if time.monotonic() - started > SENDING_TIME.total_seconds():
                _release(db, [i for m in mails[index:] for i in m.ids])
                break
            try:
                _send(server, mail.mime)
            except Refused as exc:
                _given_up(db, mail.ids, str(exc)[:1000])
                outcome.refused += len(mail.ids)
            except (OSError, smtplib.SMTPException) as exc:
                _failed(db, [i for m in mails[index:] for i in m.ids], f"{type(exc).__name__}: {exc}", now)
                outcome.failed += sum(len(m.ids) for m in mails[index:])
                break
            else:
                _sent(db, mail.ids)
                outcome.sent += len(mail.ids)
    return outcome


def _claim(db: Database, settings: SmtpSettings, now: datetime, outcome: Outcome) -> list[_Mail]:
    """The messages due, claimed for this run and grouped per person; those of people who left or
    have no address any more are dropped, and each goes to the person's address as it is now."""
    with db.transaction() as s:
        due = s.execute(
            select(EmailMessage, User)
            .outerjoin(User, User.id == EmailMessage.user_id)
            .where(
                EmailMessage.sent_at.is_(None),
                EmailMessage.attempts < MAX_ATTEMPTS,
                EmailMessage.next_attempt_at <= now,
            )
            .order_by(EmailMessage.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=EmailMessage)
        ).all()
        people: dict[str, tuple[User | None, list[EmailMessage]]] = {}
        for message, user in due:
            gone = _gone(user)
            if gone:
                message.attempts, message.last_error = MAX_ATTEMPTS, NOT_SENT + gone
                outcome.refused += 1
                continue
            message.attempts += 1
            message.next_attempt_at = now + CLAIM  # no other node sends it meanwhile
            if user is not None and user.email:
                message.to_address = user.email
            people.setdefault(message.to_address, (user, []))[1].append(message)
        return [mail for to, (user, messages) in people.items() for mail in _mails(db, settings, to, user, messages)]


def _gone(user: User | None) -> str | None:
    if user is None:
        return None  # a message to an address, not to an account
    if not user.aktif:
        return "akun sudah dinonaktifkan"
    if not user.email:
        return "akun tidak punya alamat surel lagi"
    return None


def _mails(
    db: Database, settings: SmtpSettings, to: str, user: User | None, messages: list[EmailMessage]
) -> list[_Mail]:
    """A person's e-mails of this run: the immediate messages due together as one bundle (a calendar
    run can make hundreds for one verifier), each digest on its own."""
    together = [m for m in messages if m.kind == EmailKind.SEGERA and m.isi is not None]
    alone = [m for m in messages if m not in together] if len(together) > 1 else messages
    mails = [_Mail(to, [m.id], _mime(settings, to, m.subject, m.text, m.html)) for m in alone]
    if len(together) > 1 and user is not None:
        items = [{"judul": m.subject, "isi": m.isi, "tautan": m.tautan} for m in together]
        subject, text, html = render_bundle(user, items, db.settings)
        mails.append(_Mail(to, [m.id for m in together], _mime(settings, to, subject, text, html)))
    elif len(together) > 1:
        mails += [_Mail(to, [m.id], _mime(settings, to, m.subject, m.text, m.html)) for m in together]
    return mails


def _sent(db: Database, ids: list[int]) -> None:
    with db.transaction() as s:
        s.execute(update(EmailMessage).where(EmailMessage.id.in_(ids)).values(sent_at=clock.now(), last_error=None))


def _given_up(db: Database, ids: list[int], error: str) -> None:
    with db.transaction() as s:
        s.execute(update(EmailMessage).where(EmailMessage.id.in_(ids)).values(attempts=MAX_ATTEMPTS, last_error=error))


def _failed(db: Database, ids: list[int], error: str, now: datetime) -> None:
    """Tried again after a wait that doubles with each attempt, up to an hour."""
    with db.transaction() as s:
        for message in s.scalars(select(EmailMessage).where(EmailMessage.id.in_(ids))):
            message.last_error = error[:1000]
            message.next_attempt_at = now + min(BACKOFF * (2 ** (message.attempts - 1)), LONGEST_WAIT)


def _release(db: Database, ids: list[int]) -> None:
    """Claimed and not tried in this run: back to the queue, the attempt not counted."""
    with db.transaction() as s:
        s.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(ids))
            .values(attempts=EmailMessage.attempts - 1, next_attempt_at=clock.now())
        )


def resend(db: Database, ids: list[int] | None = None) -> int:
    """Messages given up (or failing) queued again from now, with their attempts counted afresh:
    after an outage longer than the retries, or a corrected address. Those dropped because the
    person left stay dropped."""
    query = (
        update(EmailMessage)
        .where(
            EmailMessage.sent_at.is_(None),
            EmailMessage.last_error.is_not(None),
            EmailMessage.last_error.not_like(f"{NOT_SENT}%"),
        )
        .values(attempts=0, next_attempt_at=clock.now())
    )
    if ids is not None:
        query = query.where(EmailMessage.id.in_(ids or [0]))
    with db.transaction() as s:
        return rows.affected(s.execute(query))


# A person's first digest (an address just added, a new account) holds the last day, not their history.
FIRST_DIGEST = timedelta(days=1)
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
                or now - FIRST_DIGEST
            )
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
            listed = [{"judul": n.judul, "isi": n.isi, "tautan": n.tautan, "waktu": n.created_at} for n in items]
            subject, text, html = render_digest(user, listed, db.settings)
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


def send_email(db: Database, now: datetime) -> str:
    """The scheduled job. When every e-mail it tried failed, the run fails too: the job history and
    the failed-run alert show a mail server that refuses or is away, not a quiet "0 sent"."""
    delivered = events.deliver_pending(db.sessions)
    done = _deliver(db, now=now)
    if done.failed and not done.sent:  # a mailbox refused for good says nothing of the server
        raise Unavailable(f"Server surel tidak menerima: {done.failed} surel gagal dikirim; dicoba lagi nanti")
    return (
        f"{delivered} peristiwa, {done.sent} surel terkirim"
        + (f", {done.failed} gagal (dicoba lagi nanti)" if done.failed else "")
        + (f", {done.refused} ditolak atau tidak dikirim" if done.refused else "")
    )


def daily_digest(db: Database, now: datetime) -> str:
    return f"{queue_digests(db, now)} ringkasan disiapkan"


def add_jobs(registry: Registry) -> None:
    registry.add_job(Job("surel", "minute", send_email))
    registry.add_job(Job("ringkasan_harian", "day", daily_digest))
