"""The bell in a browser: a new task appears after a cycle opens."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.verification import cycles
from tests.factories import PASSWORD, SYSTEM


def test_the_bell_shows_a_new_task_after_a_cycle_opens(db, people, sign_in):  # noqa: F811
    operator = sign_in("op.desa", PASSWORD)
    page = operator.go("/desa/")
    assert page.locator("#unread-count").inner_text() == "0"
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    page.reload()
    assert int(page.locator("#unread-count").inner_text()) >= 1
    page.locator("#bell").click()
    expect(page.locator(".notifications li.unread").first).to_be_visible()
    expect(page.locator("body")).to_contain_text(
        re.compile("Siklus pemutakhiran 2027-Q1 dibuka|Tugas baru"), timeout=20_000
    )
    operator.shot("pemberitahuan")
    page.get_by_role("button", name="Tandai semua sudah dibaca").click()
    expect(page.locator("#unread-count")).to_have_text("0")  # on the page the answer loads
