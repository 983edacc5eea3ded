# ruff: noqa: F811 - the fixtures imported from test_notifications are parameters of the tests
"""What reaches people's mailboxes over a cycle, through a real SMTP server: one e-mail for what is
due at once, dates as the pages write them, nothing for people who left, a refused mailbox that does
not pass for a mail server away, one reminder only to the desa still due, one opening notice each,
an escalation the tier above can open, and notifications that cannot all be switched off."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select

from engine.core import clock, events, jobs
from engine.core.actors import Actor
from engine.people import administration, users
from engine.verification import cycles, gauges, imports
from models import Channel, EmailMessage, HumanTask, Notification, Region, Submission, User
from notifications import delivery
from notifications import email as mail
from notifications.templates import moment
from tests.factories import DESA, SYSTEM, csv_of, decide, make_team, open_with_items, person_row, submit
from tests.integration.test_notifications import (  # noqa: F401 - the fixtures
    _free_port,
    _returned,
    _with_email,
    smtp,
    subscribed,
)
from tests.integration.test_scheduler import at


def _parts(message) -> dict[str, str]:  # noqa: ANN001
    return {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk() if not p.is_multipart()}


def _late_kecamatan_tasks(db, desa: tuple[str, ...]) -> None:
    """Each desa submits; the kecamatan lets every task pass its due time; the calendar escalates."""
    for code in desa:
        operator = "op.desa" if code == "65.01.01.2005" else f"op.{code}"  # the team's, or one of its own
        if operator != "op.desa":
            with db.transaction() as s:
                users.add_user(s, SYSTEM, operator, "operator", code)
        submit(db, operator, open_with_items(db, desa=code))
    with db.transaction() as s:
        cycles.escalate_late(s, SYSTEM, clock.now() + timedelta(days=30))


def test_what_is_due_for_one_person_at_once_goes_as_one_email_with_every_link(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    make_team(db)
    _with_email(db, "verif.kab", "kab@bulungan.id")
    _late_kecamatan_tasks(db, ("65.01.01.2005", "65.01.01.2006", "65.01.01.2007"))
    events.deliver_pending(db.sessions)
    assert mail.deliver_pending(db, settings) == 3
    assert [m["To"] for m in inbox.messages] == ["kab@bulungan.id"]  # three escalations, one e-mail
    bundle = inbox.messages[0]
    assert bundle["Subject"] == "SIJOSKU: 3 pemberitahuan baru"
    assert bundle["Date"] and bundle["Message-ID"] and bundle["Auto-Submitted"] == "auto-generated"
    text = _parts(bundle)["text/plain"]
    assert text.count("Melewati tenggat") == 3 and text.count("/siklus/?periode=2026-Q4&induk=65.01.01") == 3
    assert mail.deliver_pending(db, settings) == 0  # each sent once


def test_an_escalation_leads_the_tier_above_to_a_page_it_can_open(subscribed):
    db = subscribed
    make_team(db)
    _late_kecamatan_tasks(db, ("65.01.01.2005",))
    events.deliver_pending(db.sessions)
    with db.read() as s:
        kab = users.find_user(s, "verif.kab")
        kec = users.find_user(s, "verif.kec")
        told = {n.user_id: n for n in s.scalars(select(Notification).where(Notification.event_type == "task.overdue"))}
        page = cycles.status_page(s, Actor.of(kab), "2026-Q4", "65.01.01", "65")
    assert told[kec.id].tautan.startswith("/tugas/")  # the late tier opens its task
    assert told[kab.id].tautan == "/siklus/?periode=2026-Q4&induk=65.01.01"
    assert "dieskalasi ke tingkat kabupaten: pantau" in told[kab.id].isi
    assert any(row.kode == "65.01.01.2005" for row in page.rows) and not page.notes


def test_messages_write_times_as_the_pages_do_in_wita(db):
    settings = db.settings
    assert moment("2027-01-23T23:00:00+00:00", settings) == "24 Januari 2027 pukul 07.00 WITA"
    assert moment(None, settings) == ""


def test_no_email_for_people_who_left_and_each_goes_to_the_address_as_it_is_now(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    make_team(db)
    _with_email(db, "op.desa", "lama@desa.id")
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", "Perbaiki alamat")  # an e-mail waits (the mail server is away)
    _with_email(db, "op.desa", "baru@desa.id")  # the admin corrects the address meanwhile
    assert mail.deliver_pending(db, settings) == 1
    assert [m["To"] for m in inbox.messages] == ["baru@desa.id"]

    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", "Masih salah")
    with db.transaction() as s:
        administration.set_active(s, SYSTEM, users.find_user(s, "op.desa").id, False)  # the operator left
    assert mail.deliver_pending(db, settings) == 0
    with db.read() as s:
        dropped = s.scalars(select(EmailMessage).where(EmailMessage.sent_at.is_(None))).all()
        figures = gauges.read(s)
    assert [m.last_error for m in dropped] == ["Tidak dikirim: akun sudah dinonaktifkan"]
    assert figures.email_given_up == 0 and figures.email_failing == 0  # not a failure of the mail server
    assert len(inbox.messages) == 1


@pytest.fixture
def refusing(smtp):
    """A mail server that knows every mailbox but one."""
    inbox, settings = smtp

    async def handle_rcpt(server, session, envelope, address, options):  # noqa: ANN001
        if address.startswith("hilang@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    inbox.handle_RCPT = handle_rcpt
    return inbox, settings


def test_a_mailbox_refused_for_good_is_given_up_at_once_and_does_not_fail_the_run(subscribed, refusing, monkeypatch):
    db = subscribed
    inbox, settings = refusing
    _returned(db, "Perbaiki alamat", "hilang@desa.id")
    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, smtp=settings))
    assert jobs.run_once(db, "surel", "uji", lambda: mail.send_email(db, clock.now())) == jobs.Outcome.SELESAI
    with db.read() as s:
        message = s.scalar(select(EmailMessage))
        figures = gauges.read(s)
    assert message.sent_at is None and message.attempts == mail.MAX_ATTEMPTS and "550" in message.last_error
    assert figures.email_given_up == 1 and figures.email_queued == 0
    assert mail.deliver_pending(db, settings, now=clock.now() + timedelta(days=2)) == 0  # not tried again
    assert not inbox.messages


def test_retries_outlast_a_night_and_what_was_given_up_can_be_sent_again(subscribed, smtp):
    from engine.core.config import SmtpSettings

    db = subscribed
    inbox, settings = smtp
    _returned(db, "Perbaiki alamat", "op@desa.id")
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    now, tries = clock.now(), 0
    while tries < mail.MAX_ATTEMPTS:
        mail.deliver_pending(db, down, now=now)
        with db.read() as s:
            message = s.scalar(select(EmailMessage))
        if message.attempts == tries:
            break
        tries, now = message.attempts, message.next_attempt_at
    assert tries == mail.MAX_ATTEMPTS and now - message.created_at > timedelta(hours=20)
    assert mail.resend(db) == 1
    assert mail.deliver_pending(db, settings) == 1 and inbox.messages[0]["To"] == "op@desa.id"


def test_a_run_sends_only_within_its_claim_and_leaves_the_rest_for_the_next(subscribed, smtp, monkeypatch):
    db = subscribed
    inbox, settings = smtp
    make_team(db)
    _with_email(db, "verif.kab", "kab@bulungan.id")
    _with_email(db, "verif.kec", "kec@bulungan.id")
    _late_kecamatan_tasks(db, ("65.01.01.2005",))
    events.deliver_pending(db.sessions)
    monkeypatch.setattr(mail, "SENDING_TIME", timedelta(0))  # as if the relay had been slow
    assert mail.deliver_pending(db, settings) == 0
    with db.read() as s:
        waiting = s.scalars(select(EmailMessage)).all()
    assert {m.attempts for m in waiting} == {0} and all(m.next_attempt_at <= clock.now() for m in waiting)
    monkeypatch.undo()
    assert mail.deliver_pending(db, settings) == 2 and len(inbox.messages) == 2


def test_the_deadline_reminder_goes_once_and_only_to_the_desa_still_due(subscribed):
    db = subscribed
    make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.lain.desa", "operator", "65.01.01.2006")
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    with db.transaction() as s:
        done = s.scalar(select(Submission.id).where(Submission.kode_desa == "65.01.01.2005"))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, done, csv_of([person_row(1)]))
    submit(db, "op.desa", done)
    for day in ("2027-01-28", "2027-01-29", "2027-01-30"):
        cycles.calendar_day(db, SYSTEM, at(f"{day}T00:05"))
    events.deliver_pending(db.sessions)
    with db.read() as s:
        told = s.execute(
            select(User.username, func.count())
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.event_type == "cycle.closing_soon")
            .group_by(User.username)
        ).all()
    assert dict(told) == {"op.lain.desa": 1}


def test_operators_hear_of_an_opening_once_when_the_rest_of_the_province_opens(subscribed):
    db = subscribed
    make_team(db)
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    events.deliver_pending(db.sessions)
    cycles.open_cycle(db, SYSTEM, "2027-Q1")
    events.deliver_pending(db.sessions)
    with db.read() as s:
        operator = users.find_user(s, "op.desa")
        openings = s.scalars(
            select(Notification).where(Notification.user_id == operator.id, Notification.event_type == "cycle.opened")
        ).all()
    assert len(openings) == 1 and "paling lambat" in openings[0].isi and "WITA" in openings[0].isi
    with db.read() as s:  # one event, one notice: the opening names the deadline; its task is not told again
        kinds = s.scalars(select(Notification.event_type).where(Notification.user_id == operator.id)).all()
    assert kinds == ["cycle.opened"]


@pytest.mark.parametrize("opened_again", ["65.01.01", DESA])
def test_a_desa_opened_after_its_regions_announcement_hears_of_its_task(subscribed, opened_again):
    """Opened later (its code was in force again after the kecamatan's opening was announced), the
    desa has no announcement of its own: its first task is what tells its operator."""
    db = subscribed
    make_team(db)
    with db.transaction() as s:
        s.get(Region, DESA).berakhir = date(2026, 1, 1)
    try:
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
        events.deliver_pending(db.sessions)
        with db.transaction() as s:
            s.get(Region, DESA).berakhir = None
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=opened_again)
        events.deliver_pending(db.sessions)
    finally:
        with db.transaction() as s:  # the list of regions is shared by every test
            s.get(Region, DESA).berakhir = None
    with db.read() as s:
        operator = users.find_user(s, "op.desa")
        kinds = s.scalars(select(Notification.event_type).where(Notification.user_id == operator.id)).all()
    assert kinds.count("task.created") == 1 and kinds.count("cycle.opened") <= 1  # never told twice


def test_a_return_and_a_late_task_cannot_all_be_switched_off(subscribed):
    db = subscribed
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.diam", "operator", "65.01.01.2005")
        me = users.find_user(s, "op.diam")
        everything_off = {(e, c.value): False for e in delivery.DEFAULTS for c in Channel}
        kept = delivery.set_preferences(s, me, everything_off)
    assert kept == ["submission.returned", "task.overdue"]
    with db.read() as s:
        me = users.find_user(s, "op.diam")
        assert delivery.wants(s, me, "submission.returned", Channel.APP)
        assert not delivery.wants(s, me, "task.created", Channel.APP)


def test_a_first_digest_holds_the_last_day_with_links_and_times(subscribed, smtp):
    db = subscribed
    inbox, settings = smtp
    make_team(db)
    with db.transaction() as s:
        kec = users.find_user(s, "verif.kec")
        for days in (200, 100, 0):
            s.add(
                Notification(
                    user_id=kec.id,
                    event_type="task.created",
                    judul=f"Tugas {days} hari lalu",
                    isi="menunggu",
                    tautan="/tugas/1",
                    created_at=clock.now() - timedelta(days=days, minutes=30),
                )
            )
    _with_email(db, "verif.kec", "kec@desa.id")
    assert mail.queue_digests(db) == 1
    mail.deliver_pending(db, settings)
    digest = inbox.messages[0]
    text = _parts(digest)["text/plain"]
    assert "1 pemberitahuan" in digest["Subject"] and "Tugas 0 hari lalu" in text and "200 hari" not in text
    assert f"{db.settings.base_url}/tugas/1" in text and "WITA" in text


def test_a_line_break_or_a_long_name_in_a_step_leaves_every_message_going_out_on_one_line(subscribed, smtp):
    """A process step named over two lines ("…&#13;&#10;Bcc: …") made a subject no message could carry:
    the run failed on it every minute, for every message queued behind it. Its name, near the columns'
    length, made a subject longer than they keep."""
    db = subscribed
    inbox, settings = smtp
    make_team(db)
    _with_email(db, "verif.kab", "kab@bulungan.id")
    submit(db, "op.desa", open_with_items(db))
    hostile = "Verifikasi\r\nBcc: evil@evil.example\r\n" + "x" * 150
    with db.transaction() as s:
        s.execute(HumanTask.__table__.update().values(nama=hostile))
        s.add(EmailMessage(to_address="kec@bulungan.id", subject="Lama\r\nBcc: evil@evil.example", text="t", html="h"))
    with db.transaction() as s:
        cycles.escalate_late(s, SYSTEM, clock.now() + timedelta(days=30))
    events.deliver_pending(db.sessions)
    assert mail.deliver_pending(db, settings) == 2
    assert sorted(m["To"] for m in inbox.messages) == ["kab@bulungan.id", "kec@bulungan.id"]
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]  # as mail readers show it
    assert all(m["Bcc"] is None for m in inbox.messages) and not any("\n" in s or "\r" in s for s in subjects)
    assert any(s.startswith("Melewati tenggat: Verifikasi Bcc: evil@evil.example xxx") for s in subjects), subjects
    with db.read() as s:
        assert max(len(t) for t in s.scalars(select(Notification.judul))) <= 200
