"""Chaos on PostgreSQL, bounded in time: verifiers claiming, bulk-claiming, approving and returning
through the web; operators importing and submitting; admins opening cycles and deploying, all from
several processes at once, with processes killed (kill -9) at random moments and started again.
Afterwards the stored work must be whole, and no request may have been answered with a 500."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.core.config import PROJECT_ROOT
from engine.people import users
from engine.verification import consistency, cycles
from models import HumanTask, Region, TaskStatus, Tier
from tests.factories import SYSTEM
from tests.integration.chaos_worker import KECAMATAN, VERIFIERS

ROLES = ["verifier", "verifier", "operator", "admin"]
SECONDS = float(os.environ.get("SIJOSKU_CHAOS_SECONDS", "30"))


def _people(db, password_hash: str) -> None:
    with db.transaction() as s:
        for tier, names in VERIFIERS.items():
            region = {"kecamatan": KECAMATAN, "kabupaten": KECAMATAN[:5], "provinsi": "65"}[tier]
            for name in names:
                role = "validator" if tier == "provinsi" else "verifier"
                users.add_user(s, SYSTEM, name, role, region).password_hash = password_hash
        desa = s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like(f"{KECAMATAN}.%")))
        for code in desa:
            users.add_user(s, SYSTEM, f"op.{code}", "operator", code).password_hash = password_hash


def _spawn(url: str, role: str, seed: int, deadline: float, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.integration.chaos_worker", url, role, str(seed), str(deadline), str(log)]
    with log.with_suffix(".err").open("ab") as errors:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=errors)


def _size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


@pytest.mark.postgresql_only
def test_chaos_leaves_the_work_whole_and_serves_no_500(db, is_postgresql, password_hash, tmp_path):
    if not is_postgresql:
        pytest.skip("several processes on one database: PostgreSQL")
    _people(db, password_hash)
    cycles.open_cycle(db, SYSTEM, "2026-Q4", region=KECAMATAN)
    url = db.engine.url.render_as_string(hide_password=False)
    rng = random.Random(15)
    deadline = time.time() + SECONDS
    logs = [tmp_path / f"pekerja-{i}.log" for i in range(len(ROLES))]
    workers = [_spawn(url, role, rng.randint(0, 10**6), deadline, log) for role, log in zip(ROLES, logs, strict=True)]
    # A process is killed only once it has done something since it was (re)started: on a loaded
    # machine starting one takes seconds, and killing it before its first step would test nothing.
    started_at = [_size(log) for log in logs]
    kills = 0
    while time.time() < deadline - 2:
        time.sleep(rng.uniform(1.0, 3.0))
        victim = rng.randrange(len(workers))
        if workers[victim].poll() is None:
            if _size(logs[victim]) == started_at[victim]:
                continue
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            kills += 1
        started_at[victim] = _size(logs[victim])
        workers[victim] = _spawn(url, ROLES[victim], rng.randint(0, 10**6), deadline, logs[victim])
    failures = []
    for worker in workers:
        try:
            worker.wait(timeout=SECONDS + 60)
        except subprocess.TimeoutExpired:
            worker.kill()
        if worker.returncode not in (0, -signal.SIGKILL):
            failures.append(worker.returncode)
    assert not failures, [log.with_suffix(".err").read_text()[-2000:] for log in logs]
    answers = [line.split()[0] for log in logs if log.exists() for line in log.read_text().splitlines()]
    assert kills >= 3 and len(answers) > 50, (kills, len(answers))
    assert not [a for a in answers if a.startswith("5")], "a request was answered with a 5xx"
    with db.read() as s:
        report = consistency.check(s)
        completed = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == TaskStatus.SELESAI))
    assert report.ok, report.problems
    assert completed > 0
