# ruff: noqa: F811 (the imported fixtures are named again as test parameters)
"""Rules of the exchange API that other agencies' systems rely on, pinned where no other test does.

- Region scope on every read, even without a `wilayah` filter: a token reads only the figures
  (`/aggregates`) and the records (`/records`, `/records/<id>`) of its own region; a record of
  another region is a 404, as if it did not exist.
- The register's removed records (`dihapus`) are not listed unless asked for by status.
- `/verification-status` without `wilayah` answers for the token's own region and says so.
- Agency figures are never stored under Dinas Sosial's own name, however a token's agency is
  written (no token is issued under its name); an agency posting figures
  hears only of its own gaps, never another agency's.
- Input bounds and problems: a NIK search takes exactly 16 digits; a row in a body's problem is
  numbered from 1, as the engine's own problems are; every refused row of a post is named.
- The `Bearer` scheme is read in any case, as HTTP has it.
- A sensitive category's figure is published from the kabupaten/kota up only.
- Cache headers: figures are private to the caller, personal records are never stored by a cache.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.core.errors import Invalid
from engine.people import tokens
from models import AgencyToken, AggregateValue, Record, RecordStatus
from tests.factories import SYSTEM, register_record

# the API fixtures of tests/web, used here as the tests there use them
from tests.web.conftest import api, app, issue_token, world  # noqa: F401

OUTSIDE_DESA = "65.02.01.2005"  # Pulau Sapi, in the neighbouring regency (Malinau, 65.02)


def _records(db, *records: Record) -> list[int]:
    with db.transaction() as s:
        s.add_all(records)
        s.flush()
        return [r.id for r in records]


def test_figures_without_a_region_filter_stay_within_the_tokens_region(db, our_figures, issue_token, api):
    token = issue_token("65.01", ("agregat",))
    answer = api("GET", "/api/v1/aggregates", token)
    regions = {f["kode_wilayah"] for f in answer.get_json()["data"]}
    assert answer.status_code == 200 and regions == {"65.01"}  # 65.02's figure is another regency's


def test_records_without_a_region_filter_stay_within_the_tokens_region(db, issue_token, api):
    mine, theirs = _records(db, register_record(1), register_record(2, kode_desa=OUTSIDE_DESA))
    for sees_nik in (False, True):
        token = issue_token("65.01", ("catatan",), sees_nik=sees_nik)
        listed = api("GET", "/api/v1/records", token).get_json()
        assert [r["id"] for r in listed["data"]] == [mine] and listed["halaman"]["total"] == 1


def test_a_record_of_another_region_read_by_its_id_is_not_found(db, issue_token, api):
    mine, theirs = _records(db, register_record(1), register_record(2, kode_desa=OUTSIDE_DESA))
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    assert api("GET", f"/api/v1/records/{mine}", token).status_code == 200
    refused = api("GET", f"/api/v1/records/{theirs}", token)
    assert refused.status_code == 404 and refused.content_type == "application/problem+json"
    assert "6501" not in refused.get_data(as_text=True).replace("/api/v1/records", "")  # no number leaks


def test_removed_records_are_listed_only_when_asked_for_by_status(db, issue_token, api):
    active, removed = _records(db, register_record(1), register_record(2, status=RecordStatus.DIHAPUS))
    token = issue_token("65.01", ("catatan",))
    listed = api("GET", "/api/v1/records", token).get_json()["data"]
    assert [r["id"] for r in listed] == [active]
    asked = api("GET", "/api/v1/records", token, query_string={"status": "dihapus"}).get_json()["data"]
    assert [(r["id"], r["status"]) for r in asked] == [(removed, "dihapus")]


def test_verification_status_without_a_region_answers_for_the_tokens_region(world, issue_token, api):
    token = issue_token("65.01", ("status",))
    answer = api("GET", "/api/v1/verification-status", token, query_string={"periode": "2026-Q4"})
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["wilayah"] == "65.01" and body["data"]
    assert all(row["kode"].startswith("65.01.") for row in body["data"])


def test_a_token_of_an_agency_named_as_dinas_sosial_cannot_post_figures_as_ours(db, issue_token, api):
    """A token issued before its name was checked as Dinas Sosial's is still refused by the API."""
    token = issue_token("65", ("angka-instansi",), can_write=True, instansi="Lama")
    with db.transaction() as s:
        s.execute(
            update(AgencyToken).where(AgencyToken.instansi == "Lama").values(instansi="Dinas Sosial Provinsi Kaltara")
        )
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 30}
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]})
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    with db.read() as s:
        assert s.scalars(select(AggregateValue)).all() == []


def test_no_token_is_issued_under_dinas_sosials_name_however_written(db):
    request = tokens.TokenRequest(
        instansi="Dinas Sosial Provinsi Kaltara", region_kode="65", resources=("angka-instansi",), can_write=True
    )
    with pytest.raises(Invalid) as refused, db.transaction() as session:
        tokens.create_token(session, SYSTEM, request)
    assert "Dinas Sosial sendiri" in refused.value.problems[0].message


def test_an_agency_posting_figures_does_not_hear_of_another_agencys_gap(db, issue_token, api):
    with db.transaction() as s:  # our own figure, which Dinkes's 41 is far from and DP3AP2KB's 2 agrees with
        s.add(AggregateValue(region_kode="65.01", kategori="LUT", periode="2025", nilai=2, sumber="dinsos"))
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 41}
    dinkes = issue_token("65", ("angka-instansi", "agregat"), can_write=True, instansi="Dinkes")
    told = api("POST", "/api/v1/agency-figures", dinkes, json={"baris": [row]}).get_json()["tanda"]
    assert [f["rule"] for f in told] == ["selisih_instansi"]
    other = issue_token("65", ("angka-instansi", "agregat"), can_write=True)  # DP3AP2KB
    answer = api("POST", "/api/v1/agency-figures", other, json={"baris": [{**row, "nilai": 2}]})
    assert answer.status_code == 201 and answer.get_json()["tanda"] == []  # Dinkes's gap is not told


def test_a_nik_search_takes_exactly_sixteen_digits(db, issue_token, api):
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    for nik in ("650101440560009", "65010144056000x", "6501014405600099 "):
        refused = api("POST", "/api/v1/records/search", token, json={"nik": nik})
        assert refused.status_code == 400, nik
        assert {p["kolom"] for p in refused.get_json()["masalah"]} == {"nik"}


def test_a_rows_problem_in_a_body_is_numbered_from_one(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    good = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3}
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [good, {**good, "nilai": "tiga"}]})
    problems = refused.get_json()["masalah"]
    assert refused.status_code == 400 and [(p["baris"], p["kolom"]) for p in problems] == [(2, "baris.nilai")]


def test_figures_are_private_to_the_caller_and_records_are_never_stored(db, our_figures, issue_token, api):
    _records(db, register_record(1))
    token = issue_token("65.01", ("agregat", "catatan"))
    figures = api("GET", "/api/v1/aggregates", token)
    assert figures.status_code == 200 and figures.headers["Cache-Control"] == "private, no-cache"
    for path in ("/api/v1/records", "/api/v1/records/999999"):
        assert api("GET", path, token).headers["Cache-Control"] == "no-store", path


def test_the_bearer_scheme_is_read_in_any_case(db, our_figures, issue_token, api):
    """RFC 9110 11.1: an authentication scheme is case-insensitive; many HTTP clients send `bearer`."""
    token = issue_token("65.01", ("agregat",))
    for scheme in ("bearer", "BEARER"):
        answer = api("GET", "/api/v1/aggregates", headers={"Authorization": f"{scheme} {token}"})
        assert answer.status_code == 200, scheme


def test_every_refused_row_of_a_post_is_named(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    rows = [{"kategori": "LUT", "kode_wilayah": "65.01", "periode": "kemarin", "nilai": n} for n in range(1, 6)]
    problems = api("POST", "/api/v1/agency-figures", token, json={"baris": rows}).get_json()["masalah"]
    assert [p["baris"] for p in problems] == [1, 2, 3, 4, 5]  # the agency corrects them all in one go


def test_a_sensitive_categorys_figure_is_published_from_the_regency_up_only(db, issue_token, api):
    with db.transaction() as s:  # ODHA counted in Gunung Putih and in Bulungan
        for region in ("65.01.01.2005", "65.01"):
            s.add(AggregateValue(region_kode=region, kategori="ODHA", periode="2025", nilai=3, sumber="dinsos"))
    token = issue_token("65", ("agregat",))
    data = api("GET", "/api/v1/aggregates", token, query_string={"kategori": "ODHA"}).get_json()["data"]
    assert [f["kode_wilayah"] for f in data] == ["65.01"]  # a desa's few would point at its people
