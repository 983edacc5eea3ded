"""The XML side by side on the comparison page stays quick and whole, whatever two versions hold."""

from __future__ import annotations

from engine.bpmn import diagram


def _lines(n: int, word: str) -> str:
    return "\n".join(f"<bpmn:documentation>baris {i} {word}</bpmn:documentation>" for i in range(n))


def test_a_line_of_megabytes_is_cut_instead_of_overflowing_the_stack():
    table, changed = diagram.xml_diff("<a/>", "<b>" + "x" * 2_000_000 + "</b>", "v1", "v2")
    assert changed == 1 and "v2" in table and len(table) < 20_000


def test_a_few_changed_lines_are_shown_side_by_side():
    table, changed = diagram.xml_diff(_lines(40, "lama"), _lines(40, "baru"), "v1", "v2")  # a header row and 40
    assert changed == 40 and table.count("<tr>") == 41 and "baris&nbsp;39" in table


def test_too_many_lines_to_pair_quickly_are_counted_not_drawn():
    # 300 replaced lines against 300 would take difflib minutes to pair
    assert diagram.xml_diff(_lines(300, "lama"), _lines(300, "baru"), "v1", "v2") == ("", 300)
    inserted = "\n".join(f"<x{i}/>" for i in range(diagram.DIFF_CHANGED_LINES + 1))
    assert diagram.xml_diff("", inserted, "v1", "v2")[0] == ""
