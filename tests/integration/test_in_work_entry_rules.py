"""Entries of the desa's other submissions in work, as an approval brings them up to date, that the
overlapping periods' tests left open: a record moved to another category beside its person entered
again in the old one; entries the operator set aside (neither brought up to date, nor linked, nor
checked again); a new entry of a person another period added (on the draft's trail, stale on a form
opened before) or of a record the draft carries already (left new); the operator's own attribute
value and an attribute the category dropped; an empty text where the register holds nothing; a copy
already holding the new value; the category's own column; and a new entry in another desa of the
province checked again for a death. And one bound of a region update: a decree in force from today,
its basis at full length, applies."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict
from engine.people import users
from engine.quality.nik import compose
from engine.verification import imports, items, region_updates, register, submissions
from models import AuditEvent, QualityFlag, Record, RecordStatus, Region, Submission, SubmissionItem, VervalStatus
from tests.factories import SYSTEM, actor, csv_of, decide, make_team, person_row, submit
from tests.integration.test_overlapping_periods import (
    ELDER,
    KAT,
    MOVER,
    NEWCOMER,
    _correct,
    _entry,
    _first_verified,
    _opened,
    _record,
    _save,
    _told,
    _up,
    _verified_then_next_opened,
    kat_without_leader,  # noqa: F401 - the fixture, asked for by name
)
from tests.regions import listing, regions_restored  # noqa: F401 - the fixture

MOVED, CARED_FOR = "RT 07 Dusun Baru", "tinggal bersama cucu"
ELSEWHERE = "65.01.02.2001"  # a desa of another kecamatan of the province
MERGED = "65.01.01.2006"  # Pejalin


def _item(db, item_id):
    with db.read() as s:
        return s.get(SubmissionItem, item_id)


def _entries_of(db, sid, nik):
    with db.read() as s:
        return s.scalars(
            select(SubmissionItem)
            .where(SubmissionItem.submission_id == sid, SubmissionItem.nik == nik)
            .order_by(SubmissionItem.id)
        ).all()


def _discard(db, sid, item_id):
    with db.transaction() as s:
        items.discard_item(s, actor(db, "op.desa"), sid, item_id)


def _mark_dead(db, sid):
    with db.transaction() as s:
        entry = _entry(db, sid, MOVER["nik"]).id
        register.set_status(s, actor(db, "op.desa"), sid, [entry], VervalStatus.MENINGGAL, "wafat")


def _flags(db, sid):
    with db.read() as s:
        return list(s.scalars(select(QualityFlag.rule).where(QualityFlag.submission_id == sid)))


def test_a_record_moved_to_another_category_and_its_person_entered_again_reach_the_next_copy_apart(db):
    """Q2 moves the elder's copy to PD with her full name and a note, and enters her again as LUT with
    another note: two registrations. The record keeps the move, a new LUT record begins, and the next
    period's copy of the record takes the move and the name, not the LUT entry's note."""
    named = "Maria Ingan Lahang"

    def twice(q2):
        _correct(db, q2, ELDER, kategori="PD", nama=named, keterangan=CARED_FOR)
        again = _save(db, q2, ELDER, nama=named, keterangan="tinggal sendiri")
        assert _item(db, again).record_id is None  # not the record the copy carries

    q2, q3 = _verified_then_next_opened(db, twice)
    _up(db, q2, ("verif.kab", "valid.prov"))
    with db.read() as s:
        standing = s.scalars(select(Record).where(Record.nik == ELDER["nik"], Record.status == RecordStatus.AKTIF))
        assert sorted((r.kategori, r.nama, r.keterangan) for r in standing) == [
            ("LUT", named, "tinggal sendiri"),
            ("PD", named, CARED_FOR),
        ]
    copy = _entry(db, q3, ELDER["nik"]).data
    assert (copy["kategori"], copy["nama"], copy["keterangan"]) == ("PD", named, CARED_FOR)


def test_an_entry_the_operator_set_aside_is_left_as_they_left_it(db):
    """Q3's operator moved the elder's copy to PD, entered her again as LUT (new data beside it) and set
    that entry aside: Q2's new address reaches the copy still in work, not the entry set aside, and
    only the copy is told."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    _correct(db, q3, ELDER, kategori="PD")
    again = _save(db, q3, ELDER)
    _discard(db, q3, again)
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert _item(db, again).data["alamat"] == ELDER["alamat"]
    assert _entry(db, q3, ELDER["nik"]).data["alamat"] == MOVED
    assert [(t["submission_id"], t["diperbarui"]) for t in _told(db)] == [(q3, 1)]
    with db.read() as s:
        trail = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(again))).all()
    assert "ITEM_UPDATED" not in trail


def test_an_entry_set_aside_after_a_return_is_not_checked_again_for_a_removal(db):
    """Q3's new entry of the mover as PD was judged by the kecamatan, returned and set aside by the
    operator (its row kept for the verdict): Q2's approval recording her dead raises nothing on it,
    and Q3 is told of its copy set aside only, not of an entry to note."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark_dead(db, q2))
    anew = _save(db, q3, MOVER, kategori="PD")
    submit(db, "op.desa", q3)
    decide(db, "verif.kec", q3, "return", "orang yang sama dengan LUT", verdicts={anew: "sudah terdaftar"})
    _discard(db, q3, anew)
    submit(db, "op.desa", q3)
    assert _item(db, anew).dibuang
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert [(t["submission_id"], t["disisihkan"], t["ditandai"]) for t in _told(db)] == [(q3, 1, 0)]


def test_a_new_entry_beside_the_copy_of_the_same_record_stays_new(db):
    """Q2 corrects the elder's mistyped NIK and adds a person; Q3's operator had entered the elder
    anew under the right NIK beside her copy. Q3 carries her record already (the copy takes the
    right NIK): the new entry stays new, for the checks to name twice, not a second entry of it."""
    right = compose("65.01.01", date(1940, 3, 3), "P", 12)

    def change(q2):
        _correct(db, q2, ELDER, nik=right)
        _save(db, q2, person_row(7))

    q2, q3 = _verified_then_next_opened(db, change)
    anew = _save(db, q3, ELDER, nik=right)
    _up(db, q2, ("verif.kab", "valid.prov"))
    entries = [(e.id == anew, e.aksi, e.record_id) for e in _entries_of(db, q3, right)]
    assert entries == [(False, "periksa", _record(db, right).id), (True, "tambah", None)]


def _newcomer_added_by_q2(db):
    """Q1 verified with the elder; Q2 enters the newcomer and goes up; Q3 opened before Q2 is approved."""
    _first_verified(db, [ELDER])
    q2, q3 = _opened(db, "2026-Q2", [NEWCOMER]), _opened(db, "2026-Q3")
    submit(db, "op.desa", q2)
    return q2, q3


def test_an_entry_linked_to_an_added_record_is_on_the_draft_s_trail_and_stale_on_a_form(db):
    """The link is the draft's own history (its instance), and a form opened on the entry before
    it was linked would save it back as a new person: refused."""
    q2, q3 = _newcomer_added_by_q2(db)
    entry = _save(db, q3, NEWCOMER)
    form = {k: NEWCOMER.get(k, "") for k in items.ITEM_COLUMNS} | {"versi": _item(db, entry).updated_at.isoformat()}
    _up(db, q2)
    with pytest.raises(Conflict), db.transaction() as s:
        items.save_item(s, actor(db, "op.desa"), q3, form, entry)
    with db.read() as s:
        said = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ITEM_UPDATED", AuditEvent.subject_id == str(entry))
        )
        instance = s.get(Submission, q3).instance_id
    assert said.after["aksi"] == "ubah" and said.instance_id == instance


def test_an_attribute_the_operator_wrote_in_the_later_copy_is_theirs_to_keep(db):
    """Q2 counts 55 members, Q3's operator counted 45 meanwhile: Q3 keeps its count, and takes the
    attribute it left as copied."""
    make_team(db)
    q1 = _opened(db, "2026-Q1")
    _save(db, q1, KAT, atribut={"jumlah_anggota": "40", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q1, reverify=False)
    _up(db, q1)
    q2, q3 = _opened(db, "2026-Q2"), _opened(db, "2026-Q3")
    with db.read() as s:
        e2, e3 = (s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == q)) for q in (q2, q3))
    _save(db, q2, KAT, e2, atribut={"jumlah_anggota": "55", "nama_ketua": "Pak Lawing"})
    _save(db, q3, KAT, e3, atribut={"jumlah_anggota": "45", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q2)
    _up(db, q2)
    assert _item(db, e3).data["atribut"] == {"jumlah_anggota": "45", "nama_ketua": "Pak Lawing"}


def test_a_family_card_given_where_the_register_had_none_reaches_the_copy(db):
    """The register holds no card for her, the copy an empty text: the same, so the card Q2 gives
    reaches Q3's copy."""
    lone = person_row(5, no_kk="")
    _first_verified(db, [lone])
    q2, q3 = _opened(db, "2026-Q2"), _opened(db, "2026-Q3")
    assert _entry(db, q3, lone["nik"]).data["no_kk"] == "" and _record(db, lone["nik"]).no_kk is None
    _correct(db, q2, lone, no_kk=ELDER["no_kk"])
    submit(db, "op.desa", q2)
    _up(db, q2)
    copy = _entry(db, q3, lone["nik"])
    assert (copy.data["no_kk"], copy.no_kk) == (ELDER["no_kk"], ELDER["no_kk"])


def test_a_copy_already_holding_the_approved_value_is_not_changed_nor_told(db):
    """Q3's operator wrote the same new address as Q2: nothing to bring, so nobody is told, and a
    form opened on the copy is not made stale."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    _correct(db, q3, ELDER, alamat=MOVED)
    copy = _entry(db, q3, ELDER["nik"])
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert _told(db) == []
    assert _entry(db, q3, ELDER["nik"]).updated_at == copy.updated_at


def test_a_new_entry_the_operator_set_aside_is_not_linked_to_the_added_record(db):
    """Set aside, the entry is not the draft's re-verification of the newcomer: her record joins the
    draft as a copy of its own, to be re-verified, and the entry set aside stays new."""
    q2, q3 = _newcomer_added_by_q2(db)
    entry = _save(db, q3, NEWCOMER)
    _discard(db, q3, entry)
    _up(db, q2)
    assert (_item(db, entry).aksi, _item(db, entry).record_id) == ("tambah", None)
    assert [(e.aksi, e.record_id) for e in _entries_of(db, q3, NEWCOMER["nik"]) if e.id != entry] == [
        ("periksa", _record(db, NEWCOMER["nik"]).id)
    ]


def test_a_category_changed_late_reaches_the_copy_s_own_column_and_the_draft_s_trail(db):
    """The lists and checks read an entry's category from its column: the copy counts as PD there
    too; and the change is on the draft's own history (its instance)."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, kategori="PD"))
    _up(db, q2, ("verif.kab", "valid.prov"))
    copy = _entry(db, q3, ELDER["nik"])
    assert (copy.data["kategori"], copy.kategori) == ("PD", "PD")
    with db.read() as s:
        said = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ITEM_UPDATED", AuditEvent.subject_id == str(copy.id))
        )
        assert said.instance_id == s.get(Submission, q3).instance_id


def test_a_person_entered_in_another_desa_is_checked_again_when_recorded_dead_here(db):
    """A desa of another kecamatan sent the mover up as new while she still stood on this register;
    Q2's approval records her dead: that submission is checked again and now asks its verifiers."""
    q2, _ = _verified_then_next_opened(db, lambda q2: _mark_dead(db, q2))
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.sekatak", "operator", ELSEWHERE)
        elsewhere = submissions.open_submission(s, SYSTEM, ELSEWHERE, "2026-Q3", "65").submission.id
        imports.import_items(s, SYSTEM, elsewhere, csv_of([MOVER]))
    submit(db, "op.sekatak", elsewhere)
    assert "tercatat_meninggal_tempat_lain" not in _flags(db, elsewhere)  # registered here, alive
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert "tercatat_meninggal_tempat_lain" in _flags(db, elsewhere)


def test_an_attribute_the_category_no_longer_asks_for_leaves_the_next_copy(db, request):
    """KAT stops asking for the leader's name; Q2's approval drops it from the record: Q3's copy,
    still holding it as copied, drops it too rather than keep an empty attribute."""
    make_team(db)
    q1 = _opened(db, "2026-Q1")
    _save(db, q1, KAT, atribut={"jumlah_anggota": "40", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q1, reverify=False)
    _up(db, q1)
    request.getfixturevalue("kat_without_leader")
    q2, q3 = _opened(db, "2026-Q2"), _opened(db, "2026-Q3")
    with db.read() as s:
        e2, e3 = (s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == q)) for q in (q2, q3))
    _save(db, q2, KAT, e2, atribut={"jumlah_anggota": "41"})
    submit(db, "op.desa", q2)
    _up(db, q2)
    assert _item(db, e3).data["atribut"] == {"jumlah_anggota": "41"}


# engine/verification/region_updates.py: the bounds of a decree's basis, which its own tests leave open


@pytest.mark.usefixtures("regions_restored")
def test_a_decree_effective_today_with_a_basis_of_the_full_length_is_applied(db):
    """The bounds are inclusive: a decree in force from today, cited in exactly the characters allowed."""
    today = date(2026, 12, 3)
    basis = ("K" * region_updates.BASIS_CHARS, today)
    with db.transaction() as s:
        plan = region_updates.apply_update(s, SYSTEM, listing(rename={MERGED: "Desa Pejalin Baru"}), "65", basis, today)
    assert [(c.kode, c.perubahan) for c in plan.changes] == [(MERGED, "ganti_nama")]
    with db.read() as s:
        assert s.get(Region, MERGED).nama == "Desa Pejalin Baru"
