"""Completing a human task at the BPMN level: lock the instance, check the person's form is not
stale, close the inbox row, run the process on to its next wait state, and record it.

This knows nothing of submissions or tiers' rules; `engine.verification.decisions` decides who may
complete what, and does its own work between `begin` and `finish`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.task import Task
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.bpmn import runtime
from engine.core import audit, clock, events, rows
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict
from models import HumanTask, TaskStatus

_CLOSED_COLUMNS = ("status", "completed_at", "completed_by_id", "assignee_id", "keputusan", "alasan", "data")
# Guarded: a task is closed once, and only by whoever holds its claim (or anyone when none does).
_CLOSE_TASK = (
    update(HumanTask)
    .where(
        HumanTask.id == bindparam("task_id"),
        HumanTask.status == TaskStatus.TERBUKA,
        or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == bindparam("user_id")),
    )
    .values({name: bindparam(f"new_{name}") for name in _CLOSED_COLUMNS})
)


@dataclass
class Step:
    """A human task being completed: its row, its instance (locked) and its SpiffWorkflow task."""

    task: HumanTask
    running: runtime.Running
    spiff_task: Task


def begin(session: Session, actor: Actor, task: HumanTask, expected_revision: int | None = None) -> Step:
    """Lock the task's instance; refuse a stale form or a task that no longer waits."""
    # A rival that completed the task meanwhile shows up as a task that is no longer ready, or as
    # the guarded UPDATE in `finish` matching no row.
    running = runtime.load(session, actor, task.instance_id, human_task_id=task.id, submission_id=task.submission_id)
    if expected_revision is not None and running.row.revision != expected_revision:
        raise Conflict("Formulir sudah usang: data ini berubah sejak halaman dibuka; muat ulang")
    return Step(task, running, runtime.ready_task(running, task.spiff_task_id))


def finish(
    step: Step,
    actor: Actor,
    keputusan: str,
    alasan: str | None,
    data: dict[str, Any],
    audit_after: dict[str, Any],
    variables: dict[str, Any] | None = None,
) -> list[runtime.NewTask]:
    """Close the inbox row, run the process on, save it; returns the human tasks it created.
    `variables` are further process variables the decision sets (plain JSON values)."""
    task, session = step.task, step.running.context.session
    _close(session, actor, task, keputusan, alasan, data)
    step.running.open_rows.pop(task.spiff_task_id, None)  # closed now: not a row for the save to cancel
    runtime.complete(
        step.running, step.spiff_task, {**(variables or {}), "keputusan": keputusan, "alasan": alasan or ""}
    )
    created = runtime.save(step.running)
    audit.record(
        session,
        actor,
        AuditAction.TASK_COMPLETED,
        "human_task",
        task.id,
        before={"status": TaskStatus.TERBUKA.value},
        after={"status": task.status.value, "keputusan": keputusan, "tingkat": task.tingkat.value, **audit_after},
        reason=alasan,
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    events.publish(session, events.TaskCompleted(task_id=task.id, keputusan=keputusan, tingkat=task.tingkat.value))
    return created


def _close(
    session: Session, actor: Actor, task: HumanTask, keputusan: str, alasan: str | None, data: dict[str, Any]
) -> None:
    done = {
        "status": TaskStatus.SELESAI,
        "completed_at": clock.now(),
        "completed_by_id": actor.user_id,
        "assignee_id": actor.user_id,
        "keputusan": keputusan,
        "alasan": alasan or None,
        "data": data,
    }
    result = session.connection().execute(
        _CLOSE_TASK, {"task_id": task.id, "user_id": actor.user_id, **{f"new_{k}": v for k, v in done.items()}}
    )
    if rows.affected(result) != 1:
        raise Conflict(f"Tugas {task.id} baru saja diselesaikan atau diklaim orang lain; tidak ada yang diubah")
    for name, value in done.items():
        set_committed_value(task, name, value)
