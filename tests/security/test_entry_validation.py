"""Long and odd values fail where they are typed, with the limits of the columns that will hold them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engine.core.errors import Invalid
from engine.quality.row_rules import FIELD_CHARS, text_findings
from engine.verification import imports
from models import Record, SubmissionItem
from tests.factories import SYSTEM, csv_of, open_with_items, person_row


def test_the_limits_are_the_columns():
    assert FIELD_CHARS["nama"] == Record.__table__.c.nama.type.length == 160
    assert FIELD_CHARS["nik"] == 16


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("nama", "A" * 285, "paling banyak 160"),
        ("nama", "Maria\x00Ingan", "U+0000"),
        ("nama", "Maria\u202eIngan", "U+202E"),
        ("nama", "Maria\u200bIngan", "U+200B"),
        ("alamat", "Jl. \u2066Sengkawit", "U+2066"),
        ("keterangan", "catatan\x1b[31m", "U+001B"),
        ("nama", "Siti\x85\x9b31mAminah", "U+0085"),  # C1: U+009B starts a terminal's escape
        ("nama", "Siti\u2028Aminah", "U+2028"),  # a line separator, pasted from a word processor
        ("alamat", "x" * 2_001, "2000 karakter"),
    ],
)
def test_an_import_with_a_long_or_hidden_value_is_refused_and_writes_nothing(db, field, value, words):
    sid = open_with_items(db, rows=[])
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1, **{field: value})]))
    assert words in str(refused.value)
    with db.read() as s:
        assert s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)) is None


def test_the_form_refuses_a_long_name_before_anything_is_stored(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    answer = browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", {**person_row(3, nama="B" * 285)})
    assert answer.status_code == 400 and "160" in answer.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)) is None


def test_ordinary_text_with_newlines_and_accents_passes():
    assert text_findings({"nama": "Maria Ingan Ñoño", "keterangan": "baris satu\nbaris dua\tTab"}) == []


def test_a_file_with_a_nul_byte_in_a_cell_is_refused_by_the_import_page(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    content = csv_of([person_row(1, nama="Ani\x00")]).encode()
    done = browser.post(
        f"/desa/pengajuan/{sid}/impor", {"berkas": (io.BytesIO(content), "a.csv")}, content_type="multipart/form-data"
    )
    page = browser.get(done.headers["Location"]).get_data(as_text=True) if done.status_code == 302 else ""
    assert done.status_code == 400 or 'data-status="gagal"' in page
