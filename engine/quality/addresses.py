"""Addresses as operators key them: one household's address written several ways is one address.

A family card's members share an address, and a card whose members are at different addresses is
worth a look (`duplicates.household_findings`). But an operator keys `RT 003 RW 001` for one member
and `Rt.3/Rw.1` for the next, `Jl.` or `Jalan`, with or without the street: compared as typed, a
quarter of households keyed twice made a fifth of clean rows alarm (`bench/records.py`). Here an
address is read as its numbered parts (RT, RW, house number) and its other words, abbreviations
written out and leading zeros dropped; two writings are one address when no number differs and the
words of one are found in order in the other's (the street left out, or a house number added).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# The abbreviations of an Indonesian address, written out.
WORDS = {
    "jl": "jalan",
    "jln": "jalan",
    "gg": "gang",
    "no": "nomor",
    "nmr": "nomor",
    "blk": "blok",
    "dsn": "dusun",
    "ds": "desa",
    "kel": "kelurahan",
    "kec": "kecamatan",
    "kab": "kabupaten",
    "perum": "perumahan",
    "komp": "kompleks",
}
# A number that follows one of these belongs to it (`Gg. 3 No. 5`: gang 3, house 5; `Km. 12`).
NUMBERED = ("rt", "rw", "nomor", "gang", "blok", "lorong", "km")
PLACES = ("dusun", "lingkungan", "desa", "kelurahan", "kecamatan", "kabupaten", "kota")  # a name follows
SAME_PLACE = {"kelurahan": "desa"}  # the KTP labels the one place "Kel/Desa"; offices write either word
STREETS = ("jalan", "gang", "blok", "lorong", "perumahan", "kompleks", "km")  # where a place's name ends
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
MOST_TOLD = 10  # a card at more addresses than this is told as "more than ten"
MAX_LENGTH = 300  # an address longer than any real one is read only this far
_PARTS = re.compile(r"[a-z]+|[0-9]+")
_KTP_PAIR = re.compile(r"\brt\s*[/.]?\s*rw\b\W*?(\d+)\s*/\s*(\d+)")  # "RT/RW : 003/001", as the KTP prints it
_BARE_PAIR = re.compile(r"^\W*(\d{1,3})\s*/\s*(\d{1,3})\W*$")  # "005/002" and nothing else: an RT and its RW
_RT_PAIR = re.compile(r"\brt\s*[.:]?\s*(\d{1,3})\s*/\s*(\d{1,3})\b")  # "RT 003/001": the RW after the RT's number


@dataclass(frozen=True)
class Address:
    numbers: tuple[tuple[str, str], ...]  # ('nomor', '5'), ('rt', '3'), ('rw', '1')
    words: tuple[str, ...]  # the rest, in order: ('jalan', 'mulawarman')

    def agrees(self, other: Address) -> bool:
        """The same place, one writing perhaps saying less: no number differs, and the words of one
        are found in order in the other's."""
        mine, theirs = dict(self.numbers), dict(other.numbers)
        if any(theirs.get(label, number) != number for label, number in mine.items()):
            return False
        short, long = sorted((self.words, other.words), key=len)
        rest = iter(long)
        return all(word in rest for word in short)

    def merged(self, other: Address) -> Address:
        """What two agreeing writings say together: RT 1 said by one and a street by the other is
        a place a third writing at RT 2 is not."""
        numbers = dict(other.numbers) | dict(self.numbers)
        return Address(tuple(sorted(numbers.items())), max(self.words, other.words, key=len))


def address_of(text: str) -> Address:
    """An address as its labelled parts and other words: `Rt.03/Rw.001`, `RT/RW 003/001` and `RT 3 RW 1`
    are one. A number after a label (RT, RW, No.) is that label's; the first other number after a
    word is the house's (`Jl. Mulawarman 5`); a place's name after its label (`Desa Ma' Libu`,
    `Dusun II`) is that label's, so that a writing naming the desa or the dusun and one leaving it
    out agree."""
    plain = unicodedata.normalize("NFKD", str(text)[:MAX_LENGTH]).encode("ascii", "ignore").decode().lower()
    for pair in (_KTP_PAIR, _RT_PAIR, _BARE_PAIR):
        plain = pair.sub(r"rt \1 rw \2", plain)
    parts = [str(int(p)) if p.isdigit() else WORDS.get(p, p) for p in _PARTS.findall(plain)]
    numbers: dict[str, str] = {}
    words: list[str] = []
    guessed = False  # the house number was taken from a bare number after the street, not after "No."
    i = 0
    while i < len(parts):
        part, before = parts[i], parts[i - 1] if i else ""
        if part in PLACES:
            value, i = _place_name(parts, i + 1)
            if value:  # "Kel/Desa Karang Anyar" labels one name twice; "Dusun -" names none
                numbers.setdefault(SAME_PLACE.get(part, part), value)
            continue
        if part.isdigit() and len(before) == 1 and before.isalpha() and i > 1 and parts[i - 2] in NUMBERED:  # "Blok A1"
            numbers.setdefault(parts[i - 2], before + part)
            del words[-2:]
        elif before in NUMBERED and (part.isdigit() or (before != "nomor" and part in ROMAN)):
            label, number = words.pop(), str(ROMAN.get(part, part))
            if label == "nomor" and guessed:
                numbers["nomor"], guessed = number, False
            else:
                numbers.setdefault(label, number)
        elif part.isdigit() and words and not before.isdigit() and "nomor" not in numbers:
            numbers["nomor"], guessed = part, True
        else:
            words.append(part)
        i += 1
    return Address(tuple(sorted(numbers.items())), tuple(words))


def _place_name(parts: list[str], start: int) -> tuple[str, int]:
    """The name after a place's label (its number, a Roman numeral read as one, or its words up to
    the next label or number), and where the reading goes on."""
    if start < len(parts) and (parts[start].isdigit() or parts[start] in ROMAN):
        return str(ROMAN.get(parts[start], parts[start])), start + 1
    end = start
    while end < len(parts) and not parts[end].isdigit() and parts[end] not in NUMBERED + PLACES + STREETS:
        end += 1
    return " ".join(parts[start:end]), end


def distinct(addresses: list[str], most: int = MOST_TOLD) -> list[Address]:
    """The different addresses among `addresses`: empty ones dropped, and a writing that agrees
    with what the writings already counted as one place say together counted with them. At most
    `most` + 1 are found, which bounds the work a card keyed on thousands of rows causes."""
    read = {address_of(a) for a in addresses}
    by_detail = sorted(
        (a for a in read if a.numbers or a.words),
        key=lambda a: (len(a.numbers) + len(a.words), a.numbers, a.words),
        reverse=True,
    )
    places: list[Address] = []
    for address in by_detail:
        same = next((i for i, place in enumerate(places) if address.agrees(place)), None)
        if same is not None:
            places[same] = places[same].merged(address)
            continue
        places.append(address)
        if len(places) > most:
            break
    return places
