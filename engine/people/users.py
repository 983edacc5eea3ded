"""Use cases for people: add a user or a role, check a password."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NotFound, Problem
from models import ROLE_TIERS, Region, Role, RoleAssignment, User

_hasher = PasswordHasher()  # production parameters; verification reads each hash's own
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10


def password_problems(password: str, username: str, column: str = "password") -> list[Problem]:
    """What makes a password too easy: shorter than MIN_PASSWORD once spaces are left out, one
    character over and over, or the username in it (the first guesses anyone makes)."""
    letters = "".join((password or "").split())
    if len(letters) < MIN_PASSWORD:
        return [Problem(f"minimal {MIN_PASSWORD} karakter selain spasi", column=column)]
    if len(set(letters)) == 1:
        return [Problem("kata sandi tidak boleh satu karakter yang diulang", column=column)]
    if _holds_username(letters.lower(), (username or "").lower()):
        return [Problem("kata sandi tidak boleh memuat nama pengguna", column=column)]
    return []


def _holds_username(password: str, username: str) -> bool:
    # a short username ("ani") is found by chance inside many passwords: only at either end is it a guess
    if len(username) < 4:
        return bool(username) and (password.startswith(username) or password.endswith(username))
    return username in password


def hash_password(password: str, username: str = "") -> str:
    problems = password_problems(password, username)
    if problems:
        raise Invalid("Kata sandi terlalu mudah ditebak", problems)
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash with the production parameters, checked when there is no user: the same work either way."""
    return _hasher.hash(secrets.token_hex(16))


def check_password(user: User | None, password: str) -> bool:
    stored = user.password_hash if user is not None else None
    try:
        return _hasher.verify(stored or dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username).options(joinedload(User.roles)))
    if user is None:
        raise NotFound(f"Pengguna {username!r} tidak ada")
    return user


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    role: str,
    region_kode: str,
    password: str | None = None,
    nama: str | None = None,
    chosen_for_them: bool = False,
) -> User:
    """Create the user if new, and bind the role to the region (idempotent). `chosen_for_them`: the
    password was chosen by someone else (an administrator, the command line), so the person changes
    it at sign-in before anything else."""
    if not USERNAME.match(username or ""):
        raise Invalid(
            f"Nama pengguna {username!r} tidak sah",
            [Problem("3-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung")],
        )
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise Invalid(f"Peran {role!r} tidak dikenal; gunakan {', '.join(r.value for r in Role)}") from exc
    region = session.get(Region, region_kode)
    if region is None:
        raise Invalid(f"Kode wilayah {region_kode!r} tidak dikenal")
    if region.berakhir is not None:
        raise Invalid(
            f"Kode wilayah {region_kode} sudah berakhir pada {region.berakhir:%d-%m-%Y}; gunakan kode penerusnya"
        )
    if region.tingkat not in ROLE_TIERS[role_value]:
        allowed = ", ".join(t.value for t in ROLE_TIERS[role_value])
        raise Invalid(
            f"Peran {role_value.value} tidak dapat diberikan di tingkat {region.tingkat.value}; "
            f"tingkat yang boleh: {allowed}"
        )
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            nama=nama or username,
            aktif=True,
            password_hash=hash_password(password, username) if password else None,
            ganti_sandi=bool(password) and chosen_for_them,
        )
        session.add(user)
        session.flush()
        audit.record(
            session, actor, AuditAction.USER_CREATED, "user", user.id, after={"username": username, "nama": user.nama}
        )
    elif password:
        user.password_hash = hash_password(password, username)
        user.ganti_sandi = chosen_for_them
        user.session_version = (user.session_version or 0) + 1  # a new password ends the sessions begun with the old
        audit.record(
            session, actor, AuditAction.USER_PASSWORD_SET, "user", user.id, after={"wajib_diganti": chosen_for_them}
        )
    if not any(a.role == role_value and a.region_kode == region_kode for a in user.roles):
        user.roles.append(RoleAssignment(role=role_value, region_kode=region_kode, tingkat=region.tingkat))
        session.flush()
        audit.record(
            session,
            actor,
            AuditAction.ROLE_ASSIGNED,
            "user",
            user.id,
            after={"role": role_value.value, "region_kode": region_kode, "tingkat": region.tingkat.value},
        )
    return user
