"""Record checks at their edges: the NIK's shape and slips, the key that finds an entry again, names and
addresses written several ways, the row rules an operator sees, and (with the database) namesakes on the
register and duplicate marks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select

from engine.quality import ganda, identity, namesakes, twice
from engine.quality.addresses import address_of, distinct
from engine.quality.names import canonical, earlier_alikes, same_person
from engine.quality.nik import compose, one_digit_apart, shape_problem
from engine.quality.record_rules import Context, Kind, check_row
from engine.quality.row_rules import FormerCode, as_date, normalise_date
from engine.quality.twice import Twice
from engine.verification import register
from models import (
    RecordStatus,
    RecordVersion,
    Source,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    Unit,
    VervalStatus,
)
from tests.factories import DESA, actor, open_with_items, person_row, register_record

KINDS = {
    "LUT": Kind("LUT", "Lanjut Usia Terlantar", "individu", 60, None, None, False, ()),
    "FM": Kind("FM", "Fakir Miskin", "keluarga", None, None, None, False, ()),
    "KAT": Kind(
        "KAT", "Komunitas Adat Terpencil", "komunitas", None, None, None, False, ("jumlah_anggota", "nama_ketua")
    ),
}
CTX = Context(KINDS, {"65.01.01"}, reference=date(2026, 12, 31), today=date(2026, 11, 30))
BORN = date(1950, 5, 17)
NIK = compose("65.01.01", BORN, "P", 1)


def row(**overrides):
    values = {
        "nik": NIK,
        "no_kk": "6501011705500001",
        "nama": "Maria Ingan",
        "jenis_kelamin": "P",
        "tanggal_lahir": BORN.isoformat(),
        "kategori": "LUT",
    }
    return {**values, **overrides}


def rules(values, ctx=CTX):
    return {(f.rule, f.field) for f in check_row(values, ctx)}


def test_a_nik_typed_with_full_width_digits_is_told_to_be_retyped_with_plain_digits():
    """An operator who pasted ６５… from a document is told the digits are not 0-9, not that they are no digits."""
    problem = shape_problem("６５" + NIK[2:])
    assert "bukan 0-9" in problem and "karakter ke-1" in problem


def test_numbers_of_different_lengths_are_never_one_digit_apart():
    """A register NIK that lost its last digit is not a typing slip of a whole one."""
    assert one_digit_apart(NIK, NIK[:-1] + "9")
    assert not one_digit_apart(NIK, NIK[:-2] + "9")


def test_a_family_card_keyed_with_spaces_around_it_is_the_same_family():
    """A KK pasted with a space before it still finds its family's record."""
    assert identity.key(Unit.KELUARGA, {"no_kk": " 6501011705500001 "}) == "kk:6501011705500001"
    assert identity.key(Unit.INDIVIDU, {"nik": f" {NIK}\t"}) == NIK


def test_an_institution_written_in_capitals_or_with_other_spaces_is_the_same_entry():
    """`LKS Harapan  Bunda` and `lks harapan bunda` are one institution, not two entries of it."""
    assert identity.key(Unit.LEMBAGA, {"nama": "LKS Harapan  Bunda"}) == identity.key(
        Unit.LEMBAGA, {"nama": "lks harapan bunda"}
    )
    assert identity.key(Unit.KOMUNITAS, {"nama": "DAYAK  Punan "}) == "nama:dayak punan"


def test_a_j_becomes_a_y_only_in_a_name_written_the_old_way():
    """Tjahjo is Cahyo, but Joko and Jamal written today stay Joko and Jamal, as their old spellings read."""
    assert canonical("Tjahjo Kumolo") == "cahyo kumolo"
    assert canonical("Joko Jamal") == "joko jamal" == canonical("Djoko Djamal")


def test_a_one_word_name_is_never_matched_by_a_spelling_slip():
    """Someone known by one name is the same person only when written the same: Sulistyowati and
    Sulistiowati, one letter apart, are not told as one person, here nor in a whole file."""
    assert not same_person("Sulistyowati", "Sulistiowati")
    assert earlier_alikes(["Sulistyowati", "Sulistiowati"], 5) == [[], []]


def test_an_apostrophe_in_a_name_joins_its_letters():
    """Ma'ruf, Ma`ruf and Maruf are one name, not `Ma Ruf`."""
    assert canonical("Ma'ruf Amin") == canonical("Ma`ruf Amin") == canonical("Maruf Amin") == "maruf amin"


def test_a_lettered_block_is_one_number_and_leaves_no_word_behind():
    """`Blok A1` and `Blok A 1` are block A1; written before or after the street, one address."""
    assert address_of("Jl. Mawar Blok A 1").numbers == (("blok", "a1"),)
    assert address_of("Jl. Mawar Blok A1").words == ("jalan", "mawar")
    assert len(distinct(["Blok A1 Jl. Mawar", "Jl. Mawar Blok A1"])) == 1


def test_a_house_number_said_after_no_outweighs_a_guessed_one_but_not_an_earlier_no():
    """`Jl. Mulawarman 12 No. 5` is house 5; in `Jl. Mawar No. 5 Gg. Melati No. 7` the house is 5 too."""
    assert dict(address_of("Jl. Mulawarman 12 No. 5").numbers)["nomor"] == "5"
    assert dict(address_of("Jl. Mawar No. 5 Gg. Melati No. 7").numbers)["nomor"] == "5"


def test_a_slashed_birth_date_is_read_day_first_as_indonesian_forms_write_it():
    """17/05/1950 is 17 May; 05/06/1950 is 5 June, not 6 May."""
    assert as_date("17/05/1950") == date(1950, 5, 17)
    assert as_date("05/06/1950") == date(1950, 6, 5)
    assert normalise_date("5/6/1950") == "1950-06-05"


def test_a_person_without_a_sex_is_told_to_give_it_but_a_family_is_not():
    """A person's row needs L or P; a family's row may leave the sex empty."""
    assert ("bentuk_data", "jenis_kelamin") in rules(row(jenis_kelamin=""))
    family = row(kategori="FM", nik="", jenis_kelamin="", tanggal_lahir="")
    assert "jenis_kelamin" not in {field for _, field in rules(family)}


def test_a_community_of_no_members_is_refused():
    """A komunitas adat of 0 members is no community; 1 member is the least."""
    community = {"nama": "Adat Punan", "kategori": "KAT", "atribut": {"nama_ketua": "Ding"}}
    assert ("kategori_atribut", "atribut_jumlah_anggota") in rules(
        {**community, "atribut": {**community["atribut"], "jumlah_anggota": "0"}}
    )
    assert rules({**community, "atribut": {**community["atribut"], "jumlah_anggota": "1"}}) == set()


def test_a_family_card_from_before_2012_with_a_kalimantan_timur_code_is_no_alarm():
    """A KK issued as 64.04 (Bulungan before the province was split) is an old card, not an unknown region."""
    ctx = replace(CTX, former={"64.04": FormerCode("65.01", "Kabupaten Bulungan")})
    assert ("kk_wilayah", "no_kk") not in rules(row(no_kk="6404011705500001"), ctx)
    assert ("kk_wilayah", "no_kk") in rules(row(no_kk="6499011705500001"), ctx)


def test_a_birth_date_written_as_an_iso_week_is_refused():
    """`2020-W01-1` is no date an operator means: it must be refused, not stored as 30 December 2019."""
    assert normalise_date("2020-W01-1") == "2020-W01-1"  # kept as typed, for the shape check to name
    assert ("bentuk_data", "tanggal_lahir") in rules(row(tanggal_lahir="2020-W01-1"))


def test_a_communitys_leader_with_a_hidden_character_is_refused():
    """A bidirectional override in the leader's name would show another name to the verifier."""
    values = {
        "nama": "Adat Punan",
        "kategori": "KAT",
        "atribut": {"jumlah_anggota": "12", "nama_ketua": "Ding\u202eIn"},
    }
    assert ("karakter", "atribut_nama_ketua") in rules(values)
    long = {**values, "atribut": {"jumlah_anggota": "12", "nama_ketua": "Ding " * 1_000}}
    assert ("bentuk_data", "atribut_nama_ketua") in rules(long)  # bounded as free text is, at entry


def test_a_kilometre_with_a_decimal_keeps_its_street():
    """`Km 5,5` is read as kilometre 5, then the street is thrown away: a card at Jl. Poros Km 5,5 and
    Jl. Sudirman Km 5 counts as one address, and the verifier is not told."""
    assert address_of("Jl. Poros Km 5,5").words[:2] == ("jalan", "poros")
    assert len(distinct(["Jl. Poros Km 5,5", "Jl. Sudirman Km 5"])) == 2


def _namesakes(db, rows, records=None):
    """The rules `namesakes` raises on each row, against the desa's register."""
    findings = [[] for _ in rows]
    with db.read() as s:
        namesakes.person_findings(s, rows, DESA, findings, records)
    return [{f.rule for f in found} for found in findings]


def test_a_person_taken_off_the_register_is_no_namesake_of_a_new_entry(db):
    """A record the register removed (moved, died) does not make a new entry without a NIK, of the
    same name and birth date, "possibly the same person": only an active record does."""
    with db.transaction() as s:
        s.add(register_record(1, status=RecordStatus.DIHAPUS))
    assert _namesakes(db, [person_row(1, nik="")]) == [set()]
    with db.transaction() as s:
        s.add(register_record(1))
    assert _namesakes(db, [person_row(1, nik="")]) == [{"duplikat_mirip"}]


def test_each_namesake_before_a_row_is_named_up_to_twenty(db):
    """Twenty-two entries of Siti Aminah born on one day, none with a NIK: the third names both before
    her, the last names twenty of the twenty-one, not one nor all."""
    rows = [person_row(n, nik="", nama="Siti Aminah") for n in range(1, 23)]
    findings = [[] for _ in rows]
    with db.read() as s:
        namesakes.person_findings(s, rows, DESA, findings)
    told = [sum(f.rule == "duplikat_mirip" for f in found) for found in findings]
    assert told[:3] == [0, 1, 2] and told[-1] == namesakes.MOST_ALIKE == 20


def _standing(s, desa: str, kategori: str, nik: str | None, nama: str) -> None:
    """A record active on the register of `desa` as verified in 2026-Q4."""
    verified = s.scalar(select(Submission).where(Submission.kode_desa == desa, Submission.periode == "2026-Q4"))
    if verified is None:
        verified = Submission(kode_desa=desa, periode="2026-Q4", status=SubmissionStatus.TERVERIFIKASI)
    record = register_record(1, kode_desa=desa, kategori=kategori, nik=nik, nama=nama)
    s.add_all([verified, record])
    s.flush()
    values = {"kode_desa": desa, "kategori": kategori, "nik": nik, "nama": nama}
    s.add(
        RecordVersion(
            record_id=record.id,
            versi=1,
            nilai=values,
            perubahan={},
            status=RecordStatus.AKTIF,
            actor="op.desa",
            source=Source.IMPORT,
            submission_id=verified.id,
        )
    )


def test_the_head_is_told_of_people_in_two_desa_by_their_nik_most_people_first(db):
    """Two people standing in Gunung Putih and Gunung Sari, one in Gunung Putih and Apung: the larger
    pair first. Two institutions of one category in two desa, which have no NIK, are no person counted twice."""
    other, third = "65.01.01.2006", "65.01.01.2007"
    with db.transaction() as s:
        for desa in (DESA, other):
            _standing(s, desa, "LUT", NIK, "Maria Ingan")
            _standing(s, desa, "LUT", compose("65.01.01", BORN, "P", 2), "Siti Aminah")
            _standing(s, desa, "LKS", None, f"LKS {desa}")
            _standing(s, desa, "LKS", "", f"Yayasan {desa}")
        for desa in (DESA, third):
            _standing(s, desa, "LUT", compose("65.01.01", BORN, "P", 3), "Dayang")
    with db.read() as s:
        found = twice.registered_twice(s, "65", "2026-Q4")
    assert found == [Twice("LUT", (DESA, other), 2), Twice("LUT", (DESA, third), 1)]


def test_a_duplicate_mark_on_an_entry_set_aside_is_no_question(db, people):
    """The only copy marked "ganda" is a question for the verifiers, until the desa sets the entry aside:
    a removal set aside removes no one."""
    with db.transaction() as s:
        s.add(register_record(1))
    sid = open_with_items(db, [], desa=DESA)
    with db.transaction() as s:
        register.prefill(s, {DESA: sid})
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        register.set_status(s, actor(db, "op.desa"), sid, [item.id], VervalStatus.GANDA, "sudah tercatat di desa lain")
        assert [f.rule for f in ganda.ganda_findings(s, item)] == [ganda.RULE]
        item.dibuang = True
        assert ganda.ganda_findings(s, item) == []


OTHER = "65.01.01.2006"  # Gunung Sari, beside Gunung Putih


def _both_marked_ganda(db) -> dict[str, tuple[int, int]]:
    """One person on Gunung Sari's and Gunung Putih's registers, each desa marking its copy "ganda":
    per desa, its submission and the marked entry."""
    with db.transaction() as s:
        s.add(register_record(1))
        s.add(register_record(1, kode_desa=OTHER))
    marked = {}
    for desa, operator in ((OTHER, "op.lain"), (DESA, "op.desa")):
        sid = open_with_items(db, [], desa=desa)
        with db.transaction() as s:
            register.prefill(s, {desa: sid})
            item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
            register.set_status(s, actor(db, operator), sid, [item.id], VervalStatus.GANDA, "tercatat di desa lain")
            marked[desa] = (sid, item.id)
    return marked


def test_a_copy_marked_ganda_in_a_submission_returned_to_its_desa_does_not_stay(db, people):
    """Gunung Sari marked its copy "ganda" and its submission was returned for a correction: the removal
    is still in work, so Gunung Putih marking its own copy "ganda" too is still a question."""
    marked = _both_marked_ganda(db)
    with db.transaction() as s:
        s.get(Submission, marked[OTHER][0]).status = SubmissionStatus.DIKEMBALIKAN
    with db.read() as s:
        assert [f.rule for f in ganda.ganda_findings(s, s.get(SubmissionItem, marked[DESA][1]))] == [ganda.RULE]


def test_a_copy_whose_ganda_mark_was_set_aside_stays_for_the_other_desa_s_mark(db, people):
    """Gunung Sari marked its copy "ganda", then set that entry aside: its copy stays on its register, so
    Gunung Putih marking its own copy "ganda" takes no one off every register, and is no question."""
    marked = _both_marked_ganda(db)
    with db.transaction() as s:
        s.get(SubmissionItem, marked[OTHER][1]).dibuang = True
    with db.read() as s:
        assert ganda.ganda_findings(s, s.get(SubmissionItem, marked[DESA][1])) == []
