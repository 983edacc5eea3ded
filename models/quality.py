"""Quality flags, their thresholds, and the aggregate figures they are computed on."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Severity(enum.StrEnum):
    ERROR = "error"  # blocks submission
    WARNING = "warning"  # a verifier acknowledges it with a note before approval
    INFO = "info"  # shown only


class FlagStatus(enum.StrEnum):
    TERBUKA = "terbuka"
    DIAKUI = "diakui"  # accepted, with the note that says why
    DIJELASKAN = "dijelaskan"  # the figure is right, and the note says why it looks odd
    SELESAI = "selesai"


class QualityFlag(Base):
    """One thing a check found: on an item of a submission, or on a region × category × period figure."""

    __tablename__ = "quality_flag"
    __table_args__ = (
        Index("ix_quality_flag_region", "status", "region_kode", "kategori", "periode"),
        Index("ix_quality_flag_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))  # a Severity
    message: Mapped[str] = mapped_column(Text)
    tingkat: Mapped[str | None] = mapped_column(String(10))  # the region's tier; none on an item's flag
    region_kode: Mapped[str] = mapped_column(String(13))
    kategori: Mapped[str | None] = mapped_column(String(10))
    periode: Mapped[str | None] = mapped_column(String(10))
    field: Mapped[str | None] = mapped_column(String(40))
    observed: Mapped[Any] = mapped_column(JSON, nullable=True)
    expected: Mapped[Any] = mapped_column(JSON, nullable=True)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # figures and places behind the flag
    skor: Mapped[float | None] = mapped_column(Float)  # how surprising: −log10 of its chance under counting noise
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("submission_item.id", ondelete="CASCADE"))
    # a flag on a verified record (Dukcapil, DTSEN); neither item nor record: a compiled figure's flag
    record_id: Mapped[int | None] = mapped_column(ForeignKey("ppks_record.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=FlagStatus.TERBUKA)
    ack_by: Mapped[str | None] = mapped_column(String(80))
    ack_tingkat: Mapped[str | None] = mapped_column(String(10))
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
        UniqueConstraint("region_kode", "kategori", "periode", "sumber", name="uq_aggregate_value"),
        Index("ix_aggregate_value_series", "kategori", "region_kode", "periode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_kode: Mapped[str] = mapped_column(String(13))
    kategori: Mapped[str] = mapped_column(String(10))
    periode: Mapped[str] = mapped_column(String(10))
    nilai: Mapped[int] = mapped_column(Integer)
    sumber: Mapped[str] = mapped_column(String(80))  # dinsos for ours; an agency's name otherwise
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgencyIndicator(Base):
    """Which of an agency's indicators corresponds to which of our categories, and whether it counts
    the same thing (configured data: the comparison knows what it compares)."""

    __tablename__ = "agency_indicator"
    __table_args__ = (UniqueConstraint("instansi", "indikator", name="uq_agency_indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instansi: Mapped[str] = mapped_column(String(80))
    indikator: Mapped[str] = mapped_column(String(40))  # the agency's own code or name of the figure
    kategori: Mapped[str] = mapped_column(ForeignKey("category.kode"))
    sama: Mapped[bool] = mapped_column(Boolean, default=True)  # false: it counts something else
    keterangan: Mapped[str] = mapped_column(Text, default="")
