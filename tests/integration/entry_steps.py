"""Steps shared by the tests of what comes in from a desa: a file's rows imported or refused, a form's
entry saved or refused, people on the register with the submission carrying them, and the trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Invalid, Problem
from engine.verification import imports, items, register
from models import (
    AuditEvent,
    SubmissionItem,
)
from tests.factories import (
    DESA,
    SYSTEM,
    csv_of,
    items_of,
    open_with_items,
    register_record,
)

OTHER = "65.01.01.2006"  # op.lain's desa, Gunung Putih's neighbour
FAR_KK = "9901011705500001"  # a family card of no known kecamatan: a warning for the verifiers, not an error


def _import(db, sid: int, rows: list[dict], who=SYSTEM) -> imports.ImportReport:
    with db.transaction() as s:
        return imports.import_items(s, who, sid, csv_of(rows))


def _import_rows(db, sid: int, rows: list[dict], who=SYSTEM) -> imports.ImportReport:
    """Rows as a file holds them, with any column (a csv written by `csv_of` has the item columns only)."""
    with db.transaction() as s:
        return imports.import_rows(s, who, sid, _text_rows(rows))


def _refused(db, sid: int, rows: list[dict]) -> list[Problem]:
    with pytest.raises(Invalid) as refused:
        _import_rows(db, sid, rows)
    assert items_of(db, sid) == []  # every row valid, or nothing written
    return refused.value.problems


def _trail(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _text_rows(rows: list[dict]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in row.items()} for row in rows]


def _save(db, sid: int, values: dict, item_id: int | None = None, who=SYSTEM) -> items.Saved:
    with db.transaction() as s:
        return items.save_item(s, who, sid, values, item_id)


def _save_refused(db, sid: int, values: dict, item_id: int | None = None, error=Invalid) -> pytest.ExceptionInfo:
    with pytest.raises(error) as refused:
        _save(db, sid, values, item_id)
    return refused


def _register(db, *serials: int, **overrides) -> tuple[int, list[int]]:
    """These people standing on Gunung Putih's register, and its submission carrying them (item ids)."""
    with db.transaction() as s:
        for n in serials:
            s.add(register_record(n, **overrides))
    sid = open_with_items(db, [])
    with db.transaction() as s:
        register.prefill(s, {DESA: sid})
    return sid, [i.id for i in items_of(db, sid)]


def _set_aside_by_an_approval(db, item_id: int) -> None:
    """As an approval of another period leaves a register copy whose record it took off the register."""
    with db.transaction() as s:
        s.get(SubmissionItem, item_id).dibuang = True
