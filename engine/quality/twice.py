"""People standing on the register of two desa at once, in one category: counted twice.

A person who moved is entered where they went, and the desa they left must mark them "pindah".
When the desa they left does not (the warning where they went was acknowledged as "the same
person, moved", and nothing ended the old record), both records stand and every figure above the
two desa counts the person twice. Before the head determines the year's figures, they are told.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Record, RecordStatus


@dataclass(frozen=True)
class Twice:
    """How many people of a category stand in each of these desa at once."""

    kategori: str
    desa: tuple[str, ...]
    orang: int


def registered_twice(session: Session, province: str) -> list[Twice]:
    """The people (by NIK) active in more than one desa of the province in the same category, by the
    category and the desa they stand in, the most people first."""
    standing = (Record.status == RecordStatus.AKTIF, Record.kode_desa.like(f"{province}.%"), Record.nik != "")
    twice = (
        select(Record.nik, Record.kategori)
        .where(*standing)
        .group_by(Record.nik, Record.kategori)
        .having(func.count(func.distinct(Record.kode_desa)) > 1)
        .subquery()
    )
    places: dict[tuple[str | None, str], set[str]] = {}
    for nik, kategori, desa in session.execute(
        select(Record.nik, Record.kategori, Record.kode_desa)
        .join(twice, (twice.c.nik == Record.nik) & (twice.c.kategori == Record.kategori))
        .where(*standing)
    ):
        places.setdefault((nik, kategori), set()).add(desa)
    counted = Counter((kategori, tuple(sorted(desa))) for (_, kategori), desa in places.items())
    return [Twice(kategori, desa, n) for (kategori, desa), n in sorted(counted.items(), key=lambda c: (-c[1], c[0]))]
