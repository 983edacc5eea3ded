"""Uploads that died with their process: found by the scheduled sweep and failed, with a message
that tells the person to upload again (nothing of such an upload was written)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, update

from engine.core import rows
from engine.core.errors import phrase
from engine.core.uow import Database
from engine.verification.imports import IMPORT_JOB
from models import ImportJob, ImportStatus, JobRun, JobStatus

STALE_AFTER = timedelta(minutes=30)  # far longer than the largest allowed file takes


def _runner_gone(now: datetime) -> Any:
    """A running import whose process holds no live run of the import job: it runs only inside one,
    so that process was killed or crashed (known once its lease lapses, `jobs.LEASE`)."""
    alive = exists().where(
        JobRun.job_id == IMPORT_JOB,
        JobRun.holder == ImportJob.runner,
        JobRun.status == JobStatus.BERJALAN,
        JobRun.finished_at.is_(None),  # the runs in hand, by `ix_job_run_finished`
        JobRun.lease_until >= now,
    )
    return and_(ImportJob.status == ImportStatus.BERJALAN, ImportJob.runner.is_not(None), ~alive)


def fail_stale_jobs(db: Database, now: datetime) -> str:
    """The scheduled sweep: a job whose process died (a restart, a crash), or still waiting or running
    long after it began, is marked failed, so the person is told to upload again."""
    with db.transaction() as session:
        result = session.execute(
            update(ImportJob)
            .where(
                or_(
                    _runner_gone(now),
                    and_(
                        ImportJob.status.in_([ImportStatus.MENUNGGU, ImportStatus.BERJALAN]),
                        ImportJob.created_at < now - STALE_AFTER,
                    ),
                )
            )
            .values(
                status=ImportStatus.GAGAL,
                message=(
                    "Impor tidak selesai (server dimulai ulang, atau penjadwal tidak berjalan); "
                    "tidak ada yang disimpan, unggah lagi"
                ),
                finished_at=now,
                pending_rows=None,
            )
        )
    return phrase(f"{rows.affected(result)} impor macet ditandai gagal")
