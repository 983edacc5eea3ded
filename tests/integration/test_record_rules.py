"""Each record rule, through the import path: an error refuses the file naming the cell; a warning
passes the import and becomes a flag that a verifier must acknowledge before approving."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import models
from engine.core.errors import Invalid
from engine.quality.nik import compose
from engine.verification import imports, item_checks, items, register, submissions
from models import AuditEvent, ItemSource, QualityFlag
from tests.factories import SYSTEM, actor, csv_of, decide, decide_task, make_team, open_task, person_row, submit

DESA = "65.01.01.2005"


def person(serial=1, born=date(1950, 5, 17), sex="P", kategori="LUT", **overrides):
    row = person_row(
        serial,
        nik=compose("65.01.01", born, sex, serial),
        tanggal_lahir=born.isoformat(),
        jenis_kelamin=sex,
        kategori=kategori,
    )
    row.update(overrides)
    return row


def _open(db, desa=DESA, period="2026-Q4"):
    with db.transaction() as s:
        return submissions.open_submission(s, SYSTEM, desa, period, "65").submission.id


def _import(db, sid, rows):
    with db.transaction() as s:
        return imports.import_items(s, SYSTEM, sid, csv_of(rows))


def _approved(db, sid):
    """The desa's submission sent up and approved at every tier: its entries are the register's."""
    submit(db, "op.desa", sid)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")


def _verified(db, rows, period):
    """`rows` imported for `period` and approved at every tier."""
    sid = _open(db, period=period)
    _import(db, sid, rows)
    _approved(db, sid)
    return sid


ERRORS = [
    ("nik_tanggal", [person(nik="6501013213500001")], (2, "nik")),
    ("nik_jenis_kelamin", [person(sex="P", jenis_kelamin="L")], (2, "jenis_kelamin")),
    ("nik_tanggal_lahir", [person(tanggal_lahir="1950-05-18")], (2, "tanggal_lahir")),
    ("kategori_usia", [person(born=date(1986, 5, 17))], (2, "tanggal_lahir")),  # 40 is not lanjut usia
    ("kategori_jenis_kelamin", [person(born=date(1990, 1, 2), sex="L", kategori="PRSE")], (2, "jenis_kelamin")),
    ("kategori_satuan", [person(kategori="FM", no_kk="")], (2, "no_kk")),
    ("duplikat_nik", [person(1), person(1)], (3, "nik")),
    (
        "duplikat_kategori",
        [person(1, born=date(2023, 1, 5), kategori="ABT"), person(1, born=date(2023, 1, 5), kategori="PD")],
        (3, "kategori"),
    ),
    ("nik_wajib", [person(nik="")], (2, "nik")),
    ("nik_pangkat", [person(nik="650101570550000²")], (2, "nik")),  # once a crash of the whole import
    ("nik_lebar_penuh", [person(nik="６５０１０１５７０５５０００１")], (2, "nik")),
    (
        "duplikat_kk",
        [person(1, kategori="FM", nik="", nama="Keluarga A"), person(2, kategori="FM", nik="", nama="Keluarga B")],
        (3, "no_kk"),
    ),
]


@pytest.mark.parametrize("rule, rows, cell", ERRORS, ids=[e[0] for e in ERRORS])
def test_an_error_refuses_the_import_naming_the_cell(db, rule, rows, cell):
    sid = _open(db)
    with pytest.raises(Invalid) as refused:
        _import(db, sid, rows)
    assert cell in {(p.row, p.column) for p in refused.value.problems}, refused.value


WARNINGS = [
    ("nik_wilayah", [person(nik=compose("99.99.99", date(1950, 5, 17), "P", 1))], "tidak dikenal sebagai kecamatan"),
    ("kategori_usia", [person(born=date(2019, 1, 5), kategori="ABT")], "diperdebatkan"),  # 7, an uncertain band
    ("kk_wilayah", [person(no_kk="9999991705500001")], "kode wilayah KK"),
    (
        "kk_alamat",
        [person(1, no_kk="6501011705500001", alamat="Jl. A"), person(2, no_kk="6501011705500001", alamat="Jl. B")],
        "alamat berbeda",
    ),
    (
        "nik_salah_ketik",
        [person(1, nama="Siti Aminah"), person(7, nama="St. Aminah", alamat="Jl. Sengkawit No. 3")],
        "berbeda satu angka",
    ),
    ("usia_tidak_wajar", [person(born=date(1919, 5, 17))], "periksa lagi"),
]


@pytest.mark.parametrize("rule, rows, text", WARNINGS, ids=[w[0] for w in WARNINGS])
def test_a_warning_becomes_a_flag_to_acknowledge_before_approval(db, rule, rows, text):
    make_team(db)
    sid = _open(db)
    _import(db, sid, rows)
    submit(db, "op.desa", sid)
    with db.read() as s:
        flags = s.scalars(select(QualityFlag).where(QualityFlag.submission_id == sid, QualityFlag.rule == rule)).all()
    assert flags and all(f.severity == "warning" for f in flags) and text in flags[0].message
    with pytest.raises(Invalid, match="belum diakui"):
        decide(db, "verif.kec", sid, "approve")
    with db.read() as s:
        waiting = s.scalars(
            select(QualityFlag.id).where(QualityFlag.submission_id == sid, QualityFlag.severity == "warning")
        ).all()
    task = open_task(db, sid, "kecamatan")
    with pytest.raises(Invalid, match="catatan wajib"), db.transaction() as s:
        decide_task(s, "verif.kec", task.id, "approve", acknowledgements={waiting[0]: "  "})
    with db.transaction() as s:
        decide_task(s, "verif.kec", task.id, "approve", acknowledgements={i: "dicek dengan KTP asli" for i in waiting})
    with db.read() as s:
        acked = s.scalars(select(QualityFlag).where(QualityFlag.id.in_(waiting))).all()
        assert {(f.status, f.ack_by, f.ack_tingkat) for f in acked} == {("diakui", "verif.kec", "kecamatan")}
        assert (
            s.scalar(select(AuditEvent).where(AuditEvent.action == "FLAG_ACKNOWLEDGED")).reason
            == "dicek dengan KTP asli"
        )
    assert open_task(db, sid, "kabupaten")  # the next tier does not need to acknowledge again


def test_a_family_address_keyed_two_ways_is_not_a_warning_but_two_places_are(db):
    """Operators key one household's address as they go (`RT 003 RW 001`, `Rt.3/Rw.1`): compared as
    typed, that warned on every member of a quarter of such households (`bench/records.py`)."""
    kk, other = "6501011705500001", "6501011705500002"
    sid = _open(db)
    rows = [
        person(1, no_kk=kk, alamat="Jl. Mulawarman No. 5 RT 003 RW 001"),
        person(2, no_kk=kk, alamat="Jalan Mulawarman No.5 Rt.3/Rw.1"),
        person(3, no_kk=kk, alamat="RT 3 RW 1"),
        person(4, no_kk=other, alamat="RT 3 RW 1"),
        person(5, no_kk=other, alamat="RT 1 RW 3"),
    ]
    _import(db, sid, rows)
    with db.read() as s:
        found = s.scalars(
            select(models.SubmissionItem)
            .where(models.SubmissionItem.submission_id == sid)
            .order_by(models.SubmissionItem.baris)
        ).all()
    assert [[f["aturan"] for f in i.masalah] for i in found] == [[], [], [], ["kk_alamat"], ["kk_alamat"]]
    assert found[3].masalah[0]["pesan"] == f"anggota KK {other} tercatat dengan 2 alamat berbeda"
    scattered = _open(db, period="2026-Q3")  # a card on twelve RTs: counted to eleven, and said so
    _import(db, scattered, [person(i, no_kk=kk, alamat=f"RT {i} RW 1") for i in range(1, 13)])
    with db.read() as s:
        told = s.scalars(select(models.SubmissionItem.masalah).where(models.SubmissionItem.submission_id == scattered))
        assert {m[0]["pesan"] for m in told} == {f"anggota KK {kk} tercatat dengan lebih dari 10 alamat berbeda"}
    ten = _open(db, period="2026-Q2")  # ten are still told as ten
    _import(db, ten, [person(i, no_kk=kk, alamat=f"RT {i} RW 1") for i in range(1, 11)])
    with db.read() as s:
        told = s.scalars(select(models.SubmissionItem.masalah).where(models.SubmissionItem.submission_id == ten))
        assert {m[0]["pesan"] for m in told} == {f"anggota KK {kk} tercatat dengan 10 alamat berbeda"}


def test_the_same_nik_in_another_desa_is_a_warning_that_does_not_say_where(db):
    first, second = _open(db), _open(db, "65.01.02.2001")
    _import(db, first, [person(1, kategori="NAPZA")])
    _import(db, second, [person(1)])
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, second))
    with db.read() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.submission_id == second))
    assert (flag.rule, flag.severity) == ("duplikat_nik_tempat_lain", "warning")
    assert flag.message == "NIK ini juga terdaftar di tempat lain; periksa apakah orang yang sama"
    assert flag.sources == {"tempat": "65.01.01.2005", "kategori": "NAPZA", "sumber": "pengajuan"}
    assert flag.observed is None and flag.expected is None


def test_a_record_and_its_desas_draft_elsewhere_are_one_warning(db):
    """The person is on another desa's register and in that desa's draft of the period: one question
    for the verifier to weigh and acknowledge, not the same sentence twice."""
    make_team(db)
    _verified(db, [person(1)], "2026-Q3")
    there = _open(db)
    with db.transaction() as s:
        register.prefill(s, {DESA: there})  # the record carried into that desa's period
    here = _open(db, "65.01.02.2001")
    _import(db, here, [person(1)])
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, here))
    with db.read() as s:
        flags = s.scalars(select(QualityFlag).where(QualityFlag.submission_id == here)).all()
    assert [(f.rule, f.sources["sumber"]) for f in flags] == [("duplikat_nik_tempat_lain", "catatan")]


def test_a_person_on_another_desas_register_keyed_with_one_nik_digit_wrong_is_a_warning_for_verifiers(db):
    """Same name and birth date, the NIK one digit away: the same NIK rule cannot see it, and the person
    would be counted in two desa. The verifiers are asked, with the place; the operator is not told."""
    make_team(db)
    _verified(db, [person(1, nama="Siti Aminah"), person(4, nama="Maria Ingan")], "2026-Q3")
    here = _open(db, "65.01.02.2001")
    slipped = person(1, nama="SITI AMINAH", nik=person(2)["nik"])  # serial 0001 keyed 0002
    twin = person(5, nama="Yohana Ingan")  # born the same day, a NIK a digit from Maria's, another name
    with db.transaction() as s:  # a record ended there (the person moved away) is nobody's registration
        s.scalar(select(models.Record).where(models.Record.nik == person(4)["nik"])).status = "dihapus"
    gone = person(7, nama="Maria Ingan", nik=person(4)["nik"][:-1] + "6")
    report = _import(db, here, [slipped, twin, gone])
    assert report.warnings == []  # nothing the operator reads says the person is registered elsewhere
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, here))
    with db.read() as s:
        flags = s.scalars(select(QualityFlag).where(QualityFlag.submission_id == here)).all()
    assert [(f.rule, f.severity, f.sources) for f in flags] == [
        ("nik_salah_ketik_tempat_lain", "warning", {"tempat": DESA, "kategori": "LUT", "sumber": "catatan"})
    ]
    assert "tempat lain" in flags[0].message and DESA not in flags[0].message


def test_a_family_is_re_verified_by_its_kk_not_added_again(db):
    make_team(db)
    family = person(1, kategori="FM", nik="", nama="Keluarga Ingan", no_kk="6501011705500009")
    _verified(db, [family], "2026-Q3")
    sid = _open(db)
    _import(db, sid, [family])
    _import(db, sid, [{**family, "alamat": "Jl. Baru"}])  # the same file again updates, never doubles
    with db.transaction() as s:
        errors = item_checks.check_submission(s, submissions.get_submission(s, sid))
        items = s.scalars(select(models.SubmissionItem).where(models.SubmissionItem.submission_id == sid)).all()
    assert errors == [] and len(items) == 1
    assert items[0].aksi == "ubah" and items[0].record_id is not None and items[0].data["alamat"] == "Jl. Baru"


def test_an_entry_made_before_the_persons_record_was_approved_re_verifies_it(db):
    """The next period's draft was begun before the person's record was approved: its entry names the
    same NIK and category as the record now on the register. It was refused at submission as a second
    registration, and the operator had to set aside their own row (and every other re-entered person's);
    it is the person's next observation, and now re-verifies the record: one item, no double count."""
    make_team(db)
    first = _open(db, period="2026-Q3")
    _import(db, first, [person(1)])
    draft = _open(db)
    _import(db, draft, [person(1, alamat="Jl. Baru No. 2")])  # entered while the first was still being verified
    _approved(db, first)
    with db.read() as s:
        record = s.scalar(select(models.Record.id))
        items = s.scalars(select(models.SubmissionItem).where(models.SubmissionItem.submission_id == draft)).all()
    assert [(i.record_id, i.aksi) for i in items] == [(record, "ubah")]  # linked, not a second register item
    _approved(db, draft)
    with db.read() as s:
        (only,) = s.scalars(select(models.Record)).all()
        assert only.id == record and only.alamat == "Jl. Baru No. 2"


def test_an_entry_set_aside_before_the_persons_record_was_approved_leaves_the_record_to_be_re_verified(db):
    """Set aside, the entry is not the record's re-verification (it would be dropped on the way up and
    carry the record off unchecked): the record joins the draft's register to be marked."""
    make_team(db)
    first = _open(db, period="2026-Q3")
    _import(db, first, [person(1)])
    draft = _open(db)
    _import(db, draft, [person(1, alamat="Jl. Baru No. 2"), person(2)])
    with db.transaction() as s:
        entry = s.scalar(
            select(models.SubmissionItem).where(
                models.SubmissionItem.submission_id == draft, models.SubmissionItem.nik == person(1)["nik"]
            )
        )
        items.discard_item(s, SYSTEM, draft, entry.id)
    _approved(db, first)
    with db.read() as s:
        record = s.scalar(select(models.Record.id))
        carried = s.scalars(select(models.SubmissionItem).where(models.SubmissionItem.record_id == record)).all()
    assert [(i.submission_id, i.source, i.dibuang) for i in carried if i.submission_id == draft] == [
        (draft, ItemSource.REGISTER, False)
    ]


def test_a_file_that_corrects_items_leaves_each_change_on_the_trail(db):
    """Imported again with one address corrected: that item's before and after are on the trail (the
    values a verifier judged stay readable); an unchanged row writes nothing."""
    sid = _open(db)
    _import(db, sid, [person(1), person(2)])
    _import(db, sid, [person(1, alamat="Jl. Koreksi No. 1"), person(2)])
    with db.read() as s:
        updated = s.scalars(select(AuditEvent).where(AuditEvent.action == "ITEM_UPDATED")).all()
    assert len(updated) == 1
    assert updated[0].after["alamat"] == "Jl. Koreksi No. 1" and updated[0].before["alamat"] == person(1)["alamat"]


def test_a_community_is_imported_with_its_members_and_leader(db):
    sid = _open(db)
    header = "nik,no_kk,nama,jenis_kelamin,tanggal_lahir,alamat,kategori,keterangan,jumlah_anggota,nama_ketua\n"
    with db.transaction() as s:
        report = imports.import_items(s, SYSTEM, sid, header + ",,Punan Adiu,,,Long Adiu,KAT,,48,Lawing\n")
    assert report.added == 1
    with db.transaction() as s:
        assert item_checks.check_submission(s, submissions.get_submission(s, sid)) == []
        item = s.scalar(select(models.SubmissionItem).where(models.SubmissionItem.submission_id == sid))
    assert item.data["atribut"] == {"jumlah_anggota": "48", "nama_ketua": "Lawing"}
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, header + ",,Punan Tubu,L,1980-01-01,,KAT,,empat,\n")
    cells = {(p.row, p.column) for p in refused.value.problems}
    assert cells == {
        (2, "jenis_kelamin"),
        (2, "tanggal_lahir"),
        (2, "atribut_jumlah_anggota"),
        (2, "atribut_nama_ketua"),
    }


def test_a_pre_2012_nik_needs_no_acknowledgement(db):
    make_team(db)
    sid = _open(db)
    _import(db, sid, [person(1, nik=compose("64.04.01", date(1950, 5, 17), "P", 1))])
    with db.transaction() as s:
        assert item_checks.check_submission(s, submissions.get_submission(s, sid)) == []
    with db.read() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.submission_id == sid))
    assert (flag.rule, flag.severity) == ("nik_kode_lama", "info") and "Kabupaten Bulungan" in flag.message


def test_overlapping_categories_for_one_person_are_only_noted(db):
    sid = _open(db)
    _import(db, sid, [person(1), person(1, kategori="PD")])  # an elder with a disability: both may apply
    with db.transaction() as s:
        errors = item_checks.check_submission(s, submissions.get_submission(s, sid))
    assert errors == []
    with db.read() as s:
        assert {f.severity for f in s.scalars(select(QualityFlag).where(QualityFlag.submission_id == sid))} == {"info"}


def test_a_probable_duplicate_without_a_nik(db):
    make_team(db)
    _verified(db, [person(5, nama="Siti Aminah")], "2026-Q3")
    sid = _open(db)
    _import(db, sid, [person(6, nik="", nama="Siti Aminah", kategori="FM", no_kk="6501011705500001")])
    with db.transaction() as s:
        item_checks.check_submission(s, submissions.get_submission(s, sid))
    with db.read() as s:
        flag = s.scalar(
            select(QualityFlag).where(QualityFlag.submission_id == sid, QualityFlag.rule == "duplikat_mirip")
        )
    assert flag.severity == "warning" and "Siti Aminah" in flag.message and flag.expected == person(5)["nik"]


@pytest.mark.parametrize(
    "was, corrected",
    [
        (person(1, nama="Siti Aminah"), {"nik": compose("65.01.01", date(1950, 5, 17), "P", 2)}),  # a digit slip
        (
            person(1, nik="", nama="Siti Aminah", kategori="FM", no_kk="6501011705500001"),
            {"nik": compose("65.01.01", date(1950, 5, 17), "P", 1)},  # the head's NIK, missing until now
        ),
    ],
    ids=["nik-one-digit", "nik-filled-in"],
)
def test_a_register_records_nik_corrected_is_not_a_second_person(db, was, corrected):
    """The operator corrects the NIK on the register record's item: the record is the item's own past,
    not someone else with the same name and birth date (`nik_salah_ketik`, `duplikat_mirip`)."""
    make_team(db)
    _verified(db, [was], "2025-Q4")
    now = _open(db, period="2026-Q4")
    with db.transaction() as s:
        register.prefill(s, {DESA: now})
        item = s.scalar(select(models.SubmissionItem).where(models.SubmissionItem.submission_id == now))
        values = {k: was[k] for k in items.ITEM_COLUMNS} | corrected
        assert items.save_item(s, actor(db, "op.desa"), now, values, item.id).item.masalah == []
        assert item_checks.check_submission(s, submissions.get_submission(s, now)) == []
    with db.read() as s:
        assert not s.scalars(select(QualityFlag).where(QualityFlag.submission_id == now)).all()


def test_a_nik_slip_is_found_behind_any_number_of_namesakes_born_the_same_day(db):
    """Twenty-one women named Siti Aminah born on one day, each with her own NIK, then a 22nd whose NIK
    is the 21st's with one digit wrong: the slip is found, however many namesakes come before it."""
    make_team(db)
    born = date(1950, 1, 1)
    serials = [int(f"{k:02d}{k:02d}") for k in range(1, 22)] + [2129]  # 2121 and 2129: one digit apart
    rows = [person(n, born=born, nama="Siti Aminah", nik=compose("65.01.01", born, "P", n)) for n in serials]
    report = _import(db, _open(db), rows)
    slips = [p for p in report.warnings if "berbeda satu angka" in p.message]
    assert [p.row for p in slips] == [23] and "baris/item 22" in slips[0].message
