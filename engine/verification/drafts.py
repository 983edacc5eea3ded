"""A desa's submission as its operator reaches it: found within the person's desa, and editable only
while it is a draft or returned."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, NotFound, phrase
from engine.people.scope import Scope
from engine.verification.status import EDITABLE
from models import ProcessInstance, Submission, SubmissionItem, SubmissionStatus, Tier


def get_submission(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"Pengajuan {submission_id} tidak ada")
    return submission


def operator_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The submission when the actor works as its desa's operator (or is the system); otherwise it
    does not exist for them."""
    submission = session.get(Submission, submission_id)
    if submission is None or not Scope.working(actor).covers_tier(Tier.DESA, submission.kode_desa):
        raise NotFound(f"Pengajuan {submission_id} tidak ada")
    return submission


_LOCK_INSTANCE = select(ProcessInstance.id).where(ProcessInstance.id == bindparam("instance_id")).with_for_update()


def locked_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The operator's submission read again under its instance's lock, the first lock of the engine's
    order: an edit, a register mark, an import or the minutes wait for a submit, a tier's decision or
    a cycle's closing on the same submission to finish, and then see what it left (not the status
    they read before it)."""
    return under_lock(session, operator_submission(session, actor, submission_id))


def under_lock(session: Session, submission: Submission) -> Submission:
    """A submission read again under its instance's lock (whoever writes to it: the operator's pages,
    or a desa's application through the API)."""
    if submission.instance_id is not None:
        session.execute(_LOCK_INSTANCE, {"instance_id": submission.instance_id})
        session.refresh(submission)
    return submission


def editable_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The operator's submission, locked, refused when it is with the tiers (not a draft or returned)."""
    submission = locked_submission(session, actor, submission_id)
    if submission.status not in EDITABLE:
        raise Conflict(f"Pengajuan periode {submission.periode} {standing(submission)}; tidak dapat diubah sekarang")
    return submission


def standing(submission: Submission) -> str:
    """Where a submission no longer editable stands, as a clause of a sentence."""
    if submission.status == SubmissionStatus.TERVERIFIKASI:
        return phrase("sudah terverifikasi")
    if submission.status == SubmissionStatus.TIDAK_MELAPOR:
        return phrase("ditutup sebagai tidak melapor")
    return phrase(f"sudah diajukan dan sedang diperiksa di tingkat {submission.tingkat.value}")


def set_aside(
    session: Session, actor: Actor, item: SubmissionItem, instance_id: int | None, reason: str | None = None
) -> None:
    """An item set aside: it does not go up, a form opened on it before is stale, and the trail keeps
    what it held (by the operator, or by an approval that removed its record from the register)."""
    item.dibuang, item.updated_at = True, clock.now()
    audit.record(
        session,
        actor,
        AuditAction.ITEM_DISCARDED,
        "submission_item",
        item.id,
        before=item.data,
        reason=reason,
        instance_id=instance_id,
    )
