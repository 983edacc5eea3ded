"""Importing a desa's records from a spreadsheet (CSV or XLSX): every row valid, or nothing written.

Large files run as a background job whose progress the page shows; validation goes first, then
all rows are written in one transaction.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import audit, checks, clock
from engine.actors import Actor
from engine.errors import Invalid, Problem, SijoskuError
from engine.quality import records as quality
from engine.submissions import authorize_operator, ensure_editable, forget_check, get_submission
from engine.uow import Database
from models import ImportJob, ItemAction, Record, RecordStatus, Submission, SubmissionItem, User

log = logging.getLogger(__name__)
IMPORT_COLUMNS = ["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"]
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class ImportReport:
    submission_id: int
    rows: int = 0
    added: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"submission_id": self.submission_id, "rows": self.rows, "added": self.added,
                "updated": self.updated, "problems": [p.to_dict() for p in self.problems]}


def _header(names: list[Any], columns: list[str]) -> list[str]:
    header = [str(h or "").strip().lower() for h in names]
    missing = [c for c in columns if c not in header]
    if missing:
        raise Invalid("Kolom berkas tidak lengkap", [Problem(
            f"kolom wajib tidak ada: {', '.join(missing)}; urutan kolom: {','.join(columns)}", row=1)])
    return header


def read_csv(content: str, columns: list[str] = IMPORT_COLUMNS) -> list[dict[str, str]]:
    text = content.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # spreadsheets set to Indonesian use ;
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = _header(next(reader, []), columns)
    return [{k: (v or "").strip() for k, v in zip(header, row, strict=False) if k}
            for row in reader if any(cell.strip() for cell in row)]


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and name in ("nik", "no_kk"):
        # Spreadsheets keep 15 significant digits of a number: a 16-digit NIK typed as a number has
        # already lost its last digit, so it cannot be trusted whatever it looks like now.
        return f"angka:{value}"
    return str(value).strip()


def read_xlsx(content: bytes, columns: list[str] = IMPORT_COLUMNS) -> list[dict[str, str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Invalid("Berkas XLSX tidak dapat dibaca", [Problem(f"{type(exc).__name__}: {exc}")]) from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = _header(list(next(rows, [])), columns)
    result = [{k: _cell(k, v) for k, v in zip(header, row, strict=False) if k}
              for row in rows if any(v not in (None, "") for v in row)]
    workbook.close()
    return result


def read_table(filename: str, content: bytes, columns: list[str] = IMPORT_COLUMNS) -> list[dict[str, str]]:
    """Rows of a CSV or XLSX file whose first row names at least `columns`."""
    if len(content) > MAX_BYTES:
        raise Invalid(f"Berkas terlalu besar: paling besar {MAX_BYTES // (1024 * 1024)} MB")
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return read_xlsx(content, columns)
    if name.endswith(".csv"):
        try:
            return read_csv(content.decode("utf-8-sig"), columns)
        except UnicodeDecodeError as exc:
            raise Invalid("Berkas CSV harus bersandi UTF-8", [Problem(str(exc))]) from exc
    raise Invalid(f"Jenis berkas {filename!r} tidak didukung; unggah .xlsx atau .csv")


def validate_rows(session: Session, submission: Submission, rows: list[dict[str, str]],
                  progress: Callable[[int], None] | None = None) -> list[Problem]:
    """Errors of the rows, by row and column (header = row 1); warnings wait for the verifiers."""
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        for column in ("nik", "no_kk"):
            if row.get(column, "").startswith("angka:"):
                problems.append(Problem("nomor tersimpan sebagai angka dan kehilangan digit; format kolom "
                                        "sebagai Teks lalu ketik ulang", row=index + 2, column=column))
                row[column] = ""
    ctx = quality.Context.load(session, submission.periode)
    findings = quality.check_rows(session, rows, ctx, submission.kode_desa, submission.id, progress)
    for index, found in enumerate(findings):
        problems += [Problem(f.message, row=index + 2, column=f.field) for f in found
                     if f.severity == checks.SEVERITY_ERROR]
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def import_rows(session: Session, actor: Actor, submission_id: int, rows: list[dict[str, str]],
                checked: bool = False) -> ImportReport:
    """Write the rows as items of the submission (all of them, or none when any is wrong)."""
    submission = get_submission(session, submission_id)
    authorize_operator(actor, submission)
    ensure_editable(submission)
    forget_check(session, submission.id)
    report = ImportReport(submission.id, rows=len(rows))
    if not checked:
        report.problems = validate_rows(session, submission, rows)
    if report.problems:
        raise Invalid(f"Impor ditolak: {len(report.problems)} masalah pada {report.rows} baris; "
                      "tidak ada baris yang disimpan", report.problems)
    existing = {(i.nik, i.kategori): i for i in session.scalars(
        select(SubmissionItem).where(SubmissionItem.submission_id == submission.id))}
    records = {(r.nik, r.kategori): r.id for r in session.execute(select(Record.nik, Record.kategori, Record.id)
                                                                  .where(Record.kode_desa == submission.kode_desa,
                                                                         Record.status == RecordStatus.AKTIF))}
    now = clock.now()
    new_items = []
    for number, row in enumerate(rows, start=2):
        data = {k: row.get(k, "") for k in IMPORT_COLUMNS}
        key = (data["nik"], data["kategori"])
        item = existing.get(key)
        if item is not None:
            item.data, item.baris, item.masalah, item.updated_at = data, number, [], now
            report.updated += 1
            continue
        record_id = records.get(key)
        new_items.append({
            "submission_id": submission.id, "aksi": ItemAction.UBAH if record_id else ItemAction.TAMBAH,
            "record_id": record_id, "kategori": data["kategori"], "nik": data["nik"] or None, "data": data,
            "source": "import", "baris": number, "masalah": [], "updated_at": now})
    for start in range(0, len(new_items), 5000):  # a large file goes in as batched multi-row inserts
        session.execute(insert(SubmissionItem), new_items[start:start + 5000])
    report.added = len(new_items)
    audit.record(session, actor, "SUBMISSION_IMPORTED", "submission", submission.id,
                 after={"rows": report.rows, "added": report.added, "updated": report.updated},
                 instance_id=submission.instance_id)
    return report


def import_items(session: Session, actor: Actor, submission_id: int, content: str) -> ImportReport:
    """Import CSV text (the command line's path)."""
    return import_rows(session, actor, submission_id, read_csv(content))


def create_job(session: Session, actor: Actor, submission_id: int, filename: str, rows: int) -> ImportJob:
    submission = get_submission(session, submission_id)
    authorize_operator(actor, submission)
    ensure_editable(submission)
    job = ImportJob(submission_id=submission_id, user_id=actor.user_id, filename=filename[:200],
                    status="menunggu", rows_total=rows, rows_done=0, report={}, created_at=clock.now())
    session.add(job)
    session.flush()
    return job


def _update_job(db: Database, job_id: int, **values: Any) -> None:
    with db.transaction() as session:
        job = session.get(ImportJob, job_id)
        for name, value in values.items():
            setattr(job, name, value)


def run_job(db: Database, job_id: int, rows: list[dict[str, str]]) -> None:
    """Validate with progress, then write everything in one transaction; the job keeps the report."""
    try:
        _update_job(db, job_id, status="berjalan")
        with db.read() as session:
            job = session.get(ImportJob, job_id)
            actor = Actor.of(session.get(User, job.user_id)) if job.user_id else Actor.system("import")
            problems = validate_rows(session, get_submission(session, job.submission_id), rows,
                                     lambda done: _update_job(db, job_id, rows_done=done))
        if problems:
            report = ImportReport(job.submission_id, rows=len(rows), problems=problems)
            _update_job(db, job_id, status="gagal", rows_done=len(rows), report=report.to_dict(),
                        message=f"Impor ditolak: {len(problems)} masalah; tidak ada baris yang disimpan",
                        finished_at=clock.now())
            return
        with db.transaction() as session:
            report = import_rows(session, actor, job.submission_id, rows, checked=True)
        _update_job(db, job_id, status="selesai", rows_done=len(rows), report=report.to_dict(),
                    message=f"{report.added} baris baru, {report.updated} diperbarui", finished_at=clock.now())
    except SijoskuError as exc:
        _update_job(db, job_id, status="gagal", message=str(exc).split("\n")[0], finished_at=clock.now(),
                    report={"problems": [p.to_dict() for p in getattr(exc, "problems", [])]})
    except Exception as exc:  # recorded on the job, which the person is watching
        log.exception("impor %s gagal", job_id)
        _update_job(db, job_id, status="gagal", message=f"Galat tak terduga: {type(exc).__name__}",
                    finished_at=clock.now())


def get_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise Invalid(f"Impor {job_id} tidak ada")
    authorize_operator(actor, get_submission(session, job.submission_id))
    return job
