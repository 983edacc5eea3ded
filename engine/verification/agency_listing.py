"""What other agencies have sent for a year, as those who oversee the reconciliation read it: each
agency's figures counted with their open flags, and one agency's figures beside ours."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.core import agency_names
from engine.core.actors import Actor
from engine.core.paging import page_of
from engine.people.scope import Scope
from engine.quality import aggregates
from engine.verification.reconciliation import check_year
from models import AggregateValue, FlagStatus, QualityFlag

PAGE_SIZE = 100


@dataclass(frozen=True)
class AgencyYear:
    """What one agency has sent for a year."""

    instansi: str
    angka: int
    wilayah: int
    kategori: int
    periode: list[str]
    diterima: datetime
    tanda_terbuka: int
    kunci: str  # names these figures: a withdrawal takes back exactly what the person saw


def in_year(tahun: int) -> Any:
    return or_(AggregateValue.periode == str(tahun), AggregateValue.periode.like(f"{tahun}-%"))


def same_year(periode: str | None, tahun: int) -> bool:
    return bool(periode) and (periode == str(tahun) or str(periode).startswith(f"{tahun}-"))


def overview(session: Session, actor: Actor, tahun: Any) -> list[AgencyYear]:
    """Each agency's figures for the year (those within the person's regions), with its open flags."""
    scope = Scope.overseeing(actor).require_any()
    year = check_year(tahun)
    rows = session.scalars(
        select(AggregateValue).where(
            AggregateValue.sumber != aggregates.OURS, in_year(year), scope.where(AggregateValue.region_kode)
        )
    )
    by_agency: dict[str, list[AggregateValue]] = defaultdict(list)
    for row in rows:
        by_agency[row.sumber].append(row)
    flags = _open_flags(session, scope, year)
    return [
        AgencyYear(
            name,
            len(own),
            len({r.region_kode for r in own}),
            len({r.kategori for r in own}),
            sorted({r.periode for r in own}),
            max(r.imported_at for r in own),
            flags.get(name, 0),
            figures_key(own),
        )
        for name, own in sorted(by_agency.items())
    ]


def _open_flags(session: Session, scope: Scope, year: int) -> dict[str, int]:
    """Open flags on each agency's figures of the year: the comparison with ours and its own series'
    rules, as the preview and the save count them."""
    found = session.scalars(
        select(QualityFlag).where(
            QualityFlag.item_id.is_(None),
            QualityFlag.status == FlagStatus.TERBUKA,
            scope.where(QualityFlag.region_kode),
        )
    )
    counts: dict[str, int] = defaultdict(int)
    for flag in found:
        if same_year(flag.periode, year) and (agency := _agency_of(flag)):
            counts[agency] += 1
    return counts


def _agency_of(flag: QualityFlag) -> str | None:
    """The agency whose figure a flag is on (a comparison names it `instansi`, a series rule `sumber`)."""
    agency = flag.sources.get("instansi") or flag.sources.get("sumber")
    return None if agency in (None, aggregates.OURS) else str(agency)


@dataclass(frozen=True)
class Beside:
    """An agency's figure beside ours for the same region, category and period, with the open flags
    the comparison raised on it."""

    kode_wilayah: str
    kategori: str
    periode: str
    nilai: int
    nilai_kita: int | None
    tanda: tuple[QualityFlag, ...] = ()


def figures_of(
    session: Session, actor: Actor, tahun: Any, instansi: str, halaman: int = 1
) -> tuple[list[Beside], int, int]:
    """One agency's figures for the year beside ours, a page at a time: (rows, page, pages)."""
    scope = Scope.overseeing(actor).require_any()
    year = check_year(tahun)
    if agency_names.is_ours(instansi):  # ours are beside each agency's, never listed as one
        return [], 1, 1
    theirs = list(
        session.scalars(
            select(AggregateValue)
            .where(AggregateValue.sumber == instansi, in_year(year), scope.where(AggregateValue.region_kode))
            .order_by(AggregateValue.region_kode, AggregateValue.kategori, AggregateValue.periode)
        )
    )
    page, pages, offset = page_of(len(theirs), halaman, PAGE_SIZE)
    shown = theirs[offset : offset + PAGE_SIZE]
    codes = {r.region_kode for r in shown}
    ours = {
        (r.region_kode, r.kategori, r.periode): r.nilai
        for r in session.scalars(
            select(AggregateValue).where(
                AggregateValue.sumber == aggregates.OURS, in_year(year), AggregateValue.region_kode.in_(codes)
            )
        )
    }
    flags = _flags_on(session, instansi, codes)
    return (
        [
            Beside(
                r.region_kode,
                r.kategori,
                r.periode,
                r.nilai,
                ours.get((r.region_kode, r.kategori, r.periode)),
                tuple(flags.get((r.region_kode, r.kategori, r.periode), ())),
            )
            for r in shown
        ],
        page,
        pages,
    )


def _flags_on(session: Session, instansi: str, codes: set[str]) -> dict[tuple[str, str, str], list[QualityFlag]]:
    """The open flags on an agency's figures in these regions, by region, category, period."""
    found: dict[tuple[str, str, str], list[QualityFlag]] = defaultdict(list)
    for flag in session.scalars(
        select(QualityFlag).where(
            QualityFlag.item_id.is_(None),
            QualityFlag.status == FlagStatus.TERBUKA,
            QualityFlag.region_kode.in_(codes),
        )
    ):
        if _agency_of(flag) == instansi:
            found[(flag.region_kode, flag.kategori or "", flag.periode or "")].append(flag)
    return found


def figures_key(rows: list[AggregateValue]) -> str:
    content = json.dumps(sorted([r.region_kode, r.kategori, r.periode, r.nilai] for r in rows))
    return hashlib.sha256(content.encode()).hexdigest()[:16]
