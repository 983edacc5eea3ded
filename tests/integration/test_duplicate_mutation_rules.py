"""The same entry twice, at the edges an operator, a verifier or an auditor relies on.

- A row is told which earlier row it repeats, by the row number the operator sees in the file, for a
  NIK, a family card, an institution or a namesake typed twice; only the later row is faulted. A NIK
  slip reads the row's NIK as observed and the other's as expected, and is looked for on the
  registers of the desa's own province only; a namesake without a NIK is found however many
  namesakes with NIKs of their own come before.
- A child entered with the NIK of an elder on the register is refused as two categories that cannot
  hold together; a child and an adult entered together in one file are refused, not taken as a
  move (there is no record to end); a child record past its band is a move, noted.
- A family card on another desa's register is one question however often that desa holds it, and
  only in the category the family is entered in; an institution named twice is refused; people
  without a family card are no household with scattered addresses.
- A NIK on the desa's own register is said to be on the verified data. The operator is never told
  that a family card is registered elsewhere, nor that no other copy of a person marked "ganda"
  stays; the verifiers are.
- A record this submission moves to another category is no second registration of the person entered
  anew, even when the person is also in another desa's draft; a removal approved in another period
  (the person since returned) or set aside excuses nothing.
- A register copy marked "ganda" is a question unless another copy of the person stays in the same
  category: a copy removed, set aside, in another category, in a finished submission, or the same
  record carried into another open period keeps no one on the register, while a new entry elsewhere
  does; a removal sent up for verification is still in work; a family's only copy is asked about too.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.quality import ganda, namesakes, record_rules
from engine.quality.nik import compose
from engine.verification import imports, item_checks, register, submission_view, submissions
from models import ItemAction, RecordStatus, Severity, Submission, SubmissionItem, SubmissionStatus, VervalStatus
from tests.factories import DESA, PERIOD, SYSTEM, actor, csv_of, items_of, open_with_items, person_row, register_record
from tests.integration.test_region_update_and_duplicate_rules import _checked, _on_register

OTHER_DESA = "65.01.01.2006"  # Pejalin, in Gunung Putih's kecamatan; op.lain's desa


# --- which row repeats which ----------------------------------------------------------------------


def test_a_nik_typed_twice_names_the_earlier_row_by_its_number_in_the_file(db):
    """Row 2 of the file is the first data row: the third row is told it repeats row 2."""
    found = _checked(db, [person_row(1), person_row(2), person_row(1)])
    assert "duplikat_nik" not in found[0]
    assert found[2]["duplikat_nik"].message.endswith("baris/item lain (2)")


def test_a_family_card_typed_twice_faults_only_the_later_row_and_names_the_first(db):
    kk = "6501011705500077"
    rows = [person_row(n, kategori="FM", nik="", nama=f"Keluarga {n}", no_kk=kk) for n in (1, 2)]
    found = _checked(db, rows)
    assert "duplikat_kk" not in found[0]
    assert found[1]["duplikat_kk"].message == f"nomor KK {kk} sudah ada pada kategori yang sama (baris/item lain (2))"


def test_an_institution_named_three_times_is_refused_twice_each_time_naming_the_first(db):
    """An institution (not only a community) is one entry per category and file."""
    rows = [
        {"kategori": "LKS", "nama": name} for name in ("LKS Harapan Bunda", "lks harapan  bunda", "LKS Harapan Bunda")
    ]
    found = _checked(db, rows)
    assert "duplikat_nama" not in found[0]
    for later in found[1:]:
        assert later["duplikat_nama"].severity == Severity.ERROR
        assert later["duplikat_nama"].message.endswith("(baris/item lain (2))")


def test_a_nik_slip_within_the_file_reads_the_rows_nik_as_observed_and_the_others_as_expected(db):
    rows = [person_row(1, nama="Siti Aminah"), person_row(2, nama="SITI AMINAH", alamat="Jl. Lain")]
    slip = _checked(db, rows)[1]["nik_salah_ketik"]
    assert (slip.observed, slip.expected) == (rows[1]["nik"], rows[0]["nik"])


def test_a_nik_slip_is_looked_for_on_the_registers_of_the_desas_own_province_only(db):
    """A namesake born the same day, a NIK a digit away, on a register of another province is not
    this province's to count twice; in a desa next door, the verifiers are asked."""
    slipped = person_row(1, nama="Siti Aminah", nik=person_row(2)["nik"])
    _on_register(db, register_record(1, kode_desa="64.01.01.2009", nama="Siti Aminah"))
    (found,) = _checked(db, [slipped], [None])
    assert "nik_salah_ketik_tempat_lain" not in found
    _on_register(db, register_record(1, kode_desa=OTHER_DESA, nama="Siti Aminah"))
    (found,) = _checked(db, [slipped], [None])
    assert found["nik_salah_ketik_tempat_lain"].detail["tempat"] == OTHER_DESA


def test_a_namesake_without_a_nik_names_the_row_it_resembles_by_its_number(db):
    found = _checked(db, [person_row(1, nik="", nama="Siti Aminah"), person_row(2, nik="", nama="SITI AMINAH")])
    assert "duplikat_mirip" not in found[0]
    assert "baris/item 2," in found[1]["duplikat_mirip"].message


# --- categories that cannot hold together ---------------------------------------------------------


def test_a_child_entered_with_the_nik_of_an_elder_on_the_register_is_refused_as_two_categories(db):
    """The desa's register holds the NIK as a lanjut usia; a child with it is no move from that record
    (lanjut usia has no upper age) but two categories that cannot both be right."""
    born = date(2015, 3, 1)
    nik = compose(DESA[:8], born, "P", 1)
    _on_register(db, register_record(1, nik=nik))
    row = person_row(1, kategori="ADK", tanggal_lahir=born.isoformat(), nik=nik)
    (found,) = _checked(db, [row], [None])
    finding = found["duplikat_kategori"]
    assert finding.severity == Severity.ERROR and (finding.observed, finding.expected) == ("ADK", "LUT")


def test_a_child_and_an_adult_entered_together_for_a_person_just_turned_18_are_refused(db):
    """Nothing on the register is to be ended: one of the two rows is wrong, whichever comes first."""
    born = date(2008, 6, 1)  # 18 on the period's last day
    nik = compose(DESA[:8], born, "P", 1)
    rows = [person_row(1, kategori=k, tanggal_lahir=born.isoformat(), nik=nik) for k in ("ADK", "PD")]
    found = _checked(db, rows)
    assert found[1]["duplikat_kategori"].severity == Severity.ERROR
    assert "pindah_kategori" not in found[1]


def test_the_same_nik_on_the_desas_register_is_said_to_be_on_its_verified_data(db):
    _on_register(db, register_record(1))
    (found,) = _checked(db, [person_row(1)], [None])
    assert found["duplikat_nik"].message.endswith(f"di data terverifikasi desa {DESA}")


# --- families and households ----------------------------------------------------------------------


def test_a_family_twice_on_another_desas_register_is_one_question(db):
    kk = "6501011705500077"
    _on_register(
        db,
        register_record(1, kode_desa=OTHER_DESA, kategori="FM", nik=None, no_kk=kk),
        register_record(2, kode_desa=OTHER_DESA, kategori="FM", nik=None, no_kk=kk),
    )
    (found,) = _rule_lists(db, [person_row(3, kategori="FM", nik="", no_kk=kk)])
    assert found.count("duplikat_kk_tempat_lain") == 1


def test_a_family_card_elsewhere_in_another_per_family_category_is_no_question(db):
    """Fakir miskin in one desa and a family with social-psychological problems in another: two
    categories, each counted once; the family is asked about only in the category it is entered in."""
    kk = "6501011705500077"
    _on_register(db, register_record(1, kode_desa=OTHER_DESA, kategori="KBSP", nik=None, no_kk=kk))
    (found,) = _checked(db, [person_row(3, kategori="FM", nik="", no_kk=kk)])
    assert "duplikat_kk_tempat_lain" not in found
    (found,) = _checked(db, [person_row(3, kategori="KBSP", nik="", no_kk=kk)])
    assert found["duplikat_kk_tempat_lain"].detail["kategori"] == "KBSP"


def test_people_without_a_family_card_are_no_household_with_scattered_addresses(db):
    rows = [person_row(n, no_kk="", alamat=f"RT {n} RW 1") for n in (1, 2, 3)]
    assert ["kk_alamat" in row for row in _checked(db, rows)] == [False, False, False]


def _rule_lists(db, rows):
    """Each row's rules in Gunung Putih, as a list (a rule told twice appears twice)."""
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        return [[f.rule for f in row] for row in record_rules.check_rows(s, rows, ctx, DESA)]


# --- a copy marked "ganda" -----------------------------------------------------------------------


def _mark_ganda(db, desa: str, operator: str, kategori: str = "LUT") -> int:
    """The desa's register copy of person 1 in `kategori` marked "ganda"; the item's id."""
    sid = open_with_items(db, [], desa=desa)
    with db.transaction() as s:
        register.prefill(s, {desa: sid})
        item = s.scalar(
            select(SubmissionItem).where(SubmissionItem.submission_id == sid, SubmissionItem.kategori == kategori)
        )
        register.set_status(s, actor(db, operator), sid, [item.id], VervalStatus.GANDA, "tercatat di desa lain")
        return item.id


def _questioned(db, item_id: int) -> bool:
    with db.read() as s:
        found = ganda.ganda_findings(s, s.get(SubmissionItem, item_id))
    return [(f.rule, f.severity) for f in found] == [(ganda.RULE, Severity.WARNING)]  # to be acknowledged


def test_a_copy_in_another_category_keeps_no_one_on_the_register_the_ganda_mark_takes_them_off(db, people):
    """Lanjut usia and disabled, on two records: marking the lanjut usia one "ganda" removes the person
    from the lanjut usia figures, whatever the other record."""
    _on_register(db, register_record(1), register_record(1, kategori="PD"))
    assert _questioned(db, _mark_ganda(db, DESA, "op.desa"))


def test_a_removed_copy_elsewhere_keeps_no_one_on_the_register(db, people):
    _on_register(db, register_record(1), register_record(1, kode_desa=OTHER_DESA, status=RecordStatus.DIHAPUS))
    assert _questioned(db, _mark_ganda(db, DESA, "op.desa"))


def test_a_new_entry_of_the_person_in_another_desa_keeps_them_registered(db, people):
    _on_register(db, register_record(1))
    open_with_items(db, [person_row(1)], desa=OTHER_DESA)
    assert not _questioned(db, _mark_ganda(db, DESA, "op.desa"))


def test_a_new_entry_elsewhere_set_aside_or_in_another_category_keeps_no_one(db, people):
    _on_register(db, register_record(1))
    there = open_with_items(db, [person_row(1), person_row(1, kategori="PD")], desa=OTHER_DESA)
    with db.transaction() as s:
        for item in s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == there)):
            item.dibuang = item.kategori == "LUT"
    assert _questioned(db, _mark_ganda(db, DESA, "op.desa"))


def test_an_entry_of_a_finished_submission_keeps_no_one_registered(db, people):
    """An approved period's entry became a record (since removed): it is no copy that stays."""
    _on_register(db, register_record(1))
    there = open_with_items(db, [person_row(1)], desa=OTHER_DESA)
    with db.transaction() as s:
        s.get(Submission, there).status = SubmissionStatus.TERVERIFIKASI
    assert _questioned(db, _mark_ganda(db, DESA, "op.desa"))


def test_a_copy_marked_ganda_in_a_submission_sent_up_for_verification_does_not_stay(db, people):
    """Gunung Sari's removal waits at the kecamatan: it is still in work, so Gunung Putih's mark of its
    own copy would leave the person on no register."""
    _on_register(db, register_record(1), register_record(1, kode_desa=OTHER_DESA))
    theirs = _mark_ganda(db, OTHER_DESA, "op.lain")
    ours = _mark_ganda(db, DESA, "op.desa")
    with db.transaction() as s:
        s.get(Submission, s.get(SubmissionItem, theirs).submission_id).status = SubmissionStatus.DIAJUKAN
    assert _questioned(db, ours)


def test_the_only_copy_of_a_family_marked_ganda_is_a_question(db, people):
    """A family is known by its card, not a NIK: marking its only copy "ganda" takes it off every
    register, as it would a person."""
    kk = "6501011705500077"
    _on_register(db, register_record(1, kategori="FM", nik=None, no_kk=kk))
    marked = _mark_ganda(db, DESA, "op.desa", "FM")
    assert _questioned(db, marked)
    with db.read() as s:
        (found,) = ganda.ganda_findings(s, s.get(SubmissionItem, marked))
    assert "nomor KK ini" in found.message and "keluarga ini" in found.message  # no NIK to speak of


def test_a_familys_other_copy_on_another_desas_register_keeps_it_registered(db, people):
    kk = "6501011705500077"
    _on_register(
        db,
        register_record(1, kategori="FM", nik=None, no_kk=kk),
        register_record(2, kategori="FM", nik=None, no_kk=kk, kode_desa=OTHER_DESA),
    )
    assert not _questioned(db, _mark_ganda(db, DESA, "op.desa", "FM"))


# --- what the desa's operator is told -------------------------------------------------------------


def test_the_operator_importing_a_family_is_not_told_its_card_is_registered_elsewhere(db):
    """Told, an operator could learn by importing which family cards receive services elsewhere."""
    kk = "6501011705500077"
    _on_register(db, register_record(1, kode_desa=OTHER_DESA, kategori="FM", nik=None, no_kk=kk))
    sid = open_with_items(db, [])
    with db.transaction() as s:
        report = imports.import_items(s, SYSTEM, sid, csv_of([person_row(3, kategori="FM", nik="", no_kk=kk)]))
    assert report.added == 1 and report.warnings == []
    (entered,) = [i for i in items_of(db, sid) if i.record_id is None]
    assert "duplikat_kk_tempat_lain" in {m["aturan"] for m in entered.masalah}  # kept for the verifiers


def test_the_operator_does_not_read_that_no_other_copy_of_a_person_marked_ganda_stays(db, people):
    """Whether a copy stays elsewhere tells where else the person is registered: the verifiers read it."""
    _on_register(db, register_record(1))
    marked = _mark_ganda(db, DESA, "op.desa")
    with db.transaction() as s:
        item = s.get(SubmissionItem, marked)
        submission = s.get(Submission, item.submission_id)
        item_checks.check_submission(s, submission)
        told = {
            user: {m["aturan"] for m in submission_view.rows_of(s, actor(db, user), submission, [item])[0].checks}
            for user in ("op.desa", "verif.kec")
        }
    assert told == {"op.desa": set(), "verif.kec": {ganda.RULE}}


def test_the_marked_record_carried_into_another_open_period_is_no_other_copy(db, people):
    """The last quarter's submission, still in work, carries the same record to be re-verified: it is
    the very copy being marked, not a second one that keeps the person registered."""
    _on_register(db, register_record(1))
    with db.transaction() as s:
        earlier = submissions.open_submission(s, SYSTEM, DESA, "2026-Q3", "65").submission.id
    assert [i.record_id is not None for i in items_of(db, earlier)] == [True]
    assert _questioned(db, _mark_ganda(db, DESA, "op.desa"))


# --- a record this submission takes off its register ----------------------------------------------


def _removed_in(db, period: str, status: SubmissionStatus, aside: bool = False) -> int:
    """Gunung Putih's submission of `period`, its copy of the register's one record marked moved away."""
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, period, "65").submission.id
        copy = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        copy.aksi, copy.verval, copy.verval_alasan = ItemAction.HAPUS, VervalStatus.PINDAH, "pindah ke Pejalin"
        copy.dibuang = aside
        s.get(Submission, sid).status = status
        return sid


def _entered_anew(db, sid: int) -> set[str]:
    """The rules the person raises, entered in submission `sid` as an entry of its own."""
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        (found,) = record_rules.check_rows(s, [person_row(1)], ctx, DESA, submission_id=sid, records=[None])
    return {f.rule for f in found}


def test_a_record_moved_to_another_category_here_is_no_second_registration_though_the_person_is_elsewhere(db):
    """The desa moves the lanjut usia record to PD and enters the person again as lanjut usia, while
    Pejalin's draft holds them too: a question about Pejalin, not an error about the moved record."""
    _on_register(db, register_record(1))
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).kategori = "PD"
    open_with_items(db, [person_row(1)], desa=OTHER_DESA)
    assert _entered_anew(db, sid) == {"duplikat_nik_tempat_lain"}


def test_a_removal_approved_in_another_period_does_not_excuse_a_second_entry_of_a_returned_person(db):
    """The person was taken off in an earlier quarter and is on the register again: entered once more
    in this quarter's submission, they would stand twice."""
    _on_register(db, register_record(1))
    _removed_in(db, "2026-Q2", SubmissionStatus.TERVERIFIKASI)
    with db.transaction() as s:
        now = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
    assert "duplikat_nik" in _entered_anew(db, now)


def test_a_removal_set_aside_does_not_excuse_the_same_person_entered_anew(db):
    """Set aside, the removal is dropped on the way up and the record stays: the new entry is the same
    person twice, as it is when a category change is set aside."""
    _on_register(db, register_record(1))
    sid = _removed_in(db, PERIOD, SubmissionStatus.DRAF, aside=True)
    assert "duplikat_nik" in _entered_anew(db, sid)


# --- namesakes ------------------------------------------------------------------------------------


def test_a_namesake_without_a_nik_is_found_behind_twenty_namesakes_with_their_own_niks(db):
    """Twenty-one Siti Aminah born on one day, each with a NIK of her own, one without a NIK, then
    one more with a NIK: the last is asked about the one without, whom a NIK cannot tell apart."""
    born = date(1950, 5, 17)
    serials = [int(f"{k:02d}{k:02d}") for k in range(1, 22)]
    rows = [person_row(n, nama="Siti Aminah", nik=compose(DESA[:8], born, "P", n)) for n in serials]
    rows += [person_row(99, nama="Siti Aminah", nik=""), person_row(2323, nama="Siti Aminah")]
    rows[-1]["nik"] = compose(DESA[:8], born, "P", 2323)
    findings = [[] for _ in rows]
    with db.read() as s:
        namesakes.person_findings(s, rows, DESA, findings)
    told = [f.message for f in findings[-1] if f.rule == "duplikat_mirip"]
    assert len(told) == 1 and "baris/item 23," in told[0]
