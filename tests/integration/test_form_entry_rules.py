"""A desa's form entries and its whole submission's checks, at the edges the other tests left open: the same
person twice, a stale or set-aside entry, a register record's correction, setting aside and bringing back, the
checks kept per submission and dropped when the items change."""

from __future__ import annotations

from datetime import date

import pytest

from engine.core.errors import Conflict, NotFound, Problem
from engine.setup.demo import nik_for
from engine.verification import imports, item_checks, items, register
from models import (
    ItemSource,
    RecordStatus,
    SubmissionItem,
    VervalStatus,
)
from tests.factories import (
    DESA,
    SYSTEM,
    actor,
    items_of,
    open_with_items,
    person_row,
    register_record,
)
from tests.integration.entry_steps import (
    FAR_KK,
    OTHER,
    _register,
    _save,
    _save_refused,
    _set_aside_by_an_approval,
    _text_rows,
    _trail,
)

# --- the form: one person at a time -----------------------------------------------------------------------


def test_a_form_entry_is_kept_without_the_spaces_around_its_values_and_with_its_date_read(db):
    sid = open_with_items(db, rows=[])
    values = person_row(1, nama="  Maria Ingan 1 ", tanggal_lahir="17/05/1950")
    item = _save(db, sid, values).item
    [stored] = items_of(db, sid)
    assert stored.id == item.id and (stored.data["nama"], stored.data["tanggal_lahir"]) == (
        "Maria Ingan 1",
        "1950-05-17",
    )


def test_a_communitys_attributes_from_the_form_are_kept_without_spaces(db):
    sid = open_with_items(db, rows=[])
    values = {"nama": "Punan Long Lasan", "alamat": "Long Lasan", "kategori": "KAT"}
    _save(db, sid, {**values, "atribut": {"jumlah_anggota": " 48 ", "nama_ketua": " Lawing "}})
    [stored] = items_of(db, sid)
    assert stored.data["atribut"] == {"jumlah_anggota": "48", "nama_ketua": "Lawing"}


def test_a_warning_does_not_keep_a_form_entry_back(db):
    sid = open_with_items(db, rows=[])
    _save(db, sid, person_row(1, no_kk=FAR_KK))
    [stored] = items_of(db, sid)
    assert [f["aturan"] for f in stored.masalah] == ["kk_wilayah"]


def test_the_same_family_twice_is_told_on_the_family_card(db):
    family = person_row(1, kategori="FM", nik="", nama="Keluarga Ingan", no_kk="6501011705500009")
    sid = open_with_items(db, rows=[family])
    refused = _save_refused(db, sid, {**family, "nama": "Keluarga Ingan (lagi)"})
    assert [p.column for p in refused.value.problems] == ["no_kk"]
    assert "sudah ada di pengajuan ini" in refused.value.problems[0].message


def test_the_same_person_may_be_entered_in_another_category(db):
    sid = open_with_items(db, rows=[person_row(1)])
    _save(db, sid, person_row(1, kategori="FM", nik="", no_kk="6501011705500009", nama="Keluarga Ingan"))
    _save(db, sid, person_row(1, kategori="PD"))
    assert sorted(i.kategori for i in items_of(db, sid)) == ["FM", "LUT", "PD"]


def test_a_correction_that_moves_a_person_to_another_category_moves_their_item(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    _save(db, sid, person_row(1, kategori="PD"), item.id)
    assert [i.kategori for i in items_of(db, sid)] == ["PD"]


def test_a_correction_is_on_the_trail_with_what_it_replaced(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    _save(db, sid, person_row(1, alamat="Jl. Baru No. 2"), item.id)
    [event] = _trail(db, "ITEM_UPDATED")
    assert event.before["alamat"] == "Jl. Sengkawit No. 3" and event.after["alamat"] == "Jl. Baru No. 2"


def test_a_correction_sent_from_a_form_opened_before_it_changed_is_refused(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    opened = item.updated_at.isoformat()
    _save(db, sid, {**person_row(1, alamat="Jl. Baru No. 2"), "versi": opened}, item.id)  # a form opened then
    refused = _save_refused(db, sid, {**person_row(1, alamat="Jl. Lama"), "versi": opened}, item.id, Conflict)
    assert "sudah berubah sejak formulir dibuka" in str(refused.value)
    assert items_of(db, sid)[0].data["alamat"] == "Jl. Baru No. 2"


def test_a_correction_of_an_entry_set_aside_is_refused_until_it_is_brought_back(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item.id)
    refused = _save_refused(db, sid, person_row(1, alamat="Jl. Baru No. 2"), item.id, Conflict)
    assert "sedang disisihkan" in str(refused.value)


def test_a_register_copy_taken_off_by_an_approval_says_so_before_the_form_is_stale(db):
    """Reloading would not help: the person is told the record left the register, not to reload."""
    sid, (item_id,) = _register(db, 1)
    _set_aside_by_an_approval(db, item_id)
    refused = _save_refused(db, sid, {**person_row(1), "versi": "2000-01-01T00:00:00"}, item_id, Conflict)
    assert str(refused.value) == items.TAKEN_OFF


def test_a_register_record_saved_again_as_it_stands_stays_a_record_found_unchanged(db, people):
    sid, (item_id,) = _register(db, 1)
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [item_id], VervalStatus.LAYAK)
    [item] = items_of(db, sid)
    _save(db, sid, {**item.data, "kategori": item.kategori}, item_id)
    [after] = items_of(db, sid)
    assert (after.aksi.value, after.verval) == ("periksa", VervalStatus.LAYAK)


def test_a_person_entered_on_the_form_who_stands_on_the_register_corrects_their_record(db):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:  # verified since the period opened: not yet carried in the submission
        s.add(register_record(1))
    saved = _save(db, sid, person_row(1, alamat="Jl. Baru No. 2")).item
    assert saved.aksi.value == "ubah" and saved.record_id is not None


@pytest.mark.parametrize(
    "record",
    [
        {"status": RecordStatus.DIHAPUS},
        {"kode_desa": OTHER},
        {"kategori": "PD"},
    ],
    ids=["ended", "another-desa", "another-category"],
)
def test_a_form_entry_corrects_only_the_desas_active_record_of_its_category(db, record):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        s.add(register_record(1, **record))
    saved = _save(db, sid, person_row(1)).item
    assert (saved.aksi.value, saved.record_id) == ("tambah", None)


def test_a_register_copy_taken_off_is_no_entry_the_same_person_clashes_with(db):
    sid, (item_id,) = _register(db, 1)
    _set_aside_by_an_approval(db, item_id)
    saved = _save(db, sid, person_row(1)).item
    assert saved.id != item_id


def test_an_item_of_another_submission_cannot_be_corrected_set_aside_or_brought_back_through_this_one(db):
    mine = open_with_items(db, rows=[person_row(1)])
    theirs = open_with_items(db, rows=None, desa=OTHER)
    their_item = items_of(db, theirs)[0]
    for act in (
        lambda s: items.save_item(s, SYSTEM, mine, person_row(9), their_item.id),
        lambda s: items.discard_item(s, SYSTEM, mine, their_item.id),
        lambda s: items.restore_item(s, SYSTEM, mine, their_item.id),
    ):
        with pytest.raises(NotFound), db.transaction() as s:
            act(s)
    assert [i.dibuang for i in items_of(db, theirs)] == [False, False]


# --- setting aside and bringing back ---------------------------------------------------------------------


def test_a_register_record_is_not_set_aside(db):
    sid, (item_id,) = _register(db, 1)
    with pytest.raises(Conflict, match="Catatan register tidak dibuang"), db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item_id)


def test_an_entry_set_aside_twice_is_on_the_trail_once_with_what_it_held(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    for _ in range(2):
        with db.transaction() as s:
            items.discard_item(s, SYSTEM, sid, item.id)
    [event] = _trail(db, "ITEM_DISCARDED")
    assert (event.subject_id, event.before) == (str(item.id), item.data)  # the auditor reads who was set aside
    assert event.before["nik"] == person_row(1)["nik"]


def test_bringing_back_an_entry_not_set_aside_does_nothing_and_says_so(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        assert items.restore_item(s, SYSTEM, sid, item.id) is False
    assert _trail(db, "ITEM_RESTORED") == []


def test_an_entry_brought_back_is_on_the_trail_as_restored(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item.id)
    with db.transaction() as s:
        assert items.restore_item(s, SYSTEM, sid, item.id) is True
    assert [e.subject_id for e in _trail(db, "ITEM_RESTORED")] == [str(item.id)]
    assert _trail(db, "ITEM_UPDATED") == []


def test_a_register_copy_taken_off_by_an_approval_is_not_brought_back(db):
    sid, (item_id,) = _register(db, 1)
    _set_aside_by_an_approval(db, item_id)
    with pytest.raises(Conflict) as refused, db.transaction() as s:
        items.restore_item(s, SYSTEM, sid, item_id)
    assert str(refused.value) == items.TAKEN_OFF


# --- the checks of a whole submission ------------------------------------------------------------------------

ADVICE = 'tandai catatan itu "tidak layak lagi"'  # what the operator does about a person past a category's band


def _check(db, sid: int) -> list[Problem]:
    with db.transaction() as s:
        return item_checks.check_submission(s, s.get(imports.Submission, sid))


def _past_its_band(db, item_id: int) -> None:
    """An entry the checks now refuse: a person of 76 moved to the children's category (ADK, up to 17) by a
    change written straight in, as an entry made before a rule tightened."""
    with db.transaction() as s:
        s.get(SubmissionItem, item_id).kategori = "ADK"


def _past_band_one(db) -> tuple[int, int]:
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    _past_its_band(db, item.id)
    return sid, item.id


def test_an_entry_past_its_categorys_age_band_keeps_the_submission_back_at_its_row(db):
    sid, item_id = _past_band_one(db)
    errors = _check(db, sid)
    assert [(p.row, p.column) for p in errors] == [(2, "tanggal_lahir")]
    assert f"(item {item_id})" in errors[0].message and ADVICE not in errors[0].message
    [item] = items_of(db, sid)
    assert "kategori_usia" in [f["aturan"] for f in item.masalah]  # the operator sees why on the item


def test_a_warning_does_not_keep_a_submission_back(db):
    sid = open_with_items(db, rows=[person_row(1, no_kk=FAR_KK)])
    assert _check(db, sid) == []


def test_an_entry_set_aside_is_not_judged_on_its_values_and_sheds_what_was_found_on_it(db):
    sid, item_id = _past_band_one(db)
    assert len(_check(db, sid)) == 1
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item_id)
    assert _check(db, sid) == []
    [item] = items_of(db, sid)
    assert item.masalah == []  # checked as a removal: only whether a "ganda" mark stays elsewhere


def test_a_register_record_is_judged_once_the_operator_found_it_and_is_told_what_to_do(db, people):
    with db.transaction() as s:  # a child's record on the register, the person long past its band
        s.add(register_record(1, kategori="ADK"))
    sid = open_with_items(db, rows=[])
    [item] = items_of(db, sid)
    assert item.source == ItemSource.REGISTER
    assert _check(db, sid) == []  # nobody re-verified it yet: not judged on values nobody checked
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [item.id], VervalStatus.LAYAK)
    said = [p.message for p in _check(db, sid)]
    assert len(said) == 2 and ADVICE in said[1]


def test_a_register_record_found_as_it_stands_is_not_its_own_duplicate(db, people):
    with db.transaction() as s:
        s.add(register_record(1))
    sid = open_with_items(db, rows=[])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [item.id], VervalStatus.LAYAK)
    assert _check(db, sid) == []


def test_one_nik_in_two_categories_that_cannot_hold_together_is_told_what_to_do(db):
    child = person_row(2, kategori="ADK", tanggal_lahir="2015-03-01", nik=nik_for(DESA, date(2015, 3, 1), "P", 2))
    sid = open_with_items(db, rows=[person_row(1), child])
    first, second = items_of(db, sid)
    with db.transaction() as s:  # the child's NIK retyped as the elder's
        item = s.get(SubmissionItem, second.id)
        item.nik, item.data = first.nik, {**item.data, "nik": first.nik}
    said = [p.message for p in _check(db, sid)]
    assert any(ADVICE in m for m in said), said


# --- a check kept for the transaction is dropped when the items change ----------------------------------------


def test_a_check_made_earlier_in_a_transaction_is_made_again_after_an_entry_is_set_aside(db):
    sid, item_id = _past_band_one(db)
    with db.transaction() as s:
        submission = s.get(imports.Submission, sid)
        assert len(item_checks.check_submission(s, submission)) == 1
        items.discard_item(s, SYSTEM, sid, item_id)
        assert item_checks.check_submission(s, submission) == []


def test_a_check_made_earlier_in_a_transaction_is_made_again_after_an_entry_is_brought_back(db):
    sid, item_id = _past_band_one(db)
    with db.transaction() as s:
        submission = s.get(imports.Submission, sid)
        items.discard_item(s, SYSTEM, sid, item_id)
        assert item_checks.check_submission(s, submission) == []
        items.restore_item(s, SYSTEM, sid, item_id)
        assert len(item_checks.check_submission(s, submission)) == 1


def test_a_check_made_earlier_in_a_transaction_is_made_again_after_a_correction_on_the_form(db):
    sid, item_id = _past_band_one(db)
    with db.transaction() as s:
        submission = s.get(imports.Submission, sid)
        assert len(item_checks.check_submission(s, submission)) == 1
        items.save_item(s, SYSTEM, sid, person_row(1), item_id)
        assert item_checks.check_submission(s, submission) == []


def test_a_check_made_earlier_in_a_transaction_is_made_again_after_a_file_corrects_the_entry(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:  # a birth date mistyped: it reads neither with the NIK nor with the category
        s.get(SubmissionItem, item.id).data = {**item.data, "tanggal_lahir": "2000-01-01"}
    with db.transaction() as s:
        submission = s.get(imports.Submission, sid)
        assert item_checks.check_submission(s, submission) != []
        imports.import_rows(s, SYSTEM, sid, _text_rows([person_row(1)]))
        assert item_checks.check_submission(s, submission) == []


def test_a_register_record_corrected_on_the_form_is_not_its_own_duplicate(db):
    sid, (item_id,) = _register(db, 1)
    saved = _save(db, sid, person_row(1, alamat="Jl. Baru No. 2"), item_id)
    assert (saved.item.aksi.value, saved.item.data["alamat"]) == ("ubah", "Jl. Baru No. 2")


def test_an_operator_cannot_open_another_desas_item(db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.read() as s:
        assert items.item_row(s, actor(db, "op.desa"), sid, item.id).item.id == item.id
        with pytest.raises(NotFound):
            items.item_row(s, actor(db, "op.lain"), sid, item.id)
