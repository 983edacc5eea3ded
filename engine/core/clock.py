"""The engine's clock, which tests and `--now` options can set.

Everything that stamps a time asks `now()`. The BPMN package connects SpiffWorkflow's timer
events to this clock (`engine.bpmn.timers.follow_engine_clock`), so a controlled time reaches
them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

_fixed_now: ContextVar[datetime | None] = ContextVar("sijosku_now", default=None)
# Where the people are (SIJOSKU_TIMEZONE; the composition root sets it): their day, not the server's
_zone: list[tzinfo] = [ZoneInfo("Asia/Makassar")]


def now() -> datetime:
    return _fixed_now.get() or datetime.now(UTC)


def use_zone(zone: tzinfo) -> None:
    _zone[0] = zone


def zone() -> tzinfo:
    return _zone[0]


def today() -> date:
    """Today where the people are: until 08:00 WITA the server's UTC date is still yesterday."""
    return now().astimezone(_zone[0]).date()


def instant(value: datetime | str) -> datetime:
    """A stored instant, given as text or not: UTC when it carries no zone (the database's)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def last_day(deadline: datetime) -> date:
    """The last day a deadline leaves, where the people are: one at midnight ends the day before."""
    local = deadline.astimezone(_zone[0])
    return local.date() - timedelta(days=1 if local.time() == time(0) else 0)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    if moment.tzinfo is None:
        raise ValueError("waktu harus memakai zona waktu")
    token = _fixed_now.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _fixed_now.reset(token)
