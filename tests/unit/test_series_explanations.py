"""The aggregate rules' edges and their words: what a flag says must match what was seen, the share
and copy rules reach `scan`, and a threshold's bounds and per-category overrides hold."""

from __future__ import annotations

import pytest

from engine.core.errors import Invalid
from engine.quality import counts
from engine.quality.series import (
    Context,
    Value,
    check_copied,
    check_gaps,
    check_level,
    check_repeats,
    check_share,
    scan,
)
from engine.quality.thresholds import Thresholds, set_threshold
from tests.factories import SYSTEM

KAB = "65.01"
QUIET = Context(Thresholds(), {"AT": counts.Dispersion(0.0)})


def series(*values, start=2020, kategori="AT", region=KAB):
    return [Value(region, kategori, str(start + i), v) for i, v in enumerate(values) if v is not None]


def rules(flags):
    return [(f.rule, f.region_kode, f.periode) for f in flags]


def test_a_jump_is_said_higher_and_a_fall_lower():
    (jump,) = check_level(series(160, 171, 172, 640), QUIET)
    (fall,) = check_level(series(500, 480, 510, 180), QUIET)
    assert jump.rule == "lonjakan" and "jauh lebih tinggi" in jump.message and "lebih rendah" not in jump.message
    assert fall.rule == "penurunan" and "jauh lebih rendah" in fall.message and "lebih tinggi" not in fall.message


def test_a_rise_from_zero_is_said_only_when_every_earlier_figure_was_zero():
    (rise,) = check_level(series(0, 0, 0, 40), QUIET)
    assert rise.rule == "naik_dari_nol" and "40, padahal periode sebelumnya 0" in rise.message
    (jump,) = check_level(series(30, 0, 28, 31, 400), QUIET)  # one zero among them: a jump, not a rise from zero
    assert jump.rule == "lonjakan" and "sebelumnya 0" not in jump.message


def test_a_repeat_names_its_length_its_periods_and_its_odds():
    (flag,) = check_repeats(series(40, 52, 47, 47, 47), QUIET)
    assert "nilai 47 sama persis selama 3 periode (2022–2024)" in flag.message
    assert "sekitar 1 banding 171" in flag.message  # a chance of about 0.6 %, not "hampir nol"


def test_a_repeat_at_the_least_value_judged_is_judged():
    """`tetap.min_value` 5: figures of at least 5 are judged, smaller ones never."""
    (five,) = check_repeats(series(5, 5, 5, 5, 5), QUIET)
    assert (five.rule, five.periode) == ("tetap", "2024") and "sekitar 1 banding 2.359" in five.message
    assert check_repeats(series(4, 4, 4, 4, 4), QUIET) == []


def test_a_gap_names_every_missing_period():
    (flag,) = check_gaps(series(10, None, None, 12))
    assert flag.expected == 2 and "tidak ada nilai untuk 2021, 2022;" in flag.message


def test_two_regencies_both_falling_to_zero_are_not_said_to_have_copied():
    """Both fell to zero: a figure not reported (`turun_ke_nol`), not a figure copied from a neighbour."""
    values = series(400, 410, 395, 0, region="65.01") + series(300, 290, 305, 0, region="65.02")
    assert check_copied(values, QUIET) == []
    assert {f.rule for f in scan(values, QUIET)} == {"turun_ke_nol"}


def _regions(figures):
    return [v for code, values in figures.items() for v in series(*values, region=code)]


def test_a_share_is_judged_from_two_earlier_periods():
    """`porsi.min_history` 2: two earlier periods are enough."""
    values = _regions({"65.01": (400, 410, 1600), "65.02": (200, 205, 200), "65.03": (300, 290, 300)})
    assert rules(check_share(values, QUIET)) == [("porsi", "65.01", "2022")]


def test_a_share_among_two_siblings_is_not_judged():
    """A median of two moves with either: one regency's anomaly would make the other look anomalous."""
    values = _regions({"65.01": (400, 410, 395, 1600), "65.02": (200, 205, 198, 200)})
    assert check_share(values, QUIET) == []


def test_a_missing_figure_in_an_earlier_period_is_not_read_as_zero():
    """2020 lacks Bulungan's figure: that year is left out of every regency's history, not counted as
    a Bulungan of 0 (which would make its steady 405 look like a jump in share)."""
    values = _regions(
        {
            "65.01": (None, 400, 410, 395, 405),
            "65.02": (200, 200, 205, 198, 201),
            "65.03": (300, 300, 290, 305, 298),
            "65.04": (100, 102, 99, 101, 100),
        }
    )
    assert check_share(values, QUIET) == []


def test_a_regency_with_no_history_does_not_set_the_others_scale():
    """Regencies whose earlier figures are all zero have no ratio to their history: counted in the
    median they would make the regencies that held steady look as if they fell."""
    steady = {"65.01": (400, 410, 405), "65.02": (200, 205, 202), "65.03": (300, 290, 296)}
    new = {f"65.0{i}": (0, 0, 60) for i in range(4, 9)}
    flagged = {f.region_kode for f in check_share(_regions({**steady, **new}), QUIET)}
    assert not flagged & set(steady)


def test_scan_reports_a_share_that_moved_even_when_no_level_moved():
    """Every other regency doubled, Bulungan stayed: its own series is ordinary, its share is not."""
    values = _regions({"65.01": (400, 410, 395, 402), "65.02": (200, 205, 198, 400), "65.03": (300, 290, 305, 600)})
    values += series(150, 148, 152, 300, region="65.04")
    assert check_level(series(400, 410, 395, 402), QUIET) == []
    assert ("porsi", "65.01", "2023") in rules(scan(values, QUIET))


def test_scan_reports_a_share_after_a_missing_period():
    """A gap is information: it does not stand in for a warning about the same figure."""
    values = _regions({"65.01": (400, 410, None, 402), "65.02": (200, 205, 203, 400), "65.03": (300, 290, 295, 600)})
    values += series(150, 148, 151, 300, region="65.04")
    found = rules(scan(values, QUIET))
    assert ("periode_hilang", "65.01", "2023") in found and ("porsi", "65.01", "2023") in found


def test_scan_reports_a_figure_copied_into_a_sibling():
    values = series(410, 395, 402, 420, region="65.01") + series(90, 95, 88, 420, region="65.02")
    found = rules(scan(values, QUIET))
    assert ("salin", "65.01", "2023") in found and ("salin", "65.02", "2023") in found


def test_a_categorys_own_threshold_wins_over_the_one_for_every_category():
    t = Thresholds({("tetap", "", "alpha"): 0.01, ("tetap", "AT", "alpha"): 0.2})
    assert t.get("tetap", "alpha", "AT") == 0.2 and t.get("tetap", "alpha", "LUT") == 0.01
    assert t.get("salin", "alpha", "AT") == 0.001  # the default where nothing is set


@pytest.mark.parametrize("value", [0, 0.6, 0.99])
def test_a_significance_that_would_flag_everything_or_nothing_is_refused(value):
    """α 0 never flags (a rule switched off unseen); α of one half or more flags ordinary figures."""
    with pytest.raises(Invalid, match="antara"):
        set_threshold(None, SYSTEM, "lonjakan", "alpha", value)  # refused before anything is read
