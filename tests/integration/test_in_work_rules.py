"""Rules of an approval reaching the desa's other submissions in work that the overlapping periods'
own tests left open: only a removal checks a new entry again, and only once it went up; a copy
brought up to date refuses a form opened before and keeps a verifier's acknowledgment and its own
columns in step; a submission handed back is told as the desa's; a draft's register is filled in
afresh, one sent up is left as judged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict
from engine.verification import items, register
from models import AuditEvent, QualityFlag, SubmissionItem, VervalStatus
from tests.factories import actor, decide, person_row, submit
from tests.integration.test_overlapping_periods import (
    ELDER,
    MOVER,
    _correct,
    _entry,
    _mark,
    _opened,
    _save,
    _told,
    _up,
    _verified_then_next_opened,
    warning_on,
)


def _entered_anew(db, sid):
    """The new entry of MOVER as a person with a disability (PD) in submission `sid`."""
    with db.read() as s:
        return s.scalar(
            select(SubmissionItem).where(SubmissionItem.submission_id == sid, SubmissionItem.kategori == "PD")
        )


def _warned(db, item_id) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(QualityFlag.rule).where(QualityFlag.item_id == item_id)))


def test_a_correction_approved_late_checks_no_new_entry_again(db):
    """Only a person taken off the register makes an entry of them anew a question; a new address does not."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, MOVER, alamat="RT 07 Dusun Baru"))
    _save(db, q3, MOVER, kategori="PD")
    submit(db, "op.desa", q3)
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert [(t["submission_id"], t["ditandai"]) for t in _told(db)] == [(q3, 0)]
    assert "pernah_dihapus" not in _warned(db, _entered_anew(db, q3).id)


def test_a_draft_entering_anew_a_person_recorded_dead_is_checked_when_it_is_sent_not_before(db):
    """A draft's entries are checked when the operator submits it: the approval does not tell of a warning yet."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat"))
    _save(db, q3, MOVER, kategori="PD")
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert [t["ditandai"] for t in _told(db)] == [0]
    submit(db, "op.desa", q3)
    assert "pernah_dihapus" in _warned(db, _entered_anew(db, q3).id)


def test_a_submission_handed_back_to_the_desa_is_told_as_the_desa_s(db):
    """Returned by the kecamatan, the next period is the operator's again: they are the ones told."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat="RT 07 Dusun Baru"))
    submit(db, "op.desa", q3)
    decide(db, "verif.kec", q3, "return", "foto berita acara tidak terbaca")
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert [(t["submission_id"], t["tingkat"], t["task_id"]) for t in _told(db)] == [(q3, "desa", None)]


def test_an_approval_adding_a_person_fills_a_draft_s_register_but_not_one_sent_up(db):
    """A person added by Q2 is carried into the draft Q4 for re-verification; Q3, already judged, is left."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _save(db, q2, person_row(7)))
    submit(db, "op.desa", q3)
    q4 = _opened(db, "2026-Q4")
    _up(db, q2, ("verif.kab", "valid.prov"))
    with db.read() as s:
        carried = {sid: register.carried_records(s, [sid]) for sid in (q3, q4)}
    assert len(carried[q4]) == len(carried[q3]) + 1


def test_a_copy_brought_up_to_date_refuses_a_form_opened_before_and_says_why_on_the_trail(db):
    """The operator's form shows the copy as it was: saved after the approval changed it, it is refused."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat="RT 07 Dusun Baru"))
    copy = _entry(db, q3, ELDER["nik"])
    form = {k: ELDER.get(k, "") for k in items.ITEM_COLUMNS} | {
        "keterangan": "cucu",
        "versi": copy.updated_at.isoformat(),
    }
    _up(db, q2, ("verif.kab", "valid.prov"))
    with pytest.raises(Conflict), db.transaction() as s:
        items.save_item(s, actor(db, "op.desa"), q3, form, copy.id)
    with db.read() as s:
        said = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ITEM_UPDATED", AuditEvent.subject_id == str(copy.id))
        )
    assert "pengajuan periode 2026-Q2 yang disetujui" in said.reason


def test_a_warning_a_verifier_acknowledged_keeps_their_note_when_the_copy_is_set_aside(db):
    """Setting a copy aside settles only what still waits; a verifier's acknowledgment stays theirs."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Malinau"))
    submit(db, "op.desa", q3)
    copy = _entry(db, q3, MOVER["nik"])
    warning_on(db, copy, status="diakui", ack_by="verif.kec", ack_note="sudah dicek di lapangan")
    _up(db, q2, ("verif.kab", "valid.prov"))
    with db.read() as s:
        kept = s.scalar(select(QualityFlag).where(QualityFlag.item_id == copy.id))
    assert (kept.status, kept.ack_by, kept.ack_note) == ("diakui", "verif.kec", "sudah dicek di lapangan")


def test_a_family_card_corrected_late_reaches_the_copy_s_own_columns(db):
    """The checks read a copy's NIK and family card from its columns: the new card is there too."""
    card = ELDER["no_kk"][:-1] + ("1" if ELDER["no_kk"][-1] != "1" else "2")
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, no_kk=card))
    _up(db, q2, ("verif.kab", "valid.prov"))
    copy = _entry(db, q3, ELDER["nik"])
    assert (copy.data["no_kk"], copy.no_kk) == (card, card)
