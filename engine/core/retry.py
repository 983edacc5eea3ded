"""Transactions that lost a race at the database (a deadlock, a serialisation failure, SQLite's
lock wait running out) are tried again; when they keep losing, the person gets a `Conflict`.

Row locks are taken in a fixed order (rows by id, the audit head last), so these are rare; this is
the net under what remains. Only work that owns its whole transaction may be retried: it rolled
back entirely, so running it again cannot do anything twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from engine.core.errors import Conflict

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 4
# deadlock_detected, serialization_failure, lock_not_available (lock_timeout), and unique_violation:
# two requests creating the same thing at once (a year's reconciliation, a preference, an agency's
# figure) both found it missing, and the later insert fails on the key; run again, the use case finds
# the row the other committed and takes its path for an existing one.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03", "23505"})
BUSY = "Data ini sedang diubah oleh tindakan lain pada saat yang sama; tidak ada yang diubah. Coba lagi."


def is_lost_race(exc: BaseException) -> bool:
    """A deadlock, a serialisation failure or a key taken meanwhile: nothing is wrong but the timing."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def retrying(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`work()`, tried again after a short random pause when it loses a race; `Conflict` after the last."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_lost_race(exc):
                raise
            if attempt == attempts:
                raise Conflict(BUSY) from exc
            log.warning("transaksi kalah berlomba (%s), percobaan %d", type(exc.orig).__name__, attempt)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")
