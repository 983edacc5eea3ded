"""The engine's clock, which tests and `--now` options can set.

Everything that stamps a time asks `now()`. The BPMN package connects SpiffWorkflow's timer
events to this clock (`engine.bpmn.timers.follow_engine_clock`), so a controlled time reaches
them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_fixed_now: ContextVar[datetime | None] = ContextVar("sijosku_now", default=None)


def now() -> datetime:
    return _fixed_now.get() or datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    if moment.tzinfo is None:
        raise ValueError("waktu harus memakai zona waktu")
    token = _fixed_now.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _fixed_now.reset(token)
