"""Indonesian personal names, normalised so that one person written two ways matches.

The same person is written Muhammad, Moh., Muh. or M.; Abdul or Abd.; Siti or St.; with or
without Haji, Hj., Drs. or a degree after a comma; in the old spelling (Djamal, Tjahjo, Soekarno)
or the new (Jamal, Cahyo, Sukarno); Nurhayati or Nur Hayati, Abdurrahman or Abdul Rahman; with
or without "bin Yusuf". Names are reduced to canonical tokens; one name found whole, in order, inside
the other matches (a first or family name left out), guarded by needing at least two tokens, so
that "Muhammad" alone never matches "Muhammad Rizki". Otherwise a fuzzy ratio of the sorted tokens
catches a slip of the keyboard.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from itertools import chain, islice

import numpy as np
from rapidfuzz import fuzz, process

MATCH = 90  # rapidfuzz ratio of the canonical names, 0-100, for spelling slips (Suryani/Suriani)
MAX_LENGTH = 160  # a name is a record's `nama`; anything longer is cut before comparing

# Honorifics and titles written before a name; degrees come after a comma and are cut there.
TITLES = frozenset(
    {
        "h",
        "hj",
        "haji",
        "hajah",
        "hajjah",
        "drs",
        "dra",
        "dr",
        "ir",
        "prof",
        "kh",
        "ust",
        "ustadz",
        "ustazah",
        "tn",
        "ny",
        "nn",
        "sdr",
        "sdri",
        "bpk",
        "ibu",
        "bapak",
        "almarhum",
        "alm",
        "almh",
    }
)
# bin/binti join a person's name to the father's; the father's name stays, the word goes.
LINKS = frozenset({"bin", "binti", "bt"})
SAME = {
    "m": "muhammad",
    "mhd": "muhammad",
    "moh": "muhammad",
    "moch": "muhammad",
    "mochamad": "muhammad",
    "mochammad": "muhammad",
    "mohamad": "muhammad",
    "mohammad": "muhammad",
    "mohammed": "muhammad",
    "muh": "muhammad",
    "muhd": "muhammad",
    "muhamad": "muhammad",
    "muhammed": "muhammad",
    "md": "muhammad",
    "abd": "abdul",
    "abdu": "abdul",
    "st": "siti",
    "sity": "siti",
}
# Spellings before the 1972 reform, and Dutch ones: Dj->J, Tj->C, Nj->Ny, Sj->Sy, Ch->Kh, Oe->U,
# and in a word written the old way, a lone J was a Y (Tjahjo -> Cahyo).
OLD_SPELLING = (("dj", "j"), ("tj", "c"), ("nj", "ny"), ("sj", "sy"), ("ch", "kh"), ("oe", "u"))
_OLD_MARKS = re.compile("dj|tj|nj|sj|oe")
_OLD_Y = re.compile(r"(?<![dtns])j")
# Prefixes written apart or together: Nur Hayati / Nurhayati, Abdul Rahman / Abdulrahman /
# Abdurrahman. They are split off, so that each name part counts as one token.
PREFIXES = ("nurul", "abdul", "nur")
_ASSIMILATED = re.compile(r"abdu([a-z])\1(.+)")  # Abdurrahman, Abdussalam: Abdul + Rahman, Salam
_NOT_LETTER = re.compile(r"[^a-z0-9]+")


def _letters(name: str) -> str:
    """Lower-case ASCII letters, digits and spaces: accents dropped, apostrophes joined (Ma'ruf -> maruf)."""
    plain = unicodedata.normalize("NFKD", name[:MAX_LENGTH]).encode("ascii", "ignore").decode().casefold()
    return _NOT_LETTER.sub(" ", plain.replace("'", "").replace("`", ""))


def _modern(token: str, old: bool) -> str:
    if old:
        token = _OLD_Y.sub("y", token)
    for old_letters, new in OLD_SPELLING:
        token = token.replace(old_letters, new)
    return token


def _split_prefixes(tokens: list[str]) -> list[str]:
    split: list[str] = []
    for token in tokens:
        token = _ASSIMILATED.sub(r"abdul\1\2", token)
        prefix = next((p for p in PREFIXES if token.startswith(p) and len(token) - len(p) >= 3), None)
        split += [prefix, token[len(prefix) :]] if prefix else [token]
    return split


@functools.lru_cache(maxsize=65536)  # an import compares each name with everyone born the same day
def tokens(name: str) -> tuple[str, ...]:
    """The canonical tokens of a name, in order."""
    before_degrees = name.split(",", 1)[0]
    words = [w for w in _letters(before_degrees).split() if w not in TITLES and w not in LINKS]
    old = any(_OLD_MARKS.search(w) for w in words)  # a name written the old way is so throughout
    words = [SAME.get(m, m) for m in (_modern(SAME.get(w, w), old) for w in words)]
    return tuple(_split_prefixes(words))


def canonical(name: str) -> str:
    return " ".join(tokens(name))


def same_person(a: str, b: str) -> bool:
    """True when two names are very likely the same person's (given the same birth date and place)."""
    return same_tokens(tokens(a), tokens(b))


def same_tokens(ta: tuple[str, ...], tb: tuple[str, ...]) -> bool:
    """`same_person` on names already reduced to their tokens."""
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    if {t for t in ta if t.isdigit()} != {t for t in tb if t.isdigit()}:
        return False  # "Maria 1" and "Maria 2" are told apart on purpose
    short, long = sorted((ta, tb), key=len)
    if len(short) >= 2 and _within(short, long):
        return True  # a name left out: Siti Aminah / Siti Aminah binti Umar
    return len(short) >= 2 and fuzz.token_sort_ratio(" ".join(ta), " ".join(tb)) >= MATCH


def _within(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """`short` appears in `long` as consecutive names: a first or last name left out, not one
    taken from the middle (Ratna Hayati is not Ratna Nur Hayati)."""
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def earlier_alikes(names: list[str], most: int) -> list[list[int]]:
    """For each name, the first `most` names before it that `same_person` calls the same person's
    (of up to six words found inside another: `RUN_WORDS`).

    Names found whole in each other (equal ones too) come from an index of their runs of tokens,
    spelling slips from rapidfuzz's ratios computed in C, each among names with the same numbers in
    them (`same_tokens` tells those apart first); so a day thousands were born on (1 January, for the
    old whose birthday nobody knew) is not compared pair by pair in Python, and a name thousands
    share yields `most` each, not every pair."""
    parts = [tokens(name) for name in names]
    whole: dict[tuple[str, ...], list[int]] = defaultdict(list)
    within: dict[tuple[tuple[str, ...], frozenset[str]], list[int]] = defaultdict(list)
    for j, t in enumerate(parts):
        whole[t].append(j)
        for run in _runs(t):
            within[run, _numbers(t)].append(j)
    slips = _slips(parts, most)
    found = []
    for j, t in enumerate(parts):
        lists = [whole[t], slips[j]] if t else []
        if len(t) >= 2:  # t inside a longer name, or a shorter name inside t, with the same numbers
            lists += [within[t, _numbers(t)]] + [whole[run] for run in _runs(t) if _numbers(run) == _numbers(t)]
        earlier = (islice(seen, min(bisect_left(seen, j), most)) for seen in lists)
        found.append(sorted(set(chain.from_iterable(earlier)))[:most])
    return found


def _numbers(t: tuple[str, ...]) -> frozenset[str]:
    return frozenset(token for token in t if token.isdigit())


RUN_WORDS = 6  # a name found inside another has six words at most: no one's name has more
INDEXED_WORDS = 12  # and starts within the other's first twelve: a text of 80 words is no name either


def _runs(t: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Every run of two to six words a name has, within its first twelve: what a name left out leaves.
    Bounded, so that 5,000 rows of 80 one-letter words each do not index millions of runs."""
    return {t[a:b] for a in range(min(len(t), INDEXED_WORDS)) for b in range(a + 2, min(len(t), a + RUN_WORDS) + 1)}


SLIP_ROWS = 1_000  # names compared at once against the others: a matrix of 1,000 × n bytes


def _slips(parts: list[tuple[str, ...]], most: int) -> list[list[int]]:
    """For each name, the first `most` before it within a spelling slip: two tokens or more each, and
    the same numbers ("Maria Ingan 1" and "Maria Ingan 2" are told apart on purpose)."""
    groups: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, t in enumerate(parts):
        if len(t) >= 2:
            groups[_numbers(t)].append(i)
    slips: list[list[int]] = [[] for _ in parts]
    for many in groups.values():
        written = [" ".join(sorted(parts[i])) for i in many]  # token_sort_ratio's own reading of a name
        for start in range(0, len(many), SLIP_ROWS):
            scores = process.cdist(
                written[start : start + SLIP_ROWS], written, scorer=fuzz.ratio, score_cutoff=MATCH, dtype=np.uint8
            )
            for a, row in enumerate(scores):
                slips[many[start + a]] = [many[int(b)] for b in np.flatnonzero(row[: start + a])[:most]]
    return slips
