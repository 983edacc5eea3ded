"""NIK parsing: round trips, the sex rule and the century rule, by property-based tests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quality.nik import NikError, compose, parse

TODAY = date(2026, 11, 27)
kecamatan = st.tuples(st.integers(11, 94), st.integers(1, 99), st.integers(1, 99)).map(
    lambda t: f"{t[0]:02d}.{t[1]:02d}.{t[2]:02d}"
)
born = st.dates(min_value=date(1927, 1, 1), max_value=TODAY)
sex = st.sampled_from("LP")
serial = st.integers(1, 9999)


@given(kecamatan, born, sex, serial)
def test_compose_then_parse_with_the_birth_date_gives_the_person_back(kec, day, who, number):
    nik = parse(compose(kec, day, who, number), birth_hint=day, today=TODAY)
    assert (nik.kecamatan, nik.birth_date, nik.sex, nik.serial) == (kec, day, who, number)


@given(kecamatan, born, serial)
def test_women_have_forty_added_to_the_day(kec, day, number):
    woman, man = compose(kec, day, "P", number), compose(kec, day, "L", number)
    assert int(woman[6:8]) == int(man[6:8]) + 40
    assert parse(woman, today=TODAY).sex == "P" and parse(man, today=TODAY).sex == "L"


@given(kecamatan, st.dates(min_value=TODAY - timedelta(days=99 * 365), max_value=TODAY), sex, serial)
def test_without_a_birth_date_the_most_recent_plausible_century_is_taken(kec, day, who, number):
    """A child born in 2012 is not 114: within the last 99 years the year is always right."""
    assert parse(compose(kec, day, who, number), today=TODAY).birth_date == day


@given(st.text(alphabet="0123456789", min_size=0, max_size=20).filter(lambda s: len(s) != 16))
def test_anything_but_sixteen_digits_is_refused(text):
    with pytest.raises(NikError, match="16 angka"):
        parse(text)


@pytest.mark.parametrize(
    "number, why",
    [
        ("6501013213500001", "tanggal"),  # day 32
        ("6501017213500001", "tanggal"),  # day 72 (32 + 40)
        ("6501011513500001", "tanggal"),  # month 13
        ("6501013102500001", "tanggal"),  # 31 February
        ("6501011705500000", "0001"),
    ],
)
def test_impossible_dates_and_serials(number, why):
    with pytest.raises(NikError, match=why):
        parse(number, today=TODAY)


def test_a_child_born_in_2012_and_an_elder_born_in_1912():
    assert parse("6501011705120001", today=TODAY).birth_date == date(2012, 5, 17)
    assert parse("6501011705120001", birth_hint=date(1912, 5, 17), today=TODAY).birth_date == date(1912, 5, 17)
