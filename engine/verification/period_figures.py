"""Our own figures of each closed update cycle's period, kept as the register gives them.

The series checks judge a period's figures and the API publishes them, so they must not wait for
someone to run `sijosku quality snapshot`, nor stay as first counted when a late approval (or a
removal verified later) changes what the register gives for that period. The scheduler's daily job
counts each closed cycle's period and stores the figures when they were never taken or no longer
agree. A determined year's periods stay as they were when it was determined: its official figures
were frozen then, and a revision of that year takes them again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import phrase
from engine.core.periods import period_key
from engine.quality import aggregates
from engine.verification import determinations
from models import Cycle, CycleStatus


@dataclass(frozen=True)
class Counted:
    """One period looked at: how many figures were stored (0: the register still gives what is stored)."""

    periode: str
    disimpan: int

    def __str__(self) -> str:
        if self.disimpan:
            return phrase(f"{self.periode}: {self.disimpan} angka disimpan")
        return phrase(f"{self.periode}: tidak berubah")


def closed_periods(session: Session) -> list[str]:
    """The periods of closed cycles in years not yet determined, oldest first."""
    periods = sorted(session.scalars(select(Cycle.periode).where(Cycle.status == CycleStatus.DITUTUP)), key=period_key)
    return [p for p in periods if not _determined(session, p)]


def _determined(session: Session, periode: str) -> bool:
    return determinations.latest(session, period_key(periode)[0]) is not None


def _differs(stored: dict[tuple[str, str], int], now: Counter[tuple[str, str]]) -> bool:
    # a figure stored as 0 is a category the register stopped giving: the same as no figure now
    return {k: n for k, n in stored.items() if n} != {k: n for k, n in now.items() if n}


def keep_current(session: Session, actor: Actor, province: str, periode: str) -> Counted:
    """Count a closed period again; store its figures if never taken or no longer the register's.

    Under the province's lock, which the determination's freeze takes too: a year determined since
    the periods were listed is left as it was frozen."""
    aggregates.one_rescan_at_a_time(session, {("", province)})
    if _determined(session, periode):
        return Counted(periode, 0)
    now = aggregates.count_records(session, province, periode)
    stored = aggregates.counted_before(session, province, periode)
    if stored and not _differs(stored, now):
        return Counted(periode, 0)
    return Counted(periode, aggregates.snapshot_records(session, actor, periode, province, now))
