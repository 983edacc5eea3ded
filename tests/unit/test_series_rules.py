"""Every aggregate rule, table-driven: series of 2 to 5 points, MAD = 0, zeros, missing periods, ties."""

from __future__ import annotations

import math

import pytest

from engine.quality.series import (
    Value,
    check_copied,
    check_gaps,
    check_rates,
    check_ratio,
    check_robust_z,
    check_stale,
    check_totals,
    check_zeros,
    next_period,
    robust_z,
    scan,
)
from engine.quality.settings import Thresholds

T = Thresholds()
KAB = "65.01"


def series(*values, start=2021, kategori="AKTK", region=KAB):
    return [Value(region, kategori, str(start + i), v) for i, v in enumerate(values) if v is not None]


def flagged(flags):
    return [(f.rule, f.periode) for f in flags]


@pytest.mark.parametrize("values, expected", [
    ((10, 40), [("rasio", "2022")]),  # quadruples: 2 points are enough
    ((100, 120, 110, 130), []),  # ordinary movement
    ((2, 5), []),  # 2.5 times but only 3 more people: not an alarm
    ((50, 20), [("rasio", "2022")]),  # falls below half
    ((50, 25), []),  # exactly half is inside the band
    ((50, 100), []),  # exactly double is inside the band
    ((10, None, 40), []),  # a missing year: not compared across the gap
    ((0, 40), []),  # from zero: the zeros rule speaks
    ((12, 12, 12, 12, 48), [("rasio", "2025")]),
])
def test_ratio_band_with_a_minimum_change(values, expected):
    assert flagged(check_ratio(series(*values), T)) == expected


@pytest.mark.parametrize("values, expected", [
    ((30, 0), [("turun_ke_nol", "2022")]),
    ((3, 0), []),  # from 3 to 0 is too small to say
    ((0, 25), [("naik_dari_nol", "2022")]),
    ((0, 2), []),
    ((0, 0, 0), []),
    ((30, None, 0), []),  # not adjacent
    ((30, 0, 30), [("turun_ke_nol", "2022"), ("naik_dari_nol", "2023")]),
])
def test_drops_to_zero_and_rises_from_zero(values, expected):
    assert flagged(check_zeros(series(*values), T)) == expected


@pytest.mark.parametrize("values, expected", [
    ((17, 17, 17), [("tetap", "2023")]),  # the same three years running
    ((17, 17), []),
    ((17, 17, 17, 17, 17), [("tetap", "2025")]),  # flagged once, at the end of the run
    ((17, 17, 18, 18, 18), [("tetap", "2025")]),
    ((0, 0, 0), []),  # zero every year is a different question
    ((17, 17, None, 17), []),  # a missing year breaks the run
    ((5, 5, 5, 6, 6, 6), [("tetap", "2023"), ("tetap", "2026")]),
])
def test_values_unchanged_for_several_periods(values, expected):
    assert flagged(check_stale(series(*values), T)) == expected


def test_robust_z_is_defined_when_mad_is_zero():
    assert robust_z(17, [17, 17, 17]) == 0.0
    assert robust_z(68, [17, 17, 17]) == math.inf
    assert robust_z(0, [17, 17, 17]) == -math.inf
    assert robust_z(10, [8, 10, 12]) == 0.0
    assert robust_z(30, [8, 10, 12]) == pytest.approx(0.6745 * 20 / 2)


@pytest.mark.parametrize("values, expected", [
    ((17, 17, 17, 68), [("z_robust", "2024")]),  # MAD = 0: a constant series that finally moves
    ((17, 17, 17, 17), []),  # MAD = 0 and the value equal: z = 0
    ((17, 17, 17, 20), []),  # MAD = 0 but only 3 more: below the minimum change
    ((100, 110, 90, 105, 400), [("z_robust", "2025")]),
    ((100, 110, 90, 105, 115), []),
    ((100, 300), []),  # too short a history to say anything robust
    ((10, 12, 10, 12, 10), []),  # ties
])
def test_robust_z_against_the_earlier_values(values, expected):
    assert flagged(check_robust_z(series(*values), T)) == expected


def test_a_z_score_with_the_value_included_cannot_catch_a_fourfold_jump():
    """Why the plain z-score is not used: with n values it never exceeds sqrt(n - 1)."""
    import statistics

    values = [17, 17, 17, 17, 68]
    z = (68 - statistics.mean(values)) / statistics.stdev(values)
    assert z <= math.sqrt(len(values) - 1) < 3
    assert flagged(check_robust_z(series(*values), T)) == [("z_robust", "2025")]


def test_the_same_value_in_many_sibling_regions():
    values = [Value(f"65.0{i}", "LUT", "2025", v) for i, v in enumerate([40, 40, 40, 12, 75], start=1)]
    flags = check_copied(values, T)
    assert sorted(f.region for f in flags) == ["65.01", "65.02", "65.03"]
    assert "sama di 3 dari 5" in flags[0].message
    small = [Value(f"65.0{i}", "LUT", "2025", 2) for i in range(1, 5)]
    assert check_copied(small, T) == []  # 2 people everywhere is plausible


def test_a_rate_far_from_the_peers():
    population = {"65.01": 160_000, "65.02": 90_000, "65.03": 200_000, "65.04": 30_000, "65.71": 240_000}
    values = [Value(r, "ODHA", "2025", v) for r, v in
              [("65.01", 32), ("65.02", 18), ("65.03", 41), ("65.04", 50), ("65.71", 47)]]
    flags = check_rates(values, population, T)
    assert [f.region for f in flags] == ["65.04"] and "per 1.000 penduduk" in flags[0].message


def test_a_parent_total_that_is_not_the_sum_of_its_children():
    values = [Value("65.01", "LUT", "2025", 100), Value("65.01.01", "LUT", "2025", 60),
              Value("65.01.02", "LUT", "2025", 30)]
    flags = check_totals(values, T)
    assert [(f.rule, f.severity, f.observed, f.expected) for f in flags] == [("total", "error", 100, 90)]
    assert check_totals(values, T, child_counts={"65.01": 10}) == []  # some children have no figure yet


def test_missing_periods_are_noted():
    flags = check_gaps(series(10, None, None, 12))
    assert [(f.rule, f.expected) for f in flags] == [("periode_hilang", ["2022", "2023"])]


def test_quarters_and_semesters_follow_each_other():
    assert next_period("2026-Q4") == "2027-Q1" and next_period("2026-S1") == "2026-S2"
    assert next_period("2026") == "2027"


def test_thresholds_can_be_set_per_category():
    strict = Thresholds({("rasio", "AKTK", "high"): 1.2})
    assert flagged(check_ratio(series(100, 130), strict)) == [("rasio", "2022")]
    assert flagged(check_ratio(series(100, 130, kategori="LUT"), strict)) == []


def test_every_flag_says_rule_level_region_category_period_values_and_severity():
    flags = scan(series(17, 17, 17, 68), {})
    assert flags
    for flag in flags:
        record = flag.to_dict()
        assert {"rule", "level", "region", "category", "period", "observed", "expected", "severity",
                "message"} <= record.keys()
        assert record["level"] == "kabupaten" and "AKTK" in record["message"]
