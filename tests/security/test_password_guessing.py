"""Guessing a password: concurrent guesses held back as sequential ones are, every wrong password on
the audit trail under the account it was tried on, the current password behind the same back-off
when a session is left open, and the first guesses anyone makes refused as passwords."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.errors import Invalid
from engine.people import accounts, administration, sign_in, users
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
    start = clock.now()
    with clock.frozen_at(start):  # the waits are measured on this clock, not the machine's load
        for _ in range(FREE):
            assert browser.login("verif.kab", "bukan-sandinya-1").status_code == 401
        assert browser.login("verif.kab").status_code == 429  # waiting: not checked, not a failure
        assert browser.login("Sandiku-Rahasia-99", "x").status_code == 401  # a password typed as the username
        failed = _failed(db)
        assert [e.actor for e in failed] == ["verif.kab"] * FREE  # an unknown name is counted, not kept
        assert {e.after["address"] for e in failed} == {"127.0.0.1"}
        with db.read() as s:
            trail = " ".join(f"{e.actor} {e.subject_id} {e.after}" for e in s.scalars(select(AuditEvent)))
            assert s.scalar(select(func.count()).select_from(LoginAttempt)) == FREE + 1
        assert "sandiku" not in trail.lower()
    with clock.frozen_at(start + timedelta(minutes=1)):
        assert browser.login("verif.kab").status_code == 302  # the right password, after the wait
    assert len(_failed(db)) == FREE  # the failures stay on the trail; their attempts left the back-off


def test_guessing_the_current_password_in_an_open_session_is_held_back(signed_in, db, people):
    me = signed_in("verif.kab")
    with clock.frozen_at(clock.now()):
        answers = [
            me.post(
                "/akun/sandi", {"current": f"tebakan-{n}-xyz", "new": "sandi-baru-4567", "repeat": "sandi-baru-4567"}
            )
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


def test_guesses_at_an_account_do_not_push_its_changes_off_the_admins_page(db, people):
    """A reset, then more wrong passwords than the page lists (spaced past the back-off): the reset
    is still there, and the guesses are on the trail, kept apart as sign-ins are."""
    with db.transaction() as s:
        admin = Actor.of(users.find_user(s, "admin.prov"))
        target = users.find_user(s, "verif.kab").id
        administration.reset_password(s, admin, target, "sementara-sandi-7")
    start = clock.now()
    for n in range(administration.ACCOUNT_HISTORY + 5):
        with clock.frozen_at(start + timedelta(minutes=6 * n)), db.transaction() as s:
            assert sign_in.authenticate(s, "verif.kab", f"tebakan-{n}-xyz", "10.7.7.7") is None
    with db.read() as s:
        history = administration.account_history(s, admin, target)
    assert "USER_PASSWORD_SET" in [e.action for e in history.changes]
    assert "USER_SIGN_IN_FAILED" not in [e.action for e in history.changes]
    assert len(_failed(db)) == administration.ACCOUNT_HISTORY + 5


def _at_once(count: int, attempt) -> int:  # type: ignore[no-untyped-def]
    """`attempt(n)` in `count` threads released together; how many were checked (not held back)."""
    barrier, checked = threading.Barrier(count), []

    def run(n: int) -> None:
        barrier.wait()
        try:
            attempt(n)
            checked.append(n)
        except sign_in.Throttled:
            pass

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(checked)


def test_many_names_guessed_at_once_from_one_address_are_held_back_by_the_address(db, people):
    def guess(n: int) -> None:
        with db.transaction() as s:
            sign_in.authenticate(s, f"nama.tebakan{n}", "salah-sandi-123", "10.8.8.8")

    with clock.frozen_at(clock.now()):
        assert _at_once(30, guess) == sign_in.PER_ADDRESS.free_failures


def test_current_passwords_guessed_at_once_are_held_back_like_one_after_another(db, people):
    def guess(n: int) -> None:
        with db.transaction() as s:
            me = Actor.of(users.find_user(s, "verif.kab"))
            assert (
                sign_in.change_password(s, me, f"tebakan-{n}-xyz", "sandi-baru-4567", "sandi-baru-4567", "10.6.6.6")
                is None
            )

    with clock.frozen_at(clock.now()):
        assert _at_once(12, guess) == FREE


def test_an_administrator_cannot_choose_a_password_holding_the_username(db, people):
    with db.transaction() as s:
        admin = Actor.of(users.find_user(s, "admin.prov"))
        target = users.find_user(s, "verif.kab").id
    with db.transaction() as s, pytest.raises(Invalid) as made:
        administration.create_user(s, admin, "budi.santoso", "Budi", "", "verifier", "65.01", "budi.santoso-2026")
    assert [p.column for p in made.value.problems] == ["password"]
    with db.transaction() as s, pytest.raises(Invalid, match="Kata sandi tidak diatur"):
        administration.reset_password(s, admin, target, "sandi-verif.kab-1")


@pytest.mark.parametrize(
    ("password", "username", "refused"),
    [
        ("banikarta-tarakan", "ani", False),  # a short name found inside by chance
        ("ani-sandi-2026", "ani", True),  # but not at either end
        ("sandi-2026-ani", "ani", True),
        ("rahasia-budi.s-9", "budi.s", True),
    ],
)
def test_a_short_username_is_a_guess_only_at_either_end(password, username, refused):
    assert bool(users.password_problems(password, username)) is refused
    made = accounts.first_password(username)
    assert len(made) == 12 and not users.password_problems(made, username)
