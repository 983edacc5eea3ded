"""A register record marked "ganda" (a duplicate) keeps its person on the register only if another
copy stays: the desa that marks the only copy, or two desa each marking the other's, would take the
person off every register. Such a mark is a warning the verifiers acknowledge."""

from __future__ import annotations

from sqlalchemy import select

from engine.quality import ganda
from engine.verification import register
from models import QualityFlag, SubmissionItem, VervalStatus
from tests.factories import DESA, actor, open_with_items, register_record, submit

OTHER = "65.01.01.2006"  # op.lain's desa


def _marked(db, desa: str, operator: str) -> tuple[int, int]:
    """The desa's submission, its register prefilled, the one record on it marked "ganda"."""
    sid = open_with_items(db, [], desa=desa)
    with db.transaction() as s:
        register.prefill(s, {desa: sid})
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        register.set_status(s, actor(db, operator), sid, [item.id], VervalStatus.GANDA, "sudah tercatat di desa lain")
        return sid, item.id


def _warned(db, item_id: int) -> bool:
    with db.read() as s:
        return bool(ganda.ganda_findings(s, s.get(SubmissionItem, item_id)))


def test_a_duplicate_mark_is_a_question_only_when_no_other_copy_stays(db, people):
    with db.transaction() as s:
        s.add(register_record(1))
        s.add(register_record(1, kode_desa=OTHER))
    here, marked_here = _marked(db, DESA, "op.desa")
    assert not _warned(db, marked_here)  # the other desa's copy stays: a true duplicate, nothing to ask
    _, marked_there = _marked(db, OTHER, "op.lain")
    assert _warned(db, marked_here) and _warned(db, marked_there)  # each removes the other's copy
    submit(db, "op.desa", here)
    with db.read() as s:
        item = s.get(SubmissionItem, marked_here)
        flag = s.scalar(select(QualityFlag).where(QualityFlag.item_id == marked_here))
    assert [m["aturan"] for m in item.masalah] == [ganda.RULE] and flag.rule == ganda.RULE
    assert "tetap terdaftar" in flag.message


def test_the_only_copy_marked_duplicate_is_a_question(db, people):
    with db.transaction() as s:
        s.add(register_record(1))
    _, marked = _marked(db, DESA, "op.desa")
    assert _warned(db, marked)


def test_a_duplicate_mark_changed_to_another_status_takes_its_warning_with_it(db, people):
    from engine.verification import item_checks
    from models import FlagStatus, Submission

    with db.transaction() as s:
        s.add(register_record(1))
    sid, marked = _marked(db, DESA, "op.desa")
    with db.transaction() as s:
        item_checks.check_submission(s, s.get(Submission, sid))
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [marked], VervalStatus.MENINGGAL, "meninggal 3 Mei")
        item_checks.forget(s, sid)
        item_checks.check_submission(s, s.get(Submission, sid))
    with db.read() as s:
        assert s.get(SubmissionItem, marked).masalah == []
        left = s.scalars(select(QualityFlag.status).where(QualityFlag.item_id == marked)).all()
    assert FlagStatus.TERBUKA not in left  # nothing stale for the verifier to acknowledge


def test_a_person_the_desa_they_left_is_marking_moved_is_not_registered_there(db, people):
    """Desa A's "pindah" still in work: A's record is active, but not where the person is registered."""
    from tests.factories import items_of, person_row

    with db.transaction() as s:
        s.add(register_record(1))
    left = open_with_items(db, [], desa=DESA)
    with db.transaction() as s:
        register.prefill(s, {DESA: left})
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == left))
        register.set_status(s, actor(db, "op.desa"), left, [item.id], VervalStatus.PINDAH, "pindah ke Gunung Sari")
    arrived = open_with_items(db, [person_row(1)], desa=OTHER)
    assert "duplikat_nik_tempat_lain" not in {m["aturan"] for m in items_of(db, arrived)[0].masalah or []}
