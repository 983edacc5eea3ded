"""A Flask test client that signs in like a person: through the login form, with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine import users
from tests.factories import SYSTEM
from web.app import create_app

PASSWORD = "kata-sandi-uji-123"
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
        return self.client.post("/masuk", data={"username": username, "password": password,
                                                "csrf_token": self.token()})

    def get(self, path: str, **kw: object) -> object:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, token_from: str = "/akun/sandi", **kw: object) -> object:
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(token_from))
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def app(db, instance_dir):
    application = create_app(db.settings, db, testing=True)
    yield application


@pytest.fixture
def browser(app) -> Iterator[Browser]:
    # Not `with app.test_client()`: that keeps each request's app context alive, and a second
    # client would then see the first one's signed-in user in `g`.
    yield Browser(app.test_client())


def browser_for(app, username: str) -> Browser:
    other = Browser(app.test_client())
    assert other.login(username).status_code == 302, username
    return other


@pytest.fixture
def people(db):
    """One person per role around Desa Gunung Putih (65.01.01.2005), plus one of a neighbouring region each."""
    plan = [
        ("op.desa", "operator", "65.01.01.2005"), ("op.lain", "operator", "65.01.01.2006"),
        ("verif.kec", "verifier", "65.01.01"), ("verif.kec.lain", "verifier", "65.01.02"),
        ("verif.kab", "verifier", "65.01"), ("verif.kab.lain", "verifier", "65.02"),
        ("valid.prov", "validator", "65"), ("admin.prov", "admin", "65"),
        ("auditor.prov", "auditor", "65"), ("auditor.kab.lain", "auditor", "65.02"),
    ]
    with db.transaction() as session:
        for username, role, region in plan:
            users.add_user(session, SYSTEM, username, role, region).password_hash = _password_hash()
    return {username: region for username, _, region in plan}


_HASH: list[str] = []


def _password_hash() -> str:
    """Hashed once per run: argon2 is slow on purpose, and every test creates ten people."""
    if not _HASH:
        _HASH.append(users.hash_password(PASSWORD))
    return _HASH[0]
