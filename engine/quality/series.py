"""Checks over compiled counts: region × category × period, at any level, on short series.

Yearly PPKS counts per region are four or five values, and they are counts of people: their noise
grows with their size. Every rule here asks how surprising a figure is under that noise
(`engine/quality/counts.py`), not how far it lies from a spread of three or four earlier values:

- a figure far outside the predictive interval of its own earlier figures (a jump, a fall, a drop
  to zero, a rise from zero);
- the same figure repeated, when such a repeat is improbable under counting noise (a repeated 2 is
  normal, a repeated 1,873 is not), except in categories stable by nature;
- the same figure in sibling regions, when that coincidence is improbable;
- a region's share of its siblings' total moving away from its own history;
- a total that is not the sum of its parts.

Everything here is pure: values in, flags out. The rules, their defaults and why are in
docs/data-quality.md.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import phrase
from engine.core.periods import next_period, period_key
from engine.quality import counts
from engine.quality.thresholds import Thresholds
from models import Severity, parent_code, tier_of_code

HISTORY = 4  # earlier figures a prediction uses: older ones say less about this year
UNKNOWN_DISPERSION = counts.Dispersion(0.02)


@dataclass(frozen=True)
class Value:
    region_kode: str
    kategori: str
    periode: str
    nilai: int
    sumber: str = "dinsos"


@dataclass
class Flag:
    rule: str
    severity: Severity
    region_kode: str
    kategori: str
    periode: str
    observed: Any
    expected: Any
    message: str
    sources: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0  # how surprising: −log10 of the probability under counting noise

    @property
    def tingkat(self) -> str:
        return tier_of_code(self.region_kode).value

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "tingkat": self.tingkat,
            "region_kode": self.region_kode,
            "kategori": self.kategori,
            "periode": self.periode,
            "observed": self.observed,
            "expected": self.expected,
            "message": self.message,
            "sources": self.sources,
            "score": round(self.score, 2),
        }


@dataclass(frozen=True)
class Context:
    """What the rules need besides the values: thresholds, each category's dispersion, the
    categories stable by nature, and how many children each region has."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    dispersion: dict[str, counts.Dispersion] = field(default_factory=dict)
    stable: frozenset[str] = frozenset()
    child_counts: dict[str, int] = field(default_factory=dict)

    def phi(self, kategori: str) -> float:
        """The dispersion for judging surprises (wide)."""
        return self.dispersion.get(kategori, UNKNOWN_DISPERSION).wide

    def phi_narrow(self, kategori: str) -> float:
        """The dispersion for judging coincidences (narrow)."""
        return self.dispersion.get(kategori, UNKNOWN_DISPERSION).narrow

    def repeat_chance(self, v: Value, length: int) -> float:
        """The chance of `length` equal figures ending at `v`, drawn anew or as a stock (`counts.Dispersion`)."""
        return self.dispersion.get(v.kategori, UNKNOWN_DISPERSION).repeat_chance(v.nilai, length, kind_of(v))


def kind_of(v: Value) -> str:
    """Years, semesters or quarters ("Y", "S", "Q")."""
    return period_key(v.periode)[1]


def where(region_kode: str, kategori: str, periode: str) -> str:
    return phrase(f"{kategori} di {tier_of_code(region_kode).label} {region_kode} periode {periode}")


def _series(values: Iterable[Value]) -> dict[tuple[str, str, str], list[Value]]:
    """Values by region, category and kind of period (years, quarters, semesters), in period order."""
    grouped: dict[tuple[str, str, str], list[Value]] = defaultdict(list)
    for v in values:
        grouped[(v.region_kode, v.kategori, period_key(v.periode)[1])].append(v)
    return {k: sorted(vs, key=lambda v: period_key(v.periode)) for k, vs in grouped.items()}


def dispersions(values: Iterable[Value]) -> dict[str, counts.Dispersion]:
    """Each category's dispersion, estimated from the history of all its series in `values`: each
    series without its newest figure, which is the one being judged (an anomaly there must not widen
    the interval it is judged against)."""
    by_category: dict[str, list[list[int]]] = defaultdict(list)
    runs: dict[str, dict[str, list[list[int]]]] = defaultdict(lambda: defaultdict(list))
    for (_, kategori, kind), series in _series(values).items():
        history = series[:-1] if len(series) > 3 else series
        by_category[kategori].append([v.nilai for v in history])
        runs[kategori][kind] += _consecutive(history)
    return {kategori: counts.category_dispersion(s, runs[kategori]) for kategori, s in by_category.items()}


def _consecutive(series: list[Value]) -> list[list[int]]:
    """A series' runs of consecutive periods: a change across a missing period is not one period's."""
    runs: list[list[int]] = []
    for before, v in zip([None, *series], series, strict=False):
        if before is None or next_period(before.periode) != v.periode:
            runs.append([])
        runs[-1].append(v.nilai)
    return runs


def check_gaps(series: list[Value]) -> list[Flag]:
    flags = []
    for a, b in zip(series, series[1:], strict=False):
        missing, p = [], next_period(a.periode)
        while p != b.periode and len(missing) < 20:
            missing.append(p)
            p = next_period(p)
        if missing:
            flags.append(
                Flag(
                    "periode_hilang",
                    Severity.INFO,
                    b.region_kode,
                    b.kategori,
                    b.periode,
                    None,
                    len(missing),
                    f"{where(b.region_kode, b.kategori, b.periode)}: tidak ada nilai untuk "
                    f"{', '.join(missing)}; bandingkan dengan hati-hati",
                )
            )
    return flags


def _level_rule(earlier: list[int], x: int, p_up: float, p_down: float) -> str:
    if x == 0 and p_down <= p_up:
        return "turun_ke_nol"
    if not any(earlier) and p_up < p_down:
        return "naik_dari_nol"
    return "lonjakan" if p_up < p_down else "penurunan"


def _level_message(rule: str, v: Value, prediction: counts.Prediction, interval: tuple[int, int]) -> str:
    place = where(v.region_kode, v.kategori, v.periode)
    expected = phrase(f"diharapkan sekitar {prediction.mean:.0f} (antara {interval[0]} dan {interval[1]})")
    if rule == "turun_ke_nol":
        return phrase(f"{place}: turun ke 0, {expected}; nol yang senyap sering berarti data tidak dilaporkan")
    if rule == "naik_dari_nol":
        return phrase(f"{place}: {v.nilai}, padahal periode sebelumnya 0")
    word = phrase("lebih tinggi") if rule == "lonjakan" else phrase("lebih rendah")
    return phrase(f"{place}: {v.nilai}, jauh {word} dari periode sebelumnya; {expected}")


def check_level(series: list[Value], ctx: Context) -> list[Flag]:
    """Each figure against the predictive interval of its series' earlier figures."""
    flags = []
    for i, v in enumerate(series):
        t = ctx.thresholds
        earlier = [p.nilai for p in series[max(0, i - HISTORY) : i]]
        if len(earlier) < t.get("lonjakan", "min_history", v.kategori):
            continue
        alpha = t.get("lonjakan", "alpha", v.kategori)
        prediction = counts.predict(earlier, ctx.phi(v.kategori))
        p_up, p_down = prediction.upper_tail(v.nilai), prediction.lower_tail(v.nilai)
        if min(p_up, p_down) >= alpha:
            continue
        rule = _level_rule(earlier, v.nilai, p_up, p_down)
        interval = prediction.interval(alpha)
        flags.append(
            Flag(
                rule,
                Severity.WARNING,
                v.region_kode,
                v.kategori,
                v.periode,
                v.nilai,
                list(interval),
                _level_message(rule, v, prediction, interval),
                score=counts.surprise(min(p_up, p_down)),
            )
        )
    return flags


def _runs(series: list[Value]) -> list[list[Value]]:
    """Maximal runs of equal figures in consecutive periods."""
    runs, run = [], series[:1]
    for a, b in zip(series, series[1:], strict=False):
        if next_period(a.periode) == b.periode and b.nilai == a.nilai:
            run.append(b)
        else:
            runs.append(run)
            run = [b]
    return [r for r in [*runs, run] if len(r) >= 2]


def check_repeats(series: list[Value], ctx: Context) -> list[Flag]:
    """A figure repeated exactly, flagged at the end of its run when such a repeat is improbable."""
    if not series or series[0].kategori in ctx.stable:
        return []
    t, kategori = ctx.thresholds, series[0].kategori
    flags = []
    for run in _runs(series):
        v = run[-1]
        if v.nilai < t.get("tetap", "min_value", kategori):
            continue
        # the chance of such a run anywhere in the series: each place it could start
        places = len(series) - len(run) + 1
        chance = min(1.0, ctx.repeat_chance(v, len(run)) * places)
        if chance < t.get("tetap", "alpha", kategori):
            flags.append(
                Flag(
                    "tetap",
                    Severity.WARNING,
                    v.region_kode,
                    kategori,
                    v.periode,
                    v.nilai,
                    "berubah",
                    f"{where(v.region_kode, kategori, v.periode)}: nilai {v.nilai} sama persis selama "
                    f"{len(run)} periode ({run[0].periode}–{v.periode}); peluang kebetulan seperti ini "
                    f"{_odds(chance)}, mungkin disalin dari periode sebelumnya",
                    score=counts.surprise(chance),
                )
            )
    return flags


def _odds(probability: float) -> str:
    if probability <= 0:
        return phrase("hampir nol")
    odds = f"{1 / probability:,.0f}".replace(",", ".")
    return phrase(f"sekitar 1 banding {odds}")


def _predictions(values: Iterable[Value], ctx: Context) -> dict[tuple[str, str, str], counts.Prediction]:
    """Each figure's prediction from its series' earlier figures (where there are any), read narrowly:
    these judge coincidences."""
    found = {}
    for series in _series(values).values():
        for i, v in enumerate(series):
            earlier = [p.nilai for p in series[max(0, i - HISTORY) : i]]
            if earlier:
                found[(v.region_kode, v.kategori, v.periode)] = counts.predict(earlier, ctx.phi_narrow(v.kategori))
    return found


def _siblings(values: Iterable[Value]) -> dict[tuple[str, str, str], list[Value]]:
    groups: dict[tuple[str, str, str], list[Value]] = defaultdict(list)
    for v in values:
        parent = parent_code(v.region_kode)
        if parent:
            groups[(parent, v.kategori, v.periode)].append(v)
    return groups


def check_copied(values: list[Value], ctx: Context) -> list[Flag]:
    """The same figure in sibling regions in one period, when such a coincidence is improbable."""
    predictions = _predictions(values, ctx)
    flags = []
    for (_, kategori, periode), members in _siblings(values).items():
        by_value: dict[int, list[Value]] = defaultdict(list)
        for v in members:
            by_value[v.nilai].append(v)
        for nilai, same in by_value.items():
            if len(same) < 2 or nilai < ctx.thresholds.get("salin", "min_value", kategori):
                continue
            flags += _copied(same, len(members), nilai, kategori, periode, predictions, ctx)
    return flags


def _copied(
    same: list[Value],
    siblings: int,
    nilai: int,
    kategori: str,
    periode: str,
    predictions: dict[tuple[str, str, str], counts.Prediction],
    ctx: Context,
) -> list[Flag]:
    """Equal figures among `siblings` regions, flagged when so many agreeing on any value is improbable."""
    level = counts.level(nilai, ctx.phi_narrow(kategori))
    chance = counts.agreement_chance(
        [predictions.get((v.region_kode, kategori, periode), level) for v in same], siblings
    )
    if chance >= ctx.thresholds.get("salin", "alpha", kategori):
        return []
    regions = sorted(v.region_kode for v in same)
    return [
        Flag(
            "salin",
            Severity.WARNING,
            v.region_kode,
            kategori,
            periode,
            nilai,
            "berbeda antarwilayah",
            f"{where(v.region_kode, kategori, periode)}: nilai {nilai} sama persis di {len(same)} wilayah "
            f"setingkat ({', '.join(regions)}); peluang kebetulan {_odds(chance)}",
            score=counts.surprise(chance),
        )
        for v in same
    ]


def _complete_sets(values: Iterable[Value], ctx: Context) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """(parent, kategori) -> periode -> child -> figure, for periods where every child has a figure."""
    table: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for (parent, kategori, periode), members in _siblings(values).items():
        table[(parent, kategori)][periode] = {v.region_kode: v.nilai for v in members}
    for key, periods in table.items():
        wanted = ctx.child_counts.get(key[0]) or max(len(children) for children in periods.values())
        table[key] = {p: children for p, children in periods.items() if len(children) >= wanted}
    return table


def check_share(values: list[Value], ctx: Context) -> list[Flag]:
    """A region's figure against its own history, scaled by how its sibling regions moved.

    The scale is the median of the siblings' ratios of this period to their own history, so a change
    that all regions share (a new definition, a province-wide programme) is not flagged, and one
    region's anomaly neither hides itself nor makes its siblings look anomalous.
    """
    flags = []
    for (_, kategori), periods in _complete_sets(values, ctx).items():
        ordered = sorted(periods, key=period_key)
        for i, periode in enumerate(ordered):
            earlier = ordered[max(0, i - HISTORY) : i]
            if len(earlier) < ctx.thresholds.get("porsi", "min_history", kategori):
                continue
            flags += _share_flags(kategori, periode, periods, earlier, ctx)
    return flags


def _share_flags(
    kategori: str, periode: str, periods: dict[str, dict[str, int]], earlier: list[str], ctx: Context
) -> list[Flag]:
    now = periods[periode]
    base = {r: sum(periods[p].get(r, 0) for p in earlier) / len(earlier) for r in now}
    ratios = [(now[r] + 0.5) / (base[r] + 0.5) for r in now if base[r] >= 1]
    if len(ratios) < 3:
        return []
    scale = statistics.median(ratios)
    alpha, phi = ctx.thresholds.get("porsi", "alpha", kategori), ctx.phi(kategori)
    flags = []
    for region, nilai in now.items():
        expected = max(scale * base[region], 0.5)
        prediction = counts.Prediction(expected, (expected + phi * expected * expected) * (1 + 1 / len(earlier)))
        p_up, p_down = prediction.upper_tail(nilai), prediction.lower_tail(nilai)
        if min(p_up, p_down) >= alpha:
            continue
        low, high = prediction.interval(alpha)
        flags.append(
            Flag(
                "porsi",
                Severity.WARNING,
                region,
                kategori,
                periode,
                nilai,
                [low, high],
                f"{where(region, kategori, periode)}: {nilai}; wilayah setingkat rata-rata berubah "
                f"{scale:.2f} kali dari periode sebelumnya, maka wilayah ini diharapkan antara {low} dan "
                f"{high}",
                score=counts.surprise(min(p_up, p_down)),
            )
        )
    return flags


def check_totals(values: list[Value], ctx: Context) -> list[Flag]:
    """A parent figure that is not the sum of its children's, when every child has one."""
    by_key = {(v.region_kode, v.kategori, v.periode): v for v in values}
    flags = []
    for key, kids in _siblings(values).items():
        parent = by_key.get(key)
        if parent is None or (ctx.child_counts and len(kids) < ctx.child_counts.get(key[0], 0)):
            continue
        total = sum(k.nilai for k in kids)
        if abs(parent.nilai - total) > ctx.thresholds.get("total", "tolerance", parent.kategori):
            flags.append(
                Flag(
                    "total",
                    Severity.ERROR,
                    parent.region_kode,
                    parent.kategori,
                    parent.periode,
                    parent.nilai,
                    total,
                    f"{where(parent.region_kode, parent.kategori, parent.periode)}: "
                    f"total {parent.nilai}, jumlah {len(kids)} wilayah di bawahnya {total}",
                    score=10.0,
                )
            )
    return flags


def scan(values: list[Value], ctx: Context) -> list[Flag]:
    """Every rule over one source's values; a figure already flagged for its level is not flagged again
    for its share. Sorted by region, category and period."""
    flags: list[Flag] = []
    for series in _series(values).values():
        flags += check_gaps(series) + check_level(series, ctx) + check_repeats(series, ctx)
    leveled = {(f.region_kode, f.kategori, f.periode) for f in flags if f.severity != Severity.INFO}
    flags += [f for f in check_share(values, ctx) if (f.region_kode, f.kategori, f.periode) not in leveled]
    flags += check_copied(values, ctx) + check_totals(values, ctx)
    return sorted(flags, key=lambda f: (f.region_kode, f.kategori, period_key(f.periode), f.rule))
