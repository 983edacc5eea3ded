"""Other agencies' figures received in the browser by the province's data steward: what a file would
change before anything is saved, saving exactly what was shown, and taking a year's figures of one
agency back with a reason. The command line and the API store the same figures the same way."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem
from engine.core.paging import page_of
from engine.people.scope import Scope
from engine.quality import aggregates, series
from engine.verification.reconciliation import check_year
from models import AgencyIndicator, AgencyToken, AggregateValue, FlagStatus, QualityFlag

MAX_FIGURES = 5000  # one file: an agency's yearly tables several times over, carried by its preview's form
CARRIED_CHARS = 300_000  # those figures as carried (about 30 characters each), within a form's 500 kB
REASON_CHARS = (10, 500)
PAGE_SIZE = 100
NEW, CHANGED, SAME = "baru", "berubah", "sama"


@dataclass(frozen=True)
class Figure:
    """One figure of a file beside the one stored for the same agency, region, category and period."""

    instansi: str
    kode_wilayah: str
    kategori: str
    periode: str
    nilai: int
    sebelum: int | None
    nilai_kita: int | None = None  # ours, which it is compared with; none yet: not compared

    @property
    def perubahan(self) -> str:
        return NEW if self.sebelum is None else SAME if self.sebelum == self.nilai else CHANGED


@dataclass
class AgencyPlan:
    """What a file would change; `digest` names it, so a confirmation saves exactly what was shown."""

    figures: list[Figure]
    flags: list[series.Flag]  # what the comparison with our figures would raise on the file's rows
    digest: str
    # agencies never heard of before, each with the known name it resembles (one agency spelled two
    # ways would be compared as two)
    new_agencies: dict[str, str | None] = field(default_factory=dict)

    def count(self, perubahan: str) -> int:
        return sum(1 for f in self.figures if f.perubahan == perubahan)

    @property
    def uncompared(self) -> int:
        """Figures with none of ours for the same region, category and period (a semester figure
        beside our yearly ones, or a year whose reconciliation has not counted ours yet)."""
        return sum(1 for f in self.figures if f.nilai_kita is None)

    @property
    def agencies(self) -> list[str]:
        return sorted({f.instansi for f in self.figures})


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


@dataclass(frozen=True)
class Received:
    plan: AgencyPlan
    saved: bool  # False: the same confirmation again, every figure already stored as shown


def _receiving(actor: Actor) -> Scope:
    """Agencies' figures are the province's: its walidata or validator, or an admin there."""
    return Scope.reconciling(actor).require_any().require_province()


def _in_year(tahun: int) -> Any:
    return or_(AggregateValue.periode == str(tahun), AggregateValue.periode.like(f"{tahun}-%"))


def _same_year(periode: str | None, tahun: int) -> bool:
    return bool(periode) and (periode == str(tahun) or str(periode).startswith(f"{tahun}-"))


def overview(session: Session, actor: Actor, tahun: Any) -> list[AgencyYear]:
    """Each agency's figures for the year (those within the person's regions), with its open flags."""
    scope = Scope.overseeing(actor).require_any()
    year = check_year(tahun)
    rows = session.scalars(
        select(AggregateValue).where(
            AggregateValue.sumber != aggregates.OURS, _in_year(year), scope.where(AggregateValue.region_kode)
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
        )
        for name, own in sorted(by_agency.items())
    ]


def _open_flags(session: Session, scope: Scope, year: int) -> dict[str, int]:
    found = session.scalars(
        select(QualityFlag).where(
            QualityFlag.rule.in_(aggregates.AGENCY_RULES),
            QualityFlag.status == FlagStatus.TERBUKA,
            scope.where(QualityFlag.region_kode),
        )
    )
    counts: dict[str, int] = defaultdict(int)
    for flag in found:
        if _same_year(flag.periode, year):
            counts[str(flag.sources.get("instansi"))] += 1
    return counts


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
    theirs = list(
        session.scalars(
            select(AggregateValue)
            .where(AggregateValue.sumber == instansi, _in_year(year), scope.where(AggregateValue.region_kode))
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
                AggregateValue.sumber == aggregates.OURS, _in_year(year), AggregateValue.region_kode.in_(codes)
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
    """The open comparison flags on an agency's figures in these regions, by region, category, period."""
    found: dict[tuple[str, str, str], list[QualityFlag]] = defaultdict(list)
    for flag in session.scalars(
        select(QualityFlag).where(
            QualityFlag.rule.in_(aggregates.AGENCY_RULES),
            QualityFlag.status == FlagStatus.TERBUKA,
            QualityFlag.region_kode.in_(codes),
        )
    ):
        if flag.sources.get("instansi") == instansi:
            found[(flag.region_kode, flag.kategori or "", flag.periode or "")].append(flag)
    return found


def preview(session: Session, actor: Actor, filename: str, content: bytes, agency: str, province: str) -> AgencyPlan:
    """What the file would change and which flags it would raise; nothing is written."""
    _receiving(actor)
    values = aggregates.read_agency(session, filename, content, agency.strip() or None, province)
    _bounded(len(values))
    plan = _plan(session, values)
    _bounded(len(values), len(carried(plan)))
    plan.new_agencies = _new_agencies(session, plan.agencies)
    return plan


def _new_agencies(session: Session, names: list[str]) -> dict[str, str | None]:
    """The file's agencies that have sent no figure, hold no token and have no mapped indicator, with
    the known agency each most resembles (ignoring case, spaces and punctuation)."""
    known = (
        set(session.scalars(select(AggregateValue.sumber).where(AggregateValue.sumber != aggregates.OURS).distinct()))
        | set(session.scalars(select(AgencyToken.instansi).distinct()))
        | set(session.scalars(select(AgencyIndicator.instansi).distinct()))
    )
    by_letters = {_letters(k): k for k in known}
    return {
        name: next(iter(by_letters[m] for m in difflib.get_close_matches(_letters(name), by_letters, n=1)), None)
        for name in names
        if name not in known
    }


def _letters(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalnum())


def _bounded(figures: int, characters: int = 0) -> None:
    if figures > MAX_FIGURES or characters > CARRIED_CHARS:
        raise Invalid(
            f"Berkas berisi {figures} angka; paling banyak {MAX_FIGURES} sekali unggah",
            [Problem("bagi berkas per tahun atau per instansi, atau impor dengan perintah sijosku quality agency")],
        )


def _plan(session: Session, values: list[series.Value]) -> AgencyPlan:
    stored = {
        (r.region_kode, r.kategori, r.periode, r.sumber): r.nilai
        for r in session.scalars(
            select(AggregateValue).where(
                AggregateValue.sumber.in_({v.sumber for v in values} | {aggregates.OURS}),
                AggregateValue.kategori.in_({v.kategori for v in values}),
            )
        )
    }
    figures = [
        Figure(
            v.sumber,
            v.region_kode,
            v.kategori,
            v.periode,
            v.nilai,
            stored.get(_key(v)),
            stored.get((v.region_kode, v.kategori, v.periode, aggregates.OURS)),
        )
        for v in sorted(values, key=lambda v: (v.sumber, v.region_kode, v.kategori, v.periode))
    ]
    return AgencyPlan(figures, _would_raise(session, values), _digest(figures))


def _key(v: series.Value) -> tuple[str, str, str, str]:
    return v.region_kode, v.kategori, v.periode, v.sumber


def _would_raise(session: Session, values: list[series.Value]) -> list[series.Flag]:
    """The comparison's flags on the file's own rows, as saving it would raise them: the stored series
    with the file's figures in place of those they replace."""
    keys = aggregates.series_keys(session, values)
    sent = {_key(v) for v in values}
    history = [h for h in aggregates.stored_values(session, keys) if _key(h) not in sent] + values
    flags = aggregates.compare_agencies(history, aggregates.Context.load(session))
    return _on_rows(aggregates.not_settled(session, flags, keys), values)


def _on_rows(flags: list[series.Flag], values: list[series.Value]) -> list[series.Flag]:
    sent = {_key(v) for v in values}
    return [
        f
        for f in flags
        if f.rule in aggregates.AGENCY_RULES
        and (f.region_kode, f.kategori or "", f.periode or "", str(f.sources.get("instansi"))) in sent
    ]


def _digest(figures: list[Figure]) -> str:
    """The agency's figures and those they replace (ours may be recounted meanwhile: it is not theirs)."""
    content = json.dumps([[f.instansi, f.kode_wilayah, f.kategori, f.periode, f.nilai, f.sebelum] for f in figures])
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def carried(plan: AgencyPlan) -> str:
    """The plan's figures as its preview carries them to the confirmation: a line `@agency`, then one
    tab-separated line for each of its figures."""
    lines, agency = [], None
    for f in plan.figures:  # sorted by agency
        if f.instansi != agency:
            agency = f.instansi
            lines.append(f"@{agency}")
        lines.append("\t".join([f.kode_wilayah, f.kategori, f.periode, str(f.nilai)]))
    return "\n".join(lines)


def from_carried(text: str) -> list[dict[str, str]]:
    """The rows `carried` wrote."""
    rows, agency = [], ""
    for line in text.splitlines():
        if line.startswith("@"):
            agency = line[1:]
        elif line:
            cells = (line.split("\t") + [""] * 4)[:4]
            rows.append(
                {"instansi": agency, **dict(zip(("kode_wilayah", "kategori", "periode", "nilai"), cells, strict=True))}
            )
    return rows


def receive(session: Session, actor: Actor, rows: list[dict[str, str]], digest: str, province: str) -> Received:
    """Save the figures a preview showed, checked again; `Conflict` when the stored figures changed
    since (another upload, a withdrawal): the person looks at the new preview first."""
    _receiving(actor)
    if not rows:
        raise Invalid("Tidak ada angka untuk disimpan; unggah berkasnya lagi")
    if len(rows) > MAX_FIGURES:
        raise Invalid(f"Paling banyak {MAX_FIGURES} angka sekali simpan")
    values = aggregates.agency_values(session, rows, province=province)
    aggregates.one_rescan_at_a_time(session, {(v.kategori, v.region_kode) for v in values})
    plan = _plan(session, values)
    if all(f.perubahan == SAME for f in plan.figures):  # the same confirmation again (a double click)
        return Received(plan, saved=False)
    if plan.digest != digest:
        raise Conflict(
            "Angka yang tersimpan berubah sejak pratinjau (unggahan atau penarikan lain); unggah berkasnya lagi "
            "untuk melihat pratinjau yang baru"
        )
    aggregates.store(session, actor, values, AuditAction.AGENCY_FIGURES_IMPORTED)
    aggregates.rescan(session, actor, values)
    return Received(plan, saved=True)


def withdraw(session: Session, actor: Actor, instansi: str, tahun: Any, alasan: str, seen: int) -> int:
    """Take one agency's figures for a year back (a file loaded for the wrong agency or year): every
    figure removed is kept on the audit trail with the reason, and the series are checked again.
    `seen` is how many figures the person saw: if that changed meanwhile, nothing is removed."""
    _receiving(actor)
    year = check_year(tahun)
    reason = " ".join((alasan or "").split())
    if not REASON_CHARS[0] <= len(reason) <= REASON_CHARS[1]:
        raise Invalid(
            "Alasan penarikan wajib",
            [Problem(f"tulis alasan {REASON_CHARS[0]} sampai {REASON_CHARS[1]} karakter", column="alasan")],
        )
    where = (AggregateValue.sumber == instansi, _in_year(year))
    codes = set(session.scalars(select(AggregateValue.region_kode).where(*where)))
    aggregates.one_rescan_at_a_time(session, {("", code) for code in codes})  # then read what is there now
    rows = list(session.scalars(select(AggregateValue).where(*where).order_by(AggregateValue.id)))
    if not rows:
        raise NotFound(f"Tidak ada angka {instansi} untuk tahun {year}")
    values = [series.Value(r.region_kode, r.kategori, r.periode, r.nilai, r.sumber) for r in rows]
    if len(rows) != seen:
        raise Conflict(f"Angka {instansi} tahun {year} berubah sejak halaman dibuka; muat ulang halamannya")
    session.execute(delete(AggregateValue).where(*where))
    audit.record(
        session,
        actor,
        AuditAction.AGENCY_FIGURES_WITHDRAWN,
        "aggregate_value",
        "-",
        before={"perubahan": [[v.region_kode, v.kategori, v.periode, v.sumber, v.nilai] for v in values]},
        after={"instansi": instansi, "tahun": year, "nilai": len(values)},
        reason=reason,
    )
    aggregates.rescan(session, actor, values)
    return len(values)
