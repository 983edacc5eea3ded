"""A reconciliation task's page: the task, the year's flags as the person may read them, and the
step's own parts (what the Forum sent back, for a regency; the proposal and what blocks it, for
the head). The steward, the Forum and the head work on compiled figures: a sensitive category's
count in a desa or kecamatan is not theirs to read (`engine/quality/flag_reading.py`), so its
flags say only that they are there, and its changed figures and double registrations are counted,
not listed."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import NotFound
from engine.people import privacy
from engine.quality import flag_reading
from engine.verification import decisions, forum_review, reconciliation
from models import HumanTask, ProcessInstance


def task_of(session: Session, actor: Actor, task_id: int) -> tuple[HumanTask, ProcessInstance]:
    """A reconciliation task in the person's inbox, with its instance."""
    found = decisions.find(session, actor, task_id)
    if found.task.bpmn_id not in (reconciliation.REGENCY_TASK, reconciliation.FORUM_TASK, reconciliation.HEAD_TASK):
        raise NotFound(f"Tugas {task_id} bukan tugas rekonsiliasi")
    return found.task, reconciliation.instance_of_task(session, found.task)


def task_page(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    task, instance = task_of(session, actor, task_id)
    page: dict[str, Any] = {"task": task, "tahun": instance.periode}
    year = int(instance.periode)
    if task.bpmn_id == reconciliation.REGENCY_TASK:
        flags = reconciliation.year_flags(session, instance.region_kode, year, task.region_kode)
        page["forum_returns"] = _returns_seen(actor, forum_review.returns_to(session, instance, task.region_kode))
    elif task.bpmn_id == reconciliation.FORUM_TASK:
        flags = forum_review.discrepancies(session, instance)
    else:
        flags = reconciliation.year_flags(session, instance.region_kode, year)
        page["blocking"] = [f for f in flags if reconciliation.blocks_determination(f)]
        page["proposal"], page["tersembunyi"] = _proposal_seen(actor, reconciliation.proposal(session, instance))
    page["flags"] = flag_reading.seen_by(actor, flags)
    return page


def _returns_seen(actor: Actor, returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The regency's explanation the Forum sent back is left out where it was on a hidden flag."""
    return [r if _return_seen(actor, r) else {**r, "catatan": None} for r in returns]


def _return_seen(actor: Actor, returned: dict[str, Any]) -> bool:
    wilayah = str(returned.get("wilayah") or "")
    if "kategori" not in returned:  # written before returns named the category: any below the regency
        return wilayah.count(".") <= 1 or privacy.reads_sensitive_counts(actor)
    return privacy.sees_sensitive_count(actor, wilayah, str(returned["kategori"] or ""))


def _proposal_seen(actor: Actor, proposal: reconciliation.Proposal) -> tuple[reconciliation.Proposal, dict[str, int]]:
    """The proposal with the changed figures and double registrations the person may read, and how
    many were left out (they still refuse the determination, so the page counts them)."""
    changed = [d for d in proposal.berubah if privacy.sees_sensitive_count(actor, d.wilayah, d.kategori)]
    twice = [t for t in proposal.ganda if all(privacy.sees_sensitive_count(actor, d, t.kategori) for d in t.desa)]
    hidden = {
        "berubah": len(proposal.berubah) - len(changed),
        "ganda": len(proposal.ganda) - len(twice),
        "ganda_orang": sum(t.orang for t in proposal.ganda) - sum(t.orang for t in twice),
    }
    return dataclasses.replace(proposal, berubah=changed, ganda=twice), hidden
