"""The province's list of regions as the seed holds it, changed as a decree would change it, and the
seeded regions put back after a test that changed them (they outlive each test)."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import delete, update

from engine.setup.reference import SEED_DIR
from models import Region
from tests.conftest import _empty_written_tables

with open(SEED_DIR / "wilayah.tsv", encoding="utf-8", newline="") as _handle:
    SEED = [(r["kode"], r["nama"]) for r in csv.DictReader(_handle, delimiter="\t") if r["kode"].split(".")[0] == "65"]


def listing(drop=(), rename=None, add=(), lama=None) -> list[dict[str, str]]:
    """The province's rows, without `drop`, with new names, added rows and former codes."""
    rename, lama = rename or {}, lama or {}
    rows = [(k, rename.get(k, n)) for k, n in SEED if k not in drop] + list(add)
    return [{"kode": k, "nama": n, "kode_lama": lama.get(k, "")} for k, n in rows]


def as_csv(rows: list[dict[str, str]]) -> str:
    return "kode,nama,kode_lama\n" + "".join(f"{r['kode']},{r['nama']},{r['kode_lama']}\n" for r in rows)


@pytest.fixture
def regions_restored(db):
    yield db
    _empty_written_tables(db)  # first what refers to the regions added
    with db.engine.begin() as conn:
        conn.execute(delete(Region).where(Region.kode.like("65.%"), Region.kode.not_in([k for k, _ in SEED])))
        conn.execute(update(Region).where(Region.kode.like("65%")).values(berakhir=None))
        for kode, nama in SEED:
            conn.execute(update(Region).where(Region.kode == kode, Region.nama != nama).values(nama=nama))
