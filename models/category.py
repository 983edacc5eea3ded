"""The 26 PPKS and 12 PSKS kinds of Permensos 8/2012, kept as editable data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Category(Base):
    __tablename__ = "category"

    kode: Mapped[str] = mapped_column(String(10), primary_key=True)
    nama: Mapped[str] = mapped_column(String(160))
    jenis: Mapped[str] = mapped_column(String(4))  # PPKS or PSKS
    satuan: Mapped[str] = mapped_column(String(12))  # individu, keluarga, komunitas, lembaga
    usia_min: Mapped[int | None] = mapped_column(Integer)
    usia_max: Mapped[int | None] = mapped_column(Integer)
    jenis_kelamin: Mapped[str | None] = mapped_column(String(1))  # L, P or none
    kriteria: Mapped[str] = mapped_column(Text, default="")
    atribut_wajib: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The regulation's age band is disputed or unverified: outside it is a warning, not an error.
    usia_tidak_pasti: Mapped[bool] = mapped_column(Boolean, default=False)
