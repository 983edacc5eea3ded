"""A province's administrator applies a Kemendagri decree in a browser, on a desktop and on a phone:
uploads the list, reads the preview, applies it, and finds it in the history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Region
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD
from tests.regions import as_csv, listing, regions_restored  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("regions_restored")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_an_admin_applies_a_decree_merging_two_desa(db, people, sign_in, tmp_path, phone):
    upload = tmp_path / "wilayah-2026.csv"
    rows = listing(
        drop={"65.01.01.2009"}, lama={"65.01.01.2008": "65.01.01.2009"}, rename={"65.01.01.2008": "Teras Bersatu"}
    )
    upload.write_text(as_csv(rows), encoding="utf-8")
    admin = sign_in("admin.prov", PASSWORD, phone)
    page = admin.go("/admin/wilayah/perubahan/")
    admin.check()
    page.get_by_label("Dasar hukum").fill("Kepmendagri No. 100.1.1-9999 Tahun 2026")
    page.get_by_label("Tanggal berlaku").fill("2026-11-01")
    page.get_by_label("Berkas (.xlsx, .csv atau .tsv", exact=False).set_input_files(str(upload))
    follow(page, page.get_by_role("button", name="Tinjau perubahan"))
    shows(page, "Pratinjau: belum ada yang diubah", "0 baru, 1 berganti nama, 1 berakhir, 0 berlaku lagi")
    admin.check()
    apply = page.get_by_role("button", name="Terapkan perubahan ini")
    admin.visible(apply)
    follow(page, apply)
    shows(page, "Daftar wilayah diperbarui: 0 baru, 1 berganti nama, 1 berakhir")
    admin.check()
    history = page.locator("#riwayat-wilayah")
    assert "Teras Bersatu" in history.inner_text() and "65.01.01.2009" in history.inner_text()
    with db.read() as s:
        assert s.get(Region, "65.01.01.2009").berakhir is not None
        assert s.scalar(select(Region.nama).where(Region.kode == "65.01.01.2008")) == "Teras Bersatu"
