"""Rules of the exchange API that an agency's system meets and no other test pins: the bounds and shapes of
its query and body fields, the problem documents it answers with (titles, details, each fault named in
Indonesian), what a write answers, how a token is read from the `Authorization` header, and that
guessing without a token is slowed per address, not for everyone at once."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.quality import aggregates
from engine.verification import determinations, exchange
from models import AuditEvent
from tests.factories import SYSTEM, person_row, store_history

ITEMS = "/api/v1/submissions/65.01.01.2005/2026-Q4/items"
FIGURE = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3}


def _problems(answer) -> list[tuple[int | None, str | None, str]]:
    """A refusal's faults as (row, field, message)."""
    assert answer.status_code == 400 and answer.content_type == "application/problem+json", answer.get_json()
    return [(p.get("baris"), p.get("kolom"), p["pesan"]) for p in answer.get_json()["masalah"]]


# --- query fields: bounds and shapes -------------------------------------------------------------------


def test_records_changed_since_take_a_moment_from_1900_to_2100_with_its_zone(world, issue_token, api):
    """`diperbarui_sejak` holds years 1900 to 2100 inclusive and must name its zone."""
    token = issue_token("65.01", ("catatan",))
    for moment in ("1900-01-01T00:00:00+00:00", "2100-12-31T23:59:59+00:00"):
        answer = api("GET", "/api/v1/records", token, query_string={"diperbarui_sejak": moment})
        assert answer.status_code == 200, (moment, answer.get_json())
    for moment in ("1899-12-31T23:59:59+00:00", "2101-01-01T00:00:00+00:00"):
        refused = api("GET", "/api/v1/records", token, query_string={"diperbarui_sejak": moment})
        assert _problems(refused) == [(None, "diperbarui_sejak", "tahun 1900 sampai 2100")], moment
    naive = api("GET", "/api/v1/records", token, query_string={"diperbarui_sejak": "2026-10-01T00:00:00"})
    assert _problems(naive) == [
        (None, "diperbarui_sejak", "harus waktu ISO 8601 dengan zona waktu, mis. 2026-10-01T00:00:00+08:00")
    ]


def test_a_page_has_100_rows_unless_asked_and_a_page_number_is_a_whole_number(world, issue_token, api):
    """The default page is the first, of 100 rows; a page number that is not a number is told so."""
    token = issue_token("65.01", ("agregat",))
    answer = api("GET", "/api/v1/aggregates", token)
    assert answer.get_json()["halaman"]["page"] == 1 and answer.get_json()["halaman"]["page_size"] == 100
    refused = api("GET", "/api/v1/aggregates", token, query_string={"page": "dua"})
    assert _problems(refused) == [(None, "page", "harus bilangan bulat")]


def test_a_region_code_in_a_query_has_the_kemendagri_shape(world, issue_token, api):
    """A desa's code has four digits after its kecamatan; a shorter one is a malformed code (400), not an
    unknown region (404), on the figures and on the records alike."""
    token = issue_token("65.01", ("agregat", "catatan"))
    for path in ("/api/v1/aggregates", "/api/v1/records"):
        for code in ("65.01.01.200", "65.1"):
            refused = api("GET", path, token, query_string={"wilayah": code})
            assert [(b, k) for b, k, _ in _problems(refused)] == [(None, "wilayah")], (path, code)


def test_a_period_and_a_category_in_a_query_have_their_shape(world, issue_token, api):
    """A quarter runs from Q1 to Q4; a category code is written in capitals."""
    token = issue_token("65.01", ("agregat",))
    for query in ({"periode": "2026-Q5"}, {"kategori": "lut"}):
        refused = api("GET", "/api/v1/aggregates", token, query_string=query)
        assert [k for _, k, _ in _problems(refused)] == list(query), query
    assert api("GET", "/api/v1/aggregates", token, query_string={"periode": "2026-Q4"}).status_code == 200


def test_a_refused_choice_names_the_choices_in_indonesian(world, issue_token, api):
    """An unknown tier is answered with the tiers one may choose from."""
    refused = api("GET", "/api/v1/aggregates", issue_token(), query_string={"tingkat": "negara"})
    ((_, _, said),) = _problems(refused)
    assert said.startswith("pilih salah satu dari: ") and "kabupaten" in said and "Must" not in said


# --- bodies: bounds and shapes -------------------------------------------------------------------------


def test_a_post_without_rows_is_refused_on_its_rows(db, issue_token, api):
    """`baris` holds 1 to 5000 rows: an empty list is a fault of the body, nothing is stored."""
    token = issue_token("65", ("angka-instansi",), can_write=True)
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": []})
    assert _problems(refused) == [(None, "baris", f"1 sampai {exchange.MAX_ROWS} baris")]


def test_a_desas_item_names_each_missing_or_overlong_field(world, issue_token, api):
    """The name is required and at most 160 characters; the address at most 2,000, as on the form and in a file."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    nameless = {k: v for k, v in person_row(40).items() if k != "nama"}
    assert _problems(api("POST", ITEMS, token, json={"baris": [nameless]})) == [(1, "baris.nama", "wajib diisi")]
    long_name = api("POST", ITEMS, token, json={"baris": [person_row(40, nama="A" * 161)]})
    assert _problems(long_name) == [(1, "baris.nama", "paling banyak 160 karakter")]
    long_address = api("POST", ITEMS, token, json={"baris": [person_row(40, alamat="A" * 2001)]})
    assert _problems(long_address) == [(1, "baris.alamat", "paling banyak 2000 karakter")]


def test_an_agencys_region_code_is_at_most_13_characters(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {**FIGURE, "kode_wilayah": "65.01.01.20055"}
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]})
    assert _problems(refused) == [(1, "baris.kode_wilayah", "paling banyak 13 karakter")]


def test_a_tab_is_text_but_every_other_control_character_is_refused(world, issue_token, api):
    """An address copied from a spreadsheet keeps its tab; the unit separator (\\x1f) is a control character."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    refused = api("POST", ITEMS, token, json={"baris": [person_row(40, nama="Siti\x1fAminah")]})
    assert _problems(refused) == [(1, "baris.nama", "tidak boleh berisi karakter kendali")]
    taken = api("POST", ITEMS, token, json={"baris": [person_row(40, keterangan="musdes\t2026")]})
    assert taken.status_code == 201, taken.get_json()


def test_a_row_that_is_not_an_object_is_named_by_its_row_and_list(db, issue_token, api):
    """A row sent as a number is told as `baris` row 1, not by the schema's inner name."""
    token = issue_token("65", ("angka-instansi",), can_write=True)
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [1]})
    assert [(b, k) for b, k, _ in _problems(refused)] == [(1, "baris")]
    whole = api("POST", "/api/v1/agency-figures", token, json=[FIGURE])  # the body itself not an object
    assert [(b, k) for b, k, _ in _problems(whole)] == [(None, None)]


# --- what a write answers ------------------------------------------------------------------------------


def test_agency_figures_answer_how_many_rows_came_and_how_many_are_new(db, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    rows = [{**FIGURE, "periode": "2024"}, FIGURE]
    first = api("POST", "/api/v1/agency-figures", token, json={"baris": rows}).get_json()
    assert (first["baris"], first["baru"]) == (2, 2)
    again = api("POST", "/api/v1/agency-figures", token, json={"baris": [rows[0], {**FIGURE, "nilai": 4}]}).get_json()
    assert (again["baris"], again["baru"]) == (2, 0)


def test_desa_items_answer_with_the_draft_they_landed_in(world, issue_token, api):
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    answer = api("POST", ITEMS, token, json={"baris": [person_row(40)]})
    assert answer.status_code == 201 and answer.get_json()["pengajuan"] == world.draft


def test_the_verification_status_names_the_region_asked_for(world, issue_token, api):
    """Asked for a kecamatan inside its regency, the answer names that kecamatan, not the token's region."""
    token = issue_token("65.01", ("status",))
    query = {"periode": "2026-Q4", "wilayah": "65.01.01"}
    body = api("GET", "/api/v1/verification-status", token, query_string=query).get_json()
    assert body["wilayah"] == "65.01.01" and body["data"]
    assert all(row["kode"].startswith("65.01.01.") for row in body["data"])


def _determined(db) -> None:
    store_history(db)
    with db.transaction() as s:
        aggregates.snapshot_records(s, SYSTEM, "2026", "65")
        determinations.freeze(s, SYSTEM, determinations.Approval("65", 2026, "188.44/1/2027", date(2027, 1, 15)))


def test_a_determination_export_is_a_typed_download_on_the_trail(world, db, issue_token, api):
    """Each format has its media type; every export through the API is recorded with the token as actor."""
    _determined(db)
    token = issue_token("65", ("penetapan",))
    types = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}
    for fmt, media in types.items():
        exported = api("GET", f"/api/v1/determinations/2026/export/{fmt}", token)
        assert exported.status_code == 200 and exported.mimetype == media, fmt
        assert exported.headers["Content-Disposition"].startswith("attachment;")
    with db.read() as s:
        trail = s.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.DETERMINATION_EXPORTED).order_by(AuditEvent.seq)
        ).all()
    assert [(e.after["format"], e.actor) for e in trail] == [(f, f"token:{token.split('_')[1]}") for f in types]


# --- problem documents ---------------------------------------------------------------------------------


def test_refusals_carry_indonesian_titles_and_details(world, issue_token, api):
    """A resource the token does not hold, a closed period, a form for a body, a body too large, an
    address that is not the API's: each is titled and told in Indonesian."""
    reader = issue_token("65.01", ("agregat",))
    forbidden = api("GET", "/api/v1/records", reader).get_json()
    assert (forbidden["status"], forbidden["title"]) == (403, "Tidak diizinkan")
    writer = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    closed = api("POST", "/api/v1/submissions/65.01.01.2005/2026-Q3/items", writer, json={"baris": [person_row(42)]})
    assert (closed.status_code, closed.get_json()["title"]) == (409, "Konflik")
    form = api("POST", ITEMS, writer, data={"baris": "1"}).get_json()
    assert (form["title"], form["detail"]) == ("Jenis isi tidak didukung", "Kirim isi sebagai application/json.")
    large = api("POST", ITEMS, writer, data=b"x" * (3 * 1024 * 1024), content_type="application/json").get_json()
    assert (large["title"], large["detail"]) == ("Isi permintaan terlalu besar", "Isi permintaan melebihi batas API.")
    nowhere = api("GET", "/api/v1/tidak-ada", reader)
    assert nowhere.status_code == 404 and nowhere.content_type == "application/problem+json"
    assert nowhere.get_json()["detail"] == "Alamat atau data ini tidak ada di wilayah token ini."


def test_a_token_refused_a_resource_by_werkzeug_is_told_which(world, app, issue_token, api):
    """A 403 raised without the engine's words says that the token does not open the resource."""
    from werkzeug.exceptions import Forbidden

    def refuse():
        raise Forbidden()

    app.add_url_rule("/api/v1/_uji_larang", "api_uji_larang", refuse)
    refused = api("GET", "/api/v1/_uji_larang", issue_token()).get_json()
    assert (refused["title"], refused["detail"]) == ("Tidak diizinkan", "Token ini tidak membuka sumber daya ini.")


def test_a_refused_rate_is_titled_and_kept_off_every_cache(world, issue_token, api):
    token = issue_token(rate_limit="1/minute")
    assert api("GET", "/api/v1/aggregates", token).status_code == 200
    refused = api("GET", "/api/v1/aggregates", token)
    assert refused.status_code == 429 and refused.get_json()["title"] == "Terlalu banyak permintaan"
    assert refused.headers["Cache-Control"] == "no-store"


def test_a_server_fault_is_a_problem_that_tells_nothing_of_its_cause_and_is_logged(
    world, issue_token, api, monkeypatch, caplog
):
    """The agency reads a fixed sentence; the cause is in the server's log for the admin."""

    def broken(*args, **kwargs):
        raise RuntimeError("kolom rahasia_internal hilang")

    monkeypatch.setattr(exchange, "figures", broken)
    with caplog.at_level(logging.ERROR, logger="web.api.problems"):
        answer = api("GET", "/api/v1/aggregates", issue_token())
    body = answer.get_json()
    assert answer.status_code == 500 and answer.content_type == "application/problem+json"
    assert body["detail"].startswith("Terjadi galat pada server") and "rahasia" not in answer.get_data(as_text=True)
    assert any("galat API pada GET /api/v1/aggregates" in r.getMessage() for r in caplog.records)


# --- the token in the Authorization header -------------------------------------------------------------


def test_an_empty_bearer_is_told_to_send_a_token(db, api):
    for header in ("Bearer ", "Bearer    "):
        refused = api("GET", "/api/v1/aggregates", headers={"Authorization": header})
        assert refused.status_code == 401
        assert refused.get_json()["detail"] == "Kirim token instansi di kepala Authorization: Bearer <token>"


def test_a_token_is_read_past_extra_spaces_and_only_under_the_bearer_scheme(db, issue_token, api):
    token = issue_token()
    spaced = api("GET", "/api/v1/aggregates", headers={"Authorization": f"Bearer  {token} "})
    assert spaced.status_code == 200
    for scheme in ("Basic", "Token"):
        refused = api("GET", "/api/v1/aggregates", headers={"Authorization": f"{scheme} {token}"})
        assert refused.status_code == 401, scheme


def test_guessing_without_a_token_is_slowed_per_address_not_for_everyone(db, api):
    """One address guessing past its 30 a minute does not lock out another agency's address."""
    guesser, other = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    answers = [api("GET", "/api/v1/aggregates", "sjk_00000000_tebakan", environ_base=guesser) for _ in range(31)]
    assert answers[-1].status_code == 429
    assert api("GET", "/api/v1/aggregates", "sjk_00000000_tebakan", environ_base=other).status_code == 401
