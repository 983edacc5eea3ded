"""Each upload of other agencies' figures, as the audit trail keeps it (the figures it added and those
it replaced), and taking one upload back: the figures it added are removed and those it replaced
return. A file saved over a correct one is undone without finding the earlier file again, and what
it did stays on the trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, NotFound
from engine.core.periods import period_key
from engine.people.scope import Scope
from engine.quality import aggregates, series
from engine.verification import agency_figures, agency_listing
from engine.verification.reconciliation import check_year
from models import AggregateValue, AuditEvent

READ = 500  # a year's uploads listed, newest first: a year brings a few files per agency
SCANNED = 10_000  # uploads of any year read back from the trail to find them
NAMED = 5  # figures named in a refusal; the rest are counted
LATER_READ = 2000  # later changes of agencies' figures read to see whether one stands on an upload
LATER_CHANGES = (
    AuditAction.AGENCY_FIGURES_IMPORTED,
    AuditAction.BASELINE_IMPORTED,
    AuditAction.AGENCY_FIGURES_CONFIRMED,
    AuditAction.AGENCY_FIGURES_WITHDRAWN,
    AuditAction.AGENCY_UPLOAD_UNDONE,
)


CONFIRMING = {a.value for a in (*aggregates.CONFIRMING, AuditAction.AGENCY_FIGURES_CONFIRMED)}


@dataclass(frozen=True)
class Change:
    """One figure an upload added (`sebelum` None) or replaced."""

    kode_wilayah: str
    kategori: str
    periode: str
    instansi: str
    sebelum: int | None
    sesudah: int

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.kode_wilayah, self.kategori, self.periode, self.instansi


@dataclass(frozen=True)
class Undone:
    oleh: str
    pada: datetime
    alasan: str


@dataclass(frozen=True)
class AgencyUpload:
    """One upload as the trail recorded it: by whom, from which file, what it added and replaced."""

    seq: int
    pada: datetime
    oleh: str
    berkas: str
    instansi: list[str]
    baru: int
    diubah: int
    dibatalkan: Undone | None


def _changes(event: AuditEvent) -> list[Change]:
    return [Change(r, k, p, s, before, after) for r, k, p, s, before, after in (event.after or {}).get("perubahan", [])]


def _touches(changes: list[Change], year: int) -> bool:
    return any(agency_listing.same_year(c.periode, year) for c in changes)


def uploads(session: Session, actor: Actor, tahun: Any) -> list[AgencyUpload]:
    """The uploads that changed the year's figures, newest first, each with its undoing if any; for
    those who oversee the whole province (an upload spans its regencies)."""
    if not Scope.overseeing(actor).whole_province:
        return []
    year = check_year(tahun)
    found = _of_year(session, year)
    undone = _undoings(session, [e.seq for e, _ in found])
    return [
        AgencyUpload(
            e.seq,
            e.at,
            e.actor,
            str((e.after or {}).get("berkas") or "-"),
            sorted({c.instansi for c in changes}),
            sum(1 for c in changes if c.sebelum is None),
            sum(1 for c in changes if c.sebelum is not None),
            undone.get(e.seq),
        )
        for e, changes in found
    ]


def _of_year(session: Session, year: int) -> list[tuple[AuditEvent, list[Change]]]:
    """The newest `READ` uploads that changed the year's figures, read back a batch at a time past
    other years' (an agency pushing daily through the API fills a few hundred a year), at most
    `SCANNED` uploads in all."""
    found: list[tuple[AuditEvent, list[Change]]] = []
    before = None
    for _ in range(SCANNED // READ):
        query = select(AuditEvent).where(AuditEvent.action == AuditAction.AGENCY_FIGURES_IMPORTED.value)
        if before is not None:
            query = query.where(AuditEvent.seq < before)
        events = list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(READ)))
        found += [(e, changes) for e in events if _touches(changes := _changes(e), year)]
        if len(events) < READ or len(found) >= READ:
            break
        before = events[-1].seq
    return found[:READ]


def _undoings(session: Session, seqs: list[int]) -> dict[int, Undone]:
    if not seqs:
        return {}
    return {
        int(e.subject_id): Undone(e.actor, e.at, e.reason or "")
        for e in session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == AuditAction.AGENCY_UPLOAD_UNDONE.value,
                AuditEvent.subject_id.in_([str(s) for s in seqs]),
            )
        )
    }


def undo(session: Session, actor: Actor, seq: int, tahun: Any, alasan: str) -> list[Change]:
    """Take an upload of the year back with a reason. Refused, with nothing changed, when any of its
    figures was changed since (a later upload or a withdrawal: that one is taken back first), when it
    was taken back already, or when a year it changed is determined."""
    agency_figures.receiving(actor)
    year = check_year(tahun)
    reason = agency_figures.reason_given(alasan)
    event = session.get(AuditEvent, seq)
    changes = _changes(event) if event and event.action == AuditAction.AGENCY_FIGURES_IMPORTED.value else []
    if not _touches(changes, year):
        raise NotFound(f"Tidak ada unggahan angka instansi nomor {seq} untuk tahun {year}")
    aggregates.one_rescan_at_a_time(session, {(c.kategori, c.kode_wilayah) for c in changes})
    for y in sorted({period_key(c.periode)[0] for c in changes}):
        agency_figures.refuse_determined(session, y)
    if _undoings(session, [seq]):
        raise Conflict(f"Unggahan nomor {seq} sudah dibatalkan")
    _refuse_changed_later(session, seq, changes)
    rows = _stored(session, changes)
    _refuse_changed_since(changes, rows, seq)
    removed = _put_back(session, changes, rows)
    audit.record(
        session,
        actor,
        AuditAction.AGENCY_UPLOAD_UNDONE,
        "aggregate_value",
        str(seq),
        before={"perubahan": [[*c.key, c.sesudah, c.sebelum] for c in changes], "tanda": removed},
        after={
            "unggahan": seq,
            "dikembalikan": sum(c.sebelum is not None for c in changes),
            "dihapus": sum(c.sebelum is None for c in changes),
        },
        reason=reason,
    )
    aggregates.rescan(session, actor, [series.Value(*c.key[:3], c.sesudah, c.instansi) for c in changes])
    return changes


def _stored(session: Session, changes: list[Change]) -> dict[tuple[str, str, str, str], AggregateValue]:
    wanted = {c.key for c in changes}
    return {
        key: r
        for r in session.scalars(
            select(AggregateValue).where(
                AggregateValue.sumber.in_({c.instansi for c in changes}),
                AggregateValue.kategori.in_({c.kategori for c in changes}),
                AggregateValue.region_kode.in_({c.kode_wilayah for c in changes}),
            )
        )
        if (key := (r.region_kode, r.kategori, r.periode, r.sumber)) in wanted
    }


def _refuse_changed_later(session: Session, seq: int, changes: list[Change]) -> None:
    """Any later upload (not taken back) or withdrawal of one of these figures refuses the undoing,
    even when it sent the same value again: undoing would take that later upload's figures with it."""
    later = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > seq, AuditEvent.action.in_([a.value for a in LATER_CHANGES]))
            .order_by(AuditEvent.seq)
            .limit(LATER_READ + 1)
        )
    )
    if len(later) > LATER_READ:
        raise Conflict(
            f"Lebih dari {LATER_READ} unggahan, penarikan atau pembatalan angka instansi sesudah unggahan nomor {seq}; "
            "unggahan itu tidak dibatalkan di sini: tarik angka instansi tahun itu, lalu unggah berkas yang benar"
        )
    undone = {int(e.subject_id) for e in later if e.action == AuditAction.AGENCY_UPLOAD_UNDONE.value}
    mine = {c.key for c in changes}
    for event in later:
        if event.action == AuditAction.AGENCY_FIGURES_WITHDRAWN.value:
            if n := len(_keys(event.before, "perubahan") & mine):
                raise Conflict(
                    f"{n} angka unggahan nomor {seq} ditarik sesudahnya (nomor {event.seq}); tidak ada yang dibatalkan"
                )
        elif event.action in CONFIRMING and event.seq not in undone:
            _refuse_stood_on(seq, event, mine)


def _refuse_stood_on(seq: int, event: AuditEvent, mine: set[tuple[str, str, str, str]]) -> None:
    """A later sending that changed or confirmed one of the upload's figures stands on it."""
    if n := len(_keys(event.after, "perubahan") & mine):
        if event.action == AuditAction.BASELINE_IMPORTED.value:  # a table of figures, not an upload to undo
            raise Conflict(
                f"{n} angka unggahan nomor {seq} diubah sesudahnya oleh impor angka historis nomor {event.seq}; "
                "tarik angka instansi tahun itu"
            )
        raise Conflict(
            f"{n} angka unggahan nomor {seq} diubah sesudahnya oleh unggahan nomor {event.seq}; "
            "batalkan unggahan yang lebih baru itu lebih dahulu"
        )
    if n := len(_keys(event.after, "sama") & mine):
        # A sending that changed none is recorded as confirming: an upload's, a push's or a historic table's.
        raise Conflict(
            f"{n} angka unggahan nomor {seq} dikirim lagi tanpa perubahan sesudahnya (nomor {event.seq}): "
            "instansi menegaskannya, jadi tidak dibatalkan; bila angka itu salah, "
            "tarik angka instansi tahun itu"
        )


def _keys(data: dict[str, Any] | None, part: str) -> set[tuple[str, ...]]:
    """The figures (region, category, period, agency) an event's row lists under `part`."""
    return {tuple(c[:4]) for c in (data or {}).get(part, [])}


def _refuse_changed_since(changes: list[Change], rows: dict[tuple, AggregateValue], seq: int) -> None:
    moved = [c for c in changes if (row := rows.get(c.key)) is None or row.nilai != c.sesudah]
    if moved:
        named = "; ".join(f"{c.instansi} {c.kode_wilayah} {c.kategori} {c.periode}" for c in moved[:NAMED])
        raise Conflict(
            f"{len(moved)} angka unggahan nomor {seq} sudah berubah sesudahnya (unggahan lain atau penarikan): "
            f"{named}; batalkan perubahan yang lebih baru itu lebih dahulu"
        )


def _put_back(session: Session, changes: list[Change], rows: dict[tuple, AggregateValue]) -> list[list[Any]]:
    """The figures replaced return and those added go, with the explanations given of them (kept on
    the trail, as a withdrawal keeps them); returns those explanations."""
    added = {c.key for c in changes if c.sebelum is None}
    settled = [
        f
        for f in agency_figures.settled_on(session, {c.kode_wilayah for c in changes})
        if (f.region_kode, f.kategori, f.periode, f.sources.get("instansi") or f.sources.get("sumber")) in added
    ]
    for c in changes:
        if c.sebelum is None:
            session.delete(rows[c.key])
        else:
            rows[c.key].nilai, rows[c.key].imported_at = c.sebelum, clock.now()
    for flag in settled:
        session.delete(flag)
    session.flush()
    return agency_figures.as_kept(settled)
