"""The cells of a figures file as other offices write them: counts (1.250 is Indonesian for 1250),
periods, region codes (which are regions, and their names; a code that looks like BPS's or an old
Kalimantan Timur one; a name beside a code that names another region) and categories (by code or by
name)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.errors import phrase
from engine.core.periods import period_key
from engine.core.rows import among
from models import Category, Region

# A count as people write it: 1250, or 1.250 with a dot between groups of three (Indonesian style).
# A dot anywhere else (1.5, 12.50) is a decimal: refused, never read as 15 or 1250.
WHOLE = re.compile(r"\d+|\d{1,3}(?:\.\d{3})+")


BEYOND = 10**18  # stands for a count of more digits than any region's, refused as too large


def count(value: Any) -> int | None:
    text = str(value).strip()
    if not (text.isascii() and WHOLE.fullmatch(text)):
        return None
    digits = text.replace(".", "")
    return int(digits) if len(digits) < 19 else BEYOND  # converting thousands of digits is work and fails


FIRST_YEAR = 1990  # the oldest figures a regency's archive holds; the determinations start in 2000


def period_problem(periode: str) -> str | None:
    """What is wrong with a figure's period: its form, or a year no figure can be of (before the
    archives, or after next year)."""
    if not periode.isascii():  # "２０２５" would be a period of its own, compared with nothing
        return phrase(f"periode {periode!r} harus ditulis dengan angka biasa, mis. 2025 atau 2025-S2")
    try:
        year = period_key(periode)[0]
    except ValueError as exc:
        return str(exc)
    last = clock.today().year + 1
    return None if FIRST_YEAR <= year <= last else phrase(f"tahun {year} di luar {FIRST_YEAR}–{last}")


def known_regions(session: Session, codes: set[str]) -> dict[str, str]:
    """Which of `codes` are regions, with their names: asked for those codes, in chunks, not by
    reading all 91,599."""
    wanted = sorted(c for c in codes if c)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 1000):
        batch = wanted[start : start + 1000]
        found |= dict(session.execute(select(Region.kode, Region.nama).where(among(session, Region.kode, batch))).all())
    return found


def category_codes(session: Session) -> dict[str, str]:
    """Each category's code by its code or its name as people write them (`lut`, `Lanjut Usia
    Terlantar`), folded."""
    found: dict[str, str] = {}
    for kode, nama in session.execute(select(Category.kode, Category.nama)):
        found[kode.casefold()] = found[" ".join(nama.split()).casefold()] = kode
    return found


BPS_LIKE = re.compile(r"[0-9]{4}([0-9]{2}([0-9]{3,4})?)?")  # 6502, 650201, 6502010001: BPS writes no dots


def region_problem(code: str, regions: dict[str, str], former: dict[str, Any], province: str | None) -> str | None:
    """Why a row's region cannot be read: unknown (with what it looks like), or outside the province."""
    if code in former:
        old = former[code]
        return phrase(f"kode lama {code} ({old.nama}, sampai {old.sampai}); kini {old.region_kode}: gunakan kode itu")
    if code not in regions:
        if BPS_LIKE.fullmatch(code):
            return phrase(
                f"kode wilayah {code!r} tampak seperti kode BPS: gunakan kode Kemendagri bertitik (keduanya "
                "berbeda: Kabupaten Bulungan adalah BPS 6502, Kemendagri 65.01)"
            )
        return phrase(f"kode wilayah {code!r} tidak dikenal; gunakan kode Kemendagri bertitik, mis. 65.01")
    if province and not (code == province or code.startswith(province + ".")):
        return phrase(f"kode wilayah {code} ({regions[code]}) berada di luar provinsi {province}")
    return None


NAME_PREFIXES = ("kabupaten ", "kab. ", "kab ", "kota ", "kecamatan ", "kec. ", "desa ", "kelurahan ", "kel. ")


def _bare(name: str) -> str:
    text = " ".join(name.split()).casefold()
    return next((text[len(p) :] for p in NAME_PREFIXES if text.startswith(p)), text)


def name_problem(given: str, code: str, official: str) -> str | None:
    """A name written beside the code that names another region: the codes are likely BPS's, or shifted."""
    if not given.strip() or _bare(given) == _bare(official):
        return None
    return phrase(
        f"nama {given.strip()!r} tidak cocok dengan kode {code}, yaitu {official} menurut Kemendagri; periksa "
        "apakah berkas memakai kode BPS (berbeda dari Kemendagri) atau kodenya bergeser"
    )
