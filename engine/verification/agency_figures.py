"""Other agencies' figures received in the browser by the province's data steward: what a file would
change before anything is saved, saving exactly what was shown, and taking a year's figures of one
agency back with a reason. The command line and the API store the same figures the same way."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.core import agency_names, audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem
from engine.core.periods import period_key
from engine.people.scope import Scope
from engine.quality import aggregates, figure_files, series
from engine.verification import agency_listing, determinations, reconciliation
from engine.verification.reconciliation import check_year
from models import AgencyIndicator, AgencyToken, AggregateValue, FlagStatus, InstanceStatus, QualityFlag

MAX_FIGURES = 5000  # one file: an agency's yearly tables several times over, carried by its preview's form
CARRIED_CHARS = 300_000  # those figures as carried (about 30 characters each), within a form's 500 kB
REASON_CHARS = (10, 500)
KEY_CHARS = 32  # of the preview's signed key
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
    flags: list[series.Flag]  # open on these agencies' series once saved (other years of them too)
    digest: str
    berkas: tuple[str, str] = ("", "")  # the file's name and SHA-256, kept on the audit trail
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
class Received:
    plan: AgencyPlan
    saved: bool  # False: the same confirmation again, every figure already stored as shown


def receiving(actor: Actor) -> Scope:
    """Agencies' figures are the province's: its walidata or validator, or an admin there."""
    return Scope.reconciling(actor).require_any().require_province()


@dataclass(frozen=True)
class Upload:
    """An agency's file as the page received it, for the year whose page it was sent from."""

    tahun: int
    filename: str
    content: bytes
    agency: str = ""  # the agency named on the form, for a file without an `instansi` column


def preview(session: Session, actor: Actor, upload: Upload, province: str, secret: str) -> AgencyPlan:
    """What the file would change and which flags it would raise; nothing is written. `secret` signs
    the preview's key, so that a confirmation carries only figures, and a file's name and hash, that a
    preview showed."""
    receiving(actor)
    year = check_year(upload.tahun)
    values = figure_files.read_agency(session, upload.filename, upload.content, upload.agency.strip() or None, province)
    _bounded(len(values))
    _refuse_other_years(values, year)
    refuse_determined(session, year)
    plan = _plan(session, values, (upload.filename[:255], hashlib.sha256(upload.content).hexdigest()), secret)
    _bounded(len(values), len(carried(plan)))
    plan.new_agencies = _new_agencies(session, plan.agencies)
    return plan


def _refuse_other_years(values: list[series.Value], year: int) -> None:
    """A year's page receives that year's figures: a file with others is loaded on their pages (or by
    the command line), so that what was saved is where the person looks for it."""
    other = [v for v in values if period_key(v.periode)[0] != year]
    if other:
        raise Invalid(
            f"Berkas memuat {len(other)} angka di luar tahun {year}; tidak ada yang disimpan",
            [
                Problem(f"{v.sumber} {v.region_kode} {v.kategori} periode {v.periode}: unggah di halaman tahun itu")
                for v in other[:200]
            ],
        )


def refuse_determined(session: Session, year: int) -> None:
    """A determined year's comparison is frozen with it: its agency figures change only while a
    revision of that year's reconciliation is open."""
    frozen = determinations.latest(session, year)
    running = reconciliation.instance_of(session, year)
    if frozen is not None and (running is None or running.status != InstanceStatus.BERJALAN):
        raise Conflict(
            f"Angka tahun {year} sudah ditetapkan (SK {frozen.nomor_sk}); angka instansi tahun itu tidak diubah "
            "lagi, kecuali rekonsiliasi revisi tahun itu dibuka"
        )


def refuse_determined_years(session: Session, values: list[series.Value]) -> None:
    """`refuse_determined` for each year the figures are of (a file or an API call of several years),
    under the province's lock, which the determination's freeze takes too: a year determined between
    this check and the figures' saving is waited for, then refused."""
    aggregates.one_rescan_at_a_time(session, {(v.kategori, v.region_kode) for v in values})
    for year in sorted({period_key(v.periode)[0] for v in values}):
        refuse_determined(session, year)


def _new_agencies(session: Session, names: list[str]) -> dict[str, str | None]:
    """The file's agencies that have sent no figure, hold no token and have no mapped indicator, with
    the known agency each most resembles (ignoring case, spaces and punctuation)."""
    known = (
        set(session.scalars(select(AggregateValue.sumber).where(AggregateValue.sumber != aggregates.OURS).distinct()))
        | set(session.scalars(select(AgencyToken.instansi).distinct()))
        | set(session.scalars(select(AgencyIndicator.instansi).distinct()))
    )
    by_letters = {agency_names.letters(k): k for k in known}
    return {
        name: next(
            iter(by_letters[m] for m in difflib.get_close_matches(agency_names.letters(name), by_letters, n=1)), None
        )
        for name in names
        if name not in known
    }


def _bounded(figures: int, characters: int = 0) -> None:
    split = [Problem("bagi berkas per instansi atau per periode, atau impor dengan perintah sijosku quality agency")]
    if figures > MAX_FIGURES:
        raise Invalid(f"Berkas berisi {figures} angka; paling banyak {MAX_FIGURES} sekali unggah", split)
    if characters > CARRIED_CHARS:
        raise Invalid(f"Angka berkas ini lebih dari {CARRIED_CHARS} karakter; terlalu panjang sekali unggah", split)


def _plan(session: Session, values: list[series.Value], berkas: tuple[str, str], secret: str) -> AgencyPlan:
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
    flags = _would_raise(session, values)
    return AgencyPlan(figures, flags, _digest(figures, flags, berkas, secret), berkas)


def _key(v: series.Value) -> tuple[str, str, str, str]:
    return v.region_kode, v.kategori, v.periode, v.sumber


def _would_raise(session: Session, values: list[series.Value]) -> list[series.Flag]:
    """The open flags on these agencies' series once the file is saved, as `rescan` will leave them:
    each series the file touches (its other years too), checked with the file's figures in place of
    those they replace, the series rules and the comparison with ours alike."""
    keys = aggregates.series_keys(session, values)
    sent = {_key(v) for v in values}
    stored, ctx = aggregates.stored_history(session, keys)
    history = [h for h in stored if _key(h) not in sent] + values
    flags = aggregates.scan_values(history, ctx) + aggregates.compare_agencies(history, ctx)
    return theirs(aggregates.not_settled(session, flags, keys), {v.sumber for v in values})


def theirs(flags: list[series.Flag], agencies: set[str]) -> list[series.Flag]:
    """The flags on these agencies' figures (their own series, or the comparison with ours), in order."""
    return sorted(
        (f for f in flags if f.sources.get("sumber") in agencies or f.sources.get("instansi") in agencies),
        key=lambda f: (f.region_kode, f.kategori or "", f.periode or "", f.rule),
    )


def _digest(figures: list[Figure], flags: list[series.Flag], berkas: tuple[str, str], secret: str) -> str:
    """The agency's figures, those they replace, the flags they raise and the file, signed: a recount
    of ours meanwhile that changes the flags is a preview no longer true, and a form altered in the
    browser (figures never previewed, another file's name on the trail) has no key that matches."""
    content = json.dumps(
        [
            [[f.instansi, f.kode_wilayah, f.kategori, f.periode, f.nilai, f.sebelum] for f in figures],
            [[f.rule, f.region_kode, f.kategori, f.periode, str(f.observed), str(f.expected)] for f in flags],
            list(berkas),
        ]
    )
    return hmac.new(secret.encode(), content.encode(), hashlib.sha256).hexdigest()[:KEY_CHARS]


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


@dataclass(frozen=True)
class Confirmation:
    """What a preview carried to its confirmation: the figures, the key it showed, and the file."""

    tahun: int
    rows: list[dict[str, str]]
    digest: str
    berkas: tuple[str, str] = ("", "")


def receive(session: Session, actor: Actor, sent: Confirmation, province: str, secret: str) -> Received:
    """Save the figures a preview showed, checked again; `Conflict` when the stored figures or the
    flags they raise changed since (another upload, a withdrawal, a recount of ours): the person looks
    at the new preview first."""
    receiving(actor)
    year = check_year(sent.tahun)
    if not sent.rows:
        raise Invalid("Tidak ada angka untuk disimpan; unggah berkasnya lagi")
    if len(sent.rows) > MAX_FIGURES:
        raise Invalid(f"Paling banyak {MAX_FIGURES} angka sekali simpan")
    values = figure_files.agency_values(session, sent.rows, province=province)
    _refuse_other_years(values, year)
    aggregates.one_rescan_at_a_time(session, {(v.kategori, v.region_kode) for v in values})
    refuse_determined(session, year)
    plan = _plan(session, values, sent.berkas, secret)
    if all(f.perubahan == SAME for f in plan.figures):  # the same confirmation again (a double click)
        return Received(plan, saved=False)
    if not hmac.compare_digest(plan.digest, sent.digest):
        raise Conflict(
            "Angka yang tersimpan atau tandanya berubah sejak pratinjau (unggahan, penarikan atau hitung ulang "
            "lain); unggah berkasnya lagi untuk melihat pratinjau yang baru"
        )
    berkas = {"berkas": plan.berkas[0], "sha256": plan.berkas[1], "kunci": plan.digest}
    aggregates.store(session, actor, values, AuditAction.AGENCY_FIGURES_IMPORTED, berkas)
    aggregates.rescan(session, actor, values)  # raises the flags the key covered: those of the preview
    return Received(plan, saved=True)


def withdraw(session: Session, actor: Actor, instansi: str, tahun: Any, alasan: str, seen: str) -> int:
    """Take one agency's figures for a year back (a file loaded for the wrong agency or year): every
    figure removed is kept on the audit trail with the reason, with the explanations given of them
    (which would otherwise quiet the same agency's true gaps later), and the series are checked again.
    `seen` is the key of the figures the person saw: if they changed meanwhile, nothing is removed."""
    receiving(actor)
    year = check_year(tahun)
    reason = reason_given(alasan)
    if agency_names.is_ours(instansi):
        raise Invalid(
            "Angka Dinas Sosial bukan angka instansi: angka kita berubah hanya lewat verifikasi dan hitung ulang"
        )
    where = (AggregateValue.sumber == instansi, agency_listing.in_year(year))
    codes = set(session.scalars(select(AggregateValue.region_kode).where(*where)))
    aggregates.one_rescan_at_a_time(session, {("", code) for code in codes})  # then read what is there now
    refuse_determined(session, year)
    rows = list(session.scalars(select(AggregateValue).where(*where).order_by(AggregateValue.id)))
    if not rows:
        raise NotFound(f"Tidak ada angka {instansi} untuk tahun {year}")
    if agency_listing.figures_key(rows) != seen:
        raise Conflict(f"Angka {instansi} tahun {year} berubah sejak halaman dibuka; muat ulang halamannya")
    values = [series.Value(r.region_kode, r.kategori, r.periode, r.nilai, r.sumber) for r in rows]
    settled = [
        f
        for f in settled_on(session, codes)
        if agency_listing.same_year(f.periode, year)
        and instansi in (f.sources.get("instansi"), f.sources.get("sumber"))
    ]
    session.execute(delete(AggregateValue).where(*where))
    for flag in settled:
        session.delete(flag)
    audit.record(
        session,
        actor,
        AuditAction.AGENCY_FIGURES_WITHDRAWN,
        "aggregate_value",
        "-",
        before={
            "perubahan": [[v.region_kode, v.kategori, v.periode, v.sumber, v.nilai] for v in values],
            "tanda": as_kept(settled),
        },
        after={"instansi": instansi, "tahun": year, "nilai": len(values)},
        reason=reason,
    )
    aggregates.rescan(session, actor, values)
    return len(values)


def reason_given(alasan: str) -> str:
    reason = " ".join((alasan or "").split())
    if not REASON_CHARS[0] <= len(reason) <= REASON_CHARS[1]:
        raise Invalid(
            "Alasan wajib",
            [Problem(f"tulis alasan {REASON_CHARS[0]} sampai {REASON_CHARS[1]} karakter", column="alasan")],
        )
    return reason


def settled_on(session: Session, codes: set[str]) -> list[QualityFlag]:
    """The explained, acknowledged or closed flags on compiled figures in these regions; a caller
    keeps those of the figures it removes."""
    return list(
        session.scalars(
            select(QualityFlag).where(
                QualityFlag.item_id.is_(None),
                QualityFlag.status != FlagStatus.TERBUKA,
                QualityFlag.region_kode.in_(codes),
            )
        )
    )


def as_kept(flags: list[QualityFlag]) -> list[list[Any]]:
    """Settled flags as the audit trail keeps them when the figures they explained are removed."""
    return [[f.id, f.rule, f.region_kode, f.kategori, f.periode, str(f.status), f.ack_by, f.ack_note] for f in flags]
