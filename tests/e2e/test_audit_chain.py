"""An auditor checks a long hash chain in the browser: a slice per page, each going on by itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route

from engine.verification import trail
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD
from tests.web.conftest import world  # noqa: F401  (a trail of a few dozen rows)


def _held(route: Route) -> None:
    """The first slice's page as a browser without scripts gets it: it waits for its button."""
    answer = route.fetch()
    route.fulfill(response=answer, body=answer.text().replace("data-submit-on-load", ""))


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_the_chain_is_checked_slice_by_slice_showing_how_far_it_has_come(world, sign_in, phone, monkeypatch):  # noqa: F811
    monkeypatch.setattr(trail, "VERIFY_SLICE", 5)
    auditor = sign_in("auditor.prov", PASSWORD, phone)
    page = auditor.go("/audit/")
    slices: list[str] = []
    page.on("request", lambda r: slices.append(r.url) if r.url.endswith("/audit/verifikasi") else None)
    page.route("**/audit/verifikasi", _held)
    follow(page, page.get_by_role("button", name="Periksa rantai hash"))
    progress = page.locator("#kemajuan-rantai")
    assert progress.get_attribute("value") == "5" and int(progress.get_attribute("max") or 0) > 5
    shows(page, "Memeriksa rantai: 5 dari")
    auditor.check()  # the progress on a phone too
    auditor.visible(page.get_by_role("button", name="Lanjutkan pemeriksaan"))
    page.unroute("**/audit/verifikasi")
    page.get_by_role("button", name="Lanjutkan pemeriksaan").click()  # then it goes on by itself
    shows(page, "Rantai utuh")
    assert len(slices) > 3 and page.locator("#kepala-rantai").count() == 1
    auditor.check()
