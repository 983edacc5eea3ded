"""Storing what the checks found, and the verifiers' acknowledgements of warnings."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from engine.quality.findings import Finding
from models import FlagStatus, QualityFlag, Severity, Submission, SubmissionItem

# Flags another register raised (Dukcapil, DTSEN): their own jobs replace them, the record checks never do.
EXTERNAL_RULES = frozenset({"dukcapil", "dtsen_fm_tidak_ada", "dtsen_desil_tinggi", "dtsen_desil_rendah"})


def _key(
    item_id: int | None, rule: str, severity: Any, field: str | None, message: str, detail: dict[str, Any] | None
) -> tuple[Any, ...]:
    """What makes a flag the same one found again: a rule now judging the same finding an error
    where it was a warning raises a new flag, not the acknowledged warning kept."""
    return item_id, rule, str(severity), field, message, json.dumps(detail or {}, sort_keys=True)


def store_item_flags(
    session: Session, submission: Submission, items: list[SubmissionItem], findings: list[list[Finding]]
) -> None:
    """Replace the items' flags with these findings, keeping an acknowledgement whose flag is unchanged."""
    ids = [i.id for i in items]
    old = (
        {
            _key(f.item_id, f.rule, f.severity, f.field, f.message, f.sources): f
            for f in session.scalars(
                select(QualityFlag).where(QualityFlag.item_id.in_(ids), QualityFlag.rule.not_in(EXTERNAL_RULES))
            )
        }
        if ids
        else {}
    )
    keep = set()
    for item, found in zip(items, findings, strict=True):
        for finding in found:
            key = _key(item.id, finding.rule, finding.severity, finding.field, finding.message, finding.detail)
            if key in old:
                keep.add(old[key].id)
                continue
            session.add(
                QualityFlag(
                    rule=finding.rule,
                    severity=finding.severity,
                    message=finding.message,
                    tingkat=None,
                    region_kode=submission.kode_desa,
                    kategori=item.kategori,
                    periode=submission.periode,
                    field=finding.field,
                    observed=finding.observed,
                    expected=finding.expected,
                    sources=finding.detail or {},
                    submission_id=submission.id,
                    item_id=item.id,
                    status=FlagStatus.TERBUKA,
                    created_at=clock.now(),
                )
            )
    stale = [f.id for f in old.values() if f.id not in keep]
    if stale:
        session.execute(delete(QualityFlag).where(QualityFlag.id.in_(stale)))
    session.flush()


# Built once: every task page asks it (building a statement costs the client more than the answer).
_ITEM_FLAGS = (
    select(QualityFlag)
    .where(
        QualityFlag.submission_id == bindparam("submission_id"),
        QualityFlag.item_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(QualityFlag.id)
)


def item_flags(session: Session, submission_id: int, item_ids: list[int]) -> dict[int, list[QualityFlag]]:
    by_item: dict[int, list[QualityFlag]] = defaultdict(list)
    if not item_ids:
        return by_item
    for flag in session.scalars(_ITEM_FLAGS, {"submission_id": submission_id, "ids": item_ids}):
        by_item[flag.item_id].append(flag)
    return by_item


# a note or a reason a person writes (a flag's, a decision's), whether a page, the API or the command line sends it
NOTE_LIMIT = 2000


def acknowledge(session: Session, actor: Actor, tingkat: str, submission_id: int, notes: dict[int, str]) -> None:
    """The verifier accepts flagged values and says why, on the record."""
    flags = (
        {
            f.id: f
            for f in session.scalars(
                select(QualityFlag).where(QualityFlag.submission_id == submission_id, QualityFlag.id.in_(list(notes)))
            )
        }
        if notes
        else {}
    )
    notes = {flag_id: note.strip() for flag_id, note in notes.items()}  # measured as kept, as `review.settle` does
    problems = [Problem(f"tanda {flag_id} bukan milik pengajuan ini") for flag_id in notes if flag_id not in flags]
    problems += [  # an error is corrected, not accepted with a note; the page offers a note for warnings only
        Problem(f"tanda {flag_id} bukan peringatan: hanya peringatan yang dapat diakui", column=f"ack_{flag_id}")
        for flag_id in notes
        if flag_id in flags and flags[flag_id].severity != Severity.WARNING
    ]
    problems += [
        Problem("catatan wajib diisi untuk mengakui peringatan", column=f"ack_{flag_id}")
        for flag_id, note in notes.items()
        if flag_id in flags and not note
    ]
    problems += [
        Problem(f"paling banyak {NOTE_LIMIT} karakter", column=f"ack_{flag_id}")
        for flag_id, note in notes.items()
        if len(note) > NOTE_LIMIT
    ]
    if problems:
        raise Invalid("Pengakuan peringatan tidak dapat disimpan", problems)
    for flag_id, note in notes.items():
        flag = flags[flag_id]
        if flag.status == FlagStatus.DIAKUI:
            continue
        flag.status, flag.ack_by, flag.ack_tingkat, flag.ack_note, flag.ack_at = (
            FlagStatus.DIAKUI,
            actor.name,
            tingkat,
            note,
            clock.now(),
        )
        audit.record(
            session,
            actor,
            AuditAction.FLAG_ACKNOWLEDGED,
            "quality_flag",
            flag.id,
            before={"status": FlagStatus.TERBUKA.value},
            after={"status": FlagStatus.DIAKUI.value, "aturan": flag.rule, "pesan": flag.message, "tingkat": tingkat},
            reason=note,
        )


_UNACKNOWLEDGED = (
    select(QualityFlag)
    .where(
        QualityFlag.submission_id == bindparam("submission_id"),
        QualityFlag.severity == Severity.WARNING,
        QualityFlag.status == FlagStatus.TERBUKA,
    )
    .order_by(QualityFlag.id)
)


def unacknowledged_warnings(session: Session, submission_id: int, limit: int | None = None) -> list[QualityFlag]:
    """The submission's warnings still without a note, oldest first (the first `limit` of them)."""
    query = _UNACKNOWLEDGED if limit is None else _UNACKNOWLEDGED.limit(limit)
    return list(session.scalars(query, {"submission_id": submission_id}))
