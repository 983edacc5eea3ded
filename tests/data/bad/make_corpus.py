"""Writes the bad-input corpus next to this file: BPMN definitions and import files that must each be
refused with a known message and leave nothing written. Run it again after changing a case:

    .venv/bin/python tests/data/bad/make_corpus.py
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DEFAULT = (ROOT / "workflows" / "bpmn" / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
CONDITION = 'hasil_pemeriksaan["lolos"]'
TASK_OPEN = '<bpmn:userTask id="verifikasi_kecamatan" name="Verifikasi kecamatan">'
DOC_END = "dengan catatan perbaikan.</bpmn:documentation>"
TIMER = "sla_durasi"

# name: (where, source, expected words in the refusal)
BPMN_CASES: dict[str, tuple[str, str, str]] = {
    "01_sum_of_huge_range": ("condition", "sum(range(10**15))", "terlalu besar"),
    "02_power_tower": ("condition", "10**10**10", "bilangan terlalu besar"),
    "03_huge_shift": ("condition", "2 << 10**9", "bilangan terlalu besar"),
    "04_string_repetition": ("condition", "len('a' * 10**9) > 0", "terlalu besar"),
    "05_list_repetition": ("condition", "len([0] * 10**9) > 0", "terlalu besar"),
    "06_tuple_repetition_left": ("condition", "len(10**9 * (1,)) > 0", "terlalu besar"),
    "07_nested_comprehension": ("condition", "len([[i for i in range(2000)] for j in range(1000)]) > 0", "bersarang"),
    "08_generator_over_huge_range": ("condition", "max(x for x in range(10**12)) > 0", "terlalu besar"),
    "09_fstring_width": ("condition", "len(f'{1:>1000000000}') > 0", "terlalu besar"),
    "10_fstring_computed_width": ("condition", "len(f'{1:>{submission_id}}') > 0", "f-string"),
    "11_percent_width": ("condition", "len('%1000000000d' % 1) > 0", "lebar format"),
    "12_percent_star": ("condition", "len('%*d' % (submission_id, 1)) > 0", "lebar format"),
    "13_dunder_import": ("condition", "__import__('os')", "tidak diizinkan"),
    "14_class_attribute": ("condition", "().__class__", "tidak diizinkan"),
    "15_getattr": ("condition", "getattr(submission_id, 'real')", "getattr"),
    "16_eval": ("condition", "eval('1')", "eval"),
    "17_open": ("condition", "open('/etc/passwd')", "open"),
    "18_underscore_name": ("condition", "_x", "tidak diizinkan"),
    "19_format_dunder": ("condition", "'{0.__class__}'.format(1)", "__"),
    "20_syntax_error": ("condition", "hasil_pemeriksaan[", "tidak dapat dibaca"),
    "21_empty_condition": ("condition", "", "kosong"),
    "22_while_true": ("script", "while True:\n    pass", "while"),
    "23_while_counter": ("script", "x = 0\nwhile x < 10:\n    x += 1", "while"),
    "24_try_except": ("script", "try:\n    a = 1\nexcept Exception:\n    a = 2", "try"),
    "25_import": ("script", "import os", "impor"),
    "26_from_import": ("script", "from os import path", "impor"),
    "27_nested_loops": (
        "script",
        "t = 0\nfor i in range(10000):\n    for j in range(10000):\n        t += 1",
        "bersarang",
    ),
    "28_big_string": ("script", "s = 'a' * 10**9", "terlalu besar"),
    "29_big_comprehension": ("script", "x = [i for i in range(10**6)]", "terlalu besar"),
    "30_exec": ("script", "exec('1')", "exec"),
    "31_globals": ("script", "g = globals()", "globals"),
    "32_bad_timer": ("timer", '"P14X"', "bukan durasi"),
}


def bpmn_variant(where: str, source: str) -> str:
    if where == "condition":
        return DEFAULT.replace(CONDITION, escape(source), 1)
    if where == "timer":
        return DEFAULT.replace(f">{TIMER}</bpmn:timeDuration>", f">{escape(source)}</bpmn:timeDuration>", 1)
    start = DEFAULT.index(TASK_OPEN)
    end = DEFAULT.index(DOC_END, start) + len(DOC_END)
    script = f"<spiffworkflow:preScript>{escape(source)}</spiffworkflow:preScript>"
    script = f"<bpmn:extensionElements>{script}</bpmn:extensionElements>"
    return DEFAULT[:end] + script + DEFAULT[end:]


HEADER = ["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"]
GOOD = ["6501015705500001", "6501011705500001", "Maria Ingan", "P", "1950-05-17", "Jl. Sengkawit No. 3", "LUT", ""]


def row(**changes: str) -> list[str]:
    values = dict(zip(HEADER, GOOD, strict=True))
    values.update(changes)
    return [values[h] for h in HEADER]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(cells) for cells in rows).encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for cells in rows:
        book.active.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_with(extra: dict[str, bytes], base: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


def import_cases() -> dict[str, tuple[bytes, str]]:
    good_xlsx = xlsx_bytes([HEADER, GOOD])
    return {
        "01_not_a_table.pdf": (b"%PDF-1.4\n%%EOF\n", "tidak didukung"),
        "02_not_a_zip.xlsx": (b"bukan zip", "simpan ulang dari Excel atau LibreOffice"),
        "03_header_only.csv": (csv_bytes([HEADER]), "tidak berisi data"),
        "04_missing_category.csv": (csv_bytes([HEADER[:6], GOOD[:6]]), "kolom wajib tidak ada"),
        "05_repeated_header.csv": (csv_bytes([[*HEADER, "nama"], [*GOOD, "Budi"]]), "berulang"),
        "06_too_many_columns.csv": (csv_bytes([HEADER + [f"x{i}" for i in range(70)], GOOD + ["1"] * 70]), "64 kolom"),
        "07_long_cell.csv": (csv_bytes([HEADER, row(alamat="x" * 3000)]), "2000 karakter"),
        "08_blank_rows.csv": (csv_bytes([HEADER] + [[",,"]] * 10_001 + [GOOD]), "baris kosong"),
        "09_field_beyond_csv_limit.csv": (csv_bytes([HEADER, row(keterangan="y" * 200_000)]), "tidak dapat dibaca"),
        "10_expands_too_far.xlsx": (
            zip_with({"xl/media/kosong.bin": b"\0" * (101 * 1024 * 1024)}, good_xlsx),
            "diekstrak",
        ),
        "11_too_many_parts.xlsx": (zip_with({f"xl/media/{i}.bin": b"" for i in range(1001)}, good_xlsx), "bagian"),
        "12_repeated_header.xlsx": (xlsx_bytes([[*HEADER, "kategori"], [*GOOD, "LUT"]]), "berulang"),
        "13_too_many_columns.xlsx": (xlsx_bytes([HEADER + [f"x{i}" for i in range(70)], GOOD]), "64 kolom"),
        "14_long_name.csv": (csv_bytes([HEADER, row(nama="A" * 285)]), "paling banyak 160"),
        "15_nul_in_name.csv": (csv_bytes([HEADER, row(nama="Ani\x00")]), "U+0000"),
        "16_bidi_override.csv": (csv_bytes([HEADER, row(nama="Ani\u202eBudi")]), "U+202E"),
        "17_zero_width.csv": (csv_bytes([HEADER, row(nama="A\u200bni")]), "U+200B"),
        "18_escape_sequence.csv": (csv_bytes([HEADER, row(keterangan="\x1b[31m")]), "U+001B"),
        "19_unknown_category.csv": (csv_bytes([HEADER, row(kategori="XYZ")]), "tidak dikenal"),
        "20_impossible_date.csv": (csv_bytes([HEADER, row(tanggal_lahir="31/02/1950")]), "tanggal"),
        "21_future_birth.csv": (csv_bytes([HEADER, row(tanggal_lahir="2099-01-01")]), "masa depan"),
        "22_short_nik.csv": (csv_bytes([HEADER, row(nik="650101570550000")]), "16"),
        "23_empty_name.csv": (csv_bytes([HEADER, row(nama="")]), "wajib diisi"),
        "24_nik_as_number.xlsx": (xlsx_bytes([HEADER, [6501015705500001, *GOOD[1:]]]), "format"),
    }


def main() -> None:
    bpmn_dir, import_dir = HERE / "bpmn", HERE / "imports"
    bpmn_dir.mkdir(exist_ok=True)
    import_dir.mkdir(exist_ok=True)
    expected = {}
    for name, (where, source, words) in BPMN_CASES.items():
        (bpmn_dir / f"{name}.bpmn").write_text(bpmn_variant(where, source), encoding="utf-8")
        expected[f"{name}.bpmn"] = words
    (bpmn_dir / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    expected = {}
    for name, (content, words) in import_cases().items():
        (import_dir / name).write_bytes(content)
        expected[name] = words
    (import_dir / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
