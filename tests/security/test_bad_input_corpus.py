"""The bad-input corpus (`tests/data/bad/`, written by its `make_corpus.py`): every BPMN file and every
import file is refused with its expected message, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bpmn import definitions
from engine.core.errors import Invalid
from engine.verification import imports
from models import ProcessDefinition, SubmissionItem
from tests.factories import SYSTEM, open_with_items

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
BPMN = json.loads((BAD / "bpmn" / "expected.json").read_text())
IMPORTS = json.loads((BAD / "imports" / "expected.json").read_text())


def test_the_corpus_is_as_large_as_promised():
    assert len(BPMN) >= 30 and len(IMPORTS) >= 20
    assert sorted(p.name for p in (BAD / "bpmn").glob("*.bpmn")) == sorted(BPMN)


@pytest.mark.parametrize("name", sorted(BPMN))
def test_each_bad_definition_is_refused_with_its_message(db, name):
    xml = (BAD / "bpmn" / name).read_text(encoding="utf-8")
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        definitions.deploy(s, SYSTEM, xml)
    assert BPMN[name] in str(refused.value), str(refused.value)
    assert refused.value.problems and all(p.element for p in refused.value.problems)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == before


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_each_bad_import_is_refused_with_its_message_and_writes_nothing(db, name):
    sid = open_with_items(db, rows=[])
    content = (BAD / "imports" / name).read_bytes()
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        imports.import_rows(s, SYSTEM, sid, imports.read_file(name, content))
    assert IMPORTS[name] in str(refused.value), str(refused.value)
    with db.read() as s:
        assert s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)) is None


def test_a_nik_stored_as_a_figure_is_said_once_for_its_cell(db):
    sid = open_with_items(db, rows=[])
    content = (BAD / "imports" / "24_nik_as_number.xlsx").read_bytes()
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        imports.import_rows(s, SYSTEM, sid, imports.read_file("24_nik_as_number.xlsx", content))
    on_the_cell = [p.message for p in refused.value.problems if (p.row, p.column) == (2, "nik")]
    assert len(on_the_cell) == 1 and "format" in on_the_cell[0], on_the_cell


def test_codes_typed_in_lower_case_are_read_as_their_codes(db):
    from tests.factories import csv_of, person_row

    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        report = imports.import_items(s, SYSTEM, sid, csv_of([person_row(1, kategori="lut", jenis_kelamin="p")]))
    assert report.added == 1
    with db.read() as s:
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        assert (item.kategori, item.data["kategori"], item.data["jenis_kelamin"]) == ("LUT", "LUT", "P")
