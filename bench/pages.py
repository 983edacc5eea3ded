"""What one request of the verifier's pages costs the server, in process: CPU, statements and
Python function calls.

The same data as `bench/http.py` (1,000 open tasks in the kecamatan's inbox, a submitted
submission of 20 people whose task page is asked), served through Flask's test client with no
network, so that the page's own cost is seen without the load tool's. A signed-in verifier asks
the inbox (`/tugas/`) and the task page (`/tugas/<id>`). CPU time moves with the machine's load
and its neighbours' (a virtual machine's stolen time shows as slower CPU); the count of Python
function calls does not, which makes it the figure to compare two versions of the code by on a
shared machine.

Usage: python bench/pages.py [--database-url URL] [--requests 200] [--rounds 5]
The default database is a fresh SQLite file; --database-url must name an empty database.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from flask.testing import FlaskClient

from bench.fixtures import empty_database, python_calls, statements_sent
from bench.http import prepare
from bench.inbox import PASSWORD
from engine.core.config import load_settings
from web.app import create_app


def signed_in(client: FlaskClient) -> None:
    """The verifier signs in through the login form, as in `bench/http.py`."""
    form = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no sign-in form"
    answer = client.post("/masuk", data={"username": "verif.bench", "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302, answer.status_code


def measure(client: FlaskClient, path: str, requests: int, rounds: int, engine) -> dict[str, float]:  # noqa: ANN001
    """Per request: CPU ms and wall ms (medians of `rounds`), statements, Python function calls."""
    for _ in range(30):  # warm-up: templates compiled, statements cached and prepared
        assert client.get(path).status_code == 200
    cpu, wall = [], []
    for _ in range(rounds):
        before, start = os.times(), time.perf_counter()
        for _ in range(requests):
            client.get(path)
        after = os.times()
        cpu.append((after.user + after.system - before.user - before.system) / requests * 1000)
        wall.append((time.perf_counter() - start) / requests * 1000)
    with statements_sent(engine) as sent:
        client.get(path)
    calls = python_calls(lambda n: [client.get(path) for _ in range(n)], 20)
    return {"cpu": statistics.median(cpu), "wall": statistics.median(wall), "statements": sent[0], "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="sijosku-pages-")
    db = empty_database(args.database_url, tmp, "pages")
    task_id = prepare(db, 1000)
    url = db.engine.url.render_as_string(hide_password=False)
    db.dispose()
    app = create_app(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "bench-pages"}))
    client = app.test_client()
    signed_in(client)
    engine = app.extensions["sijosku_db"].engine
    print(f"database: {engine.dialect.name}; load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    print(f"{'page':<8}{'CPU ms':>9}{'wall ms':>9}{'statements':>12}{'Python calls':>14}")
    for page, path in (("inbox", "/tugas/"), ("task", f"/tugas/{task_id}")):
        m = measure(client, path, args.requests, args.rounds, engine)
        print(f"{page:<8}{m['cpu']:>9.2f}{m['wall']:>9.2f}{m['statements']:>12.0f}{m['calls']:>14,.0f}", flush=True)


if __name__ == "__main__":
    main()
