"""What the administrators' pages and the sign-in pages tell the person who used them: a stuck
instance run again, an account unlocked, made or switched back on, a token revoked, a version deployed
despite its warnings, a migration between two processes refused; a sign-in that outlives the browser,
a password form that still lets a person choose the language and read the manual, a sign-out that
leaves nothing; the validator's start page, a diagram served as XML, and the monitoring's own figures."""

from __future__ import annotations

import html
import re

from sqlalchemy import select, update

from engine.core import clock
from engine.core.config import DEFAULT_BPMN_DIR
from models import AgencyToken, AuditEvent, ProcessDefinition, ProcessInstance, User
from tests.factories import PASSWORD, open_with_items
from tests.web.conftest import Browser

FLASH = re.compile(r'<p class="flash (\w+)">([^<]*)</p>')


def _flashes(response) -> list[tuple[str, str]]:
    return [(kind, html.unescape(text)) for kind, text in FLASH.findall(response.get_data(as_text=True))]


def _user_id(db, username: str) -> int:
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_a_stuck_instance_run_again_from_the_list_says_so_and_is_on_the_trail(browser, db, people):
    """Retrying a stuck instance runs it again, is audited, and returns to the list saying which one ran."""
    open_with_items(db)
    with db.transaction() as s:
        s.execute(update(ProcessInstance).values(failed_at=clock.now(), last_error="layanan mati"))
        instance_id = s.scalar(select(ProcessInstance.id))
    browser.login("admin.prov")
    answer = browser.post("/admin/macet/coba-lagi", {"instans": str(instance_id)}, token_from="/admin/macet")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/macet")
    assert ("ok", f"Instans {instance_id} berjalan lagi.") in _flashes(browser.get("/admin/macet"))
    with db.read() as s:
        retried = s.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "INSTANCE_RETRIED")).all()
    assert retried == [str(instance_id)]


def test_unlocking_an_account_says_how_many_failed_sign_ins_were_cleared(app, browser, db, people):
    for _ in range(2):
        assert Browser(app.test_client()).login("verif.kec", "bukan-sandinya").status_code == 401
    browser.login("admin.prov")
    page = f"/admin/pengguna/{_user_id(db, 'verif.kec')}"
    unlocked = browser.post(f"{page}/buka-kunci", token_from=page, follow_redirects=True)
    assert ("ok", "Percobaan masuk yang gagal dihapus: 2.") in _flashes(unlocked)


def test_switching_an_account_back_on_says_it_was_switched_on(browser, db, people):
    browser.login("admin.prov")
    page = f"/admin/pengguna/{_user_id(db, 'verif.kec')}"
    browser.post(f"{page}/aktif", {"aktif": "0"}, token_from=page)
    again = browser.post(f"{page}/aktif", {"aktif": "1"}, token_from=page, follow_redirects=True)
    assert ("ok", "Pengguna diaktifkan.") in _flashes(again)


def test_the_migration_page_refuses_to_plan_between_versions_of_two_processes(browser, db, people):
    """Choosing the tiered verification and the annual reconciliation is refused, not planned."""
    with db.read() as s:
        ids = dict(s.execute(select(ProcessDefinition.process_key, ProcessDefinition.id)).all())
    browser.login("admin.prov")
    page = browser.get(f"/admin/migrasi?kiri={ids['verifikasi_berjenjang']}&kanan={ids['rekonsiliasi_tahunan']}")
    assert page.status_code == 400 and "Kedua versi harus dari proses yang sama" in page.get_data(as_text=True)


def test_a_new_account_opens_on_its_own_page_saying_it_was_made(browser, db, people):
    """After making an account the admin lands on that person's page, where roles are added next."""
    browser.login("admin.prov")
    form = {"username": "tksk.baru", "nama": "Yohanes", "password": "sandi-awal-123", "role": "verifier"}
    made = browser.post("/admin/pengguna", {**form, "region": "65.01.01"}, token_from="/admin/pengguna")
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/admin/pengguna/{_user_id(db, 'tksk.baru')}")
    assert ("ok", "Pengguna dibuat.") in _flashes(browser.get(made.headers["Location"]))


def test_a_revoked_token_is_named_by_its_prefix_on_the_tokens_page(browser, db, people, issue_token):
    """The admin reads which token was revoked, by the prefix the agency also sees."""
    issue_token()
    with db.read() as s:
        token_id, prefix = s.execute(select(AgencyToken.id, AgencyToken.prefix)).one()
    browser.login("admin.prov")
    revoked = browser.post(f"/admin/token/{token_id}/cabut", {"alasan": "bocor"}, token_from="/admin/token")
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/admin/token")
    assert ("ok", f"Token {prefix} dicabut.") in _flashes(browser.get("/admin/token"))


def test_a_version_deployed_despite_its_warnings_still_lists_them_per_element(browser, db, people):
    """The admin who confirmed is shown the warnings that came with the new version, not an empty list."""
    xml = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()
    misspelt = xml.replace('keputusan == "kembalikan"', 'keputusn == "kembalikan"', 1)
    browser.login("admin.prov")
    token = browser.token("/admin/definisi/1/ubah")
    done = browser.client.post(
        "/admin/definisi/pasang", json={"xml": misspelt, "confirm": True}, headers={"X-CSRFToken": token}
    ).get_json()
    assert done["ok"] and done["version"] == 2
    assert [(p["severity"], p["element"]) for p in done["problems"]] == [("warning", "f_kecamatan_kembali")]


def test_request_timings_are_counted_by_page_and_answer_but_not_for_monitorings_own_scrapes(browser, people):
    """Prometheus reading /metrics every few seconds would otherwise drown the timings of real pages."""
    browser.get("/metrics")
    browser.get("/healthz")
    browser.get("/admin/")  # signed out: sent to sign in
    text = browser.get("/metrics").get_data(as_text=True)
    assert 'endpoint="health.healthz",method="GET",status="200"' in text
    assert 'endpoint="admin.index",method="GET",status="302"' in text
    assert 'endpoint="health.metrics"' not in text


def test_a_ready_node_says_its_database_answers(browser):
    """A load balancer's check reads that the database, not only the process, answered."""
    assert browser.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_a_sign_in_lasts_beyond_closing_the_browser_until_it_goes_unused(browser, people):
    """The session cookie of a signed-in person carries its own end, refreshed by use."""
    signed = browser.login("verif.kec")
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie


def test_a_person_held_at_the_password_form_may_still_choose_the_language_and_read_the_manual(browser, db, people):
    """A new account held at the password form reads it in English and the manual, but nothing else."""
    with db.transaction() as s:
        s.execute(update(User).where(User.username == "verif.kec").values(ganti_sandi=True))
    browser.login("verif.kec")
    chosen = browser.post("/bahasa", {"lang": "en", "next": "/akun/sandi"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/akun/sandi")
    assert 'lang="en"' in browser.get("/akun/sandi").get_data(as_text=True)
    assert browser.get("/bantuan/").status_code == 200  # and read the manual
    assert browser.get("/healthz").status_code == 200  # a monitor's check is never held either
    assert browser.get("/tugas/").headers["Location"].endswith("/akun/sandi")  # but nothing else


def test_a_person_with_an_address_is_not_told_that_no_email_can_reach_them(browser, db, people):
    with db.transaction() as s:
        s.execute(update(User).where(User.username == "verif.kec").values(email="tksk@bulungan.go.id"))
    browser.login("verif.kec")
    assert "belum punya alamat surel" not in browser.get("/notifikasi/preferensi").get_data(as_text=True)


def test_a_changed_password_leads_on_to_the_persons_work_saying_it_was_changed(signed_in, people):
    me = signed_in("verif.kec")
    new = "Sandi baru 2027 untuk uji"
    changed = me.post("/akun/sandi", {"current": PASSWORD, "new": new, "repeat": new})
    assert changed.status_code == 302 and changed.headers["Location"] == "/"
    assert ("ok", "Kata sandi sudah diganti.") in _flashes(me.get("/", follow_redirects=True))


def test_signing_out_leaves_nothing_of_the_persons_session_not_even_their_language(browser, people):
    """On a shared office computer the next person starts from a fresh, Indonesian sign-in page."""
    browser.login("verif.kec")
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"})
    out = browser.post("/keluar", {}, token_from="/tugas/")
    assert out.status_code == 302 and out.headers["Location"].endswith("/masuk")
    assert 'lang="id"' in browser.get("/masuk").get_data(as_text=True)


def test_the_provinces_validator_starts_at_the_inbox(signed_in, people):
    assert signed_in("valid.prov").get("/").headers["Location"].endswith("/tugas/")


def test_a_deployed_diagram_is_served_to_the_viewers_as_xml(signed_in, db, people):
    open_with_items(db)  # a version running in the verifier's kecamatan
    diagram = signed_in("verif.kec").get("/definisi/1/xml")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
