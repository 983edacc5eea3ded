"""The scheduler: each run of a job, and APScheduler's own job store."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class JobStatus(enum.StrEnum):
    BERJALAN = "berjalan"
    SELESAI = "selesai"
    GAGAL = "gagal"


class JobRun(Base):
    """One run of a scheduled job: taken under a lease so that, with several nodes, it runs once."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job_id", "run_key", name="uq_job_run"),
        # a job's runs finished after a moment: whether the clock was set back (`jobs._ran_ahead_of`)
        Index("ix_job_run_finished", "job_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(60), index=True)
    run_key: Mapped[str] = mapped_column(String(40))
    holder: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    message: Mapped[str | None] = mapped_column(Text)


class SchedulerJob(Base):
    """APScheduler's SQLAlchemy job store table, kept under Alembic like every other table."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
