"""Name matching for duplicates: recall on variants of one person, false matches between people.

A synthetic set, written here: Indonesian names built from common given names, each written a
second way as operators write them (Moh./Muh./M. for Muhammad, Abd., St., titles and degrees, the
old spelling, Nur/Abdul written apart or together, bin/binti added or dropped, a family name left
out, one letter mistyped), and pairs of different people whose names share all but one name.

It prints, for the product's matcher and for a plain fuzzy ratio on the raw names (what the
first release did): the share of variant pairs matched (recall) and the share of different-people
pairs matched (false matches). Duplicates are only looked for among people of one desa born on one
day, so a false match here becomes an alarm only when that coincidence also happens.

    python bench/names.py [--pairs 4000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.quality.names import same_person  # noqa: E402

FIRST_MEN = [
    "Muhammad",
    "Ahmad",
    "Abdul",
    "Yusuf",
    "Rizki",
    "Hasan",
    "Budi",
    "Joko",
    "Agus",
    "Slamet",
    "Sugeng",
    "Yohanes",
    "Stefanus",
    "Lawing",
    "Jamal",
    "Syahrul",
    "Khairul",
    "Cahyo",
    "Darmawan",
    "Nur",
]
FIRST_WOMEN = [
    "Siti",
    "Nur",
    "Dewi",
    "Sri",
    "Maria",
    "Yuliana",
    "Aminah",
    "Khadijah",
    "Fatimah",
    "Rahmawati",
    "Suryani",
    "Wulan",
    "Ratna",
    "Ingan",
    "Lestari",
    "Nurhayati",
    "Rosmiati",
    "Cahaya",
]
SECOND = [
    "Rahman",
    "Hidayat",
    "Saputra",
    "Santoso",
    "Wijaya",
    "Lestari",
    "Hayati",
    "Aminah",
    "Karim",
    "Salam",
    "Jaya",
    "Sukarno",
    "Syahputra",
    "Laing",
    "Ingan",
    "Usat",
    "Juwita",
    "Yusuf",
    "Kurniawan",
    "Susanti",
    "Purnama",
    "Ramadhan",
    "Huda",
    "Fauzi",
    "Anwar",
    "Hakim",
    "Suryadi",
    "Wahyuni",
    "Utami",
    "Cahyono",
]
FATHERS = ["Umar", "Ali", "Usman", "Idris", "Jafar", "Sulaiman", "Daud", "Ismail"]

ABBREVIATIONS = {
    "Muhammad": ["Moh.", "Muh.", "M.", "Mochammad", "Muhamad", "Mohammad"],
    "Abdul": ["Abd."],
    "Siti": ["St."],
}
TITLES_MEN = ["H.", "Drs.", "Ir.", "Dr."]
TITLES_WOMEN = ["Hj.", "Dra."]
DEGREES = [", S.Pd.", ", S.E.", ", S.Sos.", ", A.Md.", ", M.Si."]


def person(rng: random.Random) -> tuple[list[str], bool]:
    woman = rng.random() < 0.5
    first = rng.choice(FIRST_WOMEN if woman else FIRST_MEN)
    names = [first] + rng.sample(SECOND, rng.choice([1, 1, 2]))
    if first in ("Abdul", "Nur") and len(names) == 1:
        names.append(rng.choice(SECOND))
    return names, woman


OLD_PAIRS = {"sy": "sj", "ny": "nj", "kh": "ch"}
OLD_LETTERS = {"c": "tj", "j": "dj", "y": "j", "u": "oe"}


def _old_spelling(word: str) -> str:
    """Write a word the way it was spelled before 1972 (and in Dutch-era registers): Cahyono ->
    Tjahjono, Yusuf -> Joesoef, Syahrul -> Sjahroel, Jamal -> Djamal."""
    text, out, i = word.lower(), [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in OLD_PAIRS:
            out.append(OLD_PAIRS[pair])
            i += 2
        else:
            out.append(OLD_LETTERS.get(text[i], text[i]))
            i += 1
    return "".join(out).capitalize()


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(2, len(word) - 1)
    return word[:i] + rng.choice("aiueo") + word[i + 1 :]


def variant(names: list[str], woman: bool, rng: random.Random) -> tuple[str, str]:
    """(kind of variation, the name written that way). A name to abbreviate starts with Muhammad,
    Abdul or Siti (the caller writes its `names` list back)."""
    kind = rng.choice(
        ["singkatan", "gelar", "ejaan_lama", "spasi", "bin_binti", "nama_keluarga", "salah_ketik", "huruf"]
    )
    if kind == "singkatan" and names[0] not in ABBREVIATIONS:
        names[0] = "Siti" if woman else rng.choice(["Muhammad", "Abdul"])
    words = list(names)
    if kind == "singkatan":
        words[0] = rng.choice(ABBREVIATIONS[words[0]])
    if kind == "gelar":
        title = rng.choice(TITLES_WOMEN if woman else TITLES_MEN)
        return kind, f"{title} {' '.join(words)}{rng.choice(DEGREES) if rng.random() < 0.5 else ''}"
    if kind == "ejaan_lama":
        words = [_old_spelling(w) for w in words]
    elif kind == "spasi":
        joined = " ".join(words)
        for prefix in ("Nur", "Abdul"):
            if joined.startswith(prefix + " "):
                return kind, joined.replace(prefix + " ", prefix, 1)
            if joined.startswith(prefix) and len(joined.split()[0]) > len(prefix):
                return kind, prefix + " " + joined[len(prefix) :]
        return kind, joined.replace(" ", "  ")
    elif kind == "bin_binti":
        words += ["binti" if woman else "bin", rng.choice(FATHERS)]
    elif kind == "nama_keluarga":
        words = words[:-1] if len(words) > 2 else words + [rng.choice(SECOND)]
    elif kind == "salah_ketik":
        i = rng.randrange(len(words))
        words[i] = _typo(words[i], rng)
    elif kind == "huruf":
        return kind, " ".join(words).upper()
    return kind, " ".join(words)


def different(names: list[str], rng: random.Random) -> str:
    """Another person: one of the names replaced by a different one."""
    words = list(names)
    i = rng.randrange(len(words))
    pool = [w for w in SECOND + FIRST_MEN + FIRST_WOMEN if w != words[i] and w not in words]
    words[i] = rng.choice(pool)
    return " ".join(words)


def plain_fuzzy(a: str, b: str) -> bool:
    return fuzz.token_sort_ratio(a.lower(), b.lower()) >= 90


def measure(pairs: int, seed: int, verbose: bool = False) -> None:
    rng = random.Random(seed)
    same: list[tuple[str, str, str]] = []
    other: list[tuple[str, str]] = []
    for _ in range(pairs):
        names, woman = person(rng)
        kind, written = variant(names, woman, rng)  # may set the first name
        same.append((kind, " ".join(names), written))
        other.append((" ".join(names), different(names, rng)))
    matchers: dict[str, Callable[[str, str], bool]] = {"SIJOSKU": same_person, "fuzzy 90 (rilis 1)": plain_fuzzy}
    print(f"{pairs} variant pairs and {pairs} pairs of different people (seed {seed})")
    kinds = Counter(kind for kind, _, _ in same)
    for label, match in matchers.items():
        hits = Counter(kind for kind, a, b in same if match(a, b))
        recall = sum(hits.values()) / len(same)
        false = sum(match(a, b) for a, b in other) / len(other)
        print(f"\n{label}: recall {recall:.1%}, false matches {false:.1%}")
        if verbose:
            print("  missed:", [(a, b) for _, a, b in same if not match(a, b)][:8])
            print("  false:", [(a, b) for a, b in other if match(a, b)][:8])
        for kind in sorted(kinds):
            print(f"  {kind:<14} {hits[kind] / kinds[kind]:6.1%}  ({kinds[kind]} pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="print some missed and false pairs")
    args = parser.parse_args()
    measure(args.pairs, args.seed, args.verbose)


if __name__ == "__main__":
    main()
