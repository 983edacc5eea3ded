"""The product's service-task handlers, by the names BPMN service tasks use.

`register` puts them in a registry; the composition root (`engine.bootstrap`) calls it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.bpmn.handlers import StepContext
from engine.core.registry import Registry
from engine.verification import in_work, item_checks, reconciliation, records, status
from engine.verification.register import hold_registers
from models import HumanTask, ItemAction, Submission, SubmissionItem, TaskStatus


def _submission(ctx: StepContext) -> Submission:
    if ctx.submission_id is not None:
        submission = ctx.session.get(Submission, ctx.submission_id)
    else:
        submission = ctx.session.scalar(select(Submission).where(Submission.instance_id == ctx.instance.id))
    if submission is None:
        raise LookupError(f"instans {ctx.instance.id} tidak terkait dengan pengajuan")
    return submission


def run_quality_checks(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The automatic check after submission: an error sends the submission back to the desa."""
    submission = _submission(ctx)
    errors = item_checks.check_submission(ctx.session, submission)
    if errors:
        status.check_failed(ctx.session, ctx.actor, submission, [str(e) for e in errors])
    return {"lolos": not errors, "jumlah_error": len(errors)}


def mark_overdue(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An SLA timer fired: mark the task overdue and escalate to the tier above (once)."""
    task = ctx.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == ctx.instance.id,
            HumanTask.bpmn_id == params.get("elemen"),
            HumanTask.status == TaskStatus.TERBUKA,
        )
    )
    if task is None:
        return {"ditandai": False}
    return {"ditandai": status.mark_overdue(ctx.session, ctx.actor, task), "task_id": task.id}


def apply_verified_items(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Province validation passed: every item still in the submission becomes a new version of its
    record (one set aside does not, nor the copy of a record removed meanwhile). A register record
    left without a re-verification status (the operator stated the register could not be checked)
    stays as it was: it is not re-verified by being carried along."""
    submission = _submission(ctx)
    hold_registers(ctx.session, [submission.kode_desa], writing=True)
    items = ctx.session.scalars(
        select(SubmissionItem)
        .where(
            SubmissionItem.submission_id == submission.id,
            SubmissionItem.dibuang.is_(False),
            ~((SubmissionItem.aksi == ItemAction.PERIKSA) & SubmissionItem.verval.is_(None)),
        )
        .order_by(SubmissionItem.id)
        .execution_options(populate_existing=True)  # as another period's approval just left them
    ).all()
    applied = records.apply_items(ctx.session, ctx.actor, submission, list(items), ctx.human_task_id)
    in_work.after_approval(ctx.session, ctx.actor, submission, list(items))
    status.verified(ctx.session, ctx.actor, submission, applied, ctx.human_task_id)
    return {"diterapkan": applied}


HANDLERS = {
    "run_quality_checks": run_quality_checks,
    "mark_overdue": mark_overdue,
    "apply_verified_items": apply_verified_items,
    "compute_reconciliation": reconciliation.compute_reconciliation,
    "freeze_determination": reconciliation.freeze_determination,
}


# What the verification use cases put into a process: the start data (`submissions.open_submission`,
# `cycles`), and the fields of a decision (`engine.bpmn.human_tasks.finish`).
PROCESS_VARIABLES = ("kode_desa", "periode", "submission_id", "sla_durasi", "keputusan", "alasan")


def register(registry: Registry) -> None:
    for name, handler in HANDLERS.items():
        registry.add_handler(name, handler)
    registry.variables.update(PROCESS_VARIABLES)
