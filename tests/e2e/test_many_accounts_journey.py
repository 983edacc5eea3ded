"""A regency's operators made from one file in a browser, on a desktop and on a phone: the first
passwords are shown once, readable and downloadable, and the page passes axe."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD
from tests.web.test_many_accounts import OPERATORS


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_an_admin_makes_a_regencys_operators_from_a_file(people, sign_in, tmp_path, phone):
    """The passwords as the administrator keeps them: on the page, and in the file it downloads."""
    upload = tmp_path / "operator-bulungan.csv"
    upload.write_text(OPERATORS, encoding="utf-8")
    admin = sign_in("admin.prov", PASSWORD, phone)
    page = admin.go("/admin/pengguna")
    page.get_by_label("Berkas (.xlsx atau .csv)").set_input_files(str(upload))
    follow(page, page.get_by_role("button", name="Buat akun"))
    shows(page, "3 akun dibuat", "Simpan atau cetak kata sandi awal sekarang")
    admin.check()
    assert page.locator("#akun-dibuat tbody tr").count() == 3
    admin.visible(page.locator("#unduh-akun"))
    with page.expect_download() as got:
        page.locator("#unduh-akun").click()
    saved = got.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert got.value.suggested_filename == "akun-baru.csv" and saved[0] == "username,nama,peran,wilayah,sandi_awal"
    assert len(saved) == 4 and saved[1].startswith("op.2007,Operator 2007,operator,65.01.01.2007,")
