"""The administrator's page for a new list of regions: preview, apply, history; a wrong file, a stale
preview and a regency's admin refused with nothing written."""

from __future__ import annotations

import html
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.people import users
from engine.verification import region_updates
from models import Region, RegionChange
from tests.factories import SYSTEM
from tests.regions import as_csv, listing, regions_restored  # noqa: F401  (the fixture)
from tests.web.conftest import Browser
from tests.web.page_forms import page_of

pytestmark = pytest.mark.usefixtures("regions_restored")
PAGE = "/admin/wilayah/perubahan/"
BASIS = {"dasar": "Kepmendagri No. 100.1.1-9999 Tahun 2026", "berlaku": "2026-11-01"}
OTHER = ("Kepmendagri No. 100.1.1-9998 Tahun 2026", date(2026, 11, 2))


def _upload(browser, rows, **fields):
    content = as_csv(rows).encode()
    data = {**BASIS, **fields, "berkas": (io.BytesIO(content), "wilayah.csv")}
    return browser.post(PAGE, data, token_from=PAGE, content_type="multipart/form-data")


def _changes(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(RegionChange))


def test_an_admin_previews_then_applies_a_new_list_and_reads_its_history(db, people, browser):
    browser.login("admin.prov")
    rows = listing(rename={"65.01.01.2005": "Gunung Putih Raya"}, drop={"65.01.01.2009"})
    preview = _upload(browser, rows)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Pratinjau: belum ada yang diubah" in text
    assert "Gunung Putih Raya" in text and "0 baru, 1 berganti nama, 1 berakhir, 0 berlaku lagi." in text
    assert _changes(db) == 0  # a preview writes nothing
    carried = html.unescape(text.split('name="baris" value="')[1].split('"')[0])  # as a browser reads it
    digest = text.split('name="kunci" value="')[1].split('"')[0]
    applied = browser.post(
        f"{PAGE}terapkan",
        {**BASIS, "baris": carried, "kunci": digest},
        token_from=PAGE,
        follow_redirects=True,
    )
    page = applied.get_data(as_text=True)
    assert "1 berganti nama, 1 berakhir" in page
    assert 'id="riwayat-wilayah"' in page and "Kepmendagri No. 100.1.1-9999 Tahun 2026" in page
    with db.read() as s:
        assert s.get(Region, "65.01.01.2005").nama == "Gunung Putih Raya"
        assert s.get(Region, "65.01.01.2009").berakhir is not None
    again = browser.post(  # the same confirmation sent twice (a double click): nothing more to do
        f"{PAGE}terapkan", {**BASIS, "baris": carried, "kunci": digest}, token_from=PAGE, follow_redirects=True
    )
    assert "tidak ada yang diubah" in again.get_data(as_text=True)
    assert _changes(db) == 2

    stale = _upload(browser, listing(rename={"65.01.01.2007": "Antutan Baru"}))  # previewed; then another admin
    text = html.unescape(stale.get_data(as_text=True))
    kept, key = (text.split(f'name="{name}" value="')[1].split('"')[0] for name in ("baris", "kunci"))
    region_updates.update_regions(db, SYSTEM, listing(rename={"65.01.01.2006": "Pejalin Baru"}), OTHER, None)
    late = browser.post(f"{PAGE}terapkan", {**BASIS, "baris": kept, "kunci": key}, token_from=PAGE)
    assert late.status_code == 409 and "berubah sejak pratinjau" in late.get_data(as_text=True)
    with db.read() as s:
        assert s.get(Region, "65.01.01.2007").nama == "Antutan"


def test_a_wrong_file_or_basis_is_refused_beside_what_is_wrong(db, people, browser):
    browser.login("admin.prov")
    orphan = _upload(browser, listing(add=[("65.01.98.2001", "Desa Tanpa Induk")]))
    assert orphan.status_code == 400 and "Induk 65.01.98 dari 65.01.98.2001 tidak tercantum" in orphan.get_data(
        as_text=True
    )
    missing = browser.post(PAGE, dict(BASIS), token_from=PAGE, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Pilih berkas daftar wilayah" in missing.get_data(as_text=True)
    wrong_date = _upload(browser, listing(), berlaku="1-11-2026")
    assert wrong_date.status_code == 400 and "tanggal seperti 2026-12-01" in wrong_date.get_data(as_text=True)
    rows = region_updates.carried(listing(rename={"65.01.01.2005": "X"}), "65")
    late = browser.post(f"{PAGE}terapkan", {"dasar": "", "berlaku": "2999-01-01", "baris": rows}, token_from=PAGE)
    text = late.get_data(as_text=True)
    assert late.status_code == 400 and "dasar hukum harus diisi" in text and "tanggal berlaku belum tiba" in text
    assert _changes(db) == 0


def test_only_the_provinces_admin_changes_the_list(db, people, app):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", "65.01").password_hash = users.find_user(
            s, "admin.prov"
        ).password_hash
    regency = Browser(app.test_client())
    regency.login("admin.kab")
    assert regency.get(PAGE).status_code == 403
    token = regency.token("/admin/pengguna")
    rows = region_updates.carried(listing(rename={"65.01.01.2005": "X"}), "65")
    for path in (PAGE, f"{PAGE}terapkan"):
        answer = regency.client.post(path, data={**BASIS, "baris": rows, "kunci": "x", "csrf_token": token})
        assert answer.status_code == 403
    assert _changes(db) == 0
    operator = Browser(app.test_client())
    operator.login("op.desa")
    assert operator.get(PAGE).status_code in (302, 403)


def test_an_auditor_reads_every_change_with_its_decree_and_who_applied_it(db, people, signed_in):
    with db.read() as s:
        admin = Actor.of(users.find_user(s, "admin.prov"))
    region_updates.update_regions(db, admin, listing(drop={"65.01.01.2009"}), OTHER, None)
    for auditor in ("auditor.prov", "auditor.kab.lain"):  # reference data of the whole province
        page = signed_in(auditor).get("/audit/wilayah").get_data(as_text=True)
        row = page.split('id="riwayat-wilayah"')[1]
        assert "65.01.01.2009" in row and "berakhir" in row and OTHER[0] in row and "admin.prov" in row
    assert signed_in("op.desa").get("/audit/wilayah").status_code in (302, 403)
    assert 'href="/audit/wilayah"' in signed_in("auditor.prov").get("/audit/").get_data(as_text=True)


def test_a_renamed_desa_reads_its_new_name_beside_the_one_it_had(db, people, signed_in):
    with db.read() as s:
        admin = Actor.of(users.find_user(s, "admin.prov"))
    region_updates.update_regions(db, admin, listing(rename={"65.01.01.2005": "Gunung Putih Raya"}), OTHER, None)
    page = page_of(signed_in("auditor.prov"), "/audit/wilayah")
    rows = [[cell.text_content() for cell in tr.iter("td")] for tr in page.xpath("//table[@id='riwayat-wilayah']//tr")]
    change, named, before = next(row[2:5] for row in rows if row[1:2] == ["65.01.01.2005"])
    assert (change, named, before) == ("berganti nama", "Gunung Putih Raya", "Gunung Putih")
