"""Update cycles: the province's rhythm, opening a period for every desa, closing it, its status.

Opening is idempotent and resumable: desa are opened in batches, each its own transaction, and a
desa that already has a submission for the period is skipped (a unique constraint guards the rest),
so running it twice, or again after a crash halfway, never opens a desa twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import audit, bulk_open, clock, definitions, events, submissions
from engine.actors import Actor
from engine.errors import Invalid, NotFound
from engine.periods import validate_period
from engine.uow import Database
from models import (
    TIER_ORDER_UP,
    Cycle,
    CycleRhythm,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Region,
    Submission,
    SubmissionStatus,
    TaskStatus,
    Tier,
)

BATCH = 500
TIERS = ("desa", "kecamatan", "kabupaten", "provinsi")
CYCLE_OPENED, CYCLE_CLOSED, CYCLE_CLOSING_SOON = "cycle.opened", "cycle.closed", "cycle.closing_soon"
TASK_DUE_SOON = "task.due_soon"


def rhythm(session: Session) -> CycleRhythm:
    found = session.scalar(select(CycleRhythm).limit(1))
    if found is None:
        found = CycleRhythm(ritme="triwulan", hari_buka=1, batas_desa=30, batas_kecamatan=45, batas_kabupaten=60,
                            batas_provinsi=75, pengingat_hari=3)
        session.add(found)
        session.flush()
    return found


def set_rhythm(session: Session, actor: Actor, ritme: str, hari_buka: int, batas: dict[str, int],
               pengingat_hari: int) -> CycleRhythm:
    if ritme not in ("triwulan", "semester"):
        raise Invalid("Ritme harus triwulan atau semester")
    if not 1 <= hari_buka <= 28:
        raise Invalid("Hari pembukaan harus 1 sampai 28 (ada di setiap bulan)")
    days = [batas.get(t, 0) for t in TIERS]
    if any(d <= 0 for d in days) or days != sorted(days):
        raise Invalid("Batas waktu harus hari setelah pembukaan, berurutan desa ≤ kecamatan ≤ kabupaten ≤ provinsi")
    current = rhythm(session)
    before = {"ritme": current.ritme, "hari_buka": current.hari_buka}
    current.ritme, current.hari_buka, current.pengingat_hari = ritme, hari_buka, pengingat_hari
    current.batas_desa, current.batas_kecamatan, current.batas_kabupaten, current.batas_provinsi = days
    audit.record(session, actor, "CYCLE_RHYTHM_SET", "cycle_rhythm", current.id, before=before,
                 after={"ritme": ritme, "hari_buka": hari_buka, "batas": dict(zip(TIERS, days, strict=True)),
                        "pengingat_hari": pengingat_hari})
    return current


def period_starting(day: date, ritme: str) -> str | None:
    """The period that opens in the month of `day`, if one does (quarters open in Jan, Apr, Jul, Oct)."""
    months = (1, 4, 7, 10) if ritme == "triwulan" else (1, 7)
    if day.month not in months:
        return None
    index = months.index(day.month) + 1
    return f"{day.year}-{'Q' if ritme == 'triwulan' else 'S'}{index}"


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


def _cycle(session: Session, actor: Actor, periode: str, region: str, tz: Any) -> Cycle:
    found = session.scalar(select(Cycle).where(Cycle.periode == periode))
    if found is not None:
        return found
    r = rhythm(session)
    start = opening_day(periode, r, tz)
    offsets = {"desa": r.batas_desa, "kecamatan": r.batas_kecamatan, "kabupaten": r.batas_kabupaten,
               "provinsi": r.batas_provinsi}
    found = Cycle(periode=periode, wilayah=region, status="dibuka", opened_at=clock.now(), expected=0,
                  batas={tier: (start + timedelta(days=d)).isoformat() for tier, d in offsets.items()})
    session.add(found)
    session.flush()
    audit.record(session, actor, "CYCLE_OPENED", "update_cycle", periode,
                 after={"wilayah": region, "batas": found.batas})
    return found


def open_cycle(db: Database, actor: Actor, periode: str, region: str | None = None) -> Opened:
    """Open the period for every desa and kelurahan of the region (the province by default)."""
    validate_period(periode)
    province = db.settings.province
    region = region or province
    with db.transaction() as s:
        if s.scalar(select(Region.tingkat).where(Region.kode == region)) is None:
            raise Invalid(f"Kode wilayah {region!r} tidak dikenal")
        if not (region == province or region.startswith(province + ".")):
            raise Invalid(f"Wilayah {region} berada di luar provinsi {province}")
        cycle = _cycle(s, actor, periode, province, db.settings.tz)
        desa = list(s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA,
                                                        Region.kode.like(f"{region}.%")).order_by(Region.kode)))
        already = bulk_open.existing_desa(s, periode, region)
        definition_id = definitions.current(s, submissions.PROCESS_KEY).id
        template = bulk_open.template(s, definition_id, db.settings.default_sla)
        cycle.expected = s.scalar(select(func.count()).select_from(Region).where(
            Region.tingkat == Tier.DESA, Region.kode.like(f"{province}.%"))) or 0
    opened = open_desa(db, actor, periode, [code for code in desa if code not in already], template)
    if opened:
        with db.transaction() as s:
            events.publish(s, CYCLE_OPENED, {"periode": periode, "wilayah": region, "dibuka": opened})
    return Opened(periode, len(desa), opened, len(already))


def open_desa(db: Database, actor: Actor, periode: str, desa: list[str], template: bulk_open.Template) -> int:
    """Open the given desa in batches, each its own transaction; a desa opened meanwhile is skipped."""
    opened = 0
    for start in range(0, len(desa), BATCH):
        chunk = desa[start:start + BATCH]
        with db.transaction() as s:
            done = set(s.scalars(select(Submission.kode_desa).where(Submission.periode == periode,
                                                                    Submission.kode_desa.in_(chunk))))
            opened += bulk_open.open_many(s, actor, template, [c for c in chunk if c not in done], periode)
    return opened


def close_cycle(db: Database, actor: Actor, periode: str) -> dict[str, int]:
    """Desa that submitted nothing become `tidak melapor` (never zero); late tasks are escalated."""
    now = clock.now()
    with db.transaction() as s:
        cycle = s.scalar(select(Cycle).where(Cycle.periode == periode))
        if cycle is None:
            raise NotFound(f"Siklus {periode} belum dibuka")
        silent = s.scalars(select(Submission).where(Submission.periode == periode,
                                                    Submission.status == SubmissionStatus.DRAF,
                                                    Submission.putaran == 0)).all()
        deadline = datetime.fromisoformat(cycle.batas["desa"])
        reason = f"tidak mengajukan data sampai batas {deadline.astimezone(db.settings.tz):%d-%m-%Y} (siklus ditutup)"
        instance_ids = [x.instance_id for x in silent if x.instance_id]
        for submission in silent:
            submission.status, submission.alasan_terakhir = SubmissionStatus.TIDAK_MELAPOR, reason
        if instance_ids:
            s.execute(update(HumanTask).where(HumanTask.instance_id.in_(instance_ids),
                                              HumanTask.status == TaskStatus.TERBUKA)
                      .values(status=TaskStatus.DIBATALKAN, completed_at=now))
            s.execute(update(ProcessInstance).where(ProcessInstance.id.in_(instance_ids))
                      .values(status=InstanceStatus.DIBATALKAN, next_timer_at=None, updated_at=now))
        audit.record_many(s, actor, [{"action": "SUBMISSION_NOT_REPORTED", "subject_type": "submission",
                                      "subject_id": x.id, "instance_id": x.instance_id, "reason": reason,
                                      "after": {"status": SubmissionStatus.TIDAK_MELAPOR.value}} for x in silent])
        late = escalate_late(s, actor, now)
        cycle.status, cycle.closed_at = "ditutup", now
        audit.record(s, actor, "CYCLE_CLOSED", "update_cycle", periode,
                     after={"tidak_melapor": len(silent), "eskalasi": late})
        events.publish(s, CYCLE_CLOSED, {"periode": periode, "tidak_melapor": len(silent)})
    return {"tidak_melapor": len(silent), "eskalasi": late}


def escalate_late(session: Session, actor: Actor, now: datetime) -> int:
    """Open tasks past their due time that were not escalated yet: overdue, and up a tier."""
    late = session.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.TERBUKA,
                                                   HumanTask.overdue.is_(False), HumanTask.due_at < now)).all()
    for task in late:
        task.overdue = True
        up = TIER_ORDER_UP.get(task.tingkat, Tier.PROVINSI)
        audit.record(session, actor, "TASK_OVERDUE", "human_task", task.id, before={"overdue": False},
                     after={"overdue": True, "eskalasi_ke": up.value}, instance_id=task.instance_id,
                     human_task_id=task.id)
        events.publish(session, events.TASK_OVERDUE, {
            "task_id": task.id, "nama": task.nama, "tingkat": task.tingkat.value, "region_kode": task.region_kode,
            "eskalasi_ke": up.value, "due_at": task.due_at.isoformat() if task.due_at else None},
            human_task_id=task.id)
    return len(late)


@dataclass
class Status:
    kode: str
    nama: str
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    late: int = 0
    verified: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TIERS[1:]})
    not_reported: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(session: Session, periode: str, parent: str) -> list[Status]:
    """Completeness and timeliness per child region of `parent` (DHIS2-style)."""
    cycle = session.scalar(select(Cycle).where(Cycle.periode == periode))
    deadline = datetime.fromisoformat(cycle.batas["desa"]) if cycle else None
    children = list(session.scalars(select(Region).where(Region.induk == parent).order_by(Region.kode)))
    rows = {c.kode: Status(c.kode, c.nama) for c in children}
    depth = parent.count(".") + 2

    def child(code: str) -> str:
        return ".".join(code.split(".")[:depth])

    desa = session.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like(f"{parent}.%")))
    for code in desa:
        if child(code) in rows:
            rows[child(code)].expected += 1
    subs = session.execute(select(Submission.id, Submission.kode_desa, Submission.status, Submission.putaran,
                                  Submission.submitted_at).where(Submission.periode == periode,
                                                                 Submission.kode_desa.like(f"{parent}.%"))).all()
    first_submit = dict(session.execute(select(HumanTask.submission_id, func.min(HumanTask.completed_at)).where(
        HumanTask.periode == periode, HumanTask.tingkat == Tier.DESA, HumanTask.status == TaskStatus.SELESAI)
        .group_by(HumanTask.submission_id)).all())
    approvals: dict[int, set[str]] = defaultdict(set)
    for sid, tier in session.execute(select(HumanTask.submission_id, HumanTask.tingkat).where(
            HumanTask.periode == periode, HumanTask.status == TaskStatus.SELESAI, HumanTask.decision == "setuju")):
        approvals[sid].add(tier.value)
    for sid, code, state, putaran, _ in subs:
        row = rows.get(child(code))
        if row is None:
            continue
        if state == SubmissionStatus.TIDAK_MELAPOR:
            row.not_reported += 1
        if putaran > 0:
            row.submitted += 1
            first = first_submit.get(sid)
            if deadline and first and first <= deadline:
                row.on_time += 1
            else:
                row.late += 1 if deadline else 0
        for tier in TIERS[1:]:
            row.verified[tier] += tier in approvals[sid]
    return list(rows.values())



def calendar_day(db: Database, actor: Actor, now: datetime) -> str:
    """The scheduler's daily look at the calendar: open, remind, close."""
    tz = db.settings.tz
    today = now.astimezone(tz).date()
    done = []
    with db.read() as s:
        r = rhythm(s)
        ritme, day, remind = r.ritme, r.hari_buka, r.pengingat_hari
        open_cycles = [(c.periode, dict(c.batas)) for c in s.scalars(select(Cycle).where(Cycle.status == "dibuka"))]
    periode = period_starting(today, ritme)
    if periode and today.day >= day:
        result = open_cycle(db, actor, periode)
        if result.opened:
            done.append(f"{periode}: {result.opened} desa dibuka")
    for periode, batas in open_cycles:
        last = datetime.fromisoformat(batas["provinsi"])
        if now >= last:
            closed = close_cycle(db, actor, periode)
            done.append(f"{periode} ditutup ({closed['tidak_melapor']} tidak melapor)")
            continue
        desa_deadline = datetime.fromisoformat(batas["desa"])
        if timedelta(0) <= desa_deadline - now <= timedelta(days=remind):
            with db.transaction() as s:
                events.publish(s, CYCLE_CLOSING_SOON, {"periode": periode, "batas": batas["desa"]})
            done.append(f"{periode}: pengingat batas desa")
    with db.transaction() as s:
        reminded = remind_due_tasks(s, now, timedelta(days=remind))
        late = escalate_late(s, actor, now)
    done.append(f"{reminded} pengingat tugas, {late} eskalasi")
    return "; ".join(done)


def remind_due_tasks(session: Session, now: datetime, ahead: timedelta) -> int:
    """Tasks due within `ahead` get one reminder each (`task.due_soon`)."""
    soon = session.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.TERBUKA,
                                                   HumanTask.due_at.is_not(None), HumanTask.due_at > now,
                                                   HumanTask.due_at <= now + ahead)).all()
    count = 0
    for task in soon:
        if (task.data or {}).get("diingatkan"):
            continue
        task.data = {**(task.data or {}), "diingatkan": now.isoformat()}
        events.publish(session, TASK_DUE_SOON, {
            "task_id": task.id, "nama": task.nama, "tingkat": task.tingkat.value, "region_kode": task.region_kode,
            "kode_desa": task.kode_desa, "periode": task.periode, "due_at": task.due_at.isoformat()},
            human_task_id=task.id)
        count += 1
    return count


def known_periods(session: Session) -> list[str]:
    return list(session.scalars(select(Cycle.periode).order_by(Cycle.periode.desc())))
