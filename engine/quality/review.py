"""The aggregate flags people judge: listed most serious and most surprising first, and explained,
acknowledged, closed or reopened on the record.

A flag's rank is its severity, then its score (how unlikely the figure is under counting noise), so
a real anomaly in a late region is not buried under ordinary ones sorted by region code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem
from engine.core.rows import affected
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import aggregates
from engine.quality.flags import EXTERNAL_RULES, NOTE_LIMIT
from models import FlagStatus, QualityFlag, Severity

PAGE_SIZE = 50
RULES = tuple(sorted(aggregates.SERIES_RULES | aggregates.AGENCY_RULES | aggregates.RETIRED_RULES))

RANK = (
    case({Severity.ERROR.value: 0, Severity.WARNING.value: 1}, value=QualityFlag.severity, else_=2),
    func.coalesce(QualityFlag.skor, 0).desc(),
    QualityFlag.region_kode,
    QualityFlag.kategori,
    QualityFlag.periode,
    QualityFlag.id,
)


class FlagAction(enum.StrEnum):
    EXPLAIN = "jelaskan"  # the figure is right; the note says why it looks odd
    ACKNOWLEDGE = "akui"  # the problem is known and being dealt with
    CLOSE = "tutup"  # corrected, or no longer relevant
    REOPEN = "buka"  # a settled flag is looked at again


_OUTCOME = {
    FlagAction.EXPLAIN: (FlagStatus.DIJELASKAN, AuditAction.FLAG_EXPLAINED),
    FlagAction.ACKNOWLEDGE: (FlagStatus.DIAKUI, AuditAction.FLAG_ACKNOWLEDGED),
    FlagAction.CLOSE: (FlagStatus.SELESAI, AuditAction.FLAG_CLOSED),
    FlagAction.REOPEN: (FlagStatus.TERBUKA, AuditAction.FLAG_REOPENED),
}


@dataclass(frozen=True)
class FlagFilter:
    region_kode: str = ""  # flags of this region and the regions within it
    rule: str = ""
    kategori: str = ""
    periode: str = ""
    severity: str = ""
    status: str = FlagStatus.TERBUKA.value  # empty: every status


@dataclass
class FlagList:
    flags: list[QualityFlag]
    total: int  # how many match, of which `flags` is one page
    page: int = 1
    per_page: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _aggregate(scope: Scope) -> list[ColumnElement[bool]]:
    """Flags on figures within the scope: not on an item or a record, not another register's."""
    return [
        QualityFlag.item_id.is_(None),
        QualityFlag.record_id.is_(None),
        QualityFlag.rule.not_in(EXTERNAL_RULES),
        scope.where(QualityFlag.region_kode),
    ]


def flag_list(
    session: Session, scope: Scope, f: FlagFilter, page: int = 1, per_page: int = PAGE_SIZE, sensitive: bool = True
) -> FlagList:
    """One page of the aggregate flags within the scope that match the filter, in rank order;
    without `sensitive`, none of a sensitive category below the regency (its figures are in it)."""
    conditions = _aggregate(scope)
    if not sensitive:
        conditions.append(
            or_(
                QualityFlag.kategori.is_(None),
                QualityFlag.kategori.not_in(privacy.SENSITIVE),
                QualityFlag.region_kode.not_like("%.%.%"),
            )
        )
    if f.region_kode:
        scope.require(f.region_kode, f"Wilayah {f.region_kode}")
        conditions.append(
            or_(QualityFlag.region_kode == f.region_kode, QualityFlag.region_kode.like(f"{f.region_kode}.%"))
        )
    for column, value in (
        (QualityFlag.rule, f.rule),
        (QualityFlag.kategori, f.kategori),
        (QualityFlag.periode, f.periode),
        (QualityFlag.severity, f.severity),
        (QualityFlag.status, f.status),
    ):
        if value:
            conditions.append(column == value)
    total = session.scalar(select(func.count()).select_from(QualityFlag).where(*conditions)) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    rows = session.scalars(
        select(QualityFlag).where(*conditions).order_by(*RANK).offset((page - 1) * per_page).limit(per_page)
    )
    return FlagList(list(rows), total, page, per_page)


def lineage(code: str) -> list[str]:
    """A region and each of its parents: 65.01.01.2005, 65.01.01, 65.01, 65."""
    parts = code.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def around(session: Session, scope: Scope, region_kode: str, limit: int = 10) -> FlagList:
    """The open flags of a region and of its parents that the scope covers, the most serious first:
    what a verifier weighs beside a submission."""
    conditions = [
        *_aggregate(scope),
        QualityFlag.status == FlagStatus.TERBUKA,
        QualityFlag.region_kode.in_(lineage(region_kode)),
    ]
    # The window counts every matching flag before the limit applies: the first page and the total
    # in one read (a page that finds no flag has a total of none).
    ranked = session.execute(select(QualityFlag, func.count().over()).where(*conditions).order_by(*RANK).limit(limit))
    shown = ranked.all()
    return FlagList([flag for flag, _ in shown], shown[0][1] if shown else 0, 1, limit)


def settle(
    session: Session, actor: Actor, flag_id: int, action: FlagAction, note: str, seen_status: str
) -> QualityFlag:
    """Explain, acknowledge, close or reopen one aggregate flag, with a note, on the record.

    `seen_status` is the status the person saw: when someone else acted first, or a new check
    replaced the flag, the person is told so and nothing is written."""
    scope = Scope.reviewing(actor).require_any()
    note = note.strip()
    if not note:
        raise Invalid("Catatan wajib diisi", [Problem("tuliskan alasannya", column="catatan")])
    if len(note) > NOTE_LIMIT:
        raise Invalid("Catatan terlalu panjang", [Problem(f"paling banyak {NOTE_LIMIT} karakter", column="catatan")])
    flag = session.get(QualityFlag, flag_id)
    if flag is None or flag.item_id is not None or flag.record_id is not None or not scope.contains(flag.region_kode):
        raise NotFound("Tanda ini tidak ada di wilayah Anda, atau sudah diganti hasil pemeriksaan yang lebih baru")
    status, action_name = _OUTCOME[action]
    if (action == FlagAction.REOPEN) == (flag.status == FlagStatus.TERBUKA):
        if action != FlagAction.REOPEN and flag.ack_by and flag.status != seen_status:  # acted on meanwhile
            raise Conflict(f"Tanda ini sudah ditindaklanjuti oleh {flag.ack_by}; muat ulang halaman")
        raise Conflict("Tanda ini sudah terbuka" if action == FlagAction.REOPEN else "Tanda ini sudah ditindaklanjuti")
    tingkat = scope.tier_at(flag.region_kode)
    changed = session.execute(
        update(QualityFlag)
        .where(QualityFlag.id == flag.id, QualityFlag.status == seen_status)
        .values(status=status, ack_by=actor.name, ack_tingkat=tingkat, ack_note=note, ack_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if affected(changed) != 1:
        session.refresh(flag)
        raise Conflict(f"Tanda ini sudah diubah oleh {flag.ack_by or 'orang lain'}; muat ulang halaman")
    audit.record(
        session,
        actor,
        action_name,
        "quality_flag",
        flag.id,
        before={"status": seen_status},
        after={"status": status.value, "aturan": flag.rule, "wilayah": flag.region_kode, "periode": flag.periode},
        reason=note,
    )
    session.refresh(flag)
    return flag
