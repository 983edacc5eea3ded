"""The record checks run on a whole submission: before it is submitted, and in the process's
automatic-check step after it. What they find is stored as flags on the items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import transaction_cache
from engine.core.errors import Problem
from engine.quality import flags, ganda, record_rules
from engine.quality.findings import Finding
from models import ItemAction, ItemSource, Severity, Submission, SubmissionItem

_CACHE = "checked_submissions"


def forget(session: Session, submission_id: int) -> None:
    """The submission's items are about to change: a check made earlier in this transaction is stale."""
    (transaction_cache.get(session, _CACHE) or {}).pop(submission_id, None)


def _unchecked(item: SubmissionItem) -> bool:
    return item.aksi == ItemAction.PERIKSA and item.verval is None


def check_submission(session: Session, submission: Submission) -> list[Problem]:
    """Run the record checks on every item, store what they found as flags, and return the errors.

    The result is kept for the rest of the transaction: `submit` checks before it completes the
    task, and the process's automatic-check step then finds the same items unchanged.
    """
    checked = transaction_cache.get(session, _CACHE) or transaction_cache.put(session, _CACHE, {})
    if submission.id in checked:
        return checked[submission.id]
    items = session.scalars(
        select(SubmissionItem).where(SubmissionItem.submission_id == submission.id).order_by(SubmissionItem.id)
    ).all()
    errors: list[Problem] = []
    # a removal carries only a name and a reason; an item set aside does not go up; a register
    # record nobody re-verified (the operator stated why) is not judged on values nobody checked
    # ... only whether the person marked "ganda" stays elsewhere; a flag of what it was before goes
    removals = [i for i in items if i.aksi == ItemAction.HAPUS or i.dibuang]
    items = [i for i in items if i.aksi != ItemAction.HAPUS and not i.dibuang and not _unchecked(i)]
    findings: list[list[Finding]] = []
    if items:
        ctx = record_rules.Context.load(session, submission.periode)
        rows = [dict(i.data, kategori=i.kategori) for i in items]
        records = [i.record_id for i in items]  # None: an entry of its own, not a register record's item
        findings = record_rules.check_rows(session, rows, ctx, submission.kode_desa, submission.id, records=records)
    items += removals
    findings += [ganda.ganda_findings(session, i) for i in removals]
    for item, found in zip(items, findings, strict=True):
        item.masalah = [f.to_dict() for f in found]
        errors += [problem for f in found if f.severity == Severity.ERROR for problem in _refusal(item, f)]
    if items:
        flags.store_item_flags(session, submission, items, findings)
    checked[submission.id] = errors
    return errors


def _refusal(item: SubmissionItem, finding: Finding) -> list[Problem]:
    """An error that keeps the submission back, and where it is a person's change of category what
    the operator does about it (a register record is theirs to mark, not to delete)."""
    name = item.data.get("nama")
    said = [Problem(f"{name} (item {item.id}): {finding.message}", row=item.baris, column=finding.field)]
    if finding.rule == "duplikat_kategori" or (item.source == ItemSource.REGISTER and finding.rule == "kategori_usia"):
        said.append(
            Problem(
                f'{name}: bila orangnya sudah lewat batas usia kategori lamanya, tandai catatan itu "tidak layak '
                'lagi" di halaman register (dan masukkan di kategori barunya bila masih berhak); bila salah ketik, '
                "perbaiki tanggal lahir atau kategorinya",
                row=item.baris,
                column=finding.field,
            )
        )
    return said
