"""People the register let go (died, moved, no longer eligible) while the desa's next period was in
work: a form opened on their copy says they are gone, an entry of them anew warns and waits for a
verifier's note (and is checked again when the removal is approved after it went up), a death is a
question for the verifiers of another desa, and a person who moved away or came back is not a
false alarm."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict, Invalid
from engine.verification import imports, item_checks, items, register, submissions
from models import QualityFlag, SubmissionItem, VervalStatus
from tests.factories import SYSTEM, actor, csv_of, decide, decide_task, open_task, submit
from tests.integration.test_overlapping_periods import (
    DESA,
    ELDER,
    MOVER,
    _entry,
    _first_verified,
    _lut,
    _mark,
    _opened,
    _save,
    _told,
    _up,
    _verified_then_next_opened,
)


def _recorded_dead(db):
    """Q1 verified with both elders; Q2 records MOVER dead and is approved; Q3 opened before."""
    _first_verified(db, [MOVER, ELDER])
    q2, q3 = _opened(db, "2026-Q2"), _opened(db, "2026-Q3")
    _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "Agustus 2026")
    submit(db, "op.desa", q2)
    _up(db, q2)
    return q3


def test_a_form_opened_on_a_copy_later_taken_off_the_register_says_so_first(db):
    """The form was opened before Q2's approval took the person off: the refusal says to enter the
    person anew, not to reload a form that can never be saved."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat"))
    copy = _entry(db, q3, MOVER["nik"])
    form = {k: MOVER.get(k, "") for k in items.ITEM_COLUMNS} | {"alamat": "RT 09", "versi": copy.updated_at.isoformat()}
    _up(db, q2, ("verif.kab", "valid.prov"))
    with pytest.raises(Conflict, match="masukkan sebagai data baru"), db.transaction() as s:
        items.save_item(s, actor(db, "op.desa"), q3, form, copy.id)


def test_a_person_recorded_dead_entered_again_as_new_is_a_warning_naming_the_removal(db):
    """The operator enters the dead person again (from an old list): the entry warns with the period
    and the reason, and the kecamatan acknowledges it or returns the submission."""
    q3 = _recorded_dead(db)
    entry = _save(db, q3, MOVER)
    with db.read() as s:
        said = s.get(SubmissionItem, entry).masalah
    assert [(m["aturan"], m["tingkat"]) for m in said] == [("pernah_dihapus", "warning")]
    assert "periode 2026-Q2: meninggal: Agustus 2026" in said[0]["pesan"]
    submit(db, "op.desa", q3)
    with pytest.raises(Invalid, match="belum diakui"):
        decide(db, "verif.kec", q3, "approve")


def test_a_new_entry_sent_up_before_the_person_was_recorded_dead_is_checked_again(db):
    """Q3 went up with the elder's copy found and the person entered anew in another category (PD),
    checked while she still stood on the register; Q2's approval records her dead. The new entry now
    warns, and Q3 is not approved until a verifier notes it (it would bring her back as PD)."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat"))
    _save(db, q3, MOVER, kategori="PD")
    submit(db, "op.desa", q3)
    _up(db, q3, ("verif.kec", "verif.kab"))
    _up(db, q2, ("verif.kab", "valid.prov"))
    entry = next(i for i in _items(db, q3) if i.nik == MOVER["nik"] and i.kategori == "PD")
    with db.read() as s:
        warned = s.scalar(
            select(QualityFlag).where(QualityFlag.item_id == entry.id, QualityFlag.rule == "pernah_dihapus")
        )
    assert warned.status == "terbuka" and "meninggal: wafat" in warned.message
    assert [(t["submission_id"], t["ditandai"]) for t in _told(db)] == [(q3, 1)]
    with pytest.raises(Invalid, match="belum diakui"):
        decide(db, "valid.prov", q3, "approve")


def _items(db, sid):
    with db.read() as s:
        return s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).all()


def test_a_person_recorded_dead_in_another_desa_is_a_question_for_the_verifiers_only(db):
    q3 = _recorded_dead(db)
    elsewhere = _opened_elsewhere(db)
    report = _import_elsewhere(db, elsewhere, [MOVER])
    assert report.warnings == []  # the operator there is not told where, or that, the person was registered
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, elsewhere))
    with db.read() as s:
        flags = s.scalars(select(QualityFlag).where(QualityFlag.submission_id == elsewhere)).all()
    assert [(f.rule, f.sources["tempat"]) for f in flags] == [("tercatat_meninggal_tempat_lain", DESA)]
    assert _entry(db, q3, MOVER["nik"]).dibuang


def test_a_person_who_moved_away_is_entered_where_they_went_without_a_warning(db):
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2")
    _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Sekatak")
    submit(db, "op.desa", q2)
    _up(db, q2)
    elsewhere = _opened_elsewhere(db)
    _import_elsewhere(db, elsewhere, [MOVER])
    with db.transaction() as s:
        assert item_checks.check_submission(s, submissions.get_submission(s, elsewhere)) == []
    with db.read() as s:
        assert not s.scalars(select(QualityFlag).where(QualityFlag.submission_id == elsewhere)).all()


def _opened_elsewhere(db, desa="65.01.02.2001"):
    with db.transaction() as s:
        return submissions.open_submission(s, SYSTEM, desa, "2026-Q3", "65").submission.id


def _import_elsewhere(db, sid, rows):
    with db.transaction() as s:
        return imports.import_items(s, SYSTEM, sid, csv_of(list(rows)))


def test_a_person_who_moved_back_can_be_entered_again_in_the_next_period(db):
    """Q2 records MOVER moved away; Q3 (opened before) has its copy set aside at Q2's approval; MOVER
    came back during Q3: the operator enters her again, and Q3's approval puts her on the register."""
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2")
    q3 = _opened(db, "2026-Q3")
    with db.transaction() as s:
        register.set_status(
            s, actor(db, "op.desa"), q2, [_entry(db, q2, MOVER["nik"]).id], VervalStatus.PINDAH, "ke Malinau"
        )
    submit(db, "op.desa", q2)
    _up(db, q2)
    assert _entry(db, q3, MOVER["nik"]).dibuang
    _save(db, q3, MOVER, keterangan="kembali dari Malinau")  # a new entry of the person
    submit(db, "op.desa", q3)
    with db.read() as s:  # the kecamatan is told she was removed, and notes that she came back
        told = s.scalar(
            select(QualityFlag).where(QualityFlag.submission_id == q3, QualityFlag.rule == "pernah_dihapus")
        )
    assert "2026-Q2: pindah: ke Malinau" in told.message
    with db.transaction() as s:
        decide_task(s, "verif.kec", open_task(db, q3).id, "approve", acknowledgements={told.id: "kembali, cek KTP"})
    _up(db, q3, ("verif.kab", "valid.prov"))
    assert _lut(db, "2026-Q3") == 2
    # back on the register, she is re-verified from then on, by the next period's copy or a file
    # of the desa's people, without being asked about again
    q4 = _opened(db, "2026-Q4")
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, q4, csv_of([MOVER, ELDER]))
        assert item_checks.check_submission(s, submissions.get_submission(s, q4)) == []
    with db.read() as s:
        asked = s.scalars(select(QualityFlag.rule).where(QualityFlag.submission_id == q4)).all()
    assert "pernah_dihapus" not in asked
