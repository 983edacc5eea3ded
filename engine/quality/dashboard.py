"""What the quality dashboard shows: a region's series with its flags, open flags, completeness."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.errors import Forbidden, NotFound
from engine.quality.series import period_key
from models import AggregateValue, QualityFlag, Region, Role, Submission, SubmissionStatus, Tier, contains

READERS = {Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR}


def quality_regions(actor: Actor) -> list[str]:
    """The regions whose figures the person oversees: kabupaten/kota verifiers and above."""
    if actor.user is None:
        return [""]
    regions = [a.region_kode for a in actor.user.roles
               if a.role in READERS and a.tingkat in (Tier.PROVINSI, Tier.KABUPATEN)]
    if not regions:
        raise Forbidden("Dasbor mutu data untuk verifikator kabupaten/kota, provinsi, admin dan auditor")
    return regions


def _allowed(actor: Actor, region: str) -> None:
    if not any(r == "" or contains(r, region) for r in quality_regions(actor)):
        raise NotFound(f"Wilayah {region} tidak ada dalam wilayah Anda")


def series_for(session: Session, actor: Actor, region: str, kategori: str) -> dict[str, Any]:
    """One region and category over time, each source a line, each flagged point with its messages."""
    _allowed(actor, region)
    rows = session.scalars(select(AggregateValue).where(AggregateValue.kode_wilayah == region,
                                                        AggregateValue.kategori == kategori))
    by_source: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_source[row.sumber][row.periode] = row.nilai
    periods = sorted({p for values in by_source.values() for p in values}, key=period_key)
    flags: dict[str, list[str]] = defaultdict(list)
    for flag in session.scalars(select(QualityFlag).where(
            QualityFlag.item_id.is_(None), QualityFlag.region_kode == region, QualityFlag.kategori == kategori,
            QualityFlag.status == "terbuka")):
        flags[flag.periode or ""].append(flag.message)
    return {"region": region, "kategori": kategori, "labels": periods,
            "datasets": [{"sumber": source, "values": [values.get(p) for p in periods]}
                         for source, values in sorted(by_source.items())],
            "flags": dict(flags)}


@dataclass
class Completeness:
    kode: str
    nama: str
    expected: int  # desa and kelurahan in the region
    opened: int
    submitted: int  # submitted at least once
    verified: int
    not_reported: int

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / self.expected) if self.expected else 0


def completeness(session: Session, actor: Actor, parent: str, periode: str) -> list[Completeness]:
    """Per child region of `parent`: how many desa were expected, opened, submitted, verified."""
    _allowed(actor, parent)
    children = list(session.scalars(select(Region).where(Region.induk == parent).order_by(Region.kode)))
    depth = parent.count(".") + 2  # parts in a child's code

    def child_of(code: str) -> str:
        return ".".join(code.split(".")[:depth])

    expected: dict[str, int] = defaultdict(int)
    for code in session.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA,
                                                          Region.kode.like(f"{parent}.%"))):
        expected[child_of(code)] += 1
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, status, putaran in session.execute(select(Submission.kode_desa, Submission.status, Submission.putaran)
                                                 .where(Submission.periode == periode,
                                                        Submission.kode_desa.like(f"{parent}.%"))):
        counts = tally[child_of(code)]
        counts["opened"] += 1
        counts["submitted"] += putaran > 0
        counts["verified"] += status == SubmissionStatus.TERVERIFIKASI
        counts["not_reported"] += status == SubmissionStatus.TIDAK_MELAPOR
    return [Completeness(c.kode, c.nama, expected[c.kode], tally[c.kode]["opened"], tally[c.kode]["submitted"],
                         tally[c.kode]["verified"], tally[c.kode]["not_reported"]) for c in children]


def latest_period(session: Session) -> str:
    """The newest period with submissions: what the completeness table shows first."""
    periods = list(session.scalars(select(Submission.periode).distinct()))
    return max(periods, key=period_key) if periods else ""
