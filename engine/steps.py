"""The product's service-task handlers, registered by the names BPMN service tasks use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import audit, events, persist, records
from engine.handlers import StepContext, service_handler
from engine.submissions import check_submission
from models import TIER_ORDER_UP, HumanTask, Submission, SubmissionItem, SubmissionStatus, TaskStatus, Tier


def _submission(ctx: StepContext) -> Submission:
    if ctx.submission_id is not None:
        submission = ctx.session.get(Submission, ctx.submission_id)
    else:
        submission = ctx.session.scalar(select(Submission).where(Submission.instance_id == ctx.instance.id))
    if submission is None:
        raise LookupError(f"instans {ctx.instance.id} tidak terkait dengan pengajuan")
    return submission


@service_handler("run_quality_checks")
def run_quality_checks(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The automatic check after submission: an error sends the submission back to the desa."""
    submission = _submission(ctx)
    errors = check_submission(ctx.session, submission)
    if errors:
        persist.write(ctx.session, submission, status=SubmissionStatus.DIKEMBALIKAN,
                      alasan_terakhir=f"pemeriksaan otomatis: {len(errors)} kesalahan data")
        audit.record(ctx.session, ctx.actor, "SUBMISSION_CHECK_FAILED", "submission", submission.id,
                     after={"kesalahan": [str(e) for e in errors[:100]]}, instance_id=ctx.instance.id)
    return {"lolos": not errors, "jumlah_error": len(errors)}


@service_handler("mark_overdue")
def mark_overdue(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An SLA timer fired: mark the task overdue and escalate to the tier above."""
    task = ctx.session.scalar(select(HumanTask).where(
        HumanTask.instance_id == ctx.instance.id, HumanTask.bpmn_id == params.get("elemen"),
        HumanTask.status == TaskStatus.TERBUKA))
    if task is None:
        return {"ditandai": False}
    task.overdue = True
    escalate_to = TIER_ORDER_UP.get(task.tingkat, Tier.PROVINSI)
    audit.record(ctx.session, ctx.actor, "TASK_OVERDUE", "human_task", task.id,
                 before={"overdue": False}, after={"overdue": True, "eskalasi_ke": escalate_to.value},
                 instance_id=ctx.instance.id, human_task_id=task.id)
    events.publish(ctx.session, events.TASK_OVERDUE, {
        "task_id": task.id, "nama": task.nama, "tingkat": task.tingkat.value, "region_kode": task.region_kode,
        "eskalasi_ke": escalate_to.value, "due_at": task.due_at.isoformat() if task.due_at else None,
    }, human_task_id=task.id)
    return {"ditandai": True, "task_id": task.id}


@service_handler("apply_verified_items")
def apply_verified_items(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Province validation passed: every item becomes a new version of its record."""
    submission = _submission(ctx)
    items = ctx.session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission.id)
                                .order_by(SubmissionItem.id)).all()
    for item in items:
        records.apply_item(ctx.session, ctx.actor, submission, item, ctx.human_task_id)
    persist.write(ctx.session, submission, status=SubmissionStatus.TERVERIFIKASI)
    audit.record(ctx.session, ctx.actor, "SUBMISSION_VERIFIED", "submission", submission.id,
                 after={"items": len(items), "putaran": submission.putaran}, instance_id=ctx.instance.id,
                 human_task_id=ctx.human_task_id)
    events.publish(ctx.session, events.SUBMISSION_VERIFIED, {
        "submission_id": submission.id, "kode_desa": submission.kode_desa, "periode": submission.periode,
        "items": len(items)})
    return {"diterapkan": len(items)}
