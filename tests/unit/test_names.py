"""Indonesian name variants match; different people with similar names do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quality.names import INDEXED_WORDS, RUN_WORDS, _runs, canonical, earlier_alikes, same_person, tokens

CASES = [
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
]
DIFFERENT = [
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
]


@pytest.mark.parametrize("a, b", CASES)
def test_one_person_written_two_ways_matches(a, b):
    assert same_person(a, b) and same_person(b, a)


@pytest.mark.parametrize("a, b", DIFFERENT)
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


def _compared_one_by_one(written: list[str], most: int) -> list[list[int]]:
    return [[i for i in range(j) if same_person(written[i], written[j])][:most] for j in range(len(written))]


def test_the_names_found_without_comparing_each_pair_are_those_compared_one_by_one():
    """Every name of the cases above, and each with a slip of one letter, all born on one day."""
    written = [name for case in CASES + DIFFERENT for name in case]
    written += [name[:-1] + "x" for name in written if len(name) > 6] + [
        "Maria Ingan 1",
        "Maria Ingan",
        "Maria Ingan 2",
    ]
    found = earlier_alikes(written, 99)
    assert found == _compared_one_by_one(written, 99) and sum(map(len, found)) > len(CASES)


@given(
    st.lists(st.sampled_from([n for case in CASES + DIFFERENT for n in case]) | st.text(max_size=40), max_size=40),
    st.integers(1, 5),
)
def test_no_name_compared_one_by_one_is_missed_on_any_list(written, most):
    assert earlier_alikes(written, most) == _compared_one_by_one(written, most)


def test_a_name_shared_by_thousands_gives_each_only_the_first_few():
    found = earlier_alikes(["Siti Aminah"] * 3_000 + [f"Maria Ingan {n}" for n in range(3_000)], 20)
    assert found[0] == [] and found[5] == [0, 1, 2, 3, 4] and found[2_999] == list(range(20))
    assert not any(found[3_000:])  # numbers in names tell people apart


def test_a_text_of_eighty_words_indexes_a_bounded_number_of_runs():
    """A name of 160 characters may be 80 one-letter words: its runs are indexed within bounds."""
    words = tuple("abcdefghijklmnopqrstuvwxyz"[i % 26] + str(i // 26) for i in range(80))
    assert len(_runs(words)) == INDEXED_WORDS * (RUN_WORDS - 1)
    long = [" ".join("abcdefghij"[(i * 7 + k) % 10] for k in range(80)) for i in range(50)]
    assert earlier_alikes(long, 5) == _compared_one_by_one(long, 5)
