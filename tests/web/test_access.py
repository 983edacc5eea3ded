"""The access matrix: every role against every route, and against a region that is not theirs.

A page of the wrong role answers 403; an object of another region or tier answers 404, whether
it is reached by link, by a guessed id or by a form post. Nothing changes on a refused post.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core import clock
from models import AuditEvent

ROLES = [
    "op.desa",
    "op.lain",
    "verif.kec",
    "verif.kec.lain",
    "verif.kab",
    "verif.kab.lain",
    "valid.prov",
    "admin.prov",
    "auditor.prov",
    "auditor.kab.lain",
]

OVERSEERS = {"verif.kab", "verif.kab.lain", "valid.prov", "admin.prov", "auditor.prov", "auditor.kab.lain"}

# route -> the people who get 200 (or a redirect after a post); the rest get 403 (wrong role) or 404.
MATRIX = [
    ("GET", "/desa/", {"op.desa", "op.lain"}),
    ("GET", "/desa/pengajuan/{draft}", {"op.desa"}),
    ("GET", "/desa/pengajuan/{draft}/item/baru?kategori=LUT", {"op.desa"}),
    ("GET", "/desa/pengajuan/{draft}/impor", {"op.desa"}),
    ("GET", "/desa/pengajuan/{draft}/register", {"op.desa"}),
    ("GET", "/desa/templat?kategori=LUT", {"op.desa", "op.lain"}),
    ("POST", "/desa/pengajuan/{draft}/periksa", {"op.desa"}),
    ("POST", "/desa/pengajuan/{draft}/ajukan", {"op.desa"}),
    ("GET", "/tugas/", {"verif.kec", "verif.kec.lain", "verif.kab", "verif.kab.lain", "valid.prov"}),
    ("GET", "/tugas/{kab_task}", {"verif.kab"}),
    ("POST", "/tugas/{kab_task}/klaim", {"verif.kab"}),
    ("POST", "/tugas/{kab_task}/selesai", {"verif.kab"}),
    ("POST", "/tugas/{kab_task}/putusan", {"verif.kab"}),
    ("POST", "/tugas/setujui", {"verif.kab", "verif.kab.lain", "valid.prov"}),
    ("GET", "/admin/", {"admin.prov"}),
    ("GET", "/admin/pengguna", {"admin.prov"}),
    ("GET", "/admin/definisi/1/ubah", {"admin.prov"}),
    ("GET", "/admin/wilayah?q=tanjung", {"admin.prov"}),
    ("GET", "/audit/", {"auditor.prov", "auditor.kab.lain"}),
    ("GET", "/audit/catatan/{record}", {"auditor.prov"}),
    ("GET", "/audit/instans/{instance}", {"auditor.prov"}),
    ("POST", "/audit/ekspor.csv", {"auditor.prov"}),
    ("GET", "/mutu/", OVERSEERS),
    ("GET", "/mutu/seri?wilayah=65.01&kategori=LUT", {"verif.kab", "valid.prov", "admin.prov", "auditor.prov"}),
    ("GET", "/siklus/", OVERSEERS | {"verif.kec", "verif.kec.lain"}),
    ("GET", "/admin/jadwal", {"admin.prov"}),
    ("GET", "/notifikasi/", set(ROLES)),
]
ROLE_OF = {"op": "operator", "verif": "verifier", "valid": "validator", "admin": "admin", "auditor": "auditor"}
PAGE_ROLES = {
    "/desa": {"op"},
    "/tugas": {"verif", "valid"},
    "/admin": {"admin"},
    "/audit": {"auditor"},
    "/mutu": {"verif", "valid", "admin", "auditor"},
    "/siklus": {"verif", "valid", "admin", "auditor"},
    "/notifikasi": {"op", "verif", "valid", "admin", "auditor"},
}


def _expected_refusal(path: str, username: str) -> set[int]:
    prefix = "/" + path.split("/")[1]
    allowed_kinds = PAGE_ROLES[prefix]
    # the right kind of person for another region or tier: the object does not exist for them (404), or
    # the page is for a higher tier of the same role (403); the wrong kind of person: 403
    return {403, 404} if username.split(".")[0] in allowed_kinds else {403}


def _answers(signed_in, db, method: str, path: str, allowed: set[str]) -> list[str]:
    """Each person's answer to one route; returns what differs from the matrix."""
    wrong = []
    for username in ROLES:
        browser = signed_in(username)  # one fresh client per person
        with db.read() as s:
            before = s.scalar(select(func.count()).select_from(AuditEvent))
        response = (
            browser.get(path) if method == "GET" else browser.post(path, {"keputusan": "setuju", "revisi_instans": ""})
        )
        status = response.status_code
        response.close()
        if username in allowed:
            # 409: let in, and asked to claim the task first
            if status not in (200, 302, 303, 400, 409):
                wrong.append(f"{username} {method} {path}: {status}, expected to be let in")
            continue
        if status not in _expected_refusal(path, username):
            wrong.append(f"{username} {method} {path}: {status}, expected {sorted(_expected_refusal(path, username))}")
        with db.read() as s:
            if s.scalar(select(func.count()).select_from(AuditEvent)) != before:
                wrong.append(f"{username} changed something through {method} {path}")
    return wrong


def test_every_page_answers_each_person_as_the_matrix_says(signed_in, db, world):
    """Pages change nothing, so one world serves them all."""
    wrong = []
    for method, template, allowed in MATRIX:
        if method == "GET":
            wrong += _answers(signed_in, db, method, template.format(**world.__dict__), allowed)
    assert not wrong, "\n".join(wrong)


POSTS = [(t, allowed) for method, t, allowed in MATRIX if method == "POST"]


@pytest.mark.parametrize("template, allowed", POSTS, ids=[t for t, _ in POSTS])
def test_every_form_answers_each_person_as_the_matrix_says(signed_in, db, world, template, allowed):
    """A post may change the world when allowed: each route gets a fresh one."""
    wrong = _answers(signed_in, db, "POST", template.format(**world.__dict__), allowed)
    assert not wrong, "\n".join(wrong)


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(browser, db, world):
    browser.login("verif.kab")
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    refused = browser.client.post(f"/tugas/{world.kab_task}/selesai", data={"keputusan": "setuju"})
    assert refused.status_code == 400 and "kedaluwarsa" in refused.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_pages_need_a_signed_in_person(browser, world):
    for path in ("/desa/", "/tugas/", f"/tugas/{world.kab_task}", "/admin/", "/audit/"):
        response = browser.get(path)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_a_deactivated_person_is_signed_out_at_once(app, browser, db, world):
    from engine.core.actors import Actor
    from engine.people import administration as admin

    browser.login("verif.kab")
    assert browser.get("/tugas/").status_code == 200
    with db.transaction() as s:
        from engine.people.users import find_user

        admin.set_active(s, Actor.system("test"), find_user(s, "verif.kab").id, False)
    assert browser.get("/tugas/").status_code == 302


def test_login_attempts_are_throttled(browser, people):
    with clock.frozen_at(clock.now()):  # the first wait is a second: a slow machine could outlast it
        for _ in range(5):
            assert browser.login("verif.kab", "bukan-sandinya").status_code == 401
        throttled = browser.login("verif.kab")  # even the right password waits now
    assert throttled.status_code == 429 and "Terlalu banyak" in throttled.get_data(as_text=True)


def test_a_wrong_password_keeps_the_username_and_asks_only_for_the_password(browser, people):
    refused = browser.login("verif.kab", "bukan-sandinya").get_data(as_text=True)
    assert 'name="username" value="verif.kab"' in refused and "bukan-sandinya" not in refused
    assert 'type="password" autocomplete="current-password" required autofocus' in refused


def test_session_cookie_is_http_only_and_same_site(browser, people):
    response = browser.login("verif.kab")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_every_role_starts_where_its_work_is(browser, db, people, password_hash):
    from engine.people import users
    from tests.factories import RECONCILIATION_PEOPLE, SYSTEM

    with db.transaction() as s:
        for username, role, region in RECONCILIATION_PEOPLE:
            users.add_user(s, SYSTEM, username, role, region).password_hash = password_hash
    starts = {"op.desa": "/desa/", "verif.kec": "/tugas/", "admin.prov": "/admin/", "auditor.prov": "/audit/"}
    starts |= {username: "/tugas/" for username, _, _ in RECONCILIATION_PEOPLE}
    for username, start in starts.items():
        browser.login(username)
        landed = browser.get("/")
        assert landed.status_code == 302 and landed.headers["Location"].endswith(start), (username, landed.headers)
        assert browser.get(start).status_code == 200
