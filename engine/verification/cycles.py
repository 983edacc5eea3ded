"""Update cycles: the province's rhythm, opening a period for every desa, closing it, its status.

Opening is idempotent and resumable: desa are opened in batches (`cycle_batches`), each its own
transaction, and a desa that already has a submission for the period is skipped: run twice, or
again after a crash halfway, it never opens a desa twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.bpmn import bulk_start, definitions, runtime
from engine.core import audit, clock, events
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem, phrase
from engine.core.periods import months_left_out, overlaps, period_containing, validate_period
from engine.core.uow import Database
from engine.people.scope import Scope
from engine.quality import completeness
from engine.verification import status as submission_status
from engine.verification.cycle_batches import locked_cycle, open_desa, refuse_closed
from engine.verification.submissions import PROCESS_KEY, verifier_deadlines
from models import (
    TIER_ORDER,
    Cycle,
    CycleRhythm,
    CycleStatus,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Region,
    Rhythm,
    Submission,
    SubmissionStatus,
    TaskStatus,
    Tier,
    contains,
)

TIERS = list(reversed(TIER_ORDER))  # desa first: the order of the deadlines
START_VARIABLES = ["kode_desa", "periode", "submission_id"]


def rhythm(session: Session) -> CycleRhythm:
    """The stored rhythm, or the default one, not stored: a page that reads it writes nothing (on
    SQLite a write in a read would wait for, and fail behind, every other person's write)."""
    found = session.scalar(select(CycleRhythm).limit(1))
    return found or CycleRhythm(
        ritme=Rhythm.TRIWULAN,
        hari_buka=1,
        batas_desa=30,
        batas_kecamatan=45,
        batas_kabupaten=60,
        batas_provinsi=75,
        pengingat_hari=3,
        berita_acara_wajib=True,
    )


def _deadline_days(r: CycleRhythm) -> dict[Tier, int]:
    return dict(zip(TIERS, (r.batas_desa, r.batas_kecamatan, r.batas_kabupaten, r.batas_provinsi), strict=True))


MAX_DEADLINE_DAYS = 366  # a cycle is verified within the year: a longer one would never close


def _first_out_of_order(days: list[int]) -> str | None:
    """The first tier whose deadline is not a day after opening, within a year, or comes before the
    tier below it."""
    for n, (tier, day) in enumerate(zip(TIERS, days, strict=True)):
        if not 0 < day <= MAX_DEADLINE_DAYS or (n and day < days[n - 1]):
            return tier.value
    return None


def set_rhythm(
    session: Session, actor: Actor, ritme: str, hari_buka: int, batas: dict[str, int], pengingat_hari: int
) -> CycleRhythm:
    Scope.administering(actor).require_any().require_province()
    days = [batas.get(t.value, 0) for t in TIERS]
    current = rhythm(session)
    if problem := _rhythm_problem(session, current.ritme, ritme, hari_buka, days, pengingat_hari):
        raise Invalid("Ritme belum benar", [problem])
    before = {"ritme": current.ritme, "hari_buka": current.hari_buka}
    current.ritme, current.hari_buka, current.pengingat_hari = ritme, hari_buka, pengingat_hari
    current.batas_desa, current.batas_kecamatan, current.batas_kabupaten, current.batas_provinsi = days
    session.add(current)  # the default, stored at its first change
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.CYCLE_RHYTHM_SET,
        "cycle_rhythm",
        current.id,
        before=before,
        after={
            "ritme": ritme,
            "hari_buka": hari_buka,
            "batas": {t.value: d for t, d in zip(TIERS, days, strict=True)},
            "pengingat_hari": pengingat_hari,
        },
    )
    return current


def _rhythm_problem(
    session: Session, before: str, ritme: str, hari_buka: int, days: list[int], pengingat_hari: int
) -> Problem | None:
    if ritme not in set(Rhythm):
        return Problem("Ritme harus triwulan atau semester", column="ritme")
    if not 1 <= hari_buka <= 28:
        return Problem("Hari pembukaan harus 1 sampai 28 (ada di setiap bulan)", column="hari_buka")
    if wrong := _first_out_of_order(days):
        return Problem(
            f"Batas waktu 1 sampai {MAX_DEADLINE_DAYS} hari, berurutan desa ≤ kecamatan ≤ kabupaten ≤ provinsi",
            column=f"batas_{wrong}",
        )
    if not 0 < pengingat_hari <= days[0]:  # a reminder before the cycle opened, or after the deadline, never goes
        return Problem(f"Pengingat 1 sampai {days[0]} hari sebelum batas desa", column="pengingat_hari")
    if ritme != before and (left := _left_out(session, ritme)):
        return Problem(
            f"Bulan {left[0]} s.d. {left[-1]} tak masuk siklus mana pun; ganti ritme setelah siklus bulan itu dibuka",
            column="ritme",
        )
    return None


def _left_out(session: Session, ritme: str) -> list[str]:
    """The months of today's period under the new rhythm that the periods already opened leave out."""
    today, kind = clock.today(), "Q" if ritme == Rhythm.TRIWULAN else "S"
    return months_left_out(period_containing(today, kind), list(session.scalars(select(Cycle.periode))), today)


def period_starting(day: date, ritme: str) -> str | None:
    """The period that opens in the month of `day`, if one does (quarters open in Jan, Apr, Jul, Oct)."""
    months = (1, 4, 7, 10) if ritme == Rhythm.TRIWULAN else (1, 7)
    if day.month not in months:
        return None
    index = months.index(day.month) + 1
    return f"{day.year}-{'Q' if ritme == Rhythm.TRIWULAN else 'S'}{index}"


def opening_day(periode: str, r: CycleRhythm, tz: Any) -> datetime:
    year, part = int(periode[:4]), periode[5:]
    month = (int(part[1]) - 1) * (3 if part[0] == "Q" else 6) + 1
    return datetime.combine(date(year, month, r.hari_buka), time(0, 0), tz).astimezone(UTC)


@dataclass
class Opened:
    periode: str
    expected: int
    opened: int
    already: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _cycle(session: Session, actor: Actor, periode: str, province: str, tz: Any) -> Cycle:
    found = session.scalar(select(Cycle).where(Cycle.periode == periode))
    if found is not None:
        return found
    if shared := [p for p in session.scalars(select(Cycle.periode)) if overlaps(p, periode)]:
        raise Conflict(f"Periode {periode} bertumpang dengan siklus {shared[0]}: desa tidak ditanya dua kali")
    r = rhythm(session)
    start = opening_day(periode, r, tz)
    if start + timedelta(days=r.batas_desa) <= clock.now():  # opened late: no desa is late on its first day
        start = datetime.combine(clock.today(), time(0, 0), tz).astimezone(UTC)
    found = Cycle(
        periode=periode,
        region_kode=province,
        status=CycleStatus.DIBUKA,
        opened_at=clock.now(),
        expected=0,
        batas={t.value: (start + timedelta(days=d)).isoformat() for t, d in _deadline_days(r).items()},
        announced=[],
    )
    try:
        with session.begin_nested():
            session.add(found)
    except IntegrityError:  # another run opened the period a moment ago: use theirs
        return session.scalars(select(Cycle).where(Cycle.periode == periode)).one()
    audit.record(
        session,
        actor,
        AuditAction.CYCLE_OPENED,
        "update_cycle",
        periode,
        after={"region_kode": province, "batas": found.batas},
    )
    return found


def within(column: Any, region: str) -> Any:
    """The region itself (a single desa may be opened) or any region under it."""
    return or_(column == region, column.like(f"{region}.%"))


def open_cycle(db: Database, actor: Actor, periode: str, region: str | None = None) -> Opened:
    """Open the period for every desa and kelurahan of the region (the province by default).

    Safe to run twice at once (from two nodes, or the calendar and a person): each batch locks the
    cycle's row first, so the second run waits for it and skips the desa the first has opened.
    """
    validate_period(periode)
    province = db.settings.province
    region = region or province
    with db.transaction() as s:
        scope = Scope.administering(actor).require_any()
        if s.scalar(select(Region.tingkat).where(Region.kode == region)) is None:
            raise Invalid(f"Kode wilayah {region!r} tidak dikenal")
        if not (region == province or region.startswith(province + ".")):
            raise Invalid(f"Wilayah {region} berada di luar provinsi {province}")
        scope.require(region, f"Wilayah {region}")  # an admin of a regency opens its own desa only
        cycle = _cycle(s, actor, periode, province, db.settings.tz)
        refuse_closed(cycle, periode)
        desa = list(
            s.scalars(
                select(Region.kode)
                .where(Region.tingkat == Tier.DESA, Region.berakhir.is_(None), within(Region.kode, region))
                .where(Region.kode.not_in(completeness.carried_on(periode)))
                .order_by(Region.kode)
            )
        )
        already = set(
            s.scalars(
                select(Submission.kode_desa).where(Submission.periode == periode, within(Submission.kode_desa, region))
            )
        )
        definition = definitions.current(s, PROCESS_KEY)
        constants = {
            "sla_durasi": db.settings.default_sla,
            runtime.TIER_DEADLINES: verifier_deadlines(cycle.batas),
        }
        template = bulk_start.template(s, definition, constants, START_VARIABLES)
        cycle.expected = (
            s.scalar(
                select(func.count())
                .select_from(Region)
                .where(Region.tingkat == Tier.DESA, Region.berakhir.is_(None), Region.kode.like(f"{province}.%"))
            )
            or 0
        )
    opened = open_desa(db, actor, periode, [code for code in desa if code not in already], template)
    _announce(db, periode, region, len(desa))
    return Opened(periode, len(desa), opened, len(desa) - opened)


def _announce(db: Database, periode: str, region: str, expected: int) -> None:
    """`cycle.opened` once per region, when all its desa are open: written by whichever run finishes
    the region, including a rerun after a crash that came between the last batch and this."""
    with db.transaction() as s:
        cycle = locked_cycle(s, periode)
        if cycle is None or any(contains(told, region) for told in cycle.announced or []):
            return  # this region, or one around it, was announced: its people heard of the opening
        count = (
            s.scalar(
                select(func.count())
                .select_from(Submission)
                .where(Submission.periode == periode, within(Submission.kode_desa, region))
            )
            or 0
        )
        if count < expected:
            return  # another run is still opening this region: it will announce
        told = tuple(r for r in cycle.announced or [] if contains(region, r))
        cycle.announced = [*(cycle.announced or []), region]
        deadline = cycle.batas.get(Tier.DESA.value)
        events.publish(
            s, events.CycleOpened(periode=periode, region_kode=region, dibuka=count, batas=deadline, sudah=told)
        )


def close_cycle(db: Database, actor: Actor, periode: str, early: bool = False) -> dict[str, int]:
    """Desa that submitted nothing become `tidak melapor` (never zero); late tasks are escalated.

    Before the desa's deadline that would record desa as having missed a deadline still ahead:
    refused unless asked for (`early`). A closed cycle stays closed."""
    now = clock.now()
    with db.transaction() as s:
        Scope.administering(actor).require_any().require_province()
        cycle = s.scalar(select(Cycle).where(Cycle.periode == periode).with_for_update())
        if cycle is None:
            raise NotFound(f"Siklus {periode} belum dibuka")
        if cycle.status == CycleStatus.DITUTUP and cycle.closed_at is not None:
            raise Conflict(f"Siklus {periode} sudah ditutup pada {cycle.closed_at.astimezone(db.settings.tz):%d-%m-%Y}")
        deadline = datetime.fromisoformat(cycle.batas[Tier.DESA.value])
        if now < deadline and not early:
            raise Conflict(
                f"Batas pengajuan desa siklus {periode} baru {clock.last_day(deadline):%d-%m-%Y}: menutup "
                "sekarang mencatat desa yang belum mengajukan sebagai tidak melapor sebelum batasnya. Tutup lebih "
                "awal hanya bila memang dimaksud (--lebih-awal)"
            )
        reason = f"tidak mengajukan data sampai batas {clock.last_day(deadline):%d-%m-%Y} (siklus ditutup)"
        silent = _silent_drafts(s, periode)
        _cancel_processes(s, [x.instance_id for x in silent if x.instance_id], now)
        submission_status.not_reported(s, actor, silent, reason)
        late = escalate_late(s, actor, now)
        cycle.status, cycle.closed_at = CycleStatus.DITUTUP, now
        # desa never opened in this cycle were not asked, so they did not fail to report: they are
        # counted, said and kept on the trail, so that a total over part of the province is read as such
        opened = s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == periode)) or 0
        outcome = {"tidak_melapor": len(silent), "eskalasi": late, "tidak_dibuka": max(cycle.expected - opened, 0)}
        audit.record(s, actor, AuditAction.CYCLE_CLOSED, "update_cycle", periode, after=outcome)
        events.publish(s, events.CycleClosed(periode=periode, tidak_melapor=len(silent), region_kode=cycle.region_kode))
    return outcome


_NEVER_SUBMITTED = (Submission.status == SubmissionStatus.DRAF, Submission.putaran == 0)


def _silent_drafts(session: Session, periode: str) -> list[Submission]:
    """The period's drafts never submitted, their instances locked and then read again: a desa that
    submitted while the cycle was closing has gone up, and is neither cancelled nor marked silent."""
    found = session.execute(
        select(Submission.id, Submission.instance_id).where(Submission.periode == periode, *_NEVER_SUBMITTED)
    ).all()
    # The instances first, in id order: a completion locks its instance before its task, so this
    # bulk close takes its locks in the same order and never deadlocks with one.
    session.execute(
        select(ProcessInstance.id)
        .where(ProcessInstance.id.in_(sorted(i for _, i in found if i is not None)))
        .order_by(ProcessInstance.id)
        .with_for_update()
    ).all()
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.id.in_([sid for sid, _ in found]), *_NEVER_SUBMITTED)
            .execution_options(populate_existing=True)
        )
    )


def _cancel_processes(session: Session, instance_ids: list[int], now: datetime) -> None:
    if not instance_ids:
        return
    session.execute(
        update(HumanTask)
        .where(HumanTask.instance_id.in_(instance_ids), HumanTask.status == TaskStatus.TERBUKA)
        .values(status=TaskStatus.DIBATALKAN, completed_at=now)
    )
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id.in_(instance_ids))
        .values(status=InstanceStatus.DIBATALKAN, next_timer_at=None, updated_at=now)
    )


def escalate_late(session: Session, actor: Actor, now: datetime) -> int:
    """Open tasks past their due time that were not escalated yet: overdue, and up a tier."""
    late = session.scalars(
        select(HumanTask)
        .where(HumanTask.status == TaskStatus.TERBUKA, HumanTask.overdue.is_(False), HumanTask.due_at < now)
        .order_by(HumanTask.id)  # bulk work locks rows in id order
    ).all()
    return sum(submission_status.mark_overdue(session, actor, task) for task in late)


def status(session: Session, actor: Actor, periode: str, parent: str) -> list[completeness.Status]:
    """Completeness and timeliness per child region of `parent` (DHIS2-style), for the people who
    follow the cycle there: the kecamatan for its desa, and every tier above."""
    Scope.following(actor).require_any().require(parent, f"Wilayah {parent}")
    completeness.require_in_use(session, periode)
    return completeness.tally(session, periode, parent)


@dataclass
class StatusPage:
    rows: list[completeness.Status]
    total: completeness.Status | None
    periode: str
    induk: str
    known: list[str]
    rhythm: CycleRhythm
    notes: list[str]  # what was asked for and not shown, and what is shown instead
    may_set_rhythm: bool = False  # the rhythm is the province's: its form only for its administrators


def _parent_shown(session: Session, scope: Scope, induk: str, province: str) -> tuple[str, list[str]]:
    """The region whose children are listed: the one asked for when the person follows it; a desa's
    kecamatan (a desa has no children to count); else the person's own region, saying why."""
    own = scope.regions[0] if scope.regions else province
    if not induk:
        return own, []
    tier = session.scalar(select(Region.tingkat).where(Region.kode == induk))
    if tier is None or not scope.contains(induk):
        return own, [phrase(f"Wilayah {induk} tidak dikenal atau di luar wilayah Anda; ditampilkan {own}")]
    if tier == Tier.DESA:
        return induk[:8], [phrase(f"{induk} adalah desa/kelurahan; ditampilkan kecamatannya, {induk[:8]}")]
    return induk, []


def status_page(session: Session, actor: Actor, periode: str, induk: str, province: str) -> StatusPage:
    """The cycle status a person follows: their own region first, a child region when they drill down."""
    scope = Scope.following(actor).require_any()
    parent, notes = _parent_shown(session, scope, induk, province)
    known = known_periods(session)
    if periode and periode not in known:
        shown = known[0] if known else "-"
        notes.append(phrase(f"Periode {periode} belum pernah dibuka; ditampilkan {shown}"))
    periode = periode if periode in known else (known[0] if known else "")
    rows = status(session, actor, periode, parent) if periode else []
    total = completeness.total(session, rows, parent) if periode else None
    admin = Scope.administering(actor).whole_province
    return StatusPage(rows, total, periode, parent, known, rhythm(session), notes, admin)


def calendar_day(db: Database, actor: Actor, now: datetime) -> str:
    """The scheduler's daily look at the calendar: open, remind, close."""
    today = now.astimezone(db.settings.tz).date()
    done = []
    with db.read() as s:
        r = rhythm(s)
        ritme, day, remind = r.ritme, r.hari_buka, r.pengingat_hari
        every = s.scalars(select(Cycle)).all()
        open_cycles = [(c.periode, dict(c.batas)) for c in every if c.status == CycleStatus.DIBUKA]
        known = {c.periode: c.status for c in every}
    periode = period_starting(today, ritme) or ""
    # closed early in its own month: done; a period of the other rhythm covering its months: not asked twice
    taken = bool(periode) and (
        known.get(periode) == CycleStatus.DITUTUP or any(overlaps(periode, p) for p in known if p != periode)
    )
    if periode and today.day >= day and not taken:
        result = open_cycle(db, actor, periode)
        if result.opened:
            done.append(f"{periode}: {result.opened} desa dibuka")
    for periode, batas in open_cycles:
        done += _look_at_cycle(db, actor, now, periode, batas, remind)
    with db.transaction() as s:
        reminded = remind_due_tasks(s, now, timedelta(days=remind))
        late = escalate_late(s, actor, now)
    done.append(f"{reminded} pengingat tugas, {late} eskalasi")
    return "; ".join(done)


def _look_at_cycle(
    db: Database, actor: Actor, now: datetime, periode: str, batas: dict[str, str], remind: int
) -> list[str]:
    """Close a cycle past its last deadline, or remind the desa of theirs."""
    if now >= datetime.fromisoformat(batas[Tier.PROVINSI.value]):
        closed = close_cycle(db, actor, periode)
        return [f"{periode} ditutup ({closed['tidak_melapor']} tidak melapor)"]
    desa_deadline = datetime.fromisoformat(batas[Tier.DESA.value])
    if timedelta(0) <= desa_deadline - now <= timedelta(days=remind):
        with db.transaction() as s:
            cycle = locked_cycle(s, periode)
            if cycle is None or cycle.diingatkan_at is not None:
                return []  # reminded once, on the first day of the window
            cycle.diingatkan_at = now
            events.publish(s, events.CycleClosingSoon(periode=periode, batas=batas[Tier.DESA.value]))
        return [f"{periode}: pengingat batas desa"]
    return []


def remind_due_tasks(session: Session, now: datetime, ahead: timedelta) -> int:
    """Tasks due within `ahead` get one reminder each (`task.due_soon`)."""
    soon = session.scalars(
        select(HumanTask)
        .where(
            HumanTask.status == TaskStatus.TERBUKA,
            HumanTask.due_at.is_not(None),
            HumanTask.due_at > now,
            HumanTask.due_at <= now + ahead,
        )
        .order_by(HumanTask.id)
    ).all()
    count = 0
    for task in (t for t in soon if not (t.data or {}).get("diingatkan")):  # reminded once
        task.data = {**(task.data or {}), "diingatkan": now.isoformat()}
        events.publish(
            session,
            events.TaskDueSoon(
                task_id=task.id,
                nama=task.nama,
                tingkat=task.tingkat.value,
                region_kode=task.region_kode,
                kode_desa=task.kode_desa,
                periode=task.periode,
                due_at=task.due_at.isoformat() if task.due_at else None,
                submission_id=task.submission_id,
                peran=task.peran,
            ),
        )
        count += 1
    return count


def known_periods(session: Session) -> list[str]:
    """The periods in use: opened cycles and the periods of submissions, newest first."""
    used = set(session.scalars(select(Cycle.periode))) | set(session.scalars(select(Submission.periode).distinct()))
    return sorted(used, reverse=True)
