"""Signing in, with failed attempts slowing the next ones down, and changing a password.

Failures back off instead of locking out: after a few failures, the next attempt must wait a
delay that doubles with each further failure, up to a cap, and then a right password works again.
Failures are counted three ways, each with its own threshold: for a username from one address (a
person mistyping), for a username from anywhere (guesses spread over addresses) and for an address
(one machine guessing many usernames; behind a reverse proxy the address is the client's, see
`proxy_hops`). An unknown username costs the same password check as a known one, so timing
does not tell which usernames exist. Failed attempts older than the window are purged by a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from engine.core import audit, clock, rows
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound, Problem, phrase
from engine.core.uow import Database
from engine.people import users
from engine.people.scope import Scope
from models import LoginAttempt, RoleAssignment, User

LOCKS = 6_500_002  # PostgreSQL advisory lock space of sign-in attempts (`_one_attempt_at_a_time`)
WINDOW = timedelta(minutes=15)  # failures older than this no longer count, and are purged
USERNAME_CHARS: int = LoginAttempt.__table__.c.username.type.length  # type: ignore[attr-defined]
ADDRESS_CHARS: int = LoginAttempt.__table__.c.address.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BackOff:
    """Failures before the first wait, and the longest wait."""

    free_failures: int
    longest: timedelta = timedelta(minutes=5)

    def wait(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta(0)
        doubling = min(failures - self.free_failures, 20)
        return min(timedelta(seconds=2**doubling), self.longest)


PER_USERNAME_AND_ADDRESS = BackOff(free_failures=5)
PER_USERNAME = BackOff(free_failures=10)
PER_ADDRESS = BackOff(free_failures=20)


class Throttled(Forbidden):
    http_status = 429


def _failures(session: Session, *conditions: Any) -> tuple[int, datetime | None]:
    since = clock.now() - WINDOW
    count, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(LoginAttempt.at >= since, *conditions)
    ).one()
    return count or 0, last


def _earliest_next_attempt(session: Session, username: str, address: str) -> datetime | None:
    checks = (
        (PER_USERNAME_AND_ADDRESS, (LoginAttempt.username == username, LoginAttempt.address == address)),
        (PER_USERNAME, (LoginAttempt.username == username,)),
        (PER_ADDRESS, (LoginAttempt.address == address,)),
    )
    latest = None
    for backoff, conditions in checks:
        count, last = _failures(session, *conditions)
        wait = backoff.wait(count)
        if last is not None and wait:
            allowed = (last if last.tzinfo else last.replace(tzinfo=UTC)) + wait
            latest = allowed if latest is None or allowed > latest else latest
    return latest


def _one_attempt_at_a_time(session: Session, username: str, address: str) -> None:
    """Attempts for one username, and from one address, are judged in turn: read, check and record
    concurrently, two dozen guesses at once would each find the failures before them uncommitted and
    all be checked. PostgreSQL takes a transaction lock per key (always username before address, so
    two attempts never wait on each other in a circle); SQLite writes one transaction at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in (f"u:{username}", f"a:{address}"):
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"), {"space": LOCKS, "key": key})


def _refuse_if_waiting(session: Session, username: str, address: str) -> None:
    allowed_at = _earliest_next_attempt(session, username, address)
    if allowed_at is not None and allowed_at > clock.now():
        seconds = max(1, int((allowed_at - clock.now()).total_seconds() + 0.999))
        raise Throttled(f"Terlalu banyak percobaan masuk yang gagal; coba lagi dalam {seconds} detik")


def _failed(session: Session, user: User | None, username: str, address: str, where: str) -> None:
    """A wrong password counts towards the back-off; tried on an account, it goes on the audit trail
    under it. A username no account has is counted only (and purged with the attempts): what was typed
    is often a password, and anyone could fill the trail with names from addresses of their own."""
    session.add(LoginAttempt(username=username, address=address, at=clock.now()))
    if user is not None:
        after = {"address": address, "pada": where}
        audit.record(session, Actor.of(user), AuditAction.USER_SIGN_IN_FAILED, "user", user.id, after=after)


def authenticate(session: Session, username: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None (the failure is recorded, and committed by
    the caller like any other change, so that repeated guesses are slowed down)."""
    username = (username or "").strip().lower()[: USERNAME_CHARS + 1]
    address = (address or "-")[:ADDRESS_CHARS]
    _one_attempt_at_a_time(session, username[:USERNAME_CHARS], address)
    _refuse_if_waiting(session, username[:USERNAME_CHARS], address)
    user = None
    if len(username) <= USERNAME_CHARS:
        user = session.scalar(select(User).where(User.username == username))
    known = user is not None and user.aktif
    # The password is checked whether or not the person exists: the same work either way.
    right = users.check_password(user if known else None, password or "")
    if not (known and right):
        _failed(session, user, username[:USERNAME_CHARS], address, "masuk")
        return None
    assert user is not None
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.address == address))
    audit.record(session, Actor.of(user), AuditAction.USER_LOGGED_IN, "user", user.id, after={"address": address})
    return user


def unlock(session: Session, actor: Actor, username: str) -> int:
    """An administrator clears a username's failed attempts, so it may sign in at once."""
    scope = Scope.administering(actor).require_any()
    username = (username or "").strip().lower()[:USERNAME_CHARS]
    held = session.scalars(
        select(RoleAssignment.region_kode)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.username == username)
    ).all()
    if not scope.manages(list(held)):
        raise NotFound(f"Pengguna {username} tidak ada di wilayah Anda")
    cleared = rows.affected(session.execute(delete(LoginAttempt).where(LoginAttempt.username == username)))
    audit.record(session, actor, AuditAction.USER_UNLOCKED, "user", username, after={"attempts_cleared": cleared})
    return cleared


def purge_attempts(db: Database, now: datetime) -> str:
    """The scheduled purge of failed attempts that no longer count."""
    with db.transaction() as session:
        gone = rows.affected(session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - WINDOW)))
    return phrase(f"{gone} percobaan masuk lama dihapus")


def end_sessions(user: User) -> None:
    """Every session of this person ends: cookies carry the version, which no longer matches."""
    user.session_version = (user.session_version or 0) + 1


def sign_out_everywhere(session: Session, actor: Actor) -> User:
    user = session.merge(actor.require_person("Hanya pengguna yang dapat keluar"))
    end_sessions(user)
    audit.record(session, actor, AuditAction.USER_LOGGED_OUT, "user", user.id)
    return user


def change_password(session: Session, actor: Actor, current: str, new: str, repeat: str, address: str) -> User | None:
    """The person's new password, or None when the current one given is wrong: that failure counts
    as a failed sign-in (committed by the caller), so that a session left open does not let someone
    guess the password at leisure. The new password's own problems are told first, before any check."""
    user = session.merge(actor.require_person("Hanya pengguna yang dapat mengganti kata sandi"))
    problems = users.password_problems(new, user.username, column="new")
    if new != repeat:
        problems.append(Problem("kedua kata sandi baru tidak sama", column="repeat"))
    elif new and new == current:
        problems.append(Problem("kata sandi baru harus berbeda dari yang sekarang", column="new"))
    if problems:
        raise Invalid("Kata sandi tidak diganti", problems)
    address = (address or "-")[:ADDRESS_CHARS]
    _one_attempt_at_a_time(session, user.username, address)
    _refuse_if_waiting(session, user.username, address)
    if not users.check_password(user, current or ""):
        _failed(session, user, user.username, address, "ganti kata sandi")
        return None
    user.password_hash = users.hash_password(new)
    user.ganti_sandi = False
    end_sessions(user)  # a session someone else holds ends with the old password
    audit.record(session, actor, AuditAction.USER_PASSWORD_CHANGED, "user", user.id)
    return user
