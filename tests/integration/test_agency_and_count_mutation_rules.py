"""What the quality pages, the head's count of people standing twice, an entry's identity and the
agencies' indicators guarantee at their edges:

- people counted twice are those standing in two desa in one category: not a person in one desa
  (however often entered there), nor one person in two categories;
- the trend of a region shows the category asked for, in period order;
- the dashboard shows the period asked for or the newest, and keeps a person to their own regions;
- institutions without a name are not one entry named twice;
- two agencies may name an indicator alike, each mapped on its own, and an indicator known to count
  something else is shown no level gap;
- the yardstick of counts: one series leans on the prior, two figures say nothing of the spread, a
  surprise takes the wide reading within its bounds, no register is taken as standing still, and a
  short history widens the interval a figure is judged against.
"""

from __future__ import annotations

import pytest

from engine.core.audit import AuditAction
from engine.core.errors import NotFound
from engine.quality import agencies, agency_indicators, aggregates, counts, dashboard, twice
from engine.quality.nik import compose
from engine.quality.series import Context, Value, check_level, dispersions
from engine.quality.twice import Twice
from tests.factories import DESA, SYSTEM, actor, open_period, open_with_items, person_row
from tests.integration.test_record_check_rules import BORN, NIK, OTHER, _standing
from tests.integration.test_region_update_and_duplicate_rules import _checked

# --- people counted twice ----------------------------------------------------------------------------


def _counted_twice(db) -> list[Twice]:
    with db.read() as s:
        return twice.registered_twice(s, "65", "2026-Q4")


def test_a_person_standing_in_one_desa_only_is_not_counted_twice_even_entered_there_twice(db):
    with db.transaction() as s:
        _standing(s, DESA, "LUT", NIK, "Maria Ingan")
        _standing(s, OTHER, "LUT", compose("65.01.01", BORN, "P", 2), "Siti Aminah")
        _standing(s, OTHER, "LUT", compose("65.01.01", BORN, "P", 2), "Siti Aminah")
    assert _counted_twice(db) == []


def test_one_person_in_two_categories_is_counted_twice_only_in_the_category_held_in_two_desa(db):
    """Maria stands as LUT in Gunung Putih and Gunung Sari, and as ODHA in Gunung Putih too; Siti
    stands as LUT in one desa and as ODHA in the other: only Maria's LUT counts her twice."""
    siti = compose("65.01.01", BORN, "P", 2)
    with db.transaction() as s:
        for desa in (DESA, OTHER):
            _standing(s, desa, "LUT", NIK, "Maria Ingan")
        _standing(s, DESA, "ODHA", NIK, "Maria Ingan")
        _standing(s, DESA, "LUT", siti, "Siti Aminah")
        _standing(s, OTHER, "ODHA", siti, "Siti Aminah")
    assert _counted_twice(db) == [Twice("LUT", (DESA, OTHER), 1)]


# --- the trend of a region ----------------------------------------------------------------------------


def _store(db, values: list[Value]) -> None:
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, values, AuditAction.BASELINE_IMPORTED)


def test_the_trend_shows_only_the_category_asked_for_in_period_order(db, people):
    years = (("2025", 9), ("2021", 5), ("2023", 7), ("2020", 4), ("2024", 8), ("2022", 6))
    _store(db, [Value("65.01", "LUT", y, n) for y, n in years] + [Value("65.01", "ODHA", "2019", 3)])
    with db.read() as s:
        shown = dashboard.series_for(s, actor(db, "valid.prov"), "65.01", "LUT")
    assert shown["labels"] == ["2020", "2021", "2022", "2023", "2024", "2025"]
    assert shown["datasets"] == [{"sumber": "dinsos", "values": [4, 5, 6, 7, 8, 9]}]


# --- the dashboard ------------------------------------------------------------------------------------


def _dashboard(db, username: str, **chosen) -> dashboard.Dashboard:
    with db.read() as s:
        return dashboard.dashboard(s, actor(db, username), dashboard.DashboardFilter(**chosen), "65")


def test_completeness_is_shown_for_the_newest_period_unless_another_is_asked_for(db, people):
    open_with_items(db)  # 2026-Q4
    open_period(db, "2026-Q3", [person_row(8)])
    assert _dashboard(db, "valid.prov").periode_lengkap == "2026-Q4"
    assert _dashboard(db, "valid.prov", periode_lengkap="2026-Q3").periode_lengkap == "2026-Q3"


def test_a_regency_verifier_opens_the_dashboard_of_their_regency_and_not_of_another(db, people):
    assert _dashboard(db, "verif.kab").induk == "65.01"
    with pytest.raises(NotFound, match="65.02"):
        _dashboard(db, "verif.kab", induk="65.02")


# --- what identifies an entry ---------------------------------------------------------------------


def test_institutions_without_a_name_are_not_the_same_entry(db):
    found = _checked(db, [{"kategori": "LKS", "nama": ""}, {"kategori": "LKS", "nama": "  "}])
    assert "duplikat_nama" not in found[1]


# --- agencies' indicators -------------------------------------------------------------------------


def _map(db, instansi: str, indikator: str, kategori: str, sama: bool = True) -> None:
    with db.transaction() as s:
        mapping = agency_indicators.Mapping(instansi, indikator, kategori, sama)
        agency_indicators.set_mapping(s, actor(db, "valid.prov"), mapping)


def test_two_agencies_may_name_an_indicator_alike_each_mapped_to_its_own_category(db, people):
    _map(db, "Dinkes", "kasus baru", "ODHA")
    _map(db, "DP3AP2KB", "kasus baru", "AKTK")
    with db.read() as s:
        mapped = sorted((m["instansi"], m["kategori"]) for m in agency_indicators.mappings(s))
    assert mapped == [("DP3AP2KB", "AKTK"), ("Dinkes", "ODHA")]


def test_a_level_gap_is_not_shown_for_an_indicator_known_to_count_something_else(db, people):
    """Dinkes counts three times our ODHA: shown once as a gap, unless its indicator is known to count
    people treated, not people needing social services."""
    values = [Value("65.01", "ODHA", "2025", 40), Value("65.01", "ODHA", "2025", 120, "Dinkes")]
    assert [f.rule for f in agencies.compare(values, agencies.AgencyContext(Context()))] == ["selisih_instansi"]
    _map(db, "Dinkes", "ODHA_ART", "ODHA", sama=False)
    with db.read() as s:
        different = agency_indicators.counts_something_else(s)
    assert agencies.compare(values, agencies.AgencyContext(Context(), different=different)) == []


# --- the yardstick of counts ----------------------------------------------------------------------


def _years(*values: int, region: str = "65.01") -> list[Value]:
    return [Value(region, "AT", str(2020 + i), n) for i, n in enumerate(values)]


def test_a_category_with_a_single_series_leans_on_the_prior_counted_as_two_series():
    """Bulungan's history (its newest figure left out) alone would say φ ≈ 0.23; with the prior of 0.02
    counted as two series, 0.02."""
    assert dispersions(_years(10, 20, 30, 40, 50))["AT"].estimate == 0.02


def test_series_of_two_figures_say_nothing_of_a_category_s_dispersion():
    values = [v for region in ("65.01", "65.02", "65.03") for v in _years(10, 30, region=region)]
    assert dispersions(values)["AT"].estimate == 0.02


def test_a_surprise_is_judged_by_the_estimate_raised_by_three_quarters_within_its_floor_and_ceiling():
    wide = [counts.Dispersion(estimate).wide for estimate in (0.0, 0.1, 5.0)]
    assert wide == pytest.approx([0.005, 0.175, 2.0])
    assert counts.Dispersion(0.1).narrow == 0.1


def test_no_register_stands_still_even_when_every_series_is_copied_forward():
    """Three regencies' figures the same for five years: the category's movement is still taken as at
    least 0.1 per person a year, and a quarter's as 0.025."""
    regions = ("65.01", "65.02", "65.03")
    years = [v for region in regions for v in _years(*(100,) * 5, region=region)]
    quarters = [
        Value(r, "AT", p, 100) for r in regions for p in ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1")
    ]
    assert dispersions(years)["AT"].movements["Y"].per_level == 0.1
    assert dispersions(quarters)["AT"].movements["Q"].per_level == 0.025


def test_two_years_of_history_make_a_wide_interval_for_their_uncertain_mean():
    """After 100 and 100, a steady count (φ at its floor) may reach 144 by noise and the uncertainty of
    a mean of two years; 150 is a jump."""
    context = Context(dispersion={"AT": counts.Dispersion(0.0)})
    assert check_level(_years(100, 100, 144), context) == []
    assert [(f.rule, f.periode) for f in check_level(_years(100, 100, 150), context)] == [("lonjakan", "2022")]
