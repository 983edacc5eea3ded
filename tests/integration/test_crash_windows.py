"""Work cut off between two of its transactions, or run twice at once, completes cleanly."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.core import audit, clock, jobs
from engine.core.jobs import Outcome
from engine.verification import cycles
from models import Cycle, JobRun, OutboxEvent, Submission
from tests.factories import SYSTEM

PERIOD = "2027-Q1"
WITA = "+08:00"


def _count(db, model, *where):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _announced(db) -> int:
    return _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.opened")


def test_a_crash_after_the_last_batch_is_completed_by_a_rerun(db, monkeypatch, with_notifications):
    with_notifications()  # the province is told by `cycle.opened`: someone listens to it
    real = cycles.open_desa

    def last_batch_then_power_cut(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("listrik padam")

    monkeypatch.setattr(cycles, "open_desa", last_batch_then_power_cut)
    with pytest.raises(RuntimeError):
        cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    assert _announced(db) == 0
    monkeypatch.setattr(cycles, "open_desa", real)
    rerun = cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    assert rerun.opened == 0 and rerun.already == rerun.expected
    assert _announced(db) == 1
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    assert _announced(db) == 1  # and only once


def test_two_cycle_opens_at_once_both_return_cleanly(db, with_notifications):
    with_notifications()
    results: list[object] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait(30)
        try:
            results.append(cycles.open_cycle(db, SYSTEM, PERIOD))
        except Exception as exc:  # the failure the test looks for
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(isinstance(r, cycles.Opened) for r in results), results
    assert sum(r.opened for r in results) == 482
    assert _count(db, Submission) == 482 and _count(db, Cycle) == 1
    assert _announced(db) == 1
    with db.read() as s:
        assert audit.verify_chain(s).ok


def test_a_run_whose_holder_died_is_marked_failed(db):
    started = datetime.fromisoformat("2027-01-01T00:05" + WITA)
    with db.transaction() as s:  # a scheduler killed mid-run (kill -9) leaves its run behind
        s.add(
            JobRun(
                job_id="timer",
                run_key="2027-01-01T00:05",
                holder="node-a:4242",
                status="berjalan",
                started_at=started,
                lease_until=started + jobs.LEASE,
            )
        )
    later = started + jobs.LEASE + timedelta(minutes=1)
    assert jobs.run_once(db, "surel", "2027-01-01T00:16", lambda: "0 surel", later) == Outcome.SELESAI
    with db.read() as s:
        dead = s.scalar(select(JobRun).where(JobRun.job_id == "timer"))
    assert dead.status == "gagal" and "node-a:4242" in dead.message and dead.finished_at is not None


def test_jobs_run_says_what_it_did_and_who_ran_a_skipped_run(cli, db):
    year = clock.today().year + 1  # always ahead of the clock, whatever day the suite runs
    now = f"{year}-01-01T00:05:00+08:00"
    refused = cli("jobs", "run", "siklus", "--now", now, ok=False)  # ahead of the clock, on a live database
    assert "masa depan" in refused.stderr and "--latihan" in refused.stderr
    with db.read() as s:
        assert s.scalar(select(JobRun)) is None  # that day's run is not taken from the scheduler
    first = cli("jobs", "run", "siklus", "--latihan", "--now", now)
    assert "siklus dijalankan dan selesai" in first.stdout and "482 desa dibuka" in first.stdout
    again = cli("jobs", "run", "siklus", "--latihan", "--now", now, "--json")
    report = json.loads(again.stdout)
    assert report["hasil"] == "dilewati" and report["pemegang"] and "482 desa dibuka" in report["pesan"]
    words = cli("jobs", "run", "siklus", "--latihan", "--now", now)
    assert f"dilewati: jalan {year}-01-01 sudah dijalankan oleh" in words.stdout
