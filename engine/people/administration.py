"""Administrators' use cases on people: accounts, their roles, and regions to pick from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.core import audit, events, jobs, searching
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound, Problem
from engine.core.paging import page_of
from engine.people import sign_in, users
from engine.people.scope import Scope
from models import (
    AuditEvent,
    EmailMessage,
    HumanTask,
    JobRun,
    OutboxEvent,
    Region,
    Role,
    RoleAssignment,
    TaskStatus,
    User,
)


@dataclass(frozen=True)
class ScheduleStatus:
    runs: list[JobRun]  # the scheduled jobs' latest runs, failures included
    failed_emails: list[EmailMessage]  # not sent, and why the mail server refused
    stuck_events: list[OutboxEvent]  # events a subscriber could not take


def schedule_status(session: Session, actor: Actor, limit: int = 100) -> ScheduleStatus:
    """What the scheduler and the outbox did, for the province's admins: the jobs and e-mails are
    the whole province's."""
    require_admin(actor).require_province()
    failed = session.scalars(
        select(EmailMessage)
        .where(EmailMessage.sent_at.is_(None), EmailMessage.last_error.is_not(None))
        .order_by(EmailMessage.id.desc())
        .limit(limit)
    )
    return ScheduleStatus(jobs.history(session), list(failed), events.failures(session, limit))


def require_admin(actor: Actor) -> Scope:
    return Scope.administering(actor).require_any()


PEOPLE_PAGE = 100  # people a page lists (a province has one operator per desa: 482, and its verifiers)


@dataclass
class PeoplePage:
    users: list[User]
    total: int
    page: int
    pages: int


def list_users(session: Session, actor: Actor, query: str = "", page: int = 1) -> PeoplePage:
    """The people an admin sees, a page at a time: those holding a role in the admin's regions (a
    province admin: all), found by username, name or the code of a region they hold a role in."""
    scope = require_admin(actor)
    wanted = select(User.id)
    text = query.strip().lower()
    if text:
        holding = select(RoleAssignment.user_id).where(searching.starting_with(RoleAssignment.region_kode, text))
        wanted = wanted.where(
            or_(searching.containing(User.username, text), searching.containing(User.nama, text), User.id.in_(holding))
        )
    if not scope.whole_province:
        wanted = wanted.where(
            User.id.in_(select(RoleAssignment.user_id).where(scope.where(RoleAssignment.region_kode)))
        )
    total = session.scalar(select(func.count()).select_from(wanted.subquery())) or 0
    page, pages, offset = page_of(total, page, PEOPLE_PAGE)
    found = session.scalars(
        select(User)
        .options(selectinload(User.roles))
        .where(User.id.in_(wanted))
        .order_by(User.username)
        .offset(offset)
        .limit(PEOPLE_PAGE)
    )
    return PeoplePage(list(found), total, page, pages)


def _seen(scope: Scope, user: User) -> bool:
    """An admin sees a person holding a role in one of the admin's regions; a province admin, everyone."""
    return scope.whole_province or any(scope.contains(a.region_kode) for a in user.roles)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """A person the admin sees (else "not there", as any page outside a person's regions)."""
    scope = require_admin(actor)
    user = session.get(User, user_id)
    if user is None or not _seen(scope, user):
        raise NotFound(f"Pengguna {user_id} tidak ada")
    return user


ACCOUNT_HISTORY = 50  # the latest changes to an account on its page; all of them are on the audit trail
# signing in and out, and wrong passwords (someone guessing would push every change off the list)
SIGNING = (
    AuditAction.USER_LOGGED_IN.value,
    AuditAction.USER_LOGGED_OUT.value,
    AuditAction.USER_SIGN_IN_FAILED.value,
)


@dataclass(frozen=True)
class AccountHistory:
    changes: list[AuditEvent]  # newest first
    last_sign_in: AuditEvent | None


def account_history(session: Session, actor: Actor, user_id: int) -> AccountHistory:
    """The latest changes to a person's account (made, roles, address, password, active or not,
    unlocked), newest first, and the last sign-in, for an admin who sees the person. Sign-ins are
    kept apart: a person signing in daily would push every change off the list."""
    user = get_user(session, actor, user_id)
    about = (
        AuditEvent.subject_type == "user",
        or_(  # an unlock names the username: it clears attempts, which are kept by the name typed
            AuditEvent.subject_id == str(user.id),
            (AuditEvent.action == AuditAction.USER_UNLOCKED.value) & (AuditEvent.subject_id == user.username),
        ),
    )
    changes = session.scalars(
        select(AuditEvent)
        .where(*about, AuditEvent.action.not_in(SIGNING))
        .order_by(AuditEvent.seq.desc())
        .limit(ACCOUNT_HISTORY)
    )
    last = session.scalar(
        select(AuditEvent)
        .where(*about, AuditEvent.action == AuditAction.USER_LOGGED_IN.value)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return AccountHistory(list(changes), last)


def _user_in_care(session: Session, actor: Actor, user_id: int) -> User:
    """An admin changes an account (its address, whether it may sign in) only when every role of the
    person lies in the admin's regions: a regency's admin cannot shut out the province's people, or
    send another regency's mail elsewhere."""
    user = get_user(session, actor, user_id)
    if not require_admin(actor).manages([a.region_kode for a in user.roles]):
        raise Forbidden(
            f"{user.username} memegang peran di luar wilayah Anda; hanya admin provinsi yang dapat mengubah akunnya"
        )
    return user


def create_user(
    session: Session, actor: Actor, username: str, nama: str, email: str, role: str, region_kode: str, password: str
) -> User:
    scope = require_admin(actor)
    username, nama = username.strip().lower(), " ".join(nama.split())
    problems = _new_person_problems(session, username, nama, email, region_kode, password)
    if problems:
        raise Invalid("Pengguna belum dapat dibuat", problems)
    scope.require_field(region_kode.strip(), "region")  # roles only within the admin's regions
    user = users.add_user(
        session,
        actor,
        username,
        role,
        region_kode.strip(),
        password=password,
        nama=nama or None,
        chosen_for_them=True,  # the administrator knows this password: the person replaces it first
    )
    if email.strip():  # the address is part of the account as created: on the trail as its later changes are
        audit.record(session, actor, AuditAction.USER_EMAIL_SET, "user", user.id, after={"email": email.strip()})
    user.email = email.strip() or None
    return user


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    """A new password for a person who forgot theirs: every session of theirs ends, and they change
    it at their next sign-in (the administrator knows it)."""
    user = _user_in_care(session, actor, user_id)
    if problems := users.password_problems(password, user.username):
        raise Invalid("Kata sandi tidak diatur", problems)
    user.password_hash = users.hash_password(password, user.username)
    user.ganti_sandi = True
    user.session_version = (user.session_version or 0) + 1
    audit.record(session, actor, AuditAction.USER_PASSWORD_SET, "user", user.id, after={"wajib_diganti": True})
    sign_in.unlock(session, actor, user.username)  # a person who forgot it has often been held back too
    return user


EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")  # the shape of an address; delivery proves the rest
NAME_CHARS, EMAIL_CHARS = 120, 200  # as app_user keeps them


def _email_problems(address: str) -> list[Problem]:
    """An address is optional; one given has the shape of an address and fits its column."""
    if len(address) > EMAIL_CHARS:
        return [Problem(f"paling banyak {EMAIL_CHARS} karakter", column="email")]
    if address and not address.isprintable():
        return [Problem("memuat karakter tak terlihat atau karakter kendali; ketik ulang alamatnya", column="email")]
    if not address or EMAIL.fullmatch(address):
        return []
    return [Problem("bukan alamat surel, mis. nama@dinsos.kaltaraprov.go.id", column="email")]


def _name_problems(nama: str) -> list[Problem]:
    """A person's name fits its column and holds no invisible characters (a right-to-left override
    would show another name than the one kept)."""
    if len(nama) > NAME_CHARS:
        return [Problem(f"paling banyak {NAME_CHARS} karakter", column="nama")]
    if not nama.isprintable():
        return [Problem("memuat karakter tak terlihat atau karakter kendali; ketik ulang namanya", column="nama")]
    return []


def _new_person_problems(
    session: Session, username: str, nama: str, email: str, region_kode: str, password: str
) -> list[Problem]:
    """Every fault of the new person's form at once, each on its field (the role's own checks follow)."""
    problems = []
    if not users.USERNAME.match(username):
        problems.append(
            Problem("3-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung", column="username")
        )
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        # Creating is not updating: an existing account keeps its password, roles and e-mail.
        problems.append(
            Problem(
                f"{username} sudah dipakai: pilih nama lain, atau tambahkan peran di halaman pengguna itu",
                column="username",
            )
        )
    problems += _name_problems(nama) + _email_problems(email.strip())
    problems += users.password_problems(password, username)
    if not region_kode.strip():
        problems.append(Problem("wajib diisi: pilih wilayah peran ini", column="region"))
    return problems


def set_email(session: Session, actor: Actor, user_id: int, email: str) -> User:
    """The address e-mails go to (empty: none); a person without one gets no e-mail at all."""
    user = _user_in_care(session, actor, user_id)
    address = email.strip()
    if problems := _email_problems(address):
        raise Invalid("Alamat surel belum benar", problems)
    if (user.email or "") != address:
        audit.record(
            session,
            actor,
            AuditAction.USER_EMAIL_SET,
            "user",
            user.id,
            before={"email": user.email},
            after={"email": address or None},
        )
        user.email = address or None
    return user


def assign_role(session: Session, actor: Actor, user_id: int, role: str, region_kode: str) -> bool:
    """Give the person a role in a region; False when they already hold it (nothing changes)."""
    user = get_user(session, actor, user_id)
    require_admin(actor).require_field(region_kode.strip(), "region")
    if user.id == actor.user_id:  # an admin who could give themselves a working or auditing role would read every NIK
        raise Forbidden("Anda tidak dapat memberi peran kepada diri sendiri; minta admin lain")
    held = {(a.role.value, a.region_kode) for a in user.roles}
    changed = users.add_user(session, actor, user.username, role, region_kode.strip())
    if (role, region_kode.strip()) in held:
        return False
    changed.session_version = (changed.session_version or 0) + 1  # sessions carry the roles they began with
    return True


def remove_role(session: Session, actor: Actor, assignment_id: int, reason: str | None = None) -> None:
    scope = require_admin(actor)
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None or not scope.contains(assignment.region_kode):
        raise NotFound(f"Peran {assignment_id} tidak ada")
    if assignment.user_id == actor.user_id and assignment.role == Role.ADMIN:
        raise Forbidden("Anda tidak dapat mencabut peran admin Anda sendiri")
    audit.record(
        session,
        actor,
        AuditAction.ROLE_REMOVED,
        "user",
        assignment.user_id,
        before={"role": assignment.role.value, "region_kode": assignment.region_kode},
        reason=reason,
    )
    holder = session.get(User, assignment.user_id)
    if holder is not None:
        holder.session_version = (holder.session_version or 0) + 1  # the role ends in open sessions too
        _release_claims(session, actor, holder, assignment)
    session.delete(assignment)


def move_role(session: Session, actor: Actor, assignment_id: int, region_kode: str, reason: str) -> None:
    """Carry a role over to the region that carries on from its ended one (a merged or recoded
    region); a role the person already holds there ends instead of being held twice."""
    require_admin(actor).require_province()  # a decree's change, applied for the whole province
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"Peran {assignment_id} tidak ada")
    duplicate = session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == assignment.user_id,
            RoleAssignment.role == assignment.role,
            RoleAssignment.region_kode == region_kode,
        )
    )
    if duplicate is not None:
        remove_role(session, actor, assignment_id, reason)
        return
    before = {"role": assignment.role.value, "region_kode": assignment.region_kode}
    assignment.region_kode = region_kode
    audit.record(
        session,
        actor,
        AuditAction.ROLE_ASSIGNED,
        "user",
        assignment.user_id,
        before=before,
        after={"role": assignment.role.value, "region_kode": region_kode},
        reason=reason,
    )
    holder = session.get(User, assignment.user_id)
    if holder is not None:
        holder.session_version = (holder.session_version or 0) + 1  # sessions carry the regions they began with


def set_active(session: Session, actor: Actor, user_id: int, aktif: bool) -> User:
    user = _user_in_care(session, actor, user_id)
    if user.id == actor.user_id and not aktif:
        raise Forbidden("Anda tidak dapat menonaktifkan akun Anda sendiri")
    if user.aktif != aktif:
        audit.record(
            session,
            actor,
            AuditAction.USER_ACTIVATED if aktif else AuditAction.USER_DEACTIVATED,
            "user",
            user.id,
            before={"aktif": user.aktif},
            after={"aktif": aktif},
        )
        user.aktif = aktif
        user.session_version = (user.session_version or 0) + 1
        if not aktif:
            _release_claims(session, actor, user)
    return user


def _release_claims(session: Session, actor: Actor, user: User, role: RoleAssignment | None = None) -> None:
    """A deactivated person's open tasks, or those of a role taken from them (moved to another post),
    go back to their colleagues instead of staying held by someone who can no longer decide them."""
    query = select(HumanTask).where(HumanTask.assignee_id == user.id, HumanTask.status == TaskStatus.TERBUKA)
    if role is not None:
        # a task's region is its own tier's (the desa's kecamatan for a kecamatan task), so a post's
        # tasks are those of its tier and region exactly
        query = query.where(HumanTask.tingkat == role.tingkat, HumanTask.region_kode == role.region_kode)
    for task in session.scalars(query.order_by(HumanTask.id)).all():
        task.assignee_id = None
        audit.record(
            session,
            actor,
            AuditAction.TASK_RELEASED,
            "human_task",
            task.id,
            before={"assignee": user.username},
            instance_id=task.instance_id,
            human_task_id=task.id,
        )


def search_regions(session: Session, actor: Actor, query: str, province: str, limit: int = 20) -> list[dict[str, Any]]:
    """Regions of the province whose code starts with, or whose name contains, the query."""
    require_admin(actor)
    text = (query or "").strip()
    if len(text) < 2:
        return []
    q = select(Region).where(or_(Region.kode == province, Region.kode.like(f"{province}.%")), Region.berakhir.is_(None))
    if text[0].isdigit():
        q = q.where(searching.starting_with(Region.kode, text))
    else:
        q = q.where(searching.containing(Region.nama, text))
    found = list(session.scalars(q.order_by(func.length(Region.kode), Region.kode).limit(limit)))
    parents = {
        r.kode: r.nama
        for r in session.scalars(select(Region).where(Region.kode.in_({p for r in found for p in _ancestors(r.kode)})))
    }
    return [
        {
            "kode": r.kode,
            "nama": r.nama,
            "tingkat": r.tingkat.value,
            "di": ", ".join(parents[p] for p in reversed(_ancestors(r.kode)) if p in parents),
        }
        for r in found
    ]


def _ancestors(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
