"""The 26 PPKS and 12 PSKS kinds of Permensos 8/2012, kept as editable data."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Unit(enum.StrEnum):
    """What one entry of a category is, which sets the shape of its row."""

    INDIVIDU = "individu"  # a person: NIK, sex and birth date
    KELUARGA = "keluarga"  # a family: its KK
    LEMBAGA = "lembaga"  # an institution: its name
    KOMUNITAS = "komunitas"  # a community: its members and leader, no sex or birth date


class Category(Base):
    __tablename__ = "category"

    kode: Mapped[str] = mapped_column(String(10), primary_key=True)
    nama: Mapped[str] = mapped_column(String(160))
    jenis: Mapped[str] = mapped_column(String(4))  # PPKS or PSKS
    satuan: Mapped[str] = mapped_column(String(12))  # a Unit: individu, keluarga, komunitas, lembaga
    usia_min: Mapped[int | None] = mapped_column(Integer)
    usia_max: Mapped[int | None] = mapped_column(Integer)
    jenis_kelamin: Mapped[str | None] = mapped_column(String(1))  # L, P or none
    kriteria: Mapped[str] = mapped_column(Text, default="")
    atribut_wajib: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The regulation's age band is disputed or unverified: outside it is a warning, not an error.
    usia_tidak_pasti: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Stable by nature (adat communities): an unchanged count is expected, never suspected of being copied.
    stabil: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
