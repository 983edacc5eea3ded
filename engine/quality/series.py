"""Checks over compiled counts: region × category × period, at any level, on short series.

Yearly PPKS counts per region are four or five values. A z-score with the tested value included
can never exceed √(n−1), and a median/MAD score is undefined when most values are equal, so the
rules here are explicit (ratio bands with a minimum change, zeros, unchanged runs, copied values,
rates against peers, totals) with robust statistics only where they are defined, and a stated
behaviour where they are not. Everything here is pure: values in, flags out.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine.quality.settings import Thresholds
from models import parent_code, tier_of_code

_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|S[12]))?$")
LEVEL_LABEL = {"provinsi": "provinsi", "kabupaten": "kabupaten/kota", "kecamatan": "kecamatan",
               "desa": "desa/kelurahan"}


def period_key(periode: str) -> tuple[int, str, int]:
    """`2026` → (2026, 'Y', 0); `2026-Q3` → (2026, 'Q', 3); `2026-S2` → (2026, 'S', 2)."""
    match = _PERIOD.match(periode or "")
    if not match:
        raise ValueError(f"periode {periode!r} tidak sah: gunakan YYYY, YYYY-Qn atau YYYY-Sn")
    part = match.group(2)
    return int(match.group(1)), part[0] if part else "Y", int(part[1]) if part else 0


def next_period(periode: str) -> str:
    year, kind, n = period_key(periode)
    size = {"Y": 1, "Q": 4, "S": 2}[kind]
    if kind == "Y":
        return str(year + 1)
    return f"{year + 1}-{kind}1" if n == size else f"{year}-{kind}{n + 1}"


@dataclass(frozen=True)
class Value:
    region: str
    kategori: str
    periode: str
    nilai: int
    sumber: str = "dinsos"


@dataclass
class Flag:
    rule: str
    severity: str
    region: str
    kategori: str
    periode: str
    observed: Any
    expected: Any
    message: str
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return tier_of_code(self.region).value

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "level": self.level, "region": self.region,
                "category": self.kategori, "period": self.periode, "observed": self.observed,
                "expected": self.expected, "message": self.message, "sources": self.sources}


def _where(region: str, kategori: str, periode: str) -> str:
    return f"{kategori} di {LEVEL_LABEL[tier_of_code(region).value]} {region} periode {periode}"


def _series(values: list[Value]) -> dict[tuple[str, str, str], list[Value]]:
    """Values by region, category and kind of period (years, quarters, semesters), in period order."""
    grouped: dict[tuple[str, str, str], list[Value]] = defaultdict(list)
    for v in values:
        grouped[(v.region, v.kategori, period_key(v.periode)[1])].append(v)
    return {k: sorted(vs, key=lambda v: period_key(v.periode)) for k, vs in grouped.items()}


def _adjacent(series: list[Value]) -> list[tuple[Value, Value]]:
    """Consecutive pairs with no period missing between them."""
    return [(a, b) for a, b in zip(series, series[1:], strict=False) if next_period(a.periode) == b.periode]


def check_gaps(series: list[Value]) -> list[Flag]:
    flags = []
    for a, b in zip(series, series[1:], strict=False):
        missing, p = [], next_period(a.periode)
        while p != b.periode and len(missing) < 20:
            missing.append(p)
            p = next_period(p)
        if missing:
            flags.append(Flag("periode_hilang", "info", b.region, b.kategori, b.periode, None, missing,
                              f"{_where(b.region, b.kategori, b.periode)}: tidak ada nilai untuk "
                              f"{', '.join(missing)}; bandingkan dengan hati-hati"))
    return flags


def check_ratio(series: list[Value], t: Thresholds) -> list[Flag]:
    flags = []
    for a, b in _adjacent(series):
        if a.nilai <= 0 or b.nilai <= 0:
            continue  # zeros have their own rule
        low, high = t.get("rasio", "low", b.kategori), t.get("rasio", "high", b.kategori)
        ratio = b.nilai / a.nilai
        if (ratio < low or ratio > high) and abs(b.nilai - a.nilai) >= t.get("rasio", "min_change", b.kategori):
            bounds = [math.ceil(a.nilai * low), math.floor(a.nilai * high)]
            flags.append(Flag("rasio", "warning", b.region, b.kategori, b.periode, b.nilai, bounds,
                              f"{_where(b.region, b.kategori, b.periode)}: {b.nilai}, {ratio:.1f} kali periode "
                              f"{a.periode} ({a.nilai}); diharapkan antara {bounds[0]} dan {bounds[1]}"))
    return flags


def check_zeros(series: list[Value], t: Thresholds) -> list[Flag]:
    flags = []
    for a, b in _adjacent(series):
        if b.nilai == 0 and a.nilai >= t.get("nol", "min_before", b.kategori):
            flags.append(Flag("turun_ke_nol", "warning", b.region, b.kategori, b.periode, 0, a.nilai,
                              f"{_where(b.region, b.kategori, b.periode)}: turun ke 0 dari {a.nilai} pada "
                              f"{a.periode}; nol yang senyap sering berarti data tidak dilaporkan"))
        elif a.nilai == 0 and b.nilai >= t.get("nol", "min_after", b.kategori):
            flags.append(Flag("naik_dari_nol", "warning", b.region, b.kategori, b.periode, b.nilai, 0,
                              f"{_where(b.region, b.kategori, b.periode)}: naik ke {b.nilai} dari 0 pada "
                              f"{a.periode}"))
    return flags


def check_stale(series: list[Value], t: Thresholds) -> list[Flag]:
    """A value unchanged for k consecutive periods: flagged once, at the end of the run."""
    k, minimum = int(t.get("tetap", "periods")), t.get("tetap", "min_value")
    flags, run = [], [series[0]] if series else []
    for a, b in zip(series, series[1:], strict=False):
        if next_period(a.periode) == b.periode and b.nilai == a.nilai:
            run.append(b)
            continue
        flags += _stale_run(run, k, minimum)
        run = [b]
    return flags + _stale_run(run, k, minimum)


def _stale_run(run: list[Value], k: int, minimum: float) -> list[Flag]:
    if len(run) < k or run[-1].nilai < minimum:
        return []
    last = run[-1]
    return [Flag("tetap", "warning", last.region, last.kategori, last.periode, last.nilai, "berubah",
                 f"{_where(last.region, last.kategori, last.periode)}: nilai {last.nilai} sama persis selama "
                 f"{len(run)} periode ({run[0].periode}–{last.periode}); mungkin disalin dari periode sebelumnya")]


def robust_z(value: float, history: list[float]) -> float:
    """Modified z (Iglewicz-Hoaglin) of `value` against `history`, which excludes it.

    With MAD = 0 (the history is constant), a value equal to the median scores 0 and any other
    value scores ±inf: departing from a series that never moved is exactly what must be seen.
    """
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    if mad == 0:
        return 0.0 if value == median else math.copysign(math.inf, value - median)
    return 0.6745 * (value - median) / mad


def check_robust_z(series: list[Value], t: Thresholds) -> list[Flag]:
    flags = []
    for i, v in enumerate(series):
        history = [p.nilai for p in series[:i]]
        if len(history) < t.get("z_robust", "min_history", v.kategori):
            continue
        z, median = robust_z(v.nilai, history), statistics.median(history)
        if abs(z) > t.get("z_robust", "threshold", v.kategori) and \
                abs(v.nilai - median) >= t.get("z_robust", "min_change", v.kategori):
            how = "tidak pernah berubah" if math.isinf(z) else f"z robust {z:.1f}"
            flags.append(Flag("z_robust", "warning", v.region, v.kategori, v.periode, v.nilai, median,
                              f"{_where(v.region, v.kategori, v.periode)}: {v.nilai} jauh dari median periode "
                              f"sebelumnya {median:g} ({how}, batas {t.get('z_robust', 'threshold'):g})"))
    return flags


def check_copied(values: list[Value], t: Thresholds) -> list[Flag]:
    """The same value in many sibling regions in one period: a sign of a figure copied across."""
    groups: dict[tuple[str | None, str, str], list[Value]] = defaultdict(list)
    for v in values:
        groups[(parent_code(v.region), v.kategori, v.periode)].append(v)
    flags = []
    for (_, kategori, periode), members in groups.items():
        counts: dict[int, list[Value]] = defaultdict(list)
        for v in members:
            counts[v.nilai].append(v)
        for nilai, same in counts.items():
            enough = len(same) >= t.get("salin", "min_regions", kategori) and \
                len(same) / len(members) >= t.get("salin", "min_share", kategori)
            if nilai >= t.get("salin", "min_value", kategori) and enough:
                regions = sorted(v.region for v in same)
                flags += [Flag("salin", "warning", v.region, kategori, periode, nilai, "berbeda antarwilayah",
                               f"{_where(v.region, kategori, periode)}: nilai {nilai} sama di {len(same)} dari "
                               f"{len(members)} wilayah setingkat ({', '.join(regions)})") for v in same]
    return flags


def check_rates(values: list[Value], population: dict[str, int], t: Thresholds) -> list[Flag]:
    """A rate per 1,000 inhabitants far from the sibling regions' median rate."""
    groups: dict[tuple[str | None, str, str], list[Value]] = defaultdict(list)
    for v in values:
        if population.get(v.region):
            groups[(parent_code(v.region), v.kategori, v.periode)].append(v)
    flags = []
    for (_, kategori, periode), members in groups.items():
        if len(members) < t.get("rate", "min_peers", kategori) + 1:
            continue
        rates = {v.region: v.nilai / population[v.region] * 1000 for v in members}
        factor = t.get("rate", "factor", kategori)
        for v in members:
            peers = [r for region, r in rates.items() if region != v.region]
            median = statistics.median(peers)
            rate = rates[v.region]
            if v.nilai < t.get("rate", "min_value", kategori) and median * population[v.region] / 1000 < \
                    t.get("rate", "min_value", kategori):
                continue  # too few people on both sides for a rate to mean anything
            low, high = median / factor, median * factor
            if (median > 0 and not low <= rate <= high) or (median == 0 and rate > 0):
                flags.append(Flag("rate", "warning", v.region, kategori, periode, round(rate, 3),
                                  [round(low, 3), round(high, 3)],
                                  f"{_where(v.region, kategori, periode)}: {rate:.2f} per 1.000 penduduk, median "
                                  f"wilayah setingkat {median:.2f}; diharapkan antara {low:.2f} dan {high:.2f}"))
    return flags


def check_totals(values: list[Value], t: Thresholds, child_counts: dict[str, int] | None = None) -> list[Flag]:
    """A parent figure that is not the sum of its children's, when every child has one
    (`child_counts` says how many children a region has; without it, the children present count)."""
    by_key = {(v.region, v.kategori, v.periode): v for v in values}
    children: dict[tuple[str, str, str], list[Value]] = defaultdict(list)
    for v in values:
        parent = parent_code(v.region)
        if parent:
            children[(parent, v.kategori, v.periode)].append(v)
    flags = []
    for key, kids in children.items():
        parent = by_key.get(key)
        if parent is None or (child_counts and len(kids) < child_counts.get(key[0], 0)):
            continue
        total = sum(k.nilai for k in kids)
        if abs(parent.nilai - total) > t.get("total", "tolerance", parent.kategori):
            flags.append(Flag("total", "error", parent.region, parent.kategori, parent.periode, parent.nilai, total,
                              f"{_where(parent.region, parent.kategori, parent.periode)}: total {parent.nilai}, "
                              f"jumlah {len(kids)} wilayah di bawahnya {total}"))
    return flags


def scan(values: list[Value], population: dict[str, int], t: Thresholds | None = None,
         child_counts: dict[str, int] | None = None) -> list[Flag]:
    """Every aggregate rule over the values; flags sorted by region, category and period."""
    t = t or Thresholds()
    flags: list[Flag] = []
    for series in _series(values).values():
        flags += check_gaps(series) + check_ratio(series, t) + check_zeros(series, t) + check_stale(series, t)
        flags += check_robust_z(series, t)
    flags += check_copied(values, t) + check_rates(values, population, t) + check_totals(values, t, child_counts)
    return sorted(flags, key=lambda f: (f.region, f.kategori, period_key(f.periode), f.rule))
