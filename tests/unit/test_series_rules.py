"""The aggregate rules, table-driven, on short series of counts: each judged under counting noise."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.special import gammaln

from bench import synthetic
from engine.core.periods import next_period, previous_period
from engine.quality import counts
from engine.quality import series as series_rules
from engine.quality.agencies import AgencyContext, compare
from engine.quality.series import (
    Context,
    Value,
    check_copied,
    check_gaps,
    check_level,
    check_repeats,
    check_share,
    check_totals,
    dispersions,
    scan,
)
from engine.quality.thresholds import Thresholds
from models import Severity

KAB = "65.01"
QUIET = Context(Thresholds(), {"AT": counts.Dispersion(0.0), "KAT": counts.Dispersion(0.0)}, frozenset({"KAT"}))
NOISY = Context(Thresholds(), {"AT": counts.Dispersion(0.02)})


def series(*values, start=2020, kategori="AT", region=KAB, sumber="dinsos"):
    return [Value(region, kategori, str(start + i), v, sumber) for i, v in enumerate(values) if v is not None]


def flagged(flags):
    return [(f.rule, f.periode) for f in flags]


def test_the_briefs_series_are_flagged_in_2024_and_an_ordinary_year_is_not():
    values = series(160, 171, 172, 158, 712) + series(5, 27, 31, 30, 0, kategori="PML")
    flags = scan(values, Context(Thresholds(), dispersions(values)))
    alarms = {(f.kategori, f.periode, f.rule) for f in flags if f.severity != Severity.INFO}
    assert alarms == {("AT", "2024", "lonjakan"), ("PML", "2024", "turun_ke_nol")}  # AT 2023 (158) is not


@pytest.mark.parametrize(
    "values, expected",
    [
        ((160, 171, 172, 158), []),  # an ordinary year
        ((160, 171, 172, 640), [("lonjakan", "2023")]),  # ×4
        ((1600, 1710, 1720, 2400), [("lonjakan", "2023")]),  # +40 % is far for a count this large
        ((16, 17, 17, 24), []),  # ... and ordinary for a small one
        ((300, 310, 290, 0), [("turun_ke_nol", "2023")]),
        ((3, 2, 4, 0), []),  # a small count may well be zero
        ((0, 0, 0, 40), [("naik_dari_nol", "2023")]),
        ((0, 0, 0, 2), []),
        ((500, 480, 510, 180), [("penurunan", "2023")]),
        ((10, 40), []),  # one earlier figure says too little
    ],
)
def test_a_figure_against_the_interval_of_its_own_history(values, expected):
    assert flagged(check_level(series(*values), QUIET)) == expected


def test_the_interval_widens_with_over_dispersion():
    jump = series(1600, 1710, 1720, 2400)
    assert flagged(check_level(jump, QUIET)) == [("lonjakan", "2023")]
    assert flagged(check_level(jump, Context(Thresholds(), {"AT": counts.Dispersion(0.05)}))) == []


@pytest.mark.parametrize(
    "values, expected",
    [
        ((2, 2, 2, 2, 2), []),  # a repeated 2 is normal
        ((5, 3, 4, 4, 4), []),  # so is a small count three times
        ((40, 52, 47, 47, 47), [("tetap", "2024")]),  # copied twice: improbable at this size
        ((1811, 1873, 1873), [("tetap", "2022")]),  # copied once: a repeat of a count this large is rare
        ((12, 15, 15), []),  # ... and of a small one common
        ((300, 300, 300, 312), [("tetap", "2022")]),  # flagged once, at the end of the run
        ((50, 50, None, 50), []),  # a missing year breaks the run (three in a row would be flagged)
    ],
)
def test_repeats_judged_by_their_chance_under_counting_noise(values, expected):
    assert flagged(check_repeats(series(*values), QUIET)) == expected


def test_a_single_copy_of_a_large_over_dispersed_count_is_caught():
    copied = series(1640, 1811, 1873, 1873)
    assert flagged(check_repeats(copied, NOISY)) == [("tetap", "2023")]
    assert counts.repeat_chance(1873, 2, 0.02) < counts.repeat_chance(1873, 2, 0.0) < 0.01


def test_a_category_stable_by_nature_is_never_suspected_of_copying():
    assert check_repeats(series(12, 12, 12, 12, 12, kategori="KAT"), QUIET) == []


def _region(i):
    return f"65.0{i}"


def test_a_stock_that_barely_moves_may_repeat_where_one_drawn_anew_may_not():
    """A register's figure carries last year's people over: in a category whose series move by a
    person or two a year, a small stock standing still is ordinary, not a copy."""
    repeat = series(24, 26, 25, 25, 25)
    quiet_peers = [(30, 31, 31, 32), (18, 18, 17, 18), (40, 41, 40, 42), (22, 22, 23, 22), (27, 26, 26, 27)]
    moving_peers = [(30, 38, 27, 35), (18, 25, 14, 21), (40, 49, 33, 44), (22, 15, 26, 19), (27, 35, 22, 30)]
    for peers, expected in ((quiet_peers, []), (moving_peers, [("tetap", "2024")])):
        values = repeat + [v for i, p in enumerate(peers) for v in series(*p, region=_region(i + 2))]
        ctx = Context(Thresholds(), dispersions(values))
        assert flagged(check_repeats(repeat, ctx)) == expected


def test_a_stocks_chance_of_standing_still():
    still, little, much = counts.Movement(0.0), counts.Movement(0.2), counts.Movement(2.0)
    assert counts.stock_repeat_chance(25, 3, still) == 1.0  # nobody enters or leaves: it never moves
    assert counts.stock_repeat_chance(25, 3, little) > counts.stock_repeat_chance(25, 3, much)
    assert counts.stock_repeat_chance(25, 3, little) > counts.stock_repeat_chance(250, 3, little)
    assert counts.stock_repeat_chance(25, 2, little) == pytest.approx(
        0.1835, abs=1e-4
    )  # Skellam, variance 5: e^-5·I₀(5)
    assert counts.series_change([10, 20, 30, 40]) == (25.0, 0.0)  # a steady trend is not movement
    assert counts.series_change([1, 2, 1]) is None  # too small to say
    assert counts.Dispersion(0.02).repeat_chance(25, 3) == counts.repeat_chance(25, 3, 0.02)  # movement unknown


def test_a_categorys_movement_is_the_median_of_its_series_never_below_its_floor():
    moving = [(10, 12, 9, 11), (8, 10, 7, 9), (12, 14, 11, 13)]
    assert counts.category_movement(moving).per_level > counts.MOVEMENT_FLOOR["Y"]
    assert counts.category_movement(moving[:2]) is None  # too few series to say
    trends = [(10, 20, 30, 40), (11, 21, 31, 41), (12, 22, 32, 42)]  # a steady trend is no movement ...
    assert counts.category_movement(trends).per_level == counts.MOVEMENT_FLOOR["Y"]  # ... but none stands still


def _yearly(*values, region):
    return series(*values, region=region)


def test_a_categorys_movement_has_the_floor_of_its_kind_of_period_and_ignores_one_wild_series():
    trends = [(10, 20, 30, 40), (11, 21, 31, 41), (12, 22, 32, 42)]
    assert {k: counts.category_movement(trends, k).per_level for k in ("Y", "S", "Q")} == counts.MOVEMENT_FLOOR
    moving = [(10, 12, 9, 11), (8, 10, 7, 9), (12, 14, 11, 13), (10, 13, 9, 12)]
    wild = [*moving[:3], (10, 90, 5, 70)]  # one series thrown about (a copy, an anomaly) ...
    assert counts.category_movement(wild) == counts.category_movement(moving)  # ... does not set the yardstick


def test_a_repeat_is_judged_by_the_likelier_of_a_fresh_draw_and_a_still_stock():
    fresh = counts.repeat_chance(25, 3, 0.02)
    assert counts.Dispersion(0.02, {"Y": counts.Movement(50.0)}).repeat_chance(25, 3) == fresh  # a stock that moves far
    assert counts.Dispersion(0.02, {"Y": counts.Movement(0.0)}).repeat_chance(25, 3) == 1.0  # one that never moves
    assert counts.Dispersion(0.02, {"Y": counts.Movement(0.0)}).repeat_chance(25, 3, "Q") == fresh  # no quarters known
    assert [series_rules.kind_of(Value("65.01", "AT", p, 1)) for p in ("2024", "2024-S1", "2024-Q3")] == ["Y", "S", "Q"]


def test_a_stocks_chance_is_a_number_for_a_large_variance():
    chance = counts.stock_repeat_chance(3_000_000, 3, counts.Movement(1000.0))  # a variance of 3·10⁹
    assert 0 < chance < 1e-9


@pytest.mark.parametrize("mean", [10_000, 100_000, 1_000_000])
def test_a_large_count_of_a_category_without_over_dispersion_has_the_chances_of_a_poisson_count(mean):
    """A quiet category counts as a Poisson variable; at large counts its chances were taken from the
    difference of two log-gammas of about 10¹⁶, which lost every digit (a copy of 1,000,000 read as
    27 times likelier than it is, and so went unflagged)."""
    poisson = [counts.Prediction(float(mean), float(mean))] * 2
    xs = np.arange(int(mean - 12 * mean**0.5), int(mean + 12 * mean**0.5) + 1)
    exact = float(np.sum(np.exp(2 * (xs * np.log(mean) - mean - gammaln(xs + 1.0)))))
    assert counts.agreement_chance(poisson, 2) == pytest.approx(exact, rel=0.01)
    top = math.exp(mean * math.log(mean) - mean - math.lgamma(mean + 1))
    assert poisson[0].probability_of(mean) == pytest.approx(top, rel=0.01)


def test_a_large_repeat_is_flagged_though_most_of_the_categorys_series_stand_still():
    still = [v for i in range(6) for v in _yearly(*(5 + i,) * 5, region=f"65.01.01.200{i}")]  # copied, or nobody left
    moving = [
        v for i, b in enumerate((8, 9, 10)) for v in _yearly(b, b + 2, b - 1, b + 1, b, region=f"65.01.01.201{i}")
    ]
    kab = _yearly(4000, 4000, 4000, 4000, 4000, region="65.01")
    assert flagged(check_repeats(kab, Context(Thresholds(), dispersions(still + moving + kab)))) == [("tetap", "2024")]


def test_quarters_do_not_set_the_yardstick_of_years():
    yearly = [
        v
        for i, b in enumerate((200, 240, 280, 320, 360))
        for v in _yearly(b, b + 14, b + 5, b + 19, b + 10, region=f"65.0{i + 1}")
    ]
    repeat = _yearly(240, 251, 236, 236, 236, region="65.01.01")
    quarterly = [
        Value(f"65.01.02.20{d:02d}", "AT", f"{2020 + i // 4}-Q{i % 4 + 1}", n)
        for d in range(12)
        for i, n in enumerate((20 + d, 20 + d, 21 + d, 21 + d, 20 + d, 20 + d))
    ]
    alone, pooled = dispersions(yearly + repeat), dispersions(yearly + repeat + quarterly)
    assert set(pooled["AT"].movements) == {"Y", "Q"}
    assert pooled["AT"].movements["Y"] == alone["AT"].movements["Y"]
    assert flagged(check_repeats(repeat, Context(Thresholds(), pooled))) == [("tetap", "2024")]


def test_a_change_across_a_missing_year_is_not_one_years_movement():
    values = (30, 31, 33, None, 80, 81, 83, 84)
    gapped = [v for i in range(4) for v in series(*(n + i if n else None for n in values), region=f"65.0{i + 1}")]
    assert dispersions(gapped)["AT"].movements["Y"].per_level < 1  # 31 → 80 spans the missing year


def test_the_same_figure_in_two_regencies_is_flagged_when_improbable():
    values = series(410, 395, 402, 420, region="65.01") + series(90, 95, 88, 420, region="65.02")
    assert sorted((f.region_kode, f.periode) for f in check_copied(values, QUIET)) == [
        ("65.01", "2023"),
        ("65.02", "2023"),
    ]
    small = series(3, 2, 4, 6, region="65.01") + series(5, 4, 6, 6, region="65.02")
    assert check_copied(small, QUIET) == []


def test_a_copied_figure_is_judged_from_the_figures_before_it_not_from_itself():
    """600 after 500-520 in one regency and after 590-610 in its neighbour: taken into its own
    prediction, the copied figure would make itself likely enough to pass."""
    values = series(500, 520, 510, 600, region="65.01") + series(590, 610, 600, 600, region="65.02")
    assert sorted((f.region_kode, f.periode) for f in check_copied(values, QUIET)) == [
        ("65.01", "2023"),
        ("65.02", "2023"),
    ]


def test_many_sibling_regions_agreeing_somewhere_by_chance_are_not_flagged():
    """Twenty-one kecamatan of one regency with small counts: two of them share a figure in most years
    by chance alone. Taken at the observed value and without counting the pairs, that flagged most
    years (the chance of some pair agreeing is not the chance of this pair agreeing on this value)."""
    draws = np.random.default_rng(65)
    groups, flagged_groups = 200, 0
    for _ in range(groups):
        values = []
        for k in range(1, 22):
            values += series(*draws.poisson(10, 5), region=f"65.03.{k:02d}")
        flagged_groups += bool(check_copied(values, QUIET))
    assert flagged_groups / groups <= 0.02
    # a figure typed into a second row among many, where such agreement is improbable, is still seen
    copied = [v for k in range(1, 21) for v in series(*draws.poisson(100 + 40 * k, 5), region=f"65.03.{k:02d}")]
    seventh = next(v.nilai for v in copied if v.region_kode == "65.03.07" and v.periode == "2024")
    copied += series(*draws.poisson(940, 4), seventh, region="65.03.21")
    assert sorted({f.region_kode for f in check_copied(copied, QUIET)}) == ["65.03.07", "65.03.21"]


def test_a_share_that_moves_is_flagged_and_a_province_wide_change_is_not():
    regions = {"65.01": (400, 410, 395), "65.02": (200, 205, 198), "65.03": (300, 290, 305)}
    both = [v for code, figures in regions.items() for v in series(*figures, region=code)]
    doubled = both + [Value(code, "AT", "2023", 2 * figures[-1]) for code, figures in regions.items()]
    assert check_share(doubled, QUIET) == []  # every regency doubled: a new definition, not an anomaly
    moved = both + [
        Value("65.01", "AT", "2023", 1600),
        Value("65.02", "AT", "2023", 200),
        Value("65.03", "AT", "2023", 300),
    ]
    assert flagged(check_share(moved, QUIET)) == [("porsi", "2023")]
    # the whole scan names that figure once, for its jump: its share moved because it jumped
    assert [(f.rule, f.region_kode, f.periode) for f in scan(moved, QUIET)] == [("lonjakan", "65.01", "2023")]


@pytest.mark.parametrize(
    "parent, children, expected",
    [
        (30, (10, 20), []),
        (31, (10, 20), [("total", "2020")]),
        (20, (10, 20), [("total", "2020")]),  # a regency missing from the total
    ],
)
def test_a_total_is_the_sum_of_its_parts(parent, children, expected):
    values = [Value("65", "AT", "2020", parent)] + [
        Value(f"65.0{i + 1}", "AT", "2020", n) for i, n in enumerate(children)
    ]
    flags = check_totals(values, Context(Thresholds(), child_counts={"65": 2}))
    assert flagged(flags) == expected and all(f.severity == Severity.ERROR for f in flags)


def test_a_total_is_not_judged_while_a_child_is_missing():
    values = [Value("65", "AT", "2020", 99), Value("65.01", "AT", "2020", 10)]
    assert check_totals(values, Context(Thresholds(), child_counts={"65": 2})) == []


def test_a_gap_between_periods_is_information():
    flags = check_gaps(series(10, None, None, 12))
    assert flagged(flags) == [("periode_hilang", "2023")] and flags[0].severity == Severity.INFO
    assert next_period("2026-Q4") == "2027-Q1" and next_period("2026-S1") == "2026-S2"
    assert [previous_period(p) for p in ("2027-Q1", "2026-S2", "2026")] == ["2026-Q4", "2026-S1", "2025"]


def test_every_flag_says_what_was_seen_and_expected_in_plain_words():
    values = series(160, 171, 172, 158, 712)
    record = scan(values, QUIET)[0].to_dict()
    assert {
        "rule",
        "tingkat",
        "region_kode",
        "kategori",
        "periode",
        "observed",
        "expected",
        "severity",
        "message",
        "score",
    } <= record.keys()
    assert record["tingkat"] == "kabupaten" and "712" in record["message"] and "diharapkan sekitar" in record["message"]
    assert "[" not in record["message"] and record["score"] > 3


def _agency(ours, theirs, kategori="ODHA"):
    return series(*ours, kategori=kategori) + series(*theirs, kategori=kategori, sumber="Dinkes")


def test_an_agency_counting_a_steady_multiple_is_not_flagged_every_year():
    values = _agency((40, 44, 41, 43, 45), (120, 130, 124, 131, 133))  # about three times ours, every year
    flags = compare(values, AgencyContext(QUIET))
    assert [(f.rule, f.severity, f.periode) for f in flags] == [
        ("selisih_instansi", Severity.INFO, "2020"),
        ("selisih_instansi", Severity.INFO, "2021"),
    ]


def test_a_change_in_the_ratio_is_flagged():
    values = _agency((40, 44, 41, 43, 45), (120, 130, 124, 131, 45))  # their figure falls to ours
    flags = [f for f in compare(values, AgencyContext(QUIET)) if f.severity != Severity.INFO]
    assert flagged(flags) == [("instansi", "2024")] and "rasio" in flags[0].message


def test_an_agency_counting_people_where_we_count_none_is_compared():
    """Our figures of the region and period name nobody of the category: ours is 0 there, and the
    agency's four are a gap to explain, not a pair skipped; a region we gave no figures for is not."""
    values = series(12, 14, kategori="LUT") + series(4, 5, kategori="ODHA", sumber="Dinkes")
    values += series(7, region="65.02", kategori="ODHA", sumber="Dinkes")  # a region we reported nothing for
    flags = compare(values, AgencyContext(QUIET))
    assert [(f.rule, f.region_kode, f.kategori, f.observed, f.expected) for f in flags] == [
        ("selisih_instansi", KAB, "ODHA", 4, 0),
        ("selisih_instansi", KAB, "ODHA", 5, 0),
    ]


def test_an_explained_gap_is_not_raised_again():
    values = _agency((40, 44), (120, 130))
    explained = frozenset({("Dinkes", KAB, "ODHA")})
    assert compare(values, AgencyContext(QUIET, explained)) == []


def test_clean_synthetic_tables_raise_few_alarms():
    """A guard on the false-alarm rate measured by bench/flags.py (≤ 5 % of clean series)."""
    rng = random.Random(2026)
    alarmed = total = 0
    for counted in ((False, False), (True, False), (False, True)):  # Poisson, over-dispersed, stocks
        for _ in range(8):
            table = synthetic.clean_table(rng, *counted)
            values = table.values()
            ctx = Context(Thresholds(), dispersions(values), synthetic.STABLE, {"65": 5})
            alarmed += len({(f.region_kode, f.kategori) for f in scan(values, ctx) if f.severity != Severity.INFO})
            total += len(table.series_keys())
    assert alarmed / total <= 0.05


def test_planted_jumps_and_copies_are_caught():
    rng = random.Random(65)
    caught = 0
    for _ in range(10):
        clean = synthetic.clean_table(rng, False)
        planted = synthetic.plant(clean, "x10", rng)
        values = planted.values()
        ctx = Context(Thresholds(), dispersions(values), synthetic.STABLE, {"65": 5})
        caught += bool({(f.region_kode, f.kategori, f.periode) for f in scan(values, ctx)} & planted.planted)
    assert caught >= 9
