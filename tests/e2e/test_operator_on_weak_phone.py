"""The village operator as she works: on a 360×740 phone, in Indonesian, over a weak line (400 kbit/s,
400 ms each way) that drops now and then. Each page she uses stays light and fits the phone, and asks
for its styles and scripts only once; a double tap on a slow line sends once; an entry whose answer
was lost is kept once when sent again; an entry sent while offline stays on the form with a message
and goes once the line is back; a session ended in another tab leads to sign-in and back to the form
with what was typed; the operator's chapter of the manual, read to its end, stays light."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from models import HumanTask, SubmissionItem, TaskStatus
from tests.e2e.conftest import PHONE, follow, shows
from tests.factories import PASSWORD, open_with_items, person_row

KBIT = 1000 // 8  # bytes per second in one kbit/s
WEAK = {"offline": False, "latency": 400, "downloadThroughput": 400 * KBIT, "uploadThroughput": 400 * KBIT}
# what a finger meets that is smaller than 24 × 24 CSS px (WCAG 2.5.8); a link inside a sentence is exempt
SMALL_TARGETS = """() => Array.from(document.querySelectorAll('a, button, input, select, textarea, summary'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.width < 24 || r.height < 24); })
  .filter(e => !(e.tagName === 'A' && getComputedStyle(e).display === 'inline' && e.closest('p, li, td, small')))
  .map(e => e.tagName + '#' + e.id + ' ' + (e.textContent || e.name || '').trim().slice(0, 30))"""
# the interface words an English leftover would show (the whole word, any case)
ENGLISH = re.compile(
    r"\b(save|submit|cancel|error|loading|please|upload|delete|edit|search|next|previous|back|sign (in|out)|"
    r"log ?(in|out)|password|help|choose|required|saved|failed|retry|offline)\b",
    re.IGNORECASE,
)
SHOWN_TEXT = """() => document.body.innerText + ' ' + Array.from(document.querySelectorAll('[aria-label], [title]'
  + ', [placeholder]')).map(e => [e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('placeholder')]
  .filter(Boolean).join(' ')).join(' ')"""


class Line:
    """The phone's connection, seen from the browser (Chrome's DevTools protocol): throttled, and what
    each page asked the server for, in bytes and in requests (a reply from the browser's cache is none)."""

    def __init__(self, person: Any, conditions: dict[str, Any] = WEAK) -> None:
        self.cdp = person.context.new_cdp_session(person.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", conditions)
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        self.sizes: dict[str, int] = {}
        self.cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        self.cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        self.cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def reset(self) -> None:
        self.urls.clear()
        self.cached.clear()
        self.sizes.clear()

    def asked(self) -> list[str]:
        """The addresses asked of the server (not answered from the browser's cache)."""
        return [url for rid, url in self.urls.items() if rid not in self.cached and url.startswith("http")]

    def bytes(self) -> int:
        return sum(size for rid, size in self.sizes.items() if rid not in self.cached)


def _items(db, sid: int) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(SubmissionItem).where(SubmissionItem.submission_id == sid))


def _typed_entry(db, sign_in) -> tuple[int, Any, Any, dict[str, Any]]:
    """On her phone the operator has filled in a new person's form (LUT) and not yet saved it."""
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT")
    row = person_row(5)
    page.get_by_label("NIK").fill(row["nik"])
    page.get_by_label("Nama lengkap").fill(row["nama"])
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Tanggal lahir").fill(row["tanggal_lahir"])
    page.get_by_label("Alamat").fill(row["alamat"])
    return sid, operator, page, row


def _still_typed(page, row: dict[str, Any]) -> None:
    assert page.get_by_label("NIK").input_value() == row["nik"]
    assert page.get_by_label("Nama lengkap").input_value() == row["nama"]
    assert page.get_by_label("Tanggal lahir").input_value() == row["tanggal_lahir"]
    assert page.get_by_label("Alamat").input_value() == row["alamat"]


def _tap_twice(page, target) -> None:
    """Two quick taps of a finger, the second while the first one's page is still on its way."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)


def test_each_page_the_operator_uses_is_light_fits_the_phone_and_speaks_indonesian(db, people, sign_in):
    """Inbox, submission, entry form, upload, register and help over the weak line: each under 80 KB
    and 6 requests (styles and scripts included), no sideways scrolling, nothing too small for a
    finger, no English word of the interface, and axe-core clean."""
    sid = open_with_items(db)
    operator = sign_in("op.desa", PASSWORD, phone=True)
    line = Line(operator)
    pages = [
        "/desa/",
        f"/desa/pengajuan/{sid}",
        f"/desa/pengajuan/{sid}/item/baru?kategori=LUT",
        f"/desa/pengajuan/{sid}/impor",
        f"/desa/pengajuan/{sid}/register?status=semua",
        "/bantuan/",
    ]
    weights = {}
    for path in pages:
        line.reset()
        page = operator.go(path)
        page.wait_for_load_state("networkidle")
        weights[path] = (line.bytes(), len(line.asked()))
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"], path
        assert page.evaluate(SMALL_TARGETS) == [], path
        assert not ENGLISH.findall(page.evaluate(SHOWN_TEXT)), path
        operator.check()
    heavy = {path: weight for path, weight in weights.items() if weight[0] > 80_000 or weight[1] > 6}
    assert not heavy, f"(bytes, requests) over the weak line: {heavy}"


def test_a_double_tap_on_ajukan_over_a_slow_line_sends_the_submission_once(db, people, sign_in):
    sid = open_with_items(db)
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}")
    Line(operator, {**WEAK, "latency": 1500})  # the first tap's page is long on its way
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    _tap_twice(page, page.get_by_role("button", name="Ajukan untuk verifikasi"))
    shows(page, "menunggu verifikasi kecamatan")
    assert [url.split("/")[-1] for url in posts] == ["ajukan"]  # the second tap sent nothing
    assert "tidak dapat diubah sekarang" not in page.locator("main").inner_text()  # no refusal of a second try
    with db.read() as s:
        opened = select(func.count()).select_from(HumanTask).where(HumanTask.submission_id == sid)
        assert s.scalar(opened.where(HumanTask.status == TaskStatus.TERBUKA)) == 1
    operator.check()


def test_a_double_tap_on_save_over_a_slow_line_keeps_one_entry(db, people, sign_in):
    """With real taps and a real slow line (test_entry_form holds the sending back by script)."""
    sid, operator, page, row = _typed_entry(db, sign_in)
    Line(operator, {**WEAK, "latency": 1500})
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    _tap_twice(page, page.get_by_role("button", name="Simpan"))
    shows(page, "Data tersimpan")
    assert len(posts) == 1 and _items(db, sid) == 1
    assert "sudah ada di pengajuan ini" not in page.locator("main").inner_text()


def test_an_entry_whose_answer_was_lost_is_kept_once_when_the_browser_sends_it_again(db, people, sign_in):
    """The form reached the server, its answer did not reach the phone; she reloads (the browser sends
    the form again): one entry, and the page says the person is already in this submission."""
    sid, operator, page, row = _typed_entry(db, sign_in)

    def answer_lost(route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fetch()  # the server saved it
        route.abort("connectionreset")  # and the line dropped on the way back

    page.route("**/item/baru*", answer_lost)
    page.get_by_role("button", name="Simpan").click()
    page.unroute("**/item/baru*")
    assert _items(db, sid) == 1
    page.reload()
    shows(page, "sudah ada di pengajuan ini")
    assert _items(db, sid) == 1
    operator.check()


def test_an_entry_sent_while_offline_is_held_with_an_indonesian_message_and_sent_once_back_online(db, people, sign_in):
    sid, operator, page, row = _typed_entry(db, sign_in)
    form_address = page.url
    operator.context.set_offline(True)
    page.get_by_role("button", name="Simpan").click()
    assert page.url == form_address, f"the form was replaced by {page.url}"
    said = page.get_by_role("alert").filter(has_text=re.compile("koneksi", re.IGNORECASE))
    expect(said).to_be_visible()
    assert not ENGLISH.findall(said.inner_text())
    _still_typed(page, row)
    operator.check()  # the offline state too: axe-core clean, nothing sideways
    assert _items(db, sid) == 0
    operator.context.set_offline(False)
    follow(page, page.get_by_role("button", name="Simpan"))  # once the line is back, the same tap
    shows(page, "Data tersimpan")
    assert _items(db, sid) == 1


def test_a_session_ended_in_another_tab_leads_to_sign_in_and_back_to_the_form_with_the_typing_kept(db, people, sign_in):
    sid, operator, page, row = _typed_entry(db, sign_in)
    form_address = page.url
    other = operator.context.new_page()  # another tab of the same phone: she signs out there
    other.goto(f"{operator.base}/desa/")
    other.get_by_role("button", name="Menu").click()
    follow(other, other.get_by_role("button", name="Keluar"))
    other.close()

    follow(page, page.get_by_role("button", name="Simpan"))
    assert "/masuk" in page.url, f"{page.url}: {page.locator('main').inner_text()[:200]}"
    expect(page.locator(".flash")).to_contain_text(re.compile("sesi", re.IGNORECASE))
    operator.check()
    page.get_by_label("Nama pengguna").fill("op.desa")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Masuk"))
    assert page.url == form_address  # back on the form she was on
    _still_typed(page, row)
    follow(page, page.get_by_role("button", name="Simpan"))
    shows(page, "Data tersimpan")
    assert _items(db, sid) == 1


def test_a_second_page_asks_the_server_again_for_no_style_or_script(db, people, sign_in):
    sid = open_with_items(db)
    operator = sign_in("op.desa", PASSWORD, phone=True)
    line = Line(operator)
    operator.go("/desa/").wait_for_load_state("networkidle")  # styles and scripts arrive once
    line.reset()
    page = operator.go(f"/desa/pengajuan/{sid}")
    page.wait_for_load_state("networkidle")
    asked = [url.removeprefix(operator.base) for url in line.asked()]
    assert f"/desa/pengajuan/{sid}" in asked
    assert [url for url in asked if url.endswith((".css", ".js"))] == [], asked


def test_the_operators_manual_read_to_its_end_on_a_phone_stays_under_150_kb(db, people, sign_in):
    operator = sign_in("op.desa", PASSWORD, phone=True)
    line = Line(operator)
    operator.go("/").wait_for_load_state("networkidle")  # styles and scripts already on the phone
    line.reset()
    page = operator.go("/bantuan/operator-desa")
    for image in page.locator("main img").all():  # read to the end: each screenshot comes into view
        image.scroll_into_view_if_needed()
    page.wait_for_function("Array.from(document.querySelectorAll('main img')).every(i => i.complete)")
    page.wait_for_load_state("networkidle")
    assert page.locator("main img").count() >= 2
    assert line.bytes() <= 150_000, f"{line.bytes()} bytes in {len(line.asked())} requests"
