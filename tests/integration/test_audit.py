"""The audit trail: written with each change, and any edit or deletion is detected."""

from __future__ import annotations

from sqlalchemy import delete, func, select, text, update

import models
from engine.core import audit
from models import AuditEvent
from tests.factories import approved_everywhere, make_team, open_with_items, submit


def _history(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def _verify(db):
    with db.read() as session:
        return audit.verify_chain(session)


def _first_slice(db, limit):
    with db.read() as session:
        report = audit.verify_chain(session, None, None, limit)
    assert not report.done
    return audit.Published(report.rows, report.head_hash)


def _rewrite_from(db, seq):
    """Someone who can write the table changes row `seq` and recomputes every hash after it, and the head."""
    with db.transaction() as session:
        prev = audit.GENESIS
        for row in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            if row.seq == seq:
                row.reason = "ditulis ulang"
            row.prev_hash = prev
            row.hash = audit._digest(row)
            prev = row.hash
        session.execute(update(models.AuditHead).values(last_hash=prev))


def test_an_untouched_trail_verifies(db):
    rows = _history(db)
    report = _verify(db)
    assert report.ok and report.rows == rows and rows >= 8


def test_an_altered_row_is_detected_naming_it(db):
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="orang.lain"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 3 and "diubah" in report.message


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(db):
    _history(db)
    with db.transaction() as session:
        row = session.get(AuditEvent, 4)
        row.reason = "ditulis ulang"
        row.hash = audit._digest(row)
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 5


def test_a_whole_chain_rewritten_passes_alone_but_not_through_a_head_published_before(db):
    """Someone who can write the table rewrites a row and recomputes every hash after it: the chain
    alone still verifies; the head published earlier no longer lies on it."""
    _history(db)
    published = _verify(db)
    anchor = audit.Published(published.rows, published.head_hash)
    with db.read() as session:
        assert audit.verify_chain(session, anchor).ok
    _rewrite_from(db, 2)
    assert _verify(db).ok  # the rewrite is invisible to the chain alone
    with db.read() as session:
        report = audit.verify_chain(session, anchor)
    assert not report.ok and report.first_bad_seq == published.rows and "diterbitkan" in report.message
    with db.read() as session:
        beyond = audit.verify_chain(session, audit.Published(published.rows + 50, "0" * 64))
    assert not beyond.ok and "tidak ada lagi" in beyond.message


def _in_slices(db, limit, published=None):
    """The check a slice of `limit` rows at a time, each on from where the last stopped, as a page does."""
    since, slices = None, 0
    while True:
        with db.read() as session:
            report = audit.verify_chain(session, published, since, limit)
        slices += 1
        if report.done or not report.ok:
            return report, slices
        assert report.rows == since.seq + limit if since else report.rows == limit
        since = audit.Published(report.rows, report.head_hash)


def test_a_check_in_slices_finds_what_the_whole_check_finds(db):
    rows = _history(db)
    whole = _verify(db)
    sliced, slices = _in_slices(db, 3)
    assert sliced.ok and sliced.done and (sliced.rows, sliced.head_hash) == (rows, whole.head_hash)
    assert slices == -(-rows // 3)  # a slice that checks the last row goes on to the head
    with db.read() as session:
        first = audit.verify_chain(session, None, None, 3)
    assert not first.done and first.of == rows and "sejauh ini" in first.message
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == rows - 1).values(actor="orang.lain"))
    broken, _ = _in_slices(db, 3)
    assert not broken.ok and broken.first_bad_seq == rows - 1 and "diubah" in broken.message


def test_a_check_in_slices_passes_through_a_published_head_and_notices_its_rewrite(db):
    _history(db)
    with db.read() as session:
        anchor = audit.Published(4, session.get(AuditEvent, 4).hash)  # row 4, as it was published once
    assert _in_slices(db, 2, anchor)[0].ok
    rewritten, _ = _in_slices(db, 2, audit.Published(4, "f" * 64))
    assert not rewritten.ok and rewritten.first_bad_seq == 4 and "diterbitkan" in rewritten.message
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
    gap, _ = _in_slices(db, 2, anchor)
    assert not gap.ok and gap.first_bad_seq == 7 and "hilang" in gap.message


def test_a_chain_rewritten_between_slices_breaks_where_the_next_slice_goes_on(db):
    """The next slice goes on from the hash the last one read, not from the row as it is now."""
    _history(db)
    since = _first_slice(db, 4)
    _rewrite_from(db, 2)
    with db.read() as session:
        report = audit.verify_chain(session, None, since)
    assert not report.ok and report.first_bad_seq == 5 and "tidak tersambung" in report.message


def test_the_last_row_deleted_between_slices_is_found_at_the_head(db):
    rows = _history(db)
    since = _first_slice(db, 4)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == rows))
    with db.read() as session:
        report = audit.verify_chain(session, None, since)
    assert not report.ok and report.first_bad_seq == rows and "dihapus" in report.message


def test_a_deleted_middle_row_is_detected(db):
    _history(db)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 2 and "hilang" in report.message


def test_a_deleted_last_row_is_detected(db):
    rows = _history(db)
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM audit_event WHERE seq = {rows}"))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == rows


def test_record_changes_carry_values_before_and_after(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    approved_everywhere(db, team, submission_id)
    with db.read() as session:
        created = session.scalars(select(AuditEvent).where(AuditEvent.action == "RECORD_CREATED")).all()
    assert len(created) == 2
    assert created[0].before is None and created[0].after["nama"].startswith("Maria Ingan")
    assert created[0].actor == team.provinsi and created[0].human_task_id
