"""The flags on a region's compiled figures, as the province's verifiers and the Forum SDI rely on them:

- our own figures are judged by a yardstick measured on our own figures: another agency's scattered
  counts (which may count something else) neither hide a jump in ours nor a change in its ratio to
  ours, whether a table is only checked or stored and checked with its history;
- explaining one agency's gap settles that agency's gap only: another agency disagreeing with us by
  the same figure is still shown; a file sent again previews the gap that saving it leaves open;
- checking a series again clears the open flags of rules no longer applied, and leaves another
  category's open flags in the same region alone;
- a province's figures count its own register, never another province's sharing the database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.quality import aggregates, review
from engine.quality.series import Value
from engine.verification import imports, submissions
from models import AggregateValue, FlagStatus, QualityFlag, Severity
from tests.factories import SYSTEM, actor, approved_everywhere, csv_of, make_team, person_row, submit
from tests.integration.test_agency_uploads import _open_flags, _preview, _receive
from tests.integration.test_cli import as_json
from tests.integration.test_series_flag_edge_rules import _lut, _save


def _figures(kategori: str, region: str, sumber: str, *figures: int) -> str:
    return "".join(f"{region},{kategori},{2021 + i},{n},{sumber}\n" for i, n in enumerate(figures))


# Our figures move little from year to year; Bulungan's 2025 LUT doubles. DP3AP2KB counted about half of
# ours in Bulungan and now counts nine tenths. Dinkes' counts elsewhere swing wildly from year to year.
SCATTERED = "kode_wilayah,kategori,periode,nilai,sumber\n" + "".join(
    [
        _figures("LUT", "65.01", "dinsos", 100, 104, 97, 101, 100),
        _figures("LUT", "65.02", "dinsos", 60, 62, 59, 61, 60),
        _figures("LUT", "65.03", "dinsos", 80, 79, 82, 80, 160),
        _figures("LUT", "65.01", "DP3AP2KB", 50, 52, 48, 51, 90),
        _figures("LUT", "65.02", "Dinkes", 10, 90, 30, 200, 40),
        _figures("LUT", "65.03", "Dinkes", 300, 20, 150, 30, 90),
    ]
)


@pytest.mark.parametrize("store", [False, True], ids=["checked", "stored"])
def test_an_agencys_scattered_counts_hide_neither_a_jump_in_ours_nor_a_changed_ratio(cli, tmp_path, db, store):
    path = tmp_path / "historis.csv"
    path.write_text(SCATTERED)
    flags = as_json(cli("quality", "scan", str(path), *(["--store"] if store else []), "--json"))
    found = {(f["rule"], f["region_kode"], f["periode"], f["sources"].get("instansi")) for f in flags}
    assert ("lonjakan", "65.03", "2025", None) in found
    assert ("instansi", "65.01", "2025", "DP3AP2KB") in found


def _gaps(db) -> dict[str, str]:
    """Each agency's gap flag on Bulungan's 2025 LUT figure, by agency: its status."""
    with db.read() as s:
        found = s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
        return {f.sources["instansi"]: f.status for f in found if f.periode == "2025"}


def test_explaining_one_agencys_gap_leaves_another_agencys_gap_of_the_same_figure_open(db, people):
    ours = Value("65.01", "LUT", "2025", 68)
    _save(db, [ours, Value("65.01", "LUT", "2025", 30, "DP3AP2KB"), Value("65.01", "LUT", "2025", 30, "Dinkes")])
    assert _gaps(db) == {"DP3AP2KB": "terbuka", "Dinkes": "terbuka"}
    with db.read() as s:
        flag = next(
            f.id
            for f in s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
            if f.sources["instansi"] == "DP3AP2KB"
        )
    with db.transaction() as s:
        review.settle(s, actor(db, "valid.prov"), flag, review.FlagAction.EXPLAIN, "menghitung kasus", "terbuka")
    _save(db, [ours])  # our figure counted again: its series checked again
    assert _gaps(db) == {"DP3AP2KB": "dijelaskan", "Dinkes": "terbuka"}


def test_a_file_sent_again_previews_the_gap_that_saving_it_leaves_open(db, stewards, our_figures):
    """The steward re-sends DP3AP2KB's file: the gap with our Bulungan figure is still unexplained, and
    the preview says so, as the saved flags will."""
    _receive(db, _preview(db))
    assert ("selisih_instansi", "65.01", "2024", "DP3AP2KB") in _open_flags(db)
    again = _preview(db)
    assert {(f.rule, f.region_kode, f.sources.get("instansi")) for f in again.flags} == {
        ("selisih_instansi", "65.01", "DP3AP2KB")
    }


@pytest.mark.parametrize("rule", sorted(aggregates.RETIRED_RULES))
def test_an_open_flag_of_a_rule_no_longer_applied_goes_when_its_series_is_checked_again(db, rule):
    """A flag an earlier release raised on Bulungan's LUT series (say, a robust z-score of 2025) is
    not left on the verifiers' list once the series is checked by today's rules."""
    with db.transaction() as s:
        s.add(
            QualityFlag(
                rule=rule,
                severity=Severity.WARNING,
                message="angka lama",
                region_kode="65.01",
                kategori="LUT",
                periode="2025",
                sources={"sumber": "dinsos"},
                status=FlagStatus.TERBUKA,
            )
        )
    _save(db, _lut("65.01", 17, 18, 17, 18))
    with db.read() as s:
        assert s.scalars(select(QualityFlag.rule).where(QualityFlag.region_kode == "65.01")).all() == []


def test_checking_one_categorys_series_leaves_another_categorys_open_flags_in_the_region(db):
    """Bulungan's AT figure jumped; a later upload of its LUT figures does not clear that warning."""
    _save(db, [Value("65.01", "AT", str(2022 + i), n) for i, n in enumerate((40, 42, 41, 400))])
    _save(db, _lut("65.01", 30, 31, 29, 30))
    with db.read() as s:
        open_flags = s.execute(select(QualityFlag.rule, QualityFlag.kategori).where(QualityFlag.status == "terbuka"))
        assert open_flags.all() == [("lonjakan", "AT")]


SAMURANGAU = "64.01.01.2009"  # a desa of Kalimantan Timur, whose register shares the database


def test_a_provinces_figures_count_its_own_register_and_no_other_provinces(db):
    team = make_team(db, desa=SAMURANGAU)
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, SAMURANGAU, "2026-Q3", "64").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1), person_row(2)]))
    submit(db, team.operator, sid)
    approved_everywhere(db, team, sid)
    with db.transaction() as s:
        assert aggregates.count_records(s, "64", "2026-Q3")[("64", "LUT")] == 2  # Kalimantan Timur's own count
        assert aggregates.snapshot_records(s, SYSTEM, "2026-Q3", "65") == 0
    with db.read() as s:
        assert s.scalars(select(AggregateValue.region_kode)).all() == []
