"""A person moving on from a category: a child with a disability turned 18 is corrected from ADK to PD
on its own record, or its ADK record is ended and the person entered anew; the figures of each
period count the person in the category it had then; a move away keeps where to."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import models
from engine.core.errors import Invalid
from engine.quality import aggregates
from engine.verification import items, register
from tests.factories import actor, make_team, submit
from tests.integration.test_record_rules import DESA, _approved, _import, _open, _verified, person


def _child_turned_eighteen(db):
    """A child with a disability verified as ADK in 2025-Q4, who turns 18 in 2026; the 2026-Q4
    submission, opened, and its operator."""
    make_team(db)
    child = person(born=date(2008, 6, 1), kategori="ADK")
    _verified(db, [child], "2025-Q4")
    return child, _open(db, period="2026-Q4"), actor(db, "op.desa")


def _corrected_to_pd(db) -> None:
    """The register's ADK record of the child who turned 18, corrected to PD in 2026-Q4 and verified."""
    child, now, operator = _child_turned_eighteen(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        item = s.scalar(select(models.SubmissionItem).where(models.SubmissionItem.submission_id == now))
        grown = {k: child[k] for k in items.ITEM_COLUMNS} | {"kategori": "PD"}
        saved = items.save_item(s, operator, now, grown, item.id)
        assert saved.item.kategori == "PD"
        assert not [f for f in saved.item.masalah if f["rule"] == "duplikat_kategori"]
    _approved(db, now)  # and nothing holds the submission back


def test_a_child_turned_eighteen_is_corrected_from_adk_to_pd_on_its_own_record(db):
    """The register's ADK record of a child who has turned 18 is corrected to PD: its own record is the
    person's past, not a second registration in a category whose ages cannot overlap."""
    _corrected_to_pd(db)
    with db.read() as s:
        active = s.scalars(select(models.Record).where(models.Record.status == models.RecordStatus.AKTIF)).all()
        assert [(r.kategori, r.versi) for r in active] == [("PD", 2)]  # one person, one record, its next version


def test_a_period_before_a_correction_counts_the_record_in_the_category_it_had_then(db):
    """The figures of 2025 (a determination, a snapshot taken later) count the child as ADK, as the
    register stood then; those of 2026 count the person as PD."""
    _corrected_to_pd(db)
    with db.read() as s:
        then, now = aggregates.count_records(s, "65", "2025"), aggregates.count_records(s, "65", "2026-Q4")
    assert (then[(DESA, "ADK")], then[(DESA, "PD")], then[("65", "ADK")]) == (1, 0, 1)
    assert (now[(DESA, "ADK")], now[(DESA, "PD")], now[("65", "PD")]) == (0, 1, 1)


def test_a_record_ended_in_this_submission_does_not_hold_back_the_persons_new_entry(db):
    """The other way to move a child who turned 18: the ADK record is marked no longer eligible and the
    person entered anew as PD. The ended record is gone once this submission is approved."""
    child, now, operator = _child_turned_eighteen(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        old = s.scalar(select(models.SubmissionItem.id).where(models.SubmissionItem.submission_id == now))
        register.set_status(s, operator, now, [old], models.VervalStatus.TIDAK_LAYAK, "sudah 18 tahun: kini PD")
        grown = {k: child[k] for k in items.ITEM_COLUMNS} | {"kategori": "PD"}
        items.save_item(s, operator, now, grown)
    _approved(db, now)
    with db.read() as s:
        active = s.scalars(select(models.Record).where(models.Record.status == models.RecordStatus.AKTIF)).all()
        assert [r.kategori for r in active] == ["PD"]


def test_a_record_ended_as_no_longer_eligible_is_a_return_only_in_its_own_category(db):
    """Ended "tidak layak lagi" and approved, then entered a period later: as PD, the child turned 18
    has moved on to the next category; the elder entered again as LUT is asked about
    (`pernah_dihapus`)."""
    make_team(db)
    child, elder = person(1, born=date(2008, 6, 1), kategori="ADK"), person(2)
    _verified(db, [child, elder], "2025-Q4")
    now, operator = _open(db, period="2026-Q4"), actor(db, "op.desa")
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        ended = s.scalars(select(models.SubmissionItem.id).where(models.SubmissionItem.submission_id == now)).all()
        register.set_status(s, operator, now, list(ended), models.VervalStatus.TIDAK_LAYAK, "tidak layak lagi")
    _approved(db, now)
    later = _open(db, period="2027-Q1")
    with db.transaction() as s:
        grown = items.save_item(s, operator, later, {k: child[k] for k in items.ITEM_COLUMNS} | {"kategori": "PD"})
        again = items.save_item(s, operator, later, {k: elder[k] for k in items.ITEM_COLUMNS})
    assert not [m for m in grown.item.masalah if m["aturan"] == "pernah_dihapus"]
    assert [m["aturan"] for m in again.item.masalah] == ["pernah_dihapus"]


def test_a_person_who_moved_keeps_where_to_on_the_records_history(db):
    """The operator marks a register record "pindah" with its destination: the record's ended
    version says where the person went, as the auditor's timeline and `records history` read it."""
    _, now, operator = _child_turned_eighteen(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        item = s.scalar(select(models.SubmissionItem.id).where(models.SubmissionItem.submission_id == now))
        register.set_status(s, operator, now, [item], models.VervalStatus.PINDAH, "ikut orang tua", "65.71.01.1001")
    _approved(db, now)
    with db.read() as s:
        ended = s.scalar(select(models.RecordVersion).order_by(models.RecordVersion.versi.desc()).limit(1))
    assert ended.perubahan["tujuan_pindah"] == [None, "65.71.01.1001"]
    assert "ikut orang tua" in ended.perubahan["alasan_hapus"][1]


@pytest.mark.parametrize(
    "born, was, becomes",
    [
        (date(2008, 6, 1), "ADK", "PD"),  # 18 in June 2026
        (date(2008, 11, 20), "ADK", "PD"),  # 18 within the period itself
        (date(2020, 5, 3), "ABT", "AT"),  # 6 in May 2026
    ],
)
def test_a_child_past_the_band_entered_in_the_next_category_is_not_refused(db, born, was, becomes):
    """Next period's file enters the child in the category they now belong to before the old record is
    marked: not two registrations at once (the import was refused whole) but the next one, said as a
    note; the old record must still be ended before the submission goes up."""
    make_team(db)
    child = person(born=born, sex="L", kategori=was)
    _verified(db, [child], "2025-Q4")
    now = _open(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
    _import(db, now, [dict(child, kategori=becomes)])
    with db.read() as s:
        entered = s.scalar(
            select(models.SubmissionItem).where(
                models.SubmissionItem.submission_id == now, models.SubmissionItem.kategori == becomes
            )
        )
    assert [f["aturan"] for f in entered.masalah] == ["pindah_kategori"] and "tidak layak lagi" in entered.masalah[0][
        "pesan"
    ]
    with pytest.raises(Invalid) as refused:
        submit(db, "op.desa", now)  # the old record is not yet marked
    told = [p.message for p in refused.value.problems]
    assert any('tandai catatan itu "tidak layak lagi" di halaman register' in m for m in told), told


def test_a_child_still_within_the_band_or_in_a_category_that_overlaps_it_is_not_moving_on(db):
    """The note is for a child past the old category's band entering the next: at the band's last
    year (17 in ADK) a PD entry is still a second registration, refused; and a category whose band
    overlaps the old one (AT, 6-18) is a question for the verifier, not a move."""
    make_team(db)
    edge = person(1, born=date(2009, 1, 1), sex="L", kategori="ADK")  # 17 until the period's last day
    grown = person(2, born=date(2008, 6, 1), sex="L", kategori="ADK")  # 18 in June 2026
    _verified(db, [edge, grown], "2025-Q4")
    now = _open(db)
    with pytest.raises(Invalid) as refused:
        _import(db, now, [dict(edge, kategori="PD")])
    assert "tidak mungkin berlaku bersamaan" in str(refused.value)
    _import(db, now, [dict(grown, kategori="AT")])
    with db.read() as s:
        entered = s.scalar(
            select(models.SubmissionItem).where(
                models.SubmissionItem.submission_id == now, models.SubmissionItem.kategori == "AT"
            )
        )
    assert [f["aturan"] for f in entered.masalah] == ["duplikat_nik_kategori_lain"]
