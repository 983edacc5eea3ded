"""False alarms at every tier: clean Kalimantan Utara tables down to the desa, scanned as the product
scans its own figures (every tier together, one dispersion per category).

`bench/flags.py` draws the five kabupaten/kota only; the rules that compare sibling regions meet
their hardest case below them, where a kabupaten has up to 21 kecamatan and a kecamatan up to 28
desa, and most desa counts are 0 to 4. Here every desa and kecamatan of the province comes from the
reference data (`models/seed/wilayah.tsv`), each kabupaten's population from `penduduk.tsv`, spread
over its desa log-normally (σ = 0.8: there is no desa population file); desa counts are negative
binomial around slowly trending means with a kabupaten-year shock, and every upper tier is the exact
sum of the one below (as the register's figures are rolled up). KAT communities are stable by nature.
With `--stock` each desa count is a register's stock instead (`bench/synthetic.py`): last year's
people less those who left plus those who entered, the kabupaten-year shock on those who enter; small
counts often do not move at all.

With `--quarterly`, twelve quarters instead of five years (a quarter takes a quarter of a year's
leaving and trend).

Usage: python bench/tiers.py [--tables N] [--seed S] [--stock] [--quarterly]
Prints, per tier, the share of clean series with an alarm (a warning or an error), with a 95 %
interval bootstrapped over tables, and the alarms by rule. Target: ≤ 5 % at every tier.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.synthetic import CATEGORIES, STABLE, YEARS, _negative_binomial, _stock
from engine.quality.series import Context, Value, dispersions, scan
from engine.quality.thresholds import Thresholds
from models import Severity

SEED = Path(__file__).resolve().parent.parent / "models" / "seed"
TIERS = ("provinsi", "kabupaten", "kecamatan", "desa")


def _rows(name: str) -> list[dict[str, str]]:
    with (SEED / name).open(encoding="utf-8") as found:
        return list(csv.DictReader(found, delimiter="\t"))


REGIONS = sorted(r["kode"] for r in _rows("wilayah.tsv") if r["kode"].startswith("65."))
DESA = [code for code in REGIONS if code.count(".") == 3]
POPULATION = {r["kode"]: int(r["total"]) for r in _rows("penduduk.tsv") if r["kode"].count(".") == 1}


def _parent(code: str) -> str:
    return code.rsplit(".", 1)[0]


QUARTERS = [f"{y}-Q{q}" for y in range(2022, 2025) for q in range(1, 5)]


def clean_table(rng: random.Random, stock: bool = False, periods: list[str] = YEARS) -> dict[tuple[str, str, str], int]:
    """(region, category, period) -> count, for every desa and every tier above it. Quarters (a stock
    counted at each quarter's end) take a quarter of a year's leaving and trend."""
    per_year = 4 if periods[0].count("-Q") else 1
    weights = {desa: rng.lognormvariate(0, 0.8) for desa in DESA}
    per_regency = Counter()
    for desa, weight in weights.items():
        per_regency[desa[:5]] += weight
    people = {desa: POPULATION[desa[:5]] * weights[desa] / per_regency[desa[:5]] for desa in DESA}
    figures: dict[tuple[str, str, str], int] = {}
    for kategori in CATEGORIES:
        rate = math.exp(rng.uniform(math.log(0.02), math.log(25)))  # per 1,000 inhabitants
        phi = rng.uniform(0.01, 0.08)
        exit_chance = rng.uniform(0.05, 0.3) / per_year if stock else 0.0
        factor = {regency: rng.lognormvariate(0, 0.6) for regency in POPULATION}
        shock = {(regency, y): rng.gammavariate(1 / phi, phi) for regency in POPULATION for y in periods}
        for desa in DESA:
            if kategori in STABLE:
                level = rng.choice([0, 0, 0, 0, 1, 1, 2])
                figures.update({(desa, kategori, y): level for y in periods})
                continue
            mean = rate * people[desa] / 1000 * factor[desa[:5]] * rng.lognormvariate(0, 0.6)
            trend = rng.gauss(0, 0.04)
            means = [mean * (1 + trend) ** (i / per_year) for i in range(len(periods))]
            shocks = [shock[(desa[:5], y)] for y in periods]
            if stock:
                drawn = _stock(rng, means, phi, exit_chance, shocks)
            else:
                drawn = [_negative_binomial(rng, m * k, phi) for m, k in zip(means, shocks, strict=True)]
            figures.update({(desa, kategori, y): n for y, n in zip(periods, drawn, strict=True)})
    for depth in (3, 2, 1):  # each tier the exact sum of the one below
        sums: Counter[tuple[str, str, str]] = Counter()
        for (region, kategori, y), n in figures.items():
            if region.count(".") == depth:
                sums[(_parent(region), kategori, y)] += n
        figures.update(sums)
    return figures


def alarmed_by_tier(figures: dict[tuple[str, str, str], int]) -> tuple[Counter, Counter, Counter]:
    """Series per tier, series with an alarm per tier, alarms per rule."""
    values = [Value(region, kategori, y, n) for (region, kategori, y), n in figures.items()]
    children = Counter(_parent(region) for region in REGIONS)
    flags = scan(values, Context(Thresholds(), dispersions(values), STABLE, dict(children)))
    series = {(region, kategori) for region, kategori, _ in figures}
    alarmed = {(f.region_kode, f.kategori) for f in flags if f.severity != Severity.INFO}
    rules = Counter(f.rule for f in flags if f.severity != Severity.INFO)
    return Counter(TIERS[r.count(".")] for r, _ in series), Counter(TIERS[r.count(".")] for r, _ in alarmed), rules


def bootstrap(per_table: list[tuple[int, int]], rng: random.Random, rounds: int = 2000) -> tuple[float, float]:
    """A 95 % interval of the pooled share, resampling whole tables (series of one table are not independent)."""
    shares = []
    for _ in range(rounds):
        chosen = [per_table[rng.randrange(len(per_table))] for _ in per_table]
        shares.append(sum(k for k, _ in chosen) / max(1, sum(n for _, n in chosen)))
    shares.sort()
    return shares[int(0.025 * rounds)], shares[int(0.975 * rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stock", action="store_true", help="desa counts are a register's stocks")
    parser.add_argument("--quarterly", action="store_true", help="twelve quarters (2022-Q1 to 2024-Q4), not years")
    args = parser.parse_args()
    periods = QUARTERS if args.quarterly else YEARS
    rng, started = random.Random(args.seed), time.perf_counter()
    per_tier: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_rule: Counter[str] = Counter()
    for _ in range(args.tables):
        series, alarmed, rules = alarmed_by_tier(clean_table(rng, args.stock, periods))
        by_rule.update(rules)
        for tier in TIERS:
            per_tier[tier].append((alarmed[tier], series[tier]))
    kind = "stocks" if args.stock else "counts drawn anew each period"
    print(
        f"{args.tables} clean tables of Kalimantan Utara at every tier ({kind}), {len(periods)} "
        f"{'quarters' if args.quarterly else 'years'}, seed {args.seed}"
    )
    for tier in TIERS:
        k, n = sum(a for a, _ in per_tier[tier]), sum(s for _, s in per_tier[tier])
        low, high = bootstrap(per_tier[tier], random.Random(0))
        print(f"{tier:10} clean series with an alarm {k / n:6.1%} [{low:.1%}, {high:.1%}] ({k:,} of {n:,})")
    print("alarms by rule:", dict(by_rule.most_common()))
    print(f"{time.perf_counter() - started:.0f} s (target: <= 5 % at every tier)")


if __name__ == "__main__":
    main()
