"""Every page of each role, on a desktop and on a 360×740 phone: axe-core finds nothing serious or
critical, and the phone never scrolls sideways."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.quality import aggregates
from engine.verification import items
from models import SubmissionItem, User
from tests.e2e.conftest import follow
from tests.factories import PASSWORD, SYSTEM, actor, open_period, open_task, person_row, submit
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
        "/desa/pengajuan/{draft}/item/{item}",
        "/desa/pengajuan/{draft}?tampil=disisihkan",
        "/desa/pengajuan/{verified}",
        "/bantuan/",
        "/bantuan/operator-desa",
        "/notifikasi/",
        "/notifikasi/preferensi",
        "/akun/sandi",
    ],
    # each tier's manual holds wide tables, which scroll sideways on a phone
    "verif.kec": ["/tugas/", "/tugas/{kec_task}", "/siklus/", "/bantuan/kecamatan"],
    "verif.kab": [
        "/tugas/",
        "/tugas/{kab_task}",
        "/mutu/?wilayah=65.01&kategori=LUT",
        "/siklus/",
        "/bantuan/kabupaten",
    ],
    "valid.prov": [
        "/tugas/",
        "/mutu/",
        "/mutu/angka?wilayah=65.01",
        "/siklus/",
        "/bantuan/provinsi",
        "/bantuan/walidata-forum-sdi",
    ],
    "admin.prov": [
        "/admin/",
        "/admin/pengguna",
        "/admin/definisi/1/ubah",
        "/admin/definisi/banding?kiri=1&kanan=1",
        "/admin/migrasi",
        "/admin/macet",
        "/admin/pengguna/{operator}",
        "/admin/jadwal",
        "/admin/token",
        "/admin/wilayah/perubahan/",
        "/siklus/",
    ],
    "auditor.prov": ["/audit/", "/audit/catatan/{record}", "/audit/instans/{instance}", "/audit/wilayah"],
}


@pytest.fixture
def places(db, world):  # noqa: F811
    """The ids the pages are reached by: the shared world's, an item of the draft, a task waiting at
    the kecamatan and the operator's account."""
    waiting = open_period(db, "2026-Q1", [person_row(9)])
    submit(db, "op.desa", waiting)
    with db.transaction() as s:  # a card set aside, as `?tampil=disisihkan` lists it
        values = {k: str(v) for k, v in person_row(12).items() if k in items.ITEM_COLUMNS}
        aside = items.save_item(s, actor(db, "op.desa"), world.draft, values).item.id
        items.discard_item(s, actor(db, "op.desa"), world.draft, aside)
    with db.transaction() as s:  # a period's figures, one of them sementara (Q3 waits at the kabupaten)
        aggregates.snapshot_records(s, SYSTEM, "2026-Q3", "65")
    with db.read() as s:
        item = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == world.draft))
        operator = s.scalar(select(User.id).where(User.username == "op.desa"))
    return {**world.__dict__, "item": item, "kec_task": open_task(db, waiting).id, "operator": operator}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_of_each_role_passes_axe_and_fits_a_phone(places, sign_in, username, phone):
    person = sign_in(username, PASSWORD, phone)
    for path in PAGES[username]:
        person.go(path.format(**places))
        if "/ubah" in path:
            person.page.wait_for_selector("#bpmn-editor[data-state=ready]")
            assert person.page.is_visible("#editor-layar-sempit") == phone  # editing wants a laptop, said so
        if path.startswith("/mutu/") and "/angka" not in path:
            person.page.wait_for_selector("#trend[data-state=done], #trend[data-state=error]")
        if path.startswith("/tugas/") and path != "/tugas/":
            person.page.wait_for_selector(".bpmn-viewer[data-state=done]")
        person.check()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_the_auditors_search_results_pass_axe(world, sign_in, phone):  # noqa: F811
    auditor = sign_in("auditor.prov", PASSWORD, phone)
    page = auditor.go("/audit/")
    page.get_by_label("Nama").fill(person_row(7)["nama"])
    follow(page, page.get_by_role("button", name="Cari"))
    assert page.get_by_role("link", name=person_row(7)["nama"]).count() == 1
    auditor.check()


def test_the_sign_in_page_passes_axe_on_a_phone(chromium, live_server):
    from tests.e2e.conftest import AXE, AXE_RUN, PHONE

    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server}/masuk")
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
