"""Importing a desa's records from a spreadsheet (CSV or XLSX): every row valid, or nothing written.

Large files run as a background job whose progress the page shows; validation goes first, then
all rows are written in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from engine.core import audit, clock, jobs, rows, tables
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound, Problem, SijoskuError, phrase
from engine.core.rows import insert_many
from engine.core.tables import TABLE_LIMITS
from engine.core.uow import Database
from engine.quality import duplicates, identity, record_rules, row_rules
from engine.verification import instruments, item_checks, register
from engine.verification.drafts import editable_submission, operator_submission
from engine.verification.items import ITEM_COLUMNS
from engine.verification.records import by_identity
from models import (
    ImportJob,
    ImportStatus,
    ItemAction,
    ItemSource,
    Severity,
    Submission,
    SubmissionItem,
    User,
)

log = logging.getLogger(__name__)
REQUIRED_COLUMNS = ["nama", "kategori"]
IMPORT_JOB = "impor"  # the scheduled job that runs waiting uploads (`run_waiting_jobs`)


@dataclass
class ImportReport:
    submission_id: int
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)  # errors: nothing was written
    warnings: list[Problem] = field(default_factory=list)  # for the verifiers to weigh

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            **problem_report(self.problems),
            "warnings": [p.to_dict() for p in self.warnings[:WARNINGS_SHOWN]],
            "warnings_total": len(self.warnings),
        }

    def summary(self) -> str:
        # whole sentences, so that a page in another language finds each one (web/engine_messages.py)
        if self.warnings and self.unchanged:
            return (
                f"{self.added} baris baru, {self.updated} diperbarui, {self.unchanged} tidak berubah; "
                f"{len(self.warnings)} peringatan akan diperiksa verifikator"
            )
        if self.warnings:
            return (
                f"{self.added} baris baru, {self.updated} diperbarui; "
                f"{len(self.warnings)} peringatan akan diperiksa verifikator"
            )
        if self.unchanged:
            return f"{self.added} baris baru, {self.updated} diperbarui, {self.unchanged} tidak berubah"
        return f"{self.added} baris baru, {self.updated} diperbarui"


WARNINGS_SHOWN = 500


def _removal_replaced(row: int) -> Problem:
    return Problem(
        "catatan register ini sudah diberi status keluar (meninggal, pindah, tidak ditemukan ...); baris ini "
        "menggantinya menjadi layak. Bila orangnya memang keluar, beri lagi statusnya di halaman register",
        row=row,
        column="status",
    )


# A job keeps the first problems (downloadable whole, to fix the file in one go) and a count of all per
# column; its page shows the first `PROBLEMS_SHOWN`.
PROBLEMS_KEPT = 10_000
PROBLEMS_SHOWN = 200


def problem_report(problems: list[Problem]) -> dict[str, Any]:
    """The first `PROBLEMS_KEPT` problems and how many there are per column: bounded whatever the file."""
    per_column = Counter(p.column or "-" for p in problems)
    return {
        "problems": [p.to_dict() for p in problems[:PROBLEMS_KEPT]],
        "problems_total": len(problems),
        "problems_per_column": dict(per_column.most_common(TABLE_LIMITS.columns)),
    }


@dataclass
class RowCheck:
    errors: list[Problem]
    warnings: list[Problem]
    # what the checks found on each row, kept on its item so the operator sees it while a draft
    findings: list[list[dict[str, Any]]] = field(default_factory=list)


# The sex as a village office writes it out (a KTP says LAKI-LAKI or PEREMPUAN), read as its code.
SEX_WORDS = {"LAKI-LAKI": "L", "LAKI LAKI": "L", "PRIA": "L", "LK": "L", "PEREMPUAN": "P", "WANITA": "P", "PR": "P"}


def item_values(row: dict[str, str], ctx: record_rules.Context) -> dict[str, Any]:
    """A file row as an item's values: the item columns, and the category's attributes from the
    columns named after them (e.g. jumlah_anggota, nama_ketua for a community)."""
    values: dict[str, Any] = {k: row.get(k, "") for k in ITEM_COLUMNS}
    values["tanggal_lahir"] = row_rules.normalise_date(values["tanggal_lahir"])
    for coded in ("kategori", "jenis_kelamin"):  # codes as typed: `lut`, `p`
        values[coded] = str(values[coded] or "").strip().upper()
    values["jenis_kelamin"] = SEX_WORDS.get(values["jenis_kelamin"], values["jenis_kelamin"])
    kind = ctx.kinds.get(values["kategori"])
    values["atribut"] = {name: row.get(name, "") for name in (kind.attributes if kind else ())}
    return values


def check_rows(
    session: Session,
    submission: Submission,
    rows: list[dict[str, str]],
    progress: Callable[[int], None] | None = None,
    first_row: int = 2,
) -> RowCheck:
    """Errors and warnings of the rows, by row and column (a file's header is row 1, so its first
    row is 2; rows sent through the API count from 1); warnings wait for the verifiers."""
    errors: list[Problem] = []
    for index, row in enumerate(rows):
        if instruments.is_example(row):
            errors.append(
                Problem(
                    "baris contoh templat masih ada; timpa dengan data sebenarnya atau hapus barisnya",
                    row=index + first_row,
                    column="nama",
                )
            )
        for column in ("nik", "no_kk"):
            if row.get(column, "").startswith("angka:"):
                errors.append(
                    Problem(
                        "nomor tersimpan sebagai angka dan kehilangan digit; format kolom "
                        "sebagai Teks lalu ketik ulang",
                        row=index + first_row,
                        column=column,
                    )
                )
                row[column] = ""
    ctx = record_rules.Context.load(session, submission.periode)
    values = [item_values(row, ctx) for row in rows]
    findings = record_rules.check_rows(session, values, ctx, submission.kode_desa, submission.id, progress)
    warnings = []
    told = {(p.row, p.column) for p in errors}  # a number stored as a figure is said once, not also "required"
    for index, found in enumerate(findings):
        for f in found:
            problem = Problem(f.message, row=index + first_row, column=f.field)
            if (problem.row, problem.column) in told:
                continue
            if f.severity == Severity.ERROR:
                errors.append(problem)
            elif f.severity == Severity.WARNING and f.rule not in duplicates.ELSEWHERE_RULES:  # kept for verifiers
                warnings.append(problem)
    kept = [[f.to_dict() for f in found] for found in findings]
    return RowCheck(sorted(errors, key=_position), sorted(warnings, key=_position), kept)


def _position(p: Problem) -> tuple[int, str]:
    return p.row or 0, p.column or ""


def import_rows(
    session: Session, actor: Actor, submission_id: int, rows: list[dict[str, str]], checked: RowCheck | None = None
) -> ImportReport:
    """Write the rows as items of the submission (all of them, or none when any is wrong)."""
    return write_rows(session, actor, editable_submission(session, actor, submission_id), rows, checked)


def _trace_update(
    session: Session, actor: Actor, submission: Submission, item: SubmissionItem, data: dict[str, Any]
) -> None:
    """An item the file changes, or brings back from the set-aside, is on the trail as the form's
    change is: what a verifier judged stays readable after the file corrects it."""
    if item.dibuang:
        audit.record(
            session, actor, AuditAction.ITEM_RESTORED, "submission_item", item.id, instance_id=submission.instance_id
        )
    if item.data != data:
        audit.record(
            session,
            actor,
            AuditAction.ITEM_UPDATED,
            "submission_item",
            item.id,
            before=item.data,
            after=data,
            instance_id=submission.instance_id,
        )


def write_rows(
    session: Session,
    actor: Actor,
    submission: Submission,
    rows: list[dict[str, str]],
    checked: RowCheck | None = None,
    source: ItemSource = ItemSource.IMPORT,
    first_row: int = 2,
) -> ImportReport:
    """`import_rows` for a caller that has found the editable submission within its own scope;
    `checked` is the check already made of these rows (a background import checks first)."""
    item_checks.forget(session, submission.id)
    report = ImportReport(submission.id, rows=len(rows))
    check = checked or check_rows(session, submission, rows, first_row=first_row)
    report.problems, report.warnings = check.errors, check.warnings
    if report.problems:
        raise Invalid(
            f"Impor ditolak: {len(report.problems)} masalah pada {report.rows} baris; tidak ada baris yang disimpan",
            report.problems,
        )
    ctx = record_rules.Context.load(session, submission.periode)
    existing = {
        (identity.key(ctx.unit_of(i.kategori), i.data), i.kategori): i
        for i in session.scalars(
            select(SubmissionItem).where(
                SubmissionItem.submission_id == submission.id,
                # a copy of a record an approval took off the register is not the person sent again: as on
                # the form, they come back as new data
                ~(SubmissionItem.dibuang & (SubmissionItem.source == ItemSource.REGISTER)),
            )
        )
    }
    # a record another entry carries already (its copy moved to another category or NIK) is not
    # what a row of its old identity re-verifies: that row is a registration of its own
    carried = {i.record_id for i in existing.values() if i.record_id is not None and not i.dibuang}
    records = {k: r for k, r in by_identity(session, submission.kode_desa, ctx.unit_of).items() if r not in carried}
    now = clock.now()
    new_items = []
    for index, row in enumerate(rows):
        number = index + first_row
        masalah = check.findings[index] if index < len(check.findings) else []
        data = item_values(row, ctx)
        key = (identity.key(ctx.unit_of(data["kategori"]), data), data["kategori"])
        item = existing.get(key)
        if item is not None:
            _trace_update(session, actor, submission, item, data)
            was = (item.data, item.dibuang, item.aksi, item.verval)
            item.data, item.baris, item.masalah = data, number, masalah
            item.nik, item.no_kk, item.dibuang = data["nik"] or None, data["no_kk"] or None, False
            if register.found_with_changes(session, actor, submission, item, changed=data != was[0]):
                report.warnings.append(_removal_replaced(number))
            if (item.data, item.dibuang, item.aksi, item.verval) != was:
                item.updated_at = now
                report.updated += 1
            else:  # a row sent again as it was is no change, and is said to be none
                report.unchanged += 1
            continue
        record_id = records.get(key)
        new_items.append(
            {
                "submission_id": submission.id,
                "aksi": ItemAction.UBAH if record_id else ItemAction.TAMBAH,
                "record_id": record_id,
                "kategori": data["kategori"],
                "nik": data["nik"] or None,
                "no_kk": data["no_kk"] or None,
                "data": data,
                "source": source.value,
                "baris": number,
                "masalah": masalah,
                "updated_at": now,
            }
        )
    insert_many(session, SubmissionItem.__table__, new_items)  # type: ignore[arg-type]
    report.added = len(new_items)
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_IMPORTED,
        "submission",
        submission.id,
        after={"rows": report.rows, "added": report.added, "updated": report.updated, "unchanged": report.unchanged},
        instance_id=submission.instance_id,
    )
    return report


def import_items(session: Session, actor: Actor, submission_id: int, content: str) -> ImportReport:
    """Import CSV text (the command line's path)."""
    return import_rows(session, actor, submission_id, tables.read_csv(content, REQUIRED_COLUMNS))


def read_file(filename: str, content: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded CSV or XLSX file: a name and a category at least; the other columns
    are those of the category's unit (a template per category lists them)."""
    return tables.read_table(filename, content, REQUIRED_COLUMNS)


def create_job(
    session: Session, actor: Actor, submission_id: int, filename: str, rows: list[dict[str, str]]
) -> ImportJob:
    """Queue an uploaded file's rows; the scheduled import job (`run_waiting_jobs`) runs them."""
    editable_submission(session, actor, submission_id)
    job = ImportJob(
        submission_id=submission_id,
        user_id=actor.user_id,
        filename=filename[:200],
        status=ImportStatus.MENUNGGU,
        rows_total=len(rows),
        rows_done=0,
        report={},
        created_at=clock.now(),
        pending_rows=rows,
    )
    session.add(job)
    session.flush()
    return job


def _update_job(db: Database, job_id: int, **values: Any) -> None:
    with db.transaction() as session:
        job = session.get(ImportJob, job_id)
        for name, value in values.items():
            setattr(job, name, value)


def run_waiting_jobs(db: Database, now: datetime, poll: float | None = None) -> str:
    """The scheduled import job: run waiting uploads one by one, oldest first, and keep looking for
    new ones for `poll` seconds (the setting `import_poll`), so that an upload starts within a second
    or two. It runs under the scheduler's lease, on whichever node holds it; a node that dies
    mid-import leaves its job to `stale_imports.fail_stale_jobs`."""
    started = time.monotonic()
    deadline = started + (db.settings.import_poll if poll is None else poll)
    done = 0
    while True:
        # a run takes new uploads for half its lease at most: it ends, and a new run renews the lease,
        # before the sweep could take this process for dead while uploads keep arriving
        spent = time.monotonic() - started > jobs.LEASE.total_seconds() / 2
        job_id = None if jobs.STOPPING.is_set() or spent else _take_waiting(db)
        if job_id is not None:
            run_job(db, job_id)
            done += 1
            continue
        if time.monotonic() >= deadline or jobs.STOPPING.wait(POLL_EVERY):  # a stop ends the wait at once
            return phrase(f"{done} impor dijalankan")


POLL_EVERY = 1.0  # seconds between two looks for a waiting upload


def _take_waiting(db: Database) -> int | None:
    """The oldest waiting job, marked running by this node (a guarded update: one node takes it)."""
    with db.transaction() as session:
        waiting = session.scalars(
            select(ImportJob.id).where(ImportJob.status == ImportStatus.MENUNGGU).order_by(ImportJob.id).limit(5)
        ).all()
        for job_id in waiting:
            taken = session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == ImportStatus.MENUNGGU)
                .values(status=ImportStatus.BERJALAN, runner=jobs.HOLDER)
            )
            if rows.affected(taken) == 1:
                return job_id
    return None


def run_job(db: Database, job_id: int) -> None:
    """Validate with progress, then write everything in one transaction; the job keeps the report and
    drops the uploaded rows."""
    try:
        with db.read() as session:
            job = session.get(ImportJob, job_id)
            submission = session.get(Submission, job.submission_id) if job else None
            if job is None or submission is None:
                raise NotFound(f"Impor {job_id} tidak ada")
            rows = list(job.pending_rows or [])
            user = session.get(User, job.user_id) if job.user_id else None
            actor = Actor.of(user) if user is not None else Actor.system("import")
            check = check_rows(
                session,
                submission,
                rows,
                lambda done: _update_job(db, job_id, rows_done=done),
            )
        if check.errors:
            problems = check.errors
            report = ImportReport(job.submission_id, rows=len(rows), problems=problems, warnings=check.warnings)
            _update_job(
                db,
                job_id,
                status=ImportStatus.GAGAL,
                rows_done=len(rows),
                report=report.to_dict(),
                message=f"Impor ditolak: {len(problems)} masalah; tidak ada baris yang disimpan",
                finished_at=clock.now(),
                pending_rows=None,
            )
            return
        _update_job(db, job_id, rows_done=len(rows))  # every row checked: the page says it is saving
        with db.transaction() as session:
            locked = select(ImportJob).where(ImportJob.id == job_id).options(defer(ImportJob.pending_rows))
            done = session.scalar(locked.with_for_update())  # the uploaded rows are not read again
            if done is None or done.status != ImportStatus.BERJALAN:
                return  # failed meanwhile, its person told to upload again: nothing is written
            report = import_rows(session, actor, job.submission_id, rows, checked=check)
            done.status, done.rows_done, done.report = ImportStatus.SELESAI, len(rows), report.to_dict()
            done.message, done.finished_at, done.pending_rows = report.summary(), clock.now(), None
    except SijoskuError as exc:
        _update_job(
            db,
            job_id,
            status=ImportStatus.GAGAL,
            message=str(exc).split("\n")[0],
            finished_at=clock.now(),
            report=problem_report(list(getattr(exc, "problems", []))),
            pending_rows=None,
        )
    except Exception as exc:  # recorded on the job, which the person is watching
        log.exception("impor %s gagal", job_id)
        _update_job(
            db,
            job_id,
            status=ImportStatus.GAGAL,
            message=f"Galat tak terduga: {type(exc).__name__}",
            finished_at=clock.now(),
            pending_rows=None,
        )


def problems_csv(session: Session, actor: Actor, job_id: int) -> tuple[str, str]:
    """A refused file's problems, row by row (as many as the job kept), for fixing the file in one go:
    the CSV's text and its name."""
    job = get_job(session, actor, job_id)
    rows_out = [["baris", "kolom", "masalah"]]
    for p in (job.report or {}).get("problems", []):
        rows_out.append([str(p.get("row", "")), p.get("column", ""), p.get("message", "")])
    return tables.csv_text(rows_out), f"masalah-impor-{job.id}.csv"


def get_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"Impor {job_id} tidak ada")
    try:
        operator_submission(session, actor, job.submission_id)
    except (NotFound, Forbidden) as exc:  # another desa's job: the same answer as a missing one
        raise NotFound(f"Impor {job_id} tidak ada") from exc
    return job
