"""Agency tokens: made by an admin, shown once, kept as a digest; checked on every API request.

A token reads `sjk_<prefix>_<secret>`. The prefix is public (it names the token in lists and in the
audit trail); the secret is 32 random bytes. Only the SHA-256 digest of the whole token is stored:
with a secret of 256 random bits a fast digest cannot be searched backwards, and a slow password
hash would cost every API request tens of milliseconds.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.agency_names import is_ours
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.people.scope import Scope
from models import AgencyToken, ApiResource, Region

SCHEME = "sjk"
RATE = re.compile(r"[1-9]\d{0,5}/(second|minute|hour|day)")
# An administrator writes the unit in Indonesian or in the limiter's English: stored in English.
UNITS = {"detik": "second", "menit": "minute", "jam": "hour", "hari": "day"}


def rate_of(written: str) -> str:
    """`120/menit` as the limiter reads it (`120/minute`); anything else as written, to be checked."""
    count, _, unit = written.strip().partition("/")
    return f"{count}/{UNITS.get(unit.strip().lower(), unit.strip())}" if unit else written.strip()


MAX_DAYS = 730
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often per token


class TokenState(enum.StrEnum):
    AKTIF = "aktif"
    DICABUT = "dicabut"
    KEDALUWARSA = "kedaluwarsa"


def state(token: AgencyToken, now: datetime | None = None) -> TokenState:
    if token.revoked_at is not None:
        return TokenState.DICABUT
    return TokenState.KEDALUWARSA if token.expires_at <= (now or clock.now()) else TokenState.AKTIF


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenRequest:
    instansi: str
    region_kode: str
    resources: tuple[str, ...]
    can_write: bool = False
    sees_nik: bool = False
    days: int = 365
    rate_limit: str = "120/minute"
    keterangan: str = ""


@dataclass
class Issued:
    token: AgencyToken
    secret: str  # the whole token, shown once and never again

    def to_dict(self) -> dict[str, Any]:
        return {**describe(self.token), "token": self.secret}


def describe(token: AgencyToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "prefix": token.prefix,
        "instansi": token.instansi,
        "keterangan": token.keterangan,
        "wilayah": token.region_kode,
        "sumber_daya": list(token.resources),
        "tulis": token.can_write,
        "nik_lengkap": token.sees_nik,
        "batas_laju": token.rate_limit,
        "kedaluwarsa": token.expires_at.isoformat(),
        "dibuat_oleh": token.created_by,  # whom to ask before revoking it, once its issuer has left
        "dicabut": token.revoked_at.isoformat() if token.revoked_at else None,
        "dicabut_oleh": token.revoked_by,
        "terakhir_dipakai": token.last_used_at.isoformat() if token.last_used_at else None,
        "status": state(token).value,
    }


WRITTEN = {ApiResource.ANGKA_INSTANSI, ApiResource.PENGAJUAN}  # the resources an agency sends data to


def _problems(session: Session, req: TokenRequest) -> list[Problem]:
    problems = []
    if not 1 <= len(req.instansi.strip()) <= 80:
        problems.append(Problem("wajib diisi, paling banyak 80 karakter", column="instansi"))
    elif is_ours(req.instansi):  # however it is written: its figures would be refused as Dinas Sosial's
        ours = f"{req.instansi.strip()!r} adalah Dinas Sosial sendiri, bukan instansi lain"
        problems.append(Problem(ours, column="instansi"))
    region = session.get(Region, req.region_kode)
    if region is None:
        problems.append(Problem(f"kode wilayah {req.region_kode!r} tidak dikenal", column="wilayah"))
    elif region.berakhir is not None:
        problems.append(
            Problem(f"kode wilayah {req.region_kode} sudah berakhir; gunakan kode penerusnya", column="wilayah")
        )
    known = {r.value for r in ApiResource}
    if not req.resources or not set(req.resources) <= known:
        problems.append(Problem(f"pilih satu atau lebih dari: {', '.join(sorted(known))}", column="sumber_daya"))
    chosen = set(req.resources)
    if req.sees_nik and ApiResource.CATATAN not in chosen:  # a right that reaches nothing is a mistake
        problems.append(Problem("NIK lengkap hanya berlaku bersama sumber daya catatan", column="nik_lengkap"))
    if req.can_write and not chosen & WRITTEN:
        problems.append(Problem("hak mengirim hanya berlaku bersama angka-instansi atau pengajuan", column="tulis"))
    if chosen & WRITTEN and not req.can_write:  # both are only sent to: without the right, nothing reaches them
        problems.append(
            Problem("angka-instansi dan pengajuan hanya dapat dikirim: centang hak mengirim", column="tulis")
        )
    if not RATE.fullmatch(rate_of(req.rate_limit)):
        problems.append(Problem("mis. 120/menit (per detik, menit, jam atau hari)", column="batas_laju"))
    if not 1 <= req.days <= MAX_DAYS:
        problems.append(Problem(f"masa berlaku 1 sampai {MAX_DAYS} hari", column="hari"))
    if len(req.keterangan.strip()) > 200:  # measured as kept
        problems.append(Problem("paling banyak 200 karakter", column="keterangan"))
    return problems


def create_token(session: Session, actor: Actor, req: TokenRequest) -> Issued:
    """A new token for an agency, bound to a region, resources and rights; the secret is returned once."""
    scope = Scope.administering(actor).require_any()
    problems = _problems(session, req)
    if problems:
        raise Invalid("Token belum dapat dibuat", problems)
    scope.require_field(req.region_kode, "wilayah")
    if req.sees_nik and not scope.whole_province:  # full NIKs for an agency: the province decides
        raise Forbidden("Token dengan NIK lengkap hanya dibuat oleh admin tingkat provinsi")
    prefix = secrets.token_hex(4)
    secret = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    token = AgencyToken(
        prefix=prefix,
        secret_hash=digest(secret),
        instansi=req.instansi.strip(),
        keterangan=req.keterangan.strip(),
        region_kode=req.region_kode,
        resources=sorted(set(req.resources)),
        can_write=req.can_write,
        sees_nik=req.sees_nik,
        rate_limit=rate_of(req.rate_limit),
        expires_at=now + timedelta(days=req.days),
        created_by=actor.name,
        created_at=now,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, AuditAction.TOKEN_CREATED, "agency_token", token.id, after=describe(token))
    return Issued(token, secret)


def list_tokens(session: Session, actor: Actor) -> list[AgencyToken]:
    scope = Scope.administering(actor).require_any()
    return list(
        session.scalars(select(AgencyToken).where(scope.where(AgencyToken.region_kode)).order_by(AgencyToken.id.desc()))
    )


def revoke_token(session: Session, actor: Actor, token_id: int, reason: str = "") -> AgencyToken:
    scope = Scope.administering(actor).require_any()
    token = session.get(AgencyToken, token_id)
    if token is None or not scope.contains(token.region_kode):
        raise NotFound(f"Token {token_id} tidak ada")
    if token.revoked_at is not None:
        raise Conflict(f"Token {token.prefix} sudah dicabut")
    before = describe(token)
    token.revoked_at, token.revoked_by = clock.now(), actor.name
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.TOKEN_REVOKED,
        "agency_token",
        token.id,
        before=before,
        after=describe(token),
        reason=reason.strip()[:500] or None,
    )
    return token


def move_token(session: Session, actor: Actor, token_id: int, region_kode: str, reason: str) -> AgencyToken:
    """Bind a token to the region that carries on from its ended one (a region recoded or merged by a
    decree): the agency's system goes on reading the same people under the new code."""
    Scope.administering(actor).require_province()
    token = session.get(AgencyToken, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} tidak ada")
    before = describe(token)
    token.region_kode = region_kode
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.TOKEN_MOVED,
        "agency_token",
        token.id,
        before=before,
        after=describe(token),
        reason=reason,
    )
    return token


@dataclass
class Presented:
    token: AgencyToken | None
    refusal: str = ""


def authenticate(session: Session, presented: str) -> Presented:
    """The token a request presents, or why it is refused (the same words whatever is wrong with the secret)."""
    parts = presented.split("_", 2)
    unknown = Presented(None, "Token tidak dikenal")
    if len(parts) != 3 or parts[0] != SCHEME or not re.fullmatch(r"[0-9a-f]{8}", parts[1]) or len(presented) > 100:
        return unknown
    token = session.scalar(select(AgencyToken).where(AgencyToken.prefix == parts[1]))
    if token is None or not hmac.compare_digest(token.secret_hash, digest(presented)):
        return unknown
    found = state(token)
    if found == TokenState.DICABUT:
        return Presented(None, "Token sudah dicabut")
    if found == TokenState.KEDALUWARSA:
        return Presented(None, "Token sudah kedaluwarsa")
    return Presented(token)


def touch(session: Session, token: AgencyToken) -> None:
    """Record the token's last use (at most once a minute: reads should not each become a write)."""
    now = clock.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    # by statement: `token` may belong to another (reading) session, which must not write it back
    session.execute(update(AgencyToken).where(AgencyToken.id == token.id).values(last_used_at=now))
