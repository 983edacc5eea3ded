"""A person the desa they left takes off the register ("pindah", or any removal) is not "registered
elsewhere" when the desa they went to enters them in the same period: a removal is no registration."""

from __future__ import annotations

from sqlalchemy import select

from models import ItemAction, SubmissionItem, VervalStatus
from tests.factories import DESA, items_of, open_with_items, person_row

ELSEWHERE = "duplikat_nik_tempat_lain"


def _rules(item: SubmissionItem) -> set[str]:
    return {m.get("aturan") for m in item.masalah or []}


def test_a_person_removed_as_moved_elsewhere_is_not_a_duplicate_where_they_arrive(db, people):
    left = open_with_items(db, [person_row(1)], desa=DESA)
    with db.transaction() as s:  # the desa they left marks them moved: the item becomes a removal
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == left))
        item.aksi, item.verval, item.verval_alasan = ItemAction.HAPUS, VervalStatus.PINDAH, "pindah ke Gunung Sari"
    arrived = open_with_items(db, [person_row(1)], desa="65.01.01.2006")
    assert ELSEWHERE not in _rules(items_of(db, arrived)[0])


def test_a_person_still_entered_in_another_desa_is_still_a_question(db, people):
    open_with_items(db, [person_row(1)], desa=DESA)
    arrived = open_with_items(db, [person_row(1)], desa="65.01.01.2006")
    assert ELSEWHERE in _rules(items_of(db, arrived)[0])
