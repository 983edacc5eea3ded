"""The audit trail an auditor checks, and the spreadsheets offices send and receive.

- The trail: account and token changes say where they were made from, and nothing else does; every
  value a row is written with is the one read back; rows take the time they were written; a row's
  hash is the same in every release, so an old trail still verifies; the smallest edit of a row's
  time is detected; a head published earlier is written `BARIS:HASH` as people copy it, and a check
  through it names the row where a broken chain breaks; a row slipped in after the head is never
  taken as part of the trail; two changes committed at once are numbered one after the other.
- The tables: a cell an exported CSV holds is never run as a formula by the spreadsheet that opens it;
  headers are read as people write them; a file's size, width, rows and text are bounded exactly at
  their limits; spreadsheet cells (dates, numbers, a NIK typed as a number) are read as people meant them.
- An import's rows written in batches are all written; a submission moved on is seen moved by the rest
  of the same change, and no other submission moves with it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, insert, select, update

import models
from engine.core import audit, clock, rows, tables
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.verification import status
from models import AuditEvent, Submission, Tier
from tests.factories import SYSTEM, items_of, open_with_items, person_row
from tests.integration.interleave import first_then_second
from tests.integration.test_audit import _history, _verify
from tests.integration.test_audit_fields import _published_head
from tests.integration.test_duplicate_places import OTHER_DESA
from tests.integration.test_entry_rules import _import
from tests.security.test_bounded_imports import xlsx

# --- the trail ---------------------------------------------------------------------------------------------

ACCOUNT_AND_TOKEN_CHANGES = [
    AuditAction(name)
    for name in "USER_CREATED USER_PASSWORD_SET USER_PASSWORD_CHANGED USER_ACTIVATED USER_DEACTIVATED USER_LOGGED_OUT "
    "USER_UNLOCKED USER_EMAIL_SET ROLE_ASSIGNED ROLE_REMOVED TOKEN_CREATED TOKEN_REVOKED".split()
]
OTHER_CHANGES = [AuditAction.ITEM_ADDED, AuditAction.TOKEN_MOVED, AuditAction.NIK_VIEWED, AuditAction.FILTER_SAVED]
ADDRESS = "10.65.1.7"
KNOWN_HASH = "49ba3d4535d2dd3f02d706a7a1129cd1b6deb09636dc04e08e2454351d71bf02"


def _written(db, actor, actions, after, before=None):
    entries = [
        {"action": a, "subject_type": "uji", "subject_id": n, "before": before, "after": after, "reason": f"alasan {n}"}
        for n, a in enumerate(actions)
    ]
    with db.transaction() as s:
        audit.record_many(s, actor, entries)
    with db.read() as s:
        written = s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "uji").order_by(AuditEvent.seq))
        return {row.action: row for row in written}


def test_account_and_token_changes_carry_the_address_they_were_made_from_and_other_changes_do_not(db):
    admin = Actor("admin.prov", address=ADDRESS)
    trail = _written(db, admin, ACCOUNT_AND_TOKEN_CHANGES + OTHER_CHANGES, {"nama": "Rina"})
    for action in ACCOUNT_AND_TOKEN_CHANGES:
        assert trail[action].after == {"nama": "Rina", "address": ADDRESS}, action
    for action in OTHER_CHANGES:
        assert trail[action].after == {"nama": "Rina"}, action
    assert [row.reason for row in trail.values()] == [f"alasan {n}" for n in range(len(trail))]
    assert {row.actor for row in trail.values()} == {"admin.prov"}


def test_an_account_change_from_the_command_line_names_no_address(db):
    """No request, no address: the row says nothing rather than an empty address."""
    trail = _written(
        db, SYSTEM, [AuditAction.USER_CREATED, AuditAction.TOKEN_REVOKED], None, {"sejak": date(2026, 1, 2)}
    )
    assert [(row.before, row.after) for row in trail.values()] == [({"sejak": "2026-01-02"}, None)] * 2
    with db.read() as s:
        assert audit.verify_chain(s).ok


def test_rows_take_the_time_they_were_written_as_the_clock_goes_forward(db):
    written = clock.now() + timedelta(hours=1)
    for moment in (written, written + timedelta(minutes=5)):
        with clock.frozen_at(moment), db.transaction() as s:
            audit.record(s, SYSTEM, AuditAction.CYCLE_RHYTHM_SET, "uji", moment.minute)
    with db.read() as s:
        first, second = s.scalars(
            select(AuditEvent.at).where(AuditEvent.subject_type == "uji").order_by(AuditEvent.seq)
        )
    assert second - first == timedelta(minutes=5)


def test_a_rows_hash_is_the_same_in_every_release():
    """A trail written by an earlier release still verifies: the same row always has the same hash."""
    head = SimpleNamespace(last_seq=41, last_hash="ab" * 32, last_at=None)
    at = datetime(2026, 12, 5, 1, 2, 3, 456789, tzinfo=UTC)
    entry = {"action": AuditAction.USER_CREATED, "subject_type": "user", "subject_id": 7, "reason": "Ö’ baru"}
    entry |= {"before": {"z": 1, "a": [1, 2]}, "after": {"nama": "Rina Ö’"}, "instance_id": 3, "human_task_id": 4}
    [row] = audit.chain(head, [audit._entry(Actor("admin.prov", address=ADDRESS), at, entry)]).rows
    assert (row["seq"], row["prev_hash"], row["hash"]) == (42, "ab" * 32, KNOWN_HASH)


def test_a_rows_time_edited_by_a_microsecond_is_detected(db):
    _history(db)
    with db.read() as s:
        at = s.get(AuditEvent, 3).at
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(at=at + timedelta(microseconds=1)))
    report = _verify(db)
    assert not report.ok and report.first_bad_seq == 3 and "diubah" in report.message


HEX = "3f5a" * 16


@pytest.mark.parametrize(
    "written, seq",
    [
        (f"1200:{HEX}", 1200),
        (f"  1200:{HEX}\n", 1200),
        (f"{'9' * 12}:{HEX}", 999_999_999_999),
        (f"1200:{HEX.upper()}", 1200),
    ],
)
def test_a_published_head_is_read_as_people_copy_it(written, seq):
    assert audit.Published.parse(written) == audit.Published(seq, HEX)


@pytest.mark.parametrize(
    "written",
    [f"{'9' * 13}:{HEX}", f"١٢:{HEX}", f"12:{HEX[:63]}", f"12:{HEX}0", HEX, "12:", ""],
)
def test_a_published_head_written_otherwise_is_refused_saying_how_to_write_it(written):
    with pytest.raises(Invalid, match="BARIS:HASH"):
        audit.Published.parse(written)


def test_a_check_through_a_published_head_names_the_row_where_the_chain_breaks_before_it(db):
    _history(db)
    published = _published_head(db)
    with db.engine.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with db.read() as s:
        report = audit.verify_chain(s, published)
    assert not report.ok and report.first_bad_seq == 2 and "hilang" in report.message


def test_a_published_head_beyond_the_chain_names_the_row_that_is_gone(db):
    rows_now = _history(db)
    with db.read() as s:
        report = audit.verify_chain(s, audit.Published(rows_now + 5, HEX))
    assert not report.ok and report.first_bad_seq == rows_now + 5 and "tidak ada lagi" in report.message


def _slip_in_a_row_after_the_head(db):
    """Someone who can write the trail's rows, but not its head, adds one linked to the last row."""
    with db.engine.begin() as conn:
        head = conn.execute(select(models.AuditHead).where(models.AuditHead.id == 1)).one()
        forged = {"action": "USER_CREATED", "subject_type": "user", "subject_id": 99}
        chained = audit.chain(head, [audit._entry(Actor("orang.lain"), head.last_at, forged)])
        conn.execute(insert(AuditEvent), chained.rows)
    return head.last_seq


def test_a_row_slipped_in_after_the_head_fails_the_check_naming_that_row(db):
    """Written around the writer, which always advances the head: the check names the added row, not a
    deletion that never happened."""
    _history(db)
    last = _slip_in_a_row_after_the_head(db)
    report = _verify(db)
    assert not report.ok and report.rows == last + 1 and report.first_bad_seq == last + 1
    assert report.message == f"baris audit {last + 1} ditambahkan di luar pencatat: kepala rantai mencatat baris {last}"


def test_two_changes_committed_at_once_are_chained_one_after_the_other(db):
    """The second change's row waits for the first's head: both are on the trail, numbered in turn, and
    the chain verifies; a second that read the same head would number its row as the first's and fail."""
    _history(db)
    before = _verify(db).rows

    def first(session):
        saved = {"action": AuditAction.FILTER_SAVED, "subject_type": "uji", "subject_id": 1}
        audit.write_pending(session, [audit._entry(SYSTEM, clock.now(), saved)])

    def second():
        with db.transaction() as s:
            audit.record(s, SYSTEM, AuditAction.FILTER_SAVED, "uji", 2)

    assert first_then_second(db, first, second) is None
    report = _verify(db)
    assert report.ok and report.rows == before + 2


# --- exported tables ----------------------------------------------------------------------------------------


def _read_back(text):
    assert text.startswith(tables.BOM)
    return list(csv.reader(io.StringIO(text[len(tables.BOM) :], newline="")))


@pytest.mark.parametrize("cell", ["\r=1+1", "\r@SUM(A1)"])
def test_an_exported_cell_beginning_with_a_carriage_return_gets_a_leading_quote(cell):
    assert _read_back(tables.csv_text([["kolom"], [cell]]))[1] == ["'" + cell]


def test_exported_numbers_and_empty_cells_stay_as_they_are():
    """A negative count is a number, not a formula; an empty cell is empty, not the word None."""
    assert _read_back(tables.csv_text([["a", "b", "c", "d"], [None, 5, -3, 2.5]]))[1] == ["", "5", "-3", "2.5"]


# --- headers as people write them ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, column",
    [
        ("Jenis-Kelamin", "jenis_kelamin"),
        ("L/P", "jenis_kelamin"),
        ("JK", "jenis_kelamin"),
        ("KK", "no_kk"),
        ("Nomor KK", "no_kk"),
        ("No. Kartu Keluarga", "no_kk"),
        ("Nomor Kartu Keluarga", "no_kk"),
        ("Nama Lengkap", "nama"),
        ("Tgl. Lahir", "tanggal_lahir"),
        ("Kode-Kategori", "kategori"),
        ("  NIK  ", "nik"),
    ],
)
def test_a_header_is_read_as_the_column_it_means(written, column):
    assert tables.column_name(written) == column


ANI = [{"nama": "Ani", "kategori": "LUT"}]


def _csv(text):
    return tables.read_table("data.csv", text.encode(), ["nama", "kategori"])


def test_columns_without_a_header_and_spaces_around_cells_are_left_out():
    assert _csv("nama,,kategori,\n  Ani  ,x, LUT ,y\n") == ANI


def test_empty_cells_after_the_last_header_are_not_a_row_too_wide():
    assert _csv("nama,kategori\nAni,LUT,,\n") == _csv("nama,kategori,,,\nAni,LUT,,,\n") == ANI


def test_one_filled_cell_more_than_the_header_is_refused():
    with pytest.raises(Invalid, match="lebih banyak sel") as refused:
        _csv("nama,kategori\nAni,LUT,5\n")
    assert refused.value.problems[0].row == 2


def test_a_tab_separated_or_upper_case_named_file_is_read():
    assert tables.read_table("DATA.TSV", b"nama\tkategori\nAni\tLUT\n", ["nama"]) == ANI
    assert tables.read_table("WARGA.CSV", b"nama;kategori\nAni;LUT\n", ["nama"]) == ANI


def test_a_big_endian_unicode_text_file_is_read():
    content = "\ufeffnama\tkategori\r\nAni\tLUT\r\n".encode("utf-16-be")
    assert tables.read_table("data.csv", content, ["nama"]) == ANI


# --- limits, exactly -----------------------------------------------------------------------------------------

WIDEST = [f"k{i}" for i in range(tables.TABLE_LIMITS.columns)]


def test_the_widest_header_allowed_is_read_and_one_more_column_is_refused():
    assert len(tables.read_table("a.csv", f"{','.join(WIDEST)}\n{',' * 63}x\n".encode(), ["k0"])) == 1
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        tables.read_table("a.csv", f"{','.join(WIDEST)},k64\nx\n".encode(), ["k0"])
    assert "lebih dari 64 kolom" in str(refused.value)


def test_a_header_followed_by_many_empty_cells_is_read():
    """Excel saves the empty columns a person once touched: the header's width is its named cells."""
    assert tables.read_table("a.csv", f"nama,kategori{',' * 100}\nAni,LUT\n".encode(), ["nama"])[0]["nama"] == "Ani"


def test_a_workbook_row_with_a_cell_past_the_widest_header_is_refused_not_cut():
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        tables.read_table("a.xlsx", xlsx([WIDEST, ["x"] * 64 + ["tertinggal"]]), ["k0"])
    assert "lebih dari 64 kolom" in str(refused.value)


def _limited(monkeypatch, **limits):
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, **limits))


@pytest.mark.parametrize(
    "limit, within, beyond, said",
    [
        (
            {"blank_rows": 3},
            "nama,kategori\n,\n,\n,\nAni,LUT\n",
            "nama,kategori\n,\n,\n,\n,\nAni,LUT\n",
            "3 baris kosong",
        ),
        (
            {"rows": 2},
            "nama,kategori\nAni,LUT\nBudi,LA\n",
            "nama,kategori\nAni,LUT\nBudi,LA\nCici,LA\n",
            "2 baris data",
        ),
        ({"text_chars": 12}, "nama,kategori\nAni,LUT\nBudi,LA\n", "nama,kategori\nAni,LUT\nBudi,LUT\n", "12 karakter"),
        ({"row_cells": 4}, "nama,kategori,,\nAni,LUT,,\n", "nama,kategori,,,\nAni,LUT\n", "lebih dari 4 sel"),
    ],
    ids=["blank_rows", "rows", "text_chars", "row_cells"],
)
def test_a_table_at_a_limit_is_read_and_one_past_it_is_refused(monkeypatch, limit, within, beyond, said):
    _limited(monkeypatch, **limit)
    assert _csv(within)[0] == ANI[0]
    with pytest.raises(Invalid, match=said):
        _csv(beyond)


def _parts(content):
    return zipfile.ZipFile(io.BytesIO(content)).infolist()


def _with_part(content, name, data):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr(name, data)
    return out.getvalue()


BOOK = [["nama", "kategori"], ["Ani", "LUT"]]


def test_a_workbook_of_exactly_the_most_parts_is_read_and_one_part_more_is_refused(monkeypatch):
    content = xlsx(BOOK)
    _limited(monkeypatch, zip_entries=len(_parts(content)))
    assert tables.read_table("a.xlsx", content, ["nama"]) == ANI
    with pytest.raises(Invalid, match="lebih dari"):
        tables.read_table("a.xlsx", _with_part(content, "docProps/lain.xml", b"<x/>"), ["nama"])


def test_a_small_part_that_compresses_well_is_read():
    """Half a megabyte of repeated text expands many times over, but costs nothing to parse."""
    content = _with_part(xlsx(BOOK), "xl/media/kosong.bin", b"0" * 500_000)
    assert max(p.file_size / p.compress_size for p in _parts(content)) > tables.TABLE_LIMITS.expansion
    assert tables.read_table("a.xlsx", content, ["nama"]) == ANI


def test_a_big_part_expanding_past_the_limit_is_refused_by_its_ratio():
    filler = random.Random(7).randbytes(4_000) + b"0" * 2_000_000  # about 300 times its compressed size
    content = _with_part(xlsx(BOOK), "xl/media/isi.bin", filler)
    [part] = [p for p in _parts(content) if p.filename == "xl/media/isi.bin"]
    assert 1.2 * tables.TABLE_LIMITS.expansion < part.file_size / part.compress_size < 2 * tables.TABLE_LIMITS.expansion
    with pytest.raises(Invalid, match="mengembang"):
        tables.read_table("a.xlsx", content, ["nama"])


# --- workbook cells ----------------------------------------------------------------------------------------


def test_workbook_cells_are_read_as_people_meant_them():
    header = ["nik", "no_kk", "nama", "tanggal_lahir", "jumlah", "nilai", "kategori"]
    row = [6501012345678901, 6501010101010001, "  Ani  ", datetime(1950, 1, 2), 3.0, 2.125, date(2026, 5, 1)]
    [read] = tables.read_table("a.xlsx", xlsx([header, row]), ["nama"])
    assert read == {
        "nik": "angka:6501012345678901",
        "no_kk": "angka:6501010101010001",
        "nama": "Ani",
        "tanggal_lahir": "1950-01-02",
        "jumlah": "3",
        "nilai": "2,125",
        "kategori": "2026-05-01",
    }


def test_a_nik_excel_stored_as_a_number_in_exponent_form_is_marked_as_a_number():
    """Excel keeps 6501012345678901 typed as a number as 6.5010123456789E+15: its last digit is gone."""
    content = xlsx([["nik", "nama", "kategori"], [6501012345678900, "Ani", "LUT"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            target.writestr(info, part.replace(b"<v>6501012345678900</v>", b"<v>6.5010123456789E+15</v>"))
    assert tables.read_table("a.xlsx", out.getvalue(), ["nama"])[0]["nik"] == "angka:6501012345678900"


def test_a_workbook_row_of_spaces_alone_is_a_blank_row():
    assert tables.read_table("a.xlsx", xlsx([*BOOK, ["  ", " "], ["Budi", "LA"]]), ["nama"])[1]["nama"] == "Budi"


def test_a_workbook_with_data_on_its_second_sheet_is_refused_where_one_sheet_is_read():
    from openpyxl import Workbook

    book = Workbook()
    for row in BOOK:
        book.active.append(row)
    book.create_sheet("Lain").append(["Budi", "LA"])
    book.create_sheet("Kosong").append(["  ", " "])  # spaces alone: nothing on it
    out = io.BytesIO()
    book.save(out)
    assert len(tables.read_table("a.xlsx", out.getvalue(), ["nama"])) == 1
    with pytest.raises(Invalid, match="lebih dari satu lembar") as refused:
        tables.read_table("a.xlsx", out.getvalue(), ["nama"], one_sheet=True)
    assert "lembar Lain juga berisi data" in str(refused.value)
    del book["Lain"]
    out = io.BytesIO()
    book.save(out)
    assert tables.read_table("a.xlsx", out.getvalue(), ["nama"], one_sheet=True) == ANI


# --- many rows written at once --------------------------------------------------------------------------


def test_an_import_written_in_batches_keeps_every_row(db, monkeypatch):
    monkeypatch.setattr(rows, "BATCH", 2)
    sid = open_with_items(db, rows=[])
    assert _import(db, sid, [person_row(n) for n in range(1, 6)]).added == 5
    assert sorted(item.nik for item in items_of(db, sid)) == sorted(person_row(n)["nik"] for n in range(1, 6))


def test_a_submission_moved_on_is_seen_moved_by_the_rest_of_the_same_change_and_no_other_moves(db):
    sid = open_with_items(db)
    other = open_with_items(db, desa=OTHER_DESA)
    with db.transaction() as s:
        submission = s.get(Submission, sid)
        status.advanced(s, submission, Tier.KECAMATAN)
        assert submission.tingkat == Tier.KECAMATAN and submission not in s.dirty
    with db.read() as s:
        assert s.get(Submission, sid).tingkat == Tier.KECAMATAN and s.get(Submission, other).tingkat == Tier.DESA
