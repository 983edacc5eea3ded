"""Sign-in that slows guessing without locking people out, and sessions that can be ended."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select

from engine.core import clock
from engine.people import sign_in, users
from models import AuditEvent, LoginAttempt
from tests.factories import PASSWORD, SYSTEM
from tests.web.conftest import Browser
from web.app import create_app


def _attempts(db) -> list[LoginAttempt]:
    with db.read() as s:
        return list(s.scalars(select(LoginAttempt)).all())


def test_a_right_password_works_once_the_back_off_has_passed(browser, people):
    start = clock.now()
    with clock.frozen_at(start):
        for _ in range(5):
            assert browser.login("verif.kab", "bukan-sandinya").status_code == 401
        assert browser.login("verif.kab").status_code == 429  # waits a few seconds
    with clock.frozen_at(start + timedelta(seconds=30)):  # not fifteen minutes
        assert browser.login("verif.kab").status_code == 302


def test_the_wait_doubles_with_each_failure_up_to_a_cap():
    backoff = sign_in.PER_USERNAME_AND_ADDRESS
    waits = [backoff.wait(n).total_seconds() for n in range(backoff.free_failures + 12)]
    assert waits[: backoff.free_failures] == [0] * backoff.free_failures
    assert waits[backoff.free_failures : backoff.free_failures + 3] == [1, 2, 4]
    assert max(waits) == backoff.longest.total_seconds()


def test_guesses_from_one_client_behind_the_proxy_do_not_stop_another(app, db, people):
    proxied = create_app(dataclasses.replace(db.settings, proxy_hops=1), db, testing=True)
    guesser, colleague = Browser(proxied.test_client()), Browser(proxied.test_client())
    for n in range(25):
        guess = guesser.client.post(
            "/masuk",
            data={"username": f"orang{n}", "password": "x", "csrf_token": guesser.token()},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
        assert guess.status_code in (401, 429)
    signed = colleague.client.post(
        "/masuk",
        data={"username": "verif.kab", "password": PASSWORD, "csrf_token": colleague.token()},
        headers={"X-Forwarded-For": "10.1.1.1"},
    )
    assert signed.status_code == 302
    assert {a.address for a in _attempts(db)} == {"10.9.9.9"}


def test_an_unknown_username_costs_the_same_password_check(browser, people, monkeypatch):
    checked = []
    real = users.check_password
    monkeypatch.setattr(users, "check_password", lambda user, pw: checked.append(user) or real(user, pw))
    browser.login("tidak.ada", "apa-saja-123")
    browser.login("verif.kab", "salah-sandi-123")
    assert len(checked) == 2 and checked[0] is None
    assert users.dummy_hash() and not users.check_password(None, "apa-saja-123")


def test_a_huge_username_is_neither_stored_nor_an_error(browser, db, people):
    assert browser.login("a" * 5_000_000, "x").status_code == 400  # refused by the form, unread
    assert _attempts(db) == []
    assert browser.login("b" * 100, "x").status_code == 401  # over the column's size, on PostgreSQL too
    assert [len(a.username) for a in _attempts(db)] == [64]


def test_old_attempts_are_purged_by_the_job(browser, db, people):
    start = clock.now()
    with clock.frozen_at(start):
        browser.login("verif.kab", "salah-sandi-123")
    assert len(_attempts(db)) == 1
    assert "1 percobaan" in sign_in.purge_attempts(db, start + sign_in.WINDOW + timedelta(minutes=1))
    assert _attempts(db) == []
    assert "percobaan_masuk" in db.registry.jobs


def test_an_administrator_can_unlock_a_username(browser, db, people):
    # The clock stands still: on a slow machine a second may pass between two guesses, and the
    # sixth guess, due after one second, would then be let through and counted.
    with clock.frozen_at(clock.now()):
        for _ in range(8):
            browser.login("verif.kab", "bukan-sandinya")
        assert browser.login("verif.kab").status_code == 429
    with db.transaction() as s:
        assert sign_in.unlock(s, SYSTEM, "verif.kab") == 5
    assert browser.login("verif.kab").status_code == 302
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "USER_UNLOCKED")) == 1


def _copy_of(app, browser: Browser) -> Browser:
    thief = Browser(app.test_client())
    thief.client.set_cookie("session", browser.client.get_cookie("session").value)
    return thief


def test_a_copied_session_cookie_stops_working_after_sign_out(app, browser, people):
    browser.login("verif.kab")
    thief = _copy_of(app, browser)
    assert thief.get("/tugas/").status_code == 200
    assert browser.post("/keluar", token_from="/tugas/").status_code == 302
    assert thief.get("/tugas/").status_code == 302  # to the sign-in page


def test_a_password_change_ends_other_sessions_but_not_this_one(app, browser, people):
    browser.login("verif.kab")
    thief = _copy_of(app, browser)
    changed = browser.post(
        "/akun/sandi", {"current": PASSWORD, "new": "sandi-baru-yang-panjang", "repeat": "sandi-baru-yang-panjang"}
    )
    assert changed.status_code == 302
    assert browser.get("/tugas/").status_code == 200
    assert thief.get("/tugas/").status_code == 302


def test_a_change_of_roles_ends_open_sessions(app, db, browser, people):
    from engine.people import administration

    browser.login("verif.kab")
    assert browser.get("/tugas/").status_code == 200
    with db.transaction() as s:
        user = users.find_user(s, "verif.kab")
        administration.remove_role(s, SYSTEM, user.roles[0].id)
    assert browser.get("/tugas/").status_code == 302


def test_hsts_is_sent_in_https_mode(db, people):
    secure = create_app(dataclasses.replace(db.settings, https=True), db, testing=True)
    assert "max-age=" in secure.test_client().get("/masuk").headers["Strict-Transport-Security"]
    plain = create_app(db.settings, db, testing=True)
    assert "Strict-Transport-Security" not in plain.test_client().get("/masuk").headers


def test_an_administrator_unlocks_from_the_persons_page(app, browser, db, people):
    with clock.frozen_at(clock.now()):  # no guess waits out its back-off on a slow machine
        for _ in range(8):
            browser.login("verif.kab", "bukan-sandinya")
        assert browser.login("verif.kab").status_code == 429
    with db.read() as s:
        user_id = users.find_user(s, "verif.kab").id
    admin = Browser(app.test_client())
    assert admin.login("admin.prov").status_code == 302
    page = f"/admin/pengguna/{user_id}"
    assert f"{page}/buka-kunci" in admin.get(page).get_data(as_text=True)
    assert admin.post(f"{page}/buka-kunci", {}, token_from=page).status_code == 302
    assert browser.login("verif.kab").status_code == 302
    operator = Browser(app.test_client())
    assert operator.login("op.desa").status_code == 302
    assert operator.post(f"{page}/buka-kunci", {}, token_from="/desa/").status_code in (403, 404)
