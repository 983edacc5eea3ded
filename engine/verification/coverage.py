"""How much of the province reported in a year's cycles, read beside the figures determined from them.

A regency none of whose desa reported all year holds only what earlier years left on its register,
or nothing: its figure is not a count of people found that year, and a zero there is a silent zero
(DOMAIN.md). The year's coverage per regency and cycle is frozen with the determination (its hash
covers it), shown beside the figures the head approves and the figures determined, and written into
the exports' metadata.

Every regency in use has a line in every cycle, asked or not (a cycle opened for part of the
province asked the rest for nothing: they did not report either); a regency recoded in the year is
counted under the code that carries it on; a cycle still open when the year is frozen says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.periods import reference_date
from engine.quality import completeness
from models import Cycle, CycleStatus, Region, RegionChange, RegionChangeKind, Tier, contains

SUCCESSIONS = 20  # recodings followed from an old code to today's, at most


@dataclass(frozen=True)
class Coverage:
    """One regency in one cycle of the year."""

    periode: str
    kode: str
    diharapkan: int  # desa and kelurahan asked to report
    melapor: int  # submitted, a nil report included
    tidak_melapor: int  # marked as not reported when the cycle closed
    disahkan: int  # approved by the province
    terbuka: bool = False  # the cycle was still open: those neither reported nor marked may still report

    def said(self) -> str:
        told = f"{self.melapor} dari {self.diharapkan} desa/kelurahan melapor pada {self.periode}"
        return f"{told} (siklus belum ditutup)" if self.terbuka else told

    def frozen(self) -> list[Any]:
        return [self.periode, self.kode, self.diharapkan, self.melapor, self.tidak_melapor, self.disahkan, self.terbuka]

    def plus(self, other: Coverage) -> Coverage:
        return replace(
            self,
            diharapkan=self.diharapkan + other.diharapkan,
            melapor=self.melapor + other.melapor,
            tidak_melapor=self.tidak_melapor + other.tidak_melapor,
            disahkan=self.disahkan + other.disahkan,
        )


def of_year(session: Session, province: str, tahun: int) -> list[Coverage]:
    """Each regency's coverage in each of the year's cycles, by the day each cycle ends (a rhythm
    changed in the year puts 2026-S1 before 2026-Q3)."""
    cycles = {c.periode: c.status for c in session.scalars(select(Cycle).where(Cycle.periode.like(f"{tahun}-%")))}
    in_use = _regencies(session, province)
    carried = _carried_on(session, province)
    found: list[Coverage] = []
    for periode in sorted(cycles, key=lambda p: (reference_date(p), p)):
        lines = {kode: Coverage(periode, kode, 0, 0, 0, 0) for kode in in_use}
        for row in completeness.tally(session, periode, province, registers=False):
            kode = carried.get(row.kode, row.kode)
            line = Coverage(periode, kode, row.expected, row.submitted, row.not_reported, row.verified[Tier.PROVINSI])
            lines[kode] = lines[kode].plus(line) if kode in lines else line
        opened = cycles[periode] != CycleStatus.DITUTUP
        found += [replace(line, terbuka=opened) for _, line in sorted(lines.items())]
    return found


def _regencies(session: Session, province: str) -> list[str]:
    return list(
        session.scalars(
            select(Region.kode).where(
                Region.tingkat == Tier.KABUPATEN, Region.induk == province, Region.berakhir.is_(None)
            )
        )
    )


def _carried_on(session: Session, province: str) -> dict[str, str]:
    """Each ended regency code of the province, and the code in use that carries it on."""
    changes = session.execute(
        select(RegionChange.kode, RegionChange.terkait).where(
            RegionChange.perubahan == RegionChangeKind.BERAKHIR,
            RegionChange.terkait.is_not(None),
            RegionChange.kode.like(f"{province}.%"),
        )
    )
    ended = {old: new for old, new in changes if new}
    found = {}
    for old in ended:
        new = ended[old]
        for _ in range(SUCCESSIONS):
            if new not in ended:
                break
            new = ended[new]
        found[old] = new
    return found


def within(coverages: list[Coverage], regions: list[str]) -> list[Coverage]:
    """The coverage of the regencies in `regions` or holding one of them (a kecamatan's token reads
    its regency's)."""
    return [c for c in coverages if any(contains(c.kode, r) or contains(r, c.kode) for r in regions)]


def read(content: dict[str, Any]) -> list[Coverage]:
    """The coverage frozen in a determination's content (none in one frozen before it was kept)."""
    return [Coverage(*row) for row in content.get("kelengkapan", [])]


def unreported(coverages: list[Coverage]) -> set[str]:
    """Regencies from which no desa reported in any of the year's cycles, asked or not."""
    return {c.kode for c in coverages} - {c.kode for c in coverages if c.melapor}


def latest_by_region(coverages: list[Coverage]) -> dict[str, Coverage]:
    """Each regency's coverage in the year's last cycle: what a page says beside its figures."""
    return {c.kode: c for c in coverages}
