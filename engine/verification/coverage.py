"""How much of the province reported in a year's cycles, read beside the figures determined from them.

A regency none of whose desa reported all year holds only what earlier years left on its register,
or nothing: its figure is not a count of people found that year, and a zero there is a silent zero
(DOMAIN.md). The year's coverage per regency and cycle is frozen with the determination (its hash
covers it), shown beside the figures the head approves and the figures determined, and written into
the exports' metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.periods import reference_date
from engine.quality import completeness
from models import Cycle, Tier, contains


@dataclass(frozen=True)
class Coverage:
    """One regency in one cycle of the year."""

    periode: str
    kode: str
    diharapkan: int  # desa and kelurahan asked to report
    melapor: int  # submitted, a nil report included
    tidak_melapor: int  # marked as not reported when the cycle closed
    disahkan: int  # approved by the province

    def said(self) -> str:
        return f"{self.melapor} dari {self.diharapkan} desa/kelurahan melapor pada {self.periode}"

    def frozen(self) -> list[Any]:
        return [self.periode, self.kode, self.diharapkan, self.melapor, self.tidak_melapor, self.disahkan]


def of_year(session: Session, province: str, tahun: int) -> list[Coverage]:
    """Each regency's coverage in each of the year's cycles, by the day each cycle ends (a rhythm
    changed in the year puts 2026-S1 before 2026-Q3)."""
    periods = session.scalars(select(Cycle.periode).where(Cycle.periode.like(f"{tahun}-%"))).all()
    return [
        Coverage(p, row.kode, row.expected, row.submitted, row.not_reported, row.verified[Tier.PROVINSI.value])
        for p in sorted(periods, key=lambda p: (reference_date(p), p))
        for row in completeness.tally(session, p, province, registers=False)
    ]


def within(coverages: list[Coverage], regions: list[str]) -> list[Coverage]:
    """The coverage of the regencies in `regions` or holding one of them (a kecamatan's token reads
    its regency's)."""
    return [c for c in coverages if any(contains(c.kode, r) or contains(r, c.kode) for r in regions)]


def read(content: dict[str, Any]) -> list[Coverage]:
    """The coverage frozen in a determination's content (none in one frozen before it was kept)."""
    return [Coverage(*row) for row in content.get("kelengkapan", [])]


def unreported(coverages: list[Coverage]) -> set[str]:
    """Regencies asked to report in the year's cycles from which no desa reported in any of them."""
    asked = {c.kode for c in coverages if c.diharapkan}
    return asked - {c.kode for c in coverages if c.melapor}


def latest_by_region(coverages: list[Coverage]) -> dict[str, Coverage]:
    """Each regency's coverage in the year's last cycle: what a page says beside its figures."""
    return {c.kode: c for c in coverages}
