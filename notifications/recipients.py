"""Who is told about an event: the people of the tier and region it concerns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import WORK_ROLES, Role, RoleAssignment, Tier, User, ancestor_code, tier_of_code


def _at(session: Session, tier: Tier, region: str, roles: set[Role] = WORK_ROLES) -> list[User]:
    return list(session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        RoleAssignment.tingkat == tier, RoleAssignment.region_kode == region, RoleAssignment.role.in_(roles),
        User.aktif.is_(True)).distinct()))


def operators_of(session: Session, kode_desa: str) -> list[User]:
    return _at(session, Tier.DESA, kode_desa, {Role.OPERATOR})


def for_event(session: Session, event_type: str, payload: dict[str, Any]) -> list[User]:
    if event_type in ("task.created", "task.due_soon"):
        return _at(session, Tier(payload["tingkat"]), payload["region_kode"])
    if event_type == "task.overdue":  # the late tier and the tier above it (escalation)
        up = Tier(payload["eskalasi_ke"])
        region = payload["region_kode"]
        above = ancestor_code(region, up) if tier_of_code(region).depth >= up.depth else region
        people = _at(session, Tier(payload["tingkat"]), region) + _at(session, up, above)
        return list({u.id: u for u in people}.values())
    if event_type in ("submission.returned", "submission.verified"):
        return operators_of(session, payload["kode_desa"])
    if event_type in ("cycle.opened", "cycle.closing_soon", "cycle.closed"):
        prefix = payload.get("wilayah") or ""
        return list(session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
            RoleAssignment.role == Role.OPERATOR, RoleAssignment.region_kode.like(f"{prefix}%"),
            User.aktif.is_(True)).distinct()))
    return []
