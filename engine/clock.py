"""The engine's clock, which tests and `timers fire --now` can set.

SpiffWorkflow's timer events read `datetime.now(timezone.utc)` from their own module. The
module's `datetime` is replaced by a subclass that asks this clock, so a controlled time
reaches BPMN timers without patching anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

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


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockDatetime:  # type: ignore[override]
        current = now()
        current = current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)
        return cls.fromtimestamp(current.timestamp(), tz) if tz else cls.fromisoformat(current.isoformat())


_spiff_timer.datetime = _ClockDatetime  # type: ignore[misc]
