"""Padu padan rules the existing tests left open: which periods make an agency's expected ratio, in
what order they are read, how far apart two levels must be to be shown, and how an agency's
indicators are mapped to our categories."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Invalid
from engine.quality import agency_indicators, counts
from engine.quality.agencies import AgencyContext, compare
from engine.quality.series import Context, Value
from engine.quality.thresholds import Thresholds
from models import AuditEvent
from tests.factories import actor

KAB = "65.01"
QUIET = Context(Thresholds(), {"ODHA": counts.Dispersion(0.0)})


def _figures(ours, theirs, start=2020):
    """Our ODHA figures and Dinkes's, year by year from `start`."""
    years = [str(start + i) for i in range(len(ours))]
    return [Value(KAB, "ODHA", y, n) for y, n in zip(years, ours, strict=True)] + [
        Value(KAB, "ODHA", y, n, "Dinkes") for y, n in zip(years, theirs, strict=True)
    ]


def _flags(values):
    return [(f.rule, f.periode) for f in compare(values, AgencyContext(QUIET))]


def test_figures_read_newest_first_are_judged_in_period_order():
    """Stored figures come back in no particular order (a history file uploaded after this year's)."""
    values = _figures((40, 44, 41, 43, 45), (120, 130, 124, 131, 45))
    in_order = [("selisih_instansi", "2020"), ("selisih_instansi", "2021"), ("instansi", "2024")]
    assert _flags(values) == in_order
    assert _flags(list(reversed(values))) == in_order


def test_a_ratio_that_settled_four_periods_ago_is_the_expected_one():
    """The expected ratio is that of the last four periods: Dinkes counting three times ours since
    2024 is raised while it is new, and not once four periods have shown it."""
    values = _figures((100,) * 9, (100,) * 4 + (300,) * 5)
    assert _flags(values) == [("instansi", "2024"), ("instansi", "2025")]


def test_a_changed_ratio_is_raised_only_below_one_chance_in_a_hundred_either_way():
    """Two years of equal counts, then Dinkes counts 164 (a chance of about 1.5 % either way under
    counting noise: not raised) or 176 (about 0.5 %: raised)."""
    assert _flags(_figures((100, 100, 100), (100, 100, 164))) == []
    assert _flags(_figures((100, 100, 100), (100, 100, 176))) == [("instansi", "2022")]


def test_a_level_gap_seen_for_the_first_time_is_shown_beyond_a_quarter():
    assert _flags(_figures((40,), (48,))) == []  # a fifth more: counting noise between two offices
    assert _flags(_figures((40,), (56,))) == [("selisih_instansi", "2020")]  # two fifths more: shown


def _map(db, indikator, kategori, sama=True, note=""):
    with db.transaction() as s:
        mapping = agency_indicators.Mapping("Dinkes", indikator, kategori, sama, note)
        agency_indicators.set_mapping(s, actor(db, "valid.prov"), mapping)


def test_remapping_an_indicator_changes_what_it_counts_and_the_trail_says_from_what(db, people):
    _map(db, "ODHA_ART", "ODHA", sama=False, note="yang menjalani terapi ARV")
    _map(db, "ODHA_ART", "ODHA", sama=True)  # found to count the same people after all
    with db.read() as s:
        assert agency_indicators.counts_something_else(s) == frozenset()
        (mapped,) = agency_indicators.mappings(s)
        trail = s.scalars(select(AuditEvent).where(AuditEvent.action == "AGENCY_INDICATOR_SET"))
        said = sorted((e.seq, e.before, e.after["sama"]) for e in trail)
    assert [(before, sama) for _, before, sama in said] == [(None, False), ({"kategori": "ODHA", "sama": False}, True)]
    assert (mapped["sama"], mapped["keterangan"]) == (True, "")


def test_a_row_naming_its_category_keeps_it_and_an_unmapped_indicator_is_a_problem(db, people):
    _map(db, "ODHA_ART", "ODHA")
    rows = [
        {"instansi": "Dinkes", "indikator": "ODHA_ART", "kategori": ""},
        {"instansi": "Dinkes", "indikator": "ODHA_ART", "kategori": "LUT"},  # the file's own word stands
        {"instansi": "Dinkes", "indikator": "TB_PARU", "kategori": ""},
    ]
    with db.read() as s:
        translated, problems = agency_indicators.translate(s, rows)
    assert [r["kategori"] for r in translated] == ["ODHA", "LUT", ""]
    assert [(p.row, p.column) for p in problems] == [(4, "indikator")] and "TB_PARU" in problems[0].message


def test_an_indicator_mapped_to_an_unknown_category_is_refused_by_name(db, people):
    with pytest.raises(Invalid) as refused:
        _map(db, "ODHA_ART", "ZZZ")
    assert [p.column for p in refused.value.problems] == ["kategori"]
