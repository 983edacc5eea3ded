"""The same person found elsewhere: on the desa's register, in another desa's draft, or on a record
this very submission removes. A second registration is an error (the person would be counted twice
in the official figures); what is no registration at all (a removed record, an entry set aside, a
record being ended) must not be held against the new entry."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine.quality import record_rules
from engine.quality.nik import compose
from engine.verification import imports, item_checks, items, register
from models import RecordStatus, Severity, Submission, SubmissionItem, VervalStatus
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    actor,
    csv_of,
    items_of,
    make_team,
    open_with_items,
    person_row,
    register_record,
)

OTHER_DESA = "65.01.01.2006"  # Pejalin, in the same kecamatan as Gunung Putih
# the rules that say "this person is already registered": here, in another category, or elsewhere
SAME_PERSON = {"duplikat_nik", "duplikat_kategori", "duplikat_nik_kategori_lain", "pindah_kategori"}


def _on_register(db, *records) -> list[int]:
    with db.transaction() as s:
        s.add_all(records)
        s.flush()
        return [r.id for r in records]


def _checked(db, rows: list[dict[str, Any]], records: list[int | None] | None = None):
    """Each row's findings in Gunung Putih as (rule, severity), as the record checks report them;
    `records` as the submission's check passes it (None for an entry of its own)."""
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        found = record_rules.check_rows(s, rows, ctx, DESA, records=records)
    return [{(f.rule, f.severity) for f in row} for row in found]


def test_a_new_entry_with_the_nik_of_an_active_record_in_its_category_is_a_second_registration(db):
    # `records` says the row is an entry of its own, not the record's re-verification: the same
    # person would then stand twice in the desa's lanjut usia figures
    _on_register(db, register_record(1))
    (found,) = _checked(db, [person_row(1)], records=[None])
    assert ("duplikat_nik", Severity.ERROR) in found


def test_the_records_own_re_verification_is_not_a_second_registration(db):
    (record,) = _on_register(db, register_record(1))
    (found,) = _checked(db, [person_row(1)], records=[record])
    assert not {rule for rule, _ in found} & SAME_PERSON


def test_a_removed_record_does_not_make_a_new_entry_a_duplicate(db):
    # the person left the register (no longer in need) and is entered again: one registration, not two
    _on_register(db, register_record(1, status=RecordStatus.DIHAPUS))
    (found,) = _checked(db, [person_row(1)], records=[None])
    assert not {rule for rule, _ in found} & SAME_PERSON


def test_a_record_the_submission_removes_is_not_held_against_the_same_person_entered_anew(db):
    # a child with a disability turned 18: the ADK record is ended in this submission and the person
    # entered as PD; once approved they stand once, as PD
    team = make_team(db)
    born = date(2008, 6, 1)  # 18 on the period's last day
    (record,) = _on_register(db, _child_record(born))
    sid = open_with_items(db, rows=[])
    (copy,) = items_of(db, sid)
    assert copy.record_id == record
    with db.transaction() as s:
        register.set_status(
            s, actor(db, team.operator), sid, [copy.id], VervalStatus.TIDAK_LAYAK, "sudah 18 tahun, kini PD"
        )
        imports.import_items(s, SYSTEM, sid, csv_of([_adult(born)]))
    with db.transaction() as s:
        item_checks.check_submission(s, s.get(Submission, sid))
    entered = [i for i in items_of(db, sid) if i.record_id is None]
    assert [i.kategori for i in entered] == ["PD"]
    assert not {f["rule"] for f in entered[0].masalah} & SAME_PERSON, entered[0].masalah


def test_the_same_person_entered_anew_while_their_record_stays_is_told(db):
    # the contrast: without the removal the ADK record and the PD entry are the same person twice
    born = date(2008, 6, 1)
    _on_register(db, _child_record(born))
    (found,) = _checked(db, [_adult(born)], records=[None])
    assert {rule for rule, _ in found} & SAME_PERSON


def test_an_entry_another_desa_set_aside_is_not_registered_elsewhere(db):
    # Pejalin's operator typed the NIK and set the entry aside: it is nobody's registration, and
    # Gunung Putih's entry of the same person is no question for the verifiers
    team = make_team(db, OTHER_DESA)
    sid = open_with_items(db, [person_row(1)], desa=OTHER_DESA)
    (aside,) = items_of(db, sid)
    (found,) = _checked(db, [person_row(1)])
    assert "duplikat_nik_tempat_lain" in {rule for rule, _ in found}  # while it stands, it is asked
    with db.transaction() as s:
        items.discard_item(s, actor(db, team.operator), sid, aside.id)
    with db.read() as s:
        assert s.scalar(select(SubmissionItem.dibuang).where(SubmissionItem.id == aside.id))
    (found,) = _checked(db, [person_row(1)])
    assert "duplikat_nik_tempat_lain" not in {rule for rule, _ in found}


def _nik(born: date) -> str:
    return compose(DESA[:8], born, "P", 1)


def _child_record(born: date):
    """Person 1 on Gunung Putih's register as a child with a disability (ADK, 0-17 years)."""
    return register_record(1, kategori="ADK", tanggal_lahir=born, nik=_nik(born))


def _adult(born: date) -> dict[str, Any]:
    """The same person entered as an adult with a disability (PD, 18 years and over)."""
    return person_row(1, kategori="PD", tanggal_lahir=born.isoformat(), nik=_nik(born))
