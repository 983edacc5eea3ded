"""The register page: one page of the records the operator re-verifies, filtered and searched, with
how far the re-verification has come and who was taken out of it since the period opened."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, aliased

from engine.core import searching
from engine.core.actors import Actor
from engine.core.errors import Invalid, Problem
from engine.core.paging import page_of
from engine.quality.removed import removal_reason
from engine.verification import submission_view
from engine.verification.drafts import operator_submission
from engine.verification.register import Progress, progress
from engine.verification.status import EDITABLE
from models import ItemSource, Record, RecordVersion, Region, Submission, SubmissionItem, VervalStatus

PAGE_SIZE = 25
QUERY_LIMIT = 80
FILTERS = ("belum", "semua", *(s.value for s in VervalStatus))


@dataclass
class RegisterPage:
    """One page of the register the operator re-verifies, with how far it has come."""

    submission: Submission
    desa: str
    progress: Progress
    rows: list[submission_view.ItemRow]
    total: int  # records matching the filter
    page: int
    pages: int
    status_filter: str
    query: str
    editable: bool
    # names of the records taken out of this period's list because another period's approval removed
    # them from the register since it was copied (died, moved ...): the operator is told where they went
    taken_out: list[str]


TAKEN_OUT_SHOWN = 20


def _taken_out(session: Session, submission: Submission) -> list[str]:
    """Each person taken out, with why and by which period: "Maria Ingan (meninggal: Agustus 2026,
    periode 2026-Q2)"."""
    removal = aliased(Submission)
    rows = session.execute(
        select(SubmissionItem.data, RecordVersion.perubahan, removal.periode)
        .outerjoin(Record, Record.id == SubmissionItem.record_id)
        .outerjoin(RecordVersion, (RecordVersion.record_id == Record.id) & (RecordVersion.versi == Record.versi))
        .outerjoin(removal, removal.id == RecordVersion.submission_id)
        .where(
            SubmissionItem.submission_id == submission.id,
            SubmissionItem.source == ItemSource.REGISTER,
            SubmissionItem.dibuang.is_(True),
        )
        .order_by(SubmissionItem.id)
        .limit(TAKEN_OUT_SHOWN + 1)
    )
    taken = []
    for data, change, periode in rows:
        why = removal_reason(change)
        said = ", ".join(part for part in (why, f"periode {periode}" if periode else None) if part)
        taken.append(f"{data.get('nama') or ''} ({said})" if said else str(data.get("nama") or ""))
    return taken


def _filter(status_filter: str) -> list[ColumnElement[bool]]:
    if status_filter == "belum":
        return [SubmissionItem.verval.is_(None)]
    if status_filter == "semua":
        return []
    return [SubmissionItem.verval == VervalStatus(status_filter)]


def _search(submission: Submission, query: str) -> list[ColumnElement[bool]]:
    if not query:
        return []
    matching = select(Record.id).where(
        Record.kode_desa == submission.kode_desa,
        or_(
            searching.containing(Record.nama, query),
            searching.starting_with(Record.nik, query),
            searching.starting_with(Record.no_kk, query),
        ),
    )
    return [SubmissionItem.record_id.in_(matching)]


def register_page(
    session: Session, actor: Actor, submission_id: int, status_filter: str = "belum", query: str = "", page: int = 1
) -> RegisterPage:
    """The register records of the operator's submission: by default only those still without a status."""
    submission = operator_submission(session, actor, submission_id)
    if status_filter not in FILTERS:
        raise Invalid("Saringan tidak dikenal", [Problem(f"pilih salah satu: {', '.join(FILTERS)}", column="status")])
    query = query.strip()[:QUERY_LIMIT]
    where = [
        SubmissionItem.source == ItemSource.REGISTER,
        SubmissionItem.dibuang.is_(False),
        *_filter(status_filter),
        *_search(submission, query),
    ]
    total = submission_view.count_items(session, submission, where)
    page, pages, offset = page_of(total, page, PAGE_SIZE)
    return RegisterPage(
        submission=submission,
        desa=session.scalar(select(Region.nama).where(Region.kode == submission.kode_desa)) or submission.kode_desa,
        progress=progress(session, submission),
        rows=submission_view.items_of(session, actor, submission, where, (offset, PAGE_SIZE)),
        total=total,
        page=page,
        pages=pages,
        status_filter=status_filter,
        query=query,
        editable=submission.status in EDITABLE,
        taken_out=_taken_out(session, submission),
    )
