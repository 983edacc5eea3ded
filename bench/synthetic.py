"""Realistic synthetic PPKS tables for measuring the aggregate checks.

A table is what a province compiles each year: for the five kabupaten/kota of Kalimantan Utara and
26 PPKS categories, a count per year 2020-2024, and the province as their exact sum. Counts are
drawn around slowly trending means:

- each category has a rate per 1,000 inhabitants, from rare (a few people in a regency) to common
  (thousands), log-uniformly;
- regencies differ for structural reasons (migrant transit, street work, adat communities): each
  regency × category gets a lasting factor, log-normal with σ = 0.6;
- each series trends slowly, a few per cent a year either way;
- counts are Poisson, or negative binomial with a dispersion per category (over-dispersed);
- one category is stable by nature (KAT communities: a small constant count per regency).

Planted anomalies change one or a few cells of the newest year, one per table, of one kind. They are
the brief's complaints: jumps of ×2, ×4, ×10, a drop to zero, figures copied forward once or twice,
copied from another regency or across three, totals that are not the sum (wrong, copied forward,
missing a regency), and a regency's rate set to ×4 or ×10 that of its peers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from engine.quality.series import Value

YEARS = [str(y) for y in range(2020, 2025)]
LAST = YEARS[-1]
PROVINCE = "65"
# Kalimantan Utara's kabupaten/kota and their population (Dukcapil, semester II 2024, rounded).
REGENCIES = {"65.01": 157_000, "65.02": 94_000, "65.03": 232_000, "65.04": 31_000, "65.71": 251_000}
CATEGORIES = [
    "ABT",
    "AT",
    "ABH",
    "AJ",
    "ADK",
    "AKTK",
    "AMPK",
    "LUT",
    "PD",
    "TS",
    "GL",
    "PGM",
    "PML",
    "KM",
    "BWBLP",
    "ODHA",
    "NAPZA",
    "KTR",
    "KTK",
    "PMBS",
    "KBA",
    "KBS",
    "PRSE",
    "FM",
    "KBSP",
    "KAT",
]
STABLE = frozenset({"KAT"})
KINDS = [
    "x2",
    "x4",
    "x10",
    "nol",
    "salin_maju_1",
    "salin_maju_2",
    "salin_dari_1",
    "salin_dari_3",
    "total_salah",
    "total_salin_maju",
    "total_kurang_1",
    "rate_x4",
    "rate_x10",
]


@dataclass
class Table:
    """Figures by (region, category, year); `planted` names the cells an anomaly changed."""

    figures: dict[tuple[str, str, str], int]
    planted: set[tuple[str, str, str]] = field(default_factory=set)

    def values(self) -> list[Value]:
        return [Value(r, k, p, n) for (r, k, p), n in self.figures.items()]

    def series_keys(self) -> set[tuple[str, str]]:
        return {(r, k) for r, k, _ in self.figures}


def _negative_binomial(rng: random.Random, mean: float, dispersion: float) -> int:
    if dispersion <= 0:
        return _poisson(rng, mean)
    shape = 1 / dispersion
    return _poisson(rng, rng.gammavariate(shape, mean / shape))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean < 30:
        limit, k, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))  # the normal is exact enough this large


def clean_table(rng: random.Random, overdispersed: bool) -> Table:
    figures: dict[tuple[str, str, str], int] = {}
    for kategori in CATEGORIES:
        rate = math.exp(rng.uniform(math.log(0.02), math.log(25)))  # per 1,000 inhabitants
        dispersion = rng.uniform(0.01, 0.08) if overdispersed else 0.0
        for region, population in REGENCIES.items():
            if kategori in STABLE:
                constant = rng.randint(0, 6)
                figures.update({(region, kategori, y): constant for y in YEARS})
                continue
            mean = rate * population / 1000 * rng.lognormvariate(0, 0.6)
            trend = rng.gauss(0, 0.04)
            for i, year in enumerate(YEARS):
                figures[(region, kategori, year)] = _negative_binomial(rng, mean * (1 + trend) ** i, dispersion)
    _sum_province(figures)
    return Table(figures)


def _sum_province(figures: dict[tuple[str, str, str], int], years: list[str] = YEARS) -> None:
    for kategori in CATEGORIES:
        for year in years:
            figures[(PROVINCE, kategori, year)] = sum(figures[(r, kategori, year)] for r in REGENCIES)


def plant(table: Table, kind: str, rng: random.Random) -> Table:
    """A copy of the table with one anomaly of `kind` in the newest year."""
    figures = dict(table.figures)
    kategori = rng.choice([k for k in CATEGORIES if k not in STABLE])
    regions = list(REGENCIES)
    rng.shuffle(regions)
    region = regions[0]
    cell = (region, kategori, LAST)
    planted = {cell}
    if kind in ("x2", "x4", "x10"):
        figures[cell] = max(1, figures[cell]) * int(kind[1:])
    elif kind == "nol":
        figures[cell] = 0
    elif kind == "salin_maju_1":
        figures[cell] = figures[(region, kategori, YEARS[-2])]
    elif kind == "salin_maju_2":
        figures[(region, kategori, YEARS[-2])] = figures[(region, kategori, YEARS[-3])]
        figures[cell] = figures[(region, kategori, YEARS[-3])]
        planted.add((region, kategori, YEARS[-2]))
    elif kind == "salin_dari_1":
        figures[cell] = figures[(regions[1], kategori, LAST)]
    elif kind == "salin_dari_3":
        for other in regions[1:3]:
            figures[(other, kategori, LAST)] = figures[cell]
        planted = {(other, kategori, LAST) for other in regions[1:3]}
    elif kind.startswith("rate_x"):
        peers = sorted(figures[(r, kategori, LAST)] / REGENCIES[r] for r in regions[1:])
        median = (peers[1] + peers[2]) / 2
        figures[cell] = max(1, round(int(kind[6:]) * median * REGENCIES[region]))
    if not kind.startswith("total"):
        _sum_province(figures, [LAST, YEARS[-2]])
        return Table(figures, planted)
    province = (PROVINCE, kategori, LAST)
    if kind == "total_salah":
        figures[province] += rng.choice([-1, 1]) * max(1, round(figures[province] * rng.uniform(0.01, 0.1)))
    elif kind == "total_salin_maju":
        figures[province] = figures[(PROVINCE, kategori, YEARS[-2])]
    elif kind == "total_kurang_1":
        figures[province] -= figures[cell]
    return Table(figures, {province})


def changed(before: Table, after: Table) -> bool:
    """Whether planting changed anything (a zero times four is still zero; a copy may equal the original)."""
    return any(before.figures[c] != after.figures[c] for c in after.planted)
