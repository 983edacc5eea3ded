"""A register record marked "ganda" (a duplicate) leaves its person on the register only if another
copy stays: another active record of the same NIK (a family's KK) and category that nobody is
removing, or an entry of them in another submission. Two desa each marking the other's copy "ganda",
or a desa marking the only copy, would take the person off every register with nobody told; such a
mark is a warning the verifiers acknowledge (`ganda_tanpa_salinan`); like every check that looks at
other desa, it is never told to the operator (`duplicates.ELSEWHERE_RULES`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from engine.quality.findings import Finding
from models import (
    ItemAction,
    Record,
    RecordStatus,
    Severity,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    VervalStatus,
)

RULE = "ganda_tanpa_salinan"
# submissions whose items are still to be applied (an approved one's removals are already records')
IN_WORK = (SubmissionStatus.DRAF, SubmissionStatus.DIAJUKAN, SubmissionStatus.DIKEMBALIKAN)
_ITEM_IN_WORK = (Submission.id == SubmissionItem.submission_id, Submission.status.in_(IN_WORK))


def marked_duplicate(item: SubmissionItem) -> bool:
    return item.aksi == ItemAction.HAPUS and item.verval == VervalStatus.GANDA and not item.dibuang


def ganda_findings(session: Session, item: SubmissionItem) -> list[Finding]:
    """A warning when no other copy of the person (or family) marked "ganda" stays on a register."""
    if not marked_duplicate(item) or not (item.nik or item.no_kk) or _another_copy_stays(session, item):
        return []
    if item.nik:
        return [
            Finding(
                "verval",
                "ditandai ganda, tetapi tidak ada catatan atau isian lain dengan NIK ini di kategori yang sama yang "
                "tetap terdaftar: bila orang ini hanya tercatat di sini, kembalikan agar desa memberi status lain",
                Severity.WARNING,
                RULE,
            )
        ]
    return [  # a family is known by its card (KK), not a NIK
        Finding(
            "verval",
            "ditandai ganda, tetapi tidak ada catatan atau isian lain dengan nomor KK ini di kategori yang sama "
            "yang tetap terdaftar: bila keluarga ini hanya tercatat di sini, kembalikan agar desa memberi status lain",
            Severity.WARNING,
            RULE,
        )
    ]


def removal_in_work() -> ColumnElement[bool]:
    """A record some submission in work takes off its register (moved, died, ganda ...)."""
    return exists().where(
        SubmissionItem.record_id == Record.id,
        SubmissionItem.aksi == ItemAction.HAPUS,
        SubmissionItem.dibuang.is_(False),
        *_ITEM_IN_WORK,
    )


def _known_by(item: SubmissionItem) -> tuple[str | None, Any, Any]:
    """A person is known by their NIK; a family, which has no NIK of its own, by its card (KK)."""
    if item.nik:
        return item.nik, SubmissionItem.nik, Record.nik
    return item.no_kk, SubmissionItem.no_kk, Record.no_kk


def _another_copy_stays(session: Session, item: SubmissionItem) -> bool:
    key, item_key, record_key = _known_by(item)
    record = select(Record.id).where(
        record_key == key,
        Record.kategori == item.kategori,
        Record.status == RecordStatus.AKTIF,
        Record.id != (item.record_id or 0),
        ~removal_in_work(),
    )
    entry = select(SubmissionItem.id).where(
        item_key == key,
        SubmissionItem.kategori == item.kategori,
        SubmissionItem.aksi.in_((ItemAction.TAMBAH, ItemAction.UBAH, ItemAction.PERIKSA)),
        SubmissionItem.dibuang.is_(False),
        SubmissionItem.id != item.id,
        and_(SubmissionItem.record_id.is_not(None), SubmissionItem.record_id != (item.record_id or 0))
        | SubmissionItem.record_id.is_(None),
        *_ITEM_IN_WORK,
    )
    return bool(session.scalar(select(exists(record) | exists(entry))))
