"""An upload's progress on a weak connection: when the page's updates stop arriving it says so, and it
catches up by itself once they come again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.verification import imports
from models import ImportJob, ImportStatus
from tests.factories import PASSWORD, SYSTEM, open_with_items


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_the_import_page_says_when_its_updates_stop_arriving(db, people, sign_in, phone):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job = imports.create_job(s, SYSTEM, sid, "besar.csv", [{"nama": "x"}] * 10)
        job.status = ImportStatus.BERJALAN  # a scheduler node is on it: the page asks every second
        job_id = job.id
    operator = sign_in("op.desa", PASSWORD, phone=phone)
    page = operator.go(f"/desa/impor/{job_id}")
    offline = page.locator("#impor-terputus")
    expect(offline).to_be_hidden()
    status_url = f"**/desa/impor/{job_id}"
    page.route(status_url, lambda route: route.abort("internetdisconnected"))
    expect(offline).to_be_visible(timeout=10_000)
    operator.check()
    page.unroute(status_url)
    with db.transaction() as s:
        done = s.get(ImportJob, job_id)
        done.status, done.rows_done, done.message = ImportStatus.SELESAI, 10, "10 baris baru"
    expect(page.locator("#import-progress[data-status=selesai]")).to_be_visible(timeout=10_000)
    expect(offline).to_have_count(0)
    expect(page.locator("#import-progress")).to_contain_text("10 baris baru")
