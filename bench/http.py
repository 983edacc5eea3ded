"""HTTP throughput and latency of the verifier's pages, served as in production, loaded by `hey`.

Fills an empty database (a kecamatan verifier with 1,000 open tasks in the inbox and a real
submitted submission whose task page is requested), starts the server in its own processes, signs
the verifier in through the login form, then drives the inbox (`/tugas/`) and a task page
(`/tugas/<id>`) with `hey` (Debian package `hey`: `sudo apt-get install hey`) from another process on
127.0.0.1, at 8, 32 and 64 connections. Several servers are measured in one run, interleaved, so that the noise of the
shared machine hits them alike.

Usage:
  python bench/http.py [--database-url URL] [--servers waitress,gunicorn] [--workers 2] [--seconds 10]
The default database is a fresh SQLite file; --database-url must name an empty database.
Targets: gunicorn >= 2.5x today's waitress req/s; p99 <= 300 ms at 32 connections.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `http`: the project root goes first on the path
# before anything imports `http.client`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from sqlalchemy import select

from bench.fixtures import empty_database, province_desa
from bench.inbox import KECAMATAN, PASSWORD, fill_tasks
from engine.core.actors import Actor
from engine.people import users
from engine.verification import imports, submissions
from models import CycleRhythm, HumanTask, TaskStatus
from tests.factories import csv_of, person_row

ROOT = Path(__file__).resolve().parent.parent
AGENT = "hey/0.0.1"  # what hey sends, whatever -H says
SIJOSKU = str(Path(sys.executable).parent / "sijosku")


def prepare(db, tasks: int) -> int:
    """The verifier, `tasks` open kecamatan tasks and one real submitted submission; its task id."""
    system = Actor.system("bench")
    with db.transaction() as s:
        users.add_user(s, system, "verif.bench", "verifier", KECAMATAN).password_hash = users.hash_password(PASSWORD)
        users.add_user(s, system, "op.bench", "operator", f"{KECAMATAN}.2005").password_hash = users.hash_password(
            PASSWORD
        )
    fill_tasks(db, tasks, 0, province_desa(db), random.Random(8))
    with db.transaction() as s:
        s.add(CycleRhythm(berita_acara_wajib=False))  # the signed minutes are a setting; no upload here
    with db.transaction() as s:
        sid = submissions.open_submission(s, system, f"{KECAMATAN}.2005", "2027-Q1", "65").submission.id
        imports.import_items(s, system, sid, csv_of([person_row(i) for i in range(1, 21)]))
    with db.transaction() as s:
        submissions.submit(s, Actor.of(users.find_user(s, "op.bench")), sid)
    with db.read() as s:
        return s.scalar(
            select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == TaskStatus.TERBUKA)
        )


def start_server(kind: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    if kind == "waitress":
        command = [SIJOSKU, "run", "--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [SIJOSKU, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "SIJOSKU_ACCESS_LOG": "/dev/null"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(450):  # up to 90 s: on a loaded machine the workers' imports alone take a while
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server {kind} tidak mulai")


def stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)


def sign_in(port: int) -> str:
    """The session cookie of the verifier, signed in through the login form like a person."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    # The session is bound to the browser (session_protection "strong"): sign in as hey will ask.
    opener.addheaders = [("User-Agent", AGENT)]
    page = opener.open(f"http://127.0.0.1:{port}/masuk").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "verif.bench", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"http://127.0.0.1:{port}/masuk", form)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def hey(url: str, cookie: str, connections: int, seconds: int) -> tuple[float, float, int]:
    """req/s, p99 in ms and the count of non-200 answers."""
    out = subprocess.run(
        [
            "hey",
            "-z",
            f"{seconds}s",
            "-c",
            str(connections),
            "-H",
            f"Cookie: {cookie}",
            "-disable-redirects",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    tail = re.search(r"99% in ([\d.]+) secs", out)  # absent when no answer came back in time
    p99 = float(tail.group(1)) * 1000 if tail else float("inf")
    codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
    return rps, p99, sum(int(n) for c, n in codes.items() if c != "200") + unanswered(out)


def unanswered(out: str) -> int:
    """Requests `hey` lists under "Error distribution" (timeouts, refused or reset connections):
    they have no status, and they count as failed as much as a 500 does."""
    errors = out.partition("Error distribution:")[2]
    return sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s", errors, re.MULTILINE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--servers", default="waitress,gunicorn")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--connections", default="8,32,64")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        sys.exit("hey tidak terpasang. Debian/Ubuntu: sudo apt-get install hey (paket Debian `hey`)")
    tmp = tempfile.mkdtemp(prefix="sijosku-http-")
    db = empty_database(args.database_url, tmp, "http")
    task_id = prepare(db, args.tasks)
    url = db.engine.url.render_as_string(hide_password=False)
    db.dispose()
    env = {**os.environ, "DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "bench-http"}
    print(f"database: {db.engine.dialect.name}; {args.tasks} open tasks; {args.seconds} s per measurement")
    print(f"{'server':<22}{'page':<8}{'conns':>6}{'req/s':>9}{'p99 ms':>9}{'non-200':>9}")
    port = 8077
    for connections in [int(c) for c in args.connections.split(",")]:
        for kind in args.servers.split(","):
            port += 1  # a fresh port each time: the last server's port may still be closing
            server = start_server(kind, port, env, args.workers)
            try:
                cookie = sign_in(port)
                for page, path in (("inbox", "/tugas/"), ("task", f"/tugas/{task_id}")):
                    hey(f"http://127.0.0.1:{port}{path}", cookie, connections, 4)  # warm-up
                    rps, p99, bad = hey(f"http://127.0.0.1:{port}{path}", cookie, connections, args.seconds)
                    label = kind if kind == "waitress" else f"gunicorn x{args.workers}"
                    print(f"{label:<22}{page:<8}{connections:>6}{rps:>9.1f}{p99:>9.0f}{bad:>9}", flush=True)
            finally:
                stop(server)


if __name__ == "__main__":
    main()
