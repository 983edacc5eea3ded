"""Scheduled jobs (APScheduler 3, persistent SQLAlchemy job store), each run exactly once.

Several nodes may run the scheduler against one PostgreSQL database. Every run of a job has a key
(its minute or its day); a run is taken by inserting a `job_run` row for that key, which only one
node can do, with a lease that lapses so that a crashed node's run can be taken over. A run missed
while the server was down is caught up once (coalesced), not once per missed interval.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engine import clock, cycles, timers
from engine.actors import Actor
from engine.uow import Database
from models import JobRun

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
_db: Database | None = None
_jobs: dict[str, Callable[..., str]] = {}


def use(db: Database) -> None:
    """The database the jobs work on (the scheduler process's own)."""
    global _db
    _db = db


def job_ids() -> list[str]:
    return sorted(_jobs)


def database() -> Database:
    if _db is None:
        raise RuntimeError("penjadwal belum dibangun (build)")
    return _db


def run_once(db: Database, job_id: str, run_key: str, work: Callable[[], str], now: datetime | None = None) -> bool:
    """Run `work` unless another node has run (or is running) this job's run `run_key`."""
    now = now or clock.now()
    try:
        with db.transaction() as s:
            s.add(JobRun(job_id=job_id, run_key=run_key, holder=HOLDER, status="berjalan", started_at=now,
                         lease_until=now + LEASE))
    except IntegrityError:
        with db.transaction() as s:  # a crashed holder's lease lapses: take the run over
            taken = s.execute(update(JobRun).where(
                JobRun.job_id == job_id, JobRun.run_key == run_key, JobRun.status == "berjalan",
                JobRun.lease_until < now).values(holder=HOLDER, lease_until=now + LEASE, started_at=now))
            if taken.rowcount != 1:
                return False
    try:
        message, status = work(), "selesai"
    except Exception as exc:  # recorded for the admins; the next run tries again
        log.exception("tugas terjadwal %s gagal", job_id)
        message, status = f"{type(exc).__name__}: {exc}"[:2000], "gagal"
    with db.transaction() as s:
        s.execute(update(JobRun).where(JobRun.job_id == job_id, JobRun.run_key == run_key)
                  .values(status=status, finished_at=clock.now(), message=message))
    return status == "selesai"


JobFn = Callable[[Database, datetime], str]


def job(job_id: str, every: str) -> Callable[[JobFn], JobFn]:
    """Register a job; `every` is "minute" or "day" and makes its run key."""

    def register(fn: JobFn) -> JobFn:
        fn.every = every  # type: ignore[attr-defined]
        _jobs[job_id] = fn
        return fn

    return register


def run_key(every: str, now: datetime, tz: Any) -> str:
    local = now.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M") if every == "minute" else local.strftime("%Y-%m-%d")


def trigger(job_id: str) -> None:
    """What APScheduler calls (by reference, so the job store can keep it): one keyed run of the job."""
    db, now = database(), clock.now()
    fn = _jobs[job_id]
    run_once(db, job_id, run_key(fn.every, now, db.settings.tz), lambda: fn(db, now), now)  # type: ignore[attr-defined]


@job("timer_bpmn", "minute")
def fire_timers(db: Database, now: datetime) -> str:
    return f"{timers.fire_due_timers(db, now)} instans maju"


@job("siklus", "day")
def cycle_calendar(db: Database, now: datetime) -> str:
    """Open the period that starts today; remind before deadlines; close cycles past the last one."""
    return cycles.calendar_day(db, Actor.system("penjadwal"), now)


def build(db: Database, background: bool = False) -> BaseScheduler:
    """The scheduler with every registered job (callers register other packages' jobs first)."""
    use(db)
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename="apscheduler_jobs")},
        timezone=db.settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
    )
    for job_id, fn in _jobs.items():
        if fn.every == "minute":  # type: ignore[attr-defined]
            scheduler.add_job("engine.scheduler:trigger", "interval", minutes=1, args=[job_id], id=job_id,
                              replace_existing=True)
        else:
            scheduler.add_job("engine.scheduler:trigger", "cron", hour=0, minute=5, args=[job_id], id=job_id,
                              replace_existing=True)
    return scheduler


def history(db: Database, limit: int = 200) -> list[JobRun]:
    with db.read() as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))
