"""Who is told about an event: the people of the tier and region it concerns."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import events
from models import WORK_ROLES, Region, Role, RoleAssignment, Tier, User, ancestor_code, tier_of_code


def _at(session: Session, tier: Tier, region: str, roles: set[Role] = WORK_ROLES) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.tingkat == tier,
                RoleAssignment.region_kode == region,
                RoleAssignment.role.in_(roles),
                User.aktif.is_(True),
            )
            .distinct()
        )
    )


def operators_of(session: Session, kode_desa: str) -> list[User]:
    return _at(session, Tier.DESA, kode_desa, {Role.OPERATOR})


def _operators_within(session: Session, prefix: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == Role.OPERATOR,
                RoleAssignment.region_kode.like(f"{prefix}%"),
                User.aktif.is_(True),
            )
            .distinct()
        )
    )


def for_event(session: Session, event: events.DomainEvent) -> list[User]:
    match event:
        case events.TaskCreated() if event.peran:
            return _at(session, Tier(event.tingkat), event.region_kode, {Role(event.peran)})
        case events.TaskCreated() | events.TaskDueSoon():
            return _at(session, Tier(event.tingkat), event.region_kode)
        case events.TaskOverdue():  # the late tier and the tier above it (escalation)
            up, region = Tier(event.eskalasi_ke), event.region_kode
            above = ancestor_code(region, up) if tier_of_code(region).depth >= up.depth else region
            people = _at(session, Tier(event.tingkat), region) + _at(session, up, above)
            return list({u.id: u for u in people}.values())
        case events.SubmissionReturned() | events.SubmissionVerified():
            return operators_of(session, event.kode_desa)
        case events.CycleOpened():
            return _operators_within(session, event.region_kode)
        case events.CycleClosingSoon() | events.CycleClosed():
            return _operators_within(session, "")
    return []


def place_name(session: Session, event: events.DomainEvent) -> str:
    """The name of the desa (or region) an event is about, so a message names it, not only its code."""
    payload = event.payload()
    code = payload.get("kode_desa") or payload.get("region_kode")
    return (session.scalar(select(Region.nama).where(Region.kode == code)) or "") if code else ""
