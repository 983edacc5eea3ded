"""The village operator's use cases beyond import: the period's submissions, one item at a time,
removal of a record, the signed minutes of the village deliberation, and what came back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import audit, checks, clock, imports, review
from engine.actors import Actor
from engine.errors import Invalid, NotFound, Problem
from engine.quality import records as quality
from engine.submissions import authorize_operator, ensure_editable, forget_check, get_submission
from models import (
    Category,
    ImportJob,
    ItemAction,
    Record,
    RecordStatus,
    Region,
    Role,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    contains,
)

MINUTES_MAX_BYTES = 10 * 1024 * 1024
EDITABLE = (SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN)


def operator_desa(actor: Actor) -> list[str]:
    return [a.region_kode for a in (actor.user.roles if actor.user else []) if a.role == Role.OPERATOR]


def my_submissions(session: Session, actor: Actor) -> list[Submission]:
    desa = operator_desa(actor)
    if not desa:
        return []
    return list(session.scalars(select(Submission).where(Submission.kode_desa.in_(desa))
                                .order_by(Submission.periode.desc(), Submission.kode_desa)))


def operator_submission(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The submission when the actor is its desa's operator; otherwise it does not exist for them."""
    submission = session.get(Submission, submission_id)
    if submission is None or not any(contains(code, submission.kode_desa) for code in operator_desa(actor)):
        raise NotFound(f"Pengajuan {submission_id} tidak ada")
    return submission


@dataclass
class SubmissionPage:
    submission: Submission
    desa: str
    items: list[review.ItemRow]
    decisions: list[dict[str, Any]]
    returns: list[dict[str, Any]]  # each return with its tier and reason, newest first
    editable: bool
    jobs: list[ImportJob]


def submission_page(session: Session, actor: Actor, submission_id: int) -> SubmissionPage:
    submission = operator_submission(session, actor, submission_id)
    decisions = review.decisions(session, submission.instance_id) if submission.instance_id else []
    return SubmissionPage(
        submission=submission,
        desa=session.scalar(select(Region.nama).where(Region.kode == submission.kode_desa)) or "",
        items=review.items_of(session, actor, submission), decisions=decisions,
        returns=[d for d in reversed(decisions) if d["keputusan"] == "kembalikan"],
        editable=submission.status in EDITABLE,
        jobs=list(session.scalars(select(ImportJob).where(ImportJob.submission_id == submission.id)
                                  .order_by(ImportJob.id.desc()).limit(5))))


def category(session: Session, kode: str) -> Category:
    found = session.get(Category, kode)
    if found is None:
        raise NotFound(f"Kategori {kode!r} tidak dikenal")
    return found


def categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.jenis.desc(), Category.nama)))


def save_item(session: Session, actor: Actor, submission_id: int, values: dict[str, Any],
              item_id: int | None = None) -> SubmissionItem:
    """Add or correct one person's item from the form; faults are reported per field."""
    submission = operator_submission(session, actor, submission_id)
    ensure_editable(submission)
    kind = category(session, values.get("kategori") or "")
    data = {k: str(values.get(k) or "").strip() for k in imports.IMPORT_COLUMNS}
    attributes = {name: str(values.get(f"atribut_{name}") or "").strip() for name in kind.atribut_wajib}
    ctx = quality.Context.load(session, submission.periode)
    found = quality.check_rows(session, [{**data, "atribut": attributes}], ctx, submission.kode_desa, submission.id)
    problems = [Problem(f.message, column=f.field) for f in found[0] if f.severity == checks.SEVERITY_ERROR]
    clash = session.scalar(select(SubmissionItem.id).where(
        SubmissionItem.submission_id == submission.id, SubmissionItem.nik == data["nik"],
        SubmissionItem.kategori == kind.kode, SubmissionItem.id != (item_id or 0)))
    if data["nik"] and clash:
        problems.append(Problem(f"NIK ini sudah ada di pengajuan untuk kategori yang sama (item {clash})",
                                column="nik"))
    if problems:
        raise Invalid("Data belum dapat disimpan", problems)
    data["atribut"] = attributes
    forget_check(session, submission.id)
    if item_id:
        item = _item(session, submission, item_id)
        before = dict(item.data)
        item.data, item.nik, item.kategori = data, data["nik"], kind.kode
        item.masalah, item.updated_at = [], clock.now()
        action = "ITEM_UPDATED"
    else:
        record_id = session.scalar(select(Record.id).where(
            Record.kode_desa == submission.kode_desa, Record.nik == data["nik"], Record.kategori == kind.kode,
            Record.status == RecordStatus.AKTIF))
        item = SubmissionItem(submission_id=submission.id, aksi=ItemAction.UBAH if record_id else ItemAction.TAMBAH,
                              record_id=record_id, kategori=kind.kode, nik=data["nik"], data=data, source="form",
                              masalah=[], updated_at=clock.now())
        session.add(item)
        session.flush()
        before, action = None, "ITEM_ADDED"
    audit.record(session, actor, action, "submission_item", item.id, before=before, after=data,
                 instance_id=submission.instance_id)
    return item


def _item(session: Session, submission: Submission, item_id: int) -> SubmissionItem:
    item = session.get(SubmissionItem, item_id)
    if item is None or item.submission_id != submission.id:
        raise NotFound(f"Item {item_id} tidak ada di pengajuan {submission.id}")
    return item


def delete_item(session: Session, actor: Actor, submission_id: int, item_id: int) -> None:
    submission = operator_submission(session, actor, submission_id)
    ensure_editable(submission)
    item = _item(session, submission, item_id)
    forget_check(session, submission.id)
    audit.record(session, actor, "ITEM_DELETED", "submission_item", item.id, before=item.data,
                 instance_id=submission.instance_id)
    session.delete(item)


def propose_removal(session: Session, actor: Actor, submission_id: int, record_id: int, reason: str) -> SubmissionItem:
    """A person no longer in need (died, moved away, recovered): removed once the tiers agree."""
    submission = operator_submission(session, actor, submission_id)
    ensure_editable(submission)
    record = session.get(Record, record_id)
    if record is None or record.kode_desa != submission.kode_desa or record.status != RecordStatus.AKTIF:
        raise NotFound(f"Catatan {record_id} tidak ada di desa ini")
    if not (reason or "").strip():
        raise Invalid("Alasan penghapusan wajib diisi", [Problem("mis. meninggal, pindah, tidak lagi memenuhi "
                                                                  "kriteria", column="alasan")])
    item = SubmissionItem(submission_id=submission.id, aksi=ItemAction.HAPUS, record_id=record.id,
                          kategori=record.kategori, nik=record.nik,
                          data={"nama": record.nama, "nik": record.nik or "", "kategori": record.kategori,
                                "alasan_hapus": reason.strip()}, source="form", masalah=[], updated_at=clock.now())
    session.add(item)
    session.flush()
    forget_check(session, submission.id)
    audit.record(session, actor, "ITEM_REMOVAL_PROPOSED", "submission_item", item.id, reason=reason,
                 after={"record_id": record.id}, instance_id=submission.instance_id)
    return item


def desa_records(session: Session, actor: Actor, submission_id: int, query: str = "", limit: int = 50) -> list[Record]:
    submission = operator_submission(session, actor, submission_id)
    q = select(Record).where(Record.kode_desa == submission.kode_desa, Record.status == RecordStatus.AKTIF)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        q = q.where(or_(func.lower(Record.nama).like(like), Record.nik.like(f"{query.strip()}%")))
    return list(session.scalars(q.order_by(Record.nama).limit(limit)))


def attach_minutes(session: Session, actor: Actor, submission_id: int, filename: str, content: bytes,
                   upload_dir: Path) -> str:
    """Keep the signed minutes (berita acara) of the village deliberation: a PDF of at most 10 MB."""
    submission = get_submission(session, submission_id)
    authorize_operator(actor, submission)
    ensure_editable(submission)
    if not (filename or "").lower().endswith(".pdf") or not content.startswith(b"%PDF-"):
        raise Invalid("Berita acara harus berkas PDF", [Problem("pindai atau simpan dokumen sebagai PDF",
                                                                column="berkas")])
    if len(content) > MINUTES_MAX_BYTES:
        raise Invalid(f"Berkas terlalu besar: paling besar {MINUTES_MAX_BYTES // (1024 * 1024)} MB",
                      [Problem("kecilkan resolusi pindaian", column="berkas")])
    digest = hashlib.sha256(content).hexdigest()
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / f"{digest}.pdf").write_bytes(content)
    before = submission.berita_acara
    submission.berita_acara = f"{digest}.pdf"
    audit.record(session, actor, "MINUTES_ATTACHED", "submission", submission.id, before={"berkas": before},
                 after={"berkas": submission.berita_acara, "nama_asli": filename[:200]},
                 instance_id=submission.instance_id)
    return submission.berita_acara
