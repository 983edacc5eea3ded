"""Our own figures of each closed update cycle's period, kept as the register gives them, and one
region's figures of a period as the people overseeing it read them.

The series checks judge a period's figures and the API publishes them, so they must not wait for
someone to run `sijosku quality snapshot`, nor stay as first counted when a late approval (or a
removal verified later) changes what the register gives for that period. The scheduler's daily job
counts each closed cycle's period and stores the figures when they were never taken or no longer
agree. A determined year's periods stay as they were when it was determined: its official figures
were frozen then, and a revision of that year takes them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import NotFound, phrase
from engine.core.periods import period_key
from engine.core.uow import Database
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import aggregates
from engine.verification import determinations
from engine.verification.figure_status import FigureStatus, Statuses
from models import AggregateValue, Category, Cycle, CycleStatus, Region

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    """One period counted again: how many of its figures were new or changed (0: none)."""

    periode: str
    berubah: int


def _closed(session: Session) -> list[str]:
    return sorted(session.scalars(select(Cycle.periode).where(Cycle.status == CycleStatus.DITUTUP)), key=period_key)


def closed_periods(session: Session) -> list[str]:
    """The periods of closed cycles in years not yet determined, oldest first."""
    return [p for p in _closed(session) if not _determined(session, p)]


def _determined(session: Session, periode: str) -> bool:
    return determinations.latest(session, period_key(periode)[0]) is not None


def keep_current(session: Session, actor: Actor, province: str, periode: str) -> Counted:
    """Count a closed period again; store its figures if never taken or no longer the register's.

    Under the province's lock, which the determination's freeze takes too: a year determined since
    the periods were listed is left as it was frozen."""
    aggregates.one_rescan_at_a_time(session, {("", province)})
    if _determined(session, periode):
        return Counted(periode, 0)
    return _counted_again(session, actor, province, periode)


def take_year(session: Session, actor: Actor, province: str, year: int) -> int:
    """A year's reconciliation, the first or a revision's, takes the year's figures and those of each
    of its closed periods again (a late approval may have changed them since the last
    determination froze them); returns how many of the year's figures it stored."""
    aggregates.one_rescan_at_a_time(session, {("", province)})
    for periode in (p for p in _closed(session) if period_key(p)[0] == year):
        _counted_again(session, actor, province, periode)
    return aggregates.snapshot_records(session, actor, str(year), province)


def _counted_again(session: Session, actor: Actor, province: str, periode: str) -> Counted:
    now = aggregates.count_records(session, province, periode)
    stored = aggregates.counted_before(session, province, periode)
    changed = len(aggregates.differences(stored, now))
    if stored and not changed:
        return Counted(periode, 0)
    aggregates.snapshot_records(session, actor, periode, province, now)
    return Counted(periode, changed)


class NotAllCounted(RuntimeError):
    """Some periods could not be counted: the job's run is recorded as failed, saying which."""


def keep_all_current(db: Database, actor: Actor) -> str:
    """The daily job: every closed period in a transaction of its own, so that one that fails (and is
    named in the run's message) does not hold the others back."""
    with db.read() as session:
        periods = closed_periods(session)
    done, failed = [], []
    for periode in periods:
        try:
            with db.transaction() as session:
                done.append(keep_current(session, actor, db.settings.province, periode))
        except Exception:  # recorded in the run's message; the next day's run tries again
            log.exception("angka periode %s tidak dapat dihitung", periode)
            failed.append(periode)
    if not periods:
        with db.read() as session:
            some_closed = bool(_closed(session))
        if some_closed:  # their years are determined: a revision of the year takes them again
            return phrase("setiap periode yang ditutup termasuk tahun yang sudah ditetapkan")
        return phrase("belum ada siklus yang ditutup")
    counted = ", ".join(c.periode for c in done) or "-"
    changed = sum(c.berubah for c in done)
    summary = phrase(f"{len(done)} periode dihitung ulang ({counted}); {changed} angka berubah")
    if failed:
        raise NotAllCounted(phrase(f"{summary}; gagal dihitung: {', '.join(failed)}"))
    return summary


@dataclass(frozen=True)
class FigureRow:
    """One category's figure of the region in the period, with how far it has come."""

    kategori: str
    nama: str
    satuan: str
    nilai: int
    status: FigureStatus
    diperbarui: datetime


@dataclass(frozen=True)
class Below:
    """A region directly below, to read its figures; `sementara` while a submission within it is in work."""

    kode: str
    nama: str
    sementara: bool


@dataclass
class RegionFigures:
    kode: str
    nama: str
    induk: str  # the region above, when the person oversees it too ("" otherwise)
    periode: str  # the period shown: the one asked for, or the newest with figures
    periods: list[str]  # every period with the region's figures, newest first
    rows: list[FigureRow]
    below: list[Below]


def region_figures(session: Session, actor: Actor, wilayah: str, periode: str, province: str) -> RegionFigures:
    """Our own figures of one region in one period, as the API publishes them (with their status),
    and the regions directly below it to go down to."""
    scope = Scope.overseeing(actor).require_any()
    kode = wilayah or (scope.regions[0] if scope.regions else province)
    scope.require(kode, f"Wilayah {kode}")
    region = session.get(Region, kode)
    if region is None:
        raise NotFound(f"Wilayah {kode} tidak dikenal")
    periods = _periods_of(session, kode)
    periode = periode or (periods[0] if periods else "")
    statuses = Statuses(session, {periode})
    induk = region.induk if region.induk and scope.contains(region.induk) else ""
    return RegionFigures(
        kode,
        region.nama,
        induk,
        periode,
        periods,
        _rows(session, actor, statuses, kode, periode),
        _below(session, statuses, kode, periode),
    )


def _periods_of(session: Session, kode: str) -> list[str]:
    query = select(AggregateValue.periode).where(
        AggregateValue.sumber == aggregates.OURS, AggregateValue.region_kode == kode
    )
    return sorted(set(session.scalars(query)), key=period_key, reverse=True)


def _rows(session: Session, actor: Actor, statuses: Statuses, kode: str, periode: str) -> list[FigureRow]:
    query = (
        select(AggregateValue, Category.nama, Category.satuan)
        .join(Category, Category.kode == AggregateValue.kategori)
        .where(
            AggregateValue.sumber == aggregates.OURS,
            AggregateValue.region_kode == kode,
            AggregateValue.periode == periode,
        )
        .order_by(AggregateValue.kategori)
    )
    return [
        FigureRow(v.kategori, nama, satuan, v.nilai, statuses.of(v), v.imported_at)
        for v, nama, satuan in session.execute(query)
        if privacy.sees_sensitive_count(actor, kode, v.kategori)
    ]


def _below(session: Session, statuses: Statuses, kode: str, periode: str) -> list[Below]:
    children = session.execute(select(Region.kode, Region.nama).where(Region.induk == kode).order_by(Region.kode))
    return [Below(child, nama, statuses.in_work(periode, child)) for child, nama in children]
