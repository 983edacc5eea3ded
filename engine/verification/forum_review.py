"""The Forum Satu Data's review in the annual reconciliation: the discrepancies of the year, one by
one, each explanation accepted or sent back to its regency with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import human_tasks
from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from engine.quality import flag_reading, review
from engine.verification import reconciliation
from models import (
    AuditEvent,
    Decision,
    FlagStatus,
    ForumVerdict,
    HumanTask,
    ProcessInstance,
    QualityFlag,
    Severity,
    TaskStatus,
    Tier,
    ancestor_code,
    contains,
)


def _accepted_before(session: Session, instance_id: int) -> dict[int, Any]:
    """Flags the Forum accepted in earlier rounds of this instance, with when."""
    accepted: dict[int, Any] = {}
    for task in session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id,
            HumanTask.bpmn_id == reconciliation.FORUM_TASK,
            HumanTask.status == TaskStatus.SELESAI,
        )
    ):
        for flag_id in (task.data or {}).get("diterima", []):
            accepted[int(flag_id)] = task.completed_at
    return accepted


def discrepancies(session: Session, instance: ProcessInstance) -> list[QualityFlag]:
    """What the Forum reviews: every flag a region settled and the Forum has not accepted since, and
    every error or warning still open."""
    accepted = _accepted_before(session, instance.id)

    def pending(flag: QualityFlag) -> bool:
        if flag.status == FlagStatus.TERBUKA:
            return flag.severity in (Severity.ERROR, Severity.WARNING)
        when = accepted.get(flag.id)
        return when is None or (flag.ack_at is not None and flag.ack_at > when)

    return [f for f in reconciliation.year_flags(session, instance.region_kode, int(instance.periode)) if pending(f)]


@dataclass(frozen=True)
class ForumReview:
    """The Forum's word on each discrepancy: flag id -> (`terima` | `kembalikan`, reason)."""

    task_id: int
    verdicts: dict[int, tuple[str, str]]


def _forum_problems(actor: Actor, listed: list[QualityFlag], verdicts: dict[int, tuple[str, str]]) -> list[Problem]:
    by_id = {f.id: f for f in listed}
    problems = [
        Problem(f"tanda {i} tidak ada dalam daftar selisih", column=f"tanda_{i}") for i in verdicts if i not in by_id
    ]
    for flag in listed:
        verdict, reason = verdicts.get(flag.id, ("", ""))
        message = flag_reading.message_for(actor, flag)
        if verdict not in (ForumVerdict.ACCEPT, ForumVerdict.RETURN):
            problems.append(Problem(f"pilih terima atau kembalikan: {message}", column=f"tanda_{flag.id}"))
        elif verdict == ForumVerdict.ACCEPT and flag.status == FlagStatus.TERBUKA:
            problems.append(Problem(f"belum dijelaskan, tidak dapat diterima: {message}", column=f"tanda_{flag.id}"))
        elif verdict == ForumVerdict.RETURN and not reason:
            problems.append(Problem(f"alasan wajib diisi saat mengembalikan: {message}", column=f"alasan_{flag.id}"))
        elif verdict == ForumVerdict.RETURN and len(reason) > reconciliation.NOTE_LIMIT:
            limit = reconciliation.NOTE_LIMIT
            problems.append(Problem(f"alasan paling banyak {limit} karakter: {message}", column=f"alasan_{flag.id}"))
        elif verdict == ForumVerdict.RETURN and ancestor_or_none(flag.region_kode) is None:
            problems.append(
                Problem(f"tanda tingkat provinsi dijelaskan oleh Forum sendiri: {message}", column=f"tanda_{flag.id}")
            )
    return problems


def ancestor_or_none(code: str) -> str | None:
    return ancestor_code(code, Tier.KABUPATEN) if code.count(".") >= 1 else None


def forum_review(session: Session, actor: Actor, cmd: ForumReview) -> HumanTask:
    """Accept each explanation, or send it back to its regency with a reason. Anything sent back
    reopens the flag and starts another round for those regencies."""
    found = reconciliation.review_task(session, actor, cmd.task_id, reconciliation.FORUM_TASK)
    instance = reconciliation.instance_of_task(session, found.task)
    listed = discrepancies(session, instance)
    # trimmed before measured; each reason's problem is told beside its own discrepancy
    verdicts = {int(k): (v[0], (v[1] or "").strip()) for k, v in cmd.verdicts.items()}
    problems = _forum_problems(actor, listed, verdicts)
    if problems:
        raise Invalid("Tinjauan Forum SDI belum lengkap", problems)
    step = human_tasks.begin(session, actor, found.task)
    accepted, returned = [], {}
    for flag in listed:
        verdict, reason = verdicts[flag.id]
        if verdict == ForumVerdict.ACCEPT:
            accepted.append(flag.id)
            _record_verdict(session, actor, found.task, flag, AuditAction.EXPLANATION_ACCEPTED, None)
            continue
        returned[str(flag.id)] = reason
        # on the trail before the flag reopens: reopening writes the Forum's reason over the
        # regency's explanation, and the regency reads again the explanation that was sent back
        _record_verdict(session, actor, found.task, flag, AuditAction.EXPLANATION_RETURNED, reason)
        if flag.status != FlagStatus.TERBUKA:
            review.settle(session, actor, flag.id, review.FlagAction.REOPEN, reason, flag.status)
    regencies_back = sorted({ancestor_code(f.region_kode, Tier.KABUPATEN) for f in listed if str(f.id) in returned})
    keputusan = Decision.KEMBALIKAN if returned else Decision.SETUJU
    alasan = "; ".join(returned.values()) if returned else None
    human_tasks.finish(
        step,
        actor,
        keputusan,
        alasan,
        {"diterima": accepted, "dikembalikan": returned},
        audit_after={"diterima": len(accepted), "dikembalikan": sorted(returned)},
        variables={"kabupaten_dikembalikan": regencies_back},
    )
    return found.task


def returns_to(session: Session, instance: ProcessInstance, regency: str) -> list[dict[str, Any]]:
    """What the Forum sent back to this regency in the year's rounds, newest first, with its reason:
    a recount replaces the flags, so the regency reads the Forum's word here, not on a fresh flag."""
    returned = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance.id, AuditEvent.action == AuditAction.EXPLANATION_RETURNED)
        .order_by(AuditEvent.seq.desc())
    )
    return [
        {**(e.after or {}), "alasan": e.reason, "oleh": e.actor, "waktu": e.at}
        for e in returned
        if contains(regency, str((e.after or {}).get("wilayah") or ""))
    ]


def _record_verdict(
    session: Session, actor: Actor, task: HumanTask, flag: QualityFlag, action: AuditAction, reason: str | None
) -> None:
    audit.record(
        session,
        actor,
        action,
        "quality_flag",
        flag.id,
        after={
            "aturan": flag.rule,
            "wilayah": flag.region_kode,
            "kategori": flag.kategori,
            "periode": flag.periode,
            "catatan": flag.ack_note,
        },
        reason=reason,
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
