"""A year's reconciliation in a browser: the province opens it, Bulungan's walidata explains its
flags, the Forum returns the real discrepancy and then accepts it, the head is refused without a
decree and then determines, and the frozen figures page shows the hash, also on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.people import users
from models import HumanTask, TaskStatus
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD, SYSTEM, finish_as_system, reconciliation_year

YEAR = 2026


@pytest.fixture
def year(db, people, password_hash):
    reconciliation_year(db, password_hash, team=False)
    return db


def _explain_everything(regency, note):
    page = regency.go("/tugas/")
    follow(page, page.get_by_role("link", name="Tinjauan kabupaten/kota").first)
    regency.check()
    while page.locator("#tanda-kabupaten form").count():
        card = page.locator("#tanda-kabupaten li:has(form)").first
        card.get_by_label("Catatan").fill(note)
        follow(page, card.get_by_role("button", name="Jelaskan"))
    follow(page, page.get_by_role("button", name="Kirim ke Forum SDI"))
    shows(page, "Keputusan tersimpan")


def _other_regencies_go_up(db):
    with db.transaction() as session:
        waiting = session.scalars(
            select(HumanTask).where(
                HumanTask.bpmn_id == "tinjauan_kabupaten",
                HumanTask.status == TaskStatus.TERBUKA,
                HumanTask.region_kode != "65.01",
            )
        ).all()
        for task in waiting:
            finish_as_system(session, task)


def _forum(forum, returning: bool):
    page = forum.go("/tugas/")
    page.get_by_role("link", name="Tinjauan Forum Satu Data").first.click()
    page.wait_for_selector("#selisih li")  # the task's page, not the inbox still showing: its cards are read next
    forum.check()
    forum.shot("forum-sdi-selisih")
    for card in page.locator("#selisih li").all():
        if returning and "DP3AP2KB mencatat 30" in card.inner_text():
            card.get_by_label("Kembalikan ke kabupaten/kota").check()
            card.get_by_label("Alasan bila dikembalikan").fill("Rasio DP3AP2KB naik sepuluh kali; periksa ulang")
        else:
            card.get_by_label("Terima penjelasan").check()
    follow(page, page.get_by_role("button", name="Simpan telaah Forum"))
    shows(page, "Keputusan tersimpan")


def test_a_year_from_opening_to_the_frozen_figures(year, sign_in, password_hash):
    db = year
    province = sign_in("walidata.prov", PASSWORD)
    page = province.go(f"/rekonsiliasi/{YEAR}")
    follow(page, page.get_by_role("button", name=f"Buka rekonsiliasi {YEAR}"))
    assert page.locator("#status-rekonsiliasi").inner_text() == "berjalan"
    province.check()
    assert "Kabupaten Bulungan" in page.locator("#kemajuan").inner_text()
    province.shot("rekonsiliasi-kemajuan")

    regency = sign_in("walidata.kab", PASSWORD)
    _explain_everything(regency, "DP3AP2KB menghitung semua lansia, bukan hanya yang terlantar")
    _other_regencies_go_up(db)

    forum = sign_in("forum.sdi", PASSWORD)
    _forum(forum, returning=True)
    _explain_everything(regency, "Dikonfirmasi dengan DP3AP2KB: cakupan mereka termasuk lansia di panti")
    _forum(forum, returning=False)

    head = sign_in("kepala.dinas", PASSWORD)
    page = head.go("/tugas/")
    follow(page, page.get_by_role("link", name="Penetapan oleh kepala dinas").first)
    page.get_by_label("Tetapkan").check()  # nothing is chosen for the head
    follow(page, page.get_by_role("button", name="Simpan keputusan"))  # no decree yet
    assert "Surat keputusan penetapan belum lengkap" in page.locator("#penolakan").inner_text()
    head.check()
    page.get_by_label("Nomor surat keputusan").fill("188.44/123/DINSOS/2027")
    page.get_by_label("Tanggal surat keputusan (DD/MM/YYYY)").fill("20/11/2026")
    head.shot("penetapan-kepala-dinas")
    follow(page, page.get_by_role("button", name="Simpan keputusan"))
    shows(page, "Keputusan tersimpan")

    page = province.go(f"/penetapan/{YEAR}")
    assert "188.44/123/DINSOS/2027" in page.locator("#nomor-sk").inner_text()
    digest = page.locator("#hash").inner_text()
    assert len(digest) == 64
    province.shot("penetapan-angka-resmi")
    province.check()
    for path in ("/penetapan/", f"/penetapan/{YEAR}/jejak", f"/rekonsiliasi/{YEAR}", "/rekonsiliasi/"):
        province.go(path)
        province.check()

    for username in ("kepala.dinas", "walidata.kab"):  # on a phone: nothing serious for axe, no sideways scrolling
        small = sign_in(username, PASSWORD, phone=True)
        assert small.go(f"/penetapan/{YEAR}").locator("#hash").inner_text() == digest
        for path in (f"/penetapan/{YEAR}", f"/penetapan/{YEAR}/jejak", f"/rekonsiliasi/{YEAR}"):
            small.go(path)
            small.check()

    with db.transaction() as session:  # Bulungan's auditor follows its own official figure to its trail
        users.add_user(session, SYSTEM, "auditor.bulungan", "auditor", "65.01").password_hash = password_hash
    small = sign_in("auditor.bulungan", PASSWORD, phone=True)
    page = small.go(f"/penetapan/{YEAR}")
    small.check()
    assert not page.locator("#total a").count()  # the province's totals are not its to trace
    follow(page, page.locator("#angka-wilayah-anda a").first)
    assert "/jejak?" in page.url and "wilayah=65.01" in page.url
    small.check()
