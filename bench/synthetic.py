"""Realistic synthetic PPKS tables for measuring the aggregate checks.

A table is what a province compiles each year: for the five kabupaten/kota of Kalimantan Utara and
26 PPKS categories, a count per year 2020-2024, and the province as their exact sum. Counts are
drawn around slowly trending means:

- each category has a rate per 1,000 inhabitants, from rare (a few people in a regency) to common
  (thousands), log-uniformly;
- regencies differ for structural reasons (migrant transit, street work, adat communities): each
  regency × category gets a lasting factor, log-normal with σ = 0.6;
- each series trends slowly, a few per cent a year either way;
- counts are Poisson, or negative binomial with a dispersion per category (over-dispersed), each
  year drawn anew; or they are **stocks**, as a register's are: last year's people, less those who
  left (each with a category's yearly exit chance, 5–30 %), plus those who entered (over-dispersed,
  so that the series keeps its trending mean). A small stock with few people leaving often stays
  exactly the same from one year to the next, and rightly so;
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
    if mean <= 0:  # a stock shrinking faster than its people leave: nobody enters
        return 0
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


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n < 50:
        return sum(rng.random() < p for _ in range(n))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _stock(
    rng: random.Random, means: list[float], dispersion: float, exit_chance: float, shocks: list[float] | None = None
) -> list[int]:
    """A register's yearly count: the people of last year who stayed, plus those who entered. A year's
    shock (a campaign, a budget year) changes how many enter, not the level directly."""
    figures = [_negative_binomial(rng, means[0], dispersion)]
    for i, (before, mean) in enumerate(zip(means, means[1:], strict=False), start=1):
        entering = max(0.0, mean - (1 - exit_chance) * before) * (shocks[i] if shocks else 1.0)
        stayed = figures[-1] - _binomial(rng, figures[-1], exit_chance)
        figures.append(stayed + _negative_binomial(rng, entering, dispersion))
    return figures


def clean_table(rng: random.Random, overdispersed: bool, stock: bool = False) -> Table:
    """A clean table: Poisson counts, over-dispersed ones, or (`stock`) a register's stocks."""
    figures: dict[tuple[str, str, str], int] = {}
    for kategori in CATEGORIES:
        rate = math.exp(rng.uniform(math.log(0.02), math.log(25)))  # per 1,000 inhabitants
        dispersion = rng.uniform(0.01, 0.08) if overdispersed or stock else 0.0
        exit_chance = rng.uniform(0.05, 0.3) if stock else 0.0
        for region, population in REGENCIES.items():
            if kategori in STABLE:
                constant = rng.randint(0, 6)
                figures.update({(region, kategori, y): constant for y in YEARS})
                continue
            mean = rate * population / 1000 * rng.lognormvariate(0, 0.6)
            trend = rng.gauss(0, 0.04)
            means = [mean * (1 + trend) ** i for i in range(len(YEARS))]
            if stock:
                drawn = _stock(rng, means, dispersion, exit_chance)
            else:
                drawn = [_negative_binomial(rng, m, dispersion) for m in means]
            figures.update({(region, kategori, y): n for y, n in zip(YEARS, drawn, strict=True)})
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
