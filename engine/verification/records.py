"""PPKS records: applying verified items as new versions, and reading a record's history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.people.scope import Scope
from engine.quality import identity
from engine.verification.drafts import set_aside
from models import (
    ItemAction,
    ItemSource,
    Record,
    RecordStatus,
    RecordVersion,
    Source,
    Submission,
    SubmissionItem,
    Unit,
)

FIELDS = ("nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan")
ATTRIBUTE = "atribut_"  # a category's attribute in a version's values: `atribut_jumlah_anggota`


def _values(record: Record) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in FIELDS}
    values["tanggal_lahir"] = record.tanggal_lahir.isoformat() if record.tanggal_lahir else None
    values["kode_desa"] = record.kode_desa
    values.update({f"{ATTRIBUTE}{name}": value for name, value in sorted((record.atribut or {}).items())})
    return values


def as_item_values(record: Record) -> dict[str, Any]:
    """A record's values as an item carries them (the columns of the form and the import)."""
    return {
        "nik": record.nik or "",
        "no_kk": record.no_kk or "",
        "nama": record.nama,
        "jenis_kelamin": record.jenis_kelamin or "",
        "tanggal_lahir": record.tanggal_lahir.isoformat() if record.tanggal_lahir else "",
        "alamat": record.alamat or "",
        "kategori": record.kategori,
        "keterangan": record.keterangan or "",
        "atribut": dict(record.atribut or {}),
    }


def version_as_item_values(nilai: dict[str, Any]) -> dict[str, Any]:
    """A stored version's values as an item carries them: `as_item_values` of the record it was."""
    values = {name: nilai.get(name) or "" for name in FIELDS}
    values["atribut"] = {k.removeprefix(ATTRIBUTE): v for k, v in nilai.items() if k.startswith(ATTRIBUTE)}
    return values


def _assign(record: Record, data: dict[str, Any]) -> None:
    if isinstance(data.get("atribut"), dict):
        record.atribut = dict(data["atribut"])
    for name in FIELDS:
        if name in data:
            value = data[name]
            if name == "tanggal_lahir" and value:
                value = date.fromisoformat(value)
            setattr(record, name, value if value != "" or name in ("alamat", "keterangan") else None)


def apply_items(
    session: Session, actor: Actor, submission: Submission, items: list[SubmissionItem], human_task_id: int | None
) -> int:
    """Write verified items to their records as new versions, numbered under a lock on each record.

    Two approvals of different submissions may change the same record: each takes the records' row
    locks first, all in id order (so two approvals never wait on each other in a circle), and reads
    the version number only once it holds them, so the second numbers its version after the first.
    A kelurahan's thousands of items are written a batch at a time, not a record at a time: the
    records stay loaded from the lock, their last versions are read at once, and one flush writes them.
    """
    locked = _lock(session, sorted({item.record_id for item in items if item.record_id}))
    standing = _set_aside_ended(session, actor, submission, items, locked)
    return sum(
        _apply_batch(session, actor, submission, batch, human_task_id, locked) for batch in _once_per_record(standing)
    )


def _set_aside_ended(
    session: Session, actor: Actor, submission: Submission, items: list[SubmissionItem], locked: dict[int, Record]
) -> list[SubmissionItem]:
    """The items to apply: one of a record removed since it was copied into this period (another
    period's approval recorded the person dead or moved) is set aside, so that a copy made before
    never brings the person back onto the register. Only active records are ever copied or linked."""
    standing = []
    for item in items:
        record = locked.get(item.record_id or 0)
        if record is None or record.status != RecordStatus.DIHAPUS:
            standing.append(item)
            continue
        why = "orangnya sudah dihapus dari register sebelum pengajuan ini disetujui; tidak diaktifkan lagi"
        set_aside(session, actor, item, submission.instance_id, why)
    return standing


def _lock(session: Session, record_ids: list[int]) -> dict[int, Record]:
    """The records, locked in id order; the caller keeps them (the session holds them only weakly)."""
    if not record_ids:
        return {}
    found = session.scalars(
        select(Record)
        .where(Record.id.in_(record_ids))
        .order_by(Record.id)
        # NO KEY UPDATE: two approvals still take turns, but a draft's new item referring to a record
        # (its foreign key takes KEY SHARE) does not wait for this approval, which may wait for the
        # draft's instance (`in_work.after_approval`)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {record.id: record for record in found}


def _once_per_record(items: list[SubmissionItem]) -> list[list[SubmissionItem]]:
    """The items in batches that hold each record once, in order: a record two items change gets its
    versions one after the other."""
    batches: list[list[SubmissionItem]] = []
    seen: dict[int, int] = {}
    for item in items:
        n = seen.get(item.record_id, 0) if item.record_id else 0
        if item.record_id:
            seen[item.record_id] = n + 1
        batches += [[] for _ in range(n + 1 - len(batches))]
        batches[n].append(item)
    return batches


def _source(item: SubmissionItem) -> Source:
    if item.aksi == ItemAction.PERIKSA or item.source == ItemSource.REGISTER:  # the desa's re-verification
        return Source.VERVAL
    return Source(item.source) if item.source in Source.__members__.values() else Source.TASK


def _latest_versions(session: Session, record_ids: list[int]) -> dict[int, int]:
    """Each record's last version id (versions are numbered, and so inserted, under the record's lock)."""
    if not record_ids:
        return {}
    return dict(
        session.execute(
            select(RecordVersion.record_id, func.max(RecordVersion.id))
            .where(RecordVersion.record_id.in_(record_ids))
            .group_by(RecordVersion.record_id)
        ).all()
    )


def _apply_batch(
    session: Session,
    actor: Actor,
    submission: Submission,
    batch: list[SubmissionItem],
    human_task_id: int | None,
    locked: dict[int, Record],
) -> int:
    """Write items of distinct records: every record changed, one flush, then each its version."""
    previous = _latest_versions(session, [item.record_id for item in batch if item.record_id in locked])
    changed = [_change_record(session, submission, item, locked.get(item.record_id or 0)) for item in batch]
    session.flush()  # new records get their ids
    versions = [
        _version(session, actor, submission, item, record, before, was, human_task_id)
        | {"replaces_id": previous.get(record.id)}
        for item, (record, before, was) in zip(batch, changed, strict=True)
    ]
    session.execute(insert(RecordVersion), versions)  # one statement: no version's id is read back
    return len(versions)


def _change_record(
    session: Session, submission: Submission, item: SubmissionItem, record: Record | None
) -> tuple[Record, dict[str, Any] | None, str | None]:
    """The item's values on its record (a new one for a new entry); the record, and its values and
    standing before."""
    before = _values(record) if record else None
    was = record.status.value if record else None
    if record is None:
        record = Record(kode_desa=submission.kode_desa, kategori=item.kategori, nama="", versi=0, atribut={})
        session.add(record)
    if item.aksi == ItemAction.HAPUS:
        record.status = RecordStatus.DIHAPUS
    else:
        if item.aksi != ItemAction.PERIKSA:  # found as it stood: the record's values are not the copy's to set
            _assign(record, item.data)
        record.status = RecordStatus.AKTIF
    record.versi += 1
    record.updated_at = clock.now()
    return record, before, was


def _version(
    session: Session,
    actor: Actor,
    submission: Submission,
    item: SubmissionItem,
    record: Record,
    before: dict[str, Any] | None,
    was: str | None,
    human_task_id: int | None,
) -> dict[str, Any]:
    """The record's new version (a row to insert) as the item left it, never an overwrite, and its
    audit row."""
    after = _values(record)
    # an attribute the category no longer asks for is gone from `after`: said too, with what it was
    names = [*after, *(k for k in before or {} if k not in after)]
    change = {
        k: [before.get(k) if before else None, after.get(k)]
        for k in names
        if before is None or before.get(k) != after.get(k)
    }
    # a removal changes no value but the record's standing: the version says so, and why
    removal = item.data.get("alasan_hapus") if item.aksi == ItemAction.HAPUS else None
    if record.status.value != was:
        change["status"] = [was, record.status.value]
    if removal:
        change["alasan_hapus"] = [None, removal]
        if destination := item.data.get("tujuan_pindah"):  # a person who moved: where to (DOMAIN.md)
            change["tujuan_pindah"] = [None, destination]
    version = {
        "record_id": record.id,
        "versi": record.versi,
        "nilai": after,
        "perubahan": change,
        "status": record.status,
        "actor": actor.name,
        "actor_user_id": actor.user_id,
        "source": _source(item),
        "submission_id": submission.id,
        "item_id": item.id,
        "human_task_id": human_task_id,
        "created_at": clock.now(),
    }
    item.record_id = record.id
    action = {
        ItemAction.TAMBAH: AuditAction.RECORD_CREATED,
        ItemAction.UBAH: AuditAction.RECORD_UPDATED,
        ItemAction.HAPUS: AuditAction.RECORD_REMOVED,
        ItemAction.PERIKSA: AuditAction.RECORD_REVERIFIED,
    }[item.aksi]
    audit.record(
        session,
        actor,
        action,
        "ppks_record",
        record.id,
        before={**before, "status": was} if before else None,
        after={**after, "status": record.status.value},
        reason=removal,
        instance_id=submission.instance_id,
        human_task_id=human_task_id,
    )
    return version


def move_register(session: Session, actor: Actor, from_desa: str, to_desa: str, reason: str) -> int:
    """Move the active records of an ended desa to the desa that carries on from it, each with a new
    version saying so (the desa was merged or recoded; the people did not move). Returns how many."""
    Scope.administering(actor).require_province()  # a decree's change, applied for the whole province
    ids = list(
        session.scalars(
            select(Record.id)
            .where(Record.kode_desa == from_desa, Record.status == RecordStatus.AKTIF)
            .order_by(Record.id)
        )
    )
    locked = _lock(session, ids)
    previous = _latest_versions(session, ids)
    now = clock.now()
    versions, entries = [], []
    for record in locked.values():
        record.kode_desa, record.versi, record.updated_at = to_desa, record.versi + 1, now
        versions.append(
            {
                "record_id": record.id,
                "versi": record.versi,
                "replaces_id": previous.get(record.id),
                "nilai": _values(record),
                "perubahan": {"kode_desa": [from_desa, to_desa], "dasar_wilayah": [None, reason]},
                "status": record.status,
                "actor": actor.name,
                "actor_user_id": actor.user_id,
                "source": Source.WILAYAH,
                "created_at": now,
            }
        )
        entries.append(
            {
                "action": AuditAction.RECORD_MOVED,
                "subject_type": "ppks_record",
                "subject_id": record.id,
                "before": {"kode_desa": from_desa},
                "after": {"kode_desa": to_desa},
                "reason": reason,
            }
        )
    if versions:
        session.flush()
        session.execute(insert(RecordVersion), versions)
        audit.record_many(session, actor, entries)
    return len(versions)


def by_identity(session: Session, kode_desa: str, unit_of: Callable[[str], Unit]) -> dict[tuple[str, str], int]:
    """(identity, category) -> the desa's active record: what a row or an entry of that person and
    category re-verifies (a person by NIK, a family by KK, an institution by its name)."""
    keys = {}
    for r in session.execute(
        select(Record.nik, Record.no_kk, Record.nama, Record.kategori, Record.id).where(
            Record.kode_desa == kode_desa, Record.status == RecordStatus.AKTIF
        )
    ):
        key = identity.key(unit_of(r.kategori), {"nik": r.nik, "no_kk": r.no_kk, "nama": r.nama})
        if key:
            keys[(key, r.kategori)] = r.id
    return keys
