"""Notifications: in the app, by email through a real SMTP server, digests, retries, preferences."""

from __future__ import annotations

import email
import socket
from datetime import timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from engine.core import clock
from engine.core.config import SmtpSettings
from engine.people import administration, users
from models import EmailMessage, Notification, OutboxEvent, Submission, User
from notifications import delivery, inapp
from notifications import email as mail
from tests.factories import SYSTEM, decide, make_team, open_with_items, submit


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, SmtpSettings("127.0.0.1", port, "none", "", "", "sijosku@dinsos.kaltaraprov.go.id")
    controller.stop()


@pytest.fixture
def subscribed(db, with_notifications):
    return with_notifications()


def _with_email(db, username, address):
    with db.transaction() as s:
        s.scalar(select(User).where(User.username == username)).email = address


def _returned(db, reason, address="operator@desa.id"):
    """A submission returned by the kecamatan to an operator who has an email address."""
    team = make_team(db)
    _with_email(db, team.operator, address)
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    decide(db, team.kecamatan, sid, "return", reason)
    return team


def test_a_return_reaches_the_operator_in_the_app_and_by_email(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    team = _returned(db, "Tanggal lahir Maria tidak cocok dengan KK")
    with db.read() as s:
        operator = s.scalar(select(User).where(User.username == team.operator))
        unread = inapp.unread_count(s, operator.id)
        titles = [n.judul for n in inapp.latest(s, operator.id)]
    assert unread == 2 and any("dikembalikan oleh kecamatan" in t for t in titles)
    assert sum(t.startswith("Tugas baru") for t in titles) == 1  # the first task; the return's notice says the rest
    assert mail.deliver_pending(db, settings) == 1
    message = inbox.messages[0]
    assert message["To"] == "operator@desa.id" and "dikembalikan" in message["Subject"]
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk() if not p.is_multipart()}
    assert "Tanggal lahir Maria tidak cocok dengan KK" in parts["text/plain"]
    assert "<a href=" in parts["text/html"] and "Yth." in parts["text/html"]
    assert mail.deliver_pending(db, settings) == 0  # sent once


def test_a_reason_with_markup_reaches_the_mail_as_text_never_as_a_link(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    _returned(db, 'Lihat <a href="http://phish.example/login">petunjuk</a> <b>umur</b>')
    assert mail.deliver_pending(db, settings) == 1
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in inbox.messages[0].walk()
        if not p.is_multipart()
    }
    html = parts["text/html"]
    assert 'href="http://phish.example' not in html and "<b>umur</b>" not in html
    assert "&lt;a href=&#34;http://phish.example/login&#34;&gt;" in html  # shown as the verifier typed it


def test_a_failed_delivery_is_kept_retried_and_never_undoes_the_change(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    _returned(db, "Perbaiki alamat")
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    assert mail.deliver_pending(db, down) == 0
    with db.read() as s:
        failed = s.scalar(select(EmailMessage))
        assert administration.schedule_status(s, SYSTEM).failed_emails[0].id == failed.id  # what the admins see
    assert failed.last_error and failed.attempts == 1 and failed.sent_at is None
    assert mail.deliver_pending(db, settings) == 0  # not yet due again
    assert mail.deliver_pending(db, settings, now=clock.now() + timedelta(minutes=3)) == 1
    assert len(inbox.messages) == 1


def test_a_mail_server_that_refuses_everything_fails_the_job_run_and_shows_in_the_metrics(subscribed, monkeypatch):
    """A quiet "0 sent" would hide a mail server that is away; the failed run raises the alert."""
    import dataclasses

    from engine.core import jobs
    from engine.verification import gauges
    from models import JobRun

    db = subscribed
    _returned(db, "Perbaiki alamat")
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, smtp=down))
    assert jobs.run_once(db, "surel", "uji", lambda: mail.send_email(db, clock.now())) == jobs.Outcome.GAGAL
    with db.read() as s:
        assert "Server surel tidak menerima" in s.scalar(select(JobRun.message).where(JobRun.job_id == "surel"))
        assert gauges.read(s).email_failing == 1


def test_a_daily_digest_replaces_one_email_per_task(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    team = make_team(db)
    _with_email(db, team.kecamatan, "tksk@kecamatan.id")
    for desa in ("65.01.01.2005", "65.01.01.2006", "65.01.01.2007"):
        if desa != "65.01.01.2005":
            with db.transaction() as s:
                users.add_user(s, SYSTEM, f"op.{desa}", "operator", desa)
        sid = open_with_items(db, desa=desa)
        submit(db, team.operator if desa == "65.01.01.2005" else f"op.{desa}", sid)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(EmailMessage)) == 0  # no email per task
    later = clock.now() + mail.DIGEST_LAG  # a digest holds what was made up to its lag before it
    assert mail.queue_digests(db, now=later) >= 1
    mail.deliver_pending(db, settings, now=later)
    digest = next(m for m in inbox.messages if m["To"] == "tksk@kecamatan.id")
    assert "3 pemberitahuan" in digest["Subject"]
    assert mail.queue_digests(db, now=later + timedelta(minutes=1)) == 0  # nothing new since


def test_preferences_per_event_and_channel(subscribed):
    db = subscribed
    team = make_team(db)
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == team.kecamatan))
        delivery.set_preferences(s, me, {("task.created", "app"): False})
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    with db.read() as s:
        me = s.scalar(select(User).where(User.username == team.kecamatan))
        assert inapp.unread_count(s, me.id) == 0 and inapp.latest(s, me.id) == []  # not in the bell
        assert delivery.preferences(s, me)["task.created"] == {"app": False, "email": False, "ringkasan": True}
    _with_email(db, team.kecamatan, "tksk@kecamatan.id")
    # but in the digest the person kept: it was dropped with the bell; and a WITA time runs the job
    wita = clock.now().astimezone(timezone(timedelta(hours=8)))
    assert mail.queue_digests(db, now=wita + mail.DIGEST_LAG + timedelta(minutes=1)) == 1
    with db.read() as s:
        digest = s.scalar(select(EmailMessage).where(EmailMessage.to_address == "tksk@kecamatan.id"))
        assert "1 pemberitahuan" in digest.subject and "Tugas baru" in digest.text


def test_a_failing_subscriber_never_blocks_the_change(subscribed):
    db = subscribed

    def broken(session, event):
        raise RuntimeError("layanan surel mati")

    db.registry.subscribe("task.created", broken)
    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)  # commits despite the subscriber
    with db.read() as s:
        assert s.get(Submission, sid).status.value == "diajukan"
        stuck = s.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))).all()
    assert stuck and "layanan surel mati" in stuck[0].last_error


def test_a_notification_committed_just_after_a_digest_goes_in_the_next_one(subscribed):
    """Made a minute before the digest ran, in a transaction that committed after it: the next day's
    digest has it (each digest takes what was made up to its lag before it)."""
    db = subscribed
    team = make_team(db)
    _with_email(db, team.kecamatan, "tksk@kecamatan.id")
    digest_at = clock.now()
    with db.read() as s:
        me = s.scalar(select(User.id).where(User.username == team.kecamatan))

    def made(title: str, before: timedelta) -> None:
        with db.transaction() as s:
            s.add(
                Notification(user_id=me, event_type="task.created", judul=title, isi="-", created_at=digest_at - before)
            )

    made("awal", timedelta(hours=1))
    assert mail.queue_digests(db, now=digest_at) == 1
    made("terlambat", timedelta(minutes=1))  # a delivery batch that began before the digest commits after it
    assert mail.queue_digests(db, now=digest_at + timedelta(days=1)) == 1
    with db.read() as s:
        latest = s.scalars(select(EmailMessage).order_by(EmailMessage.id.desc())).first()
    assert "1 pemberitahuan" in latest.subject and "terlambat" in latest.text


def test_a_desa_step_brought_back_without_a_return_is_told(db):
    """Only a verifier's return has its own notice; the desa's step brought back another way (the
    automatic check after submitting, a step an edited diagram adds) is told as a new task."""
    import uuid

    from engine.core import events
    from models import HumanTask, Tier
    from notifications import recipients

    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)  # the desa's step done with its decision "ajukan"
    with db.transaction() as s:
        first = s.scalars(select(HumanTask).where(HumanTask.submission_id == sid).order_by(HumanTask.id)).first()
        again = HumanTask(
            instance_id=first.instance_id,
            spiff_task_id=str(uuid.uuid4()),
            bpmn_id=first.bpmn_id,
            nama=first.nama,
            tingkat=Tier.DESA,
            region_kode=first.region_kode,
            kode_desa=first.kode_desa,
            periode=first.periode,
            business_key=first.business_key,
            submission_id=sid,
        )
        s.add(again)
        s.flush()
        event = events.TaskCreated(
            task_id=again.id,
            nama=again.nama,
            tingkat="desa",
            region_kode=again.region_kode,
            kode_desa=again.kode_desa,
            periode=again.periode,
            submission_id=sid,
        )
        told = {u.username for u in recipients.for_event(s, event)}
    assert team.operator in told
