"""The late tasks of a region in a cycle, for the people an escalation leads to: which desa waits
at which tier, since when, and who holds the task, so the tier above can follow it up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.actors import Actor
from engine.people.scope import Scope
from engine.verification import submission_view
from models import HumanTask, Region, TaskStatus

SHOWN = 100  # the latest first would hide the longest waits: the oldest deadlines are listed first
COUNTED = 10_000  # counted up to this many (a province late in a cycle): "10000+" beyond


@dataclass(frozen=True)
class LateTask:
    task_id: int
    nama: str
    tingkat: str
    kode_desa: str
    desa: str
    due_at: datetime | None
    hari: int  # whole days past the deadline
    pemegang: str | None  # who holds the task's claim


def late_tasks(session: Session, actor: Actor, periode: str, induk: str) -> tuple[list[LateTask], int]:
    """The open tasks past their deadline in `induk` for the period, oldest deadline first, and how
    many there are; nothing for a region the person does not follow."""
    if not periode or not Scope.following(actor).contains(induk):
        return [], 0
    now = clock.now()
    where = (
        HumanTask.status == TaskStatus.TERBUKA,
        HumanTask.periode == periode,
        HumanTask.due_at < now,  # an overdue task is one past its deadline: the index reads them in order
        or_(HumanTask.kode_desa == induk, HumanTask.kode_desa.like(f"{induk}.%")),
    )
    found = list(
        session.execute(
            select(HumanTask, Region.nama)
            .join(Region, Region.kode == HumanTask.kode_desa)
            .where(*where)
            .order_by(HumanTask.due_at, HumanTask.id)
            .limit(SHOWN)
        ).all()
    )
    total = len(found) if len(found) < SHOWN else _counted(session, where)
    holders = submission_view.user_names(session, [task.assignee_id for task, _ in found])
    return [
        LateTask(
            task.id,
            task.nama,
            task.tingkat.value,
            task.kode_desa or "",
            nama,
            task.due_at,
            max(0, (now - task.due_at).days) if task.due_at else 0,
            holders.get(task.assignee_id or 0),
        )
        for task, nama in found
    ], total


def _counted(session: Session, where: tuple[Any, ...]) -> int:
    """How many, up to one more than `COUNTED`: a count past it is said as "10000+"."""
    capped = select(HumanTask.id).where(*where).limit(COUNTED + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0
