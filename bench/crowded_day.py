"""Duplicate names among people born on one day: the pairs found without comparing each pair in Python.

An upload's rows (and the desa's register) are compared name by name only among people born on the
same day. On most days that is a handful; but a file may hold thousands on one day (1 January or
31 December for the old whose birthday nobody knew, or a desa application's placeholder date), and
comparing every pair in Python took close to a minute for 5,000 rows. The names here are
`bench/names.py`'s: common Indonesian names, a third of them written a second way.

It prints, for each number of rows on one day, the seconds of the pair-by-pair comparison (the
earlier way, up to 2,000 rows) and of `names.earlier_alikes` (an index of the names' runs of tokens
and rapidfuzz's ratios in C), their ratio, and whether both found exactly the same people for each
row (the first 20 named alike before it, as the check keeps).

    python bench/crowded_day.py [--rows 500,1000,2000,5000] [--seed 5]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.names import person, variant  # noqa: E402
from engine.quality.names import earlier_alikes, same_person  # noqa: E402
from engine.quality.namesakes import MOST_ALIKE  # noqa: E402

PAIR_BY_PAIR_UP_TO = 2_000  # beyond, the earlier way takes minutes


def names_of_one_day(count: int, rng: random.Random) -> list[str]:
    written = []
    while len(written) < count:
        names, woman = person(rng)
        written.append(" ".join(names))
        if rng.random() < 0.33:
            written.append(variant(names, woman, rng)[1])
    return written[:count]


def pair_by_pair(written: list[str]) -> list[list[int]]:
    return [[i for i in range(j) if same_person(written[i], written[j])][:MOST_ALIKE] for j in range(len(written))]


def through_the_index(written: list[str]) -> list[list[int]]:
    return earlier_alikes(written, MOST_ALIKE)


def timed(work: object, written: list[str]) -> tuple[float, list[list[int]]]:
    started = time.perf_counter()
    found = work(written)  # type: ignore[operator]
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="500,1000,2000,5000")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("rows on one day  pair by pair (s)  through the index (s)  ratio  same pairs")
    for count in (int(n) for n in args.rows.split(",")):
        written = names_of_one_day(count, random.Random(args.seed))
        fast, found = timed(through_the_index, written)
        if count <= PAIR_BY_PAIR_UP_TO:
            slow, every = timed(pair_by_pair, written)
            print(f"{count:>16,}  {slow:>16.2f}  {fast:>21.3f}  {slow / fast:>5.0f}×  {found == every}")
        else:
            print(f"{count:>16,}  {'-':>16}  {fast:>21.3f}  {'-':>6}  {sum(map(len, found)):,} named alike")


if __name__ == "__main__":
    main()
