"""What axe-core cannot see, in the states a page reaches after an error or while it updates itself:
a field's hint and error are read with the field, the keyboard lands on what went wrong, an import's
outcome is said by a live region that was there before it, and a phone at 320 px never scrolls
sideways."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.verification import imports
from models import ImportJob, ImportStatus
from tests.e2e.conftest import follow
from tests.factories import PASSWORD, SYSTEM, decide, open_task, open_with_items, submit

FOCUSED = "() => document.activeElement && document.activeElement.id"


def _described_by(page, selector: str) -> str:
    """The words a screen reader reads after the field's name: its aria-describedby's elements."""
    return page.evaluate(
        """(sel) => (document.querySelector(sel).getAttribute('aria-describedby') || '').split(/\\s+/)
            .filter(Boolean).map(id => (document.getElementById(id) || {}).textContent || '').join(' ')""",
        selector,
    )


def test_an_entry_forms_hint_and_error_are_read_with_the_field_and_the_keyboard_lands_on_it(db, people, sign_in):
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT")
    assert "16 angka" in _described_by(page, "#f-nik")  # the format is said before it is typed wrong
    page.get_by_label("NIK").fill("123")
    page.get_by_label("Nama lengkap").fill("Uji Salah")
    follow(page, page.get_by_role("button", name="Simpan"))
    assert page.locator("#f-nik").get_attribute("aria-invalid") == "true"
    said = _described_by(page, "#f-nik")
    assert "bukan 3" in said and "16 angka" in said  # the error, and still the hint
    assert page.evaluate(FOCUSED) == "f-nik"  # not the top of the page: the first field to fix
    assert page.title().startswith("Kesalahan: Tambah data")  # the title a screen reader says first
    operator.check()


def test_a_return_without_a_reason_marks_the_reason_field(db, people, sign_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    verifier = sign_in("verif.kec", PASSWORD)
    page = verifier.go(f"/tugas/{task.id}")
    page.locator("#k-kembali").check()
    follow(page, page.locator("#kirim-keputusan"))
    reason = page.locator("#alasan")
    assert reason.get_attribute("aria-invalid") == "true"
    assert "alasan" in _described_by(page, "#alasan").lower()
    assert page.evaluate(FOCUSED) == "alasan"
    assert page.title().startswith(f"Kesalahan: Verifikasi kecamatan #{task.id}")
    verifier.check()


def test_an_imports_outcome_is_said_by_a_live_region_that_was_already_there(db, people, sign_in):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job = imports.create_job(s, SYSTEM, sid, "besar.csv", [{"nama": "x"}] * 10)
        job.status = ImportStatus.BERJALAN  # a scheduler node is on it: the page asks every second
        job_id = job.id
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/impor/{job_id}")
    expect(page.locator("#import-progress[data-status=berjalan]")).to_be_visible()
    page.evaluate("document.querySelector('[role=status]:not([hidden]):not(#import-progress *)').dataset.kept = '1'")
    with db.transaction() as s:
        done = s.get(ImportJob, job_id)
        done.status, done.rows_done, done.message = ImportStatus.SELESAI, 10, "10 baris baru"
    expect(page.locator("#import-progress[data-status=selesai]")).to_be_visible(timeout=10_000)
    # the region the screen reader was told about at the start is the one that now says the outcome
    expect(page.locator("[data-kept='1']")).to_contain_text("10 baris baru")
    operator.check()


def test_the_quality_page_reflows_at_320_px(db, people, sign_in):
    province = sign_in("valid.prov", PASSWORD, phone=True)
    page = province.page
    page.set_viewport_size({"width": 320, "height": 640})
    province.go("/mutu/")
    page.wait_for_selector("#trend[data-state=done], #trend[data-state=error]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_verdict_key_decides_the_card_the_keyboard_is_in(db, people, sign_in):
    """j reaches the first card; Tab goes on into the second; t there marks the second, not the first."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    verifier = sign_in("verif.kec", PASSWORD)
    page = verifier.go(f"/tugas/{task.id}?tampil=semua")
    cards = page.locator("li.card[id^=item-]")
    assert cards.count() >= 2
    first, second = (cards.nth(i).get_attribute("id").split("-")[1] for i in (0, 1))
    page.keyboard.press("j")
    page.locator(f"#v-{second}-ok").focus()
    page.keyboard.press("t")
    assert page.locator(f"#v-{second}-no").is_checked()
    assert not page.locator(f"#v-{first}-no").is_checked()
    assert page.evaluate(FOCUSED) == f"alasan-{second}"


def test_a_task_page_zoomed_to_200_percent_on_a_phone_fits_and_keeps_the_screen(db, people, sign_in):
    """360 × 740 at 200 %: 180 × 370 CSS pixels. Nothing scrolls sideways, and the header scrolls away
    instead of covering a third of the screen."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    verifier = sign_in("verif.kec", PASSWORD, phone=True)
    page = verifier.page
    page.set_viewport_size({"width": 180, "height": 370})
    for path in (f"/tugas/{task.id}", "/tugas/"):
        verifier.go(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 180, path
        assert page.evaluate("getComputedStyle(document.querySelector('header.top')).position") == "static", path


def test_deploying_by_keyboard_keeps_the_focus_on_the_editor(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go("/admin/definisi/1/ubah")
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    page.locator("#bpmn-deploy").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#bpmn-status")).not_to_be_empty(timeout=10_000)
    expect(page.locator("#bpmn-deploy")).to_be_enabled(timeout=10_000)
    assert page.evaluate(FOCUSED) == "bpmn-deploy"


def waiting_at_kabupaten(db, sign_in):
    """A submission the kecamatan approved, its task chosen in the regency verifier's inbox."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    task = open_task(db, sid, "kabupaten")
    page = sign_in("verif.kab", PASSWORD).go("/tugas/")
    page.locator(f"input[name=task_id][value='{task.id}']").check()
    return sid, task, page


def test_a_bulk_return_without_a_reason_is_stopped_at_the_reason_keeping_the_choice(db, people, sign_in):
    sid, task, page = waiting_at_kabupaten(db, sign_in)
    page.locator("details.bulk-return summary").click()
    page.get_by_role("button", name="Kembalikan yang dipilih").click()
    reason = page.locator("#alasan-massal")
    expect(reason).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(FOCUSED) == "alasan-massal"
    assert page.locator(f"input[name=task_id][value='{task.id}']").is_checked()  # the choice kept: nothing sent
    assert open_task(db, sid, "kabupaten").id == task.id
    follow(page, page.get_by_role("button", name="Klaim yang dipilih"))  # the other buttons still work
    assert open_task(db, sid, "kabupaten").assignee_id is not None
