"""Personal data (Law 27/2022): who sees a full NIK, and recording who looked one up."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine import audit
from engine.actors import Actor
from models import Role, Tier, contains


def mask_nik(nik: str | None) -> str:
    """`6501015705500001` → `6501********0001`: the region of issue and the serial stay readable."""
    if not nik:
        return ""
    return nik[:4] + "*" * max(0, len(nik) - 8) + nik[-4:] if len(nik) > 8 else "*" * len(nik)


def sees_full_nik(actor: Actor, kode_desa: str) -> bool:
    """Those who check people against documents: the desa's operator and the kecamatan verifier."""
    if actor.user is None:
        return True  # the command line runs on the server, by its administrators
    return any(contains(a.region_kode, kode_desa) and (
        a.role == Role.OPERATOR or (a.role == Role.VERIFIER and a.tingkat == Tier.KECAMATAN))
        for a in actor.user.roles)


def reveal_nik(session: Session, actor: Actor, record_id: int, nik: str, reason: str) -> str:
    """A full NIK shown on request: the lookup itself goes on the audit trail."""
    audit.record(session, actor, "NIK_VIEWED", "ppks_record", record_id, reason=reason or None)
    return nik
