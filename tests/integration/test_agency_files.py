"""Other agencies' yearly figures as offices send them: BPS codes, names beside codes that disagree,
other provinces, old Kalimantan Timur codes, category names, odd digits, a comma inside a number, a
decimal in a spreadsheet, and a file whose rows name another agency than the one it is loaded for.
Each is refused with what to fix, and nothing is stored."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from models import AggregateValue

COLUMNS = ["instansi", "kategori", "kode_wilayah", "periode", "nilai"]
HEADER = ",".join(COLUMNS) + "\n"


def _workbook(*rows: list) -> Workbook:
    """An agency's workbook: the headings and these rows on its first sheet."""
    book = Workbook()
    for row in (COLUMNS, *rows):
        book.active.append(row)
    return book


def _stored(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AggregateValue))


def _refused(cli, path, *more: str) -> str:
    answer = cli("quality", "agency", str(path), *more, ok=False)
    return answer.stdout + answer.stderr


CASES = {
    "a BPS code": (HEADER + "DP3AP2KB,AKTK,6502,2025,30\n", "tampak seperti kode BPS"),
    "a name that is another region's": (
        "instansi,kategori,kode_wilayah,nama_wilayah,periode,nilai\nDP3AP2KB,AKTK,65.01,Malinau,2025,8\n",
        "nama 'Malinau' tidak cocok dengan kode 65.01, yaitu Kabupaten Bulungan",
    ),
    "another province": (HEADER + "DP3AP2KB,AKTK,64.72,2025,3\n", "berada di luar provinsi 65"),
    "an old Kalimantan Timur code": (HEADER + "DP3AP2KB,AKTK,64.04,2025,3\n", "kini 65.01: gunakan kode itu"),
    "full-width digits": (HEADER + "DP3AP2KB,AKTK,65.01,２０２５,3\n", "harus ditulis dengan angka biasa"),
    "a comma inside a number": (HEADER + "DP3AP2KB,AKTK,65.01,2025,5,642\n", "angka yang memuat koma"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_that_would_store_a_wrong_figure_is_refused_saying_what_to_fix(cli, tmp_path, db, case):
    text, said = CASES[case]
    path = tmp_path / "angka.csv"
    path.write_text(text, encoding="utf-8")
    assert said in _refused(cli, path)
    assert _stored(db) == 0


def test_a_decimal_in_a_spreadsheet_is_refused_not_read_as_thousands(cli, tmp_path, db):
    path = tmp_path / "angka.xlsx"
    _workbook(["DP3AP2KB", "AKTK", "65.01", "2025", 2.125]).save(path)  # a numeric cell: 2,125 people, not 2125
    assert "'2,125' bukan bilangan bulat" in _refused(cli, path)
    assert _stored(db) == 0


def test_categories_written_in_small_letters_or_by_name_and_names_that_agree_are_read(cli, tmp_path, db):
    path = tmp_path / "angka.csv"
    path.write_text(
        "instansi,kategori,kode_wilayah,nama_wilayah,periode,nilai\n"
        "DP3AP2KB,aktk,65.01,Kab. Bulungan,2025,30\n"
        "DP3AP2KB,Lanjut Usia Terlantar,65.02,MALINAU,2025,12\n",
        encoding="utf-8",
    )
    cli("quality", "agency", str(path))
    with db.read() as s:
        stored = {(r, k) for r, k in s.execute(select(AggregateValue.region_kode, AggregateValue.kategori))}
    assert stored == {("65.01", "AKTK"), ("65.02", "LUT")}


def test_an_agency_named_on_the_command_line_does_not_rename_another_agencys_rows(cli, tmp_path, db):
    path = tmp_path / "dua.csv"
    path.write_text(HEADER + "DP3AP2KB,AKTK,65.01,2025,30\nDinkes,ODHA,65.01,2025,40\n", encoding="utf-8")
    said = _refused(cli, path, "--agency", "DP3AP2KB")
    assert "baris ini atas nama 'Dinkes', bukan DP3AP2KB" in said
    assert _stored(db) == 0


def test_a_workbook_with_figures_on_a_second_sheet_is_refused_not_half_read(cli, tmp_path, db):
    book = _workbook(["DP3AP2KB", "AKTK", "65.01", "2025", 30])
    odha = book.create_sheet("ODHA")
    for row in (COLUMNS, ["Dinkes", "ODHA", "65.01", "2025", 40]):
        odha.append(row)
    path = tmp_path / "angka.xlsx"
    book.save(path)
    assert "lembar ODHA juga berisi data" in _refused(cli, path)
    assert _stored(db) == 0
    book.remove(odha)  # one sheet: read
    book.save(path)
    cli("quality", "agency", str(path))
    assert _stored(db) == 1


def test_a_capitalised_indikator_heading_and_an_agency_written_in_small_letters_are_read(cli, tmp_path, db):
    cli("agency", "map", "DP3AP2KB", "KTA", "AKTK")
    path = tmp_path / "angka.csv"
    path.write_text("Instansi,Indikator,Kode Wilayah,Periode,Nilai\nDp3ap2kb,KTA,65.01,2025,8\n", encoding="utf-8")
    cli("quality", "agency", str(path), "--agency", "DP3AP2KB")
    with db.read() as s:
        assert [(r.sumber, r.kategori, r.nilai) for r in s.scalars(select(AggregateValue))] == [("DP3AP2KB", "AKTK", 8)]
