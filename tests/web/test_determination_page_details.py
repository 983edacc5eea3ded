"""Details of the determination's pages and the agency figures' page a person meets: an auditor's trail
of a figure with the explanations, their history and the decisions said in words, a revision's reason
on the determination, the list of determinations before any, and an agency file's preview beside what
is stored, the open flags per agency and the return to the uploads after one is taken back."""

from __future__ import annotations

import html
import io

from lxml import html as lhtml

from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.integration.reconciliation_steps import determine
from tests.web.page_forms import page_of, text_of


def _said(doc, element_id: str) -> str:
    return " ".join(doc.get_element_by_id(element_id).text_content().split())


def test_the_trail_says_who_explained_a_flag_and_what_each_task_decided(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    trail = signed_in("auditor.prov").get(f"/penetapan/{YEAR}/jejak?wilayah=65.01&kategori=LUT")
    assert trail.status_code == 200
    doc = lhtml.fromstring(text_of(trail))
    lists = {h.text_content(): " ".join(h.getnext().text_content().split()) for h in doc.iter("h2")}
    assert lists["Tanda dan penjelasannya"].endswith("dijelaskan (walidata.kab: wajar)")
    assert "tanda dijelaskan · walidata.kab: wajar" in lists["Riwayat tindak lanjut tanda"]
    decisions = lists["Keputusan rekonsiliasi"]
    assert "Tinjauan Forum Satu Data 65: disetujui" in decisions
    assert "Penetapan oleh kepala dinas 65: disetujui" in decisions


def test_a_revision_says_its_reason_and_an_empty_list_says_none_is_determined_yet(year, signed_in):
    province = signed_in("walidata.prov")
    assert "Belum ada penetapan." in text_of(province.get("/penetapan/"))
    determine(year, YEAR, "188.44/7/2027")
    determine(year, YEAR, "188.44/8/2027", alasan_revisi="ODHA Malinau terlewat")
    doc = page_of(province, f"/penetapan/{YEAR}")
    assert "Revisi1: ODHA Malinau terlewat" in _said(doc, "penetapan")
    assert "Belum ada penetapan." not in text_of(province.get("/penetapan/"))


AGENCY_PAGE = "/rekonsiliasi/2024/instansi/"
FILE = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"


def _preview(browser, text=FILE):
    data = {"instansi": "DP3AP2KB", "berkas": (io.BytesIO(text.encode()), "angka.csv")}
    return browser.post(AGENCY_PAGE, data, token_from=AGENCY_PAGE, content_type="multipart/form-data")


def _saved(browser, preview):
    text = text_of(preview)
    carried = {
        name: html.unescape(text.split(f'name="{name}" value="')[1].split('"')[0])
        for name in ("baris", "kunci", "nama_berkas", "sha256")
    }
    return browser.post(f"{AGENCY_PAGE}simpan", carried, token_from=AGENCY_PAGE)


def test_a_second_file_s_preview_puts_the_changed_figure_first_beside_the_stored_one(
    db, stewards, our_figures, browser
):
    browser.login("walidata.prov")
    _saved(browser, _preview(browser))
    doc = lhtml.fromstring(text_of(_preview(browser, FILE.replace(",21\n", ",25\n"))))
    rows = [
        [td.text_content().strip() for td in tr.findall("td")]
        for tr in doc.get_element_by_id("angka-pratinjau").iter("tr")
    ]
    rows = [r for r in rows if r]
    assert [r[1] for r in rows] == ["65.02", "65.01"]  # the changed figure first
    assert rows[0][4:6] == ["25", "21"] and rows[1][4:6] == ["30", "30"]
    listed = [
        [td.text_content().strip() for td in tr.findall("td")] for tr in doc.get_element_by_id("instansi").iter("tr")
    ]
    (dp3a,) = [r for r in listed if r and r[0] == "DP3AP2KB"]
    assert dp3a[4] == "2024" and dp3a[6] == "1"  # its period and its one open flag


def test_taking_an_upload_back_returns_to_the_year_s_uploads(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    _saved(browser, _preview(browser))
    page = text_of(browser.get(AGENCY_PAGE))
    seq = page.split('name="unggahan" value="')[1].split('"')[0]
    done = browser.post(
        f"{AGENCY_PAGE}batalkan", {"unggahan": seq, "alasan": "berkas yang salah"}, token_from=AGENCY_PAGE
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{AGENCY_PAGE}#h-unggahan")
