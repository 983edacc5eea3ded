"""Run in a separate process by the concurrency tests: one node acting on a shared database."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import bootstrap
from engine.bpmn import timers
from engine.core.config import load_settings
from engine.core.errors import Conflict
from engine.core.uow import Database
from tests.factories import decide_task


def _node(url: str) -> Database:
    return bootstrap(
        Database.connect(load_settings({"DATABASE_URL": url, "SECRET_KEY": "test", "SIJOSKU_INSTANCE_DIR": "/tmp"}))
    )


def complete(url: str, username: str, task_id: int, barrier, results) -> None:
    db = _node(url)
    try:
        barrier.wait(timeout=60)
        with db.transaction() as session:
            decide_task(session, username, task_id, "approve")
        results.put("ok")
    except Conflict as exc:
        results.put(f"conflict: {exc}")
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        db.dispose()


def fire(url: str, now: str, barrier, results) -> None:
    db = _node(url)
    try:
        barrier.wait(timeout=60)
        results.put(timers.fire_due_timers(db, datetime.fromisoformat(now)))
    except Exception as exc:
        results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        db.dispose()
