"""Every page of each role, on a desktop and on a 360×740 phone: axe-core finds nothing serious or
critical, and the phone never scrolls sideways."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.web.conftest import world  # noqa: F401  (the shared world of drafts, tasks and records)

PAGES = {
    "op.desa": [
        "/",
        "/desa/",
        "/desa/pengajuan/{draft}",
        "/desa/pengajuan/{draft}/register?status=semua",
        "/desa/pengajuan/{draft}/item/baru?kategori=LUT",
        "/desa/pengajuan/{draft}/item/baru?kategori=KT",
        "/desa/pengajuan/{draft}/impor",
        "/notifikasi/",
        "/notifikasi/preferensi",
        "/akun/sandi",
    ],
    "verif.kec": ["/tugas/", "/siklus/"],
    "verif.kab": ["/tugas/", "/tugas/{kab_task}", "/mutu/?wilayah=65.01&kategori=LUT", "/siklus/"],
    "valid.prov": ["/tugas/", "/mutu/", "/siklus/"],
    "admin.prov": [
        "/admin/",
        "/admin/pengguna",
        "/admin/definisi/1/ubah",
        "/admin/jadwal",
        "/admin/token",
        "/siklus/",
    ],
    "auditor.prov": ["/audit/", "/audit/catatan/{record}", "/audit/instans/{instance}"],
}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_of_each_role_passes_axe_and_fits_a_phone(world, sign_in, username, phone):  # noqa: F811
    person = sign_in(username, PASSWORD, phone)
    for path in PAGES[username]:
        person.go(path.format(**world.__dict__))
        if "/ubah" in path:
            person.page.wait_for_selector("#bpmn-editor[data-state=ready]")
        if path.startswith("/mutu/"):
            person.page.wait_for_selector("#trend[data-state=done], #trend[data-state=error]")
        if path.startswith("/tugas/") and path != "/tugas/":
            person.page.wait_for_selector(".bpmn-viewer[data-state=done]")
        person.check()


def test_the_sign_in_page_passes_axe_on_a_phone(chromium, live_server):
    from tests.e2e.conftest import AXE, AXE_RUN, PHONE

    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server}/masuk")
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
