"""What a desa's operator and the province's data steward meet at the edges the other tests leave open: a person
entered again after their moved entry was set aside re-verifies their record, an entry that is not there is
said missing, and another agency's figures are taken back for a reason of ten to five hundred characters."""

from __future__ import annotations

import pytest

from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NotFound
from engine.verification import agency_figures, items
from tests.factories import SYSTEM, actor, open_with_items, person_row, register_record
from tests.integration.entry_steps import _save
from tests.integration.test_agency_uploads import _actions, _key, _preview, _receive, _theirs

# --- a desa's entries set aside and entered again ------------------------------------------------------------


def test_a_person_entered_again_after_their_moved_entry_was_set_aside_re_verifies_their_record(db):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:  # verified since the period opened: not yet carried in the submission
        s.add(register_record(1))
    first = _save(db, sid, person_row(1)).item
    assert (first.aksi.value, first.record_id) != ("tambah", None)
    _save(db, sid, person_row(1, kategori="PD"), first.id)  # the entry moved to another category ...
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, first.id)  # ... then set aside: it carries the record no more
    again = _save(db, sid, person_row(1, alamat="Jl. Baru No. 2")).item
    assert (again.aksi.value, again.record_id) == ("ubah", first.record_id)


# --- another agency's figures taken back -------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["salah file", "x" * 500, "  berkas   salah  "])
def test_a_reason_of_ten_to_five_hundred_characters_takes_a_year_back(db, stewards, our_figures, reason):
    _receive(db, _preview(db))
    with db.transaction() as s:
        assert agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, reason, _key(db)) == 2
    assert _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)[-1].reason == " ".join(reason.split())


@pytest.mark.parametrize("reason", ["salah fil", "x" * 501, "   "])
def test_a_reason_shorter_than_ten_or_longer_than_five_hundred_characters_takes_nothing(
    db, stewards, our_figures, reason
):
    _receive(db, _preview(db))
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, reason, _key(db))
    assert refused.value.problems[0].column == "alasan" and len(_theirs(db)) == 2


def test_an_entry_missing_from_the_submission_is_said_missing_on_its_edit_page(db):
    sid = open_with_items(db)
    with pytest.raises(NotFound, match="tidak ada di pengajuan"), db.read() as s:
        items.item_row(s, SYSTEM, sid, 10**9)
