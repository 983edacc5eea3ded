"""Running scheduled jobs (APScheduler 3, persistent SQLAlchemy job store), each run exactly once.

The jobs themselves are registered by the composition root (`engine.bootstrap`) in the database's
`Registry`. Several nodes may run the scheduler against one PostgreSQL database. Every run of a job
has a key (its minute or its day); a run is taken by inserting a `job_run` row for that key, which
only one node can do, with a lease that lapses so that a crashed node's run can be taken over. A
run missed while the server was down is caught up once (coalesced), not once per missed interval.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import and_, delete, exists, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, aliased

from engine.core import clock, rows
from engine.core.errors import NotFound, phrase
from engine.core.registry import Job
from engine.core.uow import Database
from models import JobRun, JobStatus

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
MAX_SKEW = timedelta(minutes=2)  # a node whose clock is further from the database's does not run jobs
WATCH_EVERY = 10.0  # seconds between two looks at the wall clock against the monotonic clock
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
# APScheduler's job store keeps a reference to `trigger`, not the database: this process's scheduler
# tells it which database its jobs work on.
_db: Database | None = None
# Set when the scheduler's process is asked to stop (SIGTERM, as `systemctl restart` sends): a job
# that waits for work (the import's poll) ends its run early, and is recorded as finished, not as a
# run that died.
STOPPING = threading.Event()


class Outcome(enum.StrEnum):
    SELESAI = "selesai"  # ran and finished
    GAGAL = "gagal"  # ran and failed; the next run tries again
    DILEWATI = "dilewati"  # another node has run, or is running, this run


LAPSED = "sewa habis: proses {holder} berhenti sebelum selesai (dimatikan atau mogok)"


def run_once(db: Database, job_id: str, run_key: str, work: Callable[[], str], now: datetime | None = None) -> Outcome:
    """Run `work` unless another node has run (or is running) this job's run `run_key`."""
    now = now or clock.now()
    taken = _take(db, job_id, run_key, now)
    expire_lapsed(db, now)
    if not taken:
        return Outcome.DILEWATI
    try:
        message, status = work(), JobStatus.SELESAI
    except Exception as exc:  # recorded for the admins; the next run tries again
        log.exception("tugas terjadwal %s gagal", job_id)
        message, status = f"{type(exc).__name__}: {exc}"[:2000], JobStatus.GAGAL
    with db.transaction() as s:
        s.execute(
            update(JobRun)
            .where(JobRun.job_id == job_id, JobRun.run_key == run_key)
            .values(status=status, finished_at=clock.now(), message=message)
        )
    return Outcome.SELESAI if status == JobStatus.SELESAI else Outcome.GAGAL


def _take(db: Database, job_id: str, run_key: str, now: datetime) -> bool:
    try:
        with db.transaction() as s:
            s.add(
                JobRun(
                    job_id=job_id,
                    run_key=run_key,
                    holder=HOLDER,
                    status=JobStatus.BERJALAN,
                    started_at=now,
                    lease_until=now + LEASE,
                )
            )
        return True
    except IntegrityError:
        with db.transaction() as s:
            taken = s.execute(
                update(JobRun)
                .where(
                    JobRun.job_id == job_id,
                    JobRun.run_key == run_key,
                    or_(
                        # a crashed holder's lease lapsed: take the run over
                        and_(JobRun.status == JobStatus.BERJALAN, JobRun.lease_until < now),
                        # it finished "later" than now and the job has runs further ahead than two
                        # nodes' clocks may differ (each up to MAX_SKEW from the database's, so twice
                        # that from each other): the clock was set back since and this minute comes
                        # round again; the jobs are idempotent, so it runs again, not stalls. Within
                        # that difference it is another node whose clock is behind: skipped.
                        and_(
                            JobRun.status != JobStatus.BERJALAN,
                            JobRun.finished_at > now,
                            _ran_ahead_of(job_id, now + 2 * MAX_SKEW),
                        ),
                    ),
                )
                .values(
                    holder=HOLDER,
                    lease_until=now + LEASE,
                    started_at=now,
                    status=JobStatus.BERJALAN,
                    finished_at=None,
                    message=None,
                )
            )
            return rows.affected(taken) == 1


def _ran_ahead_of(job_id: str, moment: datetime) -> Any:
    later = aliased(JobRun)
    return exists().where(later.job_id == job_id, later.finished_at > moment)


def expire_lapsed(db: Database, now: datetime) -> int:
    """Runs whose holder died (its lease lapsed and nobody took the run over) are failed, with why,
    instead of showing "berjalan" for ever; returns how many."""
    with db.transaction() as s:
        lapsed = s.execute(
            select(JobRun.id, JobRun.holder)
            .where(JobRun.status == JobStatus.BERJALAN, JobRun.lease_until < now)
            .order_by(JobRun.id)
            .with_for_update(skip_locked=True)
        ).all()
        for run_id, holder in lapsed:
            s.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(status=JobStatus.GAGAL, finished_at=now, message=LAPSED.format(holder=holder))
            )
    return len(lapsed)


@dataclass(frozen=True)
class Report:
    """What one `run_job` did, for the person who asked: its outcome and the run's own message."""

    outcome: Outcome
    run_key: str
    holder: str
    started_at: datetime | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "hasil": self.outcome.value,
            "kunci": self.run_key,
            "pemegang": self.holder,
            "mulai": self.started_at.isoformat() if self.started_at else None,
            "pesan": self.message,
        }


def run_job_reporting(db: Database, job_id: str, now: datetime | None = None) -> Report:
    """`run_job`, then what the run recorded: a skipped run names who ran it and when."""
    outcome, key = _run_keyed(db, job_id, now)  # the key of the run made, not of a later minute
    with db.read() as s:
        row = s.scalar(select(JobRun).where(JobRun.job_id == job_id, JobRun.run_key == key))
    if row is None:
        return Report(outcome, key, "", None, "")
    return Report(outcome, key, row.holder, row.started_at, row.message or "")


def run_key(every: str, now: datetime, tz: Any) -> str:
    local = now.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M") if every == "minute" else local.strftime("%Y-%m-%d")


def job_of(db: Database, job_id: str) -> Job:
    job = db.registry.jobs.get(job_id)
    if job is None:
        raise NotFound(f"Tugas terjadwal {job_id!r} tidak dikenal; yang ada: {', '.join(sorted(db.registry.jobs))}")
    return job


def run_job(db: Database, job_id: str, now: datetime | None = None) -> Outcome:
    """One keyed run of the job, as the scheduler would run it; `now` sets the clock for a rehearsal."""
    return _run_keyed(db, job_id, now)[0]


def _run_keyed(db: Database, job_id: str, now: datetime | None) -> tuple[Outcome, str]:
    job = job_of(db, job_id)
    if now is None:
        moment = clock.now()
        key = run_key(job.every, moment, db.settings.tz)

        def checked() -> str:
            _check_clock(db, moment)
            return job.run(db, moment)

        return run_once(db, job_id, key, checked, moment), key
    key = run_key(job.every, now, db.settings.tz)
    with clock.frozen_at(now):
        return run_once(db, job_id, key, lambda: job.run(db, now), now), key


def clock_skew(db: Database, moment: datetime) -> timedelta | None:
    """How far this node's clock is from the database server's (None on SQLite: one machine, one clock)."""
    if db.engine.dialect.name != "postgresql":
        return None
    with db.read() as s:
        server = s.scalar(select(func.now()))
    return moment - server if server is not None else None


def _check_clock(db: Database, moment: datetime) -> None:
    """Refuse to fire deadlines by a clock that jumped ahead: compared with the database server's
    clock, which all nodes share (a rehearsal with `--now` is not checked)."""
    skew = clock_skew(db, moment)
    if skew is not None and abs(skew) > MAX_SKEW:
        raise RuntimeError(
            f"jam server ini berbeda {skew.total_seconds():+.0f} detik dari jam basis data; "
            "tugas terjadwal tidak dijalankan sampai jam disetel (NTP)"
        )


class ClockWatch:
    """Notices the wall clock jumping: the gap between wall and monotonic time changes."""

    def __init__(self, threshold: float = 30.0) -> None:
        self.threshold = threshold
        self.offset = time.time() - time.monotonic()

    def jumped(self, wall: float | None = None, mono: float | None = None) -> float:
        """Seconds the wall clock jumped since the last look (0 when it did not)."""
        offset = (time.time() if wall is None else wall) - (time.monotonic() if mono is None else mono)
        jump, self.offset = offset - self.offset, offset
        return jump if abs(jump) >= self.threshold else 0.0


def realign(scheduler: BaseScheduler) -> None:
    """After the wall clock jumped, each job's next run is computed again from the new time: set
    back, APScheduler would otherwise wait until the old next run comes round again."""
    for job in scheduler.get_jobs():
        job.reschedule(job.trigger)
    scheduler.wakeup()


def _watch_clock(scheduler: BaseScheduler) -> None:
    watch = ClockWatch()
    while True:
        time.sleep(WATCH_EVERY)
        jump = watch.jumped()
        if jump and scheduler.running:
            log.warning("jam dinding melompat %+.0f detik; jadwal disusun ulang", jump)
            realign(scheduler)


def trigger(job_id: str) -> None:
    """What APScheduler calls (by reference, so the job store can keep it)."""
    if _db is None:
        raise RuntimeError("penjadwal belum dibangun (build)")
    run_job(_db, job_id)


def build(db: Database, background: bool = False) -> BaseScheduler:
    """The scheduler with every job registered in the database's registry."""
    global _db
    _db = db
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename="apscheduler_jobs")},
        timezone=db.settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
    )
    missed = _missed_runs(db)
    for job in db.registry.jobs.values():
        when: dict[str, Any] = {"minutes": 1} if job.every == "minute" else {"hour": 0, "minute": 5}
        if job.job_id in missed:  # replacing the stored job would move its run to tomorrow
            when["next_run_time"] = missed[job.job_id]
        scheduler.add_job(
            "engine.core.jobs:trigger",
            "interval" if job.every == "minute" else "cron",
            args=[job.job_id],
            id=job.job_id,
            replace_existing=True,
            **when,
        )
    threading.Thread(target=_watch_clock, args=(scheduler,), daemon=True, name="jam-penjadwal").start()
    return scheduler


def _missed_runs(db: Database) -> dict[str, datetime]:
    """The runs the job store still holds as due before now: the scheduler was down at their time
    (a release across 00:05). They are kept, and run once at the start, as a missed run is."""
    try:
        with db.engine.connect() as connection:
            stored = connection.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all()
    except DBAPIError:  # the first start: the store's table does not exist yet
        return {}
    now = clock.now().timestamp()
    return {job_id: datetime.fromtimestamp(at, UTC) for job_id, at in stored if at is not None and at < now}


RUNS_KEPT = timedelta(days=90)
PURGE_BATCH = 10_000


def purge_runs(db: Database, now: datetime) -> str:
    """The scheduled purge of the job history older than 90 days: the minute jobs alone make about
    three million runs a year, which every scrape of /metrics and the schedule page would count."""
    cutoff, gone = now - RUNS_KEPT, 0
    while True:
        with db.transaction() as session:  # in batches: the first purge of a long history is not one statement
            ids = session.scalars(
                select(JobRun.id)
                .where(JobRun.started_at < cutoff, JobRun.status != JobStatus.BERJALAN)
                .order_by(JobRun.id)
                .limit(PURGE_BATCH)
            ).all()
            if ids:
                session.execute(delete(JobRun).where(JobRun.id.in_(ids)))
        gone += len(ids)
        if len(ids) < PURGE_BATCH:
            return phrase(f"{gone} jalan tugas lama dihapus")


def history(session: Session, limit: int = 200) -> list[JobRun]:
    """The latest runs of the scheduled jobs, newest first."""
    return list(session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))
