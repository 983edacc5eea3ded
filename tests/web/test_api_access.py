"""Who opens the API: agency tokens only, each within its region, resources and rights."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.audit import AuditAction
from engine.verification import determinations
from models import AgencyToken, AuditEvent
from tests.factories import HISTORY, SYSTEM, person_row

READS = {
    "agregat": ("GET", "/api/v1/aggregates", {"wilayah": "{region}"}),
    "status": ("GET", "/api/v1/verification-status", {"periode": "2026-Q4", "wilayah": "{region}"}),
    "catatan": ("GET", "/api/v1/records", {"wilayah": "{region}"}),
}
WRITES = {
    "angka-instansi": (
        "/api/v1/agency-figures",
        {"baris": [{"kategori": "LUT", "kode_wilayah": "{region}", "periode": "2025", "nilai": 3}]},
    ),
    "pengajuan": ("/api/v1/submissions/{desa}/2026-Q4/items", {"baris": [person_row(30)]}),
}
MINE, OUTSIDE = "65.01", "65.02"
DESA = {"65.01": "65.01.01.2005", "65.02": "65.02.01.2001"}


def _fill(value, region):
    if isinstance(value, str):
        return value.format(region=region, desa=DESA[region])
    if isinstance(value, dict):
        return {k: _fill(v, region) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, region) for v in value]
    return value


@pytest.mark.parametrize("resource", sorted(READS))
@pytest.mark.parametrize("kind", ["reader", "writer", "other-resource", "none"])
def test_read_matrix(world, issue_token, api, resource, kind):
    """Each token kind × each read resource × its own region and one outside it."""
    held = {
        "reader": (resource,),
        "writer": (resource, "angka-instansi", "pengajuan"),
        "other-resource": tuple(r for r in READS if r != resource),
    }.get(kind)
    token = issue_token(MINE, held, can_write=kind == "writer") if held else None
    method, path, query = READS[resource]
    own = api(method, path, token, query_string=_fill(query, MINE))
    other = api(method, path, token, query_string=_fill(query, OUTSIDE))
    if kind in ("reader", "writer"):
        assert own.status_code == 200, own.get_json()
        assert other.status_code == 404 and other.content_type == "application/problem+json"
    elif kind == "other-resource":
        assert own.status_code == other.status_code == 403
    else:
        assert own.status_code == other.status_code == 401
        assert own.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["reader", "writer", "other-resource", "none"])
def test_determinations_matrix(db, world, issue_token, api, kind):
    """The published determinations: a token holding `penetapan` reads its region's figures only."""
    with db.transaction() as s:
        determinations.freeze(s, SYSTEM, determinations.Approval("65", 2026, "188.44/1/2027", date(2027, 1, 15)))
    held = {"reader": ("penetapan",), "writer": ("penetapan", "angka-instansi"), "other-resource": tuple(READS)}
    token = issue_token(MINE, held[kind], can_write=kind == "writer") if kind in held else None
    listed, year = api("GET", "/api/v1/determinations", token), api("GET", "/api/v1/determinations/2026", token)
    if kind in ("reader", "writer"):
        assert listed.status_code == year.status_code == 200
        assert all(f["wilayah"].startswith(MINE) for f in year.get_json()["data"])
        assert api("GET", "/api/v1/determinations/2026/export/csv", token).status_code == 404  # the province's alone
    else:
        assert listed.status_code == year.status_code == (403 if kind == "other-resource" else 401)


@pytest.mark.parametrize("resource", sorted(WRITES))
@pytest.mark.parametrize("kind", ["reader", "writer", "other-resource", "none"])
def test_write_matrix(db, world, issue_token, api, resource, kind):
    others = tuple(r for r in WRITES if r != resource)
    held = {"reader": (resource,), "writer": (resource,), "other-resource": others}.get(kind)
    token = issue_token(MINE, held, can_write=True) if held else None
    if kind == "reader":  # a token made before a written resource needed the right to send
        with db.transaction() as s:
            s.execute(update(AgencyToken).where(AgencyToken.prefix == token.split("_")[1]).values(can_write=False))
    path, body = WRITES[resource]
    own = api("POST", _fill(path, MINE), token, json=_fill(body, MINE))
    other = api("POST", _fill(path, OUTSIDE), token, json=_fill(body, OUTSIDE))
    if kind in ("reader", "other-resource", "none"):
        assert own.status_code == other.status_code == (401 if kind == "none" else 403)
        return
    assert own.status_code == 201, own.get_json()
    problem = other.get_json()
    if resource == "pengajuan":
        assert other.status_code == 404 and "tidak ada di wilayah" in problem["detail"]
    else:
        assert other.status_code == 400 and "di luar wilayah token" in problem["masalah"][0]["pesan"]


def test_a_signed_in_browser_does_not_open_the_api_and_a_token_opens_no_page(world, signed_in, issue_token, app):
    browser = signed_in("admin.prov")
    assert browser.get("/api/v1/aggregates").status_code == 401
    client = app.test_client()
    page = client.get("/admin/", headers={"Authorization": f"Bearer {issue_token()}"})
    assert page.status_code == 302 and "/masuk" in page.headers["Location"]


def test_revoked_expired_and_forged_tokens_are_refused(db, issue_token, api):
    token = issue_token()
    assert api("GET", "/api/v1/aggregates", token).status_code == 200
    assert api("GET", "/api/v1/aggregates", token[:-2] + "xx").get_json()["detail"] == "Token tidak dikenal"
    with db.transaction() as s:
        row = s.scalar(select(AgencyToken))
        row.expires_at = clock.now() - timedelta(seconds=1)
    assert api("GET", "/api/v1/aggregates", token).get_json()["detail"] == "Token sudah kedaluwarsa"
    with db.transaction() as s:
        row = s.scalar(select(AgencyToken))
        row.expires_at, row.revoked_at = clock.now() + timedelta(days=1), clock.now()
    assert api("GET", "/api/v1/aggregates", token).get_json()["detail"] == "Token sudah dicabut"


def test_the_token_is_stored_hashed_and_its_last_use_kept(db, issue_token, api):
    token = issue_token()
    with db.read() as s:
        row = s.scalar(select(AgencyToken))
        assert token not in (row.secret_hash, row.prefix) and row.last_used_at is None
    api("GET", "/api/v1/aggregates", token)
    with db.read() as s:
        assert s.scalar(select(AgencyToken)).last_used_at is not None


def test_each_token_has_its_own_rate_limit(db, issue_token, api):
    slow, other = issue_token(rate_limit="3/minute"), issue_token()
    answers = [api("GET", "/api/v1/aggregates", slow) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Retry-After" not in answers[0].headers and "X-RateLimit-Remaining" in answers[0].headers
    refused = api("GET", "/api/v1/aggregates", slow)
    assert refused.content_type == "application/problem+json" and "Retry-After" in refused.headers
    assert api("GET", "/api/v1/aggregates", other).status_code == 200
    assert int(refused.headers["Retry-After"]) <= 60
    brisk = issue_token(rate_limit="1/second")
    answers = [api("GET", "/api/v1/aggregates", brisk) for _ in range(4)]  # two within one second, at least
    (again, *_) = [a for a in answers if a.status_code == 429]
    assert int(again.headers["Retry-After"]) <= 1  # not a minute for a second's limit


def test_writes_are_audited_with_the_token_as_actor(db, people, issue_token, api):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    answer = api("POST", "/api/v1/agency-figures", token, json={"baris": _figures(HISTORY)[:4]})
    assert answer.status_code == 201, answer.get_json()
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.AGENCY_FIGURES_IMPORTED))
        assert event.actor == f"token:{token.split('_')[1]}"


def _figures(csv_text):
    lines = csv_text.strip().splitlines()[1:]
    return [
        {"kode_wilayah": c, "kategori": k, "periode": p, "nilai": int(n)}
        for c, k, p, n, _ in (line.split(",") for line in lines)
    ]


def test_guessing_tokens_is_slowed_per_address(db, api):
    answers = [api("GET", "/api/v1/aggregates", f"sjk_0000000{i % 10}_tebakan") for i in range(31)]
    assert [a.status_code for a in answers] == [401] * 30 + [429]
    assert "per alamat bila tanpa token" in answers[30].get_json()["detail"]  # no token was accepted
