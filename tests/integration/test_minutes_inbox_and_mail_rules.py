# ruff: noqa: F811 - the fixture imported from test_notifications is a parameter of the tests
"""Rules of the minutes (berita acara), the task inbox, late tasks, the bell and the e-mail outbox
that people rely on and that no other test pins down: minutes only while the kecamatan has not
decided, within their size, on the audit trail; an inbox narrowed and counted as asked; a late
task listed for its region only; a bell that marks only what was asked; mail neither lost, sent
twice, nor sent to someone who left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from engine.core import clock
from engine.core.config import SmtpSettings
from engine.core.errors import Conflict, Invalid, NotFound
from engine.people import administration
from engine.quality.twice import Twice
from engine.verification import (
    imports,
    inbox,
    late_tasks,
    minutes,
    reconciliation,
    reconciliation_tasks,
    stale_imports,
)
from models import (
    AuditEvent,
    Channel,
    CycleRhythm,
    EmailKind,
    EmailMessage,
    FlagStatus,
    HumanTask,
    ImportJob,
    ImportStatus,
    JobRun,
    JobStatus,
    Notification,
    QualityFlag,
    Severity,
    Submission,
    User,
)
from notifications import delivery, inapp
from notifications import email as mail
from tests.factories import (
    PERIOD,
    RECONCILIATION_YEAR,
    SYSTEM,
    actor,
    decide,
    open_period,
    open_task,
    open_with_items,
    person_row,
    reconciliation_year,
    submit,
)
from tests.integration.reconciliation_steps import open_tasks
from tests.integration.test_notifications import _free_port, smtp  # noqa: F401 - the fixture

PDF = b"%PDF-1.4\n% berita acara musdes\n%%EOF\n"


def _attach(db, sid, name="ba.pdf", content=PDF, who="op.desa"):
    with db.transaction() as s:
        return minutes.attach_minutes(s, actor(db, who), sid, name, content, db.settings.upload_dir)


def _pdf_of(size: int) -> bytes:
    head, tail = b"%PDF-1.4\n", b"\n%%EOF\n"
    return head + b"0" * (size - len(head) - len(tail)) + tail


def test_minutes_go_on_the_trail_and_stop_once_the_kecamatan_has_decided(db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    first = _attach(db, sid)  # submitted, the kecamatan not yet decided: still attachable
    signed = _attach(db, sid, "ba-ttd.pdf", PDF + b"% signed\n%%EOF\n")  # replaced: the trail keeps the first
    with db.read() as s:
        trail = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "MINUTES_ATTACHED").order_by(AuditEvent.seq)
        ).all()
    assert [(e.subject_id, e.before, e.after["berkas"], e.after["nama_asli"]) for e in trail] == [
        (str(sid), {"berkas": None}, first, "ba.pdf"),
        (str(sid), {"berkas": first}, signed, "ba-ttd.pdf"),
    ]
    decide(db, "verif.kec", sid, "approve")  # now with the kabupaten, still "diajukan"
    with db.read() as s:
        assert s.get(Submission, sid).tingkat.value == "kabupaten"
    with pytest.raises(Conflict, match="kecamatan sudah memutuskan"):
        _attach(db, sid, content=PDF + b"% another\n%%EOF\n")
    with db.read() as s:
        assert s.get(Submission, sid).berita_acara == signed


def test_minutes_are_a_pdf_by_name_and_by_content_and_at_most_ten_megabytes(db, people):
    sid = open_with_items(db)
    with pytest.raises(Invalid, match="harus berkas PDF"):
        _attach(db, sid, "ba.jpg", PDF)  # a PDF's bytes under another name
    with pytest.raises(Invalid, match="harus berkas PDF"):
        _attach(db, sid, "ba.pdf", b"<html>bukan pdf</html>\n%%EOF\n")  # a PDF's name on something else
    with pytest.raises(Invalid, match="terlalu besar"):
        _attach(db, sid, "ba.pdf", _pdf_of(minutes.MINUTES_MAX_BYTES + 1))
    with db.read() as s:
        assert s.get(Submission, sid).berita_acara is None
    assert _attach(db, sid, "ba.pdf", _pdf_of(minutes.MINUTES_MAX_BYTES)).endswith(".pdf")  # the limit itself


def test_minutes_are_required_when_no_administrator_has_said_otherwise(db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        s.execute(delete(CycleRhythm))  # no rhythm set yet: the product's default holds
    with db.read() as s:
        assert minutes.required(s) is True
        assert minutes.missing(s, s.get(Submission, sid)).column == "berita_acara"


def _two_waiting(db) -> tuple[HumanTask, HumanTask]:
    """Gunung Putih's and its neighbour's submissions, each waiting at the kecamatan."""
    found = []
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        sid = open_with_items(db, desa=desa)
        submit(db, operator, sid)
        found.append(open_task(db, sid, "kecamatan"))
    return found[0], found[1]


def _ids(db, username, **chosen) -> list[int]:
    with db.read() as s:
        return [t.id for t in inbox.inbox_page(s, actor(db, username), inbox.InboxFilter(**chosen)).tasks]


def test_the_late_view_takes_an_escalated_task_and_one_past_its_deadline_and_no_other(db, people):
    mine, neighbour = _two_waiting(db)
    now = clock.now()
    with db.transaction() as s:  # escalated, then its deadline moved on; past its deadline, the timer not yet fired
        s.get(HumanTask, mine.id).overdue, s.get(HumanTask, mine.id).due_at = True, now + timedelta(days=5)
        s.get(HumanTask, neighbour.id).overdue, s.get(HumanTask, neighbour.id).due_at = False, now - timedelta(hours=1)
    assert sorted(_ids(db, "verif.kec", terlambat=True)) == sorted([mine.id, neighbour.id])
    with db.transaction() as s:
        s.get(HumanTask, neighbour.id).due_at = now + timedelta(days=1)
    assert _ids(db, "verif.kec", terlambat=True) == [mine.id]
    assert _ids(db, "verif.kec") == [neighbour.id, mine.id]  # the nearest deadline first


def test_the_header_count_of_a_view_of_every_status_is_the_open_tasks_only(db, people):
    mine, neighbour = _two_waiting(db)
    decide(db, "verif.kec", mine.submission_id, "approve")  # done: one open task left for the kecamatan
    verifier = actor(db, "verif.kec")
    with db.read() as s:
        every = inbox.inbox_page(s, verifier, inbox.InboxFilter(status="semua"))
        assert every.total == 2 and every.open_count in (None, 1)  # said only when it is right
        assert inbox.open_count(s, verifier) == 1
        assert inbox.inbox_page(s, verifier).open_count == 1


def test_the_inbox_counts_a_tasks_warnings_still_without_a_note(db, people):
    mine, _ = _two_waiting(db)
    with db.transaction() as s:
        for severity, status in (
            (Severity.WARNING, FlagStatus.TERBUKA),
            (Severity.WARNING, FlagStatus.DIAKUI),  # acknowledged with a note: no longer to weigh
            (Severity.INFO, FlagStatus.TERBUKA),  # shown only
        ):
            s.add(
                QualityFlag(
                    rule="uji",
                    severity=severity,
                    message="-",
                    region_kode=mine.kode_desa,
                    submission_id=mine.submission_id,
                    status=status,
                )
            )
    with db.read() as s:
        assert inbox.inbox_page(s, actor(db, "verif.kec")).about[mine.id].peringatan == 1


def test_an_inbox_page_holds_ten_to_two_hundred_tasks_whatever_is_asked():
    assert inbox.InboxFilter(per_halaman=100_000).normalised().per_halaman == 200
    assert inbox.InboxFilter(per_halaman=1).normalised().per_halaman == 10
    assert inbox.InboxFilter(halaman=-5).normalised().halaman == 1


def test_saved_filters_are_named_within_bounds_on_the_trail_and_each_persons_own(db, people):
    with db.transaction() as s:
        with pytest.raises(Invalid, match="paling banyak 80"):
            inbox.save_filter(s, actor(db, "verif.kec"), "x" * 81, inbox.InboxFilter())
    with db.transaction() as s:
        mine = inbox.save_filter(s, actor(db, "verif.kec"), "y" * 80, inbox.InboxFilter(wilayah="65.01.01.2005")).id
        theirs = inbox.save_filter(s, actor(db, "verif.kab"), "Bulungan", inbox.InboxFilter()).id
    with db.read() as s:
        saved = s.scalars(select(AuditEvent).where(AuditEvent.action == "FILTER_SAVED")).all()
        assert sorted(int(e.subject_id) for e in saved) == sorted([mine, theirs])
        assert [f.id for f in inbox.saved_filters(s, actor(db, "verif.kec"))] == [mine]
    with db.transaction() as s, pytest.raises(NotFound):
        inbox.delete_filter(s, actor(db, "verif.kec"), theirs)  # another person's filter is not theirs to delete
    with db.read() as s:
        assert [f.id for f in inbox.saved_filters(s, actor(db, "verif.kab"))] == [theirs]


def test_late_tasks_are_the_open_ones_of_the_period_and_region_asked_for_its_followers(db, people):
    mine, neighbour = _two_waiting(db)
    earlier = open_period(db, "2026-Q3", [person_row(8)])  # Gunung Putih's earlier period, late too
    submit(db, "op.desa", earlier)
    past, waiting = clock.now() - timedelta(days=3), (mine, neighbour, open_task(db, earlier))
    with db.transaction() as s:
        for task in waiting:
            s.get(HumanTask, task.id).due_at = past
    decide(db, "verif.kec", mine.submission_id, "approve")  # decided late: no longer waiting there

    def late(username: str, induk: str) -> tuple[list[int], int]:
        with db.read() as s:
            listed, total = late_tasks.late_tasks(s, actor(db, username), PERIOD, induk)
        return [t.task_id for t in listed], total

    assert late("verif.kab", "65.01.01") == ([neighbour.id], 1)
    assert late("verif.kab", "65.01.01.2005") == ([], 0)  # the neighbour's task is not Gunung Putih's
    assert late("verif.kab", "65.01.01.2006") == ([neighbour.id], 1)
    assert late("verif.kab.lain", "65.01.01") == ([], 0)  # a region the person does not follow


def test_the_bell_counts_lists_and_marks_only_the_persons_own_notifications_in_the_app(db, people):
    with db.read() as s:
        kec, kab = (s.scalar(select(User.id).where(User.username == u)) for u in ("verif.kec", "verif.kab"))

    def note(s, user_id: int, title: str, in_app: bool = True) -> int:
        made = Notification(user_id=user_id, event_type="task.created", judul=title, isi="", di_aplikasi=in_app)
        s.add(made)
        s.flush()
        return made.id

    with db.transaction() as s:
        first, second = note(s, kec, "satu"), note(s, kec, "dua")
        note(s, kec, "untuk ringkasan saja", in_app=False)  # kept for the digest, never shown by the bell
        theirs = note(s, kab, "milik kabupaten")
    with db.transaction() as s:
        assert inapp.unread_count(s, kec) == 2 and inapp.unread_count(s, kab) == 1
        assert [n.id for n in inapp.latest(s, kec)] == [second, first]  # the newest first, the bell's only
        assert inapp.mark_read(s, kec, theirs) == 0  # another person's is not marked
        assert inapp.mark_read(s, kec, first) == 1  # the one asked for, not every one
        assert inapp.unread_count(s, kec) == 1 and inapp.unread_count(s, kab) == 1
        assert inapp.mark_read(s, kec) == 1  # all of mine
        assert inapp.unread_count(s, kec) == 0 and inapp.unread_count(s, kab) == 1


def _queued(db, to: str = "op@desa.id", **columns) -> int:
    with db.transaction() as s:
        message = EmailMessage(to_address=to, subject="Pengajuan dikembalikan", text="t", html="<p>t</p>", **columns)
        s.add(message)
        s.flush()
        return message.id


def test_a_mail_server_saying_try_later_has_the_message_retried_not_given_up(db, smtp):
    box, settings = smtp

    async def busy(server, session, envelope):  # noqa: ANN001
        return "451 4.3.0 coba lagi nanti"

    box.handle_DATA = busy
    _queued(db)
    _queued(db, "kec@contoh.id")  # behind it in the same run: failed with it, not left claimed and unsaid
    assert mail.deliver_pending(db, settings) == 0
    with db.read() as s:
        messages = s.scalars(select(EmailMessage)).all()
    assert [(m.attempts, "451" in (m.last_error or ""), m.sent_at) for m in messages] == [(1, True, None)] * 2
    del box.handle_DATA  # the server takes mail again
    assert mail.deliver_pending(db, settings, now=clock.now() + timedelta(minutes=3)) == 2 and len(box.messages) == 2


def test_a_message_being_sent_is_not_taken_by_another_run_meanwhile(db, smtp, monkeypatch):
    box, settings = smtp
    _queued(db)
    taken_meanwhile = []
    sending = mail._send

    def slow(server, mime):  # noqa: ANN001
        taken_meanwhile.append(len(mail._claim(db, settings, clock.now(), mail.Outcome())))  # another node's run
        sending(server, mime)

    monkeypatch.setattr(mail, "_send", slow)
    assert mail.deliver_pending(db, settings) == 1
    assert taken_meanwhile == [0] and len(box.messages) == 1


def test_given_up_mail_waits_for_a_resend_and_mail_to_someone_who_left_stays_unsent(db, smtp):
    box, settings = smtp
    given_up = _queued(db, attempts=mail.MAX_ATTEMPTS, last_error="550 mailbox unavailable")
    _queued(db, "pergi@desa.id", attempts=mail.MAX_ATTEMPTS, last_error=mail.NOT_SENT + "akun sudah dinonaktifkan")
    assert mail.deliver_pending(db, settings, now=clock.now() + timedelta(days=2)) == 0 and not box.messages
    assert mail.resend(db) == 1  # the one the server refused; not the one whose person left
    assert mail.deliver_pending(db, settings) == 1 and [m["To"] for m in box.messages] == ["op@desa.id"]
    with db.read() as s:
        assert s.get(EmailMessage, given_up).sent_at is not None


def test_a_retry_never_waits_more_than_an_hour(db):
    _queued(db, attempts=12)
    down = SmtpSettings("127.0.0.1", _free_port(), "none", "", "", "x@y")
    now = clock.now()
    mail.deliver_pending(db, down, now=now)
    with db.read() as s:
        message = s.scalar(select(EmailMessage))
    assert message.attempts == 13 and message.last_error
    assert abs((message.next_attempt_at - now).total_seconds() - mail.LONGEST_WAIT.total_seconds()) < 1


def test_one_persons_preferences_are_theirs_alone(db, people):
    with db.transaction() as s:
        kec, kab = (s.scalar(select(User).where(User.username == u)) for u in ("verif.kec", "verif.kab"))
        delivery.set_preferences(s, kec, {("task.created", "app"): False})
    with db.read() as s:
        kec, kab = (s.scalar(select(User).where(User.username == u)) for u in ("verif.kec", "verif.kab"))
        assert delivery.wants(s, kec, "task.created", Channel.APP) is False
        assert delivery.wants(s, kab, "task.created", Channel.APP) is True


def test_a_digest_holds_what_was_made_since_the_last_digest_once_as_chosen_for_active_people(db, people):
    start = clock.now()
    first = start + mail.DIGEST_LAG + timedelta(minutes=1)
    with db.transaction() as s:
        ids = {u: s.scalar(select(User.id).where(User.username == u)) for u in ("verif.kec", "verif.kab", "op.desa")}

    def note(s, username: str, title: str, at) -> None:  # noqa: ANN001
        s.add(Notification(user_id=ids[username], event_type="task.created", judul=title, isi="-", created_at=at))

    with db.transaction() as s:
        for username, user_id in ids.items():
            s.get(User, user_id).email = f"{username}@contoh.id"
            note(s, username, "awal", start)
        note(s, "verif.kec", "tengah", first - timedelta(minutes=5))  # within the lag: the next digest's
    with db.transaction() as s:
        administration.set_active(s, SYSTEM, ids["op.desa"], False)  # left: no digest any more
        delivery.set_preferences(s, s.get(User, ids["verif.kab"]), {("task.created", "ringkasan"): False})
    assert mail.queue_digests(db, now=first) == 1  # the kecamatan's only
    with db.transaction() as s:  # after it, a notification for the next digest, then an immediate e-mail
        note(s, "verif.kec", "berikut", first + timedelta(hours=1))
        at = first + timedelta(hours=3)
        s.add(EmailMessage(user_id=ids["verif.kec"], to_address="x@y", subject="-", text="-", html="-", created_at=at))
    assert mail.queue_digests(db, now=first + timedelta(days=1)) == 1
    with db.read() as s:
        digests = s.scalars(select(EmailMessage).where(EmailMessage.kind == EmailKind.RINGKASAN)).all()
    assert sorted(d.to_address for d in digests) == ["verif.kec@contoh.id"] * 2
    assert ["tengah" in d.text for d in sorted(digests, key=lambda d: d.id)] == [False, True]  # in one, once
    assert "berikut" in max(digests, key=lambda d: d.id).text


def test_a_stale_upload_is_failed_with_its_rows_dropped_even_when_another_process_imports(db):
    sid = open_with_items(db, rows=[])
    now = clock.now()
    with db.transaction() as s:
        waiting = imports.create_job(s, SYSTEM, sid, "a.csv", [{"nik": "6501015705500001"}]).id
        dead = imports.create_job(s, SYSTEM, sid, "b.csv", [{"nik": "6501015705500002"}]).id
        s.get(ImportJob, dead).status, s.get(ImportJob, dead).runner = ImportStatus.BERJALAN, "node-mati"
        s.add(  # another process's live run of the import job: not the dead one's
            JobRun(
                job_id=imports.IMPORT_JOB,
                run_key="uji",
                holder="node-hidup",
                status=JobStatus.BERJALAN,
                started_at=now,
                lease_until=now + timedelta(minutes=10),
            )
        )
    assert stale_imports.fail_stale_jobs(db, now + timedelta(minutes=1)).startswith("1 ")  # the dead runner's
    assert stale_imports.fail_stale_jobs(db, now + stale_imports.STALE_AFTER + timedelta(minutes=1)).startswith("1 ")
    with db.read() as s:  # the one no scheduler took, half an hour on
        jobs = [s.get(ImportJob, i) for i in (waiting, dead)]
        assert [(j.status, j.pending_rows) for j in jobs] == [(ImportStatus.GAGAL, None)] * 2  # no NIK left waiting


@pytest.fixture
def year(db, people, password_hash):
    reconciliation_year(db, password_hash, team=False)
    return db


def test_a_reconciliation_page_is_for_reconciliation_tasks_alone(db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")  # in the verifier's inbox, but not a reconciliation step
    with db.read() as s, pytest.raises(NotFound, match="bukan tugas rekonsiliasi"):
        reconciliation_tasks.task_of(s, actor(db, "verif.kec"), task.id)


def test_a_regencys_review_reads_the_flags_of_its_own_regency_only(year):
    with year.transaction() as s:
        reconciliation.open_year(s, actor(year, "walidata.prov"), "65", RECONCILIATION_YEAR, force=False)
        for region in ("65.01", "65.02"):
            s.add(
                QualityFlag(
                    rule="uji",
                    severity=Severity.WARNING,
                    message=f"angka {region}",
                    tingkat="kabupaten",
                    region_kode=region,
                    kategori="LUT",
                    periode=str(RECONCILIATION_YEAR),
                    status=FlagStatus.TERBUKA,
                )
            )
    (task,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with year.read() as s:
        shown = reconciliation_tasks.task_page(s, actor(year, "walidata.kab"), task.id)["flags"]
    assert "angka 65.01" in [f.message for f in shown]
    assert all(f.region_kode == "65.01" or f.region_kode.startswith("65.01.") for f in shown)


def test_an_explanation_or_a_double_registration_of_a_sensitive_desa_stays_hidden(year):
    desa, elsewhere = "65.01.01.2001", "65.02.01.2001"
    sent_back = {"wilayah": desa, "kategori": "ODHA", "periode": "2026", "catatan": "tiga pindah", "alasan": "cek"}
    assert reconciliation_tasks._returns_seen(actor(year, "walidata.kab"), [sent_back])[0]["catatan"] is None
    assert reconciliation_tasks._returns_seen(actor(year, "verif.kab"), [sent_back])[0]["catatan"] == "tiga pindah"
    proposal = reconciliation.Proposal(kabupaten=[], baris=[], berubah=[], ganda=[Twice("ODHA", (desa, elsewhere), 2)])
    shown, hidden = reconciliation_tasks._proposal_seen(actor(year, "verif.kab"), proposal)  # one desa of its own
    assert shown.ganda == [] and hidden == {"berubah": 0, "ganda": 1, "ganda_orang": 2}
