"""A real browser (Debian's Chromium, driven by Playwright) against the app served by waitress."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from waitress.server import create_server

from engine.core import clock
from engine.verification import imports
from web.app import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("SIJOSKU_SCREENSHOTS")  # a folder: save the key pages there (web/manual/screenshots)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}  # a village operator's phone
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# the elements that stick out of a phone's screen, innermost first: what to fix
WIDE = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
    Math.round(e.getBoundingClientRect().right) + ': ' + (e.textContent || '').trim().slice(0, 40))"""
# axe-core's findings that would stop a person: serious and critical ones
# table headings broken inside a word (a word whose text spans more than one line box): unreadable
BROKEN_WORDS = """() => Array.from(document.querySelectorAll('table th')).flatMap(th => {
  const text = th.firstChild;
  if (!text || text.nodeType !== Node.TEXT_NODE) { return []; }
  const broken = [];
  for (const m of text.data.matchAll(/\\S+/g)) {
    const range = document.createRange();
    range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
    if (new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size > 1) { broken.push(m[0]); }
  }
  return broken;
}).slice(0, 5)"""
AXE_RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))"""


def follow(page: Page, target: Locator) -> Page:
    """Click what takes the page elsewhere (a link, a form's button) and wait until the page it leads
    to has loaded: read straight after the click, the page being left may still be the one shown."""
    with page.expect_navigation():
        target.click()
    return page


def shows(page: Page, *texts: str) -> None:
    """The page, once it has finished loading after a click, says each text. A form's answer arrives
    by navigation, and reading the page mid-way finds it empty: waiting for the words is what a
    person does too."""
    for text in texts:
        expect(page.locator("body")).to_contain_text(text, timeout=20_000)


@pytest.fixture
def live_server(db) -> Iterator[str]:
    """The web server, and beside it the part of a scheduler node that runs uploaded imports (the
    other scheduled jobs would move the tests' clock-bound work on their own)."""
    app = create_app(db.settings, db)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:  # the socket closed under the loop's select() at the end (EBADF): expected then
            if not stop.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def import_node() -> None:
        while not stop.wait(0.2):
            imports.run_waiting_jobs(db, clock.now(), poll=0)

    importer = threading.Thread(target=import_node, daemon=True)
    importer.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    stop.set()
    importer.join(10)
    server.close()
    thread.join(5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium tidak terpasang: `make test` memasangnya (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Person:
    """One person in their own browser session."""

    def __init__(self, browser: Browser, base: str, username: str, password: str, phone: bool = False) -> None:
        self.phone = phone
        # bypass_csp: axe-core is injected as an inline script; the policy itself is tested on the responses
        self.context = browser.new_context(
            viewport=PHONE if phone else DESKTOP, locale="id-ID", has_touch=phone, bypass_csp=True
        )
        self.page: Page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda dialog: dialog.accept())  # the person confirms what they asked for
        self.page.goto(f"{base}/masuk")
        self.page.get_by_label("Nama pengguna").fill(username)
        self.page.get_by_label("Kata sandi").fill(password)
        follow(self.page, self.page.get_by_role("button", name="Masuk"))
        assert "/masuk" not in self.page.url, f"{username} could not sign in"

    def go(self, path: str) -> Page:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            suffix = "-ponsel" if self.phone else ""
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}{suffix}.png"), full_page=True)

    def check(self) -> None:
        """The page as a person meets it: nothing serious for axe-core, and on a phone no sideways
        scrolling."""
        self.page.wait_for_load_state()
        if self.phone:
            width = self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{self.page.url}: {width} px wide on a phone: {self.page.evaluate(WIDE)}"
            broken = self.page.evaluate(BROKEN_WORDS)
            assert not broken, f"{self.page.url}: table headings broken inside a word on a phone: {broken}"
            header = self.page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")
            assert header <= PHONE["height"] / 5, f"{self.page.url}: the header takes {header} px of the phone"
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate(AXE_RUN)
        assert not found, f"{self.page.url}: {found}"

    def visible(self, locator: Any) -> None:
        """A primary action is on the page and can be reached (scrolled to) without sideways scrolling."""
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        width = PHONE["width"] if self.phone else DESKTOP["width"]
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{locator} at {box}"
        assert not self.phone or box["height"] >= 44, f"{locator} is {box['height']} px tall: too small for a finger"

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors: {self.errors}"
        self.context.close()


@pytest.fixture
def sign_in(chromium, live_server):
    people: list[Person] = []

    def open_session(username: str, password: str, phone: bool = False) -> Person:
        person = Person(chromium, live_server, username, password, phone)
        people.append(person)
        return person

    yield open_session
    for person in people:
        person.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With several test workers, the browser tests share one worker and one Chromium."""
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.xdist_group("chromium"))
