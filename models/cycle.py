"""Update cycles and the rhythm that opens them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Rhythm(enum.StrEnum):
    TRIWULAN = "triwulan"  # quarterly
    SEMESTER = "semester"


class CycleStatus(enum.StrEnum):
    DIBUKA = "dibuka"
    DITUTUP = "ditutup"


class CycleRhythm(Base):
    """How often the province updates its data, and when each tier's work is due (days after opening)."""

    __tablename__ = "cycle_rhythm"

    id: Mapped[int] = mapped_column(primary_key=True)
    ritme: Mapped[str] = mapped_column(String(10), default=Rhythm.TRIWULAN)
    hari_buka: Mapped[int] = mapped_column(Integer, default=1)  # day of the period's first month
    batas_desa: Mapped[int] = mapped_column(Integer, default=30)
    batas_kecamatan: Mapped[int] = mapped_column(Integer, default=45)
    batas_kabupaten: Mapped[int] = mapped_column(Integer, default=60)
    batas_provinsi: Mapped[int] = mapped_column(Integer, default=75)
    pengingat_hari: Mapped[int] = mapped_column(Integer, default=3)  # remind this many days before a deadline
    # a submission goes up only with the signed minutes of the village deliberation
    berita_acara_wajib: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Cycle(Base):
    __tablename__ = "update_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    periode: Mapped[str] = mapped_column(String(10), unique=True)
    region_kode: Mapped[str] = mapped_column(String(13))
    status: Mapped[str] = mapped_column(String(10), default=CycleStatus.DIBUKA)
    batas: Mapped[dict[str, Any]] = mapped_column(JSON)  # tier -> deadline (ISO, UTC)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    expected: Mapped[int] = mapped_column(Integer, default=0)
    # Regions whose opening was announced (`cycle.opened`): a rerun after a crash announces the rest.
    announced: Mapped[list[str] | None] = mapped_column(JSON)
    # When the desa still due were reminded of their deadline (`cycle.closing_soon`): once a cycle
    diingatkan_at: Mapped[datetime | None] = mapped_column()
