"""The shape of one item's values: required fields, 16-digit numbers, sex, dates, a known category.

These need nothing but the values; the rules that need the region table, the category's criteria
or other records live in `engine/quality/records.py`, which runs these first. Each finding names
the field and has a severity: an `error` blocks submission, a `warning` must be acknowledged by a
verifier, an `info` is shown only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

REQUIRED = ("nama", "kategori")
SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"
SEVERITY_INFO = "info"


@dataclass(frozen=True)
class Finding:
    field: str
    message: str
    severity: str = SEVERITY_ERROR
    rule: str = "bentuk_data"
    observed: Any = None
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"kolom": self.field, "pesan": self.message, "tingkat": self.severity, "aturan": self.rule}


def _digits16(value: str) -> bool:
    return len(value) == 16 and value.isdigit()


def check_values(values: dict[str, Any], known_categories: set[str], today: date,
                 nik_required: bool = True) -> list[Finding]:
    """Findings for one item's values, as stored in a submission item.

    A NIK is required of a person; families are recorded by their KK and communities by name.
    """
    findings = [Finding(name, "wajib diisi") for name in REQUIRED if not str(values.get(name) or "").strip()]
    nik = str(values.get("nik") or "")
    if not nik:
        if nik_required:
            findings.append(Finding("nik", "wajib diisi"))
    elif not _digits16(nik):
        findings.append(Finding("nik", f"NIK harus 16 angka, bukan {len(nik)} karakter"))
    kk = str(values.get("no_kk") or "")
    if kk and not _digits16(kk):
        findings.append(Finding("no_kk", f"nomor KK harus 16 angka, bukan {len(kk)} karakter"))
    if values.get("jenis_kelamin") not in ("L", "P"):
        findings.append(Finding("jenis_kelamin", "isi L (laki-laki) atau P (perempuan)"))
    kategori = values.get("kategori")
    if kategori and kategori not in known_categories:
        findings.append(Finding("kategori", f"kode kategori {kategori!r} tidak dikenal"))
    born = values.get("tanggal_lahir")
    if born:
        try:
            born_date = date.fromisoformat(str(born))
        except ValueError:
            findings.append(Finding("tanggal_lahir", "tanggal harus berformat YYYY-MM-DD"))
        else:
            if born_date > today:
                findings.append(Finding("tanggal_lahir", "tanggal lahir di masa depan"))
    else:
        findings.append(Finding("tanggal_lahir", "wajib diisi"))
    return findings


def has_errors(findings: list[dict[str, str]] | list[Finding]) -> bool:
    return any((f.severity if isinstance(f, Finding) else f["tingkat"]) == SEVERITY_ERROR for f in findings)
