"""Exchange with other systems: agencies' API tokens, NIK checks against the civil registry
(Dukcapil), and the national social-economic register (DTSEN) extract."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ApiResource(enum.StrEnum):
    """What an agency token may reach; `*-instansi` and `pengajuan` are written to, the rest read."""

    AGREGAT = "agregat"
    STATUS = "status"
    CATATAN = "catatan"
    ANGKA_INSTANSI = "angka-instansi"
    PENGAJUAN = "pengajuan"
    PENETAPAN = "penetapan"  # the frozen official figures and their exports


class AgencyToken(Base):
    """A secret another agency's system sends as `Authorization: Bearer ...`.

    Only a SHA-256 digest of the secret is kept: the secret is shown once, when it is made. The
    `prefix` names the token in lists, logs and the audit trail without revealing it.
    """

    __tablename__ = "agency_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    instansi: Mapped[str] = mapped_column(String(80))
    keterangan: Mapped[str] = mapped_column(String(200), default="")
    region_kode: Mapped[str] = mapped_column(ForeignKey("region.kode"))
    resources: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ApiResource values
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    sees_nik: Mapped[bool] = mapped_column(Boolean, default=False)  # full NIKs in records
    rate_limit: Mapped[str] = mapped_column(String(40), default="120/minute")
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NikStatus(enum.StrEnum):
    """What Dukcapil said about a person's NIK and values."""

    PADAN = "padan"  # found, and every compared value agrees
    TIDAK_PADAN = "tidak_padan"  # not found, or some values differ (`berbeda` names them)
    MENINGGAL = "meninggal"  # registered as deceased
    BELUM_DICEK = "belum_dicek"  # no answer yet (never asked, or every attempt failed)


class NikCheck(Base):
    """The latest Dukcapil answer for one record or one item of a submission under verification.

    `checked_at` is the time of the answer; a record or item changed after it is checked again.
    A failed attempt changes nothing but `attempted_at`, `attempts` and `last_error`.
    """

    __tablename__ = "nik_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("ppks_record.id"), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("submission_item.id", ondelete="CASCADE"), unique=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[NikStatus] = mapped_column(Enum(NikStatus, native_enum=False, length=12))
    berbeda: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the differing fields
    checked_at: Mapped[datetime | None] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DtsenEntry(Base):
    """One person of the latest DTSEN extract: decile of welfare (1 poorest … 10) and programmes."""

    __tablename__ = "dtsen_entry"
    __table_args__ = (
        Index("ix_dtsen_entry_nik", "nik"),
        Index("ix_dtsen_entry_no_kk", "no_kk"),
        # a desa's residents of the poorest deciles (`dtsen.desa_information`)
        Index("ix_dtsen_entry_region_desil", "region_kode", "desil"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16))
    no_kk: Mapped[str | None] = mapped_column(String(16))
    desil: Mapped[int] = mapped_column(Integer)
    program: Mapped[list[Any]] = mapped_column(JSON, default=list)
    region_kode: Mapped[str | None] = mapped_column(String(13))  # the desa of residence, when given
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
