"""DTSEN linkage: an extract replaces the previous one whole, records link by NIK then KK, and the
three flags are raised where they should be and nowhere else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core.errors import Invalid
from engine.verification import dtsen, linkage
from models import DtsenEntry, QualityFlag, Record, RecordStatus
from tests.factories import DESA, SYSTEM, person_row, register_record

HEADER = "nik,no_kk,desil,program,kode_wilayah\n"


def _record(db, serial, kategori, no_kk="6501011705500001"):
    with db.transaction() as s:
        record = register_record(serial, kategori=kategori, no_kk=no_kk)
        s.add(record)
    return record


def _import(db, text):
    with db.transaction() as s:
        return dtsen.import_extract(s, SYSTEM, dtsen.read_extract("dtsen.csv", text.encode()), "65")


def test_records_link_by_nik_then_by_family_card_and_the_flags_fall_where_they_should(db):
    poor_in_dtsen = _record(db, 1, "FM", no_kk="6501010000000001")
    poor_by_kk = _record(db, 2, "FM", no_kk="6501010000000002")
    poor_missing = _record(db, 3, "FM", no_kk="6501010000000003")
    rich_prse = _record(db, 4, "PRSE", no_kk="6501010000000004")
    elderly = _record(db, 5, "LUT", no_kk="6501010000000005")
    unregistered = "6501010101900009"
    report = _import(
        db,
        HEADER
        + f"{poor_in_dtsen.nik},6501010000000001,1,PKH|BPNT,{DESA}\n"
        + f"6501010101800001,6501010000000002,2,PKH,{DESA}\n"  # another member of the second family
        + f"{rich_prse.nik},6501010000000004,9,,{DESA}\n"
        + f"{unregistered},6501010000000009,1,BPNT,{DESA}\n",
    )
    assert (report.rows, report.linked_nik, report.linked_kk) == (4, 2, 1)
    assert report.flags == {"dtsen_fm_tidak_ada": 1, "dtsen_desil_tinggi": 1, "dtsen_desil_rendah": 1}
    with db.read() as s:
        flags = {(f.rule, f.record_id) for f in s.scalars(select(QualityFlag))}
        found = linkage.dtsen_for(s, [(r.nik, r.no_kk) for r in (poor_in_dtsen, poor_by_kk, elderly)])
        information = dtsen.desa_information(s, SYSTEM, DESA)
    assert flags == {
        ("dtsen_fm_tidak_ada", poor_missing.id),
        ("dtsen_desil_tinggi", rich_prse.id),
        ("dtsen_desil_rendah", None),
    }
    assert found[(poor_in_dtsen.nik, poor_in_dtsen.no_kk)] == linkage.DtsenView(1, ("PKH", "BPNT"), "nik")
    assert found[(poor_by_kk.nik, poor_by_kk.no_kk)] == linkage.DtsenView(2, ("PKH",), "kk")
    assert (elderly.nik, elderly.no_kk) not in found
    assert [e.nik for e in information] == [unregistered]


def test_a_new_extract_replaces_the_old_one_and_its_flags(db):
    _record(db, 3, "FM")
    assert _import(db, HEADER + f"{person_row(9)['nik']},,5,,\n").flags == {"dtsen_fm_tidak_ada": 1}
    assert _import(db, HEADER + f"{person_row(3)['nik']},,1,PKH,\n").flags == {}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(DtsenEntry)) == 1
        assert s.scalar(select(func.count()).select_from(QualityFlag)) == 0


def test_a_wrong_extract_is_refused_whole_with_a_problem_per_row(db):
    _import(db, HEADER + f"{person_row(3)['nik']},,1,PKH,\n")
    with pytest.raises(Invalid) as refused:
        _import(
            db, HEADER + "123,,1,,\n" + f"{person_row(4)['nik']},,11,PKH,\n" + f"{person_row(5)['nik']},,3,<x>,99\n"
        )
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (2, "nik"),
        (3, "desil"),
        (4, "program"),
        (4, "kode_wilayah"),
    ]
    with db.read() as s:  # the earlier extract is untouched
        assert s.scalar(select(func.count()).select_from(DtsenEntry)) == 1


def test_people_are_found_by_nik_or_card_in_one_read_per_chunk_across_chunks(db, statements, monkeypatch):
    """Both keys are asked in one read per chunk; a person whose NIK is asked in one chunk and whose
    family card is asked in another is still found by NIK, and a family's members by their card."""
    entries = [(f"650101010190000{i}", f"650101000000000{i}", i, "PKH" if i % 2 else "BPNT") for i in range(1, 6)] + [
        ("6501010101800009", "6501010000000003", 1, "PENA")
    ]  # another member of family 3
    _import(db, HEADER + "".join(f"{n},{k},{d},{p},{DESA}\n" for n, k, d, p in entries))
    people = [
        ("6501010101900001", None),  # by NIK
        ("6501010101900005", "6501010000000001"),  # by NIK, though another family's card is asked too
        ("6501019999999999", "6501010000000003"),  # not in DTSEN: by card, the family's lowest decile
        ("6501019999999998", "6501010000000004"),
        ("6501019999999997", "6501010000000099"),  # neither
    ]
    monkeypatch.setattr(linkage, "CHUNK", 2)
    statements.clear()
    with db.read() as s:
        found = linkage.dtsen_for(s, people)
    assert len([q for q in statements if "FROM dtsen_entry" in q]) == 3  # 5 NIKs and 4 cards, 2 at a time
    assert found == {
        people[0]: linkage.DtsenView(1, ("PKH",), "nik"),
        people[1]: linkage.DtsenView(5, ("PKH",), "nik"),
        people[2]: linkage.DtsenView(1, ("PENA", "PKH"), "kk"),
        people[3]: linkage.DtsenView(4, ("BPNT",), "kk"),
    }


def test_the_operators_list_looks_each_resident_up_in_the_register_instead_of_reading_it_whole(db, statements):
    """Each resident of deciles 1-2 is looked up in the active register by NIK and by family card (a
    correlated EXISTS on their own keys), never compared with every NIK and card of the country's
    register (`NOT IN` over it); who is listed stays the same."""
    by_nik = _record(db, 1, "FM", no_kk="6501010000000001")
    _record(db, 2, "FM", no_kk="6501010000000002")
    ended = _record(db, 3, "LUT", no_kk="6501010000000003")
    with db.transaction() as s:
        s.get(Record, ended.id).status = RecordStatus.DIHAPUS
    unregistered, ended_family, no_card = "6501010101900009", "6501010101800003", "6501010101700007"
    _import(
        db,
        HEADER
        + f"{by_nik.nik},6501010000000099,1,PKH,{DESA}\n"  # registered by NIK
        + f"6501010101800002,6501010000000002,2,PKH,{DESA}\n"  # registered by the family's card
        + f"{unregistered},6501010000000009,1,BPNT,{DESA}\n"
        + f"{ended_family},6501010000000003,2,,{DESA}\n"  # the family's only record has ended
        + f"{no_card},,1,,{DESA}\n"
        + f"6501010101600006,6501010000000006,5,,{DESA}\n",  # not among the poorest
    )
    statements.clear()
    with db.read() as s:
        information = dtsen.desa_information(s, SYSTEM, DESA)
    assert [e.nik for e in information] == [no_card, unregistered, ended_family]
    (listed,) = [q for q in statements if "FROM dtsen_entry" in q]
    assert "NOT IN" not in listed
    assert listed.count("NOT (EXISTS (SELECT") == 2
    assert "ppks_record.nik = dtsen_entry.nik" in listed
    assert "ppks_record.no_kk = dtsen_entry.no_kk" in listed
