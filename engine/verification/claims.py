"""Claiming a task: while one verifier holds it, nobody else can decide it."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.core import audit, rows
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem, SijoskuError
from engine.people.scope import Scope
from engine.verification import decisions
from engine.verification.bulk_approval import BULK_LIMIT
from engine.verification.decisions import may_act
from models import HumanTask, TaskStatus, User


def claim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    task = may_act(session, actor, task_id).task
    result = session.execute(
        update(HumanTask)
        .where(
            HumanTask.id == task.id,
            HumanTask.status == TaskStatus.TERBUKA,
            or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == actor.user_id),
        )
        .values(assignee_id=actor.user_id)
        .execution_options(synchronize_session=False)
    )
    if rows.affected(result) != 1:
        raise Conflict(f"Tugas {task.id} baru saja diambil orang lain")
    session.refresh(task)
    audit.record(
        session,
        actor,
        AuditAction.TASK_CLAIMED,
        "human_task",
        task.id,
        after={"assignee": actor.name},
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    return task


def decide_holding(session: Session, actor: Actor, cmd: decisions.DecisionCommand) -> HumanTask:
    """Decide a task the person holds, claiming it first when no one does (as saving a verdict
    does): a decision sent on an unclaimed task is not refused after everything was chosen and
    written. A task a colleague holds stays refused, with their name."""
    task = may_act(session, actor, cmd.task_id).task
    if task.assignee_id is None:
        claim(session, actor, task.id)
    return decisions.decide(session, actor, cmd)


def unclaim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    task = may_act(session, actor, task_id).task
    if task.assignee_id is None:
        raise Conflict(f"Tugas {task.id} tidak sedang diklaim")
    task.assignee_id = None
    audit.record(
        session,
        actor,
        AuditAction.TASK_UNCLAIMED,
        "human_task",
        task.id,
        before={"assignee": actor.name},
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    return task


def claim_many(session: Session, actor: Actor, task_ids: list[int], unclaiming: bool = False) -> dict[int, str]:
    """Claim (or unclaim) each task on its own; returns what happened to each, in Indonesian.

    Tasks are taken in id order whatever order they were chosen in, so two people claiming
    overlapping sets lock the rows in the same order and never wait on each other in a circle."""
    chosen = sorted(set(task_ids))
    if len(chosen) > BULK_LIMIT:
        raise Invalid(f"Paling banyak {BULK_LIMIT} tugas sekali klaim", [Problem("pilih lebih sedikit tugas")])
    outcome = {}
    for task_id in chosen:
        try:
            with session.begin_nested():
                (unclaim if unclaiming else claim)(session, actor, task_id)
            outcome[task_id] = "dilepas" if unclaiming else "diklaim"
        except (NotFound, Forbidden):
            # The same words whether the task does not exist or lies outside the person's work.
            outcome[task_id] = f"Tugas {task_id} tidak ada di kotak tugas Anda atau tidak dapat Anda ambil"
        except SijoskuError as exc:
            outcome[task_id] = str(exc)
    return outcome


def free_claim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    """An administrator of the task's region frees a claim its holder cannot unclaim (away, deactivated)."""
    task = session.get(HumanTask, task_id)
    if task is None:  # the same words as for a task in another region: neither exists for this admin
        raise NotFound(f"Tugas {task_id} tidak ada di wilayah Anda")
    Scope.administering(actor).require_any().require(task.region_kode, f"Tugas {task_id}")
    if task.assignee_id is None or task.status != TaskStatus.TERBUKA:
        raise Conflict(f"Tugas {task.id} tidak sedang diklaim")
    holder = session.get(User, task.assignee_id)
    task.assignee_id = None
    audit.record(
        session,
        actor,
        AuditAction.TASK_RELEASED,
        "human_task",
        task.id,
        before={"assignee": holder.username if holder else None},
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    return task


def held_by(session: Session, actor: Actor, user_id: int) -> list[HumanTask]:
    """The open tasks a person holds in the administrator's regions, for releasing them."""
    scope = Scope.administering(actor).require_any()
    query = select(HumanTask).where(
        HumanTask.assignee_id == user_id, HumanTask.status == TaskStatus.TERBUKA, scope.where(HumanTask.region_kode)
    )
    return list(session.scalars(query.order_by(HumanTask.id)).all())
