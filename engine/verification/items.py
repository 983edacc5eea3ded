"""The village operator's items: one person at a time from the form, removal of a record, and
the desa's records to choose from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Exists, delete, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem, phrase
from engine.quality import identity, record_rules, row_rules
from engine.verification import item_checks, register, submission_view
from engine.verification.drafts import editable_submission, operator_submission, set_aside
from models import (
    Category,
    ItemAction,
    ItemSource,
    ItemVerdict,
    Record,
    RecordStatus,
    Severity,
    Submission,
    SubmissionItem,
    Unit,
    VervalStatus,
)

# The columns of one person's values, in the form and in an import file.
# a register copy set aside: another period's approval took the person off the register, for good
TAKEN_OFF = phrase(
    "Orangnya sudah dikeluarkan dari register oleh pengajuan periode lain yang disetujui; bila ia kembali "
    "atau kembali berhak, masukkan sebagai data baru"
)
ITEM_COLUMNS = ["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"]


def category(session: Session, kode: str) -> Category:
    found = session.get(Category, kode)
    if found is None:
        raise NotFound(f"Kategori {kode!r} tidak dikenal")
    return found


def categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.jenis.desc(), Category.nama)))


@dataclass(frozen=True)
class Saved:
    item: SubmissionItem
    # a register record's removal (died, moved, not found ...) the correction replaced: the person
    # corrected was found, still eligible; the operator is told, in case that was not meant
    replaced: VervalStatus | None = None


def _refuse_stale(item: SubmissionItem, versi: str | None) -> None:
    """A correction to an entry that changed, or was set aside, since its form was opened: said
    before its fields are judged, since the person must reload before anything else helps."""
    if item.dibuang and item.source == ItemSource.REGISTER:  # said first: reloading would not help
        raise Conflict(TAKEN_OFF)
    if versi and versi != item.updated_at.isoformat():
        raise Conflict(
            "Data ini sudah berubah sejak formulir dibuka (di halaman lain, atau oleh pengajuan periode lain "
            "yang disetujui); muat ulang untuk melihat yang terbaru"
        )
    if item.dibuang:  # a correction kept on an entry set aside would go nowhere, silently
        raise Conflict("Data ini sedang disisihkan dari pengajuan; kembalikan dulu di halaman pengajuan")


def save_item(
    session: Session, actor: Actor, submission_id: int, values: dict[str, Any], item_id: int | None = None
) -> Saved:
    """Add or correct one person's item from the form; faults are reported per field.

    `values` holds the item columns and `atribut`, the category's extra attributes by name.
    """
    submission = editable_submission(session, actor, submission_id)
    kind = category(session, values.get("kategori") or "")
    data: dict[str, Any] = {k: str(values.get(k) or "").strip() for k in ITEM_COLUMNS}
    data["tanggal_lahir"] = row_rules.normalise_date(data["tanggal_lahir"])
    given = values.get("atribut") or {}
    attributes = {name: str(given.get(name) or "").strip() for name in kind.atribut_wajib}
    ctx = record_rules.Context.load(session, submission.periode)
    item = _item(session, submission, item_id) if item_id else None
    if item is not None:
        _refuse_stale(item, values.get("versi"))
    record = item.record_id if item else None  # a register record corrected: its own past, in any category
    found = record_rules.check_rows(
        session,
        [{**data, "atribut": attributes}],
        ctx,
        submission.kode_desa,
        submission.id,
        records=[record] if record else None,
    )
    problems = [Problem(f.message, column=f.field) for f in found[0] if f.severity == Severity.ERROR]
    key = identity.key(Unit(kind.satuan), data)
    clash = _same_entry(session, submission, kind, key, item_id)
    if key and clash:
        problems.append(
            Problem(
                f"sudah ada di pengajuan ini untuk kategori yang sama (item {clash})",
                column=IDENTITY_FIELD[Unit(kind.satuan)],
            )
        )
    if problems:
        raise Invalid("Data belum dapat disimpan", problems)
    data["atribut"] = attributes
    item_checks.forget(session, submission.id)
    if item is not None:
        before = dict(item.data)
        item.data, item.nik, item.no_kk, item.kategori = data, data["nik"] or None, data["no_kk"] or None, kind.kode
        item.masalah, item.updated_at = [f.to_dict() for f in found[0]], clock.now()
        replaced = register.found_with_changes(session, actor, submission, item, changed=data != before)
        action = AuditAction.ITEM_UPDATED
    else:
        record_id = _record_of(session, submission, kind, key)
        item = SubmissionItem(
            submission_id=submission.id,
            aksi=ItemAction.UBAH if record_id else ItemAction.TAMBAH,
            record_id=record_id,
            kategori=kind.kode,
            nik=data["nik"] or None,
            no_kk=data["no_kk"] or None,
            data=data,
            source=ItemSource.FORM,
            masalah=[f.to_dict() for f in found[0]],
            updated_at=clock.now(),
        )
        session.add(item)
        session.flush()
        before, action, replaced = None, AuditAction.ITEM_ADDED, None
    audit.record(
        session,
        actor,
        action,
        "submission_item",
        item.id,
        before=before,
        after=data,
        instance_id=submission.instance_id,
    )
    return Saved(item, replaced)


IDENTITY_FIELD = {Unit.INDIVIDU: "nik", Unit.KELUARGA: "no_kk", Unit.LEMBAGA: "nama", Unit.KOMUNITAS: "nama"}


def _same_entry(session: Session, submission: Submission, kind: Category, key: str, item_id: int | None) -> int | None:
    """Another item of the submission for the same entry of this category (same NIK, KK or name)."""
    unit = Unit(kind.satuan)
    for other in session.scalars(
        select(SubmissionItem).where(
            SubmissionItem.submission_id == submission.id,
            SubmissionItem.kategori == kind.kode,
            SubmissionItem.id != (item_id or 0),
            # a copy of a record the register no longer holds, set aside by an approval, is not an entry
            ~(SubmissionItem.dibuang & (SubmissionItem.source == ItemSource.REGISTER)),
        )
    ):
        if identity.key(unit, other.data) == key:
            return other.id
    return None


def _record_of(session: Session, submission: Submission, kind: Category, key: str) -> int | None:
    """The desa's active record of this entry, which the item re-verifies. A record another entry
    of this submission carries already (its copy moved to another category or NIK) is not it: this
    entry is then a registration of its own, and the record keeps the move."""
    if not key:
        return None
    unit = Unit(kind.satuan)
    for record in session.execute(
        select(Record.id, Record.nik, Record.no_kk, Record.nama).where(
            Record.kode_desa == submission.kode_desa,
            Record.kategori == kind.kode,
            Record.status == RecordStatus.AKTIF,
            ~_carried_by(submission.id),
        )
    ):
        if identity.key(unit, {"nik": record.nik, "no_kk": record.no_kk, "nama": record.nama}) == key:
            return record.id
    return None


def _carried_by(submission_id: int) -> Exists:
    """A live entry of the submission carries the record."""
    return (
        select(SubmissionItem.id)
        .where(
            SubmissionItem.submission_id == submission_id,
            SubmissionItem.record_id == Record.id,
            SubmissionItem.dibuang.is_(False),
        )
        .exists()
    )


def _item(session: Session, submission: Submission, item_id: int) -> SubmissionItem:
    """The item, locked and read as last committed: an approval of another period bringing it up to
    date (`in_work`) is waited for and seen, so a form opened before it is stale, not written over it."""
    item = session.scalar(
        select(SubmissionItem)
        .where(SubmissionItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None or item.submission_id != submission.id:
        raise NotFound(f"Item {item_id} tidak ada di pengajuan {submission.id}")
    return item


def discard_item(session: Session, actor: Actor, submission_id: int, item_id: int) -> None:
    """Set an added or corrected item aside; it can be brought back while the submission is a draft
    and is dropped when the submission goes up. A register record is never discarded: it gets a
    re-verification status instead."""
    submission = editable_submission(session, actor, submission_id)
    item = _item(session, submission, item_id)
    if item.source == ItemSource.REGISTER:
        raise Conflict("Catatan register tidak dibuang: beri status verval (mis. meninggal, pindah, tidak ditemukan)")
    if item.dibuang:
        return
    item_checks.forget(session, submission.id)
    set_aside(session, actor, item, submission.instance_id)


def restore_item(session: Session, actor: Actor, submission_id: int, item_id: int) -> bool:
    """Bring back an item set aside in this draft; False when it was not set aside (nothing to do)."""
    submission = editable_submission(session, actor, submission_id)
    item = _item(session, submission, item_id)
    if not item.dibuang:
        return False
    if item.source == ItemSource.REGISTER:  # only an approval sets a register copy aside: its record ended
        raise Conflict(TAKEN_OFF)
    item_checks.forget(session, submission.id)
    item.dibuang, item.updated_at = False, clock.now()
    audit.record(
        session,
        actor,
        AuditAction.ITEM_RESTORED,
        "submission_item",
        item.id,
        after=item.data,
        instance_id=submission.instance_id,
    )
    return True


def drop_discarded(session: Session, submission: Submission) -> None:
    """Items set aside do not go up: they leave the submission (each was audited when set aside).

    An item a tier already judged, in a round that came back, keeps its row, set aside: its verdicts
    are part of the submission's history and point to it."""
    judged = select(ItemVerdict.id).where(ItemVerdict.item_id == SubmissionItem.id).exists()
    session.execute(
        delete(SubmissionItem).where(
            SubmissionItem.submission_id == submission.id, SubmissionItem.dibuang.is_(True), ~judged
        )
    )


def item_row(session: Session, actor: Actor, submission_id: int, item_id: int) -> submission_view.ItemRow:
    """One item of the operator's submission as its edit page shows it, with the tiers' verdicts and
    reasons (why it was returned)."""
    submission = operator_submission(session, actor, submission_id)
    rows = submission_view.items_of(session, actor, submission, [SubmissionItem.id == item_id])
    if not rows:
        raise NotFound(f"Item {item_id} tidak ada di pengajuan {submission_id}")
    return rows[0]
