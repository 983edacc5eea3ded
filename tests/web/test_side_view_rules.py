"""What the side pages do around their use cases, each rule with a test that fails without it: the
quality dashboard's flag actions (where they return to, what they say), the cycle's rhythm, the agency
figures' and the regions' pages (status codes and flashes), the bell, the manual's links and the
auditor's pages. Each test was checked against a hand-made mutation of the view it guards."""

from __future__ import annotations

import html
import io
import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from engine.core import clock
from engine.core.actors import Actor
from engine.verification import agency_listing, cycles, late_tasks, region_updates, trail
from models import AuditEvent, CycleRhythm, HumanTask, Notification, QualityFlag, User
from tests.factories import (
    SYSTEM,
    build_world,
    open_with_items,
    region_flag,
    store_history,
    submit,
    verified_records,
)
from tests.regions import as_csv, listing, regions_restored  # noqa: F401  (the fixture)
from web.views import audit as audit_pages
from web.views import help as manual

FLASH = re.compile(r'<p class="flash (\w+)">([^<]*)</p>')


def _flashes(response) -> list[tuple[str, str]]:
    """The flash messages of a page, as (kind, text)."""
    return [(kind, html.unescape(text)) for kind, text in FLASH.findall(response.get_data(as_text=True))]


# --- the quality dashboard: settling a flag ---------------------------------------------------------


def test_a_settled_flag_says_so_on_the_page_it_returns_to(db, people, signed_in):
    flag = region_flag(db)
    regency = signed_in("verif.kab")
    done = regency.post(
        f"/mutu/tanda/{flag}",
        {"aksi": "akui", "catatan": "sedang dicek", "status_dilihat": "terbuka", "kembali": "/mutu/"},
        token_from="/mutu/",
    )
    assert done.status_code == 302 and done.headers["Location"] == f"/mutu/#tanda-{flag}"
    assert ("ok", "Tindak lanjut tanda tersimpan.") in _flashes(regency.get("/mutu/"))


def test_a_return_address_with_its_own_anchor_is_kept_as_it_is(db, people, signed_in):
    flag = region_flag(db)
    done = signed_in("verif.kab").post(
        f"/mutu/tanda/{flag}",
        {
            "aksi": "akui",
            "catatan": "sedang dicek",
            "status_dilihat": "terbuka",
            "kembali": "/mutu/?status=semua#tanda",
        },
        token_from="/mutu/",
    )
    assert done.headers["Location"] == "/mutu/?status=semua#tanda"  # not a second anchor after the first


def test_settling_a_flag_never_returns_to_another_site(db, people, signed_in):
    flag = region_flag(db)
    done = signed_in("verif.kab").post(
        f"/mutu/tanda/{flag}",
        {"aksi": "akui", "catatan": "sedang dicek", "status_dilihat": "terbuka", "kembali": "https://contoh.invalid/"},
        token_from="/mutu/",
    )
    assert done.headers["Location"] == f"/mutu/#tanda-{flag}"


def test_an_unknown_action_returns_to_the_dashboard_at_the_flag_saying_why(db, people, signed_in):
    flag = region_flag(db)
    regency = signed_in("verif.kab")
    refused = regency.post(
        f"/mutu/tanda/{flag}",
        {"aksi": "hapus", "catatan": "x", "status_dilihat": "terbuka", "kembali": "/mutu/?status=semua"},
        token_from="/mutu/",
    )
    assert refused.status_code == 302 and refused.headers["Location"] == f"/mutu/#tanda-{flag}"  # the form unread
    said = _flashes(regency.get("/mutu/"))
    assert said and all(kind != "ok" for kind, _ in said) and any("jelaskan" in text for _, text in said)
    with db.read() as s:
        assert s.get(QualityFlag, flag).status == "terbuka"


def test_a_settled_flag_is_opened_again_from_the_status_it_was_seen_in(db, people, signed_in):
    flag = region_flag(db)
    regency = signed_in("verif.kab")
    form = {"catatan": "dicek lagi", "kembali": "/mutu/?status=semua"}
    regency.post(f"/mutu/tanda/{flag}", {**form, "aksi": "tutup", "status_dilihat": "terbuka"}, token_from="/mutu/")
    regency.post(f"/mutu/tanda/{flag}", {**form, "aksi": "buka", "status_dilihat": "selesai"}, token_from="/mutu/")
    with db.read() as s:
        assert s.get(QualityFlag, flag).status == "terbuka"
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "quality_flag")).all()
    assert sorted(actions) == ["FLAG_CLOSED", "FLAG_REOPENED"]


def test_the_trend_series_explains_its_flags_in_the_pages_language(db, people, signed_in):
    store_history(db)
    regency = signed_in("verif.kab")
    regency.post("/bahasa", {"lang": "en", "next": "/mutu/"}, token_from="/mutu/")
    flags = regency.get("/mutu/seri?wilayah=65.01&kategori=LUT").get_json()["flags"]
    assert any("DP3AP2KB records 30" in m for m in flags["2025"])  # not the engine's Indonesian
    assert not any("mencatat" in m for m in flags["2025"])


# --- the bell ---------------------------------------------------------------------------------------


def _notify(db, username="op.desa", n=2) -> list[int]:
    """`n` unread notifications in the bell of `username`, each pointing at the desa's page."""
    with db.transaction() as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        rows = [
            Notification(user_id=user_id, event_type="cycle.opened", judul=f"Siklus {k}", isi="dibuka", tautan="/desa/")
            for k in range(n)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _unread(db, ids) -> list[int]:
    with db.read() as s:
        return sorted(
            s.scalars(select(Notification.id).where(Notification.id.in_(ids), Notification.read_at.is_(None)))
        )


def test_opening_one_notification_marks_only_it_read_and_goes_where_it_points(db, people, signed_in):
    first, second = _notify(db)
    operator = signed_in("op.desa")
    opened = operator.post("/notifikasi/baca", {"id": first, "ke": "/desa/"}, token_from="/notifikasi/")
    assert opened.status_code == 302 and opened.headers["Location"] == "/desa/"
    assert _unread(db, [first, second]) == [second]


def test_a_notification_never_leads_to_another_site(db, people, signed_in):
    (only,) = _notify(db, n=1)
    opened = signed_in("op.desa").post(
        "/notifikasi/baca", {"id": only, "ke": "https://contoh.invalid/desa/"}, token_from="/notifikasi/"
    )
    assert opened.headers["Location"] == "/notifikasi/"


def test_saved_preferences_return_to_their_page_and_say_so(db, people, signed_in):
    operator = signed_in("op.desa")
    saved = operator.post(
        "/notifikasi/preferensi",
        {"task.created:app": "1", "submission.returned:app": "1", "task.overdue:email": "1"},
        token_from="/notifikasi/preferensi",
    )
    assert saved.status_code == 302 and saved.headers["Location"] == "/notifikasi/preferensi"
    said = _flashes(operator.get("/notifikasi/preferensi"))
    assert said == [("ok", "Preferensi pemberitahuan tersimpan.")]  # nothing was kept against the choice


def test_unticking_every_way_of_a_required_event_keeps_the_bell_and_says_so(db, people, signed_in):
    operator = signed_in("op.desa")
    operator.post("/notifikasi/preferensi", {"task.created:app": "1"}, token_from="/notifikasi/preferensi")
    said = _flashes(operator.get("/notifikasi/preferensi"))
    assert ("ok", "Preferensi pemberitahuan tersimpan.") in said
    assert any(kind == "info" and "tidak dapat dimatikan" in text for kind, text in said)


# --- the manual's links -----------------------------------------------------------------------------

_HELP_LINK = re.compile(r'<a class="help-link" id="bantuan" href="([^"]+)"')


def _help_link(person, path: str) -> str:
    page = person.get(path)
    assert page.status_code == 200, path
    return _HELP_LINK.search(page.get_data(as_text=True)).group(1)


def test_the_help_link_of_a_shared_page_opens_the_chapter_of_the_viewers_tier(db, people, signed_in):
    assert _help_link(signed_in("verif.kab"), "/siklus/") == "/bantuan/kabupaten#siklus-dan-batas-waktu"
    assert _help_link(signed_in("valid.prov"), "/mutu/angka") == "/bantuan/provinsi#mutu-data"


def test_the_help_link_of_the_auditors_and_the_bells_pages_opens_their_sections(db, people, signed_in):
    assert _help_link(signed_in("auditor.prov"), "/audit/wilayah") == "/bantuan/auditor#perubahan-wilayah"
    assert _help_link(signed_in("op.desa"), "/notifikasi/preferensi") == "/bantuan/index#pemberitahuan"


def test_a_page_unknown_to_the_manual_links_its_first_chapter_without_an_anchor(app):
    with app.test_request_context("/"):
        assert manual.help_url("tidak.ada", ["verifier:kabupaten"]) == "/bantuan/index"  # no empty "#"
        assert manual.field_help("nama") is None  # a field without an explanation shows none


def test_a_shared_page_seen_without_a_tier_opens_the_kecamatan_chapter_and_a_lane_the_regencys(app):
    assert manual.target("cycle.index", ["admin"]) == ("kecamatan", "siklus-dan-batas-waktu")
    assert manual.target("reconciliation.task_page", ["verifier:kabupaten"]) == (
        "walidata-forum-sdi",
        "walidata-kabupaten-kota",
    )


def test_the_manuals_front_page_is_its_first_chapter(browser, app):
    front, index, admin = (browser.get(f"/bantuan/{slug}").get_data(as_text=True) for slug in ("", "index", "admin"))
    title = re.compile(r"<title>([^<]*)</title>")
    assert title.search(front).group(1) == title.search(index).group(1) != title.search(admin).group(1)


# --- the cycle's rhythm -----------------------------------------------------------------------------

RHYTHM = {
    "ritme": "semester",
    "hari_buka": "5",
    "batas_desa": "20",
    "batas_kecamatan": "30",
    "batas_kabupaten": "40",
    "batas_provinsi": "50",
    "pengingat_hari": "2",
}


def test_a_saved_rhythm_keeps_every_field_returns_to_the_cycle_and_says_so(db, people, signed_in):
    admin = signed_in("admin.prov")
    saved = admin.post("/siklus/ritme", RHYTHM, token_from="/siklus/")
    assert saved.status_code == 302 and saved.headers["Location"] == "/siklus/"
    assert ("ok", "Ritme pemutakhiran tersimpan.") in _flashes(admin.get("/siklus/"))
    with db.read() as s:
        rhythm = s.scalar(select(CycleRhythm))
        stored = [getattr(rhythm, f) for f in ("hari_buka", "batas_desa", "batas_kecamatan", "batas_kabupaten")]
        assert stored == [5, 20, 30, 40] and rhythm.pengingat_hari == 2  # the reminder's days, not the default 3


def test_the_cycle_page_says_how_many_tasks_are_late_beyond_those_it_shows(db, people, signed_in, monkeypatch):
    due = []
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        sid = open_with_items(db, desa=desa)
        submit(db, operator, sid)
        with db.read() as s:
            due.append(s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka")))
    monkeypatch.setattr(late_tasks, "SHOWN", 1)
    with clock.frozen_at(max(t.due_at for t in due) + timedelta(days=2)):
        page = signed_in("verif.kab").get(f"/siklus/?periode={due[0].periode}&induk=65.01.01").get_data(as_text=True)
    assert "Tugas terlambat di 65.01.01 (2)" in page and "Ditampilkan 1 pertama dari 2." in page


# --- the agency figures' page -----------------------------------------------------------------------

AGENCIES = "/rekonsiliasi/2024/instansi/"
AGENCY_FILE = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"


def _agency_upload(browser, text=AGENCY_FILE):
    data = {"instansi": "DP3AP2KB", "berkas": (io.BytesIO(text.encode()), "angka.csv")}
    return browser.post(AGENCIES, data, token_from=AGENCIES, content_type="multipart/form-data")


def _agency_carried(response) -> dict[str, str]:
    text = response.get_data(as_text=True)
    return {
        name: html.unescape(text.split(f'name="{name}" value="')[1].split('"')[0])
        for name in ("baris", "kunci", "nama_berkas", "sha256")
    }


def test_a_refused_file_names_each_faulty_row_once_below_its_summary(db, stewards, browser):
    browser.login("walidata.prov")
    refused = _agency_upload(browser, AGENCY_FILE + "AKTK,6502,2024,3\n").get_data(as_text=True)
    alert = refused.split('class="flash error" role="alert">')[1].split("</div>")[0]
    assert alert.count("tampak seperti kode BPS") == 1  # in the list of rows, not again in the summary line


def test_an_agencys_figures_are_read_page_by_page(db, stewards, our_figures, browser, monkeypatch):
    monkeypatch.setattr(agency_listing, "PAGE_SIZE", 1)
    browser.login("walidata.prov")
    browser.post(f"{AGENCIES}simpan", _agency_carried(_agency_upload(browser)), token_from=AGENCIES)
    pages = [
        browser.get(f"{AGENCIES}?lihat=DP3AP2KB&halaman={n}").get_data(as_text=True).split('id="angka-instansi"')[1]
        for n in (1, 2)
    ]
    shown = [re.findall(r'<td class="mono">([\d.]+)</td>', page.split("</table>")[0]) for page in pages]
    assert sorted(shown) == [["65.01"], ["65.02"]]


def test_an_undone_upload_returns_to_the_list_of_uploads(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    browser.post(f"{AGENCIES}simpan", _agency_carried(_agency_upload(browser)), token_from=AGENCIES)
    page = browser.get(AGENCIES).get_data(as_text=True)
    number = page.split('name="unggahan" value="')[1].split('"')[0]
    done = browser.post(f"{AGENCIES}batalkan", {"unggahan": number, "alasan": "berkas yang salah"}, token_from=AGENCIES)
    assert done.status_code == 302 and done.headers["Location"] == f"{AGENCIES}#h-unggahan"


def test_undoing_an_upload_that_does_not_exist_is_not_found_on_the_page(db, stewards, browser):
    browser.login("walidata.prov")
    missing = browser.post(
        f"{AGENCIES}batalkan", {"unggahan": "999999", "alasan": "berkas yang salah"}, token_from=AGENCIES
    )
    assert missing.status_code == 404 and 'id="h-unggah"' in missing.get_data(as_text=True)  # the year's page again


def test_a_stale_preview_is_refused_on_the_years_page_with_its_upload_form(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    stale = _agency_upload(browser)
    browser.post(
        f"{AGENCIES}simpan",
        _agency_carried(_agency_upload(browser, AGENCY_FILE.replace(",30\n", ",31\n"))),
        token_from=AGENCIES,
    )
    refused = browser.post(f"{AGENCIES}simpan", _agency_carried(stale), token_from=AGENCIES)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'id="h-unggah"' in text and 'role="alert"' in text


# --- the auditor's pages ----------------------------------------------------------------------------


def test_the_audit_page_opened_without_a_search_lists_no_results(db, people, signed_in):
    page = signed_in("auditor.prov").get("/audit/").get_data(as_text=True)
    assert 'id="jumlah-hasil"' not in page  # not "0 catatan cocok." before anything was asked


def test_a_search_keeps_what_was_written_in_its_fields(db, people, browser):
    build_world(db)
    browser.login("auditor.prov")
    found = browser.post("/audit/", {"nama": "ingan 7", "wilayah": "65.01.01"}, token_from="/audit/")
    text = found.get_data(as_text=True)
    assert 'name="nama" value="ingan 7"' in text and 'name="wilayah" value="65.01.01"' in text
    assert "1 catatan cocok." in text


def test_a_check_of_the_chain_in_one_request_does_not_say_it_was_read_in_slices(db, people, browser):
    build_world(db)
    browser.login("auditor.prov")
    page = browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)
    assert "Rantai utuh" in page and "Diperiksa bertahap sejak" not in page


def test_the_exported_trail_is_named_by_the_provinces_local_time(db, people, browser):
    browser.login("auditor.prov")
    with clock.frozen_at(datetime(2026, 12, 5, 23, 30, tzinfo=UTC)):  # 07:30 the next day in Tarakan (WITA)
        answer = browser.post("/audit/ekspor.csv", {"alasan": "pemeriksaan BPK 2026"}, token_from="/audit/")
        answer.get_data()
    assert answer.headers["Content-Disposition"] == "attachment; filename=jejak-audit-65-20261206-0730.csv"


# --- the regions' page ------------------------------------------------------------------------------

REGIONS = "/admin/wilayah/perubahan/"
BASIS = {"dasar": "Kepmendagri No. 100.1.1-9999 Tahun 2026", "berlaku": "2026-11-01"}


def _region_preview(browser, rows, **fields):
    data = {**BASIS, **fields, "berkas": (io.BytesIO(as_csv(rows).encode()), "wilayah.csv")}
    return browser.post(REGIONS, data, token_from=REGIONS, content_type="multipart/form-data")


def _region_apply(browser, preview):
    text = preview.get_data(as_text=True)
    carried, key = (html.unescape(text.split(f'name="{name}" value="')[1].split('"')[0]) for name in ("baris", "kunci"))
    return browser.post(f"{REGIONS}terapkan", {**BASIS, "baris": carried, "kunci": key}, token_from=REGIONS)


@pytest.mark.usefixtures("regions_restored")
def test_an_applied_list_says_each_count_in_its_place(db, people, browser):
    browser.login("admin.prov")
    rows = listing(rename={"65.01.01.2005": "Gunung Putih Raya"}, drop={"65.01.01.2009", "65.01.01.2008"})
    applied = _region_apply(browser, _region_preview(browser, rows))
    assert applied.status_code == 302 and applied.headers["Location"] == REGIONS
    assert _flashes(browser.get(REGIONS)) == [
        (
            "ok",
            "Daftar wilayah diperbarui: 0 baru, 1 berganti nama, 2 berakhir, 0 berlaku lagi; "
            "0 catatan register pindah ke desa penerusnya.",
        )
    ]


@pytest.mark.usefixtures("regions_restored")
def test_a_new_desa_is_opened_in_each_open_cycle_and_the_page_says_so_in_order(db, people, browser):
    for periode in ("2027-Q2", "2027-Q1"):
        cycles.open_cycle(db, SYSTEM, periode, region="65.01.01")
    browser.login("admin.prov")
    rows = listing(add=[("65.01.01.2999", "Desa Baru")])
    _region_apply(browser, _region_preview(browser, rows))
    said = [text for _, text in _flashes(browser.get(REGIONS))]
    assert said[1:] == [
        "Siklus 2027-Q1: pengajuan dibuka untuk 1 desa baru.",
        "Siklus 2027-Q2: pengajuan dibuka untuk 1 desa baru.",
    ]


@pytest.mark.usefixtures("regions_restored")
def test_a_refused_list_keeps_the_basis_typed_and_marks_the_date_beside_its_field(db, people, browser):
    browser.login("admin.prov")
    refused = _region_preview(browser, listing(), berlaku="1-11-2026").get_data(as_text=True)
    assert 'id="e-berlaku"' in refused and 'value="Kepmendagri No. 100.1.1-9999 Tahun 2026"' in refused


@pytest.mark.usefixtures("regions_restored")
def test_the_auditor_reads_every_change_of_a_decree_not_only_the_first(db, people, signed_in):
    with db.read() as s:
        admin = Actor.of(s.scalar(select(User).where(User.username == "admin.prov")))
    ended = {"65.01.01.2006", "65.01.01.2007", "65.01.01.2008", "65.01.01.2009"}
    region_updates.update_regions(
        db, admin, listing(drop=ended), ("Kepmendagri No. 1 Tahun 2026", date(2026, 11, 2)), None
    )
    page = signed_in("auditor.prov").get("/audit/wilayah").get_data(as_text=True).split('id="riwayat-wilayah"')[1]
    assert all(kode in page for kode in ended)


@pytest.mark.usefixtures("regions_restored")
def test_an_applied_merger_says_how_many_register_records_moved_to_the_desa_that_carries_on(db, people, browser):
    merged, heir = "65.01.01.2006", "65.01.01.2005"
    verified_records(db, merged, (21, 22))
    browser.login("admin.prov")
    rows = listing(drop={merged}, rename={heir: "Gunung Putih Raya"}, lama={heir: merged})
    _region_apply(browser, _region_preview(browser, rows))
    said = [text for _, text in _flashes(browser.get(REGIONS))]
    assert said and said[0].endswith("; 2 catatan register pindah ke desa penerusnya."), said


def test_a_slice_page_that_waited_more_than_ten_minutes_does_not_go_on(db, people, app, browser, monkeypatch):
    build_world(db)
    monkeypatch.setattr(trail, "VERIFY_SLICE", 4)
    browser.login("auditor.prov")
    first = browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)
    carried = re.search(r'name="lanjut" value="([^"]+)"', first).group(1)
    with app.test_request_context():  # the same page, as if left open for eleven minutes
        serializer = audit_pages._carried()
        with monkeypatch.context() as earlier:
            earlier.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 11 * 60)
            waited = serializer.dumps(serializer.loads(carried))
    late = browser.post("/audit/verifikasi", {"lanjut": waited}, token_from="/audit/")
    assert late.status_code == 400 and "mulai pemeriksaan lagi" in late.get_data(as_text=True)
    assert browser.post("/audit/verifikasi", {"lanjut": carried}, token_from="/audit/").status_code == 200
