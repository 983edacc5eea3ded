"""Two years' determined figures side by side, as the head and the public compare them."""

from __future__ import annotations

from engine.verification.determinations import compare


def test_a_category_gone_or_new_within_a_region_is_a_change_from_or_to_zero():
    before = {("65", "PGM"): 1, ("65", "LUT"): 9, ("65.01", "LUT"): 9}
    after = {("65", "LUT"): 10, ("65", "ODHA"): 2, ("65.01", "LUT"): 8, ("65.05", "LUT"): 2}
    changes = {(c.wilayah, c.kategori): (c.sebelum, c.sesudah, c.selisih, c.persen) for c in compare(before, after, {})}
    assert changes[("65", "PGM")] == (1, 0, -1, -100.0)  # its last record gone: 0, not "-"
    assert changes[("65", "ODHA")] == (0, 2, 2, None)  # none the year before: from 0, no percentage
    assert changes[("65.01", "LUT")] == (9, 8, -1, -11.1)
    assert changes[("65.05", "LUT")] == (None, 2, None, None)  # a region with no figures that year
