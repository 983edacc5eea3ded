"""A semester's first day, on which a category's age band is judged.

- A semester begins on the first of January or of July: a child who turns eighteen on the first of July
  is past a children's category in the second semester, and the operator is told the age on that day;
  one who turns eighteen a day later is not.
"""

from __future__ import annotations

from datetime import date

from engine.core.errors import Invalid
from engine.setup.demo import nik_for
from tests.factories import DESA, open_period, person_row


def _child_entered(db, periode: str, born: date) -> list[str]:
    """What refuses the entry of an ABH child (0-17 years) born on `born` in `periode` (nothing: taken)."""
    row = person_row(1, kategori="ABH", tanggal_lahir=born.isoformat(), nik=nik_for(DESA, born, "P", 1))
    try:
        open_period(db, periode, [row])
    except Invalid as refused:
        return [p.message for p in refused.problems]
    return []


def test_a_child_eighteen_on_the_first_of_july_is_past_a_childrens_category_in_the_second_semester(db):
    assert _child_entered(db, "2026-S2", date(2008, 7, 1)) == [
        "usia 18 tahun pada 2026-07-01 di luar batas Anak yang Berhadapan dengan Hukum (0-17 tahun)"
    ]


def test_a_child_eighteen_on_the_second_of_july_is_still_a_child_on_the_second_semesters_first_day(db):
    assert _child_entered(db, "2026-S2", date(2008, 7, 2)) == []
