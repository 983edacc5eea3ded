"""Tables as offices write them: Excel's own CSV encoding, headers in words, a template not filled in,
a damaged workbook said in plain words."""

from __future__ import annotations

import pytest

from engine.core import tables
from engine.core.errors import Invalid

COLUMNS = ["nik", "nama", "jenis_kelamin", "tanggal_lahir", "no_kk"]


def test_a_csv_saved_by_excel_in_windows_1252_reads_as_written():
    content = "NIK;Nama;Jenis Kelamin;Tgl. Lahir;No. KK\n6501;José Ñ;L;1950-01-01;6501\n".encode("cp1252")
    [row] = tables.read_table("data.csv", content, COLUMNS)
    assert row["nama"] == "José Ñ" and row["jenis_kelamin"] == "L" and row["tanggal_lahir"] == "1950-01-01"
    assert row["no_kk"] == "6501"  # "No. KK" is the family card column


def test_excels_unicode_text_reads_as_written():
    """Excel's "Teks Unicode": UTF-16 with its signature, tab-separated (read as cp1252, its header was
    "ÿþn a m a" and the file refused for columns it has)."""
    content = "\ufeffNIK\tNama\tJenis Kelamin\tTgl. Lahir\tNo. KK\r\n6501\tMa' Libu\tP\t1950-01-01\t6501\r\n"
    [row] = tables.read_table("data.csv", content.encode("utf-16-le"), COLUMNS)
    assert row["nama"] == "Ma' Libu" and row["tanggal_lahir"] == "1950-01-01"


def test_a_missing_column_is_said_with_what_the_header_holds():
    with pytest.raises(Invalid) as refused:
        tables.read_table("data.csv", b"NIK,Name,Sex\n1,2,3\n", COLUMNS)
    said = refused.value.problems[0].message
    assert "kolom wajib tidak ada: nama, jenis_kelamin" in said and "berisi: nik, name, sex" in said


def test_a_header_without_rows_is_refused_as_empty():
    with pytest.raises(Invalid, match="tidak berisi data"):
        tables.read_table("data.csv", (b"nik,nama,jenis_kelamin,tanggal_lahir,no_kk\n"), COLUMNS)


def test_a_damaged_workbook_is_said_without_the_library_s_words():
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("isi.txt", "bukan buku kerja")
    with pytest.raises(Invalid) as refused:
        tables.read_table("data.xlsx", out.getvalue(), COLUMNS)
    said = refused.value.problems[0].message
    assert "simpan ulang sebagai .xlsx" in said and "KeyError" not in said and "Content_Types" not in said


def test_a_workbook_built_to_expand_is_refused_before_it_is_parsed():
    """A few hundred kilobytes of repeated strings that would take a minute and half a gigabyte to read."""
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>a</t></si>" * 1_500_000 + "</sst>")
    with pytest.raises(Invalid) as refused:
        tables.read_table("warga.xlsx", packed.getvalue(), ["nik"])
    assert "mengembang" in refused.value.problems[0].message
