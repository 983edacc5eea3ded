"""Run in a separate process by the scheduler tests: one node's scheduler firing a job."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import bootstrap
from engine.core import jobs
from engine.core.config import load_settings
from engine.core.uow import Database
from notifications.plugin import plugin as notifications_plugin


def fire(url: str, job_id: str, now: str, barrier, results) -> None:
    settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": "test", "SIJOSKU_INSTANCE_DIR": "/tmp"})
    db = bootstrap(Database.connect(settings), notifications_plugin(settings))
    try:
        moment = datetime.fromisoformat(now)
        barrier.wait(timeout=60)
        results.put(jobs.run_job(db, job_id, moment) == jobs.Outcome.SELESAI)
    except Exception as exc:
        results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        db.dispose()
