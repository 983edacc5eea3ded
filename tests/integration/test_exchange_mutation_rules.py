# ruff: noqa: F811 (the imported fixtures are named again as test parameters)
"""Rules of the exchange API that an agency's system pages through and an auditor reads afterwards:

- A region asked for narrows the records to that region, however wide the token's own.
- Figures are answered in a fixed order, by region, then category, then period; records by the
  order they came onto the register, so that walking page after page sees each once.
- The audit trail says of each full NIK shown and of each answer of records whether it was a list
  or one record read by its id; an answer that held no record is no disclosure and leaves no row.
- A post of agency figures names every refused row in row order, whether the row itself is wrong
  or lies outside the token's region.
- An agency posting figures hears of the flags on the figures it sent, not of those standing on
  other periods of the same series; a post of several years is refused whole when any of them is
  determined, the earliest as much as the latest.
- The flags a preview of an agency's file shows are listed by region, category and period, then rule.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.quality import series
from engine.verification import agency_figures
from models import AggregateValue, QualityFlag, RecordStatus, Severity
from tests.factories import register_record
from tests.integration.test_agency_uploads import _actions, _determine
from tests.integration.test_intake_and_record_rules import _records
from tests.web.conftest import api, app, issue_token  # noqa: F401  (the web fixtures, borrowed)

FIGURES = "/api/v1/agency-figures"


def _ours(db, *figures: tuple[str, str, str, int]) -> None:
    """Dinas Sosial's own figures (region, category, period, value), stored in the order given."""
    with db.transaction() as s:
        for region, kategori, periode, nilai in figures:
            s.add(AggregateValue(region_kode=region, kategori=kategori, periode=periode, nilai=nilai, sumber="dinsos"))
            s.flush()


# --- the order of an answer ------------------------------------------------------------------------


def test_figures_are_answered_by_region_then_category_then_period(db, issue_token, api):
    """However they were stored, the figures come region by region, each region's by category and period."""
    _ours(
        db,
        ("65.02", "LUT", "2024", 5),
        ("65.01", "LUT", "2025", 4),
        ("65.01", "FM", "2025", 3),
        ("65.01", "LUT", "2024", 2),
        ("65.01", "FM", "2024", 1),
    )
    token = issue_token("65", ("agregat",))
    data = api("GET", "/api/v1/aggregates", token).get_json()["data"]
    assert [(f["kode_wilayah"], f["kode_kategori"], f["periode"]) for f in data] == [
        ("65.01", "FM", "2024"),
        ("65.01", "FM", "2025"),
        ("65.01", "LUT", "2024"),
        ("65.01", "LUT", "2025"),
        ("65.02", "LUT", "2024"),
    ]


def test_records_are_paged_in_the_order_they_came_onto_the_register(db, issue_token, api):
    """Page one holds the earliest record, each page after it the next: each record is read once on the way."""
    first, second, third = _records(db, register_record(1), register_record(2), register_record(3))
    token = issue_token("65.01", ("catatan",))
    pages = [
        api("GET", "/api/v1/records", token, query_string={"page_size": 1, "page": page}).get_json()["data"]
        for page in (1, 2, 3, 4)
    ]
    assert [[r["id"] for r in data] for data in pages] == [[first], [second], [third], []]


def test_records_asked_for_by_a_kecamatan_are_that_kecamatans_only(db, issue_token, api):
    """A regency's token asking for Tanjung Palas reads its desa's record, not another kecamatan's."""
    mine, other = _records(db, register_record(1), register_record(2, kode_desa="65.01.02.2001"))
    token = issue_token("65.01", ("catatan",))
    for wilayah, expected in (("65.01.01", [mine]), ("65.01.02.2001", [other]), ("65.01", [mine, other])):
        listed = api("GET", "/api/v1/records", token, query_string={"wilayah": wilayah}).get_json()
        assert [r["id"] for r in listed["data"]] == expected and listed["halaman"]["total"] == len(expected), wilayah


# --- what the trail says of a read -----------------------------------------------------------------


def test_the_trail_tells_a_listing_from_a_record_read_by_its_id(db, issue_token, api):
    """Each full NIK shown, and each answer of records, carries why: a list of records or one record."""
    (record_id,) = _records(db, register_record(1))
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    assert api("GET", "/api/v1/records", token).status_code == 200
    assert api("GET", f"/api/v1/records/{record_id}", token).status_code == 200
    said = ["API: daftar catatan", "API: satu catatan"]
    viewed = _actions(db, AuditAction.NIK_VIEWED)
    assert [(e.subject_id, e.reason) for e in viewed] == [(str(record_id), why) for why in said]
    disclosed = _actions(db, AuditAction.RECORDS_DISCLOSED)
    assert [(e.after, e.reason) for e in disclosed] == [({"catatan": [record_id]}, why) for why in said]


def test_an_answer_without_records_leaves_no_disclosure_on_the_actions(db, issue_token, api):
    """Asking for removed records where there are none, or for a record not there, disclosed nobody."""
    _records(db, register_record(1))
    for sees_nik in (False, True):
        token = issue_token("65.01", ("catatan",), sees_nik=sees_nik)
        empty = api("GET", "/api/v1/records", token, query_string={"status": RecordStatus.DIHAPUS.value})
        assert empty.status_code == 200 and empty.get_json()["data"] == []
        assert api("GET", "/api/v1/records/99999999", token).status_code == 404
    assert _actions(db, AuditAction.RECORDS_DISCLOSED) == []
    assert _actions(db, AuditAction.NIK_VIEWED) == []
    assert api("GET", "/api/v1/records", token).status_code == 200  # one record went out: one row
    assert len(_actions(db, AuditAction.RECORDS_DISCLOSED)) == 1


# --- a post of agency figures ----------------------------------------------------------------------


def test_a_refused_post_names_rows_outside_the_region_beside_wrong_rows_in_row_order(db, issue_token, api):
    """A row outside the token's regency and a row with an unknown category are both told, first row first."""
    token = issue_token("65.01", ("angka-instansi",), can_write=True)
    rows = [
        {"kategori": "LUT", "kode_wilayah": "65.02", "periode": "2025", "nilai": 3},
        {"kategori": "XXX", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3},
    ]
    refused = api("POST", FIGURES, token, json={"baris": rows})
    assert refused.status_code == 400, refused.get_json()
    assert [(p["baris"], p["kolom"]) for p in refused.get_json()["masalah"]] == [(1, "kode_wilayah"), (2, "kategori")]
    assert "2 masalah" in refused.get_json()["detail"]
    with db.read() as s:
        assert s.scalars(select(AggregateValue)).all() == []


def test_an_agency_hears_of_the_flags_on_the_periods_it_sent_only(db, issue_token, api):
    """Its 2025 figure is answered with 2025's flags, not with the 2024 gap still open on the same series."""
    _ours(db, ("65.01", "LUT", "2024", 2), ("65.01", "LUT", "2025", 2))
    token = issue_token("65", ("angka-instansi", "agregat"), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2024", "nilai": 41}
    first = api("POST", FIGURES, token, json={"baris": [row]}).get_json()["tanda"]
    assert [(f["rule"], f["periode"]) for f in first] == [("selisih_instansi", "2024")]
    later = api("POST", FIGURES, token, json={"baris": [{**row, "periode": "2025"}]})
    assert later.status_code == 201, later.get_json()
    assert {f["periode"] for f in later.get_json()["tanda"]} <= {"2025"}
    with db.read() as s:  # the 2024 gap is still open: it is simply not this post's to tell
        periods = s.scalars(select(QualityFlag.periode).where(QualityFlag.rule == "selisih_instansi")).all()
    assert "2024" in periods


def test_a_post_of_several_years_is_refused_whole_when_its_earlier_year_is_determined(db, issue_token, api):
    """2024 is determined and 2025 open: the post of both is refused and neither figure is stored."""
    _determine(db, 2024)
    token = issue_token("65", ("angka-instansi",), can_write=True)
    rows = [{"kategori": "LUT", "kode_wilayah": "65.01", "periode": p, "nilai": 3} for p in ("2024", "2025")]
    refused = api("POST", FIGURES, token, json={"baris": rows})
    assert refused.status_code == 409 and "Angka tahun 2024 sudah ditetapkan" in refused.get_json()["detail"]
    with db.read() as s:
        assert s.scalars(select(AggregateValue)).all() == []


def test_a_previews_flags_are_listed_by_region_category_and_period_before_their_rule():
    """The steward reads one region's flags together: 65.01's steady figure before 65.02's gap."""

    def flag(rule, region, periode="2024", agency="Dinkes"):
        return series.Flag(rule, Severity.WARNING, region, "AKTK", periode, 0, 0, "", {"sumber": agency})

    found = [flag("selisih_instansi", "65.02"), flag("tetap", "65.01", "2025"), flag("tetap", "65.01")]
    listed = agency_figures.theirs([*found, flag("lonjakan", "65.01", agency="Dinsos Kab")], {"Dinkes"})
    assert [(f.region_kode, f.periode, f.rule) for f in listed] == [
        ("65.01", "2024", "tetap"),
        ("65.01", "2025", "tetap"),
        ("65.02", "2024", "selisih_instansi"),
    ]
