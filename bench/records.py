"""Record rules on realistic desa files: alarms on clean rows, and recall on planted slips.

A synthetic desa, written here: households under one family card (KK) whose members share an
address; people in the PPKS categories their age and sex allow (many elderly, adults with a
disability, children, women heading a household, families as one row); NIKs issued where people
first registered (mostly their own kecamatan, some elsewhere in the province, some before 2012 under
a Kalimantan Timur code, some in another province); twins; the common names of `bench/names.py`,
so that namesakes occur; and addresses keyed by hand, a household's address written a second way for
some of its members (`RT 003 RW 001`, `Rt.3/Rw.1` or the KTP's `RT/RW 003/001`; `Jl.` or `Jalan`; the
street left out; the desa's name or the dusun added).

Every record rule an upload runs (`record_rules.check_rows`) judges each file. It prints:
- on clean files, the share of rows with an alarm (an error or a warning; an info note, such as a
  NIK under a pre-2012 code, is not one), per rule, with 95 % Wilson intervals, and the share of
  files with any alarm;
- on files with one kind of slip planted in a few rows, the share of plantings on which the slip's
  rule fires (recall), per kind.

    python bench/records.py [--files 40] [--rows 150] [--seed 11] [--keyed-again 0.25]
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import select

from bench import names as name_pool
from bench.fixtures import empty_database
from engine.quality import record_rules
from engine.quality.nik import compose
from engine.verification import imports
from models import Region, Severity, Tier

DESA = "65.01.01.2005"
PERIOD = "2026-Q4"
MIDDLE = date(2026, 11, 15)  # a person belongs to a category when within its band on this day
PLANTS_PER_FILE = 5
OTHER_PROVINCES = ("73", "35", "53", "76", "33", "72")  # where Kalimantan Utara's migrants came from
FORMER = {"65.01": "64.04", "65.02": "64.06", "65.03": "64.05", "65.04": "64.10"}

# (category, weight, youngest, oldest, sex or None); a family (FM) is one row for the household
PROFILES = [
    ("LUT", 30, 60, None, None),
    ("PD", 20, 18, 80, None),
    ("FM", 15, 25, 75, None),
    ("PRSE", 8, 18, 59, "P"),
    ("ADK", 8, 0, 17, None),
    ("AT", 6, 6, 17, None),
    ("ABT", 4, 0, 5, None),
    ("KTK", 3, 18, 70, None),
    ("KBA", 3, 0, 80, None),
    ("PMBS", 2, 20, 50, None),
    ("BWBLP", 1, 19, 60, None),
]
CHILDREN = {"ADK", "AT", "ABT"}


@dataclass
class Desa:
    kecamatan: list[str]  # the province's kecamatan: the desa's own first
    elsewhere: list[str]  # kecamatan of the provinces migrants came from
    serials: set[str] = field(default_factory=set)


def places(session: object) -> Desa:
    codes = list(session.scalars(select(Region.kode).where(Region.tingkat == Tier.KECAMATAN)))  # type: ignore[attr-defined]
    own = DESA.rsplit(".", 1)[0]
    province = [own] + sorted(c for c in codes if c.startswith("65.") and c != own)
    return Desa(province, sorted(c for c in codes if c[:2] in OTHER_PROVINCES))


def _born(rng: random.Random, youngest: int, oldest: int | None) -> date:
    if oldest is None:  # the elderly thin out with age; about one in 2,000 is a hundred or more
        age = youngest + (rng.randint(40, 44) if rng.random() < 0.0005 else min(int(rng.expovariate(1 / 8)), 39))
    else:
        age = rng.randint(youngest, oldest)
    return MIDDLE - timedelta(days=365.25 * age + rng.randint(1, 364))


def _issued_in(desa: Desa, rng: random.Random, born: date) -> str:
    draw = rng.random()
    if draw < 0.70:
        return desa.kecamatan[0]
    if draw < 0.82:
        return rng.choice(desa.kecamatan[1:])
    if draw < 0.90 and born.year < 1995:
        code = rng.choice(desa.kecamatan)
        return FORMER.get(code[:5], "64.04") + code[5:]
    return rng.choice(desa.elsewhere) if desa.elsewhere else desa.kecamatan[0]


def _nik(desa: Desa, rng: random.Random, born: date, sex: str, region: str | None = None) -> str:
    while True:
        nik = compose(region or _issued_in(desa, rng, born), born, sex, rng.randint(1, 9999))
        if nik not in desa.serials:
            desa.serials.add(nik)
            return nik


def _name(rng: random.Random, woman: bool) -> str:
    first = rng.choice(name_pool.FIRST_WOMEN if woman else name_pool.FIRST_MEN)
    return " ".join([first] + rng.sample(name_pool.SECOND, rng.choice([1, 1, 2])))


def _address(rng: random.Random) -> tuple[int, int, str]:
    street = rng.choice(["", "", "Jl. Mulawarman", "Jl. Sengkawit", "Gg. Damai", "Jl. Yos Sudarso"])
    return rng.randint(1, 24), rng.randint(1, 8), street


def _keyed(address: tuple[int, int, str], rng: random.Random, again: bool) -> str:
    rt, rw, street = address
    number = f" No. {rt * 3 + rw}" if street else ""
    if not again:
        return f"{street}{number} RT {rt:03d} RW {rw:03d}".strip()
    street = street.replace("Jl.", "Jalan").replace("Gg.", "Gang")
    form = rng.choice(
        [
            "Rt.{rt}/Rw.{rw}",
            "RT {rt} RW {rw}",
            "RT. {rt:02d} / RW. {rw:02d}",
            "rt {rt:03d} rw {rw:03d}",
            "RT/RW {rt:03d}/{rw:03d}",
        ]
    )
    keyed = f"{street}{number.replace('No. ', 'No.')} {form.format(rt=rt, rw=rw)}"
    place = rng.choice(["", "", " Desa Sekatak Buji", "Dusun II "])  # the desa's name added, or the dusun
    street_left_out = rng.random() < 0.3
    if street_left_out:
        keyed = form.format(rt=rt, rw=rw)
    return (place + keyed if place.startswith("Dusun") else keyed + place).strip()


def _person(desa: Desa, rng: random.Random, kk: str, address: str, profile: tuple) -> dict[str, str]:
    kategori, _, youngest, oldest, only = profile
    sex = only or rng.choice("LP")
    born = _born(rng, youngest, oldest)
    row = {
        "nik": _nik(desa, rng, born, sex),
        "no_kk": kk,
        "nama": _name(rng, sex == "P"),
        "jenis_kelamin": sex,
        "tanggal_lahir": born.isoformat(),
        "alamat": address,
        "kategori": kategori,
        "keterangan": "",
    }
    return row


def clean_file(desa: Desa, rng: random.Random, rows: int, keyed_again: float) -> list[dict[str, str]]:
    """A desa's file: households of one to four people on the register, as its operator keys them."""
    found: list[dict[str, str]] = []
    weights = [p[1] for p in PROFILES]
    while len(found) < rows:
        issued = MIDDLE - timedelta(days=rng.randint(200, 5000))
        kk = f"{desa.kecamatan[0].replace('.', '')}{issued:%d%m%y}{rng.randint(1, 9999):04d}"
        home = _address(rng)
        members = rng.choice([1, 1, 1, 2, 2, 3, 4])
        again = members > 1 and rng.random() < keyed_again
        for m in range(members):
            profile = rng.choices(PROFILES, weights)[0]
            while profile[0] == "FM" and m:  # a family is one row, its first
                profile = rng.choices(PROFILES, weights)[0]
            row = _person(desa, rng, kk, _keyed(home, rng, again and m == members - 1), profile)
            found.append(row)
            if profile[0] in CHILDREN and rng.random() < 0.03:  # a twin: one birth date, the next serial
                twin = dict(row, nama=_name(rng, row["jenis_kelamin"] == "P"))
                twin["nik"] = row["nik"][:12] + f"{int(row['nik'][12:]) % 9999 + 1:04d}"
                desa.serials.add(twin["nik"])
                found.append(twin)
    return found[:rows]


# Slips an operator makes, each planted on a copy of a clean row; the rules that should say so.
# A plant changes row i, perhaps after another row `source` never planted on, and returns the
# source when the slip shows on either row (the second entry of a pair is told on one of them).
Plant = Callable[[list[dict[str, str]], int, int, Desa, random.Random], int | None]


def _wrong_nik_date(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    nik = rows[i]["nik"]
    day, month = (rng.choice(["32", "00", "72", "35"]), nik[8:10]) if rng.random() < 0.5 else (nik[6:8], "13")
    rows[i]["nik"] = nik[:6] + day + month + nik[10:]


def _wrong_sex(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    rows[i]["jenis_kelamin"] = "P" if rows[i]["jenis_kelamin"] == "L" else "L"


def _wrong_birth_date(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    born = date.fromisoformat(rows[i]["tanggal_lahir"])
    shifted = (
        born + timedelta(days=rng.choice([1, 2, 10, 31]))
        if rng.random() < 0.5
        else born.replace(year=born.year + rng.choice([-2, -1, 1]), day=min(born.day, 28))
    )
    rows[i]["tanggal_lahir"] = shifted.isoformat()


def _category_out_of_age(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    born = date.fromisoformat(rows[i]["tanggal_lahir"])
    rows[i]["kategori"] = "LUT" if MIDDLE.year - born.year < 50 else rng.choice(["ABT", "ADK", "AT"])


def _category_of_other_sex(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    row = rows[i]
    born = MIDDLE - timedelta(days=365 * rng.randint(25, 50))
    row.update(jenis_kelamin="L", tanggal_lahir=born.isoformat(), kategori="PRSE", nama=_name(rng, False))
    row["nik"] = _nik(desa, rng, born, "L", desa.kecamatan[0])


def _entered_twice(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> int:
    rows[i] = dict(rows[source])
    return source


def _nik_mistyped(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> int:
    again = dict(rows[source])
    position = rng.randint(12, 15)
    digit = rng.choice([d for d in "0123456789" if d != again["nik"][position]])
    again["nik"] = again["nik"][:position] + digit + again["nik"][position + 1 :]
    rows[i] = again
    return source


def _unknown_region(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    rows[i]["nik"] = desa.kecamatan[0].replace(".", "")[:4] + "99" + rows[i]["nik"][6:]


def _other_address(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    born = date.fromisoformat(rows[i]["tanggal_lahir"])
    rows[i].update(no_kk=rows[source]["no_kk"], alamat=f"RT {rng.randint(30, 40):03d} RW {rng.randint(10, 12):03d}")
    rows[i]["nik"] = _nik(desa, rng, born, rows[i]["jenis_kelamin"])


NEXT_PLACE = [(r"No\.? ?(\d+)", "{}"), (r"\bRT ?/ ?RW (\d+)", "RT/RW {:03d}"), (r"\bRT\.? ?(\d+)", "RT {:03d}")]


def _other_house(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> None:
    """A member written at the next house of the card's street, its number without "No." (or, on a card
    with no street, at the next RT), as if keyed from another family's form."""
    home, moved = rows[source]["alamat"], ""
    for pattern, written in NEXT_PLACE:  # however the source's address was keyed
        moved = re.sub(pattern, lambda m, w=written: w.format(int(m.group(1)) + 1), home, count=1, flags=re.I)
        if moved != home:
            break
    born = date.fromisoformat(rows[i]["tanggal_lahir"])
    rows[i].update(no_kk=rows[source]["no_kk"], alamat=moved, nik=_nik(desa, rng, born, rows[i]["jenis_kelamin"]))


def _child_and_elderly(rows: list[dict[str, str]], i: int, source: int, desa: Desa, rng: random.Random) -> int:
    rows[i] = dict(rows[source], kategori="LUT" if rows[source]["kategori"] in CHILDREN else "ABT")
    return source


PLANTS: dict[str, tuple[Plant, set[str]]] = {
    "NIK date impossible": (_wrong_nik_date, {"nik_tanggal"}),
    "sex against the NIK": (_wrong_sex, {"nik_jenis_kelamin"}),
    "birth date against the NIK": (_wrong_birth_date, {"nik_tanggal_lahir", "bentuk_data"}),
    "category outside its age band": (_category_out_of_age, {"kategori_usia"}),
    "a women's category for a man": (_category_of_other_sex, {"kategori_jenis_kelamin"}),
    "a row entered twice": (_entered_twice, {"duplikat_nik", "duplikat_kk"}),
    "a second entry, NIK mistyped": (_nik_mistyped, {"nik_salah_ketik", "duplikat_kk"}),
    "a NIK region no kecamatan has": (_unknown_region, {"nik_wilayah"}),
    "a family member at another address": (_other_address, {"kk_alamat"}),
    "a family member at the next house or RT": (_other_house, {"kk_alamat"}),
    "one NIK a child and an elder": (_child_and_elderly, {"duplikat_kategori", "kategori_usia"}),
}


def alarms(session: object, rows: list[dict[str, str]]) -> list[set[str]]:
    """Per row, the rules that raise an error or a warning on it (info notes are not alarms)."""
    ctx = record_rules.Context.load(session, PERIOD)  # type: ignore[arg-type]
    values = [imports.item_values(dict(r), ctx) for r in rows]
    findings = record_rules.check_rows(session, values, ctx, DESA)  # type: ignore[arg-type]
    return [{f.rule for f in found if f.severity in (Severity.ERROR, Severity.WARNING)} for found in findings]


def _of(judged: list[set[str]], row: int | None) -> set[str]:
    return judged[row] if row is not None else set()


def wilson(hits: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p, z = hits / n, 1.96
    middle = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, middle - half), min(1.0, middle + half)


def share(hits: int, n: int) -> str:
    low, high = wilson(hits, n)
    return f"{100 * hits / max(n, 1):6.2f} % ({hits}/{n}; 95 %: {100 * low:.2f}–{100 * high:.2f})"


@dataclass
class Tally:
    """Alarms on clean files and the recall of plantings, as the record benches count and print them."""

    files: int = 0
    rows: int = 0
    flagged_rows: int = 0
    flagged_files: int = 0
    per_rule: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    planted: Counter[str] = field(default_factory=Counter)

    def clean(self, judged: list[set[str]]) -> None:
        self.files += 1
        self.rows += len(judged)
        self.flagged_rows += sum(1 for a in judged if a)
        self.flagged_files += any(judged)
        self.per_rule.update(rule for a in judged for rule in a)

    def plantings(self, kind: str, planted: int, found: int) -> None:
        self.planted[kind] += planted
        self.found[kind] += found

    def print(self, seed: int, clean: str, planted: str, kinds: list[str]) -> None:
        print(f"machine: {platform.machine()}, Python {platform.python_version()}; seed {seed}")
        print(f"clean: {clean}")
        print(f"  rows with an alarm   {share(self.flagged_rows, self.rows)}")
        print(f"  files with an alarm  {share(self.flagged_files, self.files)}")
        for rule, n in self.per_rule.most_common():
            print(f"    {rule:26} {share(n, self.rows)}")
        print(f"planted: {PLANTS_PER_FILE} {planted} of one kind per file; recall")
        width = max(map(len, kinds)) + 1
        for kind in kinds:
            print(f"  {kind:{width}} {share(self.found[kind], self.planted[kind])}")


def measure(files: int, rows: int, seed: int, keyed_again: float) -> None:
    rng = random.Random(seed)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(None, tmp, "records")
        with db.read() as session:
            desa = places(session)
            for _ in range(files):
                desa.serials.clear()
                clean = clean_file(desa, rng, rows, keyed_again)
                tally.clean(alarms(session, clean))
                for kind, (plant, rules) in PLANTS.items():
                    copy = [dict(r) for r in clean]
                    chosen = rng.sample(range(len(copy)), 2 * PLANTS_PER_FILE)
                    at, sources = chosen[:PLANTS_PER_FILE], chosen[PLANTS_PER_FILE:]
                    pairs = [(i, plant(copy, i, source, desa, rng)) for i, source in zip(at, sources, strict=True)]
                    judged = alarms(session, copy)
                    told = sum(1 for i, first in pairs if (judged[i] | _of(judged, first)) & rules)
                    tally.plantings(kind, len(at), told)
        db.dispose()
    clean = f"{files} files of {rows} rows, a household's address keyed again in {keyed_again:.0%}"
    tally.print(seed, clean, "slips", list(PLANTS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keyed-again", type=float, default=0.25)
    args = parser.parse_args()
    if not (0 < args.files <= 1000 and 20 <= args.rows <= 5000 and 0 <= args.keyed_again <= 1):
        parser.error("--files 1..1000, --rows 20..5000, --keyed-again 0..1")
    measure(args.files, args.rows, args.seed, args.keyed_again)


if __name__ == "__main__":
    main()
