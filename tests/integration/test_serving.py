"""The production server's settings (`web/gunicorn_conf.py`) as a client sees them: a request never
waits behind another worker's page while a worker is free, each answer closes its connection, and
the loaded application is kept out of the garbage collector's passes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from gunicorn.config import Config

from engine.core.config import PROJECT_ROOT
from web import gunicorn_conf


@pytest.fixture
def server(tmp_path: Path):
    """gunicorn with SIJOSKU's settings and two workers, serving the probe application. It listens on
    a socket this test opened and hands over, so no other process can take the port in between."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIJOSKU_", "PROMETHEUS_"))}
    env |= {
        "SIJOSKU_BIND": f"fd://{listener.fileno()}",
        "SIJOSKU_WEB_WORKERS": "2",
        "SIJOSKU_ACCESS_LOG": str(tmp_path / "access.log"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrik" / "belum-ada"),
        "PROBE_HELD": str(tmp_path / "held"),
        "PROBE_RELEASE": str(tmp_path / "release"),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf"]
    with (tmp_path / "gunicorn.err").open("wb") as said:
        process = subprocess.Popen(
            [*command, "tests.integration.serving_probe:app"],
            cwd=PROJECT_ROOT,
            env=env,
            stderr=said,
            pass_fds=(listener.fileno(),),
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()  # gunicorn holds its own copy
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, (tmp_path / "gunicorn.err").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within a minute"
                time.sleep(0.1)
        yield base, tmp_path
    finally:
        (tmp_path / "release").touch()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:  # nothing is left behind, even when shutting down hangs
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_a_busy_worker_leaves_new_requests_to_the_free_one(server):
    """While one worker is busy with a page, every request that arrives meanwhile is answered by the
    other one at once. With gunicorn's gthread defaults the busy worker took about half of them and
    kept them waiting until its page was done."""
    base, folder = server
    held = threading.Thread(target=httpx.get, args=(f"{base}/tahan",), kwargs={"timeout": 150})
    held.start()
    deadline = time.monotonic() + 30
    while not (folder / "held").exists():
        assert time.monotonic() < deadline, "the held request never reached a worker"
        time.sleep(0.02)
    busy = (folder / "held").read_text()
    # The held worker's main loop stops listening on its next turn, which on a starved machine may
    # come a little after its thread has started the request.
    time.sleep(1.0)
    answered_by = []
    for _ in range(12):
        try:
            # the free worker answers whenever the machine lets it; one routed to the busy worker
            # would wait for the held page, which ends only on release, after these twelve
            answered_by.append(httpx.get(f"{base}/", timeout=20).text)
        except httpx.TimeoutException:
            answered_by.append("kept waiting behind the busy worker")
    (folder / "release").touch()
    held.join(150)
    assert busy not in answered_by
    assert len(set(answered_by)) == 1 and answered_by[0].isdigit(), answered_by


def test_each_answer_closes_its_connection(server):
    """No connection is held open between requests: an idle kept-alive connection would take the
    worker's only place, and the reverse proxy keeps the clients' connections alive."""
    base, _ = server
    with httpx.Client() as client:
        answer = client.get(f"{base}/", timeout=10)
    assert answer.headers["Connection"].lower() == "close"


def test_a_worker_keeps_the_loaded_application_out_of_the_collectors_passes(server):
    """Everything loaded before the first request is frozen (gc.freeze): a full collection no
    longer walks it in the middle of someone's request."""
    base, _ = server
    assert int(httpx.get(f"{base}/beku", timeout=10).text) > 10_000


def test_the_access_log_leaves_out_queries_and_the_metrics_folder_is_made(server):
    """A search by NIK travels in a query string; the log keeps the path only. A metrics folder that
    does not exist yet is made at start (missing, every request would fail)."""
    base, folder = server
    assert httpx.get(f"{base}/cari?nik=6501010603970011", timeout=10).status_code == 200
    assert (folder / "metrik" / "belum-ada").is_dir()
    deadline = time.monotonic() + 10
    while "/cari" not in (folder / "access.log").read_text():
        assert time.monotonic() < deadline, "the request never reached the access log"
        time.sleep(0.05)
    logged = (folder / "access.log").read_text()
    assert "6501010603970011" not in logged and "GET /cari" in logged


def test_a_line_break_in_a_requested_path_cannot_forge_a_line_of_the_access_log(server):
    base, folder = server
    forged = "2026-12-04T20:37:00Z sijosku admin signed in from 10.0.0.1"
    with httpx.Client() as client:
        client.get(f"{base}/x%0D%0A{forged.replace(' ', '%20')}", timeout=10)
    deadline = time.monotonic() + 10
    while "/x" not in (folder / "access.log").read_text():
        assert time.monotonic() < deadline, "the request never reached the access log"
        time.sleep(0.05)
    lines = (folder / "access.log").read_text().splitlines()
    assert not any(line.startswith(forged) for line in lines)
    assert any(f"/x\\r\\n{forged}" in line for line in lines)


def test_each_request_is_one_line_of_json_whatever_its_path_holds():
    """With SIJOSKU_LOG_JSON the line stays JSON when the path holds a quote, a backslash or a line break."""
    path = '/a"b\\q\r\n{"status": "200"}\x85'
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": path}
    answer = SimpleNamespace(status="404 NOT FOUND", sent=9, headers=[])
    log = gunicorn_conf.AccessLog(Config())
    atoms = log.atoms(answer, SimpleNamespace(headers=[]), environ, timedelta(0))
    line = json.dumps({"request": "%(m)s %(U)s", "status": "%(s)s"}) % log.atoms_wrapper_class(atoms)
    assert "\n" not in line and json.loads(line) == {"request": f"GET {path}", "status": "404"}
