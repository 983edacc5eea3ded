"""Every page and form answers odd input with its page or a 4xx, never a server error.

Each route of the site, as each role and signed out, asked with a query and sent a form whose every
field carries odd text: a NUL (PostgreSQL's text cannot hold one), a digit that is not ASCII,
thousands of digits, a very long text, quotes. The field names are every form's (`web/forms.py`)
and those the views read themselves, so a new form is covered when it is added.
"""

from __future__ import annotations

import inspect
import io
import re
from collections.abc import Iterator

import pytest
from marshmallow import Schema
from sqlalchemy import select

from models import SubmissionItem
from tests.factories import World, person_row
from web import forms

# Read by views without a form of their own (reconciliation, task page).
READ_DIRECTLY = {"tahun", "wilayah", "kategori", "tampil", "halaman", "next", "q", "fmt"}
ODD = ["²", "9" * 5000, "x" * 20_000, "' OR 1=1 --", "-1", "٣", "<script>alert(1)</script>", "%00", "0"]
PEOPLE = ["op.desa", "verif.kec", "verif.kab", "valid.prov", "admin.prov", "auditor.prov", None]
SKIPPED = {"static", "assets.vendor", "help.screenshot", "auth.logout"}  # files, and signing out


def field_names() -> list[str]:
    names = set(READ_DIRECTLY)
    for _, schema in inspect.getmembers(forms, inspect.isclass):
        if issubclass(schema, Schema):
            names |= set(schema._declared_fields)
    return sorted(names)


def odd_fields(nul: bool) -> dict[str, str]:
    """Every field with a NUL in it, or every field with one of the other odd texts in turn."""
    names = field_names()
    if nul:
        return {name: f"1\x00{name}" for name in names}
    return {name: ODD[i % len(ODD)] for i, name in enumerate(names)}


def paths(app, world: World, item_id: int) -> Iterator[tuple[str, set[str]]]:
    """Each route with the world's ids (and one that exists nowhere) in its place holders."""
    ids = {"submission_id": world.draft, "item_id": item_id, "task_id": world.kab_task, "record_id": world.record}
    ids |= {"instance_id": world.instance, "tahun": 2026, "fmt": "csv", "slug": "mulai", "kode_desa": "65.01.01.2005"}
    ids |= {"periode": "2026-Q4"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for fallback in (1, 999_999):
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(rf"<(?:[^>:]*:)?{name}>", str(ids.get(name, fallback)), path)
            yield path, set(rule.methods or ())
            if not rule.arguments:
                break


def test_no_route_answers_odd_input_with_a_server_error(db, world, signed_in, browser):
    app = browser.client.application
    with db.read() as s:
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == world.draft).limit(1))
    failures = []
    for person in PEOPLE:
        client = signed_in(person) if person else browser
        token = client.token("/akun/sandi" if person else "/masuk")
        for path, methods in paths(app, world, item_id):
            for nul in (True, False):
                fields = odd_fields(nul)
                asked = []
                if "GET" in methods:
                    asked.append(("GET", client.client.get(path, query_string=fields)))
                if "POST" in methods:
                    asked.append(("POST", client.client.post(path, data={**fields, "csrf_token": token})))
                failures += [(person, method, path, nul) for method, answer in asked if answer.status_code >= 500]
                if nul and "GET" in methods and not path.startswith("/api/"):
                    assert asked[0][1].status_code == 400, (person, path)
    assert failures == []


def test_each_field_alone_with_a_digit_that_is_not_ascii_is_not_a_server_error(db, world, signed_in):
    """One field at a time, so that no other field's refusal stops the request before it is read."""
    app = signed_in("valid.prov").client.application
    province = signed_in("valid.prov")
    token = province.token("/akun/sandi")
    with db.read() as s:
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == world.draft).limit(1))
    failures = []
    for path, methods in paths(app, world, item_id):
        if "999999" in path:  # the world's own ids are enough here
            continue
        for name in field_names():
            if "GET" in methods and province.get(path, query_string={name: "²"}).status_code >= 500:
                failures.append(("GET", path, name))
            if (
                "POST" in methods
                and province.client.post(path, data={name: "²", "csrf_token": token}).status_code >= 500
            ):
                failures.append(("POST", path, name))
    assert failures == []


@pytest.mark.parametrize("where", ["query", "form", "file name"])
def test_a_nul_character_is_refused_with_a_message_before_any_view_reads_it(db, world, signed_in, where):
    operator = signed_in("op.desa")
    page = f"/desa/pengajuan/{world.draft}/impor"
    if where == "query":
        answer = operator.get("/desa/templat", query_string={"kategori": "LUT\x00"})
    elif where == "form":
        answer = operator.post("/masuk", {"username": "op.desa\x00", "password": "x"}, token_from="/akun/sandi")
    else:
        upload = (io.BytesIO(b"nik,nama\n"), "data\x00.csv")
        answer = operator.post(page, {"berkas": upload}, token_from=page, content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "karakter NUL" in answer.get_data(as_text=True)


def test_the_api_refuses_a_nul_in_its_query_as_a_problem(api, issue_token):
    answer = api("GET", "/api/v1/records", issue_token(), query_string={"wilayah": "65\x00"})
    assert answer.status_code == 400
    assert answer.is_json and "NUL" in answer.get_json()["detail"]


@pytest.mark.parametrize(
    ("path", "resource", "row"),
    [
        ("/api/v1/agency-figures", "angka-instansi", {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025"}),
        ("/api/v1/submissions/65.01.01.2005/2026-Q4/items", "pengajuan", {**person_row(30), "alamat": "Jl. A"}),
    ],
)
def test_the_api_refuses_a_nul_in_any_text_of_a_body(world, api, issue_token, path, resource, row):
    token = issue_token("65.01.01.2005" if resource == "pengajuan" else "65", (resource,), can_write=True)
    for name, value in row.items():
        if isinstance(value, str):
            body = {"baris": [{**row, name: f"{value}\x00", **({"nilai": 3} if resource == "angka-instansi" else {})}]}
            answer = api("POST", path, token, json=body)
            assert answer.status_code == 400 and answer.content_type == "application/problem+json", (
                name,
                answer.status_code,
            )


@pytest.mark.parametrize("name", ["²", "9" * 5000, "2"])
def test_an_unknown_field_named_like_a_number_is_a_problem_on_its_row(world, api, issue_token, name):
    token = issue_token("65", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": 3, name: 1}
    answer = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]})
    assert answer.status_code == 400
    assert [(p["baris"], p["kolom"]) for p in answer.get_json()["masalah"]] == [(1, f"baris.{name}")]


def test_opening_a_reconciliation_with_a_year_that_is_not_plain_digits_is_refused_on_a_page(db, world, signed_in):
    for year in ("²", "9" * 5000):
        answer = signed_in("valid.prov").post("/rekonsiliasi/buka", {"tahun": year})
        assert answer.status_code in (302, 400), year
