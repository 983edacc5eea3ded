"""The API's resources as an agency's system uses them: figures in Satu Data form, paging, ETags,
records with masked or audited NIKs, all-or-nothing writes, and bad input answered with problems."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from engine.core.audit import AuditAction
from engine.quality import aggregates, figure_files
from engine.verification import agency_figures
from models import AggregateValue, AuditEvent, HumanTask, QualityFlag, Record, SubmissionItem
from tests.factories import HISTORY, SYSTEM, decide, person_row, reconciliation_year


def _store_history(db):
    with db.transaction() as s:
        values = figure_files.read_baseline(s, "h.csv", HISTORY.encode())
        aggregates.store(s, SYSTEM, values, AuditAction.BASELINE_IMPORTED)


def test_figures_in_satu_data_form_paged_and_filtered(db, issue_token, api):
    _store_history(db)
    token = issue_token("65.01", ("agregat",))
    first = api("GET", "/api/v1/aggregates", token, query_string={"page_size": 3})
    body = first.get_json()
    assert first.status_code == 200 and body["halaman"] == {"page": 1, "page_size": 3, "total": 4, "pages": 2}
    none = api("GET", "/api/v1/aggregates", token, query_string={"periode": "2019"}).get_json()["halaman"]
    assert (none["total"], none["page"], none["pages"]) == (0, 1, 1)  # a client walking to `pages` stops
    empty = api("GET", "/api/v1/aggregates", token, query_string={"wilayah": "", "periode": ""})
    assert empty.status_code == 200 and empty.get_json()["halaman"]["total"] == 4  # "" is the documented default
    assert api("GET", "/api/v1/aggregates", token, query_string={"wilayah": "6"}).status_code == 400
    row = body["data"][0]
    assert row["kode_wilayah"] == "65.01" and row["nama_wilayah"] and row["tingkat"] == "kabupaten"
    assert (row["kode_kategori"], row["nama_kategori"], row["satuan"]) == ("LUT", "Lanjut Usia Terlantar", "individu")
    assert row["status"] == "terverifikasi" and row["sumber"] == "Dinas Sosial"
    second = api("GET", "/api/v1/aggregates", token, query_string={"page_size": 3, "page": 2}).get_json()
    assert len(second["data"]) == 1  # the agency's own figure (DP3AP2KB) is not published as ours
    only = api("GET", "/api/v1/aggregates", token, query_string={"periode": "2025"}).get_json()
    assert [r["nilai"] for r in only["data"]] == [68]


def test_a_figure_is_published_as_sementara_while_a_submission_of_its_period_in_its_region_is_in_work(
    world, db, issue_token, api
):
    with db.transaction() as s:  # Q2 verified; Q3 waiting at the kabupaten (both Gunung Putih's)
        for periode in ("2026-Q2", "2026-Q3"):
            aggregates.snapshot_records(s, SYSTEM, periode, "65")
    token = issue_token("65", ("agregat",))

    def statuses(periode):
        data = api("GET", "/api/v1/aggregates", token, query_string={"periode": periode}).get_json()["data"]
        return {(f["kode_wilayah"], f["kode_kategori"]): f["status"] for f in data}

    assert set(statuses("2026-Q2").values()) == {"terverifikasi"}
    waiting = statuses("2026-Q3")
    for region in ("65.01.01.2005", "65.01.01", "65.01", "65"):  # the desa and every region above it
        assert waiting[(region, "LUT")] == "sementara", waiting
    with db.read() as s:
        q3 = s.get(HumanTask, world.kab_task).submission_id
    decide(db, "verif.kab", q3, "approve")
    decide(db, "valid.prov", q3, "approve")
    assert set(statuses("2026-Q3").values()) == {"terverifikasi"}


def test_an_unchanged_read_answers_304_to_its_etag(db, issue_token, api):
    _store_history(db)
    token = issue_token()
    first = api("GET", "/api/v1/aggregates", token)
    again = api("GET", "/api/v1/aggregates", token, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data and again.headers["ETag"] == first.headers["ETag"]
    weak = api("GET", "/api/v1/aggregates", token, headers={"If-None-Match": "W/" + first.headers["ETag"]})
    assert weak.status_code == 304  # If-None-Match compares weakly
    with db.transaction() as s:
        s.execute(AggregateValue.__table__.update().values(nilai=AggregateValue.nilai + 1))
    changed = api("GET", "/api/v1/aggregates", token, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_records_mask_the_nik_unless_the_token_sees_it_and_each_full_read_is_audited(world, db, issue_token, api):
    masked = api("GET", "/api/v1/records", issue_token("65.01", ("catatan",))).get_json()["data"][0]
    assert "*" in masked["nik"] and "*" in masked["no_kk"] and masked["nik_lengkap"] is False
    # the answer gives the desa, birth date and sex, which are the NIK's other digits: the serial stays hidden
    assert masked["tanggal_lahir"] and masked["nik"][6:] == "*" * 10 and masked["no_kk"][6:] == "*" * 10
    assert masked["status_nik"]["status"] == "belum_dicek"
    assert _nik_reads(db) == 0
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    full = api("GET", "/api/v1/records", token).get_json()["data"][0]
    assert full["nik"] == person_row(7)["nik"] and full["nik_lengkap"] is True
    assert api("GET", f"/api/v1/records/{full['id']}", token).status_code == 200
    assert _nik_reads(db) == 2
    answer = api("POST", "/api/v1/records/search", issue_token("65.01", ("catatan",)), json={"nik": full["nik"]})
    assert answer.status_code == 403  # a masked token cannot test whether a NIK is on the register


def test_a_read_the_agency_already_holds_or_never_receives_discloses_nothing(world, db, issue_token, api):
    """A 304 (the agency's copy is current) and a HEAD send no record: the trail says no NIK went out."""
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    first = api("GET", "/api/v1/records", token)
    record = first.get_json()["data"][0]["id"]
    one = api("GET", f"/api/v1/records/{record}", token)
    assert first.status_code == one.status_code == 200 and _nik_reads(db) == 2
    for path, answer in (("/api/v1/records", first), (f"/api/v1/records/{record}", one)):
        again = api("GET", path, token, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304 and again.headers["ETag"] == answer.headers["ETag"]
        assert api("HEAD", path, token).status_code == 200
    assert _nik_reads(db) == 2


def test_records_changed_since_a_moment_and_a_moment_no_clock_can_hold(world, db, issue_token, api):
    token = issue_token("65.01", ("catatan",))
    since = {"diperbarui_sejak": "2000-01-01T00:00:00+08:00"}
    assert api("GET", "/api/v1/records", token, query_string=since).get_json()["halaman"]["total"] >= 1
    later = {"diperbarui_sejak": "2099-01-01T00:00:00+08:00"}
    assert api("GET", "/api/v1/records", token, query_string=later).get_json()["halaman"]["total"] == 0
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        refused = api("GET", "/api/v1/records", token, query_string={"diperbarui_sejak": moment})
        assert refused.status_code == 400 and "diperbarui_sejak" in refused.get_data(as_text=True)


def test_a_sensitive_categorys_people_go_only_to_a_token_trusted_with_full_niks(
    db, people, password_hash, issue_token, api
):
    reconciliation_year(db, password_hash, team=False)  # three LUT and one ODHA verified in Gunung Putih
    masked = issue_token("65.01", ("catatan",))
    listed = api("GET", "/api/v1/records", masked, query_string={"page_size": 100}).get_json()
    assert {r["kategori"] for r in listed["data"]} == {"LUT"} and listed["halaman"]["total"] == 3
    assert api("GET", "/api/v1/records", masked, query_string={"kategori": "ODHA"}).get_json()["data"] == []
    with db.read() as s:
        odha = s.scalar(select(Record.id).where(Record.kategori == "ODHA"))
    assert api("GET", f"/api/v1/records/{odha}", masked).status_code == 404  # as one outside its region
    trusted = issue_token("65.01", ("catatan",), sees_nik=True)
    (person,) = api("GET", "/api/v1/records", trusted, query_string={"kategori": "ODHA"}).get_json()["data"]
    assert person["id"] == odha and person["nik_lengkap"] is True
    with db.read() as s:  # and that read is on the trail, as every full NIK is
        viewed = s.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "NIK_VIEWED")).all()
    assert str(odha) in viewed


def test_a_search_by_nik_is_sent_in_the_body_and_recorded_found_or_not(world, db, issue_token, api):
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    nik = person_row(7)["nik"]
    in_address = api("GET", "/api/v1/records", token, query_string={"nik": nik})
    assert in_address.status_code in (400, 422)  # never in an address, where proxies log it
    found = api("POST", "/api/v1/records/search", token, json={"nik": nik}).get_json()
    missing = api("POST", "/api/v1/records/search", token, json={"nik": "6501014405600099"}).get_json()
    assert [r["nik"] for r in found["data"]] == [nik] and missing["data"] == []
    with db.read() as s:
        searched = s.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.NIK_SEARCHED).order_by(AuditEvent.seq)
        ).all()
    assert [(e.after["nik"], e.after["ditemukan"]) for e in searched] == [(nik, 1), ("6501014405600099", 0)]


def test_what_a_masked_token_reads_is_recorded_record_by_record(world, db, issue_token, api):
    masked = api("GET", "/api/v1/records", issue_token("65.01", ("catatan",))).get_json()["data"]
    with db.read() as s:
        (told,) = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.RECORDS_DISCLOSED)).all()
    assert told.after == {"catatan": [r["id"] for r in masked]} and told.actor.startswith("token:")


def _nik_reads(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == AuditAction.NIK_VIEWED))


def test_agency_figures_are_all_or_nothing_with_a_problem_per_row(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    rows = [
        {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 30},
        {"kategori": "XXX", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3},
        {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "kemarin", "nilai": 3},
    ]
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": rows})
    problem = refused.get_json()
    assert refused.status_code == 400 and refused.content_type == "application/problem+json"
    assert [(p["baris"], p["kolom"]) for p in problem["masalah"]] == [(2, "kategori"), (3, "periode")]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AggregateValue)) == 0
    stored = api("POST", "/api/v1/agency-figures", token, json={"baris": rows[:1]})
    assert stored.status_code == 201 and stored.get_json()["instansi"] == "DP3AP2KB"


def test_a_determination_waits_for_agency_figures_already_checked_against_it(
    db, issue_token, api, monkeypatch, is_postgresql
):
    """The post checks that the year is not determined under the province's lock, which the head's
    freeze takes too: a freeze cannot commit between the check and the figures' saving."""
    if not is_postgresql:
        pytest.skip("SQLite's writers take turns: no determination commits inside another writer's transaction")
    token = issue_token("65", ("angka-instansi",), can_write=True)
    checked, waited = agency_figures.refuse_determined_years, []

    def then_the_head_approves(session, values):
        checked(session, values)
        with pytest.raises(OperationalError, match="lock timeout"), db.transaction() as other:
            other.execute(text("SET LOCAL lock_timeout = '500ms'"))
            aggregates.one_rescan_at_a_time(other, {("LUT", "65")})  # the freeze's first step
        waited.append(True)

    monkeypatch.setattr(agency_figures, "refuse_determined_years", then_the_head_approves)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 41}
    assert api("POST", "/api/v1/agency-figures", token, json={"baris": [row]}).status_code == 201
    assert waited == [True]


def test_agency_figures_of_no_possible_year_or_sent_twice_are_refused_on_their_rows(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 30}
    rows = [{**row, "periode": "1900"}, {**row, "periode": "9999"}, row, {**row, "nilai": 31}]
    problem = api("POST", "/api/v1/agency-figures", token, json={"baris": rows}).get_json()
    assert [(p["baris"], p["kolom"]) for p in problem["masalah"]] == [(1, "periode"), (2, "periode"), (4, "periode")]
    assert "sudah ada di baris 3" in problem["masalah"][2]["pesan"]


def test_agency_figures_answer_with_the_gaps_flagged_and_the_trail_keeps_the_figure_replaced(db, issue_token, api):
    with db.transaction() as s:  # our own figure for the same region, category and period
        s.add(AggregateValue(region_kode="65.01", kategori="LUT", periode="2025", nilai=2, sumber="dinsos"))
    token = issue_token("65", ("angka-instansi", "agregat"), can_write=True)  # reads ours: hears of the gap
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 41}
    first = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]}).get_json()
    assert [f["rule"] for f in first["tanda"]] == ["selisih_instansi"]  # 41 against 2: the gap is named
    with db.read() as s:  # the steward reads 41 / 2 as people divide it, not the smoothed ratio that decides
        assert "(20,5 kali)" in s.scalar(select(QualityFlag.message).where(QualityFlag.rule == "selisih_instansi"))
    api("POST", "/api/v1/agency-figures", token, json={"baris": [{**row, "nilai": 50}]})
    with db.read() as s:
        trail = s.scalars(
            select(AuditEvent.after)
            .where(AuditEvent.action == AuditAction.AGENCY_FIGURES_IMPORTED)
            .order_by(AuditEvent.seq)
        ).all()
    assert [t["perubahan"] for t in trail] == [
        [["65.01", "LUT", "2025", "DP3AP2KB", None, 41]],
        [["65.01", "LUT", "2025", "DP3AP2KB", 41, 50]],
    ]


def test_desa_items_pass_the_import_checks_and_land_in_the_draft(world, db, issue_token, api):
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    path = "/api/v1/submissions/65.01.01.2005/2026-Q4/items"
    wrong = api("POST", path, token, json={"baris": [person_row(40, jenis_kelamin="L")]})
    assert wrong.status_code == 400 and wrong.get_json()["masalah"][0]["baris"] == 1
    added = api("POST", path, token, json={"baris": [person_row(40), person_row(41)]})
    assert added.status_code == 201 and added.get_json()["baru"] == 2
    again = api("POST", path, token, json={"baris": [person_row(40), person_row(41, alamat="Jl. Lain 9")]}).get_json()
    assert (again["baru"], again["diperbarui"], again["tidak_berubah"]) == (0, 1, 1)  # a resend is no change
    with db.read() as s:
        sources = s.scalars(select(SubmissionItem.source).where(SubmissionItem.submission_id == world.draft)).all()
    assert sorted(sources).count("api") == 2
    with db.read() as s:  # the token is the actor of the write
        actors = s.scalars(select(AuditEvent.actor).where(AuditEvent.action == AuditAction.SUBMISSION_IMPORTED)).all()
    assert f"token:{token.split('_')[1]}" in actors
    row = json.dumps({"baris": [person_row(43)]}).replace('"nama": "', '"nama": "\\ud83d', 1)
    items = select(func.count()).where(SubmissionItem.submission_id == world.draft)
    with db.read() as s:
        before = s.scalar(items)
    half = api("POST", path, token, data=row, content_type="application/json")  # an emoji cut in half by an app
    assert half.status_code == 400, half.get_json()  # refused on arrival, not a submission no page can show
    with db.read() as s:
        assert s.scalar(items) == before
    closed = api("POST", "/api/v1/submissions/65.01.01.2005/2026-Q3/items", token, json={"baris": [person_row(42)]})
    assert closed.status_code == 409
    missing = api("POST", "/api/v1/submissions/65.01.01.2005/2030-Q1/items", token, json={"baris": [person_row(42)]})
    assert missing.status_code == 404


def test_bad_input_is_a_problem_never_a_server_error(world, issue_token, api):
    token = issue_token(can_write=True)
    cases = [
        ("GET", "/api/v1/aggregates", {"query_string": {"page": 0}}, 400),
        ("GET", "/api/v1/aggregates", {"query_string": {"page_size": 100000}}, 400),
        ("GET", "/api/v1/aggregates", {"query_string": {"page": "dua"}}, 400),
        ("GET", "/api/v1/aggregates", {"query_string": {"halaman": 1}}, 400),
        ("GET", "/api/v1/aggregates", {"query_string": {"wilayah": "65\x00"}}, 400),
        ("POST", "/api/v1/agency-figures", {"json": {"baris": [], "lain": 1}}, 400),
        ("POST", "/api/v1/agency-figures", {"json": {"baris": [{"nilai": "tiga"}]}}, 400),
        ("POST", "/api/v1/agency-figures", {"data": "{not json", "content_type": "application/json"}, 400),
        (
            "POST",
            "/api/v1/agency-figures",
            {"data": '{"baris":' + "[" * 1000 + "]" * 1000 + "}", "content_type": "application/json"},
            400,
        ),  # nested past the stack
        ("POST", "/api/v1/agency-figures", {"data": {"baris": "1"}}, 415),  # a form is not an empty body
        ("POST", "/api/v1/agency-figures", {"data": b"x" * (3 * 1024 * 1024), "content_type": "application/json"}, 413),
        ("DELETE", "/api/v1/aggregates", {}, 405),
        ("GET", "/api/v1/records/99999999", {}, 404),
        ("GET", "/api/v1/aggregates", {"query_string": {"wilayah": "65.99"}}, 404),  # as verification-status says
        # a period never opened: not every desa owing a report it was never asked for
        ("GET", "/api/v1/verification-status", {"query_string": {"periode": "2031-Q1", "wilayah": "65.01.01"}}, 404),
        ("GET", "/api/v1/verification-status", {"query_string": {"periode": "2026", "wilayah": "65.01.01"}}, 404),
    ]
    for method, path, kw, status in cases:
        answer = api(method, path, token, **kw)
        body = answer.get_json()
        assert (answer.status_code, answer.content_type) == (status, "application/problem+json"), (path, kw, body)
        assert body["status"] == status and body["title"] and body["detail"]
    empty = api("POST", "/api/v1/agency-figures", token)  # no body, no content type: said as a field missing
    assert empty.status_code == 400 and empty.get_json()["masalah"][0]["pesan"] == "wajib diisi"
    half = '{"baris": [{"instansi": "Dinkes", "kode_wilayah": "65.01\\ud83d", "nilai": 1}]}'  # an emoji cut in half
    refused = api("POST", "/api/v1/agency-figures", token, data=half, content_type="application/json")
    assert refused.status_code == 400 and refused.get_json()["masalah"][0]["lokasi"] == "json"  # not a 500 later
    deep = '{"baris":' + "[" * 100_000 + "]" * 100_000 + "}"
    nested = api("POST", "/api/v1/agency-figures", token, data=deep, content_type="application/json").get_json()
    assert "wajib diisi" not in json.dumps(nested), nested  # the body was sent: it is refused as too deep
    unknown = api("GET", "/api/v1/aggregates", token, query_string={"halaman": 1}).get_json()
    assert unknown["masalah"] == [{"pesan": "kolom tidak dikenal", "lokasi": "query", "kolom": "halaman"}]


def test_the_openapi_document_and_its_docs_page(app, api):
    spec = api("GET", "/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/aggregates" in spec["paths"]
    page = api("GET", "/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui-dist/swagger-ui-bundle.js" in page.data
    bundle = api("GET", "/vendor/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    bundle.close()


def _determine(db, world):
    from datetime import date

    from engine.verification import cycles, determinations

    cycles.open_cycle(db, SYSTEM, "2026-S2", region="65.02.01")  # Malinau's desa asked, none reported
    cycles.close_cycle(db, SYSTEM, "2026-S2", early=True)
    with db.transaction() as s:
        aggregates.snapshot_records(s, SYSTEM, "2026", "65")  # the year's figures, as the reconciliation stores them
        approval = determinations.Approval("65", 2026, "188.44/1/2027", date(2027, 1, 15))
        return determinations.freeze(s, SYSTEM, approval).content_hash


def test_determinations_are_published_with_their_hash_figures_in_the_token_region_and_exports(
    world, db, issue_token, api
):
    digest = _determine(db, world)
    regency = issue_token("65.01", ("penetapan",))
    listed = api("GET", "/api/v1/determinations", regency)
    assert listed.status_code == 200
    (first,) = listed.get_json()["data"]
    assert first["hash"] == digest and first["decree"] == {"nomor": "188.44/1/2027", "tanggal": "2027-01-15"}
    assert first["hash_sah"] is None  # a list does not read each frozen content to check it
    again = api("GET", "/api/v1/determinations", regency, headers={"If-None-Match": listed.headers["ETag"]})
    assert again.status_code == 304
    year = api("GET", "/api/v1/determinations/2026", regency).get_json()
    assert year["data"] and all(f["wilayah"].startswith("65.01") for f in year["data"])
    assert {"wilayah": "65.01", "kategori": "LUT", "nilai": 1} in year["data"]
    assert [c["kode"] for c in year["kelengkapan"]] == ["65.01"]  # its region's reporting only: not Malinau's
    assert year["hash_sah"] is True
    malinau = api("GET", "/api/v1/determinations/2026", issue_token("65.02.01", ("penetapan",))).get_json()
    (reported,) = malinau["kelengkapan"]  # a kecamatan's token reads its regency's
    assert reported["kode"] == "65.02" and reported["melapor"] == 0 and reported["diharapkan"] > 0
    published = api("GET", "/api/v1/aggregates", issue_token("65.01", ("agregat",)), query_string={"periode": "2026"})
    statuses = {(f["kode_wilayah"], f["kode_kategori"]): f["status"] for f in published.get_json()["data"]}
    assert statuses[("65.01", "LUT")] == "ditetapkan", statuses
    refused = api("GET", "/api/v1/determinations/2026/export/csv", regency)  # the whole province: not its region
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    province = issue_token("65", ("penetapan",))
    exported = api("GET", "/api/v1/determinations/2026/export/csv", province)
    assert exported.status_code == 200 and digest in exported.get_data(as_text=True)
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert api("GET", "/api/v1/determinations/2031", province).status_code == 404
    assert api("GET", "/api/v1/determinations", issue_token("65", ("agregat",))).status_code == 403


def test_an_agency_posting_figures_hears_only_of_flags_on_figures_it_may_read(db, issue_token, api):
    """A regency's health office sends its ODHA count. A token that does not read our figures hears of
    no flag at all: sending value after value, it would find ours where the flag stops. A token that
    reads them hears of its regency's own (published from the regency up), never of a desa's, nor of
    other regencies' or of the provincial health office's figures."""
    with db.transaction() as s:
        for code, ours, theirs in (("65.01", 2, None), ("65.02", 1, 2), ("65.03", 5, 9), ("65.01.01.2005", 3, None)):
            s.add(AggregateValue(region_kode=code, kategori="ODHA", periode="2025", nilai=ours, sumber="dinsos"))
            if theirs is not None:
                s.add(AggregateValue(region_kode=code, kategori="ODHA", periode="2025", nilai=theirs, sumber="Dinkes"))
    token = issue_token("65.01", ("angka-instansi",), can_write=True, instansi="Dinkes")
    row = {"kategori": "ODHA", "kode_wilayah": "65.01", "periode": "2025", "nilai": 60}
    desa = {**row, "kode_wilayah": "65.01.01.2005"}
    for value in (0, 3, 60):
        sent = api(
            "POST", "/api/v1/agency-figures", token, json={"baris": [{**row, "nilai": value}, {**desa, "nilai": value}]}
        )
        assert sent.status_code == 201 and sent.get_json()["tanda"] == []
    reader = issue_token("65.01", ("angka-instansi", "agregat"), can_write=True, instansi="Dinkes")
    seen = api("POST", "/api/v1/agency-figures", reader, json={"baris": [{**row, "nilai": 61}, {**desa, "nilai": 61}]})
    flags = seen.get_json()["tanda"]
    assert {f["region_kode"] for f in flags} == {"65.01"}  # the desa's sensitive count: not published
    assert [f["sources"].get("nilai_kita") for f in flags] == [2] * len(flags) and flags
