"""What identifies one entry of a category, by its unit: a person by NIK, a family by its KK, an
institution or a community by its name (normalised). A row that re-verifies an entry finds the
entry's record by this key, and two rows with one key in one category are the same entry twice."""

from __future__ import annotations

from typing import Any

from engine.quality import names
from models import Unit


def key(unit: Unit, values: dict[str, Any]) -> str:
    """The entry's key; empty when the row lacks what identifies it (the shape rules say so)."""
    if unit == Unit.KELUARGA:
        kk = str(values.get("no_kk") or "").strip()
        return f"kk:{kk}" if kk else ""
    if unit in (Unit.LEMBAGA, Unit.KOMUNITAS):
        name = names.canonical(str(values.get("nama") or ""))
        return f"nama:{name}" if name else ""
    return str(values.get("nik") or "").strip()
