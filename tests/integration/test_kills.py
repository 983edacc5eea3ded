"""Processes killed with kill -9 in the middle of their work, as a power cut or the OOM killer would:
a cycle opening cut between its batches, and the production web server (gunicorn) cut again and
again while verifiers decide through it. Afterwards nothing is lost, nothing is done twice, the
stored state agrees with the inboxes, and the audit chain verifies."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from engine.core import audit
from engine.core.config import PROJECT_ROOT
from engine.people import users
from engine.setup.demo import nik_for
from engine.verification import consistency, cycles
from models import AuditEvent, HumanTask, ProcessInstance, Region, Submission, TaskStatus, Tier
from tests.factories import PASSWORD, SYSTEM, open_with_items, person_row, submit

PERIOD = "2027-Q1"
KECAMATAN = "65.03.04"  # the province's largest kecamatan: 28 desa
KILLS = int(os.environ.get("SIJOSKU_KILLS", "10"))


def _count(db, *where) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Submission).where(*where))


def _whole(db) -> None:
    with db.read() as s:
        report = consistency.check(s)
        chain = audit.verify_chain(s)
    assert report.ok, report.problems
    assert chain.ok, chain


def test_a_cycle_opening_killed_between_batches_is_resumed_exactly(db, tmp_path):
    """`sijosku cycle open` in its own process, in batches of 10 desa, killed once some batches are
    in; the rerun opens the rest, and each desa has exactly one submission and one process."""
    url = db.engine.url.render_as_string(hide_password=False)
    code = (
        "import sys\n"
        "from engine.bootstrap import bootstrap\n"
        "from engine.core.config import load_settings\n"
        "from engine.core.uow import Database\n"
        "from engine.verification import cycle_batches, cycles\n"
        "from tests.factories import SYSTEM\n"
        "cycle_batches.BATCH = 10\n"
        "db = bootstrap(Database.connect(load_settings({'DATABASE_URL': sys.argv[1], 'SECRET_KEY': 'x',"
        " 'SIJOSKU_INSTANCE_DIR': sys.argv[2]})))\n"
        "cycles.open_cycle(db, SYSTEM, sys.argv[3])\n"
    )
    with (tmp_path / "opening.err").open("wb") as errors:
        opening = subprocess.Popen(
            [sys.executable, "-c", code, url, str(tmp_path), PERIOD], cwd=PROJECT_ROOT, stderr=errors
        )
    deadline = time.monotonic() + 300
    while (opened := _count(db, Submission.periode == PERIOD)) < 30 and opening.poll() is None:
        assert time.monotonic() < deadline, "the opening wrote nothing in five minutes"
        time.sleep(0.05)
    opening.send_signal(signal.SIGKILL)
    opening.wait(30)
    killed_at = _count(db, Submission.periode == PERIOD)
    assert opening.returncode == -signal.SIGKILL and opened <= killed_at < 482, (opening.returncode, killed_at)
    assert killed_at % 10 == 0  # whole batches, never part of one

    resumed = cycles.open_cycle(db, SYSTEM, PERIOD)
    assert (resumed.expected, resumed.already, resumed.opened) == (482, killed_at, 482 - killed_at)
    assert _count(db, Submission.periode == PERIOD) == 482
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 482
        opened_rows = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "SUBMISSION_OPENED")
        assert s.scalar(opened_rows) == 482
    _whole(db)


# ---- the web server ------------------------------------------------------------------------------


def _desa_rows(code: str, serial: int) -> list[dict[str, object]]:
    """Two people of the desa; the serial keeps their NIKs apart from the other desa's."""
    born, kk = date(1950, 5, 17), code.replace(".", "")[:6] + f"17055{serial:05d}"
    return [person_row(n, nik=nik_for(code, born, "P", n), no_kk=kk) for n in (2 * serial + 1, 2 * serial + 2)]


def _kecamatan_tasks(db, password_hash: str) -> list[int]:
    """One submission per desa of the kecamatan, submitted: the kecamatan's open tasks."""
    with db.read() as s:
        desa = list(
            s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like(f"{KECAMATAN}.%")))
        )
    with db.transaction() as s:
        for name in ("verif.a", "verif.b"):
            users.add_user(s, SYSTEM, name, "verifier", KECAMATAN).password_hash = password_hash
        for code in desa:
            users.add_user(s, SYSTEM, f"op.{code}", "operator", code)
    for serial, code in enumerate(desa):
        submit(db, f"op.{code}", open_with_items(db, _desa_rows(code, serial), desa=code))
    with db.read() as s:
        return list(s.scalars(select(HumanTask.id).where(HumanTask.status == TaskStatus.TERBUKA)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`sijosku serve` (gunicorn, two worker processes) in its own process group, so that kill -9
    reaches the master and its workers at once."""

    def __init__(self, db, tmp_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "mati-listrik",
            "SIJOSKU_INSTANCE_DIR": str(tmp_path / "instance"),
            "SIJOSKU_WEB_WORKERS": "2",
            "SIJOSKU_ACCESS_LOG": str(tmp_path / "access.log"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.errors = (tmp_path / "server.err").open("ab")

    def start(self) -> None:
        command = [sys.executable, "-m", "web.cli", "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "2"]
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("the server did not become ready in two minutes")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def said(self) -> str:
        """What the server wrote to its error stream."""
        self.errors.flush()
        return (Path(self.errors.name)).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(60)
        self.errors.close()


@dataclass
class Verifier:
    """A verifier at a browser: deciding tasks one after another, trying again when the server does
    not answer, and looking at the inbox in between."""

    base: str
    username: str
    tasks: list[int]
    answers: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    unanswered: int = 0  # requests the server dropped or refused to connect: tried again
    failures: list[str] = field(default_factory=list)  # each 5xx answer's request, to tell which
    http: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, **kw: object) -> requests.Response:
        while True:
            try:
                answer = self.http.request(method, f"{self.base}{path}", timeout=30, **kw)  # type: ignore[arg-type]
            except requests.RequestException:  # the server is down: wait and try again, as a person would
                self.unanswered += 1
                time.sleep(0.2)
                continue
            self.answers.append(answer.status_code)
            if answer.status_code >= 500:
                self.failures.append(f"{method} {path}: {answer.status_code}")
            return answer

    def token(self, page: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def sign_in(self) -> None:
        form = self.call("GET", "/masuk").text
        data = {"username": self.username, "password": PASSWORD, "csrf_token": self.token(form)}
        assert "/masuk" not in self.call("POST", "/masuk", data=data).url

    def decide(self, task_id: int) -> None:
        page = self.call("GET", f"/tugas/{task_id}")
        if "Klaim tugas" in page.text:  # the page offers a decision only to whoever holds the task
            page = self.call("POST", f"/tugas/{task_id}/klaim", data={"csrf_token": self.token(page.text)})
        if page.status_code != 200 or "Kirim keputusan" not in page.text:
            return  # decided already (an answer lost with the server): the page no longer offers it
        verdicts = {f"verdict_{i}": "sesuai" for i in re.findall(r'name="verdict_(\d+)"', page.text)}
        data = {"csrf_token": self.token(page.text), "keputusan": "setuju", **verdicts}
        if "Keputusan tersimpan" in self.call("POST", f"/tugas/{task_id}/selesai", data=data).text:
            self.confirmed.append(task_id)

    def work(self, until: threading.Event, rng: random.Random) -> None:
        self.sign_in()
        for task_id in self.tasks:
            self.decide(task_id)
            self.call("GET", "/tugas/")
            time.sleep(rng.uniform(0.3, 1.2))
        while not until.is_set():
            self.call("GET", "/tugas/")
            time.sleep(0.2)


@pytest.mark.postgresql_only
def test_the_web_server_killed_under_load_loses_nothing(db, is_postgresql, password_hash, tmp_path):
    if not is_postgresql:
        pytest.skip("several server processes on one database: PostgreSQL")
    tasks = _kecamatan_tasks(db, password_hash)
    server = Server(db, tmp_path)
    server.start()
    rng, done = random.Random(15), threading.Event()
    people = [Verifier(server.base, name, tasks[i::2]) for i, name in enumerate(("verif.a", "verif.b"))]
    threads = [threading.Thread(target=p.work, args=(done, random.Random(i))) for i, p in enumerate(people)]
    try:
        for t in threads:
            t.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 2.0))
            server.kill()
            server.start()
        done.set()
        for t in threads:
            t.join(300)
    finally:
        done.set()
        server.stop()

    assert [a for p in people for a in p.answers if a == 200], "no request was answered"
    confirmed = [t for p in people for t in p.confirmed]
    failures = [f for p in people for f in p.failures]
    assert not failures, f"answered with a 5xx: {failures}; the server said: {server.said()[-3000:]}"
    assert not [t for t in threads if t.is_alive()], "a verifier was still waiting for the server"
    assert sum(p.unanswered for p in people) >= KILLS, "the kills did not cut the verifiers' work"
    with db.read() as s:
        decided = set(
            s.scalars(select(HumanTask.id).where(HumanTask.id.in_(tasks), HumanTask.status == TaskStatus.SELESAI))
        )
    assert set(confirmed) <= decided, "a decision the server confirmed was lost"
    assert decided == set(tasks), "a task was left undecided although its verifier went through all of them"
    _whole(db)
