"""A determination exported for Satu Data Indonesia: CSV and XLSX with their metadata (title,
producer, period, unit, reference codes, each category's definition, the decree and the hash), and
a PDF annex with the tables and the decree details.

Every export is made from the frozen content alone, so the hash it carries is the determination's,
however often it is exported.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from fpdf import FPDF
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import tables
from engine.core.actors import Actor
from engine.core.config import Settings
from engine.core.errors import Invalid
from engine.core.tables import neutralised
from engine.people import privacy
from engine.people.scope import Scope
from engine.verification import determinations, region_history
from models import Category, Determination

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "pdf")
PRODUCER = "Dinas Sosial Provinsi Kalimantan Utara"
COLUMNS = ["kode_wilayah", "nama_wilayah", "kategori", "nama_kategori", "satuan", "nilai"]


def metadata(session: Session, d: Determination, tz: tzinfo, part: Scope | None = None) -> list[tuple[str, str]]:
    """The file's description; times in the province's zone, with their offset (as every page shows them)."""
    return [
        ("judul", f"Data PPKS dan PSKS resmi tahun {d.tahun}"),
        ("produsen_data", PRODUCER),
        ("periode", str(d.tahun)),
        ("wilayah", d.region_kode if part is None else f"{', '.join(part.regions)} (bagian dari {d.region_kode})"),
        (
            "kategori_sensitif",
            f"{', '.join(sorted(privacy.SENSITIVE))}: hanya tingkat kabupaten/kota dan provinsi",
        ),
        ("satuan", "jumlah (individu, keluarga, lembaga atau komunitas sesuai kategori)"),
        ("kode_referensi", "kode wilayah Kemendagri; kode kategori PPKS/PSKS Permensos 8/2012"),
        ("nomor_sk", d.nomor_sk),
        ("tanggal_sk", d.tanggal_sk.isoformat()),
        ("revisi", str(d.revisi)),
        *_replaced(session, d),
        ("disetujui_oleh", d.approved_by),
        ("disetujui_pada", d.approved_at.astimezone(tz).isoformat()),
        ("hash_sha256", d.content_hash),
        *_reporting(d, part),
    ]


def _replaced(session: Session, d: Determination) -> list[tuple[str, str]]:
    """A revision names the one it replaces (its decree and hash, to tell the files apart) and why."""
    previous = session.get(Determination, d.replaces_id) if d.replaces_id else None
    if previous is None:
        return []
    replaced = f"revisi {previous.revisi}, SK {previous.nomor_sk}, hash_sha256 {previous.content_hash}"
    return [("menggantikan", replaced), ("alasan_revisi", d.alasan_revisi or "")]


def _reporting(d: Determination, part: Scope | None) -> list[tuple[str, str]]:
    """Each regency's reporting in the year's cycles: a figure of a regency none of whose desa
    reported is what earlier years left on its register, not a count of the year."""
    return [
        (
            f"kelengkapan_{c.kode}_{c.periode}",
            f"{c.said()}; {c.tidak_melapor} tidak melapor; {c.disahkan} disahkan provinsi",
        )
        for c in determinations.reporting(d, part)
    ]


def _rows(session: Session, d: Determination, part: Scope | None) -> tuple[list[list[Any]], dict[str, Category]]:
    categories = {c.kode: c for c in session.scalars(select(Category))}
    published = determinations.published_rows(d, part)
    names = region_history.names_at(session, d.approved_at, {code for code, _, _ in published})  # as the decree did
    rows = []
    for code, kategori, n in published:
        category = categories.get(kategori)
        rows.append(
            [
                code,
                names.get(code, code),
                kategori,
                category.nama if category else "",
                category.satuan if category else "",
                n,
            ]
        )
    return rows, categories


def _definitions(categories: dict[str, Category], rows: list[list[Any]]) -> list[tuple[str, str, str]]:
    used = sorted({row[2] for row in rows})
    return [(k, categories[k].nama, categories[k].kriteria) for k in used if k in categories]


def _cells(row: list[Any]) -> list[Any]:
    """Texts that a spreadsheet would run as formulas are written so that it shows them (numbers stay numbers)."""
    return [neutralised(v) if isinstance(v, str) else v for v in row]


def to_csv(session: Session, d: Determination, tz: tzinfo, part: Scope | None = None) -> bytes:
    """Metadata lines (`# key: value`), the definitions, then the table."""
    rows, categories = _rows(session, d, part)
    said = [[f"# {key}", value] for key, value in metadata(session, d, tz, part)]
    said += [[f"# definisi {kode}", f"{nama}: {kriteria}"] for kode, nama, kriteria in _definitions(categories, rows)]
    return tables.csv_text([*said, COLUMNS, *rows]).encode("utf-8")


def to_xlsx(session: Session, d: Determination, tz: tzinfo, part: Scope | None = None) -> bytes:
    rows, categories = _rows(session, d, part)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "angka"
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(_cells(row))
    meta = book.create_sheet("metadata")
    for key, value in metadata(session, d, tz, part):
        meta.append([key, neutralised(value)])
    definitions = book.create_sheet("definisi")
    definitions.append(["kategori", "nama", "definisi"])
    for kode, nama, kriteria in _definitions(categories, rows):
        definitions.append(_cells([kode, nama, kriteria]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _annex(fonts: Path | None) -> tuple[FPDF, str, Callable[[str], str]]:
    """A page in DejaVu Sans, which prints every character as written (an en dash in a decree
    number, a name's letters); without the font files, the PDF's own Helvetica, whose Latin-1 shows
    any other character as `?`, said in the log."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    if fonts is not None and (fonts / "DejaVuSans.ttf").is_file():
        pdf.add_font("DejaVu", "", fonts / "DejaVuSans.ttf")
        pdf.add_font("DejaVu", "B", fonts / "DejaVuSans-Bold.ttf")
        return pdf, "DejaVu", str
    log.warning("huruf DejaVu tidak ada di %s: lampiran PDF hanya memuat huruf Latin-1", fonts)
    return pdf, "Helvetica", lambda text: str(text).encode("latin-1", "replace").decode("latin-1")


def to_pdf(
    session: Session, d: Determination, tz: tzinfo, part: Scope | None = None, fonts: Path | None = None
) -> bytes:
    """The annex: the decree details, then the province's figures per category and each regency's."""
    rows, categories = _rows(session, d, part)
    pdf, family, shown = _annex(fonts)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(family, "B", 14)
    pdf.multi_cell(0, 8, shown(f"Lampiran Penetapan Data PPKS/PSKS Tahun {d.tahun}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for key, value in metadata(session, d, tz, part):
        pdf.multi_cell(0, 5, shown(f"{key.replace('_', ' ')}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(family, size=9)
    table = [r for r in rows if r[0].count(".") <= 1]
    with pdf.table(col_widths=(18, 40, 18, 70, 20, 14), text_align="LEFT") as grid:
        grid.row([shown(c) for c in ("kode", "wilayah", "kategori", "nama kategori", "satuan", "nilai")])
        for row in table:
            grid.row([shown(str(c)) for c in row])
    return bytes(pdf.output())


def export(
    session: Session,
    actor: Actor,
    tahun: int,
    fmt: str,
    settings: Settings,
    by_token: bool = False,
    revisi: int | None = None,
) -> tuple[bytes, str]:
    """The file and its name: the whole determination, or the person's own regions of it; the export
    is recorded on the audit trail."""
    if fmt not in FORMATS:
        raise Invalid(f"Format {fmt!r} tidak dikenal; gunakan {', '.join(FORMATS)}")
    if by_token:
        d, part = determinations.published_whole(session, actor, tahun), None
    else:
        d, part = determinations.for_download(session, actor, tahun, revisi)
    writers: dict[str, Callable[..., bytes]] = {
        "csv": to_csv,
        "xlsx": to_xlsx,
        "pdf": partial(to_pdf, fonts=settings.annex_fonts),
    }
    content = writers[fmt](session, d, settings.tz, part)
    determinations.record_export(session, actor, d, fmt, part)
    region = "" if part is None else "-" + "-".join(r.replace(".", "") for r in part.regions)
    return content, f"penetapan-{d.tahun}-r{d.revisi}{region}.{fmt}"
