"""Every change of a submission's status, and of a task's lateness, happens here and nowhere else.

draf ──submitted──▶ diajukan ──verified──▶ terverifikasi
  ▲                    │
  └──────returned──────┘ (by a tier, or by the automatic check)
draf (never submitted) ──not reported──▶ tidak_melapor (when the cycle closes)

A task past its due time is marked overdue once, whichever path sees it first (its BPMN timer or
the cycle calendar), and escalated to the tier above.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.core import audit, clock, events, rows
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from models import TIER_ORDER_UP, HumanTask, Submission, SubmissionStatus, Tier

EDITABLE = (SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN)
IN_WORK = (*EDITABLE, SubmissionStatus.DIAJUKAN)  # not yet decided: a late approval can still change the register


def submitted(session: Session, actor: Actor, submission: Submission) -> None:
    rows.write(
        session,
        submission,
        status=SubmissionStatus.DIAJUKAN,
        putaran=submission.putaran + 1,
        submitted_by_id=actor.user_id,
        submitted_at=clock.now(),
        alasan_terakhir=None,
    )
    events.publish(
        session,
        events.SubmissionSubmitted(
            submission_id=submission.id,
            kode_desa=submission.kode_desa,
            periode=submission.periode,
            putaran=submission.putaran,
        ),
    )


def advanced(session: Session, submission: Submission, tingkat: Tier) -> None:
    """The process moved on: the submission now waits at `tingkat`."""
    rows.write(session, submission, tingkat=tingkat)


def returned(
    session: Session, actor: Actor, submission: Submission, tingkat: Tier, alasan: str, human_task_id: int
) -> None:
    """A tier sent the submission back to the desa with a reason."""
    rows.write(session, submission, status=SubmissionStatus.DIKEMBALIKAN, alasan_terakhir=f"{tingkat.label}: {alasan}")
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_RETURNED,
        "submission",
        submission.id,
        after={"tingkat": tingkat.value, "putaran": submission.putaran},
        reason=alasan,
        instance_id=submission.instance_id,
        human_task_id=human_task_id,
    )
    events.publish(
        session,
        events.SubmissionReturned(
            submission_id=submission.id,
            kode_desa=submission.kode_desa,
            periode=submission.periode,
            tingkat=tingkat.value,
            alasan=alasan,
        ),
    )


def check_failed(session: Session, actor: Actor, submission: Submission, errors: list[str]) -> None:
    """The automatic check after submission found errors: back to the desa."""
    rows.write(
        session,
        submission,
        status=SubmissionStatus.DIKEMBALIKAN,
        alasan_terakhir=f"pemeriksaan otomatis: {len(errors)} kesalahan data",
    )
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_CHECK_FAILED,
        "submission",
        submission.id,
        after={"kesalahan": errors[:100]},
        instance_id=submission.instance_id,
    )


def verified(session: Session, actor: Actor, submission: Submission, items: int, human_task_id: int | None) -> None:
    """Every tier approved and the items became record versions."""
    rows.write(session, submission, status=SubmissionStatus.TERVERIFIKASI)
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_VERIFIED,
        "submission",
        submission.id,
        after={"items": items, "putaran": submission.putaran},
        instance_id=submission.instance_id,
        human_task_id=human_task_id,
    )
    events.publish(
        session,
        events.SubmissionVerified(
            submission_id=submission.id, kode_desa=submission.kode_desa, periode=submission.periode, items=items
        ),
    )


def not_reported(session: Session, actor: Actor, silent: list[Submission], alasan: str) -> None:
    """The cycle closed on desa that never submitted: recorded as not reported, never as zero."""
    for submission in silent:
        submission.status, submission.alasan_terakhir = SubmissionStatus.TIDAK_MELAPOR, alasan
    audit.record_many(
        session,
        actor,
        [
            {
                "action": AuditAction.SUBMISSION_NOT_REPORTED,
                "subject_type": "submission",
                "subject_id": s.id,
                "instance_id": s.instance_id,
                "reason": alasan,
                "after": {"status": SubmissionStatus.TIDAK_MELAPOR.value},
            }
            for s in silent
        ],
    )


ESCALATED = 10  # an escalated task comes first in the inbox sorted by priority
_MARK_OVERDUE = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"), HumanTask.overdue.is_(False))
    .values(overdue=True, priority=HumanTask.priority + ESCALATED)
    .execution_options(synchronize_session=False)
)


def mark_overdue(session: Session, actor: Actor, task: HumanTask) -> bool:
    """Mark the task overdue and escalate it to the tier above; False when it already was."""
    if rows.affected(session.execute(_MARK_OVERDUE, {"task_id": task.id})) != 1:
        return False
    set_committed_value(task, "overdue", True)
    set_committed_value(task, "priority", (task.priority or 0) + ESCALATED)
    up = TIER_ORDER_UP.get(task.tingkat, Tier.PROVINSI)
    audit.record(
        session,
        actor,
        AuditAction.TASK_OVERDUE,
        "human_task",
        task.id,
        before={"overdue": False},
        after={"overdue": True, "eskalasi_ke": up.value},
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    events.publish(
        session,
        events.TaskOverdue(
            task_id=task.id,
            nama=task.nama,
            tingkat=task.tingkat.value,
            region_kode=task.region_kode,
            eskalasi_ke=up.value,
            kode_desa=task.kode_desa,
            periode=task.periode,
            due_at=task.due_at.isoformat() if task.due_at else None,
            submission_id=task.submission_id,
            peran=task.peran,
        ),
    )
    return True
