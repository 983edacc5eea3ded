"""Quality flags, their thresholds, and the aggregate figures they are computed on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class QualityFlag(Base):
    """One thing a check found: on an item of a submission, or on a region × category × period figure."""

    __tablename__ = "quality_flag"
    __table_args__ = (
        Index("ix_quality_flag_region", "status", "region_kode", "kategori", "periode"),
        Index("ix_quality_flag_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))  # error, warning, info
    message: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))  # item, desa, kecamatan, kabupaten, provinsi
    region_kode: Mapped[str] = mapped_column(String(13))
    kategori: Mapped[str | None] = mapped_column(String(10))
    periode: Mapped[str | None] = mapped_column(String(10))
    field: Mapped[str | None] = mapped_column(String(40))
    observed: Mapped[Any] = mapped_column(JSON, nullable=True)
    expected: Mapped[Any] = mapped_column(JSON, nullable=True)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("submission_item.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="terbuka")  # terbuka, diakui, selesai
    ack_by: Mapped[str | None] = mapped_column(String(80))
    ack_tier: Mapped[str | None] = mapped_column(String(10))
    ack_note: Mapped[str | None] = mapped_column(Text)
    ack_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QualitySetting(Base):
    """A threshold of a rule, for one category or (kategori empty) for all."""

    __tablename__ = "quality_setting"
    __table_args__ = (UniqueConstraint("rule", "kategori", "name", name="uq_quality_setting"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    kategori: Mapped[str] = mapped_column(String(10), default="")
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)


class AggregateValue(Base):
    """A compiled count for a region, category and period: historic tables or our own figures."""

    __tablename__ = "aggregate_value"
    __table_args__ = (
        UniqueConstraint("kode_wilayah", "kategori", "periode", "sumber", name="uq_aggregate_value"),
        Index("ix_aggregate_value_series", "kategori", "kode_wilayah", "periode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kode_wilayah: Mapped[str] = mapped_column(String(13))
    kategori: Mapped[str] = mapped_column(String(10))
    periode: Mapped[str] = mapped_column(String(10))
    nilai: Mapped[int] = mapped_column(Integer)
    sumber: Mapped[str] = mapped_column(String(80))  # dinsos for ours; an agency's name otherwise
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
