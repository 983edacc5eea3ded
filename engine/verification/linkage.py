"""What other registers say about a person, as the task page, the record page and the API show it:
the Dukcapil answer for a record or an item (only while it is not older than the values it checked),
and the DTSEN decile and programmes, found by NIK or else by family card (KK)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine.core import rows
from models import DtsenEntry, NikCheck, NikStatus, Record, SubmissionItem

CHUNK = 500  # bound every IN list

# Built once: the task page asks these on every request, and building a statement costs more
# client time than PostgreSQL takes to answer it.
_RECORD_CHECKS = (
    select(NikCheck, Record.updated_at)
    .join(Record, Record.id == NikCheck.record_id)
    .where(Record.id.in_(bindparam("ids", expanding=True)))
)
_ITEM_CHECKS = (
    select(NikCheck, SubmissionItem.updated_at)
    .join(SubmissionItem, SubmissionItem.id == NikCheck.item_id)
    .where(SubmissionItem.id.in_(bindparam("ids", expanding=True)))
)
_DTSEN_BY_NIK_OR_KK = select(DtsenEntry).where(
    or_(DtsenEntry.nik.in_(bindparam("niks", expanding=True)), DtsenEntry.no_kk.in_(bindparam("kks", expanding=True)))
)


@dataclass(frozen=True)
class NikView:
    status: str
    checked_at: datetime | None = None
    berbeda: tuple[str, ...] = ()

    @classmethod
    def unchecked(cls) -> NikView:
        return cls(NikStatus.BELUM_DICEK.value)


@dataclass(frozen=True)
class DtsenView:
    desil: int
    program: tuple[str, ...]
    via: str  # "nik", or "kk" when only the family card matched


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    return rows.chunks(values, CHUNK)


def _view(check: NikCheck, changed_at: datetime) -> NikView:
    if check.checked_at is None or check.checked_at < changed_at:
        return NikView.unchecked()  # no answer yet, or the values changed after it
    return NikView(check.status.value, check.checked_at, tuple(check.berbeda or ()))


def nik_statuses(session: Session, record_ids: list[int]) -> dict[int, NikView]:
    found: dict[int, NikView] = {}
    for ids in _chunks(record_ids):
        for check, changed in session.execute(_RECORD_CHECKS, {"ids": ids}):
            if check.record_id is not None:
                found[check.record_id] = _view(check, changed)
    return found


def item_nik_statuses(session: Session, item_ids: list[int]) -> dict[int, NikView]:
    found: dict[int, NikView] = {}
    for ids in _chunks(item_ids):
        for check, changed in session.execute(_ITEM_CHECKS, {"ids": ids}):
            if check.item_id is not None:
                found[check.item_id] = _view(check, changed)
    return found


@dataclass
class _Family:
    desil: int
    program: set[str] = field(default_factory=set)


def dtsen_for(session: Session, people: list[tuple[str | None, str | None]]) -> dict[tuple[Any, Any], DtsenView]:
    """(nik, no_kk) → the DTSEN entry of that NIK, else of that family card."""
    niks = sorted({n for n, _ in people if n})
    kks = sorted({k for _, k in people if k})
    by_nik: dict[str, DtsenEntry] = {}
    by_kk: dict[str, _Family] = {}
    # One read per chunk for both keys. An entry may come back in two reads (by its NIK in one, by
    # its card in another); keeping it twice changes nothing below.
    none: list[str] = []
    for nik_part, kk_part in zip_longest(_chunks(niks), _chunks(kks), fillvalue=none):
        asked_niks, asked_kks = set(nik_part), set(kk_part)
        for entry in session.scalars(_DTSEN_BY_NIK_OR_KK, {"niks": nik_part, "kks": kk_part}):
            if entry.nik in asked_niks:
                by_nik[entry.nik] = entry
            if entry.no_kk and entry.no_kk in asked_kks:
                family = by_kk.setdefault(entry.no_kk, _Family(entry.desil))
                family.desil = min(family.desil, entry.desil)
                family.program.update(entry.program or [])
    found: dict[tuple[Any, Any], DtsenView] = {}
    for nik, kk in people:
        if nik and nik in by_nik:
            e = by_nik[nik]
            found[(nik, kk)] = DtsenView(e.desil, tuple(e.program or ()), "nik")
        elif kk and kk in by_kk:
            family = by_kk[kk]
            found[(nik, kk)] = DtsenView(family.desil, tuple(sorted(family.program)), "kk")
    return found
