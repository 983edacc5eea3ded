"""Signing in, with failed attempts slowing the next ones down, and changing a password."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import audit, clock, users
from engine.actors import Actor
from engine.errors import Forbidden, Invalid, Problem
from models import LoginAttempt, User

WINDOW = timedelta(minutes=15)
MAX_PER_USERNAME = 5
MAX_PER_ADDRESS = 20
LOGIN_FAILED = "Nama pengguna atau kata sandi salah"


class Throttled(Forbidden):
    http_status = 429


def _recent_failures(session: Session, column: object, value: str) -> int:
    since = clock.now() - WINDOW
    return session.scalar(select(func.count()).select_from(LoginAttempt)
                          .where(column == value, LoginAttempt.at >= since)) or 0


def authenticate(session: Session, username: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None (the failure is recorded, and committed by
    the caller like any other change, so that repeated guesses are slowed down)."""
    username = (username or "").strip().lower()
    if (_recent_failures(session, LoginAttempt.username, username) >= MAX_PER_USERNAME
            or _recent_failures(session, LoginAttempt.address, address) >= MAX_PER_ADDRESS):
        raise Throttled(f"Terlalu banyak percobaan masuk yang gagal; coba lagi dalam "
                        f"{int(WINDOW.total_seconds() // 60)} menit")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.aktif or not users.check_password(user, password or ""):
        session.add(LoginAttempt(username=username, address=address, at=clock.now()))
        return None
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    audit.record(session, Actor.of(user), "USER_LOGGED_IN", "user", user.id, after={"address": address})
    return user


def change_password(session: Session, actor: Actor, current: str, new: str, repeat: str) -> None:
    user = actor.user
    if user is None:
        raise Forbidden("Hanya pengguna yang dapat mengganti kata sandi")
    user = session.merge(user)
    problems = []
    if not users.check_password(user, current or ""):
        problems.append(Problem("kata sandi sekarang salah", column="current"))
    if new != repeat:
        problems.append(Problem("kedua kata sandi baru tidak sama", column="repeat"))
    if len(new or "") < users.MIN_PASSWORD:
        problems.append(Problem(f"minimal {users.MIN_PASSWORD} karakter", column="new"))
    if problems:
        raise Invalid("Kata sandi tidak diganti", problems)
    user.password_hash = users.hash_password(new)
    audit.record(session, actor, "USER_PASSWORD_CHANGED", "user", user.id)
