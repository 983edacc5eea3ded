"""A year's determination as its page shows it: the figures of the revision asked for, which revision
is the latest, how many desa reported in the reader's part of the province (with the names the
regions had when it was approved), and the change from the year before."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import NotFound
from engine.people.scope import Scope
from engine.verification import determinations, region_history


def determination_page(session: Session, actor: Actor, tahun: int, revisi: int | None = None) -> dict[str, Any]:
    """The page's content; a year not determined, or out of the reader's reach, is `NotFound`."""
    frozen = determinations.get(session, actor, tahun, revisi)
    latest = frozen.revisi if revisi is None else determinations.get(session, actor, tahun).revisi
    reporting = determinations.reporting(frozen, determinations.part_of(actor, frozen))
    auditing = Scope.auditing(actor)  # the figures an auditor follows to their trail
    try:  # the first year determined has nothing to compare with
        comparison = determinations.diff(session, actor, tahun - 1, tahun, frozen.revisi)
    except NotFound:
        comparison = None
    return {
        "d": determinations.summary(frozen),
        "approved_at": frozen.approved_at,
        "comparison": comparison,
        "latest": latest,
        "reporting": reporting,
        "names": region_history.names_at(session, frozen.approved_at, {c.kode for c in reporting}),
        "own": (own := _own_figures(auditing, frozen)),
        "traceable": _traceable(auditing, frozen.region_kode, comparison, own),
    }


def _own_figures(scope: Scope, frozen: Any) -> list[dict[str, Any]]:
    """For an auditor of a part of the province: the published figures of their own regions, which
    the page's province totals do not show, each to be followed to its trail."""
    if scope.empty or scope.contains(frozen.region_kode):
        return []
    return [f for f in determinations.figures(frozen, scope) if f["wilayah"] in scope.regions]


def _traceable(scope: Scope, province: str, comparison: dict[str, Any] | None, own: list[dict[str, Any]]) -> set[str]:
    """The regions of the page's figures whose trail the reader opens: an auditor's own, none for
    anyone else, so that no figure links to a trail that answers "not in your region"."""
    shown = {province, *(c["wilayah"] for c in (comparison or {}).get("perubahan", [])), *(f["wilayah"] for f in own)}
    return {code for code in shown if scope.contains(code)}
