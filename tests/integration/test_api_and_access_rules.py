# ruff: noqa: F811 (the imported fixtures are named again as test parameters)
"""Rules an agency's system and a person at a page meet and no other test pins: how long each field of a
desa's item and of an agency's figure may be, which characters no text may carry, which addresses are
not the API's at all, what a resend of items is told, how long a client is told to wait, and on the
pages: a way back that stays on this site, the notification boxes left unticked, marking notices
read without naming one, and the reminder a cycle's rhythm keeps when none is typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from models import CycleRhythm, NotificationPreference
from tests.factories import person_row

# the web fixtures of tests/web, used here as the tests there use them
from tests.web.conftest import api, app, browser, issue_token, signed_in, world  # noqa: F401
from tests.web.test_api_mutation_rules import _problems  # a refusal's faults as (row, field, message)
from web.api import problems

ITEMS = "/api/v1/submissions/65.01.01.2005/2026-Q4/items"
NO_ADDRESS = problems.DETAILS[404]


# --- the exchange API: bodies ---------------------------------------------------------------------------


def test_a_desa_resending_its_items_hears_how_many_came_back_unchanged_and_how_many_changed(world, issue_token, api):
    """The answer counts a row sent again exactly apart from one sent again with a new value."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    rows = [person_row(40), person_row(41), person_row(42)]
    assert api("POST", ITEMS, token, json={"baris": rows}).status_code == 201
    resent = api("POST", ITEMS, token, json={"baris": rows}).get_json()
    assert (resent["baris"], resent["baru"], resent["diperbarui"], resent["tidak_berubah"]) == (3, 0, 0, 3)
    changed = [person_row(40, alamat="Jl. Lain 9"), person_row(41, alamat="Jl. Lain 10"), person_row(42)]
    again = api("POST", ITEMS, token, json={"baris": changed}).get_json()
    assert (again["baris"], again["baru"], again["diperbarui"], again["tidak_berubah"]) == (3, 0, 2, 1)


@pytest.mark.parametrize("character", ["\r", "\n", "\x00"])
def test_a_line_break_or_carriage_return_in_a_persons_name_is_refused_as_a_control_character(
    world, issue_token, api, character
):
    """A name pasted with a line break would split the register's CSV exports and pages: only a tab is text."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    refused = api("POST", ITEMS, token, json={"baris": [person_row(40, nama=f"Siti{character}Aminah")]})
    assert _problems(refused) == [(1, "baris.nama", "tidak boleh berisi karakter kendali")]


@pytest.mark.parametrize(
    ("field", "longest"),
    [("nik", 16), ("no_kk", 16), ("jenis_kelamin", 1), ("tanggal_lahir", 10), ("kategori", 10), ("keterangan", 2000)],
)
def test_each_field_of_a_desas_item_is_refused_past_its_length_before_any_check_of_its_content(
    world, issue_token, api, field, longest
):
    """The API names the bound itself (`paling banyak N karakter`), the same for every agency's system."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    row = person_row(40, **{field: "1" * (longest + 1)})
    refused = api("POST", ITEMS, token, json={"baris": [row]})
    assert _problems(refused) == [(1, f"baris.{field}", f"paling banyak {longest} karakter")]


@pytest.mark.parametrize(("field", "too_long"), [("kategori", "AKTKAKTKAKT"), ("periode", "2025-Q1-Q2x")])
def test_an_agencys_category_and_period_are_refused_past_ten_characters(db, issue_token, api, field, too_long):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3, field: too_long}
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]})
    assert _problems(refused) == [(1, f"baris.{field}", "paling banyak 10 karakter")]


# --- the exchange API: queries --------------------------------------------------------------------------


def test_a_region_code_ending_in_a_line_break_is_refused_for_its_shape_as_well(world, issue_token, api):
    """`65.01` followed by a newline is no Kemendagri code: both faults are named, not only the character."""
    token = issue_token("65.01", ("agregat",))
    refused = api("GET", "/api/v1/aggregates", token, query_string={"wilayah": "65.01\n"})
    assert _problems(refused) == [
        (None, "wilayah", "tidak boleh berisi karakter kendali"),
        (None, "wilayah", "kode wilayah Kemendagri, mis. 65.01 atau 65.01.01.2005"),
    ]


# --- the exchange API: addresses that are not the API's -------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/submissions/65.01.01.2005/2026-Q5/items",
        "/api/v1/submissions/65.01.01.2005/2026-S3/items",
        "/api/v1/submissions/65.01.01.205/2026-Q4/items",
        "/api/v1/submissions/65.01.01.2005/26-Q4/items",
    ],
)
def test_items_sent_to_a_period_or_desa_that_cannot_exist_are_sent_to_no_address(world, issue_token, api, path):
    """A fifth quarter or a three-digit desa is not the address of any draft: the API says the address is
    not there, rather than looking for a draft of it."""
    token = issue_token("65.01.01.2005", ("pengajuan",), can_write=True)
    refused = api("POST", path, token, json={"baris": [person_row(40)]})
    assert refused.status_code == 404 and refused.get_json()["detail"] == NO_ADDRESS


@pytest.mark.parametrize("path", ["/api/v1/determinations/1999", "/api/v1/determinations/2101/export/csv"])
def test_a_determination_year_before_2000_or_after_2100_is_no_address(db, issue_token, api, path):
    refused = api("GET", path, issue_token("65", ("penetapan",)))
    assert refused.status_code == 404 and refused.get_json()["detail"] == NO_ADDRESS


@pytest.mark.parametrize("record_id", ["0", "2147483648"])
def test_a_record_number_outside_the_registers_ids_is_no_address(db, issue_token, api, record_id):
    refused = api("GET", f"/api/v1/records/{record_id}", issue_token("65.01", ("catatan",)))
    assert refused.status_code == 404 and refused.get_json()["detail"] == NO_ADDRESS


def test_a_client_slowed_without_a_known_window_is_told_to_wait_a_minute(world, app, issue_token, api):
    """A 429 raised without the limiter's window still tells the agency's script how long to wait."""

    def busy():
        raise TooManyRequests()

    app.add_url_rule("/api/v1/_uji_sibuk", "api_uji_sibuk", busy)
    refused = api("GET", "/api/v1/_uji_sibuk", issue_token())
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert refused.get_json()["title"] == "Terlalu banyak permintaan"


# --- the pages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/masuk\x7f", "/tugas/\x7f/"])
def test_a_way_back_carrying_a_delete_character_goes_to_the_home_page(browser, people, target):
    """A browser drops control characters inside an address, DEL (127) among them: not a local path."""
    sent = browser.post("/bahasa", {"lang": "id", "next": target}, token_from="/masuk")
    assert sent.status_code == 302 and sent.headers["Location"] == "/"


def test_a_notification_box_sent_with_any_value_but_ticked_stays_off(signed_in, db, people):
    """Only a ticked box (`1`) turns a way of being told on; `0` or an empty value leave it off."""
    verifier = signed_in("verif.kec")
    boxes = {"task.created:email": "0", "task.created:ringkasan": "", "task.overdue:email": "1"}
    assert verifier.post("/notifikasi/preferensi", boxes, token_from="/notifikasi/preferensi").status_code == 302
    page = verifier.get("/notifikasi/preferensi").get_data(as_text=True)
    assert 'name="task.overdue:email" value="1" checked' in page
    assert 'name="task.created:email" value="1" checked' not in page
    assert 'name="task.created:ringkasan" value="1" checked' not in page
    with db.read() as s:
        chosen = {(p.event_type, p.channel): p.enabled for p in s.scalars(select(NotificationPreference))}
    assert chosen[("task.created", "email")] is False and chosen[("task.overdue", "email")] is True


def test_marking_notices_read_with_a_blank_number_marks_them_all(signed_in, people):
    """The button "tandai semua dibaca" sends an empty or blank `id`: every notice, not a refusal."""
    verifier = signed_in("verif.kec")
    for blank in ("", "   "):
        sent = verifier.post("/notifikasi/baca", {"id": blank, "ke": "/tugas/"}, token_from="/notifikasi/")
        assert sent.status_code == 302 and sent.headers["Location"] == "/tugas/", blank


def test_a_rhythm_saved_without_its_reminder_reminds_three_days_before_a_deadline(signed_in, db, people):
    admin = signed_in("admin.prov")
    form = {"ritme": "triwulan", "hari_buka": "5", "batas_desa": "20", "batas_kecamatan": "30"}
    form |= {"batas_kabupaten": "40", "batas_provinsi": "50"}
    assert admin.post("/siklus/ritme", form, token_from="/siklus/").status_code == 302
    with db.read() as s:
        rhythm = s.scalar(select(CycleRhythm))
    assert (rhythm.batas_provinsi, rhythm.pengingat_hari) == (50, 3)
