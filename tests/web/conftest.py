"""A Flask test client that signs in like a person: through the login form, with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.people import tokens
from models import ApiResource
from tests.factories import PASSWORD, SYSTEM, World, build_world, reconciliation_year
from web.app import create_app

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, path: str = "/masuk") -> str:
        page = self.client.get(path)
        found = _TOKEN.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str = PASSWORD) -> object:
        return self.client.post("/masuk", data={"username": username, "password": password, "csrf_token": self.token()})

    def get(self, path: str, **kw: object) -> object:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, token_from: str = "/akun/sandi", **kw: object) -> object:
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(token_from))
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def app(db, instance_dir) -> Flask:
    return create_app(db.settings, db, testing=True)


@pytest.fixture
def browser(app) -> Iterator[Browser]:
    # Not `with app.test_client()`: that keeps each request's app context alive, and a second
    # client would then see the first one's signed-in user in `g`.
    yield Browser(app.test_client())


@pytest.fixture
def signed_in(app) -> Callable[[str], Browser]:
    """A fresh client signed in as the named person (one client per person)."""

    def sign_in(username: str) -> Browser:
        other = Browser(app.test_client())
        assert other.login(username).status_code == 302, username
        return other

    return sign_in


@pytest.fixture
def world(db, people) -> World:
    return build_world(db)


@pytest.fixture
def year(db, people, password_hash):
    """A year to reconcile, worked by the signed-in test people: records verified, history and agency figures."""
    reconciliation_year(db, password_hash, team=False)
    return db


@pytest.fixture
def issue_token(db) -> Callable[..., str]:
    """A new agency token (the secret, as the agency would send it)."""

    def issue(region: str = "65.01", resources: tuple[str, ...] = tuple(r.value for r in ApiResource), **kw) -> str:
        agency = kw.pop("instansi", "DP3AP2KB")
        kw.setdefault("can_write", bool(set(resources) & tokens.WRITTEN))  # a written resource needs the right
        request = tokens.TokenRequest(instansi=agency, region_kode=region, resources=resources, **kw)
        with db.transaction() as session:
            return tokens.create_token(session, SYSTEM, request).secret

    return issue


@pytest.fixture
def api(app) -> Callable[..., Any]:
    """A call to the API with a token: api("GET", "/api/v1/aggregates", token, query_string=...)."""
    client = app.test_client()

    def call(method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return client.open(path, method=method, headers=headers, **kw)

    return call
