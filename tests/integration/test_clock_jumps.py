"""The wall clock jumps (a wrong NTP server, a VM resumed, a person setting it by hand): deadlines
are not fired by a clock that ran ahead, a correction back does not stall the scheduler, and audit
times never run backwards along the chain."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from engine.core import audit, clock, jobs
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.jobs import Outcome
from models import AuditEvent, JobRun

WITA = "+08:00"


def _noop() -> None:
    pass


def test_audit_times_never_run_backwards_when_the_clock_is_set_back(db):
    ahead = datetime.now(UTC) + timedelta(minutes=30)
    with clock.frozen_at(ahead), db.transaction() as s:  # the clock ran 30 minutes ahead
        audit.record(s, Actor.system("uji"), AuditAction.CYCLE_RHYTHM_SET, "uji", 1)
    with clock.frozen_at(ahead - timedelta(minutes=30)), db.transaction() as s:  # and was corrected
        audit.record(s, Actor.system("uji"), AuditAction.CYCLE_RHYTHM_SET, "uji", 2)
        audit.record_many(
            s, Actor.system("uji"), [{"action": AuditAction.CYCLE_RHYTHM_SET, "subject_type": "uji", "subject_id": 3}]
        )
    with db.read() as s:
        times = list(s.scalars(select(AuditEvent.at).order_by(AuditEvent.seq)))
        assert times == sorted(times)
        assert len(s.scalars(select(AuditEvent.at).where(AuditEvent.subject_type == "uji")).all()) == 3
        assert audit.verify_chain(s).ok


def _run_at(db, key: str, moment: datetime, calls: list[str], who: str) -> Outcome:
    with clock.frozen_at(moment):
        return jobs.run_once(db, "timer", key, lambda: calls.append(who) or "", moment)


def test_minutes_that_come_round_again_after_a_correction_run_again(db):
    """The clock ran 30 minutes ahead: the minutes 10:00 to 10:30 ran at 9:30 to 10:00. Corrected,
    they come round again and run again (the jobs are idempotent), not 30 minutes of nothing."""
    calls: list[str] = []
    start = datetime.fromisoformat("2027-01-01T10:00:03" + WITA)  # each run ends a few seconds in
    for minute in range(31):
        moment = start + timedelta(minutes=minute)
        assert _run_at(db, f"{moment:%H:%M}", moment, calls, "ahead") == Outcome.SELESAI
    again = start + timedelta(minutes=5, seconds=-2)  # corrected: 10:05 for real
    assert _run_at(db, "10:05", again, calls, "real") == Outcome.SELESAI
    other = again + timedelta(seconds=20)  # another node, the same minute after it: once
    assert _run_at(db, "10:05", other, calls, "other") == Outcome.DILEWATI
    assert calls.count("real") == 1 and "other" not in calls
    later = start + timedelta(minutes=25, seconds=-2)  # 10:25 too: five minutes before the last run
    assert _run_at(db, "10:25", later, calls, "real") == Outcome.SELESAI


def test_another_jobs_runs_ahead_do_not_make_this_one_run_twice(db):
    calls: list[str] = []
    moment = datetime.fromisoformat("2027-01-01T10:30:02" + WITA)
    assert _run_at(db, "10:30", moment, calls, "A") == Outcome.SELESAI
    with clock.frozen_at(moment + timedelta(hours=1)):  # another job, whose runs a clock ahead left
        assert jobs.run_once(db, "surel", "11:30", lambda: "", moment + timedelta(hours=1)) == Outcome.SELESAI
    assert _run_at(db, "10:30", moment - timedelta(seconds=1), calls, "B") == Outcome.DILEWATI


def test_two_nodes_each_within_max_skew_of_the_database_run_each_minute_once(db):
    """A node may be up to MAX_SKEW from the database's clock, so two nodes up to twice that apart:
    one 1m50s ahead runs 10:30 to 10:33 by its clock before one 1m50s behind fires its 10:30."""
    calls: list[str] = []
    ahead = datetime.fromisoformat("2027-01-01T10:30:02" + WITA)
    for minute in range(4):
        moment = ahead + timedelta(minutes=minute)
        assert _run_at(db, f"{moment:%H:%M}", moment, calls, "A") == Outcome.SELESAI
    behind = datetime.fromisoformat("2027-01-01T10:30:00.5" + WITA)
    assert _run_at(db, "10:30", behind, calls, "B") == Outcome.DILEWATI
    assert calls == ["A"] * 4


def test_a_node_whose_clock_is_a_little_behind_does_not_run_a_minute_again(db):
    """Two nodes' clocks may differ: the one behind fires after the other finished, at a time "before"
    that finish. That is the same minute, run once, with the first node's record."""
    calls: list[str] = []
    first = datetime.fromisoformat("2027-01-01T10:30:02" + WITA)
    assert _run_at(db, "10:30", first, calls, "A") == Outcome.SELESAI
    behind = first - timedelta(seconds=1)
    assert _run_at(db, "10:30", behind, calls, "B") == Outcome.DILEWATI
    later = first + timedelta(seconds=30)  # a node whose clock agrees, in the same minute: once
    assert _run_at(db, "10:30", later, calls, "C") == Outcome.DILEWATI
    assert calls == ["A"]
    with db.read() as s:
        run = s.scalar(select(JobRun).where(JobRun.job_id == "timer"))
    assert run.holder == jobs.HOLDER and run.started_at.replace(tzinfo=UTC) == first


def test_a_correction_back_does_not_stall_the_scheduler():
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        # The clock ran 30 minutes ahead while the job last ran: its next run lies 30 minutes out.
        stalled = datetime.now(UTC) + timedelta(minutes=30, seconds=30)
        job = scheduler.add_job(_noop, "interval", minutes=1, next_run_time=stalled)
        jobs.realign(scheduler)
        assert job.next_run_time - datetime.now(UTC) <= timedelta(minutes=1)
    finally:
        scheduler.shutdown(wait=False)


def test_the_watch_notices_a_jump_either_way():
    watch = jobs.ClockWatch(threshold=30)
    wall, mono = time.time(), time.monotonic()
    watch.offset = wall - mono
    assert watch.jumped(wall + 10, mono + 10) == 0
    assert watch.jumped(wall + 10 + 1800, mono + 20) == pytest.approx(1790)
    assert watch.jumped(wall + 30, mono + 30) == pytest.approx(-1790)


def test_a_node_whose_clock_ran_ahead_fires_no_deadline(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("the shared clock is the database server's")
    with clock.frozen_at(datetime.now(UTC) + timedelta(minutes=30)):
        assert jobs.run_job(db, "timer_bpmn") == Outcome.GAGAL
    with db.read() as s:
        run = s.scalar(select(JobRun).where(JobRun.job_id == "timer_bpmn"))
    assert "berbeda" in run.message and "NTP" in run.message
    assert jobs.run_job(db, "timer_bpmn") == Outcome.SELESAI  # with the clock right, it runs
