"""Every field of an audit row is under its hash: an edit of any one of them is detected, naming the row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

import models
from engine.core import audit
from models import AuditEvent
from tests.factories import make_team, open_with_items, submit


def _history(db):
    team = make_team(db)
    submit(db, team.operator, open_with_items(db))


@pytest.mark.parametrize(
    "field, changed",
    [
        ("action", lambda row: "USER_CREATED" if row.action != "USER_CREATED" else "ROLE_ASSIGNED"),
        ("subject_type", lambda row: f"{row.subject_type}x"),
        ("subject_id", lambda row: f"{row.subject_id}9"),
        ("before", lambda row: {**(row.before or {}), "status": "disunting"}),
        ("after", lambda row: {**(row.after or {}), "status": "disunting"}),
        ("reason", lambda row: "alasan lain"),
        ("instance_id", lambda row: (row.instance_id or 0) + 1),
        ("human_task_id", lambda row: (row.human_task_id or 0) + 1),
        ("at", lambda row: row.at + timedelta(seconds=1)),  # a second: within the minute it was written
    ],
)
def test_an_edit_of_any_field_is_detected(db, field, changed):
    _history(db)
    with db.read() as s:
        row = s.get(AuditEvent, 3)
        value = changed(row)
        at_second = row.at.second
    if field == "at" and at_second == 59:
        value -= timedelta(seconds=2)
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({field: value}))
    with db.read() as s:
        assert s.scalar(select(getattr(AuditEvent, field)).where(AuditEvent.seq == 3)) == value  # the edit held
        report = audit.verify_chain(s)
    assert not report.ok and report.first_bad_seq == 3 and "diubah" in report.message


def test_the_last_row_rewritten_with_its_hash_recomputed_is_detected_at_the_head(db):
    """No row follows the last one to break its link: the head's hash is what notices the rewrite."""
    _history(db)
    with db.transaction() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        last.reason = "ditulis ulang"
        last.hash = audit._digest(last)
        seq = last.seq
    with db.read() as s:
        report = audit.verify_chain(s)
    assert not report.ok and report.first_bad_seq == seq  # the row rewritten, not one "deleted" after it
    assert "ditulis ulang" in report.message and "dihapus" not in report.message


def _published_head(db):
    with db.read() as s:
        report = audit.verify_chain(s)
    return audit.Published(report.rows, report.head_hash)


def test_the_last_row_deleted_and_the_head_set_back_is_caught_by_the_head_published(db):
    """Someone who can write both tables deletes the newest row and sets the head back onto the row
    before it: the chain alone is whole again; the head published before it is not on it."""
    _history(db)
    published = _published_head(db)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == published.seq))
        before = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == published.seq - 1)).scalar()
        conn.execute(update(models.AuditHead).values(last_seq=published.seq - 1, last_hash=before))
    with db.read() as s:
        assert audit.verify_chain(s).ok  # the chain alone cannot tell
        report = audit.verify_chain(s, published)
    assert not report.ok and "tidak ada lagi" in report.message


def test_a_chain_without_its_head_does_not_verify(db):
    _history(db)
    with db.engine.begin() as conn:
        head = conn.execute(select(models.AuditHead.__table__)).mappings().one()
        conn.execute(delete(models.AuditHead))
    try:
        with db.read() as s:
            assert not audit.verify_chain(s).ok
    finally:  # the head row is the schema's, kept by every test
        with db.engine.begin() as conn:
            conn.execute(models.AuditHead.__table__.insert().values(**head))


def test_values_that_json_writes_differently_than_it_reads_still_verify(db):
    """A date, a tuple or a key that is not a string is stored as JSON reads it back; the hash is
    taken of that, so the row read again still matches it."""
    from datetime import date

    from engine.core.actors import Actor

    with db.transaction() as s:
        audit.record(
            s,
            Actor.system("uji"),
            audit.AuditAction.CYCLE_RHYTHM_SET,
            "uji",
            1,
            before={1: "satu"},
            after={"tanggal": date(2026, 12, 5), "batas": (30, 45)},
        )
    with db.read() as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "uji")).one()
        assert row.after == {"tanggal": "2026-12-05", "batas": [30, 45]} and row.before == {"1": "satu"}
        assert audit.verify_chain(s).ok
