"""People the register removed, entered again as new: a record ended is not a clean slate.

A person the desa recorded dead, moved away, not found or no longer eligible may be entered again
as a new entry: in a later period's draft (its copy of the record set aside when the removal was
approved), or by a file keyed from an old list. Entered again, the person is counted again, and
nothing but a check says that the register let them go. So a new entry whose NIK is that of a
removed record is a warning:
- in the same desa, for the operator and the verifiers, with the period and the reason of the
  removal (the person may have come back: the operator writes why, the verifier acknowledges it);
  but not an entry in another category after the record was ended as no longer eligible, which is
  how a person moves on to the next category (an ADK child turned 18, entered as PD);
- in another desa of the province, only where the person was recorded dead (a move is how people
  arrive): a question for the verifiers, the place in the detail, the operator never told
  (`duplicates.ELSEWHERE_RULES`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from engine.core.rows import among, chunks
from engine.quality.duplicates import ARRAY_BATCH, BATCH, Place, nik_of
from engine.quality.findings import Finding
from models import Record, RecordStatus, RecordVersion, Severity, Submission, SubmissionItem, VervalStatus


def _new_entries(rows: list[dict[str, Any]], records: list[int | None] | None) -> dict[str, list[int]]:
    """Rows by NIK that are not known to re-verify a record (a file's rows are all candidates)."""
    wanted: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if nik_of(row) and not (records and records[index] is not None):
            wanted[nik_of(row)].append(index)
    return wanted


def _removals(session: Session, niks: list[str], province: str) -> list[Any]:
    """The province's removed records of these NIKs, each with its removal: period, verval status
    and the reason the operator gave."""
    return list(
        session.execute(
            select(
                Record.nik,
                Record.kode_desa,
                Record.kategori,
                RecordVersion.perubahan,
                Submission.periode,
                SubmissionItem.verval,
            )
            .join(RecordVersion, and_(RecordVersion.record_id == Record.id, RecordVersion.versi == Record.versi))
            .outerjoin(Submission, Submission.id == RecordVersion.submission_id)
            .outerjoin(SubmissionItem, SubmissionItem.id == RecordVersion.item_id)
            .where(
                among(session, Record.nik, niks),
                Record.status == RecordStatus.DIHAPUS,
                Record.kode_desa.startswith(f"{province}."),
            )
        )
    )


def _active_here(session: Session, niks: list[str], kode_desa: str) -> set[tuple[str, str]]:
    """(NIK, category) of the desa's active records: a file's row of one re-verifies it."""
    active = session.execute(
        select(Record.nik, Record.kategori).where(
            among(session, Record.nik, niks), Record.kode_desa == kode_desa, Record.status == RecordStatus.AKTIF
        )
    )
    return {(nik or "", kategori) for nik, kategori in active}


def removal_reason(change: dict[str, Any] | None) -> str | None:
    """Why a record was removed, as its removing version's change keeps it ("meninggal: Agustus 2026")."""
    return ((change or {}).get("alasan_hapus") or [None, None])[1]


def _removed_here(removal: Any) -> Finding:
    why = removal_reason(removal.perubahan) or "dihapus"
    when = removal.periode or "sebelumnya"
    return Finding(
        "nik",
        f"NIK ini pernah dihapus dari register desa ini (periode {when}: {why}); bila orangnya memang "
        "kembali atau kembali berhak, tulis sebabnya di keterangan",
        Severity.WARNING,
        "pernah_dihapus",
        removal.kategori,
    )


def removed_findings(
    session: Session,
    rows: list[dict[str, Any]],
    kode_desa: str,
    findings: list[list[Finding]],
    records: list[int | None] | None = None,
) -> None:
    """A warning on each new entry of a person the register removed (see the module)."""
    wanted = _new_entries(rows, records)
    size = ARRAY_BATCH if session.get_bind().dialect.name == "postgresql" else BATCH
    province = kode_desa.split(".", 1)[0]
    for chunk in chunks(sorted(wanted), size):
        removals = _removals(session, chunk, province)
        if not removals:
            continue
        active = _active_here(session, chunk, kode_desa) if records is None else set()
        for removal in removals:
            here = removal.kode_desa == kode_desa
            if not here and removal.verval != VervalStatus.MENINGGAL:
                continue
            for index in wanted[removal.nik]:
                kategori = rows[index].get("kategori")
                if (removal.nik, kategori) in active:
                    continue  # a file's row of an active record re-verifies it
                if removal.verval == VervalStatus.TIDAK_LAYAK and removal.kategori != kategori:
                    continue  # the next category after the last one's end (a child with a disability now 18)
                said = {f.rule for f in findings[index]}
                if here and "pernah_dihapus" not in said:
                    findings[index].append(_removed_here(removal))
                elif not here and "tercatat_meninggal_tempat_lain" not in said:
                    findings[index].append(
                        Finding(
                            "nik",
                            "Pemilik NIK ini tercatat meninggal di desa lain; periksa apakah orang yang sama",
                            Severity.WARNING,
                            "tercatat_meninggal_tempat_lain",
                            detail=Place("catatan", removal.kode_desa, removal.kategori).detail(),
                        )
                    )
