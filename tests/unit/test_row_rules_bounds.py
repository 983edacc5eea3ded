"""A category's age band at its very edge, and a birth date against the NIK's date down to the year:
one day or one year decides whether a person is counted where they belong."""

from __future__ import annotations

from datetime import date

from engine.quality.nik import compose
from engine.quality.record_rules import Context, Kind, check_row

KINDS = {
    "LUT": Kind("LUT", "Lanjut Usia Terlantar", "individu", 60, None, None, False, ()),
    "PD": Kind("PD", "Penyandang Disabilitas", "individu", 18, None, None, False, ()),
    "GL": Kind("GL", "Gelandangan", "individu", None, None, None, False, ()),
}
REFERENCE = date(2026, 12, 31)  # the period's last day, on which ages are judged
CTX = Context(KINDS, {"65.01.01"}, reference=REFERENCE, today=date(2026, 11, 30))


def row(born: date, kategori: str, sex: str = "P", nik_born: date | None = None) -> dict[str, str]:
    return {
        "nik": compose("65.01.01", nik_born or born, sex, 1),
        "no_kk": "6501011705500001",
        "nama": "Maria Ingan",
        "jenis_kelamin": sex,
        "tanggal_lahir": born.isoformat(),
        "kategori": kategori,
    }


def rules(values: dict[str, str]) -> set[str]:
    return {f.rule for f in check_row(values, CTX)}


def test_a_person_who_turns_sixty_on_the_periods_last_day_is_lanjut_usia():
    # sixty years old on the reference date: within "60 tahun ke atas", not refused
    assert "kategori_usia" not in rules(row(date(1966, 12, 31), "LUT"))


def test_a_person_one_day_short_of_sixty_is_not_yet_lanjut_usia():
    assert "kategori_usia" in rules(row(date(1967, 1, 1), "LUT"))


def test_an_adult_category_takes_a_person_of_exactly_eighteen():
    assert "kategori_usia" not in rules(row(date(2008, 12, 31), "PD"))
    assert "kategori_usia" in rules(row(date(2009, 1, 1), "PD"))


def test_a_birth_date_in_another_year_than_the_niks_does_not_match_it():
    # the NIK says 17-05-1990 (170590), the row 17-05-1985: the same day and month are not the same
    # birth date, and one of the two was typed wrong
    values = row(date(1985, 5, 17), "GL", sex="L", nik_born=date(1990, 5, 17))
    assert values["nik"][6:12] == "170590"
    assert "nik_tanggal_lahir" in rules(values)


def test_a_birth_date_that_matches_the_nik_to_the_year_raises_nothing():
    values = row(date(1990, 5, 17), "GL", sex="L")
    assert "nik_tanggal_lahir" not in rules(values)
