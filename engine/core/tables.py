"""Reading a table from a spreadsheet file (CSV or XLSX) whose first row names its columns.

Used for a desa's import, historic baselines and other agencies' figures. Every failure is an
`Invalid` naming the row and column, never a crash.

A small file can expand to a huge table (an XLSX is a zip of XML), so the work is bounded before and
while reading: the file's size, the XLSX's uncompressed size (from the zip directory, before any XML
is parsed), then rows, columns and characters per cell counted as the rows stream in (openpyxl's
read-only mode). Reading stops at the first limit passed. Limits are in `TABLE_LIMITS`.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from engine.core.errors import Invalid, Problem

MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class TableLimits:
    """How big a table may be; see docs/security.md."""

    file_bytes: int = MAX_BYTES
    uncompressed_bytes: int = 100 * 1024 * 1024  # an XLSX's XML, all parts together
    zip_entries: int = 1_000
    rows: int = 50_000  # data rows, not counting the header
    blank_rows: int = 10_000  # empty rows skipped before the table is refused
    columns: int = 64
    # Cells in one row a reader looks at all: a spreadsheet's widest row (16,384 columns). A CSV row
    # of millions of empty cells is refused before any of them is read.
    row_cells: int = 16_384
    cell_chars: int = 2_000
    # All the table's text: each cell may reach `cell_chars`, but an XLSX's cells may all point at one
    # long shared string, stored once and repeated in every cell (70 KB read as 64 MB of text).
    text_chars: int = 20_000_000
    # The XLSX's shared strings, parsed whole when the workbook opens whatever rows are read: millions
    # of distinct short strings cost twenty seconds of CPU for a table of one row.
    shared_strings_bytes: int = 16 * 1024 * 1024
    # An XLSX part that expands more than this many times: spreadsheets compress about ten times; a
    # file built to expand (a few hundred kilobytes of millions of repeated strings) would cost a
    # minute of CPU and half a gigabyte of memory to parse.
    expansion: int = 200


TABLE_LIMITS = TableLimits()

# The UTF-8 signature an exported CSV begins with: a spreadsheet on an office PC then reads it as
# UTF-8 (names with Ö or ’ stay whole) instead of in the Windows code page; a program reads it with
# the `utf-8-sig` codec.
BOM = "\ufeff"
# A cell a spreadsheet would run as a formula begins with one of these; such cells get a leading '.
# So does a cell that begins with ' itself: a reader removes exactly one leading ' from every cell
# that has one and reads the exact value written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralised(text: str) -> str:
    """A text as an exported cell holds it: never run as a formula by the spreadsheet that opens it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


DAMAGED = "berkas rusak atau bukan XLSX: buka di Excel atau LibreOffice lalu simpan ulang sebagai .xlsx"
log = logging.getLogger(__name__)


def csv_text(rows: Iterable[list[Any]]) -> str:
    """Rows as an exported CSV: the UTF-8 signature first, no cell run as a formula. Lines end in CRLF
    (RFC 4180): the writer then quotes a cell holding a carriage return, which a spreadsheet would
    otherwise take for the row's end, reading what follows it as a new row's first cell."""
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out, lineterminator="\r\n").writerows(
        [neutralised(c) if isinstance(c, str) else c for c in row] for row in rows
    )
    return out.getvalue()


def _refuse(message: str, row: int | None = None) -> Invalid:
    return Invalid("Berkas melampaui batas", [Problem(message, row=row)])


# Headers as people write them, read as the column they mean ("No. KK", "Tgl lahir", "L/P").
HEADER_WORDS = {
    "nomor_kk": "no_kk",
    "kk": "no_kk",
    "no_kartu_keluarga": "no_kk",
    "nomor_kartu_keluarga": "no_kk",
    "nama_lengkap": "nama",
    "tgl_lahir": "tanggal_lahir",
    "jk": "jenis_kelamin",
    "l/p": "jenis_kelamin",
    "kode_kategori": "kategori",
}


def column_name(text: Any) -> str:
    """A header cell as a column name: `Jenis Kelamin` and `jenis-kelamin` are `jenis_kelamin`."""
    name = "_".join(str(text or "").strip().lower().replace(".", " ").replace("-", " ").split())
    return HEADER_WORDS.get(name, name)


def _header(names: list[Any], columns: list[str]) -> list[str]:
    _refuse_wide(names, 1)
    if len(names) > TABLE_LIMITS.columns and any(str(n or "").strip() for n in names[TABLE_LIMITS.columns :]):
        raise _refuse(f"lebih dari {TABLE_LIMITS.columns} kolom", row=1)
    header = [column_name(h) for h in names]
    repeated = sorted(h for h, n in Counter(header).items() if h and n > 1)
    if repeated:
        raise Invalid(
            "Kolom berkas berulang",
            [Problem(f"nama kolom muncul lebih dari sekali: {', '.join(repeated)}", row=1)],
        )
    missing = [c for c in columns if c not in header]
    if missing:
        raise Invalid(
            "Kolom berkas tidak lengkap",
            [
                Problem(
                    f"kolom wajib tidak ada: {', '.join(missing)} (baris judul berisi: "
                    f"{', '.join(h for h in header if h) or 'kosong'}); baris pertama berkas harus berisi "
                    "nama kolom (templat XLSX memuatnya)",
                    row=1,
                )
            ],
        )
    return header


def _delimiter(header: str) -> str:
    """The separator a header line uses: a comma, a semicolon (spreadsheets set to Indonesian write
    those), or a tab (Kemendagri's lists of regions come tab-separated)."""
    if header.count("\t") > max(header.count(";"), header.count(",")):
        return "\t"
    return ";" if header.count(";") > header.count(",") else ","


def read_csv(content: str, columns: list[str]) -> list[dict[str, str]]:
    text = content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = _header(next(reader, []), columns)
        return [
            {k: (v or "").strip() for k, v in zip(header, _within(row, header, reader.line_num), strict=False) if k}
            for row in _bounded_rows(reader, lambda cell: (cell or "").strip())
        ]
    except csv.Error as exc:  # e.g. a field beyond the csv module's own size limit
        raise Invalid("Berkas CSV tidak dapat dibaca", [Problem(str(exc), row=reader.line_num)]) from exc


def _within(row: list[str], header: list[str], number: int) -> list[str]:
    """A row whose cells fit under the header: one with more (an unquoted `5,642` read as two cells, of
    which only the 5 would be kept) is refused."""
    if any((cell or "").strip() for cell in row[len(header) :]):
        raise Invalid(
            "Baris berisi lebih banyak sel daripada judul kolom",
            [
                Problem(
                    f"{len(row)} sel di bawah {len(header)} judul kolom: angka yang memuat koma (mis. 5,642)? tulis "
                    "5642 atau 5.642, atau simpan ulang berkas dari spreadsheet agar sel berkoma diberi tanda kutip",
                    row=number,
                )
            ],
        )
    return row


def _bounded_rows(rows: Iterable[Any], text_of: Any) -> Iterator[Any]:
    """The non-empty rows after the header, refusing the table at the first limit it passes."""
    limits = TABLE_LIMITS
    data_rows = blank_rows = text = 0
    for number, row in enumerate(rows, start=2):
        _refuse_wide(row, number)
        cells = [text_of(cell) for cell in row]
        if not any(cells):
            blank_rows += 1
            if blank_rows > limits.blank_rows:
                raise _refuse(f"lebih dari {limits.blank_rows} baris kosong", row=number)
            continue
        data_rows += 1
        if data_rows > limits.rows:
            raise _refuse(f"lebih dari {limits.rows} baris data; bagi berkas menjadi beberapa impor", row=number)
        if len(cells) > limits.columns and any(cells[limits.columns :]):
            raise _refuse(f"lebih dari {limits.columns} kolom", row=number)
        longest = max((len(c) for c in cells), default=0)
        if longest > limits.cell_chars:
            raise _refuse(f"sel berisi lebih dari {limits.cell_chars} karakter", row=number)
        text += sum(len(c) for c in cells)
        if text > limits.text_chars:
            most = f"{limits.text_chars:,}".replace(",", ".")  # as Indonesian writes thousands
            raise _refuse(f"isi tabel lebih dari {most} karakter", row=number)
        yield row


def _refuse_wide(row: Any, number: int) -> None:
    if len(row) > TABLE_LIMITS.row_cells:
        raise _refuse(f"baris berisi lebih dari {TABLE_LIMITS.row_cells} sel", row=number)


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, float):  # with the decimal comma people here write: 2.125 is not read as 2125
        return str(value).replace(".", ",")
    if isinstance(value, int) and name in ("nik", "no_kk"):
        # Spreadsheets keep 15 significant digits of a number: a 16-digit NIK typed as a number has
        # already lost its last digit, so it cannot be trusted whatever it looks like now.
        return f"angka:{value}"
    return str(value).strip()


def _check_zip(content: bytes) -> None:
    """An XLSX's parts and their uncompressed sizes, from the zip directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        # the library's own words (English, about zip internals) stay in the log, not on the page
        raise Invalid(
            "Berkas XLSX tidak dapat dibaca",
            [Problem("bukan berkas XLSX: simpan ulang dari Excel atau LibreOffice sebagai .xlsx")],
        ) from exc
    if len(parts) > TABLE_LIMITS.zip_entries:
        raise _refuse(f"berkas XLSX berisi lebih dari {TABLE_LIMITS.zip_entries} bagian")
    expanded = sum(part.file_size for part in parts)
    if expanded > TABLE_LIMITS.uncompressed_bytes:
        megabytes = TABLE_LIMITS.uncompressed_bytes // (1024 * 1024)
        raise _refuse(f"isi berkas XLSX lebih dari {megabytes} MB setelah diekstrak")
    swollen = [
        p for p in parts if p.file_size > 1024 * 1024 and p.file_size > TABLE_LIMITS.expansion * max(p.compress_size, 1)
    ]
    if swollen:
        raise _refuse(
            f"bagian {swollen[0].filename[:60]} berkas XLSX mengembang lebih dari {TABLE_LIMITS.expansion} kali; "
            "simpan ulang dari Excel atau LibreOffice"
        )
    strings = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    if strings > TABLE_LIMITS.shared_strings_bytes:
        megabytes = TABLE_LIMITS.shared_strings_bytes // (1024 * 1024)
        raise _refuse(f"teks berkas XLSX lebih dari {megabytes} MB; bagi berkas menjadi beberapa impor")


def _xlsx_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _sheets_with_data(workbook: Any) -> list[str]:
    """The names of the sheets after the first that hold anything in their first rows."""
    found = []
    for sheet in workbook.worksheets[1:]:
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True, max_row=50, max_col=TABLE_LIMITS.columns)
        if any(_xlsx_text(cell) for row in rows for cell in row):
            found.append(str(sheet.title)[:40])
    return found


def read_xlsx(content: bytes, columns: list[str], one_sheet: bool = False) -> list[dict[str, str]]:
    """The first sheet's table; with `one_sheet`, a workbook whose other sheets hold data too is
    refused (they would be left out without a word: another agency's figures on a second sheet)."""
    _check_zip(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file; their words stay in the log
        log.info("XLSX tidak terbaca: %s: %s", type(exc).__name__, exc)
        raise Invalid("Berkas XLSX tidak dapat dibaca", [Problem(DAMAGED)]) from exc
    try:
        if one_sheet and (others := _sheets_with_data(workbook)):
            raise Invalid(
                "Berkas XLSX berisi data di lebih dari satu lembar",
                [
                    Problem(
                        f"lembar {', '.join(others)} juga berisi data, padahal hanya lembar pertama yang dibaca: "
                        "satukan ke lembar pertama, atau kirim satu berkas per lembar"
                    )
                ],
            )
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared size may lie either way; the rows are counted instead
        # One column past the limit is read, so that a wider table is seen and refused.
        rows = sheet.iter_rows(values_only=True, max_col=TABLE_LIMITS.columns + 1)
        header = _header(list(next(rows, [])), columns)
        return [
            {k: _cell(k, v) for k, v in zip(header, row, strict=False) if k} for row in _bounded_rows(rows, _xlsx_text)
        ]
    except Invalid:
        raise
    except Exception as exc:  # a damaged part found while streaming
        log.info("XLSX rusak di tengah: %s: %s", type(exc).__name__, exc)
        raise Invalid("Berkas XLSX tidak dapat dibaca", [Problem(DAMAGED)]) from exc
    finally:
        workbook.close()


def read_table(filename: str, content: bytes, columns: list[str], one_sheet: bool = False) -> list[dict[str, str]]:
    """Rows of a CSV or XLSX file whose first row names at least `columns` (`one_sheet`: see `read_xlsx`)."""
    if len(content) > MAX_BYTES:
        raise Invalid(f"Berkas terlalu besar: paling besar {MAX_BYTES // (1024 * 1024)} MB")
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        rows = read_xlsx(content, columns, one_sheet)
    elif name.endswith((".csv", ".tsv")):
        rows = read_csv(_csv_text(content), columns)
    else:
        raise Invalid(f"Jenis berkas {filename!r} tidak didukung; unggah .xlsx, .csv atau .tsv")
    if not rows:  # a header alone is a template not filled in, not an import of nothing
        raise Invalid("Berkas tidak berisi data", [Problem("isi data mulai baris kedua, di bawah judul kolom", row=2)])
    return rows


def _csv_text(content: bytes) -> str:
    """UTF-8, or Windows-1252: what Excel writes for "CSV (dipisahkan koma)" on an office computer; or
    UTF-16 with its signature, as Excel writes "Teks Unicode" (tab-separated)."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise Invalid(
            "Berkas CSV tidak dapat dibaca",
            [Problem('simpan ulang dari Excel sebagai "CSV UTF-8", atau unggah berkas .xlsx')],
        ) from exc
