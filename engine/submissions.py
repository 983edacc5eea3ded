"""Use cases of a desa's submission: open it, import items into it, submit it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from engine import audit, checks, clock, definitions, events, persist, runtime
from engine.actors import Actor
from engine.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.periods import validate_period
from engine.quality import flags
from engine.quality import records as quality
from models import (
    HumanTask,
    ItemAction,
    Region,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Tier,
    contains,
)

PROCESS_KEY = "verifikasi_berjenjang"
EDITABLE = (SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN)
_REGION_TIER = select(Region.tingkat).where(Region.kode == bindparam("kode"))
_OPEN_DESA_TASK = select(HumanTask.id).where(HumanTask.submission_id == bindparam("submission_id"),
                                             HumanTask.tingkat == Tier.DESA, HumanTask.status == TaskStatus.TERBUKA)
_SUBMISSION_OF = select(Submission.id).where(Submission.kode_desa == bindparam("kode"),
                                             Submission.periode == bindparam("periode"))


def get_submission(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"Pengajuan {submission_id} tidak ada")
    return submission


def authorize_operator(actor: Actor, submission: Submission) -> None:
    """The desa's operator, or a system job (the CLI without --user, the scheduler)."""
    if actor.user is None:
        return
    if not actor.can_work(Tier.DESA, submission.kode_desa):
        raise Forbidden(f"{actor.name} bukan operator desa {submission.kode_desa}")


@dataclass
class Opened:
    submission: Submission
    created: bool


def open_submission(session: Session, actor: Actor, kode_desa: str, periode: str, province: str,
                    default_sla: str = "P14D") -> Opened:
    """Open the desa's submission for the period and start its verification process.

    Idempotent: when it exists already, it is returned unchanged.
    """
    validate_period(periode)
    if session.scalar(_REGION_TIER, {"kode": kode_desa}) != Tier.DESA:
        raise Invalid(f"Kode desa/kelurahan {kode_desa!r} tidak dikenal",
                      [Problem("gunakan kode Kemendagri bertitik, mis. 65.01.01.2005")])
    if not contains(province, kode_desa):
        raise Invalid(f"Desa {kode_desa} berada di luar provinsi {province}")
    existing_id = session.scalar(_SUBMISSION_OF, {"kode": kode_desa, "periode": periode})
    if existing_id is not None:
        return Opened(get_submission(session, existing_id), created=False)
    submission = Submission(kode_desa=kode_desa, periode=periode, status=SubmissionStatus.DRAF,
                            tahap=Tier.DESA, putaran=0, created_at=clock.now())
    session.add(submission)
    session.flush()
    definition = definitions.current(session, PROCESS_KEY)
    running = runtime.start(session, actor, definition.id, f"{kode_desa}/{periode}", kode_desa, periode, {
        "kode_desa": kode_desa, "periode": periode, "submission_id": submission.id, "sla_durasi": default_sla,
    }, submission_id=submission.id)
    submission.instance_id = running.row.id
    session.flush()
    runtime.save(running)
    audit.record(session, actor, "SUBMISSION_OPENED", "submission", submission.id,
                 after={"kode_desa": kode_desa, "periode": periode, "definition_version": definition.version},
                 instance_id=running.row.id)
    return Opened(submission, created=True)


def ensure_editable(submission: Submission) -> None:
    if submission.status not in EDITABLE:
        raise Conflict(f"Pengajuan {submission.id} berstatus {submission.status.value} di tingkat "
                       f"{submission.tahap.value}; tidak dapat diubah sekarang")


def forget_check(session: Session, submission_id: int) -> None:
    """The submission's items are about to change: a check made earlier in this transaction is stale."""
    session.info.get(_CHECKED, {}).pop(submission_id, None)


_CHECKED = "sijosku_checked_submissions"


@event.listens_for(Session, "after_transaction_end")
def _forget_checks(session: Session, transaction: Any) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop(_CHECKED, None)


def check_submission(session: Session, submission: Submission) -> list[Problem]:
    """Run the record checks on every item, store what they found as flags, and return the errors.

    The result is kept for the rest of the transaction: `submit` checks before it completes the
    task, and the process's automatic-check step then finds the same items unchanged.
    """
    checked = session.info.setdefault(_CHECKED, {})
    if submission.id in checked:
        return checked[submission.id]
    items = session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission.id)
                            .order_by(SubmissionItem.id)).all()
    errors: list[Problem] = []
    items = [i for i in items if i.aksi != ItemAction.HAPUS]  # a removal carries only a name and a reason
    if items:
        ctx = quality.Context.load(session, submission.periode)
        rows = [dict(i.data, kategori=i.kategori) for i in items]
        findings = quality.check_rows(session, rows, ctx, submission.kode_desa, submission.id)
        for item, found in zip(items, findings, strict=True):
            item.masalah = [f.to_dict() for f in found]
            errors += [Problem(f"item {item.id} ({item.data.get('nama')}): {f.message}", row=item.baris,
                               column=f.field) for f in found if f.severity == checks.SEVERITY_ERROR]
        flags.store_item_flags(session, submission, items, findings)
    checked[submission.id] = errors
    return errors


def open_desa_task(session: Session, submission: Submission) -> int:
    """The id of the desa's open task on this submission."""
    task_id = session.scalar(_OPEN_DESA_TASK, {"submission_id": submission.id})
    if task_id is None:
        raise Conflict(f"Pengajuan {submission.id} tidak sedang menunggu desa "
                       f"(status {submission.status.value}, tahap {submission.tahap.value})")
    return task_id


def submit(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The operator submits: record errors block it; otherwise verification starts."""
    from engine import tasks  # tasks imports this module's helpers

    submission = get_submission(session, submission_id)
    if actor.user is None:
        raise Forbidden("Pengajuan harus diajukan oleh operator desa (--user)")
    authorize_operator(actor, submission)
    task_id = open_desa_task(session, submission)
    errors = check_submission(session, submission)
    if errors:
        raise Invalid(f"Pengajuan {submission.id} belum dapat diajukan: {len(errors)} kesalahan data", errors)
    tasks.complete_task(session, actor, task_id, decision="ajukan")
    return submission


def mark_submitted(session: Session, actor: Actor, submission: Submission) -> None:
    persist.write(session, submission, status=SubmissionStatus.DIAJUKAN, putaran=submission.putaran + 1,
                  submitted_by_id=actor.user_id, submitted_at=clock.now(), alasan_terakhir=None)
    events.publish(session, events.SUBMISSION_SUBMITTED, {
        "submission_id": submission.id, "kode_desa": submission.kode_desa, "periode": submission.periode,
        "putaran": submission.putaran})
