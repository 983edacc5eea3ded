"""The page of a year's agency figures: the province's steward uploads, previews, saves and takes a
year back; a wrong file, a stale preview and a regency's steward are refused with nothing written."""

from __future__ import annotations

import html
import io

from sqlalchemy import func, select

from models import AggregateValue

PAGE = "/rekonsiliasi/2024/instansi/"
FILE = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"


def _upload(browser, text=FILE, agency="DP3AP2KB", name="angka.csv"):
    data = {"instansi": agency, "berkas": (io.BytesIO(text.encode()), name)}
    return browser.post(PAGE, data, token_from=PAGE, content_type="multipart/form-data")


def _carried(response) -> dict[str, str]:
    """The confirmation form's hidden fields, as a browser reads them."""
    text = response.get_data(as_text=True)
    return {
        name: html.unescape(text.split(f'name="{name}" value="')[1].split('"')[0])
        for name in ("baris", "kunci", "nama_berkas", "sha256")
    }


def _theirs(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AggregateValue).where(AggregateValue.sumber != "dinsos"))


def test_the_province_s_steward_previews_saves_and_reads_an_agency_s_figures(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    assert "Belum ada angka instansi lain untuk tahun ini." in browser.get(PAGE).get_data(as_text=True)
    preview = _upload(browser)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Pratinjau: belum ada yang disimpan" in text
    assert "2 angka baru, 0 berubah, 0 sama dengan yang tersimpan." in text and 'id="tanda-pratinjau"' in text
    assert 'id="belum-dibandingkan"' not in text  # each has ours beside it
    assert _theirs(db) == 0
    saved = browser.post(f"{PAGE}simpan", _carried(preview), token_from=PAGE, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert "Angka instansi tersimpan: 2 baru, 0 berubah, 0 sama; 1 tanda terbuka pada angka instansi ini." in page
    assert _theirs(db) == 2 and ">DP3AP2KB</a>" in page
    listed = browser.get(f"{PAGE}?lihat=DP3AP2KB").get_data(as_text=True)
    table = listed.split('id="angka-instansi"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3 and ">68<" in table and ">30<" in table  # theirs beside ours
    assert table.count('class="flag-row') == 1 and "DP3AP2KB" in table.split('class="flag-row')[1]  # 30 against 68
    again = browser.post(f"{PAGE}simpan", _carried(preview), token_from=PAGE, follow_redirects=True)
    assert "Angka ini sudah tersimpan: tidak ada yang diubah." in again.get_data(as_text=True)  # a double click


def test_a_wrong_file_is_refused_by_row_and_nothing_is_stored(db, stewards, browser):
    browser.login("walidata.prov")
    refused = _upload(browser, FILE + "AKTK,6502,2024,3\nXYZ,65.01,2024,1\n")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "tidak ada yang disimpan" in text
    assert "Baris 4" in text and "Baris 5" in text and "tampak seperti kode BPS" in text
    assert 'value="DP3AP2KB"' in text  # the agency typed is kept
    assert _upload(browser, name="angka.pdf").status_code == 400
    assert _theirs(db) == 0


def test_a_stale_preview_saves_nothing_and_says_why(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    stale = _upload(browser)
    browser.post(f"{PAGE}simpan", _carried(_upload(browser, FILE.replace(",30\n", ",31\n"))), token_from=PAGE)
    refused = browser.post(f"{PAGE}simpan", _carried(stale), token_from=PAGE)
    assert refused.status_code == 409 and "berubah sejak pratinjau" in refused.get_data(as_text=True)
    tampered = {**_carried(stale), "baris": "@DP3AP2KB\n65.01\tAKTK\t2024\t999"}
    assert browser.post(f"{PAGE}simpan", tampered, token_from=PAGE).status_code == 409
    with db.read() as s:
        assert (
            s.scalar(
                select(AggregateValue.nilai).where(
                    AggregateValue.sumber == "DP3AP2KB", AggregateValue.region_kode == "65.01"
                )
            )
            == 31
        )


def test_the_steward_takes_a_year_back_with_a_reason(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    browser.post(f"{PAGE}simpan", _carried(_upload(browser)), token_from=PAGE)
    listed = browser.get(f"{PAGE}?lihat=DP3AP2KB").get_data(as_text=True)
    assert "Tarik angka DP3AP2KB 2024" in listed
    key = listed.split('name="dilihat" value="')[1].split('"')[0]
    assert f'action="{PAGE}tarik?lihat=DP3AP2KB"' in listed  # a refusal comes back to the figures it was about
    short = browser.post(
        f"{PAGE}tarik?lihat=DP3AP2KB", {"instansi": "DP3AP2KB", "alasan": "salah", "dilihat": key}, token_from=PAGE
    )
    assert short.status_code == 400 and _theirs(db) == 2
    assert ">salah</textarea>" in short.get_data(as_text=True).split('id="h-angka"')[1]  # with the reason typed
    done = browser.post(
        f"{PAGE}tarik",
        {"instansi": "DP3AP2KB", "alasan": "berkas untuk tahun 2023", "dilihat": key},
        token_from=PAGE,
        follow_redirects=True,
    )
    assert "2 angka DP3AP2KB ditarik." in done.get_data(as_text=True) and _theirs(db) == 0


def test_a_regency_s_steward_reads_its_region_and_cannot_upload(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    browser.post(f"{PAGE}simpan", _carried(_upload(browser)), token_from=PAGE)
    browser.login("walidata.kab")
    page = browser.get(f"{PAGE}?lihat=DP3AP2KB").get_data(as_text=True)
    assert "65.01" in page and "65.02" not in page.split('id="angka-instansi"')[1]
    assert 'id="h-unggah"' not in page and "Tarik angka" not in page
    assert _upload(browser).status_code == 403
    withdrawn = {"instansi": "DP3AP2KB", "alasan": "berkas untuk tahun 2023", "dilihat": "1"}
    assert browser.post(f"{PAGE}tarik", withdrawn, token_from=PAGE).status_code == 403
    assert _theirs(db) == 2


def test_an_operator_is_refused_and_the_year_page_links_here(db, stewards, browser):
    browser.login("op.desa")
    assert browser.get(PAGE).status_code == 403
    browser.login("walidata.prov")
    assert 'href="/rekonsiliasi/2024/instansi/"' in browser.get("/rekonsiliasi/2024").get_data(as_text=True)
    assert browser.get("/rekonsiliasi/1800/instansi/").status_code == 400


def test_a_preview_points_out_an_agency_spelled_another_way_and_figures_not_compared(
    db, stewards, our_figures, browser
):
    browser.login("walidata.prov")
    browser.post(f"{PAGE}simpan", _carried(_upload(browser)), token_from=PAGE)
    text = _upload(browser, FILE + "AKTK,65.01,2024-S1,14\n", agency="dp3a p2kb").get_data(as_text=True)
    warning = text.split('id="instansi-baru"')[1].split("</div>")[0]
    assert "dp3a p2kb: mirip DP3AP2KB" in warning
    assert "1 angka belum punya angka Dinas Sosial" in text  # a semester figure beside our yearly ones


def test_the_steward_takes_one_upload_back_from_the_year_s_list(db, stewards, our_figures, browser):
    browser.login("walidata.prov")
    browser.post(f"{PAGE}simpan", _carried(_upload(browser)), token_from=PAGE)
    browser.post(f"{PAGE}simpan", _carried(_upload(browser, FILE.replace(",30\n", ",31\n"))), token_from=PAGE)
    page = browser.get(PAGE).get_data(as_text=True)
    listed = page.split('id="unggahan"')[1].split("</table>")[0]
    first, second = sorted(int(n) for n in listed.split('name="unggahan" value="')[1:] for n in [n.split('"')[0]])
    assert listed.count("Batalkan unggahan nomor") == 2 and "walidata.prov" in listed and "angka.csv" in listed
    short = browser.post(f"{PAGE}batalkan", {"unggahan": second, "alasan": "salah"}, token_from=PAGE)
    assert short.status_code == 400 and "Alasan wajib" in short.get_data(as_text=True) and _theirs(db) == 2
    stale = browser.post(f"{PAGE}batalkan", {"unggahan": first, "alasan": "berkas yang salah"}, token_from=PAGE)
    assert stale.status_code == 409 and "batalkan unggahan yang lebih baru" in stale.get_data(as_text=True)
    row = stale.get_data(as_text=True).split(f'id="unggahan-{first}"')[1].split("</tr>")[0]
    assert "<details open>" in row and ">berkas yang salah</textarea>" in row  # the reason typed is kept
    done = browser.post(
        f"{PAGE}batalkan", {"unggahan": second, "alasan": "berkas yang salah"}, token_from=PAGE, follow_redirects=True
    )
    text = done.get_data(as_text=True)
    assert f"Unggahan nomor {second} dibatalkan: 1 angka kembali ke nilai sebelumnya, 0 angka" in text
    assert "Dibatalkan oleh walidata.prov" in text.split(f'id="unggahan-{second}"')[1].split("</tr>")[0]
    with db.read() as s:
        assert (
            s.scalar(
                select(AggregateValue.nilai).where(
                    AggregateValue.region_kode == "65.01", AggregateValue.sumber == "DP3AP2KB"
                )
            )
            == 30
        )
    browser.login("walidata.kab")
    assert 'id="unggahan"' not in browser.get(PAGE).get_data(as_text=True)
    assert (
        browser.post(f"{PAGE}batalkan", {"unggahan": first, "alasan": "berkas yang salah"}, token_from=PAGE).status_code
        == 403
    )
