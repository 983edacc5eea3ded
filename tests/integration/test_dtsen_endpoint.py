"""The DTSEN extract read from an endpoint: paged, with credentials, retried when it stumbles, refused
whole when it is down or answers out of bounds (the previous extract stays), against a local fake
DTSEN server on loopback."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.core import resilience
from engine.core.config import DtsenSettings
from engine.core.errors import Forbidden, Invalid, Unavailable
from engine.verification import dtsen
from models import AuditEvent, DtsenEntry, QualityFlag
from tests.factories import DESA, SYSTEM, actor, make_team

AUTH = "Basic " + base64.b64encode(b"sijosku:rahasia").decode()


def _people(n: int) -> list[dict]:
    return [
        {"nik": f"650101010180{i:04d}", "no_kk": f"650101000000{i:04d}", "desil": 1 + i % 10, "program": ["PKH"]}
        | {"kode_wilayah": DESA}
        for i in range(n)
    ]


class FakeDtsen:
    """Serves `people` page by page at GET /ekstrak; can fail its first calls or misbehave."""

    def __init__(self, people: list[dict]) -> None:
        self.people, self.calls, self.fail_first, self.oversize, self.loop = people, [], 0, False, False
        self.endless = False  # empty pages, each pointing to the next
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.calls.append((url.path, query))
                if self.headers.get("Authorization") != AUTH:
                    return self._send(401, {"pesan": "butuh kredensial"})
                if len(fake.calls) <= fake.fail_first:
                    return self._send(503, {"pesan": "sibuk"})
                page, size = int(query["halaman"]), int(query["ukuran"])
                rows = fake.people[(page - 1) * size : page * size]
                if fake.oversize:
                    rows = fake.people
                if fake.endless:
                    return self._send(200, {"baris": [], "halaman_berikutnya": page + 1})
                more = page * size < len(fake.people)
                following = 1 if fake.loop else page + 1 if more else None
                return self._send(200, {"baris": rows, "halaman_berikutnya": following})

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeDtsen(_people(25))
    yield server
    server.stop()


def _client(url: str, **kw) -> dtsen.HttpDtsen:
    settings = {"retries": 3, "backoff": 0.0, "timeout": 2.0, "page_size": 10, "max_rows": 1000, **kw}
    return dtsen.HttpDtsen(DtsenSettings(base_url=url, user="sijosku", password="rahasia", **settings))


def _stored(db) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(DtsenEntry.nik)))


def test_the_command_reads_every_page_with_credentials_and_stores_the_extract(db, fake, instance_dir):
    from web.cli import main

    env = {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "SIJOSKU_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test",
        "SIJOSKU_DTSEN_URL": fake.url,
        "SIJOSKU_DTSEN_USER": "sijosku",
        "SIJOSKU_DTSEN_PASSWORD": "rahasia",
        "SIJOSKU_DTSEN_PAGE_SIZE": "10",
    }
    result = CliRunner().invoke(main, ["dtsen", "import", "--from-endpoint", "--json"], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.output)["rows"] == 25
    assert [(path, q["halaman"], q["wilayah"]) for path, q in fake.calls] == [
        ("/ekstrak", "1", "65"),
        ("/ekstrak", "2", "65"),
        ("/ekstrak", "3", "65"),
    ]
    assert _stored(db) == {p["nik"] for p in fake.people}
    with db.read() as s:
        entry = s.scalar(select(DtsenEntry).where(DtsenEntry.nik == fake.people[0]["nik"]))
        trail = s.scalar(select(AuditEvent).where(AuditEvent.action == "DTSEN_IMPORTED"))
        low = s.scalars(select(QualityFlag).where(QualityFlag.rule == dtsen.LOW)).all()
    assert (entry.desil, entry.program, entry.region_kode) == (1, ["PKH"], DESA)
    assert trail.after["sumber"] == fake.url
    assert len(low) == 1  # deciles 1-2 unregistered in the desa: the same flag a file import raises

    both = CliRunner().invoke(main, ["dtsen", "import", "x.csv", "--from-endpoint"], env=env)
    assert both.exit_code == 1 and "salah satu saja" in both.stderr


def test_a_stumbling_endpoint_is_retried(db, fake):
    fake.fail_first = 2
    rows = dtsen.fetch_extract(SYSTEM, _client(fake.url), "65")
    assert len(rows) == 25 and len(fake.calls) == 5  # two 503s, then three pages


def test_an_endpoint_that_is_down_changes_nothing_and_the_breaker_stops_calling(db, fake):
    with db.transaction() as s:
        dtsen.import_extract(s, SYSTEM, [{"nik": "6501010101800999", "no_kk": "", "desil": "3", "program": ""}], "65")
    fake.fail_first = 1000
    client = _client(fake.url, retries=2, breaker_failures=2, breaker_reset=60.0)
    for _ in range(2):
        with pytest.raises(Unavailable, match="tidak ada yang diubah"):
            dtsen.fetch_extract(SYSTEM, client, "65")
    calls = len(fake.calls)
    with pytest.raises(Unavailable, match="pemutus sirkuit"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    assert len(fake.calls) == calls == 4  # open: no call made
    assert client.breaker.state == resilience.BreakerState.TERBUKA
    assert _stored(db) == {"6501010101800999"}
    refused = dtsen.HttpDtsen(DtsenSettings(base_url="http://127.0.0.1:9", retries=1, timeout=1.0))
    with pytest.raises(Unavailable):
        dtsen.fetch_extract(SYSTEM, refused, "65")


@pytest.mark.parametrize(
    ("misbehaviour", "message"),
    [
        ("oversize", "padahal diminta"),
        ("loop", "dihentikan"),
        ("too_many", "SIJOSKU_DTSEN_MAX_ROWS"),
        ("endless", "berisi 0 baris"),
    ],
)
def test_answers_out_of_bounds_are_refused_before_anything_is_stored(db, fake, misbehaviour, message):
    if misbehaviour == "too_many":
        client = _client(fake.url, max_rows=20)
    else:
        setattr(fake, misbehaviour, True)
        client = _client(fake.url)
    with pytest.raises(Invalid, match=message):
        dtsen.fetch_extract(SYSTEM, client, "65")
    assert _stored(db) == set()


def test_wrong_credentials_are_a_refusal_not_a_retry(db, fake):
    client = dtsen.HttpDtsen(DtsenSettings(base_url=fake.url, user="x", password="y", retries=3, backoff=0.0))
    with pytest.raises(Unavailable, match="HTTP 401"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    assert len(fake.calls) == 1


def test_only_an_administrator_fetches_and_an_unconfigured_endpoint_says_what_to_set(db, fake):
    team = make_team(db)
    with pytest.raises(Forbidden):
        dtsen.fetch_extract(actor(db, team.kecamatan), _client(fake.url), "65")
    assert fake.calls == []
    with pytest.raises(Invalid, match="SIJOSKU_DTSEN_URL"):
        dtsen.fetch_extract(SYSTEM, None, "65")
