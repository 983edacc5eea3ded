"""Indonesian name variants match; different people with similar names do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quality.names import canonical, same_person, tokens


@pytest.mark.parametrize(
    "a, b",
    [
        ("Muhammad Yusuf", "Moh. Yusuf"),
        ("Muhammad Yusuf", "Muh Yusuf"),
        ("Muhammad Yusuf", "M. Yusuf"),
        ("Mochammad Yusuf", "Muhamad Yusuf"),
        ("Abdul Karim", "Abd. Karim"),
        ("Abdul Rahman", "Abdurrahman"),
        ("Abdul Salam", "Abdussalam"),
        ("Siti Aminah", "St. Aminah"),
        ("Djamaluddin Tjahjono", "Jamaluddin Cahyono"),
        ("Soekarno Hatta", "Sukarno Hatta"),
        ("Sjahrir Nasution", "Syahrir Nasution"),
        ("H. Ahmad Fauzi", "Ahmad Fauzi"),
        ("Hj. Siti Aminah", "Siti Aminah"),
        ("Drs. Ahmad Fauzi, M.Si.", "Ahmad Fauzi"),
        ("Ahmad Fauzi bin Yusuf", "Ahmad Fauzi"),
        ("Siti Aminah binti Umar", "Siti Aminah"),
        ("Nurhayati Lestari", "Nur Hayati Lestari"),
        ("Nurul Huda Ramadhan", "Nurulhuda Ramadhan"),
        ("Suryani Lestari", "Suriani Lestari"),
        ("Ma'ruf Amin", "Maruf Amin"),
        ("YOHANES  LAING", "Yohanes Laing"),
        ("Yohanes Utami Purnama", "Johanes Oetami Poernama"),
        ("Muhammad Yusuf Rahman", "Yusuf Rahman"),
    ],
)
def test_one_person_written_two_ways_matches(a, b):
    assert same_person(a, b) and same_person(b, a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Muhammad", "Muhammad Rizki"),  # one token never matches on its own
        ("Muhammad Rizki", "Muhammad Rizal"),
        ("Siti Aminah", "Siti Aisyah"),
        ("Ratna Hayati", "Ratna Nurhayati"),  # a name inside another is not a name left out
        ("Nur Sukarno", "Nurhayati Sukarno"),
        ("Nur Aini", "Nur Aina"),
        ("Ahmad Fauzi", "Ahmad Fauzan"),
        ("Yohanes Laing", "Yohana Laing"),
        ("", "Ahmad"),
        ("H.", "Hj."),
    ],
)
def test_different_people_with_similar_names_do_not(a, b):
    assert not same_person(a, b)


def test_titles_spelling_and_prefixes_reduce_to_one_form():
    assert tokens("Hj. St. Nur Hayati binti H. Abd. Rahman, S.Pd.") == ("siti", "nur", "hayati", "abdul", "rahman")
    assert canonical("Tjut Nja' Dhien") == canonical("Cut Nya Dhien")


@given(st.text(max_size=300), st.text(max_size=300))
def test_any_two_texts_compare_without_error(a, b):
    assert same_person(a, b) == same_person(b, a)


def test_numbers_written_into_names_tell_people_apart():
    assert not same_person("Maria Ingan 1", "Maria Ingan 2")
    assert same_person("Maria Ingan 2", "Maria  Ingan 2")
