# ruff: noqa: F811 - the fixtures imported from test_notifications are parameters of the tests
"""Notifications and people's accounts: the rules a hand-made mutation of `notifications/` and
`engine/people` (but for scope and privacy) showed no other test to hold."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.config import SmtpSettings
from engine.core.errors import Forbidden, Unavailable
from engine.people import administration, sign_in, users
from engine.verification import gauges
from models import Channel, EmailKind, EmailMessage, LoginAttempt, Notification, NotificationPreference, User
from notifications import delivery
from notifications import email as mail
from notifications.templates import moment, render_bundle
from tests.factories import PASSWORD, SYSTEM
from tests.integration.test_notifications import Inbox, _free_port, smtp  # noqa: F401 - the fixture


def _user(s, username: str) -> User:
    return s.scalar(select(User).where(User.username == username))


# --- preferences -----------------------------------------------------------------------------------


def test_unticking_only_the_bell_for_returns_keeps_the_email_and_leaves_the_bell_off(db, people):
    """An operator who reads returns by e-mail may take them out of the bell: only with every channel
    unticked does the bell come back."""
    returned = "submission.returned"
    with db.transaction() as s:
        kept = delivery.set_preferences(
            s,
            _user(s, "op.desa"),
            {(returned, "app"): False, (returned, "email"): True, (returned, "ringkasan"): False},
        )
    assert kept == []
    with db.read() as s:
        assert delivery.preferences(s, _user(s, "op.desa"))[returned] == {
            "app": False,
            "email": True,
            "ringkasan": False,
        }


def test_a_preference_for_an_unknown_event_or_channel_is_ignored(db, people):
    """A form sent with a made-up field changes nothing and stores nothing."""
    with db.transaction() as s:
        me = _user(s, "verif.kec")
        delivery.set_preferences(s, me, {("peristiwa.karangan", "app"): False, ("task.created", "faks"): False})
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationPreference)) == 0
        assert delivery.wants(s, _user(s, "verif.kec"), "task.created", Channel.APP) is True


# --- sending ---------------------------------------------------------------------------------------


def _queued(db, to: str = "op@desa.id", **columns) -> int:
    columns = {"subject": "Pengajuan dikembalikan", **columns}
    with db.transaction() as s:
        message = EmailMessage(to_address=to, text="t", html="<p>t</p>", **columns)
        s.add(message)
        s.flush()
        return message.id


def test_a_message_the_server_rejects_for_good_after_reading_it_is_given_up_not_retried(db, smtp):
    """A 550 to the message itself (a spam filter, a policy) is as final as an unknown mailbox."""
    box, settings = smtp

    async def rejecting(server, session, envelope):  # noqa: ANN001
        return "550 5.7.1 pesan ditolak oleh kebijakan"

    box.handle_DATA = rejecting
    _queued(db)
    outcome = mail._deliver(db, settings)
    with db.read() as s:
        message = s.scalar(select(EmailMessage))
    assert (outcome.refused, outcome.failed) == (1, 0)
    assert message.attempts == mail.MAX_ATTEMPTS and "550" in message.last_error and message.sent_at is None


def test_a_bundle_to_a_refused_mailbox_counts_every_message_it_carried(db, people, smtp):
    """The job's run says how many messages were refused, not how many e-mails."""
    box, settings = smtp

    async def refusing(server, session, envelope, address, options):  # noqa: ANN001
        return "550 5.1.1 mailbox unavailable"

    box.handle_RCPT = refusing
    with db.transaction() as s:
        me = _user(s, "op.desa")
        me.email = "hilang@desa.id"
        me_id = me.id
    for _ in range(3):
        _queued(db, "hilang@desa.id", user_id=me_id, isi="Perbaiki alamat", tautan="/desa/")
    outcome = mail._deliver(db, settings)
    assert (outcome.sent, outcome.refused, outcome.failed) == (0, 3, 0)
    with db.read() as s:
        assert {m.attempts for m in s.scalars(select(EmailMessage))} == {mail.MAX_ATTEMPTS}


@pytest.fixture
def ascii_only_smtp():
    """A mail server that does not take addresses beyond ASCII (no SMTPUTF8), as many relays are."""
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    yield box, SmtpSettings("127.0.0.1", port, "none", "", "", "sijosku@dinsos.kaltaraprov.go.id")
    controller.stop()


def test_an_address_beyond_ascii_holds_back_no_one_elses_mail(db, people, ascii_only_smtp):
    box, settings = ascii_only_smtp
    assert administration._email_problems("budi.sänger@desa.id") == []  # the people page accepts it
    beyond = _queued(db, "budi.sänger@desa.id")
    other = _queued(db, "op@desa.id")
    mail.deliver_pending(db, settings)
    with db.read() as s:
        assert s.get(EmailMessage, other).sent_at is not None
        given_up = s.get(EmailMessage, beyond)  # not tried again all day: the administrator reads why
        assert given_up.attempts == mail.MAX_ATTEMPTS and "SMTPUTF8" in given_up.last_error
    assert [m["To"] for m in box.messages] == ["op@desa.id"]


def test_two_messages_due_at_once_go_as_one_email_and_each_once(db, people, smtp):
    box, settings = smtp
    with db.transaction() as s:
        me = _user(s, "op.desa")
        me.email = "op@desa.id"
        me_id = me.id
    _queued(db, user_id=me_id, isi="Perbaiki alamat", tautan="/desa/pengajuan/1")
    _queued(db, user_id=me_id, isi="Perbaiki umur", tautan="/desa/pengajuan/2")
    assert mail.deliver_pending(db, settings) == 2
    assert [m["Subject"] for m in box.messages] == ["SIJOSKU: 2 pemberitahuan baru"]
    assert mail.deliver_pending(db, settings) == 0


def test_a_digest_due_with_an_immediate_message_goes_whole_on_its_own(db, people, smtp):
    """The digest is never folded into the bundle of immediate messages (it has no short text)."""
    box, settings = smtp
    with db.transaction() as s:
        me = _user(s, "op.desa")
        me.email = "op@desa.id"
        me_id = me.id
    _queued(db, user_id=me_id, isi="Perbaiki alamat", tautan="/desa/pengajuan/1")
    _queued(db, user_id=me_id, subject="Ringkasan harian SIJOSKU: 4 pemberitahuan", kind=EmailKind.RINGKASAN)
    assert mail.deliver_pending(db, settings) == 2
    assert sorted(m["Subject"] for m in box.messages) == [
        "Pengajuan dikembalikan",
        "Ringkasan harian SIJOSKU: 4 pemberitahuan",
    ]


def test_a_first_digest_holds_the_last_day_not_the_last_week(db, people):
    """A person whose address was just added gets yesterday's news, not the days before it."""
    with db.transaction() as s:
        me = _user(s, "verif.kec")
        me.email = "kec@desa.id"
        for days in (3, 0):
            at = clock.now() - timedelta(days=days, minutes=30)
            s.add(
                Notification(
                    user_id=me.id, event_type="task.created", judul=f"{days} hari lalu", isi="-", created_at=at
                )
            )
    assert mail.queue_digests(db) == 1
    with db.read() as s:
        digest = s.scalar(select(EmailMessage).where(EmailMessage.kind == EmailKind.RINGKASAN))
    assert "1 pemberitahuan" in digest.subject and "0 hari lalu" in digest.text and "3 hari lalu" not in digest.text


# --- signing in ------------------------------------------------------------------------------------


def _failures(db, at, *pairs: tuple[str, str]) -> None:
    with db.transaction() as s:
        s.add_all(LoginAttempt(username=username, address=address, at=at) for username, address in pairs)


def _sign_in(db, username: str, password: str, address: str) -> User | None:
    with db.transaction() as s:
        return sign_in.authenticate(s, username, password, address)


def test_a_username_guessed_from_many_addresses_waits_after_ten_failures(db, people):
    start = clock.now()
    _failures(db, start, *[("verif.kab", f"10.0.0.{n}") for n in range(9)])
    with clock.frozen_at(start):
        assert _sign_in(db, "verif.kab", "bukan-sandinya", "10.0.1.1") is None  # the tenth: checked
        with pytest.raises(sign_in.Throttled):
            _sign_in(db, "verif.kab", PASSWORD, "10.0.2.2")


def test_one_address_guessing_many_usernames_waits_after_twenty_failures(db, people):
    start = clock.now()
    _failures(db, start, *[(f"nama.tebakan{n}", "10.8.8.8") for n in range(19)])
    with clock.frozen_at(start):
        assert _sign_in(db, "verif.kab", "bukan-sandinya", "10.8.8.8") is None  # the twentieth: checked
        with pytest.raises(sign_in.Throttled):
            _sign_in(db, "verif.kec", PASSWORD, "10.8.8.8")


def test_the_longest_wait_is_five_minutes_however_many_the_failures(db, people):
    start = clock.now()
    _failures(db, start, *[("verif.kab", "10.9.9.9")] * 40)
    with clock.frozen_at(start + timedelta(minutes=5) - timedelta(seconds=1)):
        with pytest.raises(sign_in.Throttled, match="1 detik"):
            _sign_in(db, "verif.kab", PASSWORD, "10.9.9.9")
    with clock.frozen_at(start + timedelta(minutes=5)):
        assert _sign_in(db, "verif.kab", PASSWORD, "10.9.9.9") is not None


def test_failures_older_than_fifteen_minutes_no_longer_count(db, people):
    start = clock.now()
    _failures(db, start - timedelta(minutes=20), *[("verif.kab", "10.9.9.9")] * 4)
    _failures(db, start, ("verif.kab", "10.9.9.9"))
    with clock.frozen_at(start):
        assert _sign_in(db, "verif.kab", PASSWORD, "10.9.9.9") is not None


def test_a_message_is_given_up_after_its_thirtieth_attempt_as_the_metrics_count_it(db):
    """About a day of retries (2, 4, 8, 16, 32 minutes, then hourly), then the admins see it given up."""
    given_up = _queued(db, attempts=29)
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    mail.deliver_pending(db, down)
    mail.deliver_pending(db, down, now=clock.now() + timedelta(days=2))
    with db.read() as s:
        assert s.get(EmailMessage, given_up).attempts == 30
        figures = gauges.read(s)
    assert (figures.email_given_up, figures.email_failing) == (1, 0)


def test_one_run_sends_a_whole_regencys_opening_notices(db, smtp):
    """A cycle opening queues a message for each operator; one run sends two hundred of them."""
    box, settings = smtp
    for n in range(200):
        _queued(db, f"operator{n}@desa.id", subject="Siklus pemutakhiran 2026-Q4 dibuka")
    assert mail.deliver_pending(db, settings) == 200 and len(box.messages) == 200


async def refusing_the_lost(server, session, envelope, address, options):  # noqa: ANN001
    """A mail server that refuses for good every mailbox `hilang@…` and takes the others."""
    if address.startswith("hilang@"):
        return "550 5.1.1 mailbox unavailable"
    envelope.rcpt_tos.append(address)
    return "250 OK"


def test_a_run_with_failures_and_a_refused_mailbox_but_nothing_sent_fails(db, smtp, monkeypatch):
    """A mailbox refused for good says nothing of the server; the other messages failing still do."""
    box, settings = smtp

    async def busy(server, session, envelope):  # noqa: ANN001
        return "451 4.3.0 coba lagi nanti"

    box.handle_RCPT, box.handle_DATA = refusing_the_lost, busy
    _queued(db, "hilang@desa.id")
    _queued(db, "op@desa.id")
    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, smtp=settings))
    with pytest.raises(Unavailable):
        mail.send_email(db, clock.now())


def test_resending_with_none_ticked_resends_nothing(db):
    """An empty list of messages to resend is none of them, never all (the command line asks for
    `--all` to queue every failed message again)."""
    given_up = _queued(db, attempts=mail.MAX_ATTEMPTS, last_error="550 mailbox unavailable")
    assert mail.resend(db, []) == 0
    with db.read() as s:
        assert s.get(EmailMessage, given_up).attempts == mail.MAX_ATTEMPTS
    assert mail.resend(db, [given_up]) == 1


def test_a_username_typed_in_capitals_or_with_spaces_is_the_same_account_and_the_same_back_off(db, people):
    start = clock.now()
    with clock.frozen_at(start):
        for typed in ["VERIF.KAB", " Verif.Kab", "verif.KAB ", "Verif.kab", "VERIF.kab"]:
            assert _sign_in(db, typed, "bukan-sandinya", "10.9.9.9") is None
        with pytest.raises(sign_in.Throttled):
            _sign_in(db, "verif.kab", PASSWORD, "10.9.9.9")
    with clock.frozen_at(start + timedelta(seconds=1)):
        signed = _sign_in(db, "  VERIF.Kab ", PASSWORD, "10.9.9.9")
    assert signed is not None and signed.username == "verif.kab"


def test_a_person_forced_to_change_the_password_is_asked_no_more_once_changed(db, people):
    """A first password handed over by an administrator is changed once, then the person works."""
    with db.transaction() as s:
        _user(s, "verif.kab").ganti_sandi = True
    with db.read() as s:
        me = Actor.of(_user(s, "verif.kab"))
    with db.transaction() as s:
        assert sign_in.change_password(s, me, PASSWORD, "sandi-baru-4567", "sandi-baru-4567", "10.1.1.1")
    with db.read() as s:
        assert _user(s, "verif.kab").ganti_sandi is False


def test_an_administrator_unlocks_a_username_however_it_is_typed(db, people, province_admin):
    """Failures are kept under the name as signing in reads it: small letters, no spaces around."""
    _failures(db, clock.now(), *[("verif.kab", "10.9.9.9")] * 3)
    with db.transaction() as s:
        assert sign_in.unlock(s, province_admin, " Verif.KAB ") == 3
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_a_new_password_set_from_the_command_line_ends_the_persons_open_sessions(db, people):
    with db.read() as s:
        before = _user(s, "verif.kab").session_version or 0
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kab", "verifier", "65.01", password="sandi-baru-4567", chosen_for_them=True)
    with db.read() as s:
        me = _user(s, "verif.kab")
        assert (me.session_version or 0) > before and me.ganti_sandi is True
        assert users.check_password(me, "sandi-baru-4567")


def test_an_administrator_cannot_give_themselves_a_role(db, regency_admin):
    """An admin who could make themselves an auditor or a verifier would read every whole NIK."""
    with pytest.raises(Forbidden), db.transaction() as s:
        administration.assign_role(s, regency_admin, regency_admin.user_id, "auditor", "65.01")
    with db.read() as s:
        assert [a.role.value for a in users.find_user(s, "admin.kab").roles] == ["admin"]


# --- wording ---------------------------------------------------------------------------------------


def test_a_deadline_at_midnight_is_the_end_of_the_day_before(db):
    """As Indonesian notices say it: "30 April 2027 pukul 24.00 WITA", not "1 Mei ... 00.00"."""
    assert moment("2027-04-30T16:00:00+00:00", db.settings, deadline=True) == "30 April 2027 pukul 24.00 WITA"


def test_a_bundle_lists_fifty_messages_and_counts_the_rest(db):
    items = [{"judul": f"Tugas nomor {n:02d}", "isi": "-", "tautan": None} for n in range(60)]
    subject, text, html = render_bundle(User(username="verif.kab", nama="Verifikator"), items, db.settings)
    assert subject == "SIJOSKU: 60 pemberitahuan baru"
    assert "Tugas nomor 49" in text and "Tugas nomor 50" not in text and "Tugas nomor 50" not in html
    assert "dan 10 pemberitahuan lain" in text


def test_a_task_above_the_desa_links_to_the_task_and_its_subject_names_the_desa(db):
    """A kecamatan's new task about a submission opens the task page, not the desa's own page."""
    from engine.core import events
    from notifications.templates import render

    event = events.TaskCreated(
        task_id=9,
        nama="Verifikasi kecamatan",
        tingkat="kecamatan",
        region_kode="65.01.01",
        kode_desa="65.01.01.2005",
        periode="2026-Q4",
        submission_id=5,
    )
    said = render(event, User(username="verif.kec", nama="Verifikator"), db.settings, place="Gunung Putih")
    assert said.link == "/tugas/9" and "Gunung Putih" in said.subject


def test_the_scheduler_sends_mail_every_minute_and_the_digest_once_a_day(db):
    """Without these two jobs every e-mail would wait in its queue, and no one would be told why."""
    from engine.bootstrap import bootstrap
    from notifications.plugin import plugin

    jobs = bootstrap(db, plugin(db.settings)).registry.jobs  # as the app and the command line compose it
    assert (jobs["surel"].every, jobs["ringkasan_harian"].every) == ("minute", "day")
