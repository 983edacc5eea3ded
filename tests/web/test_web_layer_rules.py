"""The web layer's own rules, which no use case of the engine decides: the headers every page carries,
the session cookie over HTTPS, how long a form stays good, the size of an upload, the way back after
signing in, the auditor's comparison of process versions, refusals told in Indonesian with their
status, and the API's answers: kept off shared caches, refusals as problem documents, the bearer
scheme read in any case, pages and values bounded, a download named as one."""

from __future__ import annotations

import dataclasses
import time
from datetime import date

import flask_wtf.csrf
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from engine.quality import aggregates
from engine.verification import determinations
from tests.factories import PASSWORD, SYSTEM, person_row
from web.app import create_app

HOUR = 3600


def _later(seconds: int) -> type[URLSafeTimedSerializer]:
    """A serializer that reads its tokens `seconds` from now, as a form sent that much later would be read."""

    class Later(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) + seconds

    class Serializer(URLSafeTimedSerializer):
        default_signer = Later

    return Serializer


def test_every_page_keeps_out_of_other_sites_frames_and_sniffing(browser):
    headers = browser.get("/masuk").headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_goes_only_over_https_when_served_over_https(db, people):
    secure = create_app(dataclasses.replace(db.settings, https=True), db, testing=True)
    cookie = secure.test_client().get("/masuk").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    plain = create_app(db.settings, db, testing=True)
    assert "Secure" not in plain.test_client().get("/masuk").headers["Set-Cookie"]


def test_a_form_left_open_more_than_eight_hours_is_refused_as_expired(browser, people, monkeypatch):
    token = browser.token()
    form = {"username": "verif.kab", "password": PASSWORD, "csrf_token": token}
    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", _later(9 * HOUR))
    refused = browser.client.post("/masuk", data=form)
    assert refused.status_code == 400 and "Formulir kedaluwarsa" in refused.get_data(as_text=True)
    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", _later(7 * HOUR))
    assert browser.client.post("/masuk", data=form).status_code == 302


def test_an_upload_over_20_mb_is_refused_with_its_own_page(signed_in, world):
    operator = signed_in("op.desa")
    token = operator.token(f"/desa/pengajuan/{world.draft}/impor")
    part = f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
    part += '--b\r\nContent-Disposition: form-data; name="berkas"; filename="besar.csv"\r\n\r\n'
    body = part.encode() + b"x" * (20 * 1024 * 1024) + b"\r\n--b--\r\n"
    refused = operator.client.post(
        f"/desa/pengajuan/{world.draft}/impor", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert refused.status_code == 413 and "Berkas melebihi batas unggahan (20 MB)" in refused.get_data(as_text=True)


def test_api_reads_are_private_and_peoples_records_are_never_stored(world, issue_token, api):
    token = issue_token()
    figures = api("GET", "/api/v1/aggregates", token)
    assert figures.status_code == 200 and figures.headers["Cache-Control"] == "private, no-cache"
    records = api("GET", "/api/v1/records", token)
    assert records.status_code == 200 and records.headers["Cache-Control"] == "no-store"


def test_the_verification_status_names_the_tokens_region_when_none_is_asked(world, issue_token, api):
    answer = api("GET", "/api/v1/verification-status", issue_token("65.01"), query_string={"periode": "2026-Q4"})
    assert answer.status_code == 200 and answer.get_json()["wilayah"] == "65.01"


def test_a_determination_exported_through_the_api_is_a_download(world, db, issue_token, api):
    with db.transaction() as s:
        aggregates.snapshot_records(s, SYSTEM, "2026", "65")
        determinations.freeze(s, SYSTEM, determinations.Approval("65", 2026, "188.44/1/2027", date(2027, 1, 15)))
    exported = api("GET", "/api/v1/determinations/2026/export/csv", issue_token("65", ("penetapan",)))
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith('attachment; filename="penetapan-2026')


def test_an_api_page_holds_at_most_500_rows_and_its_number_is_bounded(world, issue_token, api):
    token = issue_token()
    for query in ({"page_size": 500}, {"page": 100_000}):
        assert api("GET", "/api/v1/aggregates", token, query_string=query).status_code == 200, query
    for query, field in (
        ({"page_size": 501}, "page_size"),
        ({"page": 100_001}, "page"),
        ({"page_size": 0}, "page_size"),
    ):
        refused = api("GET", "/api/v1/aggregates", token, query_string=query)
        assert refused.status_code == 400 and refused.content_type == "application/problem+json"
        assert [p["kolom"] for p in refused.get_json()["masalah"]] == [field]


def test_an_api_refusal_is_a_problem_document_naming_its_status_and_address(world, issue_token, api):
    token = issue_token()
    missing = api("GET", "/api/v1/aggregates", token, query_string={"wilayah": "65.99"})
    body = missing.get_json()
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"
    assert (body["type"], body["title"], body["status"]) == ("about:blank", "Tidak ditemukan", 404)
    assert body["instance"] == "/api/v1/aggregates" and body["detail"]
    unsigned = api("GET", "/api/v1/aggregates").get_json()
    assert (unsigned["title"], unsigned["status"]) == ("Perlu token yang sah", 401)
    wrong_method = api("DELETE", "/api/v1/aggregates", token)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["title"] == "Metode tidak didukung"


def test_the_api_reads_the_bearer_scheme_in_any_case(world, issue_token, api):
    token = issue_token()
    for scheme in ("bearer", "BEARER"):
        answer = api("GET", "/api/v1/aggregates", headers={"Authorization": f"{scheme} {token}"})
        assert answer.status_code == 200, scheme


def test_a_wrong_role_and_a_missing_page_are_told_in_indonesian(signed_in, world):
    operator = signed_in("op.desa")
    refused = operator.get("/admin/")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Tidak diizinkan" in page and "Peran Anda tidak membuka halaman ini." in page
    missing = operator.get("/halaman-yang-tidak-ada")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "Halaman atau data ini tidak ada di wilayah Anda." in page


def test_a_form_address_opened_as_a_page_says_so_and_names_its_method(signed_in, world):
    typed = signed_in("verif.kab").get("/keluar")
    assert typed.status_code == 405 and set(typed.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert "Alamat ini untuk mengirim formulir" in typed.get_data(as_text=True)


def _refused_fields(answer) -> list[tuple[int | None, str | None]]:
    assert answer.status_code == 400 and answer.content_type == "application/problem+json", answer.get_json()
    return [(p.get("baris"), p.get("kolom")) for p in answer.get_json()["masalah"]]


def test_an_agencys_figure_is_a_whole_number_from_0_to_10_million(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025"}
    for nilai in (-1, 10_000_001, "3", 2.5):
        refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [{**row, "nilai": nilai}]})
        assert _refused_fields(refused) == [(1, "baris.nilai")], nilai
    stored = api("POST", "/api/v1/agency-figures", token, json={"baris": [{**row, "nilai": 10_000_000}]})
    assert stored.status_code == 201


def test_a_desas_item_sent_through_the_api_has_no_control_characters(world, issue_token, api):
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    path = "/api/v1/submissions/65.01.01.2005/2026-Q4/items"
    refused = api("POST", path, token, json={"baris": [person_row(40, nama="Siti\x07Aminah")]})
    assert _refused_fields(refused) == [(1, "baris.nama")]
    assert refused.get_json()["masalah"][0]["pesan"] == "tidak boleh berisi karakter kendali"


def test_a_search_by_nik_needs_all_16_digits(world, issue_token, api):
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    short = api("POST", "/api/v1/records/search", token, json={"nik": person_row(7)["nik"][:15]})
    assert _refused_fields(short) == [(None, "nik")]


def test_the_verification_status_needs_a_period_and_figures_a_known_tier(world, issue_token, api):
    token = issue_token()
    assert _refused_fields(api("GET", "/api/v1/verification-status", token)) == [(None, "periode")]
    bad_tier = api("GET", "/api/v1/aggregates", token, query_string={"tingkat": "negara"})
    assert _refused_fields(bad_tier) == [(None, "tingkat")]


def test_an_api_refusal_names_at_most_200_problems(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": -1}
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [row] * 250})
    assert refused.status_code == 400 and len(refused.get_json()["masalah"]) == 200


def test_a_list_page_number_beyond_100000_is_refused(signed_in, world):
    verifier = signed_in("verif.kab")
    assert verifier.get("/tugas/?halaman=100000").status_code == 200
    assert verifier.get("/tugas/?halaman=100001").status_code == 400


def test_the_auditor_compares_process_versions_as_the_administrator_does(signed_in, world):
    for username in ("auditor.prov", "admin.prov"):
        assert signed_in(username).get("/admin/definisi/banding").status_code == 200, username
    assert signed_in("verif.kab").get("/admin/definisi/banding").status_code == 403


def test_a_person_asked_to_sign_in_comes_back_to_the_page_they_asked_for(browser, people):
    asked = browser.get("/tugas/?halaman=1")
    assert asked.status_code == 302 and "next=" in asked.headers["Location"]
    form = {"username": "verif.kab", "password": PASSWORD, "csrf_token": browser.token(asked.headers["Location"])}
    back = browser.client.post(asked.headers["Location"], data=form)
    assert back.status_code == 302 and back.headers["Location"] == "/tugas/?halaman=1"
