"""Record rules on one row, without a database: the context (categories, kecamatan codes, dates) is
built by hand, as the import builds it once for a whole file."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quality.nik import NikError, compose, is_sixteen_digits, parse
from engine.quality.record_rules import Context, Kind, check_row
from engine.quality.row_rules import FormerCode
from models import Severity

KINDS = {
    "LUT": Kind("LUT", "Lanjut Usia Terlantar", "individu", 60, None, None, False, ()),
    "ADK": Kind("ADK", "Anak dengan Kedisabilitasan", "individu", 0, 17, None, False, ()),
    "PRSE": Kind("PRSE", "Perempuan Rawan Sosial Ekonomi", "individu", 18, 59, "P", True, ()),
    "FM": Kind("FM", "Fakir Miskin", "keluarga", None, None, None, False, ()),
    "KTK": Kind("KTK", "Korban Tindak Kekerasan", "individu", 18, None, None, False, ()),
    "ABH": Kind("ABH", "Anak yang Berhadapan dengan Hukum", "individu", 0, 17, None, False, ()),
    "KAT": Kind(
        "KAT", "Komunitas Adat Terpencil", "komunitas", None, None, None, False, ("jumlah_anggota", "nama_ketua")
    ),
    "LKS": Kind("LKS", "Lembaga Kesejahteraan Sosial", "lembaga", None, None, None, False, ()),
}
CTX = Context(
    KINDS,
    {"65.01.01"},
    reference=date(2026, 12, 31),
    today=date(2026, 11, 30),
    former={"64.04": FormerCode("65.01", "Kabupaten Bulungan")},
)
BORN = date(1950, 5, 17)


def row(**overrides):
    values = {
        "nik": compose("65.01.01", BORN, "P", 1),
        "no_kk": "6501011705500001",
        "nama": "Maria Ingan",
        "jenis_kelamin": "P",
        "tanggal_lahir": BORN.isoformat(),
        "kategori": "LUT",
    }
    return {**values, **overrides}


def found(values):
    return {(f.rule, f.field, f.severity) for f in check_row(values, CTX)}


def test_a_good_row_raises_nothing():
    assert found(row()) == set()


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"nama": ""}, ("bentuk_data", "nama", Severity.ERROR)),
        ({"nik": "12345"}, ("bentuk_data", "nik", Severity.ERROR)),
        ({"no_kk": "65"}, ("bentuk_data", "no_kk", Severity.ERROR)),
        ({"jenis_kelamin": "X"}, ("bentuk_data", "jenis_kelamin", Severity.ERROR)),
        ({"kategori": "ZZZ"}, ("bentuk_data", "kategori", Severity.ERROR)),
        ({"tanggal_lahir": "17-05-1950"}, ("bentuk_data", "tanggal_lahir", Severity.ERROR)),
        ({"tanggal_lahir": "2030-01-01"}, ("bentuk_data", "tanggal_lahir", Severity.ERROR)),
        ({"jenis_kelamin": "L"}, ("nik_jenis_kelamin", "jenis_kelamin", Severity.ERROR)),
        ({"nik": compose("65.01.01", BORN, "L", 1)}, ("nik_jenis_kelamin", "jenis_kelamin", Severity.ERROR)),
        ({"nik": "6501013213800001"}, ("nik_tanggal", "nik", Severity.ERROR)),  # day 32: a NIK's date, no shape slip
        ({"tanggal_lahir": "1950-05-18"}, ("nik_tanggal_lahir", "tanggal_lahir", Severity.ERROR)),
        ({"kategori": "ADK"}, ("kategori_usia", "tanggal_lahir", Severity.ERROR)),
        ({"kategori": "FM", "no_kk": ""}, ("kategori_satuan", "no_kk", Severity.ERROR)),
        ({"nik": compose("11.01.01", BORN, "P", 1)}, ("nik_wilayah", "nik", Severity.WARNING)),
        # a NIK first issued in Kalimantan Timur before Kalimantan Utara existed is normal
        ({"nik": compose("64.04.01", BORN, "P", 1)}, ("nik_kode_lama", "nik", Severity.INFO)),
        # only the ASCII digits make a NIK: superscript, full-width and Arabic-Indic digits do not
        ({"nik": "650101570550000²"}, ("bentuk_data", "nik", Severity.ERROR)),
        ({"nik": "６５０１０１５７０５５００００１"}, ("bentuk_data", "nik", Severity.ERROR)),
        ({"nik": "٦٥٠١٠١٥٧٠٥٥٠٠٠١"}, ("bentuk_data", "nik", Severity.ERROR)),
        ({"no_kk": "650101170550000١"}, ("bentuk_data", "no_kk", Severity.ERROR)),
        (
            {"tanggal_lahir": "1919-05-17", "nik": compose("65.01.01", date(1919, 5, 17), "P", 1)},
            ("usia_tidak_wajar", "tanggal_lahir", Severity.WARNING),
        ),
    ],
)
def test_each_rule_names_its_field_and_severity(overrides, expected):
    assert expected in found(row(**overrides))


def test_a_disputed_age_band_is_only_a_warning():
    young = date(2010, 1, 1)
    values = row(kategori="PRSE", tanggal_lahir=young.isoformat(), nik=compose("65.01.01", young, "P", 3))
    assert ("kategori_usia", "tanggal_lahir", Severity.WARNING) in found(values)


def test_a_category_for_one_sex_refuses_the_other():
    values = row(
        kategori="PRSE",
        jenis_kelamin="L",
        tanggal_lahir="1990-01-01",
        nik=compose("65.01.01", date(1990, 1, 1), "L", 4),
    )
    assert ("kategori_jenis_kelamin", "jenis_kelamin", Severity.ERROR) in found(values)


def test_a_family_is_recorded_by_its_kk_without_a_nik():
    assert ("bentuk_data", "nik", Severity.ERROR) not in found(row(kategori="FM", nik=""))
    assert ("bentuk_data", "nik", Severity.ERROR) in found(row(nik=""))  # a person needs one


def test_a_pre_2012_nik_is_information_and_an_unknown_code_still_a_warning():
    old = {(f.rule, f.severity) for f in check_row(row(nik=compose("64.04.01", BORN, "P", 1)), CTX)}
    assert old == {("nik_kode_lama", Severity.INFO)}
    unknown = {(f.rule, f.severity) for f in check_row(row(nik=compose("64.99.01", BORN, "P", 1)), CTX)}
    assert unknown == {("nik_wilayah", Severity.WARNING)}


def _person(kategori, born, sex="L"):
    return row(
        kategori=kategori, tanggal_lahir=born.isoformat(), jenis_kelamin=sex, nik=compose("65.01.01", born, sex, 7)
    )


@pytest.mark.parametrize(
    "kategori, born, allowed",
    [
        ("KTK", date(2016, 3, 1), False),  # a 10-year-old victim is an AKTK, not a KTK
        ("KTK", date(1990, 3, 1), True),
        ("ABH", date(2020, 3, 1), True),  # a child victim or witness of 6
        ("ABH", date(2010, 3, 1), True),
        ("ABH", date(2000, 3, 1), False),
    ],
)
def test_category_age_bands_follow_their_own_criteria(kategori, born, allowed):
    errors = {f.rule for f in check_row(_person(kategori, born), CTX) if f.severity == Severity.ERROR}
    assert ("kategori_usia" not in errors) == allowed


@pytest.mark.parametrize(
    "born, allowed",
    [
        (date(2008, 6, 1), True),  # 17 when the year began, 18 at its end: a child for part of it
        (date(2008, 12, 31), True),  # 18 only on the last day
        (date(2007, 6, 1), False),  # 18 all year long
    ],
)
def test_a_category_age_band_met_on_some_day_of_the_period_is_met(born, allowed):
    year = replace(CTX, reference=date(2026, 12, 31), start=date(2026, 1, 1))
    found = [f for f in check_row(_person("ADK", born), year) if f.rule == "kategori_usia"]
    assert (found == []) == allowed
    if found:
        assert "usia 18 tahun pada 2026-01-01 di luar batas" in found[0].message


def test_ages_above_a_hundred_ask_for_a_second_look():
    for years in (107, 120):
        born = date(2026 - years, 1, 1)
        found = {(f.rule, f.severity) for f in check_row(_person("LUT", born), CTX)}
        assert ("usia_tidak_wajar", Severity.WARNING) in found, years
    assert "usia_tidak_wajar" not in {f.rule for f in check_row(_person("LUT", date(1930, 1, 1)), CTX)}


def community(**overrides):
    values = {"nama": "Punan Adiu", "kategori": "KAT", "atribut": {"jumlah_anggota": "48", "nama_ketua": "Lawing"}}
    return {**values, **overrides}


@pytest.mark.parametrize(
    "values, expected",
    [
        (community(), set()),  # no NIK, sex or birth date: a community has none
        (community(jenis_kelamin="L"), {("kategori_satuan", "jenis_kelamin")}),
        (community(tanggal_lahir="1980-01-01"), {("kategori_satuan", "tanggal_lahir")}),
        (
            community(atribut={"jumlah_anggota": "", "nama_ketua": "Lawing"}),
            {("kategori_atribut", "atribut_jumlah_anggota")},
        ),
        (
            community(atribut={"jumlah_anggota": "empat", "nama_ketua": "Lawing"}),
            {("kategori_atribut", "atribut_jumlah_anggota")},
        ),
        (community(atribut={"jumlah_anggota": "48"}), {("kategori_atribut", "atribut_nama_ketua")}),
        ({"nama": "LKS Harapan", "kategori": "LKS"}, set()),  # an institution by its name alone
        (
            {"nama": "LKS Harapan", "kategori": "LKS", "nik": compose("65.01.01", BORN, "P", 1)},
            {("kategori_satuan", "nik")},
        ),
        ({"nama": "Keluarga Ingan", "kategori": "FM", "no_kk": "6501011705500001"}, set()),  # a family by its KK
        ({"nama": "Keluarga Ingan", "kategori": "FM"}, {("kategori_satuan", "no_kk")}),
    ],
)
def test_the_row_shape_follows_the_unit(values, expected):
    assert {(f.rule, f.field) for f in check_row(values, CTX) if f.severity == Severity.ERROR} == expected


@given(st.text(max_size=40))
def test_the_nik_parser_accepts_only_ascii_digits_and_never_crashes(text):
    try:
        parsed = parse(text, today=date(2026, 11, 30))
    except NikError as exc:
        assert str(exc)
    else:
        assert is_sixteen_digits(text) and parsed.serial > 0
    assert is_sixteen_digits(text) == (len(text) == 16 and all(c in "0123456789" for c in text))


@given(st.text(alphabet=st.sampled_from("0123456789²³¹０１٠١۱߁𝟎 -"), min_size=14, max_size=18))
def test_digit_lookalikes_never_pass_as_a_nik(text):
    try:
        parse(text, today=date(2026, 11, 30))
    except NikError:
        pass
    else:  # only sixteen ASCII digits pass
        assert text.isascii() and is_sixteen_digits(text)


FIELDS = ("nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "kategori", "alamat")


@given(st.fixed_dictionaries({name: st.one_of(st.none(), st.text(max_size=30), st.integers()) for name in FIELDS}))
def test_any_row_gets_findings_never_an_exception(values):
    for finding in check_row(values, CTX):
        assert finding.message and finding.field


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("31/02/1970", "tanggal 31/02/1970 tidak ada di kalender"),
        ("1970-02-30", "tanggal 1970-02-30 tidak ada di kalender"),
        ("17-05-1950", "tanggal harus berformat TTTT-BB-HH atau HH/BB/TTTT, mis. 1950-05-17"),
    ],
)
def test_a_date_not_on_the_calendar_is_said_apart_from_a_date_written_otherwise(written, said):
    messages = [f.message for f in check_row(row(tanggal_lahir=written), CTX) if f.field == "tanggal_lahir"]
    assert said in messages
