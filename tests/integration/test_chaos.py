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


def _answers(logs: list[Path]) -> int:
    return sum(len(log.read_text().splitlines()) for log in logs if log.exists())


@pytest.mark.postgresql_only
def test_chaos_leaves_the_work_whole_and_serves_no_500(db, is_postgresql, password_hash, tmp_path):
    if not is_postgresql:
        pytest.skip("several processes on one database: PostgreSQL")
    _people(db, password_hash)
    cycles.open_cycle(db, SYSTEM, "2026-Q4", region=KECAMATAN)
    url = db.engine.url.render_as_string(hide_password=False)
    rng = random.Random(15)
    # The workers' own deadline is far: the test ends them itself once enough has happened, so a
    # slow machine (starting a process takes seconds) lengthens the run instead of failing it.
    cap = time.time() + 4 * SECONDS + 60
    logs = [tmp_path / f"pekerja-{i}.log" for i in range(len(ROLES))]
    workers = [_spawn(url, role, rng.randint(0, 10**6), cap, log) for role, log in zip(ROLES, logs, strict=True)]
    # A process is killed only once it has done something since it was (re)started: killing it
    # before its first step would test nothing.
    started_at = [_size(log) for log in logs]
    kills, failures, end = 0, [], time.time() + SECONDS
    while time.time() < cap - 10 and (time.time() < end or kills < 3 or _answers(logs) <= 50):
        time.sleep(rng.uniform(1.0, 3.0))
        for i, worker in enumerate(workers):  # one that ended by itself is started again
            if worker.poll() is not None:
                failures += [worker.returncode] if worker.returncode != 0 else []
                started_at[i] = _size(logs[i])
                workers[i] = _spawn(url, ROLES[i], rng.randint(0, 10**6), cap, logs[i])
        busy = [i for i in range(len(workers)) if _size(logs[i]) > started_at[i]]
        if not busy:
            continue
        victim = rng.choice(busy)
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(10)
        kills += 1
        started_at[victim] = _size(logs[victim])
        workers[victim] = _spawn(url, ROLES[victim], rng.randint(0, 10**6), cap, logs[victim])
    for worker in workers:  # the last kill, at whatever each was doing
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(60)
        if worker.returncode not in (0, -signal.SIGKILL):
            failures.append(worker.returncode)
    assert not failures, [log.with_suffix(".err").read_text()[-2000:] for log in logs]
    lines = [line for log in logs if log.exists() for line in log.read_text().splitlines() if line.strip()]
    answers = [line.split()[0] for line in lines]
    assert kills >= 3 and len(answers) > 50, (kills, len(answers))
    assert not [a for a in answers if a.startswith("5")], "a request was answered with a 5xx"
    with db.read() as s:
        report = consistency.check(s)
        completed = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == TaskStatus.SELESAI))
    assert report.ok, report.problems
    assert completed > 0
