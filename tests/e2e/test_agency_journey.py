"""The province's data steward receives an agency's yearly file in a browser, on a desktop and on a
phone: uploads it, reads the preview and the flags it will raise, saves it, reads it beside ours,
and takes the upload back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AggregateValue
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_a_steward_uploads_an_agency_s_file_and_reads_it_beside_ours(
    db, stewards, our_figures, sign_in, tmp_path, phone
):
    upload = tmp_path / "dp3ap2kb-2024.csv"
    upload.write_text("kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n", "utf-8")
    steward = sign_in("walidata.prov", PASSWORD, phone)
    page = steward.go("/rekonsiliasi/2024")
    follow(page, page.get_by_role("link", name="Angka instansi lain 2024"))
    steward.check()
    page.get_by_label("Instansi (bila berkas tidak punya kolom instansi)").fill("DP3AP2KB")
    page.get_by_label("Berkas (.xlsx, .csv atau .tsv", exact=False).set_input_files(str(upload))
    follow(page, page.get_by_role("button", name="Tinjau angka"))
    shows(
        page,
        "Pratinjau: belum ada yang disimpan",
        "2 angka baru, 0 berubah",
        "Setelah disimpan, 1 tanda terbuka pada angka instansi ini",
    )
    steward.check()
    save = page.get_by_role("button", name="Simpan angka ini")
    steward.visible(save)
    follow(page, save)
    shows(page, "Angka instansi tersimpan: 2 baru, 0 berubah, 0 sama; 1 tanda terbuka pada angka instansi ini.")
    follow(page, page.get_by_role("link", name="DP3AP2KB"))
    table = page.locator("#angka-instansi")
    assert "68" in table.inner_text() and "30" in table.inner_text()
    steward.check()
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(AggregateValue).where(AggregateValue.sumber == "DP3AP2KB")) == 2
        )
    undo = page.locator("#unggahan details")
    undo.locator("summary").click()
    undo.get_by_label("Alasan (wajib)").fill("berkas Dinkes tersimpan atas nama DP3AP2KB")
    steward.check()
    follow(page, undo.get_by_role("button", name="Batalkan unggahan nomor", exact=False))
    shows(page, "dibatalkan: 0 angka kembali ke nilai sebelumnya, 2 angka yang ditambahkannya dihapus.")
    assert "Dibatalkan oleh walidata.prov" in page.locator("#unggahan").inner_text()
    steward.check()
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(AggregateValue).where(AggregateValue.sumber == "DP3AP2KB")) == 0
        )
