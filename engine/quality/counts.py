"""A model of counts of people, for judging how surprising a figure is.

A count's natural noise grows with its size: about √n for Poisson counts, more when the count is
over-dispersed. The model here is the negative binomial with a dispersion φ per category
(variance = μ + φμ²), estimated from the category's own series. A new figure is judged against a
predictive distribution built from the earlier figures of its series: its level is their mean, and
its variance adds the uncertainty of that mean (few earlier years make a wide interval).

Everything here is pure and deterministic: numbers in, probabilities out.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betainc, gammaln, i0e
from scipy.stats import chi2, nbinom

DISPERSION_FLOOR = 0.005  # no category is quieter than this: counts of people are never exactly Poisson
DISPERSION_CEILING = 2.0
# The median of a per-series dispersion estimate from a handful of values sits below the truth
# (its sampling distribution is skewed); this factor corrects it (calibrated on synthetic tables).
MEDIAN_CORRECTION = 1.75


@dataclass(frozen=True)
class Prediction:
    """What a series' earlier figures say about its next one."""

    mean: float
    variance: float

    @property
    def _nb(self) -> tuple[float, float]:
        """The negative binomial (n, p) with this mean and variance."""
        # A variance at the mean is the Poisson limit (n → ∞): kept a millionth above it, so that n stays
        # near 10¹² at most and the log-gammas below keep their digits at counts of a million.
        variance = max(self.variance, self.mean * (1 + 1e-6) + 1e-9)
        p = self.mean / variance
        return self.mean * p / (1 - p), p

    # The tails through the regularised incomplete beta function, which is what scipy's nbinom does
    # too, without its per-call overhead (a scan makes thousands of these calls).
    def upper_tail(self, x: int) -> float:
        """P(X ≥ x)."""
        if x <= 0:
            return 1.0
        n, p = self._nb
        return float(betainc(x, n, 1 - p))

    def lower_tail(self, x: int) -> float:
        """P(X ≤ x)."""
        if x < 0:
            return 0.0
        n, p = self._nb
        return float(betainc(n, x + 1, p))

    def probability_of(self, x: int) -> float:
        if x < 0:
            return 0.0
        n, p = self._nb
        return math.exp(gammaln(n + x) - gammaln(n) - gammaln(x + 1) + n * math.log(p) + x * math.log1p(-p))

    def log_probabilities(self, xs: np.ndarray) -> np.ndarray:
        """log P(X = x) for each of `xs` (non-negative integers), at once."""
        n, p = self._nb
        return gammaln(n + xs) - gammaln(n) - gammaln(xs + 1) + n * math.log(p) + xs * math.log1p(-p)

    def interval(self, alpha: float) -> tuple[int, int]:
        """The range that holds the next figure with probability 1 − α."""
        n, p = self._nb
        return int(nbinom.ppf(alpha / 2, n, p)), int(nbinom.ppf(1 - alpha / 2, n, p))


def predict(earlier: Sequence[int], dispersion: float) -> Prediction:
    """The next figure of a series from its earlier figures (at least one).

    A half-count prior keeps a series of zeros from predicting exactly zero.
    """
    k = len(earlier)
    mean = (sum(earlier) + 0.5) / k
    noise = mean + dispersion * mean * mean
    return Prediction(mean, noise * (1 + 1 / k))


def level(value: float, dispersion: float) -> Prediction:
    """A count whose level is known to be `value` (no estimation uncertainty)."""
    mean = max(value, 0.5)
    return Prediction(mean, mean + dispersion * mean * mean)


AGREEMENT_SPAN = 12.0  # standard deviations either side of a prediction's mean that can matter
AGREEMENT_VALUES = 200_000  # at most this many values are summed over


def agreement_chance(predictions: Sequence[Prediction], among: int) -> float:
    """The chance that some `len(predictions)` of `among` independent counts agree on one value,
    whatever it is: Σₓ Πᵢ P(Xᵢ = x) for these counts, times the number of ways to choose that many
    (a Bonferroni bound). Taken only at the observed value, and without the choices, ten or twenty
    sibling regions would agree somewhere by chance in most years."""
    low = max(max(p.mean - AGREEMENT_SPAN * math.sqrt(p.variance) for p in predictions), 0.0)
    high = min(p.mean + AGREEMENT_SPAN * math.sqrt(p.variance) for p in predictions)
    if high < low:  # no value is likely under all of them at once
        return 0.0
    xs = np.arange(math.floor(low), math.floor(min(high, low + AGREEMENT_VALUES)) + 1, dtype=float)
    together = np.sum(np.exp(sum(p.log_probabilities(xs) for p in predictions)))
    return min(1.0, math.comb(among, len(predictions)) * float(together))


def repeat_chance(value: int, length: int, dispersion: float) -> float:
    """The chance that `length` consecutive counts at level `value` are all exactly equal.

    For independent counts with variance σ² it is about (2πσ²)^(−(L−1)/2) / √L: the chance of one
    exact value, L − 1 times, with the run free to sit anywhere around the level.
    """
    return level(value, dispersion).probability_of(value) ** (length - 1) / math.sqrt(length)


def stock_repeat_chance(value: int, length: int, movement: Movement) -> float:
    """The chance that a stock at level `value` stays exactly the same for `length` periods.

    A register's figure carries last period's people over and moves only by those who entered less
    those who left: with few of either, a small stock often does not move at all. One period's change
    is taken as the difference of two Poisson counts (Skellam) with the category's variance at this
    level, whose chance of zero is e^(−v)·I₀(v); the periods' changes are independent.
    """
    return float(i0e(movement.variance(max(value, 0.5)))) ** (length - 1)


def surprise(probability: float) -> float:
    """How surprising a probability is, in a unit people can rank: −log10 (3 means one in a thousand)."""
    return -math.log10(max(probability, 1e-300))


def series_dispersion(values: Sequence[int]) -> float | None:
    """φ of one series from its spread around its mean, or None when the series is too short or too
    small to say. A slow trend widens the spread, and rightly so: predictions use the mean of the
    earlier figures, so a trend is part of their error."""
    if len(values) < 3:
        return None
    mean = statistics.fmean(values)
    if mean < 3:
        return None
    return max(0.0, (statistics.variance(values) - mean) / (mean * mean))


def series_change(values: Sequence[int]) -> tuple[float, float] | None:
    """How much one series moves from period to period: its level, and the variance of its changes
    around their mean (a steady trend is not movement) per unit of that level, scaled to be right in
    the median for its few changes. None when the series is too short or too small to say."""
    if len(values) < 3:
        return None
    mean = statistics.fmean(values)
    if mean < 3:
        return None
    changes = [b - a for a, b in zip(values, values[1:], strict=False)]
    return mean, statistics.variance(changes) / mean / _median_share(len(changes) - 1)


@functools.cache
def _median_share(freedom: int) -> float:
    """The median of a variance estimate with this many degrees of freedom, as a share of the truth."""
    return float(chi2.median(freedom)) / freedom


CHANGE_SERIES = 3  # a category's movement is read from at least this many series, or not at all
# No register stands still: at least one person in twenty leaving a year (and as many entering), a
# variance of 0.1 per person a year; a quarter's and a semester's are shares of it. Without a floor,
# a majority of series copied or standing still would make every repeat certain and switch `tetap` off.
MOVEMENT_FLOOR = {"Y": 0.1, "S": 0.05, "Q": 0.025}


@dataclass(frozen=True)
class Movement:
    """How far a category's series move from one period to the next: the variance of one period's
    change per unit of level, as people entering and leaving a register move it."""

    per_level: float

    def variance(self, level: float) -> float:
        return self.per_level * level


def category_movement(runs: Sequence[Sequence[int]], kind: str = "Y") -> Movement | None:
    """The category's movement over one kind of period (years, semesters, quarters), from its runs of
    consecutive periods: the median over them (a copied or anomalous series does not set it), never
    below the floor, or None from too few. A line in the level (more per person for large counts) was
    measured too and did no better on the synthetic registers (docs/benchmarks.md)."""
    found = [moved[1] for s in runs if (moved := series_change(s)) is not None]
    if len(found) < CHANGE_SERIES:
        return None
    return Movement(max(MOVEMENT_FLOOR.get(kind, MOVEMENT_FLOOR["Q"]), statistics.median(found)))


@dataclass(frozen=True)
class Dispersion:
    """A category's dispersion, read two ways, each on the cautious side of its question.

    Judging a surprise (is this figure outside what noise allows?) takes the wide reading: the
    estimate corrected upward and never below a floor, so noise is not mistaken for an anomaly.
    Judging a coincidence (how likely is an exact repeat?) takes the narrow one: the plain estimate,
    since less noise makes an exact repeat likelier, so ordinary repeats are not mistaken for copies.
    """

    estimate: float
    # how far its series move from one period to the next, by kind of period ("Y", "S", "Q"); none: unknown
    movements: dict[str, Movement] = field(default_factory=dict)

    @property
    def wide(self) -> float:
        return min(DISPERSION_CEILING, max(DISPERSION_FLOOR, self.estimate * MEDIAN_CORRECTION))

    @property
    def narrow(self) -> float:
        return min(DISPERSION_CEILING, self.estimate)

    def repeat_chance(self, value: int, length: int, kind: str = "Y") -> float:
        """The chance of `length` equal figures at `value`, on the cautious side of two readings: each
        figure drawn anew around the level, or a stock that moves only as much as the category's
        series of this kind of period move from one to the next (a register's figures are stocks)."""
        chance = repeat_chance(value, length, self.narrow)
        movement = self.movements.get(kind)
        if movement is None:
            return chance
        return max(chance, stock_repeat_chance(value, length, movement))


PRIOR_DISPERSION = 0.02  # what a category with little history is assumed to have ...
PRIOR_WEIGHT = 2  # ... counted as this many series


def category_dispersion(series: Sequence[Sequence[int]], runs: dict[str, list[list[int]]] | None = None) -> Dispersion:
    """φ of a category: the median over its series, robust to the odd anomalous series. A category
    with few series leans on a prior, so that one short series does not set its own yardstick. Its
    movement comes from its `runs` of consecutive periods, by kind of period."""
    estimates = [e for e in (series_dispersion(s) for s in series) if e is not None]
    found = {kind: category_movement(r, kind) for kind, r in (runs or {}).items()}
    movements = {kind: m for kind, m in found.items() if m is not None}
    return Dispersion(statistics.median(estimates + [PRIOR_DISPERSION] * PRIOR_WEIGHT), movements)
