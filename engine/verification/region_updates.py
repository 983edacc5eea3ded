"""Updating the province's regions from a Kemendagri list: new regions, new names, codes that end.

Kemendagri revises region codes by decree: a kecamatan is split, desa merge, a desa becomes a
kelurahan and so changes code. The province's administrator uploads the province's part of the new
list, sees what would change, and confirms. Nothing is deleted: a code no longer listed *ends* on the
decree's date and keeps its row, so the records, submissions, determinations and history that carry it
still read. A region listed with `kode_lama` carries on from that code: when the old code ends, the
desa's register and the roles held there move to it (each record with a new version).

Applied between cycles: a code cannot end while a submission within it is still being worked. A list
that looks cut short (a kabupaten/kota, or more desa than a decree dissolves, ending with no
successor) is refused. Uploading the previous list again undoes a rename and brings back codes that
ended; a merge or recode is undone the same way, the previous list naming the new code as the old
one's `kode_lama`, so the register moves back. A role that ended with its region is given again by
hand.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, Problem
from engine.core.uow import Database
from engine.people import administration
from engine.verification import cycles, records, region_holders
from models import (
    Cycle,
    CycleStatus,
    HumanTask,
    Record,
    RecordStatus,
    Region,
    RegionChange,
    RegionChangeKind,
    Submission,
    SubmissionStatus,
    TaskStatus,
    Tier,
    contains,
    parent_code,
    tier_of_code,
)

COLUMNS = ["kode", "nama"]  # and, where a region carries on from another, `kode_lama`
CODE = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")  # ASCII digits, matched whole
MAX_PROBLEMS = 200
BASIS_CHARS = 200
NEW, RENAMED, ENDED, RESTORED = (k.value for k in RegionChangeKind)
STILL_WORKED = (SubmissionStatus.DRAF, SubmissionStatus.DIAJUKAN, SubmissionStatus.DIKEMBALIKAN)


@dataclass(frozen=True)
class Listed:
    """A row of the uploaded list that lies in the province."""

    kode: str
    nama: str
    lama: tuple[str, ...]  # the codes it carries on from
    row: int


@dataclass(frozen=True)
class Change:
    kode: str
    perubahan: str
    nama: str
    nama_sebelum: str | None = None
    terkait: str | None = None  # the successor of an ended code; what a new region was formed from


@dataclass
class RegionPlan:
    """What the list would change; `digest` names it, so a confirmation applies exactly what was shown."""

    changes: list[Change]
    ignored: int  # rows of other provinces
    moved_records: dict[str, int] = field(default_factory=dict)  # ended desa -> active records moving
    roles: list[region_holders.RoleMove] = field(default_factory=list)
    tokens: list[region_holders.TokenMove] = field(default_factory=list)
    digest: str = ""

    def count(self, perubahan: str) -> int:
        return sum(1 for c in self.changes if c.perubahan == perubahan)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in (NEW, RENAMED, ENDED, RESTORED)}


@dataclass(frozen=True)
class Updated:
    plan: RegionPlan
    opened: dict[str, int]  # open cycle -> new desa whose submissions were opened


def _codes(text: str) -> tuple[str, ...]:
    """The codes written in a cell, each once (a code written twice is still one region carried on)."""
    return tuple(dict.fromkeys(c for c in re.split(r"[;,\s]+", text.strip()) if c))


def _name(text: str) -> str:
    """A name as listed, without invisible characters (a zero-width space copied from a web page) and
    with single spaces."""
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split())


def _listed(rows: list[dict[str, str]], province: str) -> tuple[list[Listed], int, list[Problem]]:
    listed: list[Listed] = []
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    ignored = 0
    for number, row in enumerate(rows, start=2):
        kode, nama = (row.get("kode") or "").strip(), _name(row.get("nama") or "")
        lama = _codes(row.get("kode_lama") or "")
        if not CODE.fullmatch(kode):
            problems.append(
                Problem(f"kode {kode[:20]!r} bukan kode Kemendagri bertitik, mis. 65.01.01.2005", row=number)
            )
            continue
        if not contains(province, kode):
            ignored += 1
            continue
        if kode in seen:
            problems.append(Problem(f"kode {kode} sudah tercantum di baris {seen[kode]}", row=number))
            continue
        seen[kode] = number
        if not nama or len(nama) > 120:
            problems.append(Problem(f"nama wilayah {kode} harus diisi, paling panjang 120 karakter", row=number))
        wrong = [c for c in lama if not CODE.fullmatch(c) or c.count(".") != kode.count(".") or c == kode]
        if wrong:
            problems.append(
                Problem(f"kode_lama {wrong[0][:20]!r} harus kode lain di tingkat yang sama dengan {kode}", row=number)
            )
        listed.append(Listed(kode, nama, lama, number))
    return listed, ignored, problems


def _list_problems(listed: list[Listed], known: dict[str, Region], province: str) -> list[Problem]:
    """A list that is not the whole province, or whose rows do not hang together."""
    codes = {item.kode for item in listed}
    if province not in codes:
        return [
            Problem(
                f"berkas tidak memuat baris provinsi {province}: unggah daftar lengkap provinsi (provinsi, "
                "kabupaten/kota, kecamatan dan desa/kelurahan); wilayah yang tidak tercantum dianggap berakhir"
            )
        ]
    problems = [
        Problem(f"induk {parent_code(item.kode)} dari {item.kode} tidak tercantum di berkas", row=item.row)
        for item in listed
        if item.kode != province and parent_code(item.kode) not in codes
    ]
    problems += [
        Problem(f"kode_lama {old} pada {item.kode} bukan wilayah provinsi yang dikenal", row=item.row)
        for item in listed
        for old in item.lama
        if old not in known  # one ended already is the same list applied again: nothing more moves
    ]
    claimants: dict[str, list[str]] = defaultdict(list)  # an ended code -> the regions naming it
    for item in listed:
        for old in item.lama:
            if old not in codes:
                claimants[old].append(item.kode)
    problems += [
        Problem(
            f"kode {old} yang berakhir diteruskan oleh lebih dari satu wilayah ({', '.join(names)}): tulis kode_lama "
            "hanya pada satu penerus; wilayah lain hasil pemekaran dicantumkan tanpa kode_lama"
        )
        for old, names in claimants.items()
        if len(names) > 1
    ]
    return problems


def _changes(listed: list[Listed], known: dict[str, Region]) -> list[Change]:
    codes = {item.kode for item in listed}
    successor = {old: item.kode for item in listed for old in item.lama if old not in codes}
    changes = []
    for item in listed:
        region = known.get(item.kode)
        origin = item.lama[0] if item.lama else None
        if region is None:
            changes.append(Change(item.kode, NEW, item.nama, terkait=origin))
        elif region.berakhir is not None:
            changes.append(Change(item.kode, RESTORED, item.nama, region.nama, origin))
        elif region.nama.casefold() != item.nama.casefold():  # a list in capitals renames nothing
            changes.append(Change(item.kode, RENAMED, item.nama, region.nama))
    changes += [
        Change(kode, ENDED, region.nama, region.nama, successor.get(kode))
        for kode, region in sorted(known.items())
        if region.berakhir is None and kode not in codes
    ]
    return changes


def _ending_problems(session: Session, ended: list[Change], province: str) -> tuple[dict[str, int], list[Problem]]:
    """Codes that cannot end yet: a register with no successor, a submission still being worked."""
    desa = [c.kode for c in ended if tier_of_code(c.kode) == Tier.DESA]
    active = (
        dict(
            session.execute(
                select(Record.kode_desa, func.count())
                .where(Record.kode_desa.in_(desa), Record.status == RecordStatus.AKTIF)
                .group_by(Record.kode_desa)
            ).all()
        )
        if desa
        else {}
    )
    successor = {c.kode: c.terkait for c in ended}
    problems = [
        Problem(
            f"desa {kode} tidak tercantum lagi tetapi registernya berisi {n} catatan aktif: tulis {kode} di kolom "
            "kode_lama desa yang meneruskannya"
        )
        for kode, n in sorted(active.items())
        if not successor.get(kode)
    ]
    worked = session.execute(
        select(Submission.kode_desa, Submission.periode)
        .where(Submission.status.in_(STILL_WORKED), Submission.kode_desa.like(f"{province}.%"))
        .order_by(Submission.kode_desa)
    ).all()
    for kode, periode in worked:
        hit = next((code for code in successor if contains(code, kode)), None)
        if hit:
            problems.append(
                Problem(f"{hit}: pengajuan {kode} periode {periode} masih dikerjakan; terapkan setelah siklus ditutup")
            )
    open_tasks = session.execute(  # a year's reconciliation at a regency, say
        select(HumanTask.region_kode, HumanTask.nama)
        .where(HumanTask.status == TaskStatus.TERBUKA, HumanTask.region_kode.in_(successor))
        .order_by(HumanTask.region_kode)
    ).all()
    problems += [
        Problem(f"{kode}: tugas {nama} masih terbuka; terapkan setelah tugas itu selesai") for kode, nama in open_tasks
    ]
    return {kode: n for kode, n in active.items() if successor.get(kode)}, problems


MAX_ENDED_ALONE = 20  # desa a decree dissolves without a successor; a list missing more is cut wrong


def _incomplete(ended: list[Change]) -> list[Problem]:
    """A list that looks cut short: a kabupaten/kota, or more desa than a decree dissolves, ending
    with nothing to carry on from them."""
    alone = [c for c in ended if not c.terkait]
    regencies = [c.kode for c in alone if tier_of_code(c.kode) == Tier.KABUPATEN]
    desa = [c.kode for c in alone if tier_of_code(c.kode) == Tier.DESA]
    if not regencies and len(desa) <= MAX_ENDED_ALONE:
        return []
    return [
        Problem(
            f"daftar tampak tidak lengkap: {len(regencies)} kabupaten/kota dan {len(desa)} desa/kelurahan akan "
            f"berakhir tanpa penerus (mis. {', '.join((regencies + desa)[:5])}); unggah daftar lengkap provinsi, "
            "dan tulis kode lama di kolom kode_lama wilayah yang meneruskannya"
        )
    ]


def _digest(plan: RegionPlan) -> str:
    content = json.dumps(
        [
            [c.__dict__ for c in plan.changes],
            sorted(plan.moved_records.items()),
            [r.__dict__ for r in plan.roles],
            [t.__dict__ for t in plan.tokens],
        ],
        sort_keys=True,
    )
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def carried(rows: list[dict[str, str]], province: str) -> str:
    """The province's rows of a list as a preview carries them to its confirmation: one line each,
    tab-separated code, name and former codes (names lose their runs of spaces, tabs included)."""
    return "\n".join(
        "\t".join(
            [
                (r.get("kode") or "").strip(),
                _name(r.get("nama") or ""),
                ";".join(_codes(r.get("kode_lama") or "")),
            ]
        )
        for r in rows
        if contains(province, (r.get("kode") or "").strip())
    )


def from_carried(text: str) -> list[dict[str, str]]:
    """The rows `carried` wrote."""
    return [
        dict(zip(("kode", "nama", "kode_lama"), (line.split("\t") + ["", ""])[:3], strict=True))
        for line in text.splitlines()
        if line.strip()
    ]


def plan_update(session: Session, actor: Actor, rows: list[dict[str, str]], province: str) -> RegionPlan:
    """What the list would change, or `Invalid` naming every reason it cannot be applied."""
    administration.require_admin(actor).require_province()
    listed, ignored, problems = _listed(rows, province)
    known = {
        r.kode: r
        for r in session.scalars(select(Region).where(or_(Region.kode == province, Region.kode.like(f"{province}.%"))))
    }
    problems += _list_problems(listed, known, province) if not problems else []
    if problems:
        raise Invalid("Daftar wilayah tidak dapat diterapkan", problems[:MAX_PROBLEMS])
    changes = _changes(listed, known)
    ended = [c for c in changes if c.perubahan == ENDED]
    moved, problems = _ending_problems(session, ended, province)
    problems = _incomplete(ended) + problems
    if problems:
        raise Invalid("Daftar wilayah tidak dapat diterapkan", problems[:MAX_PROBLEMS])
    successor = {c.kode: c.terkait for c in ended}
    holders = region_holders.role_moves(session, successor), region_holders.token_moves(session, successor)
    plan = RegionPlan(changes, ignored, moved, *holders)
    plan.digest = _digest(plan)
    return plan


def _basis(dasar: str, berlaku: date | None, today: date) -> tuple[str, date]:
    text = " ".join((dasar or "").split())
    problems = []
    if not text or len(text) > BASIS_CHARS:
        problems.append(Problem(f"dasar hukum harus diisi, paling panjang {BASIS_CHARS} karakter", column="dasar"))
    if berlaku is None:
        problems.append(Problem("tanggal berlaku harus diisi", column="berlaku"))
    elif berlaku > today:
        problems.append(Problem("tanggal berlaku belum tiba: terapkan pada atau setelah tanggal itu", column="berlaku"))
    if problems:
        raise Invalid("Dasar perubahan wilayah belum lengkap", problems)
    assert berlaku is not None
    return text, berlaku


def apply_update(
    session: Session,
    actor: Actor,
    rows: list[dict[str, str]],
    province: str,
    basis: tuple[str, date | None],
    today: date,
    digest: str | None = None,
) -> RegionPlan:
    """Apply the list as `plan_update` shows it; `Conflict` when it would now change something else.
    `basis` is the decree and the day it takes effect (WITA's `today` at the latest)."""
    administration.require_admin(actor).require_province()
    dasar, berlaku = _basis(*basis, today)
    # one update at a time: a second waits here, then plans on the list the first left (SQLite's
    # writing transactions are one at a time already)
    session.execute(select(Region.kode).where(Region.kode == province).with_for_update())
    plan = plan_update(session, actor, rows, province)
    if digest is not None and digest != plan.digest and plan.changes:  # none left: applied by a click before
        raise Conflict(
            "Daftar wilayah atau register berubah sejak pratinjau; unggah berkas lagi dan tinjau perubahannya"
        )
    if not plan.changes:
        return plan
    reason = f"{dasar}, berlaku {berlaku.isoformat()}"
    _write_regions(session, plan.changes, berlaku)
    for kode in plan.moved_records:
        records.move_register(session, actor, kode, _successor(plan, kode), reason)
    region_holders.move(session, actor, plan.roles, plan.tokens, reason)
    session.execute(
        insert(RegionChange),
        [
            {
                "kode": c.kode,
                "perubahan": c.perubahan,
                "nama_sebelum": c.nama_sebelum,
                "nama_sesudah": None if c.perubahan == ENDED else c.nama,
                "terkait": c.terkait,
                "dasar": dasar,
                "berlaku": berlaku,
                "user_id": actor.user_id,
                "created_at": clock.now(),
            }
            for c in plan.changes
        ],
    )
    audit.record(
        session,
        actor,
        AuditAction.REGIONS_UPDATED,
        "region",
        province,
        after={
            "dasar": dasar,
            "berlaku": berlaku.isoformat(),
            **plan.counts,
            "catatan_pindah": sum(plan.moved_records.values()),
            "peran_pindah": sum(1 for r in plan.roles if r.penerus),
            "peran_berakhir": sum(1 for r in plan.roles if not r.penerus),
            "token_pindah": sum(1 for t in plan.tokens if t.penerus),
        },
        reason=reason,
    )
    return plan


def _successor(plan: RegionPlan, kode: str) -> str:
    return next(c.terkait for c in plan.changes if c.kode == kode and c.terkait)


def _write_regions(session: Session, changes: list[Change], berlaku: date) -> None:
    new = sorted((c for c in changes if c.perubahan == NEW), key=lambda c: c.kode.count("."))
    for c in new:  # parents first: a region's parent is a key of its own
        session.add(Region(kode=c.kode, nama=c.nama, tingkat=tier_of_code(c.kode), induk=parent_code(c.kode)))
        session.flush()
    for c in changes:
        region = session.get(Region, c.kode)
        if c.perubahan in (RENAMED, RESTORED) and region is not None:
            region.nama, region.berakhir = c.nama, None
        elif c.perubahan == ENDED and region is not None:
            region.berakhir = berlaku


def _today(db: Database) -> date:
    return clock.now().astimezone(db.settings.tz).date()


def preview(db: Database, actor: Actor, rows: list[dict[str, str]], basis: tuple[str, date | None]) -> RegionPlan:
    """What the list would change, its basis checked as applying it would; nothing is written."""
    _basis(*basis, _today(db))
    with db.read() as s:
        return plan_update(s, actor, rows, db.settings.province)


def update_regions(
    db: Database, actor: Actor, rows: list[dict[str, str]], basis: tuple[str, date | None], digest: str | None
) -> Updated:
    """Apply the list, then open this period's submissions for new desa in every cycle still open
    whose desa deadline is ahead (a desa formed after it would start the period already late)."""
    with db.transaction() as s:
        plan = apply_update(s, actor, rows, db.settings.province, basis, _today(db), digest)
        now = clock.now()
        periods = [
            c.periode
            for c in s.scalars(select(Cycle).where(Cycle.status == CycleStatus.DIBUKA))
            if datetime.fromisoformat(c.batas[Tier.DESA.value]) > now
        ]
    # each opened as `cycle open` would (which skips a desa recoded after it reported): run again, it opens the rest
    new_desa = [c.kode for c in plan.changes if c.perubahan in (NEW, RESTORED) and tier_of_code(c.kode) == Tier.DESA]
    opened: Counter[str] = Counter()
    for periode in periods:
        for kode in new_desa:
            opened[periode] += cycles.open_cycle(db, actor, periode, kode).opened
    return Updated(plan, {periode: n for periode, n in opened.items() if n})
