"""Run in a separate process by the scheduler tests: one node's scheduler firing a job."""

from __future__ import annotations

from datetime import datetime


def fire(url: str, job_id: str, now: str, barrier, results) -> None:
    import notifications
    from engine import clock
    from engine import scheduler as jobs
    from engine.config import load_settings
    from engine.uow import Database

    db = Database.connect(load_settings({"DATABASE_URL": url, "SECRET_KEY": "test", "SIJOSKU_INSTANCE_DIR": "/tmp"}))
    try:
        notifications.register(db)
        jobs.use(db)
        moment = datetime.fromisoformat(now)
        barrier.wait(timeout=60)
        fn = jobs._jobs[job_id]
        key = jobs.run_key(fn.every, moment, db.settings.tz)
        with clock.frozen_at(moment):
            ran = jobs.run_once(db, job_id, key, lambda: fn(db, moment), moment)
        results.put(ran)
    except Exception as exc:
        results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        db.dispose()
