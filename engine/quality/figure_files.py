"""Files of compiled figures as offices send them: historic tables (ours and others') and another
agency's yearly figures, each row checked (region, category, period, count, whose figure it is) and
the whole file refused with every fault named by row, or read whole."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.agency_names import OUR_NAMES, OURS, letters
from engine.core.errors import Invalid, Problem, phrase
from engine.core.tables import read_table
from engine.quality import agency_indicators, figure_cells, series
from models import FormerRegionCode

BASELINE_COLUMNS = ["kode_wilayah", "kategori", "periode", "nilai", "sumber"]
AGENCY_COLUMNS = ["instansi", "kategori", "kode_wilayah", "periode", "nilai"]


def parse_rows(
    session: Session, rows: list[dict[str, str]], source_column: str, first_row: int = 2, province: str | None = None
) -> list[series.Value]:
    """Every row valid, or `Invalid` naming each fault by row (`first_row` is the first row's number).
    With `province`, a region outside it is refused (a file's rows, not only an API token's)."""
    rows = [{name: _plain_spaces(value) for name, value in row.items()} for row in rows]
    _refuse_control_characters(rows, first_row)
    regions = figure_cells.known_regions(session, {row.get("kode_wilayah", "").strip() for row in rows})
    kinds = figure_cells.category_codes(session)
    former = {f.kode_lama: f for f in session.scalars(select(FormerRegionCode))}
    problems, values, rows_of = [], [], defaultdict(list)
    for number, row in enumerate(rows, start=first_row):
        code, periode = row.get("kode_wilayah", "").strip(), row.get("periode", "")
        kategori = kinds.get(" ".join(row.get("kategori", "").split()).casefold(), row.get("kategori", ""))
        if said := figure_cells.region_problem(code, regions, former, province):
            problems.append(Problem(said, row=number, column="kode_wilayah"))
        elif said := figure_cells.name_problem(row.get("nama_wilayah", ""), code, regions[code]):
            problems.append(Problem(said, row=number, column="nama_wilayah"))
        if kategori not in kinds.values():
            problems.append(Problem(f"kode kategori {kategori!r} tidak dikenal", row=number, column="kategori"))
        if said := figure_cells.period_problem(periode):
            problems.append(Problem(said, row=number, column="periode"))
        count = figure_cells.count(row.get("nilai", ""))
        if said := _count_problem(row.get("nilai", ""), count):
            problems.append(Problem(said, row=number, column="nilai"))
        source = _source(row.get(source_column))
        if said := _source_problem(source, source_column):
            problems.append(Problem(said, row=number, column=source_column))
        if count is not None and count <= MAX_COUNT and (not problems or problems[-1].row != number):
            values.append(series.Value(code, kategori, periode, count, source))
            rows_of[(code, kategori, periode, source)].append(number)
    problems += [
        Problem(f"{k[0]} {k[1]} {k[2]} ({k[3]}) sudah ada di baris {numbers[0]}", row=again, column="periode")
        for k, numbers in rows_of.items()
        for again in numbers[1:]
    ]
    if problems:
        raise Invalid(f"Berkas ditolak: {len(problems)} masalah; tidak ada yang disimpan", problems)
    return values


MAX_COUNT = 10_000_000  # more people than the province has, many times over: a typing slip, never a count
SOURCE_CHARS = 80  # as `AggregateValue.sumber` keeps it


def _plain_spaces(value: Any) -> Any:
    """A cell with a no-break or other wide space (copied from a web page or a report) read as plain
    spaces: they are spaces, not control characters."""
    if not isinstance(value, str) or value.isascii():
        return value
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in value)


def _refuse_control_characters(rows: list[dict[str, str]], first_row: int) -> None:
    """A cell with a control character (a NUL, a line break inside a name) is refused before any of
    the file is looked up: the database would refuse it less clearly."""
    found = [
        Problem("memuat karakter kendali (mis. NUL atau ganti baris); ketik ulang isinya", row=number, column=name)
        for number, row in enumerate(rows, start=first_row)
        for name, value in row.items()
        if value and not str(value).isprintable()
    ]
    if found:
        raise Invalid(f"Berkas ditolak: {len(found)} masalah; tidak ada yang disimpan", found[:200])


def _count_problem(written: Any, count: int | None) -> str | None:
    if count is None:
        return phrase(f"nilai {written!r} bukan bilangan bulat 0 atau lebih (titik hanya pemisah ribuan, mis. 1.250)")
    if count > MAX_COUNT:
        return phrase(f"nilai {count} terlalu besar untuk jumlah orang di satu wilayah (paling besar {MAX_COUNT})")
    return None


def _source_problem(source: str, column: str) -> str | None:
    """Whose figure a row names: given, short enough to keep, and another agency's in an agency's file."""
    if not source:
        return phrase("wajib diisi")
    if len(source) > SOURCE_CHARS:
        return phrase(f"nama paling panjang {SOURCE_CHARS} karakter; tulis singkatannya, mis. DP3AP2KB")
    if source == OURS and column == "instansi":  # another agency's file never replaces ours
        return phrase("angka instansi harus atas nama instansi lain, bukan Dinas Sosial")
    return None


def _source(text: Any) -> str:
    """Whose figure a row is: Dinas Sosial's own however it is written, else the agency as written."""
    name = " ".join(str(text or "").split())
    return OURS if letters(name) in OUR_NAMES else name


def read_baseline(session: Session, filename: str, content: bytes, province: str | None = None) -> list[series.Value]:
    """Historic compiled tables: kode_wilayah, kategori, periode (YYYY, YYYY-Qn, YYYY-Sn), nilai, sumber."""
    rows = read_table(filename, content, BASELINE_COLUMNS, one_sheet=True)
    return parse_rows(session, rows, "sumber", province=province)


def read_agency(
    session: Session, filename: str, content: bytes, agency: str | None = None, province: str | None = None
) -> list[series.Value]:
    """Another agency's figures: instansi, kategori (or the agency's `indikator`, mapped to a category by
    configured data), kode_wilayah, periode, nilai."""
    named_by_indicator = b"indikator" in content[:2048].lower() or filename.lower().endswith(".xlsx")
    required = [
        c for c in AGENCY_COLUMNS if not (c == "instansi" and agency) and not (c == "kategori" and named_by_indicator)
    ]
    rows = read_table(filename, content, required, one_sheet=True)
    if agency:  # the option names the file's agency: a row naming another is a file of two agencies
        _refuse_other_agencies(rows, agency)
        rows = [{**r, "instansi": agency} for r in rows]
    rows, unmapped = agency_indicators.translate(session, rows)
    without_category = {p.row for p in unmapped}
    try:
        values = parse_rows(session, rows, "instansi", province=province)
    except Invalid as exc:
        found = [p for p in exc.problems if not (p.row in without_category and p.column == "kategori")]
        unmapped = sorted(unmapped + found, key=lambda p: p.row or 0)
    if unmapped:
        raise Invalid(f"Berkas ditolak: {len(unmapped)} masalah; tidak ada yang disimpan", unmapped)
    return values


def _refuse_other_agencies(rows: list[dict[str, str]], agency: str) -> None:
    other = [
        Problem(f"baris ini atas nama {r['instansi'].strip()!r}, bukan {agency}", row=n, column="instansi")
        for n, r in enumerate(rows, start=2)
        if (r.get("instansi") or "").strip() and letters(_source(r["instansi"])) != letters(_source(agency))
    ]
    if other:
        raise Invalid(f"Berkas ditolak: {len(other)} baris atas nama instansi lain dari {agency}", other[:200])


def agency_values(
    session: Session, rows: list[dict[str, str]], agency: str | None = None, province: str | None = None
) -> list[series.Value]:
    """Agencies' figures sent as rows (the API, a preview's confirmation), each row's agency in
    `instansi` unless `agency` names it: row numbers count from 1."""
    named = [{**r, "instansi": agency} for r in rows] if agency else rows
    return parse_rows(session, named, "instansi", first_row=1, province=province)
