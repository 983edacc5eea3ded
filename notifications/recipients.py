"""Who is told about an event: the people of the tier and region it concerns."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.core import events
from models import (
    WORK_ROLES,
    Decision,
    HumanTask,
    Region,
    Role,
    RoleAssignment,
    Submission,
    SubmissionStatus,
    TaskStatus,
    Tier,
    User,
    ancestor_code,
    tier_of_code,
)


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


def _operators_within(session: Session, region: str, told: tuple[str, ...] = ()) -> list[User]:
    """The operators of the desa of a region, but for those of regions already told."""
    query = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.OPERATOR,
            User.aktif.is_(True),
        )
    )
    if region:
        query = query.where(or_(RoleAssignment.region_kode == region, RoleAssignment.region_kode.like(f"{region}.%")))
    for done in told:
        query = query.where(RoleAssignment.region_kode != done, RoleAssignment.region_kode.not_like(f"{done}.%"))
    return list(session.scalars(query.distinct()))


def _operators_still_due(session: Session, periode: str) -> list[User]:
    """The operators of the desa whose submission of the period is not in yet (a draft, or returned)."""
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .join(Submission, Submission.kode_desa == RoleAssignment.region_kode)
            .where(
                RoleAssignment.role == Role.OPERATOR,
                Submission.periode == periode,
                Submission.status.in_((SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN)),
                User.aktif.is_(True),
            )
            .distinct()
        )
    )


def _desa_task_again(session: Session, event: events.TaskCreated) -> bool:
    """The desa's step brought back by a verifier's return, whose own notice names the desa, the
    period and the reason (a second notice for the same moment told nothing new). Brought back any
    other way (the automatic check after submitting, a step an edited diagram adds), it is told."""
    if event.tingkat != Tier.DESA.value or event.submission_id is None:
        return False
    last_decided = (
        select(HumanTask.keputusan)
        .where(
            HumanTask.submission_id == event.submission_id,
            HumanTask.id < event.task_id,
            HumanTask.completed_at.is_not(None),
        )
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        .limit(1)
    )
    return session.scalar(last_decided) == Decision.KEMBALIKAN


def _roles(peran: str | None) -> set[Role]:
    """Who works a task: the role its `tier:role` lane names, else the tier's working roles."""
    return {Role(peran)} if peran else WORK_ROLES


def for_event(session: Session, event: events.DomainEvent) -> list[User]:
    match event:
        case events.TaskCreated() if event.diumumkan or _desa_task_again(session, event):
            return []  # told by the cycle's opening, or by the return that brought it back
        case events.TaskCreated() | events.TaskDueSoon():
            return _at(session, Tier(event.tingkat), event.region_kode, _roles(event.peran))
        case events.TaskOverdue():  # the late tier and the tier above it (escalation)
            return told_of_late_task(session, event)[0]
        case events.SubmissionReturned() | events.SubmissionVerified():
            return operators_of(session, event.kode_desa)
        case events.CycleOpened():
            return _operators_within(session, event.region_kode, tuple(event.sudah))
        case events.CycleClosingSoon():
            return _operators_still_due(session, event.periode)
        case events.CycleClosed():
            return _operators_within(session, event.region_kode)
    return []


def told_of_update(session: Session, event: events.SubmissionBroughtUpToDate) -> tuple[list[User], set[int]]:
    """The desa's operators, and where the submission waits at a tier, that tier's people of its
    region, told as the tier judging it (someone of both is told as the desa)."""
    standing = session.scalar(select(Submission.status).where(Submission.id == event.submission_id))
    if standing not in (SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN, SubmissionStatus.DIAJUKAN):
        return [], set()  # approved in the same action (a bulk approval of both periods): nothing to redo
    desa = operators_of(session, event.kode_desa)
    still_open = session.scalar(select(HumanTask.status).where(HumanTask.id == event.task_id)) == TaskStatus.TERBUKA
    if event.tingkat == Tier.DESA.value or not still_open:
        return desa, set()
    tier = Tier(event.tingkat)
    judging = _at(session, tier, ancestor_code(event.kode_desa, tier))
    people = list({u.id: u for u in desa + judging}.values())
    return people, {u.id for u in judging} - {u.id for u in desa}


def _above(session: Session, event: events.TaskOverdue) -> list[User]:
    up, region = Tier(event.eskalasi_ke), event.region_kode
    above = ancestor_code(region, up) if tier_of_code(region).depth >= up.depth else region
    return _at(session, up, above)


def told_of_late_task(session: Session, event: events.TaskOverdue) -> tuple[list[User], set[int]]:
    """The late tier and the tier above it, and which of them are told only as the tier above: they
    follow the task, they cannot open it (someone of both tiers is told as the late tier)."""
    late = _at(session, Tier(event.tingkat), event.region_kode, _roles(event.peran))
    above = _above(session, event) if event.eskalasi_ke != event.tingkat else []
    people = list({u.id: u for u in late + above}.values())
    return people, {u.id for u in above} - {u.id for u in late}


def place_name(session: Session, event: events.DomainEvent) -> str:
    """The name of the desa (or region) an event is about, so a message names it, not only its code."""
    payload = event.payload()
    code = payload.get("kode_desa") or payload.get("region_kode")
    return (session.scalar(select(Region.nama).where(Region.kode == code)) or "") if code else ""
