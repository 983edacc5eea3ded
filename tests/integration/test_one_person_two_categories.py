"""One person on a desa's register in two categories at once: an elder (LUT) with a disability (PD).

The two may apply together (`duplikat_nik_kategori_lain` is only a note, docs/data-quality.md), and
a register record is one person in one category: `duplikat_nik` is "the same NIK twice in one
category", and an entry re-verifies the desa's active record of the same person AND category. So a
record corrected to another category and the person entered anew in the old one are two
registrations, and the register must end with both."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import models
from engine.core.errors import Invalid
from engine.verification import items, records, register
from tests.factories import actor, make_team, person_row, register_record
from tests.integration.test_record_rules import DESA, _approved, _import, _open, _verified, person

NEIGHBOUR = "65.01.01.2006"  # a desa of the same kecamatan
SAME_CATEGORY = "sudah ada di pengajuan ini untuk kategori yang sama"


def _form(row: dict, **changes) -> dict:
    """The form's values for a person's row, with `changes`."""
    return {k: row[k] for k in items.ITEM_COLUMNS} | changes


def _save(db, sid: int, values: dict, item_id: int | None = None) -> models.SubmissionItem:
    with db.transaction() as s:
        return items.save_item(s, actor(db, "op.desa"), sid, values, item_id).item


def _discard(db, sid: int, item_id: int) -> None:
    with db.transaction() as s:
        items.discard_item(s, actor(db, "op.desa"), sid, item_id)


def _refused(db, sid: int, values: dict, item_id: int | None = None) -> list[str]:
    with pytest.raises(Invalid) as refused:
        _save(db, sid, values, item_id)
    return [p.message for p in refused.value.problems]


def _elder_on_the_register(db, *others: dict) -> tuple[dict, int, int]:
    """An elder verified as LUT in 2025-Q4 (with `others`); the 2026-Q4 submission carrying the
    register, and the elder's register copy in it."""
    make_team(db)
    elder = person(1)
    _verified(db, [elder, *others], "2025-Q4")
    now = _open(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        copy = s.scalar(
            select(models.SubmissionItem.id).where(
                models.SubmissionItem.submission_id == now, models.SubmissionItem.nik == elder["nik"]
            )
        )
    return elder, now, copy


def _active(db, nik: str) -> list[tuple[str, int]]:
    """The person's active records on the desa's register: (category, version), by category."""
    with db.read() as s:
        found = s.scalars(
            select(models.Record).where(
                models.Record.nik == nik,
                models.Record.kode_desa == DESA,
                models.Record.status == models.RecordStatus.AKTIF,
            )
        )
        return sorted((r.kategori, r.versi) for r in found)


def _record_id(db, nik: str) -> int:
    with db.read() as s:
        return s.scalar(select(models.Record.id).where(models.Record.nik == nik))


def test_a_record_moved_to_pd_and_the_person_entered_again_as_lut_on_the_form_keeps_both(db):
    """The musyawarah finds the elder has a disability: the operator corrects the LUT record to PD and,
    since the elder is still neglected, enters them as LUT too. The province expects the elder counted
    in both; the record keeps its past as the PD one."""
    elder, now, copy = _elder_on_the_register(db)
    old = _record_id(db, elder["nik"])
    _save(db, now, _form(elder, kategori="PD"), copy)
    again = _save(db, now, _form(elder))
    assert (again.aksi, again.record_id) == (models.ItemAction.TAMBAH, None)  # not a re-verification of PD
    _approved(db, now)
    assert _active(db, elder["nik"]) == [("LUT", 1), ("PD", 2)]
    with db.read() as s:
        assert s.get(models.Record, old).kategori == "PD"


def test_a_record_moved_to_pd_and_the_person_sent_again_as_lut_in_a_file_keeps_both(db):
    """The same through the desa's file: the LUT row of a person whose copy was corrected to PD is a
    new registration, not the PD record's."""
    elder, now, copy = _elder_on_the_register(db)
    _save(db, now, _form(elder, kategori="PD"), copy)
    _import(db, now, [elder])
    _approved(db, now)
    assert _active(db, elder["nik"]) == [("LUT", 1), ("PD", 2)]


def test_a_record_whose_nik_is_corrected_and_the_nik_holder_entered_anew_keeps_both(db):
    """The same cause with a NIK: the LUT record was keyed with the NIK of the elder's relative; the
    operator corrects it to the elder's own NIK and name, and enters the relative (also a neglected
    elder) as new. Both stand on the register, the corrected record under its new NIK."""
    relative, now, copy = _elder_on_the_register(db)
    elder = person(7)
    _save(db, now, _form(elder), copy)
    entered = _save(db, now, _form(relative))
    assert (entered.aksi, entered.record_id) == (models.ItemAction.TAMBAH, None)
    _approved(db, now)
    assert (_active(db, elder["nik"]), _active(db, relative["nik"])) == ([("LUT", 2)], [("LUT", 1)])


def test_the_person_entered_again_in_the_category_of_their_record_is_refused(db):
    """A second entry of a register person in the record's own category is the same registration:
    refused, naming the copy; and after the copy was corrected to PD, a PD entry is the one refused."""
    elder, now, copy = _elder_on_the_register(db)
    assert any(SAME_CATEGORY in m and f"item {copy}" in m for m in _refused(db, now, _form(elder)))
    _save(db, now, _form(elder, kategori="PD"), copy)
    assert any(SAME_CATEGORY in m and f"item {copy}" in m for m in _refused(db, now, _form(elder, kategori="PD")))


def test_correcting_the_copy_again_is_not_a_clash_with_itself(db):
    """Saving the corrected copy a second time (an address fixed) is the same entry, not a second one."""
    elder, now, copy = _elder_on_the_register(db)
    _save(db, now, _form(elder, kategori="PD"), copy)
    saved = _save(db, now, _form(elder, kategori="PD", alamat="Jl. Kenanga No. 9"), copy)
    assert (saved.id, saved.kategori, saved.data["alamat"]) == (copy, "PD", "Jl. Kenanga No. 9")


def test_a_record_ended_and_the_person_entered_again_in_its_category_is_refused(db):
    """Marked "tidak layak lagi" and entered again as LUT in the same submission contradicts itself:
    refused; entered as PD instead, the LUT record ends and a PD record begins."""
    elder, now, copy = _elder_on_the_register(db)
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), now, [copy], models.VervalStatus.TIDAK_LAYAK, "sudah mampu")
    assert any(SAME_CATEGORY in m for m in _refused(db, now, _form(elder)))
    assert _save(db, now, _form(elder, kategori="PD")).aksi == models.ItemAction.TAMBAH
    _approved(db, now)
    assert _active(db, elder["nik"]) == [("PD", 1)]


def test_a_person_new_to_the_register_in_two_categories_gets_two_records(db):
    """Two entries of one person with no record, LUT and PD: two registrations, each a new record, the
    second not refused (both may apply)."""
    make_team(db)
    _verified(db, [person(2)], "2025-Q4")
    now, newcomer = _open(db), person(1)
    first = _save(db, now, _form(newcomer))
    second = _save(db, now, _form(newcomer, kategori="PD"))
    assert (first.aksi, second.aksi) == (models.ItemAction.TAMBAH, models.ItemAction.TAMBAH)
    _approved(db, now)
    assert _active(db, newcomer["nik"]) == [("LUT", 1), ("PD", 1)]


def test_a_register_person_entered_in_another_category_is_a_new_record_beside_the_old(db):
    """The register's LUT elder entered on the form as PD (the copy left as found): a second
    registration, not the LUT record moved; the register keeps the LUT record and gains a PD one."""
    elder, now, _copy = _elder_on_the_register(db)
    entered = _save(db, now, _form(elder, kategori="PD"))
    assert (entered.aksi, entered.record_id) == (models.ItemAction.TAMBAH, None)
    _approved(db, now)
    assert _active(db, elder["nik"]) == [("LUT", 2), ("PD", 1)]


def test_a_person_whose_record_joined_the_register_after_the_period_opened_re_verifies_it(db, province_admin):
    """A merged desa's register moved into Gunung Putih after its period opened: an entry of one of
    those people in their record's category is that record's re-verification (the approval writes its
    next version, no second record); before the move, an entry of one of them here was a new one."""
    make_team(db)
    now = _open(db)
    moved, other = register_record(1, kode_desa=NEIGHBOUR), register_record(2, kode_desa=NEIGHBOUR)
    with db.transaction() as s:
        s.add_all([moved, other])
    before = _save(db, now, _form(person_row(2)))
    assert (before.aksi, before.record_id) == (models.ItemAction.TAMBAH, None)  # another desa's person
    _discard(db, now, before.id)
    with db.transaction() as s:
        assert records.move_register(s, province_admin, NEIGHBOUR, DESA, "Perda penggabungan desa") == 2
    entered = _save(db, now, _form(person_row(1), alamat="Jl. Kenanga No. 9"))
    assert (entered.aksi, entered.record_id) == (models.ItemAction.UBAH, moved.id)
    _approved(db, now)
    assert _active(db, moved.nik) == [("LUT", 3)]


def test_a_person_set_aside_by_the_operator_is_brought_back_not_entered_twice(db):
    """An entry the operator set aside still holds the person in its category: entering them again is
    refused, naming it (bringing it back is the way), so restoring it later cannot make two."""
    make_team(db)
    now, newcomer = _open(db), person(1)
    first = _save(db, now, _form(newcomer))
    _discard(db, now, first.id)
    assert any(SAME_CATEGORY in m and f"item {first.id}" in m for m in _refused(db, now, _form(newcomer)))
    assert _save(db, now, _form(newcomer, kategori="PD")).aksi == models.ItemAction.TAMBAH  # another category
