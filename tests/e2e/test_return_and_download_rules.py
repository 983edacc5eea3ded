"""What the pages promise a person who comes back, downloads, chooses or types: a form left "on its way"
when the person went back to it with the browser's back button can be sent again, and an upload no longer
says it is going; the audit trail's export can be asked again a little after the file came, never twice by a
double click; an administrator who frees a claim from a person's page is back on that page; a category
walked to by keyboard opens when the list is left; minutes chosen again within their limit can be sent;
the task page's keys never take a letter typed into a reason nor act with Ctrl or Alt, and the item they
reach is not hidden under the header; the inbox asks before approving the tasks chosen, and a bulk return
stopped for its reason goes once it is typed; and a task's diagram that cannot be loaded says why."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from engine.verification import claims
from models import AuditEvent, HumanTask, Submission
from tests.e2e.conftest import follow, shows
from tests.e2e.test_accessibility_states import waiting_at_kabupaten
from tests.e2e.test_entry_form import _typed
from tests.e2e.test_operator_on_weak_phone import _typed_entry
from tests.e2e.test_page_script_rules import FOCUSED_CARD as FOCUSED
from tests.e2e.test_page_script_rules import _task_at_kecamatan
from tests.factories import PASSWORD, actor, csv_of, open_task, open_with_items, person_row, submit

PDF = b"%PDF-1.4\n"
# The sending is counted where the browser would start it, and held there: the page stays as it was
# when the person left it, its form marked as on its way.
HOLD = """() => {
  window.sent = [];
  window.addEventListener("submit", e => { window.sent.push(!e.defaultPrevented); e.preventDefault(); });
}"""
# The browser shows the page again from its back/forward cache, as after the back button.
BACK = "() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"


def _verdicts_sent(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/putusan" in request.url else None)
    return sent


def _tap(page, selector: str) -> list[bool]:
    return page.evaluate("sel => { document.querySelector(sel).click(); return window.sent; }", selector)


# ---- back to a page the browser kept -------------------------------------------------------------


def test_an_entry_form_the_operator_comes_back_to_can_be_saved_again(db, people, sign_in):
    """She saved, went on, and came back with the back button: the form is not stuck "on its way"."""
    sid, operator, page, row = _typed_entry(db, sign_in)
    operator.page.clock.install()  # the time a form stays "on its way" passes only when the test says
    page.evaluate(HOLD)
    save = "form[data-keep-entry] button[type=submit]"
    assert _tap(page, save) == [True]
    assert _tap(page, save) == [True, False]  # still on its way: a second tap sends nothing
    page.evaluate(BACK)
    assert _tap(page, save) == [True, False, True]
    assert page.get_by_label("NIK").input_value() == row["nik"]


def test_an_upload_page_come_back_to_no_longer_says_it_is_uploading_and_sends_again(db, people, sign_in, tmp_path):
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    operator.page.clock.install()
    page = operator.go(f"/desa/pengajuan/{sid}/impor")
    upload = tmp_path / "baru.csv"
    upload.write_text(csv_of([person_row(7)]))
    page.get_by_label("Berkas (.xlsx atau .csv", exact=False).set_input_files(str(upload))
    page.evaluate(HOLD)
    send = "form[enctype='multipart/form-data'] button[type=submit]"
    assert _tap(page, send) == [True]
    said = page.locator(".upload-state")
    expect(said).to_have_count(1)
    page.evaluate(BACK)
    expect(said).to_have_count(0)  # nothing is on its way any more: the page does not say so
    assert _tap(page, send) == [True, True]
    expect(said).to_have_count(1)  # said once, for the upload now going


# ---- a download asked again ----------------------------------------------------------------------


def _exports(db) -> int:
    with db.read() as s:
        return len(s.scalars(select(AuditEvent.seq).where(AuditEvent.action == "TRAIL_EXPORTED")).all())


def test_the_audit_trails_export_can_be_asked_again_once_the_first_has_had_its_time(db, people, sign_in):
    """A download leaves the page where it is. A double click downloads once; ten seconds later the
    auditor may ask again (another reason, another copy), and each export is on the trail."""
    auditor = sign_in("auditor.prov", PASSWORD)
    auditor.page.clock.install()
    page = auditor.go("/audit/")
    page.get_by_label("Alasan ekspor").fill("Pemeriksaan Inspektorat triwulan IV")
    button = page.get_by_role("button", name="Ekspor jejak audit (CSV)")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    with page.expect_download() as got:
        button.click()
    assert got.value.suggested_filename.startswith("jejak-audit-65-")
    button.click()  # a second click while the first file is coming
    page.clock.run_for(9_000)
    button.click()  # nine seconds on, still held: the file may yet be on its way
    page.wait_for_timeout(300)
    assert len(posts) == 1 and _exports(db) == 1
    page.clock.run_for(1_000)
    with page.expect_download() as again:
        button.click()
    assert again.value.suggested_filename.startswith("jejak-audit-65-")
    assert len(posts) == 2 and _exports(db) == 2


# ---- an administrator frees a claim --------------------------------------------------------------


def test_an_administrator_who_frees_a_claim_is_back_on_that_persons_page(db, people, sign_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kec"), task.id)
    person = f"/admin/pengguna/{actor(db, 'verif.kec').user.id}"
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go(person)
    held = page.locator("#klaim li", has_text=f"#{task.id}")
    follow(page, held.get_by_role("button", name="lepas klaim"))
    shows(page, "Klaim tugas dilepas.")
    assert page.url == f"{admin.base}{person}"
    expect(page.locator("#klaim")).to_have_text("Tidak ada.")
    with db.read() as s:
        assert s.get(HumanTask, task.id).assignee_id is None


# ---- choosing, typing and keys -------------------------------------------------------------------


def _walked_one_category_on(db, sign_in):
    """The operator has typed a person and walked the category list one step down by keyboard."""
    operator, page, row = _typed(db, sign_in, 8)
    choice = page.locator("#ganti-kategori")
    choice.focus()
    choice.press("ArrowDown")
    chosen = choice.input_value()
    assert chosen != "LUT" and "kategori=LUT" in page.url
    return page, row, choice, chosen


def test_a_category_walked_to_by_keyboard_opens_once_another_field_is_chosen(db, people, sign_in):
    page, row, choice, chosen = _walked_one_category_on(db, sign_in)
    with page.expect_navigation():
        page.get_by_label("Alamat").click()
    page.wait_for_url(f"**kategori={chosen}**")
    assert page.get_by_label("NIK").input_value() == row["nik"]


def test_a_category_walked_to_by_keyboard_opens_once_the_list_is_left_with_tab(db, people, sign_in):
    """The list shows the category chosen: the form below must be that category's."""
    page, row, choice, chosen = _walked_one_category_on(db, sign_in)
    choice.press("Tab")
    page.wait_for_url(f"**kategori={chosen}**", timeout=5_000)
    assert page.get_by_label("NIK").input_value() == row["nik"]


def test_minutes_chosen_again_within_the_limit_can_be_sent(db, people, sign_in):
    """A file over the limit is refused when chosen; the right file chosen next is not held back."""
    sid = open_with_items(db, rows=[])
    page = sign_in("op.desa", PASSWORD, phone=True).go(f"/desa/pengajuan/{sid}")
    field = page.locator("#berkas-ba")
    field.set_input_files({"name": "ba.pdf", "mimeType": "application/pdf", "buffer": PDF + b"0" * (11 << 20)})
    assert field.evaluate("input => input.validationMessage") != ""
    field.set_input_files({"name": "ba.pdf", "mimeType": "application/pdf", "buffer": PDF})
    assert field.evaluate("input => input.validity.valid")


def test_a_decisions_reason_typed_by_keyboard_keeps_every_letter(db, people, sign_in):
    """j, k, s and t move between and decide items elsewhere on the task page, never inside the reason."""
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    reason = page.locator("#alasan")
    reason.press_sequentially("Kepala desa tidak tanda tangan; jangan setujui")
    assert reason.input_value() == "Kepala desa tidak tanda tangan; jangan setujui"
    assert page.evaluate(FOCUSED) == "alasan"


def test_an_item_reached_with_j_comes_out_below_the_sticky_header(db, people, sign_in):
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    for _ in range(3):
        page.keyboard.press("j")
    card = page.locator("li.card[id^=item-]").nth(2).bounding_box()
    header = page.locator("header.top").bounding_box()
    assert card and header and card["y"] >= header["y"] + header["height"], (card, header)


def test_a_browser_shortcut_pressed_on_an_item_gives_no_verdict(db, people, sign_in):
    """Ctrl+S (saving the page) on an item reached with j is not "sesuai"."""
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    sent = _verdicts_sent(page)
    page.keyboard.press("j")
    page.keyboard.press("Control+s")
    page.keyboard.press("Alt+t")
    page.wait_for_timeout(300)
    assert page.locator("input[type=radio][name^=verdict_]:checked").count() == 0
    assert sent == []


# ---- the inbox's choices and the task's diagram --------------------------------------------------


def test_tasks_chosen_in_the_inbox_are_not_approved_when_the_question_is_answered_no(db, people, sign_in):
    sid, task, page = waiting_at_kabupaten(db, sign_in)
    page.evaluate("() => { window.asked = []; window.confirm = q => { window.asked.push(q); return false; }; }")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.get_by_role("button", name="Setujui yang dipilih").click()
    page.wait_for_timeout(500)
    assert "Setujui semua tugas yang dipilih?" in page.evaluate("() => window.asked.join(' ')")
    assert posts == []
    assert open_task(db, sid, "kabupaten").id == task.id


def test_a_bulk_return_stopped_for_its_reason_goes_once_the_reason_is_typed(db, people, sign_in):
    sid, task, page = waiting_at_kabupaten(db, sign_in)
    page.locator("details.bulk-return summary").click()
    back = page.get_by_role("button", name="Kembalikan yang dipilih")
    back.click()
    reason = page.locator("#alasan-massal")
    expect(reason).to_have_attribute("aria-invalid", "true")
    reason.press_sequentially("Berita acara belum ditandatangani")
    expect(reason).not_to_have_attribute("aria-invalid", "true")  # no longer said to be wrong
    follow(page, back)
    shows(page, "1 tugas dikembalikan.")
    with db.read() as s:
        assert s.get(Submission, sid).status.value == "dikembalikan"


def test_a_tasks_diagram_that_cannot_be_loaded_says_why(db, people, sign_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    verifier = sign_in("verif.kec", PASSWORD)
    verifier.page.route("**/definisi/*/xml", lambda route: route.fulfill(status=503, body="sibuk"))
    page = verifier.go(f"/tugas/{task.id}")
    diagram = page.locator(".bpmn-viewer")
    expect(diagram).to_have_attribute("data-state", "error")
    expect(diagram.get_by_role("alert")).to_have_text("Diagram tidak dapat dimuat: server menjawab HTTP 503")
