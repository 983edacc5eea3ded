"""Cycles, notifications and scheduled jobs in the browser's place."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from engine.bpmn import timers
from engine.core import clock, events, jobs
from engine.people import users
from engine.verification import cycles, late_tasks
from models import CycleRhythm, EmailMessage, HumanTask
from tests.factories import SYSTEM, actor, decide, open_with_items, submit


def test_cycle_status_drills_down_from_province_to_desa(app, db, people, signed_in):
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    browser = signed_in("valid.prov")
    page = browser.get("/siklus/").get_data(as_text=True)
    assert "2027-Q1" in page and "65.01 Kabupaten Bulungan" in page
    desa = browser.get("/siklus/?periode=2027-Q1&induk=65.01.01").get_data(as_text=True)
    assert "65.01.01.2005" in desa
    regency = signed_in("verif.kab.lain").get("/siklus/?induk=65").get_data(as_text=True)
    assert "65.02.01" in regency and "65.01 Kabupaten Bulungan" not in regency  # kept to its own region
    assert "Wilayah 65 tidak dikenal atau di luar wilayah Anda; ditampilkan 65.02" in regency  # and says so
    odd = browser.get("/siklus/?periode=xx&induk=abc").get_data(as_text=True)
    assert "Periode xx belum pernah dibuka; ditampilkan 2027-Q1" in odd and "Wilayah abc tidak dikenal" in odd
    a_desa = browser.get("/siklus/?periode=2027-Q1&induk=65.01.01.2005").get_data(as_text=True)
    assert "ditampilkan kecamatannya, 65.01.01" in a_desa and "65.01.01.2005" in a_desa


def test_reading_the_cycle_page_writes_nothing(app, db, people, signed_in, statements):
    """The default rhythm is shown, not stored by a reader: on SQLite a write in a page view waits for
    every other person's write, and failed behind one (a 500 under load)."""
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    with db.transaction() as s:  # a product whose rhythm was never set
        s.execute(delete(CycleRhythm))
    browser = signed_in("verif.kab")
    statements.clear()
    page = browser.get("/siklus/?periode=2027-Q1&induk=65.01.01")
    assert page.status_code == 200 and "65.01.01.2005" in page.get_data(as_text=True)
    writes = [q for q in statements if q.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert not [q for q in writes if "cycle_rhythm" in q], writes
    with db.read() as s:
        assert s.scalar(select(CycleRhythm)) is None


def test_an_admin_sets_the_rhythm_and_bad_values_are_refused(app, db, people, signed_in, password_hash):
    admin = signed_in("admin.prov")
    form = {
        "ritme": "semester",
        "hari_buka": "5",
        "batas_desa": "20",
        "batas_kecamatan": "30",
        "batas_kabupaten": "40",
        "batas_provinsi": "50",
        "pengingat_hari": "2",
    }
    admin.post("/siklus/ritme", form, token_from="/siklus/")
    with db.read() as s:
        rhythm = s.scalar(select(CycleRhythm))
    assert (rhythm.ritme, rhythm.hari_buka, rhythm.batas_provinsi) == ("semester", 5, 50)
    refused = admin.post(
        "/siklus/ritme", {**form, "batas_kecamatan": "10", "pengingat_hari": "4"}, token_from="/siklus/"
    )
    page = refused.get_data(as_text=True)  # the page again: what was typed stays, the tier at fault is marked
    assert refused.status_code == 400 and "berurutan" in page and 'id="e-batas_kecamatan"' in page
    assert 'name="batas_kecamatan" type="number" min="1" value="10"' in page and 'value="4"' in page
    with db.read() as s:
        assert s.scalar(select(CycleRhythm)).batas_kecamatan == 30  # nothing written
    for field, value in (("batas_provinsi", "99999"), ("pengingat_hari", "-5"), ("pengingat_hari", "21")):
        # a cycle that never closes, or a reminder never sent (before the opening, after the deadline)
        unbounded = admin.post("/siklus/ritme", {**form, field: value}, token_from="/siklus/")
        assert unbounded.status_code == 400 and f'id="e-{field}"' in unbounded.get_data(as_text=True), (field, value)
    not_a_number = admin.post("/siklus/ritme", {**form, "hari_buka": "lima"}, token_from="/siklus/")
    assert not_a_number.status_code == 400 and 'id="e-hari_buka"' in not_a_number.get_data(as_text=True)
    assert signed_in("valid.prov").post("/siklus/ritme", form, token_from="/siklus/").status_code == 403
    with db.transaction() as s:  # a regency's administrator follows the cycle; the rhythm is the province's
        users.add_user(s, SYSTEM, "admin.kab", "admin", "65.01").password_hash = password_hash
    assert 'id="ritme-h"' in admin.get("/siklus/").get_data(as_text=True)
    assert 'id="ritme-h"' not in signed_in("admin.kab").get("/siklus/").get_data(as_text=True)


def test_the_bell_list_mark_read_and_preferences(app, db, people, signed_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    verifier = signed_in("verif.kec")
    assert 'id="unread-count">1<' in verifier.get("/tugas/").get_data(as_text=True)
    listing = verifier.get("/notifikasi/").get_data(as_text=True)
    assert "Tugas baru: Verifikasi kecamatan" in listing
    assert listing.count(">belum dibaca</span>") == 1  # said in words, not only by the border's colour
    verifier.post("/notifikasi/baca", token_from="/notifikasi/")
    assert ">belum dibaca</span>" not in verifier.get("/notifikasi/").get_data(as_text=True)
    assert 'id="unread-count">0<' in verifier.get("/tugas/").get_data(as_text=True)
    verifier.post("/notifikasi/preferensi", {"task.created:email": "1"}, token_from="/notifikasi/preferensi")
    page = verifier.get("/notifikasi/preferensi").get_data(as_text=True)
    assert 'name="task.created:email" value="1" checked' in page
    assert 'name="task.created:app" value="1" checked' not in page


def test_admins_see_job_history_with_failures(app, db, people, signed_in):
    jobs.run_once(db, "surel", "2027-01-01T00:00", lambda: "3 surel terkirim")

    def broken() -> str:
        raise RuntimeError("server SMTP menolak")

    jobs.run_once(db, "ringkasan_harian", "2027-01-01", broken)

    def refusing(session, event):
        raise RuntimeError("kotak surat penuh")

    db.registry.subscribe("cycle.closed", refusing)
    with db.transaction() as s:
        events.publish(s, events.CycleClosed(periode="2027-Q1", tidak_melapor=0))
        s.add(EmailMessage(to_address="camat@contoh.id", subject="Tugas baru", text="", html="", attempts=5))
        s.add(EmailMessage(to_address="lurah@contoh.id", subject="Tugas baru", text="", html="", last_error="550"))
    page = signed_in("admin.prov").get("/admin/jadwal").get_data(as_text=True)
    assert "3 surel terkirim" in page and "server SMTP menolak" in page and "gagal" in page
    assert "kotak surat penuh" in page  # an event a subscriber could not take
    assert "lurah@contoh.id" in page and "camat@contoh.id" not in page  # refused, not merely waiting
    assert signed_in("valid.prov").get("/admin/jadwal").status_code == 403


def test_an_escalation_leads_to_the_late_tasks_of_the_region_with_who_holds_them(app, db, people, signed_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    later = task.due_at + timedelta(days=3, minutes=1)
    timers.fire_due_timers(db, later)
    with clock.frozen_at(later):
        regency = signed_in("verif.kab").get(f"/siklus/?periode={task.periode}&induk=65.01.01").get_data(as_text=True)
        late = regency.split('id="tugas-terlambat"')[1].split("</table>")[0]
        assert "65.01.01.2005 Gunung Putih" in late and f"#{task.id}" in late and "belum diklaim" in late
        assert '<td class="num">3</td>' in late  # days past its deadline
        other = signed_in("verif.kab.lain").get(f"/siklus/?periode={task.periode}&induk=65.01.01")
        assert f"#{task.id}" not in other.get_data(as_text=True)  # not their region
        with db.read() as s:  # asked directly for a region it does not follow: nothing, not even a count
            assert late_tasks.late_tasks(s, actor(db, "verif.kab.lain"), task.periode, "65.01.01") == ([], 0)
            assert late_tasks.late_tasks(s, actor(db, "verif.kab"), task.periode, "65.01.01")[1] == 1


def test_late_tasks_are_listed_oldest_deadline_first_and_a_task_not_yet_due_is_not(app, db, people, monkeypatch):
    tasks = []
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        sid = open_with_items(db, desa=desa)
        submit(db, operator, sid)
        with db.read() as s:
            tasks.append(
                s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
            )
    first, second = tasks
    now = first.due_at + timedelta(days=1)
    with db.transaction() as s:  # the second desa's task was due a day before the first's
        s.get(HumanTask, second.id).due_at = first.due_at - timedelta(days=1)
    with clock.frozen_at(now), db.read() as s:
        listed, total = late_tasks.late_tasks(s, actor(db, "verif.kab"), first.periode, "65.01.01")
        assert [(t.task_id, t.hari) for t in listed] == [(second.id, 2), (first.id, 1)] and total == 2
    with clock.frozen_at(first.due_at - timedelta(hours=1)), db.read() as s:
        listed, total = late_tasks.late_tasks(s, actor(db, "verif.kab"), first.periode, "65.01.01")
        assert [t.task_id for t in listed] == [second.id] and total == 1  # the first is not due yet
    monkeypatch.setattr(late_tasks, "SHOWN", 1)
    monkeypatch.setattr(late_tasks, "COUNTED", 1)
    with clock.frozen_at(now), db.read() as s:
        assert late_tasks.late_tasks(s, actor(db, "verif.kab"), first.periode, "65.01.01")[1] == 2  # "1+"


def test_a_returned_submission_is_counted_as_waiting_for_its_desa(app, db, people, signed_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", "berita acara belum ditandatangani")
    with db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid))
        page = cycles.status_page(s, actor(db, "verif.kab"), task.periode, "65.01", "65")
    assert [(r.kode, r.returned) for r in page.rows if r.returned] == [("65.01.01", 1)] and page.total.returned == 1
    shown = signed_in("verif.kab").get(f"/siklus/?periode={task.periode}&induk=65.01").get_data(as_text=True)
    assert "Dikembalikan, menunggu desa" in shown
