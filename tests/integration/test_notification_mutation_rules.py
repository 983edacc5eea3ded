# ruff: noqa: F811 - the fixture imported from test_notifications is a parameter of the tests
"""What a notification says, where it leads, who is told and how it is sent: each notice's subject
and text in its own words, a deadline at midnight said as the end of the day before, a desa named
with its own code, links people can open, bundles and digests that count and list every message; a
desa's step brought back by a return left to the return's notice however late that goes out; what a
person gets without choosing, and a choice changed again; a bell of the hundred newest; a mail server
that is signed in to, whose refusal for now is retried and for good given up; mail that waits
without a server, goes oldest first, is dropped for people who left, and runs that say what they
did; digests that hold the last day and each notification once."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.core import clock, events
from engine.core.config import SmtpSettings
from engine.verification import cycles, status
from models import Channel, Decision, EmailMessage, HumanTask, Notification, OutboxEvent, Submission, Tier, User
from notifications import delivery, inapp
from notifications import email as mail
from notifications.plugin import plugin
from notifications.templates import Message, moment, render, render_bundle, render_digest
from tests.factories import DESA, PERIOD, SYSTEM, make_team, open_with_items, submit
from tests.integration.test_notifications import Inbox, _free_port, _returned, smtp, subscribed  # noqa: F401 - fixtures
from tests.integration.test_notify_and_account_rules import refusing_the_lost
from tests.integration.test_recipient_rules import _task_after, _told

# 1 Mei 2027 00.00 WITA: a deadline that ends on 30 April.
MIDNIGHT = "2027-04-30T16:00:00+00:00"
ENDS_30_APRIL = "30 April 2027 pukul 24.00 WITA"


def _said(db, event: events.DomainEvent, place: str = "Gunung Putih", other_tier: bool = False) -> Message:
    return render(event, User(username="op.desa", nama="Ayu"), db.settings, place, other_tier=other_tier)


# --- what each notice says -------------------------------------------------------------------------


def test_a_task_notice_names_the_desa_by_its_own_code_and_the_deadline_as_the_day_ends(db):
    task = {
        "task_id": 9,
        "nama": "Verifikasi kecamatan",
        "tingkat": "kecamatan",
        "region_kode": "65.01.01",
        "kode_desa": DESA,
        "periode": PERIOD,
        "due_at": MIDNIGHT,
    }
    created = _said(db, events.TaskCreated(**task, submission_id=5))
    due = _said(db, events.TaskDueSoon(**task))
    late = _said(db, events.TaskOverdue(**task, eskalasi_ke="kabupaten"))
    assert created.subject == f"Tugas baru: Verifikasi kecamatan, Gunung Putih ({DESA}), periode {PERIOD}"
    assert due.subject == f"Segera jatuh tempo: Verifikasi kecamatan, Gunung Putih ({DESA}), periode {PERIOD}"
    assert late.subject == f"Melewati tenggat: Verifikasi kecamatan, Gunung Putih ({DESA}), periode {PERIOD}"
    assert f"Tenggat: {ENDS_30_APRIL}." in created.text_body
    assert f"jatuh tempo {ENDS_30_APRIL}." in due.text_body
    assert f"melewati tenggat ({ENDS_30_APRIL}) dan dieskalasi ke tingkat kabupaten." in late.text_body
    above = _said(db, events.TaskOverdue(**task, eskalasi_ke="kabupaten"), other_tier=True)
    assert f"melewati tenggat ({ENDS_30_APRIL}) di tingkat kecamatan dan dieskalasi ke tingkat kabupaten:" in (
        above.text_body
    )


def test_a_late_task_with_no_tier_above_is_not_said_to_be_escalated(db):
    top = events.TaskOverdue(
        task_id=2, nama="Validasi", tingkat="provinsi", region_kode="65", eskalasi_ke="provinsi", due_at=MIDNIGHT
    )
    said = _said(db, top, place="Kalimantan Utara")
    assert said.text_body.endswith(f"melewati tenggat ({ENDS_30_APRIL}).") and "dieskalasi" not in said.text_body


def test_a_desa_steps_reminder_and_late_notice_lead_its_operator_to_a_page_the_operator_can_open(db):
    """A diagram may give the desa's step a deadline of its own: its reminder and its late notice go
    to the desa's operators, who have no task inbox, and lead to their submission."""
    make_team(db)
    sid = open_with_items(db)
    with db.transaction() as s:
        step = HumanTask(
            instance_id=s.get(Submission, sid).instance_id,
            spiff_task_id=str(uuid.uuid4()),
            bpmn_id="siapkan",
            nama="Siapkan data desa",
            tingkat=Tier.DESA,
            region_kode=DESA,
            kode_desa=DESA,
            periode=PERIOD,
            business_key=f"pengajuan:{sid}",
            submission_id=sid,
            due_at=clock.now() + timedelta(hours=5),
        )
        s.add(step)
        s.flush()
        cycles.remind_due_tasks(s, clock.now(), timedelta(days=1))
        status.mark_overdue(s, SYSTEM, step)
    with db.read() as s:
        kinds = ("task.due_soon", "task.overdue")
        sent = [events.CATALOGUE[r.event_type](**r.payload) for r in s.scalars(select(OutboxEvent))]
    links = {e.name: _said(db, e).link for e in sent if e.name in kinds and e.nama == "Siapkan data desa"}
    assert links == dict.fromkeys(kinds, f"/desa/pengajuan/{sid}")
    without = events.TaskDueSoon(task_id=7, nama="Siapkan data desa", tingkat="desa", region_kode=DESA)
    assert _said(db, without).link == "/desa/"


def test_an_instant_at_midnight_that_is_no_deadline_is_said_as_the_start_of_its_day(db):
    assert moment(MIDNIGHT, db.settings) == "1 Mei 2027 pukul 00.00 WITA"
    assert moment(MIDNIGHT, db.settings, deadline=True) == ENDS_30_APRIL


def test_cycle_notices_lead_to_the_desa_page_and_say_the_period_deadline_and_outcome(db):
    opened = _said(db, events.CycleOpened(periode="2027-Q2", region_kode="65.01.01", batas=MIDNIGHT), "Tanjung Palas")
    closing = _said(db, events.CycleClosingSoon(periode="2027-Q2", batas=MIDNIGHT), "")
    closed = _said(db, events.CycleClosed(periode="2027-Q2", tidak_melapor=7, region_kode="65.01.01"), "Tanjung Palas")
    assert [m.link for m in (opened, closing, closed)] == ["/desa/"] * 3
    page = f"{db.settings.base_url}/desa/"
    assert all(f"Buka: {page}" in m.text and f'href="{page}"' in m.html for m in (opened, closing, closed))
    assert opened.subject == "Siklus pemutakhiran 2027-Q2 dibuka"
    assert f"ajukan data desa paling lambat {ENDS_30_APRIL}." in opened.text_body
    assert closing.subject == "Batas pengajuan siklus 2027-Q2 segera tiba"
    assert f"batasnya {ENDS_30_APRIL}." in closing.text_body
    assert closed.subject == "Siklus pemutakhiran 2027-Q2 ditutup"
    assert closed.text_body == "Siklus pemutakhiran 2027-Q2 ditutup; 7 desa tidak melapor."


def test_a_verified_or_returned_submission_is_said_so_and_leads_to_the_desas_submission(db):
    verified = _said(db, events.SubmissionVerified(submission_id=5, kode_desa=DESA, periode=PERIOD))
    returned = _said(
        db, events.SubmissionReturned(submission_id=5, kode_desa=DESA, periode=PERIOD, tingkat="kecamatan")
    )
    assert verified.subject == f"Pengajuan Gunung Putih ({DESA}) periode {PERIOD} terverifikasi"
    assert returned.subject == f"Pengajuan Gunung Putih ({DESA}) periode {PERIOD} dikembalikan oleh kecamatan"
    assert verified.link == returned.link == "/desa/pengajuan/5"


def test_an_update_leads_its_desa_to_the_submission_and_the_tier_judging_it_to_its_task(db):
    update = events.SubmissionBroughtUpToDate(
        submission_id=5,
        kode_desa=DESA,
        periode=PERIOD,
        oleh_periode="2026-Q3",
        disisihkan=2,
        diperbarui=3,
        tingkat="kecamatan",
        task_id=9,
    )
    desa, judging = _said(db, update), _said(db, update, other_tier=True)
    assert (desa.link, judging.link) == ("/desa/pengajuan/5", "/tugas/9")
    assert "yang Anda periksa" in judging.text_body and "yang Anda periksa" not in desa.text_body
    assert " 2 data orang yang sudah dikeluarkan" in desa.text_body and " 3 data diperbarui" in desa.text_body


def test_an_email_greets_the_person_by_name_and_carries_its_link_in_both_parts(db):
    said = _said(db, events.SubmissionVerified(submission_id=5, kode_desa=DESA, periode=PERIOD))
    link = f"{db.settings.base_url}/desa/pengajuan/5"
    assert said.text.startswith("Yth. Ayu,") and "Yth. Ayu," in said.html
    assert f"Buka: {link}" in said.text and f'<a href="{link}">' in said.html


# --- bundles and digests ---------------------------------------------------------------------------


def _items(n: int) -> list[dict]:
    return [{"judul": f"Tugas nomor {k:02d}", "isi": f"isi {k:02d}", "tautan": f"/tugas/{k}"} for k in range(n)]


def test_a_bundle_of_a_few_messages_counts_them_and_lists_each_with_its_link(db):
    items = [*_items(1), {"judul": "Tanpa tautan", "isi": "-", "tautan": None}]
    subject, text, html = render_bundle(User(username="verif.kab", nama="Verifikator"), items, db.settings)
    assert subject == "SIJOSKU: 2 pemberitahuan baru"
    assert "2 pemberitahuan SIJOSKU, dikirim" in text and "2 pemberitahuan SIJOSKU, dikirim" in html
    assert "pemberitahuan lain" not in text and "pemberitahuan lain" not in html
    link = f"{db.settings.base_url}/tugas/0"
    assert "isi 00" in text and f"Buka: {link}" in text and html.count("<a href") == 1 and f'href="{link}"' in html


def test_a_bundle_of_sixty_says_sixty_and_leads_to_the_bell_for_the_rest(db):
    subject, text, html = render_bundle(User(username="verif.kab", nama="Verifikator"), _items(60), db.settings)
    assert "60 pemberitahuan SIJOSKU, dikirim" in text and "60 pemberitahuan SIJOSKU, dikirim" in html
    inbox = f"{db.settings.base_url}/notifikasi/"
    assert f"dan 10 pemberitahuan lain: {inbox}" in text and f'dan 10 pemberitahuan lain: <a href="{inbox}">' in html


def test_a_digest_counts_every_message_and_lists_each_with_its_time_and_link(db):
    items = [{**item, "waktu": MIDNIGHT} for item in _items(60)]
    subject, text, html = render_digest(User(username="verif.kab", nama="Verifikator"), items, db.settings)
    assert subject == "Ringkasan harian SIJOSKU: 60 pemberitahuan"
    assert "1 Mei 2027 pukul 00.00 WITA: Tugas nomor 00" in text
    assert "1 Mei 2027 pukul 00.00 WITA: <strong>Tugas nomor 00</strong>" in html
    link = f"{db.settings.base_url}/tugas/49"
    assert f"Buka: {link}" in text and f'href="{link}"' in html and "Tugas nomor 50" not in text + html
    inbox = f"{db.settings.base_url}/notifikasi/"
    assert f"dan 10 pemberitahuan lain: {inbox}" in text and f'dan 10 pemberitahuan lain: <a href="{inbox}">' in html


# --- who is told -----------------------------------------------------------------------------------


def test_a_desa_step_a_return_brought_back_is_left_to_the_return_even_when_worked_before_its_notice(db):
    """The operator resubmitted before the new task's notice went out: that step's own decision is no
    reason to tell of it again."""
    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    _task_after(db, sid, Tier.KECAMATAN, decided=True, keputusan=Decision.KEMBALIKAN)
    worked = _task_after(db, sid, Tier.DESA, decided=True, keputusan=Decision.AJUKAN)
    assert _told(db, worked) == set()


def test_by_default_openings_reminders_returns_and_late_tasks_are_mailed_at_once_the_rest_go_in_the_digest(db, people):
    """What a person who never chose gets of each event: the bell always; an e-mail at once, or the
    daily digest."""
    with db.read() as s:
        chosen = delivery.preferences(s, s.scalar(select(User).where(User.username == "verif.kec")))
    at_once = {"task.overdue", "submission.returned", "cycle.opened", "cycle.closing_soon"}
    kept_for_the_digest = {
        "task.created",
        "task.due_soon",
        "submission.verified",
        "submission.brought_up_to_date",
        "cycle.closed",
    }
    assert set(chosen) == at_once | kept_for_the_digest
    for event, channels in chosen.items():
        mailed = event in at_once
        assert channels == {"app": True, "email": mailed, "ringkasan": not mailed}, event


def test_a_choice_changed_again_is_the_one_kept(db, people):
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == "verif.kec"))
        delivery.set_preferences(s, me, {("task.created", "email"): True, ("cycle.closed", "app"): False})
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == "verif.kec"))
        delivery.set_preferences(s, me, {("task.created", "email"): False, ("cycle.closed", "app"): True})
    with db.read() as s:
        me = s.scalar(select(User).where(User.username == "verif.kec"))
        assert delivery.wants(s, me, "task.created", Channel.EMAIL) is False
        assert delivery.wants(s, me, "cycle.closed", Channel.APP) is True


def test_the_notice_and_the_email_of_a_return_name_the_desa_not_only_its_code(subscribed):
    _returned(subscribed, "Perbaiki alamat")
    with subscribed.read() as s:
        notice = s.scalar(select(Notification.judul).where(Notification.event_type == "submission.returned"))
        mailed = s.scalar(select(EmailMessage.subject))
    assert notice == mailed == f"Pengajuan Gunung Putih ({DESA}) periode {PERIOD} dikembalikan oleh kecamatan"


def test_the_app_listens_to_every_event_people_are_told_of(db):
    registry = bootstrap(db, plugin(db.settings)).registry
    told_of = [
        "task.created",
        "task.due_soon",
        "task.overdue",
        "submission.returned",
        "submission.verified",
        "submission.brought_up_to_date",
        "cycle.opened",
        "cycle.closing_soon",
        "cycle.closed",
    ]
    assert [name for name in told_of if not registry.has_subscribers(name)] == []


def test_the_bell_lists_the_hundred_newest_unless_asked_for_fewer(db, people):
    with db.transaction() as s:
        me = s.scalar(select(User.id).where(User.username == "verif.kec"))
        s.add_all(Notification(user_id=me, event_type="task.created", judul=f"n{k}", isi="-") for k in range(103))
    with db.read() as s:
        listed = [n.judul for n in inapp.latest(s, me)]
        assert [n.judul for n in inapp.latest(s, me, limit=3)] == ["n102", "n101", "n100"]
    assert len(listed) == 100 and listed[0] == "n102" and listed[-1] == "n3"


# --- sending ---------------------------------------------------------------------------------------


def _queued(db, to: str = "op@desa.id", **columns) -> int:
    columns = {"subject": "Pengajuan dikembalikan", "text": "t", "html": "<p>t</p>", **columns}
    with db.transaction() as s:
        message = EmailMessage(to_address=to, **columns)
        s.add(message)
        s.flush()
        return message.id


def _message(db, message_id: int) -> EmailMessage:
    with db.read() as s:
        return s.get(EmailMessage, message_id)


@pytest.mark.parametrize(
    ("step", "reply", "given_up"),
    [
        ("rcpt", "450 4.2.0 greylisted, coba lagi", False),
        ("rcpt", "500 5.5.2 alamat tidak dikenal", True),
        ("data", "500 5.6.0 pesan ditolak", True),
    ],
)
def test_a_refusal_for_now_is_retried_and_one_for_good_is_given_up(db, smtp, step, reply, given_up):
    box, settings = smtp

    async def refuse(*args):  # noqa: ANN002
        return reply

    setattr(box, {"rcpt": "handle_RCPT", "data": "handle_DATA"}[step], refuse)
    message_id = _queued(db)
    outcome = mail._deliver(db, settings)
    message = _message(db, message_id)
    assert message.sent_at is None and reply[:3] in message.last_error
    assert (outcome.refused, outcome.failed) == ((1, 0) if given_up else (0, 1))
    assert message.attempts == (mail.MAX_ATTEMPTS if given_up else 1)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server is local
def test_a_mail_server_that_asks_to_sign_in_is_signed_in_to(db):
    signed_in = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        signed_in.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    box, port = Inbox(), _free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    controller.start()
    try:
        _queued(db)
        settings = SmtpSettings("127.0.0.1", port, "none", "sijosku", "rahasia", "sijosku@dinsos.kaltaraprov.go.id")
        assert mail.deliver_pending(db, settings) == 1
    finally:
        controller.stop()
    assert signed_in == [(b"sijosku", b"rahasia")] and len(box.messages) == 1


def test_without_a_mail_server_mail_waits_untouched(db):
    message_id = _queued(db)
    assert mail.deliver_pending(db, SmtpSettings("", 25, "none", "", "", "x@y")) == 0
    message = _message(db, message_id)
    assert (message.attempts, message.last_error, message.sent_at) == (0, None, None)


def test_a_message_due_this_very_moment_is_sent(db, smtp):
    box, settings = smtp
    now = clock.now()
    _queued(db, next_attempt_at=now)
    assert mail.deliver_pending(db, settings, now=now) == 1


def test_the_oldest_message_goes_first_when_a_run_cannot_take_them_all(db, smtp, monkeypatch):
    box, settings = smtp
    monkeypatch.setattr(mail, "BATCH", 1)
    _queued(db, "lama@desa.id")
    _queued(db, "baru@desa.id")
    assert mail.deliver_pending(db, settings) == 1
    assert [m["To"] for m in box.messages] == ["lama@desa.id"]


def test_mail_to_someone_who_left_or_has_no_address_any_more_is_dropped_once_and_counted(db, people, smtp):
    box, settings = smtp
    with db.transaction() as s:
        left, bare = (s.scalar(select(User).where(User.username == u)) for u in ("op.desa", "verif.kec"))
        left.aktif, bare.email = False, None
        left_id, bare_id = left.id, bare.id
    ids = [_queued(db, "pergi@desa.id", user_id=left_id), _queued(db, "kec@desa.id", user_id=bare_id)]
    outcome = mail._deliver(db, settings)
    assert (outcome.sent, outcome.refused, outcome.failed) == (0, 2, 0) and not box.messages
    errors = [_message(db, i).last_error for i in ids]
    assert errors == ["Tidak dikirim: akun sudah dinonaktifkan", "Tidak dikirim: akun tidak punya alamat surel lagi"]
    assert {_message(db, i).attempts for i in ids} == {mail.MAX_ATTEMPTS}


def test_a_message_queued_without_a_short_text_goes_whole_on_its_own(db, people, smtp):
    box, settings = smtp
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == "op.desa"))
        me.email, me_id = "op@desa.id", me.id
    _queued(db, user_id=me_id, isi="Perbaiki alamat", tautan="/desa/pengajuan/1")
    _queued(db, user_id=me_id, subject="Tugas baru: pesan lama", text="isi lama lengkap")
    _queued(db, user_id=me_id, isi="Perbaiki umur", tautan="/desa/pengajuan/2")
    assert mail.deliver_pending(db, settings) == 3
    subjects = sorted(m["Subject"] for m in box.messages)
    assert subjects == ["SIJOSKU: 2 pemberitahuan baru", "Tugas baru: pesan lama"]
    assert all("None" not in str(m) for m in box.messages)


def test_a_resend_leaves_mail_that_never_failed_alone(db):
    claimed = _queued(db, attempts=1, next_attempt_at=clock.now() + mail.CLAIM)  # being sent by a run
    failed = _queued(db, attempts=mail.MAX_ATTEMPTS, last_error="550 mailbox unavailable")
    assert mail.resend(db) == 1
    assert _message(db, claimed).attempts == 1 and _message(db, failed).attempts == 0


def test_the_run_counts_each_message_that_failed_not_each_email(db, people, smtp):
    box, settings = smtp
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == "op.desa"))
        me.email, me_id = "op@desa.id", me.id
    for reason in ("alamat", "umur"):  # one e-mail for both
        _queued(db, user_id=me_id, isi=f"Perbaiki {reason}", tautan="/desa/")
    _queued(db, "kec@desa.id")
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    assert mail._deliver(db, down).failed == 3  # the server is away

    async def busy(server, session, envelope):  # noqa: ANN001
        return "451 4.3.0 coba lagi nanti"

    box.handle_DATA = busy  # the first e-mail fails, and the run leaves those behind it for later
    assert mail._deliver(db, settings, now=clock.now() + timedelta(hours=1)).failed == 3


def test_a_run_that_sent_some_succeeds_and_says_what_failed_and_what_was_refused(db, smtp, monkeypatch):
    box, settings = smtp

    async def data(server, session, envelope):  # noqa: ANN001
        if envelope.rcpt_tos == ["sibuk@desa.id"]:
            return "451 4.3.0 coba lagi nanti"
        return await Inbox.handle_DATA(box, server, session, envelope)

    box.handle_RCPT, box.handle_DATA = refusing_the_lost, data
    for to in ("op@desa.id", "hilang@desa.id", "sibuk@desa.id"):  # the failure last: it stops the run
        _queued(db, to)
    monkeypatch.setattr(db, "settings", dataclasses.replace(db.settings, smtp=settings))
    said = mail.send_email(db, clock.now())
    assert said == "0 peristiwa, 1 surel terkirim, 1 gagal (dicoba lagi nanti), 1 ditolak atau tidak dikirim"


# --- digests ---------------------------------------------------------------------------------------


def _noted(db, username: str, title: str, at) -> None:  # noqa: ANN001
    with db.transaction() as s:
        me = s.scalar(select(User).where(User.username == username))
        me.email = f"{username}@contoh.id"
        s.add(Notification(user_id=me.id, event_type="task.created", judul=title, isi="-", created_at=at))


def test_a_first_digest_leaves_out_what_is_older_than_a_day(db, people):
    digest_at = clock.now()
    _noted(db, "verif.kec", "kemarin dulu", digest_at - timedelta(hours=36))
    _noted(db, "verif.kec", "kemarin", digest_at - timedelta(hours=20))
    assert mail.daily_digest(db, digest_at) == "1 ringkasan disiapkan"
    with db.read() as s:
        digest = s.scalar(select(EmailMessage))
    assert "1 pemberitahuan" in digest.subject and "kemarin dulu" not in digest.text


def test_a_notification_made_just_as_far_back_as_the_lag_is_in_one_digest_only(db, people):
    digest_at = clock.now()
    _noted(db, "verif.kec", "tepat", digest_at - mail.DIGEST_LAG)
    assert mail.queue_digests(db, now=digest_at) == 1
    assert mail.queue_digests(db, now=digest_at + timedelta(days=1)) == 0
