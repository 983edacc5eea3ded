"""Guessing a password: concurrent guesses held back as sequential ones are, every wrong password on
the audit trail under the account it was tried on, the current password behind the same back-off
when a session is left open, and the first guesses anyone makes refused as passwords."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine.people import sign_in, users
from models import AuditEvent, LoginAttempt, User
from tests.factories import PASSWORD

FREE = sign_in.PER_USERNAME_AND_ADDRESS.free_failures


def _failed(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "USER_SIGN_IN_FAILED")))


def test_two_dozen_guesses_at_once_are_held_back_like_one_after_another(db, people):
    guesses, barrier, checked = 24, threading.Barrier(24), []

    def guess() -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                sign_in.authenticate(s, "verif.kab", "salah-sandi-123", "10.9.9.9")
            checked.append(1)
        except sign_in.Throttled:
            pass

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as s:
        recorded = s.scalar(select(func.count()).select_from(LoginAttempt))
    assert len(checked) == recorded == FREE  # the rest waited, unchecked


def test_every_wrong_password_is_on_the_trail_under_its_account_and_a_typed_name_is_not(browser, db, people):
    for _ in range(FREE):
        assert browser.login("verif.kab", "bukan-sandinya-1").status_code == 401
    assert browser.login("verif.kab").status_code == 429  # waiting: not checked, not a failure
    assert browser.login("Sandiku-Rahasia-99", "x").status_code == 401  # a password typed as the username
    failed = _failed(db)
    assert [e.actor for e in failed] == ["verif.kab"] * FREE + ["tidak dikenal"]
    assert {e.after["address"] for e in failed} == {"127.0.0.1"} and failed[-1].subject_id == "-"
    with db.read() as s:
        trail = " ".join(f"{e.actor} {e.subject_id} {e.after}" for e in s.scalars(select(AuditEvent)))
    assert "sandiku" not in trail.lower()
    assert browser.login("verif.kab").status_code == 429  # a success later still deletes nothing on the trail


def test_guessing_the_current_password_in_an_open_session_is_held_back(signed_in, db, people):
    me = signed_in("verif.kab")
    answers = [
        me.post("/akun/sandi", {"current": f"tebakan-{n}-xyz", "new": "sandi-baru-4567", "repeat": "sandi-baru-4567"})
        for n in range(FREE + 1)
    ]
    assert [a.status_code for a in answers] == [400] * FREE + [429]
    assert "kata sandi sekarang salah" in answers[0].get_data(as_text=True)
    assert "coba lagi dalam" in answers[-1].get_data(as_text=True)
    assert [e.after["pada"] for e in _failed(db)] == ["ganti kata sandi"] * FREE
    with db.read() as s:
        assert users.check_password(s.scalar(select(User).where(User.username == "verif.kab")), PASSWORD)


def test_the_first_guesses_anyone_makes_are_refused_as_passwords(signed_in, db, people):
    me = signed_in("verif.kab")
    for weak, why in (
        (" " * 12, "selain spasi"),
        ("a b c d e f g", "selain spasi"),
        ("x" * 12, "satu karakter yang diulang"),
        ("Verif.Kab2026!", "nama pengguna"),
    ):
        page = me.post("/akun/sandi", {"current": PASSWORD, "new": weak, "repeat": weak})
        assert page.status_code == 400 and why in page.get_data(as_text=True), weak
    assert _failed(db) == []  # the new password's faults are told before the current one is checked
    problems = users.password_problems("budi.santoso-2026", "budi.santoso")
    assert [p.message for p in problems] == ["kata sandi tidak boleh memuat nama pengguna"]
    assert users.password_problems("sungai-kayan-hulu", "budi.santoso") == []
