"""People over years of staff turnover: a forgotten password set anew by an administrator and
changed at sign-in, a person moved to another post whose claims go back to colleagues, a list of
people that does not stop at 500, a browser left open on a shared office PC, and a session that
ended while a form was being sent."""

from __future__ import annotations

import itsdangerous
import pytest
from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.core.errors import Forbidden, NotFound
from engine.people import administration, users
from models import AuditEvent, HumanTask, LoginAttempt, User
from tests.factories import PASSWORD, SYSTEM, open_task, open_with_items, submit
from tests.web.conftest import Browser

NEW = "kata-sandi-dari-admin"


def _user(db, username: str) -> User:
    with db.read() as s:
        return users.find_user(s, username)


def test_a_forgotten_password_is_set_anew_by_an_admin_and_changed_at_sign_in(app, db, people, browser, signed_in):
    operator = signed_in("op.desa")  # the person's old session, on a phone left somewhere
    person = f"/admin/pengguna/{_user(db, 'op.desa').id}"
    with db.transaction() as s:  # and a few wrong guesses, which held them back
        s.add(LoginAttempt(username="op.desa", address="10.0.0.1"))
    browser.login("admin.prov")
    short = browser.post(f"{person}/sandi", {"password": "pendek"}, token_from=person)
    assert short.status_code == 400 and "minimal 10 karakter" in short.get_data(as_text=True)
    done = browser.post(f"{person}/sandi", {"password": NEW}, token_from=person, follow_redirects=True)
    assert "Kata sandi baru diatur" in done.get_data(as_text=True)
    assert operator.get("/desa/").status_code == 302  # every session of theirs ended

    again = Browser(app.test_client())
    assert again.login("op.desa", NEW).status_code == 302
    for page in ("/desa/", "/tugas/", "/notifikasi/"):  # every page leads to the password form first
        answer = again.get(page)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/akun/sandi")
    form = again.get("/akun/sandi").get_data(as_text=True)
    assert 'id="wajib-ganti"' in form
    same = again.post("/akun/sandi", {"current": NEW, "new": NEW, "repeat": NEW}, token_from="/akun/sandi")
    assert "harus berbeda dari yang sekarang" in same.get_data(as_text=True)
    changed = again.post(
        "/akun/sandi", {"current": NEW, "new": "hanya-saya-yang-tahu", "repeat": "hanya-saya-yang-tahu"}
    )
    assert changed.status_code == 302
    assert again.get("/desa/").status_code == 200
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 0
        reset = s.scalar(select(AuditEvent).where(AuditEvent.action == "USER_PASSWORD_SET"))
        own = s.scalar(select(AuditEvent).where(AuditEvent.action == "USER_PASSWORD_CHANGED"))
    # who set it, and from where, as each sign-in says where it came from
    assert reset.actor == "admin.prov" and reset.after == {"wajib_diganti": True, "address": "127.0.0.1"}
    assert own.actor == "op.desa" and own.after == {"address": "127.0.0.1"}
    history = browser.get(person).get_data(as_text=True).split('id="riwayat-akun"')[1]
    assert "&#34;address&#34;: &#34;127.0.0.1&#34;" in history or '"address": "127.0.0.1"' in history


def test_a_person_an_admin_creates_changes_the_password_at_the_first_sign_in(app, db, people, browser):
    browser.login("admin.prov")
    new = {"username": "siti.op", "nama": "Siti", "email": "", "role": "operator", "region": "65.01.01.2005"}
    browser.post("/admin/pengguna", {**new, "password": NEW}, token_from="/admin/pengguna")
    siti = Browser(app.test_client())
    assert siti.login("siti.op", NEW).status_code == 302
    assert siti.get("/desa/").headers["Location"].endswith("/akun/sandi")


def test_a_person_moved_to_another_post_hands_back_the_claims_of_the_old_one(db, people, browser, signed_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid).id
    kec = signed_in("verif.kec")
    kec.post("/tugas/klaim", {"task_id": [str(task)]}, token_from="/tugas/")
    with db.read() as s:
        assert s.get(HumanTask, task).assignee_id == users.find_user(s, "verif.kec").id
        moved = users.find_user(s, "verif.kec")
        role = next(a for a in moved.roles if a.region_kode == "65.01.01")
    browser.login("admin.prov")
    person = f"/admin/pengguna/{moved.id}"
    browser.post(f"{person}/peran", {"role": "verifier", "region": "65.01.02"}, token_from=person)  # the new post
    browser.post(f"{person}/peran/{role.id}/hapus", token_from=person)
    with db.read() as s:
        assert s.get(HumanTask, task).assignee_id is None
        released = s.scalar(select(AuditEvent).where(AuditEvent.action == "TASK_RELEASED"))
    assert released.before == {"assignee": "verif.kec"}
    colleague = signed_in("verif.kab")  # anyone of the tier may take it up again; the kecamatan's new verifier
    assert colleague.get("/tugas/").status_code == 200


def test_the_list_of_people_goes_past_a_page_and_is_searched_by_region(db, people, browser, monkeypatch):
    monkeypatch.setattr(administration, "PEOPLE_PAGE", 4)
    browser.login("admin.prov")
    first = browser.get("/admin/pengguna").get_data(as_text=True)
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(User))
    assert f"{total} orang" in first and "halaman 1 dari" in first
    last = browser.get("/admin/pengguna?halaman=99").get_data(as_text=True)  # a stale page: the last one
    assert f"halaman {-(-total // 4)} dari" in last
    by_region = browser.get("/admin/pengguna?q=65.01.01.2006").get_data(as_text=True)
    assert "op.lain" in by_region and "op.desa" not in by_region and "1 orang" in by_region


def test_a_browser_left_open_is_signed_out_and_someone_working_is_not(app, db, people, signed_in, monkeypatch):
    idle = db.settings.session_idle_minutes * 60
    clock = {"now": int(itsdangerous.timed.time.time())}
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: clock["now"])
    working = signed_in("verif.kec")
    for _ in range(5):  # a request every while, for longer than the idle time several times over
        clock["now"] += idle - 60
        assert working.get("/tugas/").status_code == 200
    left = signed_in("verif.kab")
    clock["now"] += idle + 60
    assert left.get("/tugas/").status_code == 302


def test_signed_in_pages_are_never_kept_by_a_browser_or_a_proxy(db, people, signed_in):
    operator = signed_in("op.desa")
    for page in ("/notifikasi/", "/siklus/", "/akun/sandi", "/bantuan/"):
        assert operator.get(page).headers.get("Cache-Control") == "no-store", page


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_after_sign_in(db, people, signed_in):
    kec = signed_in("verif.kec")
    token = kec.token("/tugas/")
    signed_in("verif.kec").post("/keluar", token_from="/tugas/")  # signed out everywhere, from another PC
    answer = kec.client.post(
        "/tugas/klaim",
        data={"csrf_token": token, "task_id": "1"},
        headers={"Referer": "http://localhost/tugas/?periode=2026-Q4"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/masuk?next=/tugas/?periode%3D2026-Q4")


def test_an_admin_reset_needs_the_person_in_the_admins_care(db, people):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab.lain", "admin", "65.02", password=PASSWORD)
        outsider = Actor.of(users.find_user(s, "admin.kab.lain"))
        target = users.find_user(s, "verif.kec").id
        with pytest.raises((Forbidden, NotFound)):
            administration.reset_password(s, outsider, target, NEW)
