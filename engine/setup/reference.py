"""Loading the reference data shipped under models/seed/: regions, population, categories."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import models
from models import Category, FormerRegionCode, Population, Region, tier_of_code
from models.region import parent_code

SEED_DIR = Path(models.__file__).resolve().parent / "seed"


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEED_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip() else None


def _uncertain(criteria: str) -> bool:
    text = criteria.lower()
    return "diperdebatkan" in text or "belum terverifikasi" in text


def load_regions(session: Session) -> int:
    """Insert the regions not yet present (parents first); returns how many were added."""
    present = set(session.scalars(select(Region.kode)))
    rows = _rows("wilayah.tsv")
    codes = {r["kode"] for r in rows} | present
    new: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: (r["kode"].count("."), r["kode"])):
        if row["kode"] in present:
            continue
        parent = parent_code(row["kode"])
        new.append(
            {
                "kode": row["kode"],
                "nama": row["nama"],
                "tingkat": tier_of_code(row["kode"]),
                "induk": parent if parent in codes else None,
            }
        )
    for start in range(0, len(new), 10_000):
        session.execute(insert(Region), new[start : start + 10_000])
    return len(new)


def load_population(session: Session) -> int:
    present = set(session.scalars(select(Population.kode)))
    new = [
        {
            "kode": r["kode"],
            "laki_laki": int(r["laki_laki"]),
            "perempuan": int(r["perempuan"]),
            "total": int(r["total"]),
            "periode": "2024-S2",
        }
        for r in _rows("penduduk.tsv")
        if r["kode"] not in present
    ]
    if new:
        session.execute(insert(Population), new)
    return len(new)


def load_categories(session: Session) -> int:
    """Insert missing categories; existing ones keep an administrator's edits."""
    present = set(session.scalars(select(Category.kode)))
    new = [
        {
            "kode": r["kode"],
            "nama": r["nama"],
            "jenis": r["jenis"],
            "satuan": r["satuan"],
            "usia_min": _int_or_none(r["usia_min"]),
            "usia_max": _int_or_none(r["usia_max"]),
            "jenis_kelamin": r["jenis_kelamin"] or None,
            "kriteria": r["kriteria_ringkas"],
            "atribut_wajib": [a for a in r["atribut_wajib"].split(",") if a],
            "stabil": r["stabil"] == "1",
            "usia_tidak_pasti": _uncertain(r["kriteria_ringkas"]),
        }
        for r in _rows("ppks_kategori.tsv")
        if r["kode"] not in present
    ]
    if new:
        session.execute(insert(Category), new)
    return len(new)


def load_former_codes(session: Session) -> int:
    """Insert the region codes no longer in use that NIKs still carry."""
    present = set(session.scalars(select(FormerRegionCode.kode_lama)))
    new = [
        {"kode_lama": r["kode_lama"], "region_kode": r["region_kode"], "nama": r["nama"], "sampai": int(r["sampai"])}
        for r in _rows("kode_lama.tsv")
        if r["kode_lama"] not in present
    ]
    if new:
        session.execute(insert(FormerRegionCode), new)
    return len(new)
