"""How far a published figure has come: still counting submissions on their way up, compiled from
verified records, or the year's official figure.

A figure is counted from the records verified so far. While a submission of its period from a desa
within its region is still in work (a draft, sent back, or in verification at some tier), a late
approval can still change it: it is published as `sementara`, so that an agency does not plan on a
quarter's figure the province has not finished verifying. A year's figure waits for every period of
that year.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.quality import review
from engine.verification import determinations
from engine.verification.status import IN_WORK
from models import AggregateValue, Submission


class FigureStatus(enum.StrEnum):
    SEMENTARA = "sementara"  # a submission of its period within its region is still in work
    TERVERIFIKASI = "terverifikasi"  # every submission of its period within its region is decided
    DITETAPKAN = "ditetapkan"  # the figure the latest determination of its year froze


class Statuses:
    """The status of each figure of one page, from two reads whatever the page's size: the
    determinations of the page's years and the submissions still in work in the page's periods."""

    def __init__(self, session: Session, periods: Iterable[str]) -> None:
        wanted = set(periods)
        self._official = _determined(session, wanted)
        self._in_work = _in_work(session, wanted)

    def of(self, v: AggregateValue) -> FigureStatus:
        if self._official.get((v.periode, v.region_kode, v.kategori)) == v.nilai:
            return FigureStatus.DITETAPKAN
        if self.in_work(v.periode, v.region_kode):
            return FigureStatus.SEMENTARA
        return FigureStatus.TERVERIFIKASI

    def in_work(self, periode: str, region_kode: str) -> bool:
        """Whether a submission of `periode` from a desa within the region is still in work."""
        return region_kode in self._in_work.get(periode, ())


def _is_year(periode: str) -> bool:
    return periode.isdigit() and len(periode) == 4


def _determined(session: Session, periods: set[str]) -> dict[tuple[str, str, str], int]:
    """(year, region, category) -> the official figure, for the years among `periods` that have a
    determination (its latest revision)."""
    official: dict[tuple[str, str, str], int] = {}
    for periode in sorted(p for p in periods if _is_year(p)):
        frozen = determinations.latest(session, int(periode))
        if frozen is not None:
            official.update({(periode, code, kategori): n for code, kategori, n in frozen.content["angka"]})
    return official


def _in_work(session: Session, periods: set[str]) -> dict[str, set[str]]:
    """period -> every region (a desa and each region above it) with a submission of that period, or
    for a year of any period in it, still in work."""
    if not periods:
        return {}
    years = [p for p in periods if _is_year(p)]
    rows = session.execute(
        select(Submission.periode, Submission.kode_desa)
        .where(Submission.status.in_(IN_WORK))
        .where(or_(Submission.periode.in_(sorted(periods)), *(Submission.periode.like(f"{y}-%") for y in years)))
        .distinct()
    )
    regions: dict[str, set[str]] = {}
    for periode, kode_desa in rows:
        for shown in {periode, periode[:4]} & periods:
            regions.setdefault(shown, set()).update(review.lineage(kode_desa))
    return regions
