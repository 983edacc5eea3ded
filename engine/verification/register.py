"""Re-verification of the standing register (verifikasi dan validasi, verval) in every period.

A period's submission starts from the desa's current verified records: one item per record, which
the operator marks with what was found. "Still eligible" keeps the record (re-verified, as a new
version when the province approves); every other status needs a reason and becomes a removal. A
submission goes up only when every record has a status, or with the operator's statement, and its
reason, that the register could not be checked this period; a desa with no PPKS at all reports
"nihil" explicitly. So "nothing changed" can be told apart from "nobody looked".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem
from engine.verification import item_checks, records
from engine.verification.drafts import editable_submission
from models import (
    ItemAction,
    ItemSource,
    Record,
    RecordStatus,
    Region,
    Submission,
    SubmissionItem,
    VervalStatus,
)

REASON_LIMIT = 1000
DESTINATION_LIMIT = 160
MARK_LIMIT = 500  # records marked in one action: bounded work (a page of the register shows 25)
FOUND = {VervalStatus.LAYAK}  # what keeps a record on the register


def carried_records(session: Session, submission_ids: list[int]) -> set[int]:
    """The register records these submissions already carry."""
    return set(
        session.scalars(
            select(SubmissionItem.record_id).where(
                SubmissionItem.submission_id.in_(submission_ids), SubmissionItem.record_id.is_not(None)
            )
        )
    )


PREFILL_BATCH = 5000


def hold_registers(session: Session, desa: list[str], writing: bool) -> None:
    """The desa's registers held while an approval writes one (NO KEY UPDATE on the desa's region
    row) or a new period copies them (FOR SHARE): the two take turns, so a period opened during an
    approval copies the register it leaves, and two approvals of one desa's periods apply one after
    the other, the second reading its items as the first brought them up to date (`in_work`). Rows
    that refer to the region (a record's, a submission's) are not held up."""
    if desa:
        session.execute(
            select(Region.kode)
            .where(Region.kode.in_(sorted(desa)))
            .order_by(Region.kode)
            .with_for_update(read=not writing, key_share=writing)
        )


def prefill(session: Session, by_desa: dict[str, int], new: bool = False) -> int:
    """An item for each active record of each desa (desa code -> its submission's id) that has none
    yet: the register the operator re-verifies. Idempotent, so records verified since the period
    opened join it too. `new` submissions, created in this transaction, carry nothing yet, and wait
    for an approval of the same desa in progress (`hold_registers`)."""
    if not by_desa:
        return 0
    if new:
        hold_registers(session, list(by_desa), writing=False)
    carried: set[int] = set() if new else carried_records(session, list(by_desa.values()))
    now = clock.now()
    active = (
        select(Record)
        .where(Record.kode_desa.in_(list(by_desa)), Record.status == RecordStatus.AKTIF)
        .order_by(Record.id)
        .execution_options(yield_per=PREFILL_BATCH)  # a province's register read and written a part at a time
    )
    written = 0
    for part in session.scalars(active).partitions():
        rows = [_register_item(r, by_desa[r.kode_desa], now) for r in part if r.id not in carried]
        if rows:
            session.execute(insert(SubmissionItem), rows)
            written += len(rows)
    return written


def _register_item(r: Record, submission_id: int, now: Any) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "aksi": ItemAction.PERIKSA,
        "record_id": r.id,
        "kategori": r.kategori,
        "nik": r.nik,
        "no_kk": r.no_kk,
        "data": records.as_item_values(r),
        "source": ItemSource.REGISTER,
        "masalah": [],
        "dibuang": False,
        "updated_at": now,
    }


@dataclass(frozen=True)
class Progress:
    """How far the register's re-verification has come."""

    total: int  # register records carried into the period
    by_status: dict[str, int]
    missing: int  # active records not yet carried in (verified since the period opened)

    @property
    def checked(self) -> int:
        return sum(self.by_status.values())

    @property
    def unchecked(self) -> int:
        return self.total - self.checked

    @property
    def percent(self) -> int:
        return round(100 * self.checked / self.total) if self.total else 100


@dataclass(frozen=True)
class _Counts:
    """A submission's live items: all of them, and the register's records by verval status."""

    entries: int
    register: int
    by_status: dict[str, int]


_COUNTS = (
    select(SubmissionItem.source, SubmissionItem.verval, func.count())
    .where(SubmissionItem.submission_id == bindparam("submission_id"), SubmissionItem.dibuang.is_(False))
    .group_by(SubmissionItem.source, SubmissionItem.verval)
)


def _counts(session: Session, submission: Submission) -> _Counts:
    """One grouped count for what `progress` and `readiness` both need."""
    by_status: Counter[str] = Counter()
    entries = register = 0
    for source, status, n in session.execute(_COUNTS, {"submission_id": submission.id}):
        entries += n
        if source != ItemSource.REGISTER:
            continue
        register += n
        if status is not None:
            by_status[VervalStatus(status).value] += n
    return _Counts(entries, register, dict(by_status))


def progress(session: Session, submission: Submission) -> Progress:
    counts = _counts(session, submission)
    carried = select(SubmissionItem.record_id).where(
        SubmissionItem.submission_id == submission.id, SubmissionItem.record_id.is_not(None)
    )
    missing = session.scalar(
        select(func.count())
        .select_from(Record)
        .where(Record.kode_desa == submission.kode_desa, Record.status == RecordStatus.AKTIF, Record.id.not_in(carried))
    )
    return Progress(counts.register, counts.by_status, missing or 0)


def _register_items(session: Session, submission: Submission, item_ids: list[int]) -> list[SubmissionItem]:
    """The submission's register records of these ids, read at once (a bulk mark is up to 500)."""
    found = {  # locked in id order and read as last committed, as `items._item` reads one
        item.id: item
        for item in session.scalars(
            select(SubmissionItem)
            .where(SubmissionItem.id.in_(item_ids))
            .order_by(SubmissionItem.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for item_id in item_ids:
        item = found.get(item_id)
        if item is None or item.submission_id != submission.id or item.source != ItemSource.REGISTER:
            raise NotFound(f"Catatan register {item_id} tidak ada di pengajuan ini")
    aside = [found[item_id].data.get("nama") or str(item_id) for item_id in item_ids if found[item_id].dibuang]
    if aside:  # a page opened before another period's approval let these people go
        raise Conflict(
            f"Sudah dikeluarkan dari register oleh pengajuan periode lain yang disetujui: {', '.join(aside[:10])}; "
            "muat ulang halaman, status lainnya belum disimpan"
        )
    return [found[item_id] for item_id in item_ids]


def _checked_reason(status: VervalStatus, reason: str, destination: str) -> Problem | None:
    if status not in FOUND and not reason:
        return Problem("tuliskan alasannya (mis. tanggal meninggal, ke mana pindah)", column="alasan")
    if len(reason) > REASON_LIMIT:
        return Problem(f"alasan paling banyak {REASON_LIMIT} karakter", column="alasan")
    if len(destination) > DESTINATION_LIMIT:
        return Problem(f"tujuan pindah paling banyak {DESTINATION_LIMIT} karakter", column="tujuan")
    return None


def set_status(
    session: Session,
    actor: Actor,
    submission_id: int,
    item_ids: list[int],
    status: VervalStatus,
    reason: str = "",
    destination: str = "",
) -> int:
    """Mark register records with what the operator found; every status but "still eligible" needs
    a reason and makes the item a removal. Returns how many changed; audited one by one."""
    submission = editable_submission(session, actor, submission_id)
    reason, destination = reason.strip(), destination.strip()
    problem = _checked_reason(status, reason, destination)
    if problem is not None:
        raise Invalid("Status verval belum dapat disimpan", [problem])
    chosen = sorted(set(item_ids))
    if not chosen:
        raise Invalid("Pilih setidaknya satu catatan")
    if len(chosen) > MARK_LIMIT:
        raise Invalid(f"Paling banyak {MARK_LIMIT} catatan sekali tandai", [Problem("pilih lebih sedikit catatan")])
    item_checks.forget(session, submission.id)
    items = _register_items(session, submission, chosen)
    return sum(_mark(session, actor, submission, item, status, reason, destination) for item in items)


def _mark(
    session: Session,
    actor: Actor,
    submission: Submission,
    item: SubmissionItem,
    status: VervalStatus,
    reason: str,
    destination: str,
) -> int:
    before = {
        "verval": item.verval.value if item.verval else None,
        "aksi": item.aksi.value,
        "alasan": item.verval_alasan,
    }
    data = {k: v for k, v in item.data.items() if k not in ("alasan_hapus", "tujuan_pindah")}
    if status in FOUND:
        edited = item.aksi == ItemAction.UBAH or (item.aksi == ItemAction.HAPUS and _edited(session, item, data))
        aksi = ItemAction.UBAH if edited else ItemAction.PERIKSA
    else:
        aksi = ItemAction.HAPUS
        data["alasan_hapus"] = f"{status_words(status)}: {reason}"
        if status == VervalStatus.PINDAH and destination:
            data["tujuan_pindah"] = destination
    after = {"verval": status.value, "aksi": aksi.value, "alasan": reason or None}
    if after == before and data == item.data:
        return 0
    item.verval, item.verval_alasan, item.aksi, item.data = status, reason or None, aksi, data
    item.updated_at = clock.now()
    _record_status(session, actor, submission, item, before, after, reason or None)
    return 1


def _edited(session: Session, item: SubmissionItem, data: dict[str, Any]) -> bool:
    """A record marked removed and then found again carries what the operator wrote before the
    removal: a correction, if it differs from the record."""
    record = session.get(Record, item.record_id) if item.record_id else None
    return record is not None and records.as_item_values(record) != data


def _record_status(
    session: Session,
    actor: Actor,
    submission: Submission,
    item: SubmissionItem,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str | None,
) -> None:
    """A register record's verval status changed: one audit row, whichever way it changed."""
    audit.record(
        session,
        actor,
        AuditAction.ITEM_VERVAL_SET,
        "submission_item",
        item.id,
        before=before,
        after=after,
        reason=reason,
        instance_id=submission.instance_id,
    )


STATUS_WORDS = {
    VervalStatus.LAYAK: "ditemukan, masih layak",
    VervalStatus.TIDAK_LAYAK: "ditemukan, tidak layak lagi",
    VervalStatus.MENINGGAL: "meninggal",
    VervalStatus.PINDAH: "pindah",
    VervalStatus.TIDAK_DITEMUKAN: "tidak ditemukan",
    VervalStatus.GANDA: "ganda",
}


def status_words(status: VervalStatus) -> str:
    return STATUS_WORDS[status]


def found_with_changes(
    session: Session, actor: Actor, submission: Submission, item: SubmissionItem, changed: bool = True
) -> VervalStatus | None:
    """A register record the operator entered again (corrected on the form, or a row of an import)
    was found: still eligible, with the values given. The latest entry wins over an earlier status;
    a removal it replaces (died, moved, not found ...) is recorded and returned, so the operator is told.
    Entered again as it stood (`changed` false) while found already, it stays as it was."""
    if item.source != ItemSource.REGISTER:
        return None
    earlier, reason, action = item.verval, item.verval_alasan, item.aksi
    if earlier in FOUND and not changed:
        return None
    item.aksi, item.verval, item.verval_alasan = ItemAction.UBAH, VervalStatus.LAYAK, None
    if earlier in FOUND:
        return None
    # found by being entered again (still unchecked until now, or a removal it replaces): on the
    # trail, as a mark on the register page is, so the tiers read what the desa did after a return
    before = {"verval": earlier.value if earlier else None, "aksi": action.value, "alasan": reason}
    after = {"verval": VervalStatus.LAYAK.value, "aksi": ItemAction.UBAH.value, "alasan": None}
    _record_status(session, actor, submission, item, before, after, "data diperbaiki" if earlier else "dimasukkan lagi")
    return earlier


def declare(
    session: Session, actor: Actor, submission_id: int, nihil: bool | None = None, unchecked: str | None = None
) -> Submission:
    """The operator's statements: the desa has no PPKS this period (nihil), or the register could not
    be re-verified this period (with the reason; an empty reason withdraws it). Audited."""
    submission = editable_submission(session, actor, submission_id)
    before = {"nihil": submission.nihil, "tidak_diperiksa": submission.tidak_diperiksa}
    if nihil is not None:
        if nihil and _entries(session, submission):
            raise Invalid("Pengajuan ini berisi data; nihil hanya untuk desa tanpa PPKS sama sekali")
        submission.nihil = nihil
    if unchecked is not None:
        text = unchecked.strip()
        if len(text) > REASON_LIMIT:
            raise Invalid(
                "Alasan terlalu panjang", [Problem(f"paling banyak {REASON_LIMIT} karakter", column="tidak_diperiksa")]
            )
        submission.tidak_diperiksa = text or None
    after = {"nihil": submission.nihil, "tidak_diperiksa": submission.tidak_diperiksa}
    if after != before:
        audit.record(
            session,
            actor,
            AuditAction.SUBMISSION_DECLARED,
            "submission",
            submission.id,
            before=before,
            after=after,
            reason=submission.tidak_diperiksa,
            instance_id=submission.instance_id,
        )
    return submission


def _entries(session: Session, submission: Submission) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SubmissionItem)
            .where(SubmissionItem.submission_id == submission.id, SubmissionItem.dibuang.is_(False))
        )
        or 0
    )


def readiness(session: Session, submission: Submission) -> list[Problem]:
    """Why the submission cannot go up yet as far as the register is concerned (empty when it can)."""
    prefill(session, {submission.kode_desa: submission.id})  # records verified since the period opened too
    counts = _counts(session, submission)
    state = Progress(counts.register, counts.by_status, missing=0)  # prefill has just carried every record in
    problems = []
    if state.unchecked and not submission.tidak_diperiksa:
        problems.append(
            Problem(
                f"{state.unchecked} dari {state.total} catatan register belum diberi status verval; beri status "
                "setiap catatan, atau nyatakan dengan alasan bahwa register tidak dapat diperiksa periode ini",
                column="verval",
            )
        )
    if not counts.entries and not submission.nihil:
        problems.append(
            Problem(
                "pengajuan kosong: tambahkan data, atau laporkan nihil bila desa tidak memiliki PPKS sama sekali",
                column="nihil",
            )
        )
    if counts.entries > counts.register and submission.nihil:  # data entered after the desa reported nihil
        problems.append(
            Problem(
                "pengajuan dinyatakan nihil tetapi berisi data: cabut pernyataan nihil, atau sisihkan datanya",
                column="nihil",
            )
        )
    elif counts.register and submission.nihil:  # records carried in since: a register record is never set aside
        problems.append(
            Problem(
                "pengajuan dinyatakan nihil tetapi register desa kini memuat catatan: cabut pernyataan nihil, lalu "
                "beri status verval setiap catatan",
                column="nihil",
            )
        )
    return problems
