"""A year's reporting, by regency and cycle: whose part a person reads, and which regencies were silent."""

from __future__ import annotations

from engine.verification.coverage import Coverage, unreported, within

YEAR = [
    Coverage("2026-Q1", "65.01", 10, 10, 0, 10),
    Coverage("2026-Q1", "65.02", 6, 0, 6, 0),
    Coverage("2026-Q2", "65.01", 10, 9, 1, 9),
    Coverage("2026-Q2", "65.02", 6, 0, 0, 0, terbuka=True),
]


def test_a_regencys_part_is_its_own_lines_and_a_kecamatan_reads_its_regencys():
    assert {c.kode for c in within(YEAR, ["65.01"])} == {"65.01"}
    assert {c.kode for c in within(YEAR, ["65.02.01"])} == {"65.02"}  # a kecamatan's token, its regency's lines
    assert within(YEAR, ["65.03"]) == [] and len(within(YEAR, ["65"])) == 4


def test_a_regency_none_of_whose_desa_reported_in_any_cycle_is_silent():
    assert unreported(YEAR) == {"65.02"}
    assert unreported(YEAR[:1]) == set()
