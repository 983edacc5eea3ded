"""Where data enters: a NIK's shape and date, a row's own checks, a file read and an import written,
each at the edge that an operator or a verifier would notice when it gives way."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from engine.core import tables
from engine.core.errors import Invalid
from engine.quality.nik import compose, is_sixteen_digits, parse
from engine.quality.record_rules import Context, Kind, check_row
from engine.quality.row_rules import MAX_MEMBERS, text_findings
from engine.verification import imports, items
from models import Severity
from tests.factories import SYSTEM, csv_of, items_of, open_with_items, person_row, register_record

TODAY = date(2026, 11, 30)
KINDS = {
    "LUT": Kind("LUT", "Lanjut Usia Terlantar", "individu", 60, None, None, False, ()),
    "ADK": Kind("ADK", "Anak dengan Kedisabilitasan", "individu", 0, 17, None, False, ()),
    "FM": Kind("FM", "Fakir Miskin", "keluarga", None, None, None, False, ()),
    "KAT": Kind(
        "KAT", "Komunitas Adat Terpencil", "komunitas", None, None, None, False, ("jumlah_anggota", "nama_ketua")
    ),
}
CTX = Context(KINDS, {"65.01.01"}, reference=date(2026, 12, 31), today=TODAY)


def errors(values: dict) -> set[tuple[str | None, str]]:
    return {(f.rule, f.field) for f in check_row(values, CTX) if f.severity == Severity.ERROR}


def person(born: date = date(1950, 5, 17), sex: str = "P", kategori: str = "LUT", **overrides) -> dict:
    return {
        "nik": compose("65.01.01", born, sex, 1),
        "no_kk": "6501011705500001",
        "nama": "Maria Ingan",
        "jenis_kelamin": sex,
        "tanggal_lahir": born.isoformat(),
        "kategori": kategori,
        **overrides,
    }


# --- the NIK ---------------------------------------------------------------------------------------


def test_a_nik_one_digit_short_is_refused_even_when_its_date_and_serial_read_well():
    short = compose("65.01.01", date(1950, 5, 17), "P", 10)[:-1]  # 650101570550001: 15 digits
    assert not is_sixteen_digits(short)
    assert "nik" in {field for _, field in errors(person(nik=short))}


def test_a_child_born_today_is_read_from_the_nik_as_born_today_not_a_century_ago():
    assert parse(compose("65.01.01", TODAY, "L", 1), today=TODAY).birth_date == TODAY


# --- one row ---------------------------------------------------------------------------------------


def test_a_child_born_today_can_be_entered():
    assert not {e for e in errors(person(born=TODAY, sex="L", kategori="ADK")) if e[1] == "tanggal_lahir"}


def test_a_family_row_with_a_sex_other_than_l_or_p_is_refused():
    family = {"nama": "Keluarga Ingan", "kategori": "FM", "no_kk": "6501011705500001", "jenis_kelamin": "X"}
    assert "jenis_kelamin" in {field for _, field in errors(family)}


def test_a_birth_date_written_in_arabic_indic_digits_is_not_read_as_a_date():
    row = person(tanggal_lahir="١٧/٠٥/١٩٥٠")
    assert "tanggal_lahir" in {field for _, field in errors(row)}


@pytest.mark.parametrize(
    "hidden",
    ["\x7f", "\ufeff", "\ud800"],
    ids=["delete", "byte-order-mark-inside-a-value", "lone-surrogate"],
)
def test_a_hidden_character_in_a_name_is_refused(hidden):
    [finding] = text_findings({"nama": f"Maria{hidden}Ingan"})
    assert finding.rule == "karakter" and f"U+{ord(hidden):04X}" in finding.message


def test_a_name_of_exactly_the_columns_length_is_taken():
    assert text_findings({"nama": "A" * 160}) == []


def community(members: str) -> dict:
    return {"nama": "Punan Adiu", "kategori": "KAT", "atribut": {"jumlah_anggota": members, "nama_ketua": "Lawing"}}


def test_a_community_of_the_largest_size_allowed_is_taken_and_one_more_is_refused():
    assert errors(community(str(MAX_MEMBERS))) == set()
    assert ("kategori_atribut", "atribut_jumlah_anggota") in errors(community(str(MAX_MEMBERS + 1)))


def test_a_community_size_in_arabic_indic_digits_is_refused():
    assert ("kategori_atribut", "atribut_jumlah_anggota") in errors(community("٤٨"))


def test_a_person_of_exactly_a_hundred_is_not_asked_about_their_age():
    hundred = person(born=date(1926, 12, 31))  # 100 on the period's last day
    assert "usia_tidak_wajar" not in {f.rule for f in check_row(hundred, CTX)}


def test_a_birth_date_in_the_future_is_said_once_without_an_age_from_it():
    future = person(born=date(2026, 12, 15))  # after today, within the period
    said = [f.message for f in check_row(future, CTX) if f.field == "tanggal_lahir"]
    assert said == ["tanggal lahir di masa depan"]


# --- an import written ------------------------------------------------------------------------------


def _import(db, sid: int, rows: list[dict]) -> imports.ImportReport:
    with db.transaction() as s:
        return imports.import_items(s, SYSTEM, sid, csv_of(rows))


def test_a_file_sent_again_with_one_row_corrected_counts_one_updated_and_one_unchanged(db):
    sid = open_with_items(db, rows=[person_row(1), person_row(2)])
    again = _import(db, sid, [person_row(1, keterangan="musdes Juli"), person_row(2)])
    assert (again.added, again.updated, again.unchanged) == (0, 1, 1)
    assert again.summary() == "0 baris baru, 1 diperbarui, 1 tidak berubah"


def test_a_row_set_aside_and_sent_again_in_a_file_is_brought_back(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item.id)
    again = _import(db, sid, [person_row(1)])
    assert again.updated == 1 and [i.dibuang for i in items_of(db, sid)] == [False]


def test_rows_sent_again_in_another_order_take_their_new_row_numbers(db):
    sid = open_with_items(db, rows=[person_row(1), person_row(2)])
    _import(db, sid, [person_row(2), person_row(1)])
    assert {i.nik: i.baris for i in items_of(db, sid)} == {person_row(2)["nik"]: 2, person_row(1)["nik"]: 3}


def test_a_person_already_on_the_register_is_imported_as_a_correction_of_their_record(db):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        record = register_record(1)
        s.add(record)
        s.flush()
        record_id = record.id
    _import(db, sid, [person_row(1, alamat="Jl. Baru No. 2")])
    [item] = items_of(db, sid)
    assert (item.aksi, item.record_id) == ("ubah", record_id)


def test_a_pre_2012_nik_is_not_counted_among_the_imports_warnings(db):
    sid = open_with_items(db, rows=[])
    report = _import(db, sid, [person_row(1, nik=compose("64.04.01", date(1950, 5, 17), "P", 1))])
    assert report.warnings == [] and report.summary() == "1 baris baru, 0 diperbarui"


# --- a file read, and a file written ------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+62811", "-5", "@SUM(A1)", "\t=1", "'kutip"])
def test_an_exported_csv_cell_a_spreadsheet_would_run_gets_a_leading_quote(cell):
    text = tables.csv_text([["kolom"], [cell]])
    assert text.startswith(tables.BOM)
    [[read]] = list(csv.reader(io.StringIO(text[len(tables.BOM) :], newline="")))[1:]
    assert read == "'" + cell


@pytest.mark.parametrize("cell", ["\r=1+1", "Ani\r=1+1"])
def test_an_exported_csv_cell_holding_a_carriage_return_stays_one_cell(cell):
    text = tables.csv_text([["kolom"], [cell]])
    rows = list(csv.reader(io.StringIO(text[len(tables.BOM) :], newline="")))
    assert len(rows) == 2 and not rows[1][0].startswith(tables.FORMULA_STARTS[:4])


def test_a_file_beyond_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    content = b"nama,kategori\nAni,LUT\n"
    monkeypatch.setattr(tables, "MAX_BYTES", len(content) - 1)
    with pytest.raises(Invalid, match="terlalu besar"):
        imports.read_file("a.csv", content)


def test_a_cell_of_exactly_the_longest_length_is_read():
    [row] = imports.read_file("a.csv", f"nama,kategori,alamat\nAni,LUT,{'x' * 2_000}\n".encode())
    assert len(row["alamat"]) == 2_000


def test_a_csv_saved_in_windows_1252_keeps_its_curly_apostrophe():
    """0x92 is ’ in Windows-1252; read as Latin-1 it would be U+0092, a hidden control character."""
    [row] = imports.read_file("a.csv", "nama,kategori\nMa’ Libu,LUT\n".encode("cp1252"))
    assert row["nama"] == "Ma’ Libu"


def test_csv_text_with_the_utf8_signature_reads_its_first_column():
    [row] = tables.read_csv("\ufeffnama,kategori\nAni,LUT\n", ["nama", "kategori"])
    assert row == {"nama": "Ani", "kategori": "LUT"}


def test_a_csv_row_with_more_cells_than_the_header_is_refused_not_cut():
    """An unquoted 5,642 is two cells: keeping the 5 alone would change the figure without a word."""
    with pytest.raises(Invalid, match="lebih banyak sel") as refused:
        imports.read_file("a.csv", b"nama,kategori,jumlah_anggota\nAdiu,KAT,5,642\n")
    assert refused.value.problems[0].row == 2


def test_a_decimal_in_a_workbook_is_read_with_the_decimal_comma():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["nama", "kategori", "nilai"])
    book.active.append(["Ani", "LUT", 2.125])
    out = io.BytesIO()
    book.save(out)
    [row] = imports.read_file("a.xlsx", out.getvalue())
    assert row["nilai"] == "2,125"


def test_a_workbook_row_reaching_past_the_column_limit_is_refused_not_cut():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["nama", "kategori"])
    book.active.append(["Ani", "LUT"] + [""] * 62 + ["tersembunyi"])  # the 65th column
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        imports.read_file("a.xlsx", out.getvalue())
    assert "64 kolom" in str(refused.value)
