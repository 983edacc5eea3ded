"""Who holds a region code that ends by a decree: the people's roles and the agencies' tokens, and
carrying them over to the region that carries on from it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.people import administration, tokens
from models import AgencyToken, RoleAssignment, User


@dataclass(frozen=True)
class RoleMove:
    assignment_id: int
    username: str
    role: str
    kode: str
    penerus: str | None  # None: the role ends with its region


@dataclass(frozen=True)
class TokenMove:
    token_id: int
    prefix: str
    instansi: str
    kode: str
    penerus: str | None  # None: it stays bound to the ended code (its history still reads)


def role_moves(session: Session, successor: dict[str, str | None]) -> list[RoleMove]:
    """Roles held at an ending code: each moves to its successor, or ends with it."""
    if not successor:
        return []
    held = session.execute(
        select(RoleAssignment.id, User.username, RoleAssignment.role, RoleAssignment.region_kode)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.region_kode.in_(successor))
        .order_by(RoleAssignment.region_kode, User.username)
    ).all()
    return [RoleMove(i, name, role.value, kode, successor[kode]) for i, name, role, kode in held]


def token_moves(session: Session, successor: dict[str, str | None]) -> list[TokenMove]:
    """Agencies' tokens bound to an ending code, not revoked: each moves to the successor, if any."""
    if not successor:
        return []
    bound = session.scalars(
        select(AgencyToken)
        .where(AgencyToken.region_kode.in_(successor), AgencyToken.revoked_at.is_(None))
        .order_by(AgencyToken.id)
    )
    return [TokenMove(t.id, t.prefix, t.instansi, t.region_kode, successor[t.region_kode]) for t in bound]


def move(session: Session, actor: Actor, roles: list[RoleMove], bound: list[TokenMove], reason: str) -> None:
    """Carry the roles and tokens over to the successors (a role without one ends), with the decree."""
    for role in roles:
        if role.penerus is None:
            administration.remove_role(session, actor, role.assignment_id, reason)
        else:
            administration.move_role(session, actor, role.assignment_id, role.penerus, reason)
    for token in bound:
        if token.penerus:
            tokens.move_token(session, actor, token.token_id, token.penerus, reason)
