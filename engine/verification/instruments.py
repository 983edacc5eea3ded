"""The instrument of each category: the columns its unit needs, and a spreadsheet template with their
formats and a filled example, so that a desa's file fits the import before it is typed."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from engine.core.errors import NotFound
from models import Category, Unit


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    form: str  # how to write it
    required: bool
    example: str


NIK = Column(
    "nik", "NIK (Nomor Induk Kependudukan) sesuai KTP/KK", "16 angka; format sel Teks", True, "6501015708500001"
)
NIK_HEAD = Column("nik", "NIK kepala keluarga, bila ada", "16 angka; format sel Teks", False, "6501011708500001")
KK = Column("no_kk", "Nomor Kartu Keluarga", "16 angka; format sel Teks", False, "6501011705500001")
KK_REQUIRED = Column("no_kk", "Nomor Kartu Keluarga", "16 angka; format sel Teks", True, "6501011705500001")
SEX = Column("jenis_kelamin", "Jenis kelamin", "L atau P", True, "P")
SEX_OPTIONAL = Column("jenis_kelamin", "Jenis kelamin kepala keluarga", "L atau P", False, "L")
BORN = Column("tanggal_lahir", "Tanggal lahir", "YYYY-MM-DD atau DD/MM/YYYY", True, "17/08/1950")
BORN_OPTIONAL = Column(
    "tanggal_lahir", "Tanggal lahir kepala keluarga", "YYYY-MM-DD atau DD/MM/YYYY", False, "17/08/1950"
)
ADDRESS = Column("alamat", "Alamat (RT/RW, dusun)", "teks", False, "Jl. Sengkawit No. 3, RT 02")
NOTE = Column("keterangan", "Keterangan (mis. sumber data, musdes)", "teks", False, "musdes 2026")
ATTRIBUTES = {
    "jumlah_anggota": Column("jumlah_anggota", "Jumlah anggota komunitas", "bilangan bulat 1-100000", True, "48"),
    "nama_ketua": Column("nama_ketua", "Nama ketua/kepala adat", "teks", True, "Lawing"),
}


def columns(kind: Category) -> list[Column]:
    """The columns of a category's rows, in the order of the template."""
    unit = Unit(kind.satuan)
    name = Column("nama", _name_meaning(unit), "teks", True, _name_example(unit))
    category = Column("kategori", "Kode kategori", f"tulis {kind.kode}", True, kind.kode)
    if unit == Unit.INDIVIDU:
        base = [NIK, KK, name, SEX, BORN, ADDRESS, category, NOTE]
    elif unit == Unit.KELUARGA:
        base = [KK_REQUIRED, NIK_HEAD, name, SEX_OPTIONAL, BORN_OPTIONAL, ADDRESS, category, NOTE]
    else:
        base = [name, ADDRESS, category, NOTE]
    return base + [ATTRIBUTES.get(a, Column(a, a.replace("_", " "), "teks", True, "")) for a in kind.atribut_wajib]


def _name_meaning(unit: Unit) -> str:
    return {
        Unit.INDIVIDU: "Nama lengkap sesuai KTP",
        Unit.KELUARGA: "Nama kepala keluarga",
        Unit.LEMBAGA: "Nama lembaga",
        Unit.KOMUNITAS: "Nama komunitas",
    }[unit]


def _name_example(unit: Unit) -> str:
    return {
        Unit.INDIVIDU: "Maria Ingan",
        Unit.KELUARGA: "Yohanes Laing",
        Unit.LEMBAGA: "LKS Harapan Bersama",
        Unit.KOMUNITAS: "Punan Adiu",
    }[unit]


EXAMPLE_NAMES = {_name_example(unit) for unit in Unit}


def is_example(row: dict[str, str]) -> bool:
    """The template's filled example row, left in the file: its invented name at its invented address."""
    return (row.get("nama") or "").strip() in EXAMPLE_NAMES and (row.get("alamat") or "").strip() == ADDRESS.example


def template(session: Session, kode: str) -> bytes:
    """An XLSX with the category's columns (number columns formatted as text, sex as a list), a filled
    example row, and a sheet explaining each column and the category's criteria."""
    kind = session.get(Category, kode)
    if kind is None:
        raise NotFound(f"Kategori {kode[:12]!r} tidak dikenal")
    book = Workbook()
    data = book.worksheets[0]
    data.title = "Data"
    cols = columns(kind)
    data.append([c.name for c in cols])
    data.append([c.example for c in cols])
    for index, column in enumerate(cols, start=1):
        letter = get_column_letter(index)
        data.cell(row=1, column=index).font = Font(bold=True)
        data.column_dimensions[letter].width = max(14, len(column.example) + 2)
        if column.name in ("nik", "no_kk"):
            for row in range(2, 1002):  # so that a typed number keeps its 16 digits
                data.cell(row=row, column=index).number_format = "@"
        if column.name == "jenis_kelamin":
            choice = DataValidation(type="list", formula1='"L,P"', allow_blank=not column.required)
            data.add_data_validation(choice)
            choice.add(f"{letter}2:{letter}1001")
    _guide(book, kind, cols)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _guide(book: Workbook, kind: Category, cols: list[Column]) -> None:
    guide = book.create_sheet("Petunjuk")
    guide.append([f"{kind.nama} ({kind.kode}) - dicatat per {Unit(kind.satuan).value}"])
    guide.append([kind.kriteria or ""])
    guide.append([])
    guide.append(["kolom", "isi", "cara menulis", "wajib"])
    for c in cols:
        guide.append([c.name, c.meaning, c.form, "ya" if c.required else "tidak"])
    guide.append([])
    guide.append(
        [
            "Timpa atau hapus baris contoh di lembar Data: bila tertinggal, impor ditolak. Satu baris satu data; "
            "jangan menggabungkan sel."
        ]
    )
    guide.column_dimensions["A"].width = 18
    guide.column_dimensions["B"].width = 48
    guide.column_dimensions["C"].width = 32
