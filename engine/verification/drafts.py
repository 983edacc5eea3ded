"""A desa's submission as its operator reaches it: found within the person's desa, and editable only
while it is a draft or returned."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import Conflict, NotFound
from engine.people.scope import Scope
from engine.verification.status import EDITABLE
from models import Submission, Tier


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


def editable_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The operator's submission, refused when it is with the tiers (not a draft or returned)."""
    submission = operator_submission(session, actor, submission_id)
    if submission.status not in EDITABLE:
        raise Conflict(
            f"Pengajuan {submission.id} berstatus {submission.status.value} di tingkat "
            f"{submission.tingkat.value}; tidak dapat diubah sekarang"
        )
    return submission
