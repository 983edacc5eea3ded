"""Other agencies' figures against ours, judged by change, not by level.

Agencies often count different things (the health office counts people living with HIV it treats;
Dinas Sosial counts those who need social services), so a gap between the two levels says little.
What says something is the ratio of their figure to ours moving away from its own history: a
log-ratio test whose noise comes from both counts. A gap seen for the first time is shown as
information; once someone explains it, a ratio that stays where it was is not raised again.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from scipy.stats import norm

from engine.core.errors import phrase
from engine.core.periods import period_key
from engine.quality import counts
from engine.quality.series import HISTORY, Context, Flag, Value, where
from models import Severity

OURS = "dinsos"


@dataclass(frozen=True)
class Pair:
    periode: str
    ours: int
    theirs: int

    @property
    def log_ratio(self) -> float:
        return math.log((self.theirs + 0.5) / (self.ours + 0.5))


@dataclass(frozen=True)
class AgencyContext:
    """The series context, the gaps already explained (agency, region, category), and the
    (agency, category) pairs configured as counting something else: their level gap is expected."""

    series: Context
    explained: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)
    different: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def _pairs(values: Iterable[Value]) -> dict[tuple[str, str, str], list[Pair]]:
    """(agency, region, category) -> the periods where both we and the agency have a figure. Where our
    figures of a region and period exist but name no one of a category, ours is 0: the agency's people
    we have none of are the gap the Forum is for, not a pair to skip."""
    values = list(values)
    ours = {(v.region_kode, v.kategori, v.periode): v.nilai for v in values if v.sumber == OURS}
    reported = {(region, periode) for region, _, periode in ours}
    grouped: dict[tuple[str, str, str], list[Pair]] = defaultdict(list)
    for v in values:
        mine = ours.get((v.region_kode, v.kategori, v.periode), 0 if (v.region_kode, v.periode) in reported else None)
        if v.sumber != OURS and mine is not None:
            grouped[(v.sumber, v.region_kode, v.kategori)].append(Pair(v.periode, mine, v.nilai))
    return {k: sorted(ps, key=lambda p: period_key(p.periode)) for k, ps in grouped.items()}


def compare(values: Iterable[Value], ctx: AgencyContext) -> list[Flag]:
    """Padu padan: a changed ratio is a warning; an unexplained gap seen without history is information."""
    flags = []
    for (agency, region, kategori), pairs in _pairs(values).items():
        for i, pair in enumerate(pairs):
            earlier = pairs[max(0, i - HISTORY) : i]
            if len(earlier) >= ctx.series.thresholds.get("instansi", "min_history", kategori):
                flag = _changed(agency, region, kategori, pair, earlier, ctx.series)
            elif (agency, region, kategori) not in ctx.explained and (agency, kategori) not in ctx.different:
                flag = _gap(agency, region, kategori, pair, ctx.series)
            else:
                flag = None
            if flag is not None:
                flags.append(flag)
    return flags


def _sources(agency: str, pair: Pair) -> dict[str, object]:
    return {"sumber": OURS, "instansi": agency, "nilai_kita": pair.ours, "nilai_instansi": pair.theirs}


def _changed(agency: str, region: str, kategori: str, pair: Pair, earlier: list[Pair], ctx: Context) -> Flag | None:
    ours_before, theirs_before = sum(p.ours for p in earlier), sum(p.theirs for p in earlier)
    expected = math.log((theirs_before + 0.5) / (ours_before + 0.5))
    phi = ctx.phi(kategori)
    # the noise of a log count is about 1/n + φ; the ratio carries both counts' noise, now and before
    variance = (
        1 / (pair.ours + 0.5)
        + 1 / (pair.theirs + 0.5)
        + 2 * phi
        + 1 / (ours_before + 0.5)
        + 1 / (theirs_before + 0.5)
        + 2 * phi / len(earlier)
    )
    z = (pair.log_ratio - expected) / math.sqrt(variance)
    probability = 2 * float(norm.sf(abs(z)))
    if probability >= ctx.thresholds.get("instansi", "alpha", kategori):
        return None
    now, before = math.exp(pair.log_ratio), math.exp(expected)
    return Flag(
        "instansi",
        Severity.WARNING,
        region,
        kategori,
        pair.periode,
        round(now, 2),
        round(before, 2),
        f"{where(region, kategori, pair.periode)}: {agency} mencatat {pair.theirs}, Dinas Sosial {pair.ours} "
        f"(rasio {now:.2f}); pada periode sebelumnya rasionya sekitar {before:.2f}. Perubahan rasio ini "
        f"lebih besar dari yang wajar untuk hitungan sebesar ini",
        _sources(agency, pair),
        score=counts.surprise(probability),
    )


def _gap(agency: str, region: str, kategori: str, pair: Pair, ctx: Context) -> Flag | None:
    ratio = (pair.theirs + 0.5) / (pair.ours + 0.5)
    if abs(math.log(ratio)) <= math.log1p(ctx.thresholds.get("instansi", "gap", kategori)):
        return None
    place = where(region, kategori, pair.periode)
    if pair.ours:  # the plain ratio, as people divide it (the smoothed one above only decides)
        times = f"{pair.theirs / pair.ours:.1f}".replace(".", ",")
        said = phrase(
            f"{place}: {agency} mencatat {pair.theirs}, Dinas Sosial {pair.ours} ({times} kali). Bila keduanya "
            f"menghitung hal yang berbeda, jelaskan sekali; yang ditandai kemudian hanya perubahan rasionya"
        )
    else:
        said = phrase(
            f"{place}: {agency} mencatat {pair.theirs}, Dinas Sosial tidak mencatat satu pun. Bila keduanya "
            f"menghitung hal yang berbeda, jelaskan sekali; yang ditandai kemudian hanya perubahan rasionya"
        )
    return Flag(
        "selisih_instansi",
        Severity.INFO,
        region,
        kategori,
        pair.periode,
        pair.theirs,
        pair.ours,
        said,
        _sources(agency, pair),
    )
