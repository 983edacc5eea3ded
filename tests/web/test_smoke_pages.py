"""Every page renders for the role it serves, in Indonesian and in English."""

from __future__ import annotations

import pytest

from tests.factories import open_with_items, submit


def test_login_page_and_bad_password(browser, people):
    assert "Masuk ke SIJOSKU" in browser.get("/masuk").get_data(as_text=True)
    refused = browser.login("op.desa", "salah-sandi-123")
    assert refused.status_code == 401 and "kata sandi salah" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    "username, start, text",
    [
        ("op.desa", "/desa/", "Pengajuan desa"),
        ("verif.kec", "/tugas/", "Kotak tugas"),
        ("admin.prov", "/admin/", "Definisi proses"),
        ("auditor.prov", "/audit/", "Audit catatan"),
    ],
)
def test_each_role_lands_on_its_work(browser, people, username, start, text, db):
    submission_id = open_with_items(db)
    submit(db, "op.desa", submission_id)
    response = browser.login(username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    landing = browser.get("/")
    assert landing.headers["Location"].endswith(start)
    page = browser.get(start)
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    body = page.get_data(as_text=True)
    assert text in body and username in body and "Tugas terbuka" in body
