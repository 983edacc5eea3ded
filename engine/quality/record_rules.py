"""Checks on PPKS records, as one call: each row's own rules (`row_rules`), then duplicates within
the rows, the period and the records (`duplicates`), and people the register removed entered again
(`removed`).

They run on every add, edit and import, and in the process's automatic-check step. A batch of rows
is checked with one context (regions, categories, the period's reference date) and a few batched
queries, so that a 100,000-row import stays fast. A row that no rule can read (whatever it holds)
gets an error of its own; the report always covers every row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.quality import duplicates, namesakes, removed
from engine.quality.findings import Finding
from engine.quality.row_rules import Context, Kind, check_row, check_shape

__all__ = ["Context", "Kind", "check_row", "check_rows", "check_shape"]

log = logging.getLogger(__name__)


def _checked_row(row: dict[str, Any], ctx: Context, number: int) -> list[Finding]:
    try:
        return check_row(row, ctx)
    except Exception:  # a value no rule foresaw must cost its row, never the whole file
        log.exception("row %d could not be checked", number)
        return [
            Finding("baris", "baris ini tidak dapat diperiksa; periksa isinya dan ketik ulang", rule="tidak_terbaca")
        ]


def check_rows(
    session: Session,
    rows: list[dict[str, Any]],
    ctx: Context,
    kode_desa: str,
    submission_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    records: list[int | None] | None = None,
) -> list[list[Finding]]:
    """Findings for each row: its own rules, then duplicates within the rows, the period and the records.

    `records` names, per row, the record it re-verifies, or None for an entry of its own: the same NIK
    and category among the desa's records is then a second registration of one person
    (`duplicates.nik_findings`)."""
    findings = []
    for index, row in enumerate(rows):
        findings.append(_checked_row(row, ctx, index + 2))
        if progress and index % 1000 == 0:
            progress(index)
    duplicates.nik_findings(session, rows, ctx, kode_desa, submission_id, findings, records)
    duplicates.kk_findings(session, rows, ctx, kode_desa, submission_id, findings)
    duplicates.named_entry_findings(rows, ctx, findings)
    namesakes.person_findings(session, rows, kode_desa, findings, records)
    duplicates.slipped_elsewhere(session, rows, kode_desa, findings)
    removed.removed_findings(session, rows, kode_desa, findings, records)
    duplicates.household_findings(rows, findings)
    return findings
