"""What other agencies' systems read and write through the API, each use case checking the token's
scope itself (`Scope.exchanging`): compiled figures in Satu Data form, the verification status of a
period, PPKS records (NIKs masked unless the token may see them, every full NIK read on the audit
trail), the agency's own figures, and items for a desa's draft submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session

from engine.core import agency_names, audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import aggregates, completeness, figure_files
from engine.verification import agency_figures, drafts, figure_status, imports, linkage, trail
from engine.verification.status import EDITABLE
from models import (
    AggregateValue,
    ApiResource,
    Category,
    ItemSource,
    Record,
    RecordStatus,
    Region,
    Submission,
    Tier,
)

T = TypeVar("T")
MAX_ROWS = 5000  # rows in one POST: an agency's yearly table, or a desa's whole register


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """At least one: an empty answer is its one empty page, where a client walking to `pages` stops."""
        return max(1, (self.total + self.page_size - 1) // self.page_size)


def _page(session: Session, query: Select[Any], req: PageRequest) -> tuple[list[Any], int]:
    # the count reads only the filter's columns (an index), not every column of every matching row
    total = session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    rows = session.execute(query.limit(req.page_size).offset((req.page - 1) * req.page_size)).all()
    return list(rows), total


def within(column: Any, code: str) -> Any:
    return or_(column == code, column.like(f"{code}.%"))


@dataclass(frozen=True)
class FigureFilter:
    wilayah: str = ""
    kategori: str = ""
    periode: str = ""
    tingkat: str = ""


@dataclass
class Figure:
    """One figure in Satu Data form: reference codes with their labels, unit, source and status."""

    kode_wilayah: str
    nama_wilayah: str
    tingkat: str
    kode_kategori: str
    nama_kategori: str
    jenis: str
    satuan: str
    periode: str
    nilai: int
    sumber: str
    status: str
    diperbarui: datetime


def figures(session: Session, actor: Actor, f: FigureFilter, req: PageRequest) -> Page[Figure]:
    """The province's compiled figures (source `dinsos`) within the token's region."""
    scope = Scope.exchanging(actor, ApiResource.AGREGAT).require_any()
    query = (
        select(AggregateValue, Region.nama, Region.tingkat, Category.nama, Category.jenis, Category.satuan)
        .join(Region, Region.kode == AggregateValue.region_kode)
        .join(Category, Category.kode == AggregateValue.kategori)
        .where(AggregateValue.sumber == aggregates.OURS, scope.where(AggregateValue.region_kode), _published())
    )
    if f.wilayah:
        _known_region(session, scope, f.wilayah)
        query = query.where(within(AggregateValue.region_kode, f.wilayah))
    if f.kategori:
        query = query.where(AggregateValue.kategori == f.kategori)
    if f.periode:
        query = query.where(AggregateValue.periode == f.periode)
    if f.tingkat:
        query = query.where(Region.tingkat == f.tingkat)
    query = query.order_by(AggregateValue.region_kode, AggregateValue.kategori, AggregateValue.periode)
    rows, total = _page(session, cast(Select[Any], query), req)
    statuses = figure_status.Statuses(session, {v.periode for v, *_ in rows})
    items = [
        Figure(
            v.region_kode,
            nama,
            tingkat.value,
            v.kategori,
            kategori,
            jenis,
            satuan,
            v.periode,
            v.nilai,
            "Dinas Sosial",
            statuses.of(v).value,
            v.imported_at,
        )
        for v, nama, tingkat, kategori, jenis, satuan in rows
    ]
    return Page(items, total, req.page, req.page_size)


def _published() -> Any:
    """The figures the province publishes: a sensitive category's from the kabupaten/kota up only, as
    the determination's files and pages give it (`determinations.published_rows`)."""
    return or_(AggregateValue.kategori.not_in(privacy.SENSITIVE), Region.tingkat.in_((Tier.PROVINSI, Tier.KABUPATEN)))


def verification_status(session: Session, actor: Actor, periode: str, wilayah: str = "") -> list[completeness.Status]:
    """Per child region of `wilayah` (the token's own region by default): expected, submitted, on
    time, verified at each tier, not reported."""
    scope = Scope.exchanging(actor, ApiResource.STATUS).require_any()
    parent = wilayah or (scope.regions[0] if scope.regions else "")
    if not parent:
        raise Invalid("Wilayah wajib diisi", [Problem("kode wilayah Kemendagri, mis. 65.01", column="wilayah")])
    _known_region(session, scope, parent)
    completeness.require_in_use(session, periode)
    return completeness.tally(session, periode, parent)


def _known_region(session: Session, scope: Scope, code: str) -> None:
    """A region asked for by code: within the token's region, and one that exists (404 otherwise, on
    every resource alike: an empty answer would read as a region with nothing in it)."""
    scope.require(code, f"Wilayah {code}")
    if session.get(Region, code) is None:
        raise NotFound(f"Wilayah {code} tidak dikenal")


@dataclass(frozen=True)
class RecordFilter:
    wilayah: str = ""
    kategori: str = ""
    status: str = RecordStatus.AKTIF.value
    nik: str = ""
    diperbarui_sejak: datetime | None = None


@dataclass
class RecordView:
    id: int
    kode_desa: str
    kategori: str
    nik: str
    nik_lengkap: bool
    no_kk: str
    nama: str
    jenis_kelamin: str | None
    tanggal_lahir: str | None
    alamat: str
    status: str
    versi: int
    diperbarui: datetime
    status_nik: linkage.NikView
    dtsen: linkage.DtsenView | None


def _sees_nik(actor: Actor) -> bool:
    return actor.is_system or (actor.token is not None and actor.token.sees_nik)


def _view(record: Record, full: bool, nik: linkage.NikView, dtsen: linkage.DtsenView | None) -> RecordView:
    shown = (lambda v: v or "") if full else privacy.mask_nik
    shown_text = privacy.shown_to(full)
    return RecordView(
        record.id,
        record.kode_desa,
        record.kategori,
        shown(record.nik),
        full,
        shown(record.no_kk),
        record.nama,
        record.jenis_kelamin,
        record.tanggal_lahir.isoformat() if record.tanggal_lahir else None,
        shown_text(record.alamat or ""),  # a NIK written in the address too
        record.status.value,
        record.versi,
        record.updated_at,
        nik,
        dtsen,
    )


def _views(session: Session, actor: Actor, records: list[Record], why: str) -> list[RecordView]:
    """The records as the token may see them, and on the audit trail: which records went to the agency
    in this answer (a name, an address, a family card number even where there is no NIK), and each
    full NIK shown, so that every disclosure can be told afterwards."""
    full = _sees_nik(actor)
    if full and not actor.is_system and records:
        audit.record_many(
            session,
            actor,
            [
                {"action": AuditAction.NIK_VIEWED, "subject_type": "ppks_record", "subject_id": r.id, "reason": why}
                for r in records
                if r.nik
            ],
        )
    if not actor.is_system and records:
        audit.record(
            session,
            actor,
            AuditAction.RECORDS_DISCLOSED,
            "ppks_record",
            "*",
            after={"catatan": [r.id for r in records]},
            reason=why,
        )
    checks = linkage.nik_statuses(session, [r.id for r in records])
    dtsen = linkage.dtsen_for(session, [(r.nik, r.no_kk) for r in records])
    return [_view(r, full, checks.get(r.id, linkage.NikView.unchecked()), dtsen.get((r.nik, r.no_kk))) for r in records]


def _identified(actor: Actor) -> Any:
    """The records a token may read person by person. A sensitive category's people (ODHA, victims,
    …) go only to a token the province trusted with full NIKs, each read of which is recorded: for
    the others they are one more name in a desa whose figures are not published below the regency."""
    return true() if _sees_nik(actor) else Record.kategori.not_in(privacy.SENSITIVE)


def records(session: Session, actor: Actor, f: RecordFilter, req: PageRequest) -> Page[RecordView]:
    scope = Scope.exchanging(actor, ApiResource.CATATAN).require_any()
    if f.nik and not _sees_nik(actor):
        raise Forbidden("Pencarian menurut NIK hanya untuk token yang boleh melihat NIK lengkap")
    query = select(Record).where(scope.where(Record.kode_desa), _identified(actor))
    if f.wilayah:
        _known_region(session, scope, f.wilayah)
        query = query.where(within(Record.kode_desa, f.wilayah))
    if f.kategori:
        query = query.where(Record.kategori == f.kategori)
    if f.status:
        query = query.where(Record.status == RecordStatus(f.status))
    if f.nik:
        query = query.where(Record.nik == f.nik)
    if f.diperbarui_sejak is not None:
        query = query.where(Record.updated_at >= f.diperbarui_sejak)
    rows, total = _page(session, query.order_by(Record.id), req)
    found = [row[0] for row in rows]
    if f.nik:  # whether a number is on the register is itself an answer: on the trail, found or not
        trail.nik_searched(session, actor, f.nik, total)
    return Page(_views(session, actor, found, "API: daftar catatan"), total, req.page, req.page_size)


def record(session: Session, actor: Actor, record_id: int) -> RecordView:
    scope = Scope.exchanging(actor, ApiResource.CATATAN).require_any()
    found = session.scalar(select(Record).where(Record.id == record_id, _identified(actor)))
    if found is None or not scope.contains(found.kode_desa):
        raise NotFound(f"Catatan {record_id} tidak ada di wilayah token ini")
    return _views(session, actor, [found], "API: satu catatan")[0]


@dataclass
class FiguresReport:
    instansi: str
    rows: int
    added: int
    flags: list[dict[str, Any]]


def _bounded(rows: list[dict[str, Any]]) -> None:
    if not rows:
        raise Invalid("Tidak ada baris yang dikirim", [Problem("kirim 1 baris atau lebih", column="baris")])
    if len(rows) > MAX_ROWS:
        raise Invalid(f"Paling banyak {MAX_ROWS} baris sekali kirim", [Problem("bagi menjadi beberapa kiriman")])


def post_agency_figures(session: Session, actor: Actor, rows: list[dict[str, Any]], agency: str = "") -> FiguresReport:
    """The agency's figures for comparison with ours: every row valid and within the token's region,
    or nothing stored."""
    scope = Scope.exchanging(actor, ApiResource.ANGKA_INSTANSI, write=True).require_any()
    agency = actor.token.instansi if actor.token is not None else agency.strip()
    if not agency or agency_names.is_ours(agency):
        raise Forbidden("Angka instansi harus atas nama instansi lain, bukan Dinas Sosial")
    _bounded(rows)
    text_rows = [{k: str(v) for k, v in row.items()} for row in rows]
    outside = [  # the code as the figures' reader takes it: a space copied with it is no other region
        Problem(f"wilayah {row.get('kode_wilayah')} di luar wilayah token ini", row=number, column="kode_wilayah")
        for number, row in enumerate(text_rows, start=1)
        if not scope.contains(row.get("kode_wilayah", "").strip())
    ]
    try:
        values = figure_files.agency_values(session, text_rows, agency)
    except Invalid as exc:
        found = sorted(exc.problems + outside, key=lambda p: p.row or 0)
        raise Invalid(f"Kiriman ditolak: {len(found)} masalah; tidak ada yang disimpan", found) from exc
    if outside:
        raise Invalid(f"Kiriman ditolak: {len(outside)} masalah; tidak ada yang disimpan", outside)
    agency_figures.refuse_determined_years(session, values)
    added = aggregates.store(session, actor, values, AuditAction.AGENCY_FIGURES_IMPORTED, {"berkas": "API"})
    sent = {(v.region_kode, v.kategori, v.periode) for v in values}
    ours = Scope.exchanging(actor, ApiResource.AGREGAT)
    flags = [
        f.to_dict()
        for f in aggregates.rescan(session, actor, values)
        if f.rule in aggregates.AGENCY_RULES
        and f.sources.get("instansi") == agency
        and (f.region_kode, f.kategori, f.periode) in sent
        and _reads_ours(f, ours)
    ]
    return FiguresReport(agency, len(values), added, flags)


def _reads_ours(flag: Any, ours: Scope) -> bool:
    """A flag is told to an agency that reads our figure there, as published (a sensitive category from
    the kabupaten/kota up). To any other, even a flag without our figure would tell it: sent again with
    other values, it would find the value at which the flag stops."""
    return privacy.published(flag.region_kode, flag.kategori) and ours.contains(flag.region_kode)


def post_items(
    session: Session, actor: Actor, kode_desa: str, periode: str, rows: list[dict[str, Any]]
) -> imports.ImportReport:
    """Items for the desa's draft (or returned) submission of the period, with the import's checks:
    every row valid, or none written."""
    scope = Scope.exchanging(actor, ApiResource.PENGAJUAN, write=True).require_any()
    scope.require(kode_desa, f"Desa {kode_desa}")
    _bounded(rows)
    submission = session.scalar(
        select(Submission).where(Submission.kode_desa == kode_desa, Submission.periode == periode)
    )
    if submission is None:
        raise NotFound(f"Belum ada pengajuan desa {kode_desa} untuk periode {periode}")
    # as the operator's import does: a submit or a second identical call waits, then sees what it left
    submission = drafts.under_lock(session, submission)
    if submission.status not in EDITABLE:
        raise Conflict(
            f"Pengajuan {submission.id} berstatus {submission.status.value}; hanya draf atau yang dikembalikan "
            "yang dapat diubah"
        )
    text_rows = [{k: str(v) for k, v in row.items()} for row in rows]
    return imports.write_rows(session, actor, submission, text_rows, source=ItemSource.API, first_row=1)
