"""Re-verification rules the existing tests left open: which register records a desa may mark, the
bounds of what it writes, what the trail keeps, what blocks a submission, and what the register page
shows of one desa only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict, Invalid, NotFound
from engine.verification import imports, items, register, register_view
from models import AuditEvent, Submission, SubmissionItem, VervalStatus
from tests.factories import (
    DESA,
    SYSTEM,
    actor,
    csv_of,
    items_of,
    open_with_items,
    person_row,
    register_record,
    submit,
)

OTHER = "65.01.01.2006"  # op.lain's desa, Gunung Putih's neighbour


def _register(db, *serials: int, desa: str = DESA) -> tuple[int, list[int]]:
    """These people standing on the desa's register, and its submission carrying them (item ids)."""
    with db.transaction() as s:
        for n in serials:
            s.add(register_record(n, kode_desa=desa))
    sid = open_with_items(db, [], desa=desa)
    with db.transaction() as s:
        register.prefill(s, {desa: sid})
    return sid, [i.id for i in items_of(db, sid)]


def _mark(db, sid, ids, status, reason="", destination="", who="op.desa") -> int:
    with db.transaction() as s:
        return register.set_status(s, actor(db, who), sid, ids, status, reason, destination)


def _trail(db, action="ITEM_VERVAL_SET") -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_reason_and_a_destination_are_taken_up_to_their_limits_and_refused_beyond(db, people):
    sid, (item,) = _register(db, 1)
    limit, destination = register.REASON_LIMIT, register.DESTINATION_LIMIT
    assert _mark(db, sid, [item], VervalStatus.PINDAH, "a" * limit, "T" * destination) == 1
    with pytest.raises(Invalid) as too_long:
        _mark(db, sid, [item], VervalStatus.PINDAH, "b" * (limit + 1))
    assert too_long.value.problems[0].column == "alasan"
    with pytest.raises(Invalid) as too_far:
        _mark(db, sid, [item], VervalStatus.PINDAH, "ikut anak", "T" * (destination + 1))
    assert too_far.value.problems[0].column == "tujuan"
    (kept,) = items_of(db, sid)
    assert kept.verval_alasan == "a" * limit and kept.data["tujuan_pindah"] == "T" * destination


def test_marking_no_record_is_refused(db, people):
    sid, _ = _register(db, 1)
    with pytest.raises(Invalid, match="Pilih setidaknya satu catatan"):
        _mark(db, sid, [], VervalStatus.LAYAK)


def test_another_desas_register_record_cannot_be_marked_through_ones_own_submission(db, people):
    own, _ = _register(db, 1)
    _, (theirs,) = _register(db, 2, desa=OTHER)
    with pytest.raises(NotFound):
        _mark(db, own, [theirs], VervalStatus.MENINGGAL, "meninggal Mei")
    with db.read() as s:
        untouched = s.get(SubmissionItem, theirs)
        assert (untouched.verval, untouched.aksi.value) == (None, "periksa")


def test_an_entry_added_this_period_is_not_a_register_record_to_mark(db, people):
    sid = open_with_items(db, [person_row(5)])
    (added,) = [i.id for i in items_of(db, sid)]
    with pytest.raises(NotFound):
        _mark(db, sid, [added], VervalStatus.MENINGGAL, "meninggal Mei")
    assert items_of(db, sid)[0].aksi.value == "tambah"


def test_the_same_mark_again_changes_and_records_nothing_but_a_new_destination_is_recorded(db, people):
    sid, (item,) = _register(db, 1)
    assert _mark(db, sid, [item], VervalStatus.PINDAH, "ikut anak", "Tarakan") == 1
    assert _mark(db, sid, [item], VervalStatus.PINDAH, "ikut anak", "Tarakan") == 0
    assert len(_trail(db)) == 1
    assert _mark(db, sid, [item], VervalStatus.PINDAH, "ikut anak", "Tanjung Selor") == 1
    assert items_of(db, sid)[0].data["tujuan_pindah"] == "Tanjung Selor" and len(_trail(db)) == 2


def test_a_destination_is_kept_only_for_a_person_who_moved(db, people):
    sid, (item,) = _register(db, 1)
    _mark(db, sid, [item], VervalStatus.MENINGGAL, "meninggal Mei", "Tarakan")
    (died,) = items_of(db, sid)
    assert "tujuan_pindah" not in died.data and died.data["alasan_hapus"] == "meninggal: meninggal Mei"


def test_correcting_a_record_already_found_adds_no_second_verval_row(db, people):
    sid, (item,) = _register(db, 1)
    _mark(db, sid, [item], VervalStatus.LAYAK)
    values = {k: person_row(1)[k] for k in items.ITEM_COLUMNS} | {"alamat": "RT 09"}
    with db.transaction() as s:
        items.save_item(s, actor(db, "op.desa"), sid, values, item)
    assert [(e.before["verval"], e.after["verval"]) for e in _trail(db)] == [(None, "layak")]
    assert items_of(db, sid)[0].aksi.value == "ubah"


def test_a_record_found_by_correcting_it_is_recorded_with_why(db, people):
    sid, (unchecked, died) = _register(db, 1, 2)
    _mark(db, sid, [died], VervalStatus.MENINGGAL, "meninggal Mei")
    for item, serial in ((unchecked, 1), (died, 2)):
        values = {k: person_row(serial)[k] for k in items.ITEM_COLUMNS} | {"alamat": "RT 09"}
        with db.transaction() as s:
            items.save_item(s, actor(db, "op.desa"), sid, values, item)
    found = [(e.subject_id, e.before["verval"], e.reason) for e in _trail(db)[1:]]
    assert found == [(str(unchecked), None, "dimasukkan lagi"), (str(died), "meninggal", "data diperbaiki")]


def test_declaring_nihil_and_withdrawing_it_are_each_on_the_trail(db, people):
    sid = open_with_items(db, [])
    for nihil in (True, True, False):
        with db.transaction() as s:
            register.declare(s, actor(db, "op.desa"), sid, nihil=nihil)
    said = [(e.before["nihil"], e.after["nihil"]) for e in _trail(db, "SUBMISSION_DECLARED")]
    assert said == [(False, True), (True, False)]  # the repeated statement changed nothing


def test_a_reason_the_register_could_not_be_checked_is_bounded(db, people):
    sid, _ = _register(db, 1)
    with db.transaction() as s, pytest.raises(Invalid):
        register.declare(s, actor(db, "op.desa"), sid, unchecked="x" * (register.REASON_LIMIT + 1))
    with db.transaction() as s:
        kept = register.declare(s, actor(db, "op.desa"), sid, unchecked="x" * register.REASON_LIMIT)
        assert kept.tidak_diperiksa == "x" * register.REASON_LIMIT


def test_a_record_verified_after_the_period_opened_must_be_checked_before_submitting(db, people):
    sid, (item,) = _register(db, 1)
    _mark(db, sid, [item], VervalStatus.LAYAK)
    with db.transaction() as s:
        s.add(register_record(2))  # approved in another period meanwhile
    with db.transaction() as s:
        problems = register.readiness(s, s.get(Submission, sid))
    assert [p.column for p in problems] == ["verval"] and "1 dari 2 catatan" in problems[0].message


def test_progress_counts_only_the_desas_own_records_not_yet_carried_in(db, people):
    sid, _ = _register(db, 1)
    with db.transaction() as s:
        s.add(register_record(3))  # verified since the period opened
        s.add(register_record(4, kode_desa=OTHER))
    with db.read() as s:
        state = register.progress(s, s.get(Submission, sid))
    assert (state.total, state.checked, state.missing) == (1, 0, 1)


def test_an_empty_register_counts_as_fully_checked():
    assert register.Progress(total=0, by_status={}, missing=0).percent == 100


def test_the_register_page_names_only_the_people_taken_out_of_this_submission(db, people):
    own, (mine,) = _register(db, 1)
    other, (theirs,) = _register(db, 2, desa=OTHER)
    with db.transaction() as s:
        s.get(SubmissionItem, theirs).dibuang = True  # another period's approval removed them
    with db.read() as s:
        page = register_view.register_page(s, actor(db, "op.desa"), own, "semua")
        assert page.taken_out == [] and [r.item.id for r in page.rows] == [mine]
        theirs_page = register_view.register_page(s, actor(db, "op.lain"), other, "semua")
        assert theirs_page.taken_out == [person_row(2)["nama"]] and theirs_page.rows == []


def test_an_unknown_status_filter_is_refused_by_name(db, people):
    sid, _ = _register(db, 1)
    with db.read() as s, pytest.raises(Invalid) as refused:
        register_view.register_page(s, actor(db, "op.desa"), sid, "hilang")
    assert refused.value.problems[0].column == "status"


def test_a_corrected_record_then_marked_still_eligible_stays_a_correction(db, people):
    sid, (item,) = _register(db, 1)
    values = {k: person_row(1)[k] for k in items.ITEM_COLUMNS} | {"alamat": "RT 09 Dusun Baru"}
    with db.transaction() as s:
        items.save_item(s, actor(db, "op.desa"), sid, values, item)
    _mark(db, sid, [item], VervalStatus.LAYAK)  # the page's "still eligible" after the form
    assert items_of(db, sid)[0].aksi.value == "ubah"


def test_the_register_page_of_a_submission_sent_up_offers_no_marking(db, people):
    sid, _ = _register(db, 1)
    submit(db, "op.desa", sid)
    with db.read() as s:
        assert register_view.register_page(s, actor(db, "op.desa"), sid, "semua").editable is False


def test_a_desa_whose_only_person_was_taken_out_by_another_periods_approval_may_report_nihil(db, people):
    sid, (item,) = _register(db, 1)
    with db.transaction() as s:
        s.get(SubmissionItem, item).dibuang = True  # another period's approval: died
    with db.transaction() as s:
        assert [p.column for p in register.readiness(s, s.get(Submission, sid))] == ["nihil"]
        register.declare(s, actor(db, "op.desa"), sid, nihil=True)
        assert register.readiness(s, s.get(Submission, sid)) == []


def test_the_register_page_lists_register_records_not_entries_added_this_period(db, people):
    sid, (carried,) = _register(db, 1)
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(5)]))
    with db.read() as s:
        page = register_view.register_page(s, actor(db, "op.desa"), sid, "semua")
    assert [r.item.id for r in page.rows] == [carried] and page.total == 1


def test_the_register_page_filters_by_what_was_found(db, people):
    sid, (found, died, unchecked) = _register(db, 1, 2, 3)
    _mark(db, sid, [found], VervalStatus.LAYAK)
    _mark(db, sid, [died], VervalStatus.MENINGGAL, "meninggal Mei")
    with db.read() as s:
        listed = {
            status: sorted(r.item.id for r in register_view.register_page(s, actor(db, "op.desa"), sid, status).rows)
            for status in ("belum", "meninggal", "semua")
        }
    assert listed == {"belum": [unchecked], "meninggal": [died], "semua": sorted([found, died, unchecked])}


def test_data_entered_after_reporting_nihil_does_not_go_up_as_nihil(db, people):
    """The task page, the inbox and the completeness figures would say the desa has no PPKS."""
    sid = open_with_items(db, [])
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, nihil=True)
    with db.transaction() as s:
        imports.import_items(s, actor(db, "op.desa"), sid, csv_of([person_row(5)]))
    with db.transaction() as s:
        problems = register.readiness(s, s.get(Submission, sid))
    assert [p.column for p in problems] == ["nihil"] and "cabut pernyataan nihil" in problems[0].message
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, nihil=False)
    submit(db, "op.desa", sid)  # withdrawn, it goes up with its person


def test_a_nihil_desa_whose_register_gained_a_record_is_not_told_to_set_aside_what_it_cannot(db, people):
    """The desa reported nihil with nothing on its register; a record then joined its register (another
    period's approval, a desa merged into it), and the check before submitting carries it in. The
    advice must be one the operator can follow: a register record is never set aside."""
    sid = open_with_items(db, [])
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, nihil=True)
    with db.transaction() as s:
        s.add(register_record(1))  # approved meanwhile
    with db.transaction() as s:
        problems = [p for p in register.readiness(s, s.get(Submission, sid)) if p.column == "nihil"]
    (carried,) = items_of(db, sid)
    with db.transaction() as s, pytest.raises(Conflict):  # what the advice asks is refused
        items.discard_item(s, actor(db, "op.desa"), sid, carried.id)
    assert problems and "cabut pernyataan nihil" in problems[0].message
    assert "sisihkan" not in problems[0].message, problems[0].message
