"""Kemendagri regions (provinsi → kabupaten/kota → kecamatan → desa/kelurahan) and their population."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Tier(enum.StrEnum):
    """A level of the administrative hierarchy, which is also a verification tier."""

    PROVINSI = "provinsi"
    KABUPATEN = "kabupaten"
    KECAMATAN = "kecamatan"
    DESA = "desa"

    @property
    def depth(self) -> int:
        return TIER_ORDER.index(self)

    @property
    def label(self) -> str:
        return {
            "provinsi": "provinsi",
            "kabupaten": "kabupaten/kota",
            "kecamatan": "kecamatan",
            "desa": "desa/kelurahan",
        }[self.value]


TIER_ORDER = [Tier.PROVINSI, Tier.KABUPATEN, Tier.KECAMATAN, Tier.DESA]
# Where a late task escalates: the tier above it.
TIER_ORDER_UP = {
    Tier.DESA: Tier.KECAMATAN,
    Tier.KECAMATAN: Tier.KABUPATEN,
    Tier.KABUPATEN: Tier.PROVINSI,
    Tier.PROVINSI: Tier.PROVINSI,
}


def tier_of_code(code: str) -> Tier:
    """`65` provinsi, `65.01` kabupaten/kota, `65.01.01` kecamatan, `65.01.01.2005` desa."""
    parts = code.split(".")
    if not 1 <= len(parts) <= 4:
        raise ValueError(f"kode wilayah tidak sah: {code!r}")
    return TIER_ORDER[len(parts) - 1]


def ancestor_code(code: str, tier: Tier) -> str:
    """The code of the region at `tier` that contains `code` (itself when already at that tier)."""
    parts = code.split(".")
    if tier.depth >= len(parts):
        raise ValueError(f"{code} tidak berada di bawah tingkat {tier.value}")
    return ".".join(parts[: tier.depth + 1])


def parent_code(code: str) -> str | None:
    parts = code.split(".")
    return ".".join(parts[:-1]) if len(parts) > 1 else None


def contains(ancestor: str, code: str) -> bool:
    return code == ancestor or code.startswith(ancestor + ".")


class Region(Base):
    __tablename__ = "region"

    kode: Mapped[str] = mapped_column(String(13), primary_key=True)
    nama: Mapped[str] = mapped_column(String(120))
    tingkat: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=10), index=True)
    induk: Mapped[str | None] = mapped_column(ForeignKey("region.kode"), index=True)
    # The day the code stopped being used (merged, recoded, dissolved), or None while it is in use. A
    # code is never deleted: the records, submissions and history that carry it still read.
    berakhir: Mapped[date | None] = mapped_column(Date)


class RegionChangeKind(enum.StrEnum):
    BARU = "baru"
    GANTI_NAMA = "ganti_nama"
    BERAKHIR = "berakhir"  # `terkait` is the region that carries on from it, if any
    BERLAKU_LAGI = "berlaku_lagi"


class RegionChange(Base):
    """One change to the list of regions, dated and with its legal basis: the list's versions."""

    __tablename__ = "region_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    kode: Mapped[str] = mapped_column(ForeignKey("region.kode"), index=True)
    perubahan: Mapped[str] = mapped_column(String(20))  # baru, ganti_nama, berakhir, berlaku_lagi
    nama_sebelum: Mapped[str | None] = mapped_column(String(120))
    nama_sesudah: Mapped[str | None] = mapped_column(String(120))
    # the region that carries on from an ended one, or that a new one was formed from
    terkait: Mapped[str | None] = mapped_column(String(13))
    dasar: Mapped[str] = mapped_column(String(200))  # e.g. "Kepmendagri 100.1.1-6117 Tahun 2026"
    berlaku: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Population(Base):
    """Population by sex (Dukcapil, semester II 2024); `0` is Indonesia."""

    __tablename__ = "population"

    kode: Mapped[str] = mapped_column(String(13), primary_key=True)
    laki_laki: Mapped[int] = mapped_column(Integer)
    perempuan: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    periode: Mapped[str] = mapped_column(String(20), default="2024-S2")


class FormerRegionCode(Base):
    """A region code no longer in use and the region that carries on from it.

    NIKs keep the code of the kecamatan of first issue: people registered in Kalimantan Utara's
    regencies before the province was formed in 2012 hold Kalimantan Timur's `64.xx` codes.
    """

    __tablename__ = "region_former_code"

    kode_lama: Mapped[str] = mapped_column(String(13), primary_key=True)
    region_kode: Mapped[str] = mapped_column(ForeignKey("region.kode"))
    nama: Mapped[str] = mapped_column(String(120))
    sampai: Mapped[int] = mapped_column(Integer)  # the last year the code was in use
