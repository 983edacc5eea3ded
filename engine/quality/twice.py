"""People standing on the register of two desa at once, in one category: counted twice.

A person who moved is entered where they went, and the desa they left must mark them "pindah".
When the desa they left does not (the warning where they went was acknowledged as "the same
person, moved", and nothing ended the old record), both records stand and every figure above the
two desa counts the person twice. Before the head determines the year's figures, they are told.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.quality import aggregates


@dataclass(frozen=True)
class Twice:
    """How many people of a category stand in each of these desa at once."""

    kategori: str
    desa: tuple[str, ...]
    orang: int


def registered_twice(session: Session, province: str, periode: str) -> list[Twice]:
    """The people (by NIK) active in more than one desa of the province in the same category on the
    register as it stood at the end of `periode` (a person who moved later is not counted twice in
    that period's figures), by the category and the desa they stand in, the most people first."""
    standing = aggregates.standing_select(session, province, periode).cte("standing")
    with_nik = and_(standing.c.nik.is_not(None), standing.c.nik != "")
    twice = (
        select(standing.c.nik, standing.c.kategori)
        .where(with_nik)
        .group_by(standing.c.nik, standing.c.kategori)
        .having(func.count(func.distinct(standing.c.kode_desa)) > 1)
        .subquery()
    )
    places: dict[tuple[str | None, str], set[str]] = {}
    for nik, kategori, desa in session.execute(
        select(standing.c.nik, standing.c.kategori, standing.c.kode_desa).join(
            twice, (twice.c.nik == standing.c.nik) & (twice.c.kategori == standing.c.kategori)
        )
    ):
        places.setdefault((nik, kategori), set()).add(desa)
    counted = Counter((kategori, tuple(sorted(desa))) for (_, kategori), desa in places.items())
    return [Twice(kategori, desa, n) for (kategori, desa), n in sorted(counted.items(), key=lambda c: (-c[1], c[0]))]
