"""Two transactions in a fixed order: the first does its work and holds its commit until the second
waits for its lock (on PostgreSQL, seen in `pg_stat_activity`; on SQLite the second writer waits at
`BEGIN IMMEDIATE`), so a race is run the same way every time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import text

_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")


def second_waits(db) -> None:
    if db.engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.read() as s:
            if s.scalar(_WAITING):
                return
        time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first one's lock")


def first_then_second(db, first: Callable[[object], object], second: Callable[[], object]) -> object:
    """`first(session)` in a transaction held open until `second()` waits for it; returns what
    `second` returned or raised."""
    began, outcome = threading.Event(), {}

    def run_second() -> None:
        began.wait(60)
        try:
            outcome["second"] = second()
        except Exception as exc:  # noqa: BLE001 - the outcome under test, raised or returned
            outcome["second"] = exc

    thread = threading.Thread(target=run_second)
    thread.start()
    with db.transaction() as s:
        first(s)
        began.set()
        second_waits(db)
    thread.join(120)
    assert not thread.is_alive()
    return outcome["second"]
