"""Administrators' use cases: people and their roles, regions to pick from, comparing versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine import audit, users
from engine.actors import Actor
from engine.definitions import NS
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from models import ProcessDefinition, Region, Role, RoleAssignment, User


def require_admin(actor: Actor) -> None:
    if actor.user is not None and not actor.has_role(Role.ADMIN):
        raise Forbidden("Halaman ini untuk admin")


def list_users(session: Session, actor: Actor, query: str = "") -> list[User]:
    require_admin(actor)
    q = select(User).options(selectinload(User.roles)).order_by(User.username)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        q = q.where(or_(func.lower(User.username).like(like), func.lower(User.nama).like(like)))
    return list(session.scalars(q.limit(500)))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    require_admin(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"Pengguna {user_id} tidak ada")
    return user


def create_user(session: Session, actor: Actor, username: str, nama: str, email: str, role: str,
                region_kode: str, password: str) -> User:
    require_admin(actor)
    if not password:
        raise Invalid("Kata sandi awal wajib diisi")
    user = users.add_user(session, actor, username.strip().lower(), role, region_kode.strip(), password=password,
                          nama=nama.strip() or None)
    user.email = email.strip() or None
    return user


def assign_role(session: Session, actor: Actor, user_id: int, role: str, region_kode: str) -> User:
    user = get_user(session, actor, user_id)
    return users.add_user(session, actor, user.username, role, region_kode.strip())


def remove_role(session: Session, actor: Actor, assignment_id: int) -> None:
    require_admin(actor)
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"Peran {assignment_id} tidak ada")
    if actor.user is not None and assignment.user_id == actor.user.id and assignment.role == Role.ADMIN:
        raise Conflict("Anda tidak dapat mencabut peran admin Anda sendiri")
    audit.record(session, actor, "ROLE_REMOVED", "user", assignment.user_id,
                 before={"role": assignment.role.value, "region_kode": assignment.region_kode})
    session.delete(assignment)


def set_active(session: Session, actor: Actor, user_id: int, aktif: bool) -> User:
    user = get_user(session, actor, user_id)
    if actor.user is not None and user.id == actor.user.id and not aktif:
        raise Conflict("Anda tidak dapat menonaktifkan akun Anda sendiri")
    if user.aktif != aktif:
        audit.record(session, actor, "USER_ACTIVATED" if aktif else "USER_DEACTIVATED", "user", user.id,
                     before={"aktif": user.aktif}, after={"aktif": aktif})
        user.aktif = aktif
    return user


def search_regions(session: Session, query: str, province: str, limit: int = 20) -> list[dict[str, Any]]:
    """Regions of the province whose code starts with, or whose name contains, the query."""
    text = (query or "").strip()
    if len(text) < 2:
        return []
    q = select(Region).where(or_(Region.kode == province, Region.kode.like(f"{province}.%")))
    if text[0].isdigit():
        q = q.where(Region.kode.like(f"{text}%"))
    else:
        q = q.where(func.lower(Region.nama).like(f"%{text.lower()}%"))
    found = list(session.scalars(q.order_by(func.length(Region.kode), Region.kode).limit(limit)))
    parents = {r.kode: r.nama for r in session.scalars(select(Region).where(
        Region.kode.in_({p for r in found for p in _ancestors(r.kode)})))}
    return [{"kode": r.kode, "nama": r.nama, "tingkat": r.tingkat.value,
             "di": ", ".join(parents[p] for p in reversed(_ancestors(r.kode)) if p in parents)} for r in found]


def _ancestors(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


@dataclass
class Comparison:
    left: ProcessDefinition
    right: ProcessDefinition
    diff_html: str
    added: list[str]
    removed: list[str]
    changed: list[str]


def _elements(xml: str) -> dict[str, str]:
    """Each BPMN element of the process by id, as canonical text without its diagram layout."""
    root = etree.fromstring(xml.encode("utf-8"))
    found = {}
    for node in root.xpath(".//bpmn:process//*[@id]", namespaces=NS):
        found[node.get("id")] = etree.tostring(node, method="c14n").decode()
    return found


def definition(session: Session, actor: Actor, definition_id: int) -> ProcessDefinition:
    require_admin(actor)
    found = session.get(ProcessDefinition, definition_id)
    if found is None:
        raise NotFound(f"Definisi {definition_id} tidak ada")
    return found


def compare(session: Session, actor: Actor, left_id: int, right_id: int) -> Comparison:
    left, right = definition(session, actor, left_id), definition(session, actor, right_id)
    a, b = _elements(left.bpmn_xml), _elements(right.bpmn_xml)
    diff = difflib.HtmlDiff(wrapcolumn=90).make_table(
        left.bpmn_xml.splitlines(), right.bpmn_xml.splitlines(), f"versi {left.version}", f"versi {right.version}",
        context=True, numlines=2)
    return Comparison(left, right, diff, added=sorted(b.keys() - a.keys()), removed=sorted(a.keys() - b.keys()),
                      changed=sorted(k for k in a.keys() & b.keys() if a[k] != b[k]))
