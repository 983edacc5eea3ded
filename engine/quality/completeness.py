"""Completeness and timeliness of a period per region (DHIS2-style): how many desa were expected,
submitted (on time or late, as a nil report, or with the register unchecked), how much of the
register each re-verified, and how many each tier approved. The cycle status and the quality
dashboard both read it; each checks its own scope first."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.core.errors import NotFound
from models import (
    TIER_ORDER,
    Cycle,
    CycleStatus,
    Decision,
    HumanTask,
    ItemSource,
    Region,
    RegionChange,
    RegionChangeKind,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Tier,
)

CHECKING_TIERS = [t for t in reversed(TIER_ORDER) if t != Tier.DESA]  # kecamatan, kabupaten, provinsi


@dataclass
class Status:
    kode: str
    nama: str
    expected: int = 0  # desa and kelurahan in the region
    opened: int = 0  # with a submission in the period
    submitted: int = 0  # submitted at least once
    on_time: int = 0
    late: int = 0
    verified: dict[str, int] = field(default_factory=lambda: {t.value: 0 for t in CHECKING_TIERS})
    not_reported: int = 0
    nihil: int = 0  # submitted as an explicit nil report
    unchecked_statement: int = 0  # submitted with the statement that the register could not be checked
    register_total: int = 0  # register records carried into the period
    register_checked: int = 0  # of which the desa gave a status
    returned: int = 0  # returned to the desa and not submitted again yet: waiting for its correction

    @property
    def percent(self) -> int:
        """The share of the expected desa that submitted."""
        return round(100 * self.submitted / self.expected) if self.expected else 0

    @property
    def reverified_percent(self) -> int | None:
        """The share of the register re-verified in the period, or None where there is no register."""
        return round(100 * self.register_checked / self.register_total) if self.register_total else None

    def add(self, other: Status) -> None:
        for name in (
            "expected",
            "opened",
            "submitted",
            "on_time",
            "late",
            "not_reported",
            "nihil",
            "unchecked_statement",
            "register_total",
            "register_checked",
            "returned",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for tier, n in other.verified.items():
            self.verified[tier] += n

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "verified": dict(self.verified),
            "percent": self.percent,
            "reverified_percent": self.reverified_percent,
        }


def _submissions_in(periode: str, parent: str) -> Select[Any]:
    """The period's submissions of the region's desa: the only ones whose tasks its status reads."""
    return select(Submission.id).where(Submission.periode == periode, Submission.kode_desa.like(f"{parent}.%"))


def _first_submitted(session: Session, periode: str, parent: str) -> dict[int, datetime]:
    """Submission id -> when its desa first sent it up."""
    found = session.execute(
        select(HumanTask.submission_id, func.min(HumanTask.completed_at))
        .where(
            HumanTask.submission_id.in_(_submissions_in(periode, parent)),
            HumanTask.tingkat == Tier.DESA,
            HumanTask.status == TaskStatus.SELESAI,
        )
        .group_by(HumanTask.submission_id)
    )
    return {sid: first for sid, first in found if sid is not None and first is not None}


def _approvals(session: Session, periode: str, parent: str) -> dict[int, set[str]]:
    """The tiers that approved each of the region's submissions as it stands now: in the round since
    its desa's last task (a return opens a new one), so an approval a later return undid no longer counts."""
    own = HumanTask.submission_id.in_(_submissions_in(periode, parent))
    last_desa_task = dict(
        session.execute(
            select(HumanTask.submission_id, func.max(HumanTask.id))
            .where(own, HumanTask.tingkat == Tier.DESA)
            .group_by(HumanTask.submission_id)
        ).all()
    )
    approvals: dict[int, set[str]] = defaultdict(set)
    for sid, tier, task_id in session.execute(
        select(HumanTask.submission_id, HumanTask.tingkat, HumanTask.id).where(
            own, HumanTask.status == TaskStatus.SELESAI, HumanTask.keputusan == Decision.SETUJU
        )
    ):
        if sid is not None and task_id > last_desa_task.get(sid, 0):
            approvals[sid].add(tier.value)
    return approvals


def total(session: Session, rows: list[Status], parent: str) -> Status:
    """The region's own total: the sum of its children's rows."""
    whole = Status(parent, session.scalar(select(Region.nama).where(Region.kode == parent)) or parent)
    for row in rows:
        whole.add(row)
    return whole


def _register_counts(session: Session, periode: str, parent: str) -> dict[int, tuple[int, int]]:
    """Submission id -> (register records carried in, of which given a status)."""
    found = session.execute(
        select(
            SubmissionItem.submission_id,
            func.count(),
            func.count(SubmissionItem.verval),
        )
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .where(
            Submission.periode == periode,
            Submission.kode_desa.like(f"{parent}.%"),
            SubmissionItem.source == ItemSource.REGISTER,
            SubmissionItem.dibuang.is_(False),
        )
        .group_by(SubmissionItem.submission_id)
    )
    return {sid: (n, checked) for sid, n, checked in found}


def carried_on(periode: str) -> Select[str | None]:
    """Desa whose new code carries on from a desa that reported the period under its old one (a desa
    recoded, or merged into a new one from any one that reported, whichever its list names first): the
    period is not asked of them again. A desa split off one still in use reports; so does an existing
    desa that took in another, even one formed by an earlier decree."""
    ended, formed = aliased(RegionChange), aliased(RegionChange)
    opened = select(Submission.kode_desa).where(Submission.periode == periode)
    return (
        select(ended.terkait)
        .join(
            formed,  # formed by the same decree that ended the old code: not an older desa taking one in
            and_(
                formed.kode == ended.terkait,
                formed.perubahan == RegionChangeKind.BARU,
                formed.dasar == ended.dasar,
                formed.berlaku == ended.berlaku,
            ),
        )
        .where(ended.perubahan == RegionChangeKind.BERAKHIR, ended.kode.in_(opened))
    )


def require_in_use(session: Session, periode: str) -> None:
    """A period asked for by name has a cycle or a submission: counted, one that never was would
    read as every desa owing a report it was never asked for."""
    cycle = select(Cycle.id).where(Cycle.periode == periode)
    submission = select(Submission.id).where(Submission.periode == periode)
    if any(session.scalar(used.limit(1)) is not None for used in (cycle, submission)):
        return
    raise NotFound(f"Periode {periode} belum pernah dibuka")


def tally(session: Session, periode: str, parent: str, registers: bool = True) -> list[Status]:
    """The counts behind `status`, for a caller that has checked its own scope. `registers`: also
    the register records carried and checked (most of the work at a province's scale; a
    determination's coverage does not read them)."""
    cycle = session.scalar(select(Cycle).where(Cycle.periode == periode))
    deadline = datetime.fromisoformat(cycle.batas[Tier.DESA.value]) if cycle else None
    # A closed cycle expected the desa it opened (closing marked each one it did not hear from); one
    # still open or not yet opened expects every desa in use, and those it opened whose code ended since.
    closed = cycle is not None and cycle.status == CycleStatus.DITUTUP
    opened = select(Submission.kode_desa).where(Submission.periode == periode)
    expected_desa: Any = Region.kode.in_(opened)
    if not closed:  # a desa formed after the period's desa deadline is not asked for it (nor opened)
        in_use = and_(Region.berakhir.is_(None), Region.kode.not_in(carried_on(periode)))
        if deadline is not None:
            formed_late = select(RegionChange.kode).where(
                RegionChange.perubahan.in_([RegionChangeKind.BARU, RegionChangeKind.BERLAKU_LAGI]),
                RegionChange.created_at > deadline,
            )
            in_use = and_(in_use, Region.kode.not_in(formed_late))
        expected_desa = or_(expected_desa, in_use)
    desa = session.scalars(
        select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like(f"{parent}.%"), expected_desa)
    ).all()
    depth = parent.count(".") + 2

    def child(code: str) -> str:
        return ".".join(code.split(".")[:depth])

    expected = Counter(child(code) for code in desa)
    listed: Any = Region.kode.in_(list(expected))
    if not closed:
        listed = or_(Region.berakhir.is_(None), listed)
    children = session.scalars(select(Region).where(Region.induk == parent, listed).order_by(Region.kode))
    rows = {c.kode: Status(c.kode, c.nama) for c in children}
    for code, n in expected.items():
        if code in rows:
            rows[code].expected = n
    subs = session.execute(
        select(
            Submission.id,
            Submission.kode_desa,
            Submission.status,
            Submission.putaran,
            Submission.nihil,
            Submission.tidak_diperiksa,
            Submission.submitted_at,
        ).where(Submission.periode == periode, Submission.kode_desa.like(f"{parent}.%"))
    ).all()
    first_submit = _first_submitted(session, periode, parent)
    approvals = _approvals(session, periode, parent)
    register_counts = _register_counts(session, periode, parent) if registers else {}
    for sid, code, state, putaran, nihil, unchecked, last_submit in subs:
        row = rows.get(child(code))
        if row is None:
            continue
        row.opened += 1
        if state == SubmissionStatus.TIDAK_MELAPOR:
            row.not_reported += 1
        row.returned += state == SubmissionStatus.DIKEMBALIKAN
        carried, checked = register_counts.get(sid, (0, 0))
        row.register_total += carried
        row.register_checked += checked
        if putaran > 0:
            row.submitted += 1
            row.nihil += bool(nihil)
            row.unchecked_statement += bool(unchecked)
            # Without its desa task's time, the last submission's: on time then means on time at first too.
            first = first_submit.get(sid) or last_submit
            if deadline and first and first <= deadline:
                row.on_time += 1
            else:
                row.late += 1 if deadline else 0
        for tier in CHECKING_TIERS:
            row.verified[tier.value] += tier.value in approvals[sid]
    return list(rows.values())
