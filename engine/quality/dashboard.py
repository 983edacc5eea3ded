"""What the quality dashboard shows: a region's series with its flags, open flags, completeness."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import Forbidden
from engine.core.periods import period_key
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import completeness as period_completeness
from engine.quality import review
from models import AggregateValue, FlagStatus, QualityFlag, Submission


def series_for(session: Session, actor: Actor, region_kode: str, kategori: str) -> dict[str, Any]:
    """One region and category over time, each source a line, each flagged point with its messages."""
    Scope.overseeing(actor).require_any().require(region_kode, f"Wilayah {region_kode}")
    if not privacy.sees_sensitive_count(actor, region_kode, kategori):
        raise Forbidden(f"Angka {kategori} di bawah kabupaten/kota hanya untuk verifikator, validator dan auditor")
    rows = session.scalars(
        select(AggregateValue).where(AggregateValue.region_kode == region_kode, AggregateValue.kategori == kategori)
    )
    by_source: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_source[row.sumber][row.periode] = row.nilai
    periods = sorted({p for values in by_source.values() for p in values}, key=period_key)
    flags: dict[str, list[str]] = defaultdict(list)
    for flag in session.scalars(
        select(QualityFlag).where(
            QualityFlag.item_id.is_(None),
            QualityFlag.record_id.is_(None),
            QualityFlag.region_kode == region_kode,
            QualityFlag.kategori == kategori,
            QualityFlag.status == FlagStatus.TERBUKA,
        )
    ):
        flags[flag.periode or ""].append(flag.message)
    return {
        "region_kode": region_kode,
        "kategori": kategori,
        "labels": periods,
        "datasets": [
            {"sumber": source, "values": [values.get(p) for p in periods]}
            for source, values in sorted(by_source.items())
        ],
        "flags": dict(flags),
    }


def latest_period(session: Session) -> str:
    """The newest period with submissions: what the completeness table shows first."""
    periods = list(session.scalars(select(Submission.periode).distinct()))
    return max(periods, key=period_key) if periods else ""


@dataclass(frozen=True)
class DashboardFilter:
    flags: review.FlagFilter = review.FlagFilter()
    page: int = 1  # of the flag list
    induk: str = ""  # completeness of this region's children
    periode_lengkap: str = ""  # completeness in this period


@dataclass
class Dashboard:
    flags: review.FlagList
    regions: list[str]
    completeness: list[period_completeness.Status]
    induk: str
    periode_lengkap: str
    reviewing: Scope  # where the person may explain, acknowledge or close flags

    def may_settle(self, flag: QualityFlag) -> bool:
        return self.reviewing.contains(flag.region_kode)


def dashboard(session: Session, actor: Actor, f: DashboardFilter, province: str) -> Dashboard:
    """The open flags and the completeness table a person oversees."""
    scope = Scope.overseeing(actor).require_any()
    parent = f.induk or (scope.regions[0] if scope.regions else province)
    scope.require(parent, f"Wilayah {parent}")
    periode = f.periode_lengkap or latest_period(session)
    flags = review.flag_list(session, scope, f.flags, f.page, sensitive=privacy.reads_sensitive_counts(actor))
    rows = period_completeness.tally(session, periode, parent) if periode else []
    return Dashboard(flags, scope.regions, rows, parent, periode, Scope.reviewing(actor))
