"""The NIK (Nomor Induk Kependudukan): `PP KK CC DD MM YY SSSS`.

`PPKKCC` is the kecamatan where the number was first issued (it never changes when the person
moves, and may be a code that no longer exists, such as Kalimantan Timur's 64.xx codes that
Kalimantan Utara's regencies carried before 2012). `DDMMYY` is the birth date, with 40 added to
the day for women. `SSSS` is a serial from 0001. There is no check digit: offline, only the shape,
the date, the sex and the region can be checked.

python-stdnum's `id.nik` is not used: its region table lacks province 65 and it guesses 19xx first.

Only the ASCII digits 0-9 make a NIK. Python's `str.isdigit` also accepts full-width (`１`),
Arabic-Indic (`١`) and superscript (`²`) digits, which `int()` then either accepts (and a NIK typed
with them escapes every duplicate check) or refuses with a crash; neither may happen here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import ne

from engine.core import clock
from engine.core.errors import phrase

_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")


@dataclass(frozen=True)
class Nik:
    kecamatan: str  # dotted Kemendagri code of first issue, e.g. 65.01.01
    birth_date: date
    sex: str  # L or P
    serial: int


class NikError(ValueError):
    """The number cannot be a NIK; the message says why, in Indonesian."""


def _century(yy: int, day: int, month: int, birth_hint: date | None, today: date) -> int:
    """The year: from the record's own birth date when it agrees, else the most recent plausible one."""
    if birth_hint is not None and birth_hint.year % 100 == yy:
        return birth_hint.year
    year = 2000 + yy
    try:
        if date(year, month, day) > today:
            year -= 100
    except ValueError:
        year -= 100  # no such day in either century (31 April, 29 February of a common year): refused after
    return year


def one_digit_apart(a: str, b: str) -> bool:
    """Two numbers of one length that differ in one digit: a typing slip of one for the other."""
    # `map(ne, …)` counts in C: an import of 50,000 people compares over 100,000 pairs
    return len(a) == len(b) and sum(map(ne, a, b)) == 1


def is_sixteen_digits(value: str) -> bool:
    """The shape of a NIK and of a KK number: exactly sixteen of the ASCII digits 0-9."""
    return _SIXTEEN_DIGITS.fullmatch(value) is not None


def shape_problem(value: str, what: str = "NIK") -> str | None:
    """Why `value` cannot be a NIK (or KK number), in words an operator can act on; None when it can."""
    if is_sixteen_digits(value):
        return None
    odd = next((i for i, c in enumerate(value) if c not in "0123456789"), None)
    if odd is None:
        return phrase(f"{what} harus 16 angka, bukan {len(value)}")
    if value[odd].isdigit() or value[odd].isnumeric():
        return phrase(
            f"{what} memuat angka yang bukan 0-9 (karakter ke-{odd + 1}, mis. angka lebar penuh, Arab atau "
            "pangkat); ketik ulang dengan angka biasa"
        )
    return phrase(f"{what} hanya boleh berisi angka 0-9; karakter ke-{odd + 1} bukan angka")


def parse(number: str, birth_hint: date | None = None, today: date | None = None) -> Nik:
    today = today or clock.today()
    problem = shape_problem(number)
    if problem is not None:
        raise NikError(problem)
    day, month, yy = int(number[6:8]), int(number[8:10]), int(number[10:12])
    sex = "P" if day > 40 else "L"
    if day > 40:
        day -= 40
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise NikError(f"bagian tanggal lahir NIK ({number[6:12]}) bukan tanggal yang sah")
    year = _century(yy, day, month, birth_hint, today)
    try:
        born = date(year, month, day)
    except ValueError as exc:
        raise NikError(f"bagian tanggal lahir NIK ({number[6:12]}) bukan tanggal yang sah") from exc
    serial = int(number[12:])
    if serial == 0:
        raise NikError("nomor urut NIK (4 angka terakhir) dimulai dari 0001")
    kecamatan = f"{number[0:2]}.{number[2:4]}.{number[4:6]}"
    return Nik(kecamatan, born, sex, serial)


def compose(kecamatan: str, born: date, sex: str, serial: int) -> str:
    """The NIK of a person: the inverse of `parse`."""
    day = born.day + (40 if sex == "P" else 0)
    return f"{kecamatan.replace('.', '')}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
