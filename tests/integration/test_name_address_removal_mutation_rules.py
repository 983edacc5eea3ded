"""Names, addresses and removals as the verifiers read them on an entry.

- One person keyed twice in a desa without a NIK is told as possibly the same person: a name in
  the old spelling and abbreviated (Moeh. Ali for Muhammad Ali), a name of six words written again
  with the father's name after it, a name found whole within the first twelve words of a longer
  writing.
- The members of one family card keyed at several addresses are told how many different places the
  card is at: what the writings counted as one place say together (a street, an RT) tells it from
  the others, whatever order the writings come in; a block or estate's letter is not taken for a
  number of the street's name; a number after a number (a kilometre's decimal, a postcode) is no
  house number, nor is a Roman numeral after "No."; an address longer than any real one is read
  only as far as a real one goes.
- A file's row of a person the desa removed warns, naming the removal, unless the person stands on
  this desa's register again (the row re-verifies her); standing on another desa's register does not
  excuse it, and the quality list shows the category she was removed from; removed from two
  categories, she is told once. A death recorded anywhere in the province, another kabupaten too,
  is a warning for the verifiers of a new entry elsewhere, once however many categories it removed
  her from, wherever in a long file her row is; one on another province's register is not.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from engine.quality import record_rules, removed
from engine.verification import imports, item_checks, submissions
from models import QualityFlag, Record, RecordStatus, RecordVersion, Source, VervalStatus
from tests.factories import DESA, PERIOD, SYSTEM, csv_of, person_row, register_record, submit
from tests.integration.test_overlapping_periods import ELDER, MOVER, _first_verified, _mark, _opened, _up
from tests.integration.test_overlapping_returns import _import_elsewhere, _opened_elsewhere, _recorded_dead
from tests.integration.test_region_update_and_duplicate_rules import _checked, _on_register

# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, again",
    [
        ("Muhammad Ali", "Moeh. Ali"),  # the old spelling of an abbreviation
        ("Siti Nur Aisyah Putri Dewi Lestari", "Siti Nur Aisyah Putri Dewi Lestari binti Abdul Rahman Hakim"),
        ("Yohanes Laing", "Raden Mas Bagus Agung Joko Slamet Riyadi Eko Budi Santoso Wibowo Yohanes Laing"),
    ],
)
def test_one_person_keyed_twice_without_a_nik_is_told_as_possibly_the_same_person(db, first, again):
    """Both born on one day in Gunung Putih; the later row is told, naming the earlier one."""
    earlier, later = _checked(db, [person_row(1, nik="", nama=first), person_row(2, nik="", nama=again)])
    assert "duplikat_mirip" not in earlier
    assert first in later["duplikat_mirip"].message and "baris/item 2" in later["duplikat_mirip"].message


# --- addresses ------------------------------------------------------------------------------------

NOT_REAL = "Jl. Mulawarman " + "dekat masjid " * 25  # 340 characters before the RT


@pytest.mark.parametrize(
    "written, places",
    [
        (["RT 1 RW 1", "Jl. Mawar", "Jl. Melati"], 2),  # two streets, whichever the RT is on
        (["RT 1", "RT 2", "Jl. Melati", "Jl. Mawar RT 1"], 2),  # Jl. Mawar at RT 1, Jl. Melati at RT 2
        (["RT 1 RW 2", "RT 2", "RW 1", "RW 2"], 2),  # RT 1 in RW 2, RT 2 in RW 1
        (["Perum Korpri C 12", "Perum Pemda C 12"], 2),  # two estates, block C house 12 in each
        (["Jl. Mawar No. X RT 3", "Jl. Mawar No. 5 RT 3"], 1),  # a house number not known is no other house
        (["Jl. Poros Km 5,5", "Jl. Poros Km 5,5 No. 7"], 1),  # the house number added
        (["Jl. Sudirman No. 12 Tarakan 77111", "Jl. Sudirman No. 12"], 1),  # the postcode added
        ([NOT_REAL + "RT 1", NOT_REAL + "RT 2"], 1),
    ],
)
def test_a_family_card_keyed_at_several_addresses_is_told_how_many_places_it_is_at(db, written, places):
    rows = [person_row(n, alamat=alamat) for n, alamat in enumerate(written, start=1)]
    told = [found.get("kk_alamat") for found in _checked(db, rows)]
    if places == 1:
        assert told == [None] * len(rows)
    else:
        assert all(f"tercatat dengan {places} alamat berbeda" in finding.message for finding in told)


# --- people the register removed ------------------------------------------------------------------

REMOVED_BY_DESA = {"status": RecordStatus.DIHAPUS, "actor": "op.desa", "source": Source.VERVAL}


@pytest.mark.parametrize("stands_in, warned", [("65.01.01.2006", True), (DESA, False)])
def test_a_file_row_of_a_person_who_moved_away_warns_unless_she_stands_on_this_register_again(db, stands_in, warned):
    """MOVER moved away in 2026-Q2; she now stands on Pejalin's register (where she went: still a
    removal here) or on Gunung Putih's again (the file's row re-verifies her)."""
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2")
    _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Pejalin")
    submit(db, "op.desa", q2)
    _up(db, q2)
    _on_register(db, register_record(4, nik=MOVER["nik"], kode_desa=stands_in, tanggal_lahir=date(1950, 5, 5)))
    q3 = _opened(db, "2026-Q3")
    with db.transaction() as s:
        report = imports.import_items(s, SYSTEM, q3, csv_of([MOVER]))
    said = [p.message for p in report.warnings if "pernah dihapus" in p.message]
    assert len(said) == (1 if warned else 0)
    if warned:
        assert "periode 2026-Q2: pindah: ke Pejalin" in said[0]
        with db.transaction() as s:
            item_checks.check_submission(s, submissions.get_submission(s, q3))
        with db.read() as s:
            flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "pernah_dihapus"))
        assert flag.observed == "LUT"  # the category she was removed from, on the quality list


def _entered_elsewhere(db, rows, desa: str = "65.01.02.2001") -> tuple[list[str], list[tuple[str, str]]]:
    """`rows` entered in another desa's submission and checked: what its operator was warned of, and
    the flags (rule, severity) its verifiers see."""
    elsewhere = _opened_elsewhere(db, desa)
    report = _import_elsewhere(db, elsewhere, rows)
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, elsewhere))
    with db.read() as s:
        flags = s.scalars(select(QualityFlag).where(QualityFlag.submission_id == elsewhere)).all()
    return [p.message for p in report.warnings], [(f.rule, f.severity) for f in flags]


@pytest.mark.parametrize("desa", ["65.01.02.2001", "65.02.01.2002"])  # another kecamatan, another kabupaten
def test_a_death_recorded_anywhere_in_the_province_is_a_warning_for_the_verifiers_of_a_new_entry(db, desa):
    _recorded_dead(db)
    warned, flags = _entered_elsewhere(db, [MOVER], desa)
    assert warned == []  # the operator there is not told
    assert flags == [("tercatat_meninggal_tempat_lain", "warning")]


def test_a_person_removed_here_from_two_categories_is_told_once_on_a_new_entry(db):
    """Person 1 was on Gunung Putih's LUT and ODHA registers, and both records were removed: a new
    entry of her is one warning, naming a removal, not one per category."""
    with db.transaction() as s:
        for kategori in ("LUT", "ODHA"):
            record = register_record(1, kategori=kategori, status=RecordStatus.DIHAPUS)
            s.add(record)
            s.flush()
            removal = {"alasan_hapus": [None, "pindah: ke Malinau"]}
            s.add(RecordVersion(record_id=record.id, versi=1, nilai={}, perubahan=removal, **REMOVED_BY_DESA))
    with db.transaction() as s:
        [found] = record_rules.check_rows(s, [person_row(1)], record_rules.Context.load(s, PERIOD), DESA)
    told = [f.message for f in found if f.rule == "pernah_dihapus"]
    assert len(told) == 1 and "pindah: ke Malinau" in told[0]


def test_a_death_on_another_provinces_register_is_no_warning_here(db):
    """Kalimantan Timur's register shares the database: a death recorded there is its verifiers' to
    weigh, not a question put to Kalimantan Utara's."""
    _recorded_dead(db)
    with db.transaction() as s:
        s.execute(update(Record).where(Record.nik == MOVER["nik"]).values(kode_desa="64.01.01.2009"))
    assert _entered_elsewhere(db, [MOVER]) == ([], [])


def test_a_death_recorded_elsewhere_in_two_categories_is_one_warning_on_a_new_entry(db):
    """MOVER's death removed her from Gunung Putih's LUT register and, by the same decision, from its
    ODHA register: a new entry of her in another desa is one question, not one per category."""
    _recorded_dead(db)
    with db.transaction() as s:
        lut = s.scalar(select(Record).where(Record.nik == MOVER["nik"]))
        latest = (RecordVersion.record_id == lut.id, RecordVersion.versi == lut.versi)
        death = s.scalar(select(RecordVersion).where(*latest))
        odha = register_record(9, nik=MOVER["nik"], kategori="ODHA", status=RecordStatus.DIHAPUS)
        s.add(odha)
        s.flush()
        s.add(
            RecordVersion(
                record_id=odha.id,
                versi=1,
                nilai={},
                perubahan=death.perubahan,
                submission_id=death.submission_id,
                item_id=death.item_id,
                **REMOVED_BY_DESA,
            )
        )
    assert _entered_elsewhere(db, [MOVER])[1] == [("tercatat_meninggal_tempat_lain", "warning")]


def test_a_death_recorded_elsewhere_is_found_in_whichever_part_of_a_long_file_its_person_is(db, monkeypatch):
    """A long file is looked up in parts (here, of one NIK each): MOVER's row comes in a part after
    ELDER's, who was never removed."""
    _recorded_dead(db)
    monkeypatch.setattr(removed, "BATCH", 1)
    monkeypatch.setattr(removed, "ARRAY_BATCH", 1)
    assert ("tercatat_meninggal_tempat_lain", "warning") in _entered_elsewhere(db, [ELDER, MOVER])[1]
