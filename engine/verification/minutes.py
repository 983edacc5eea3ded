"""The signed minutes (berita acara) of the village deliberation: attached by the operator, read by
the people who verify or audit the desa."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound, Problem
from engine.people.scope import Scope
from engine.verification.drafts import locked_submission
from engine.verification.status import EDITABLE
from models import CycleRhythm, Submission, SubmissionStatus, Tier

MINUTES_MAX_BYTES = 10 * 1024 * 1024


def attach_minutes(
    session: Session, actor: Actor, submission_id: int, filename: str, content: bytes, upload_dir: Path
) -> str:
    """Keep the signed minutes (berita acara) of the village deliberation: a PDF of at most 10 MB,
    attached while a draft, or after submitting until the kecamatan decides."""
    submission = locked_submission(session, actor, submission_id)  # not while the kecamatan decides
    if not attachable(submission):
        raise Conflict("Berita acara tidak dapat dilampirkan lagi: kecamatan sudah memutuskan pengajuan ini")
    # A PDF begins with its version and ends with its end-of-file marker; a file cut short (a weak
    # connection, a scan saved half-way) has the first and not the second.
    if not (filename or "").lower().endswith(".pdf") or not content.startswith(b"%PDF-"):
        raise Invalid(
            "Berita acara harus berkas PDF", [Problem("pindai atau simpan dokumen sebagai PDF", column="berkas")]
        )
    if b"%%EOF" not in content[-1024:]:
        raise Invalid(
            "Berkas PDF tidak lengkap",
            [Problem("terputus saat diunggah atau disimpan; unggah lagi berkas yang utuh", column="berkas")],
        )
    if len(content) > MINUTES_MAX_BYTES:
        raise Invalid(
            f"Berkas terlalu besar: paling besar {MINUTES_MAX_BYTES // (1024 * 1024)} MB",
            [Problem("kecilkan resolusi pindaian", column="berkas")],
        )
    digest = hashlib.sha256(content).hexdigest()
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / f"{digest}.pdf").write_bytes(content)
    before = submission.berita_acara
    submission.berita_acara = f"{digest}.pdf"
    audit.record(
        session,
        actor,
        AuditAction.MINUTES_ATTACHED,
        "submission",
        submission.id,
        before={"berkas": before},
        after={"berkas": submission.berita_acara, "nama_asli": filename[:200]},
        instance_id=submission.instance_id,
    )
    return submission.berita_acara


def attachable(submission: Submission) -> bool:
    return submission.status in EDITABLE or (
        submission.status == SubmissionStatus.DIAJUKAN and submission.tingkat == Tier.KECAMATAN
    )


_MINUTES_REQUIRED = select(CycleRhythm.berita_acara_wajib).limit(1)  # built once: asked on every step and task page


def required(session: Session) -> bool:
    """Whether a submission needs its minutes (a setting, on unless an administrator turned it off)."""
    setting = session.scalar(_MINUTES_REQUIRED)
    return True if setting is None else bool(setting)


def missing(session: Session, submission: Submission) -> Problem | None:
    """The refusal when the minutes are required and not attached."""
    if submission.berita_acara or not required(session):
        return None
    return Problem(
        "lampirkan berita acara musyawarah desa (PDF bertanda tangan) sebelum diajukan atau disetujui",
        column="berita_acara",
    )


def minutes_file(session: Session, actor: Actor, submission_id: int) -> tuple[str, str]:
    """The stored file name of a submission's minutes and the name to download it as (the desa and
    the period: a kabupaten verifier keeps dozens), for those whose work or audit covers the desa:
    its operator, the verifiers and validators above it, auditors (`Scope.reading_minutes`)."""
    submission = session.get(Submission, submission_id)  # a missing one answers as one out of reach
    if (
        submission is None
        or not submission.berita_acara
        or not Scope.reading_minutes(actor).contains(submission.kode_desa)
    ):
        raise NotFound("Berita acara tidak ada")
    return submission.berita_acara, f"berita-acara-{submission.kode_desa.replace('.', '')}-{submission.periode}.pdf"
