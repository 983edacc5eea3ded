"""PPKS records and their append-only versions.

The record row holds the current values (for search and counting); every change is a new
`RecordVersion` that keeps the values, the change from the previous version, who made it,
from which source and in which process task. Versions are never updated or deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

from .base import Base, utcnow


class RecordStatus(enum.StrEnum):
    AKTIF = "aktif"
    DIHAPUS = "dihapus"  # no longer in need, died, moved away: kept for history


class Source(enum.StrEnum):
    IMPORT = "import"
    FORM = "form"
    TASK = "task"
    API = "api"
    VERVAL = "verval"  # a record re-verified by its desa in a period: found as it stood, corrected or removed
    WILAYAH = "wilayah"  # its desa ended and the register moved to the desa that carries on from it


class Record(Base):
    __tablename__ = "ppks_record"
    __table_args__ = (
        Index("ix_ppks_record_desa_kategori", "kode_desa", "kategori"),
        Index("ix_ppks_record_nik", "nik"),
        Index("ix_ppks_record_no_kk", "no_kk"),  # a DTSEN resident looked up by family card
        # a region's records by the prefix of their desa's code (`kode_desa LIKE '65.01.%'`)
        Index("ix_ppks_record_desa_pola", "kode_desa", postgresql_ops={"kode_desa": "varchar_pattern_ops"}).ddl_if(
            dialect="postgresql"
        ),
        # a person on another desa's register keyed with one NIK digit wrong (`duplicates.slipped_elsewhere`)
        Index("ix_ppks_record_lahir_nik_awal", "tanggal_lahir", text("substr(nik, 1, 8)")),
        Index("ix_ppks_record_lahir_nik_akhir", "tanggal_lahir", text("substr(nik, 9, 8)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kode_desa: Mapped[str] = mapped_column(ForeignKey("region.kode"))
    kategori: Mapped[str] = mapped_column(ForeignKey("category.kode"))
    nik: Mapped[str | None] = mapped_column(String(16))
    no_kk: Mapped[str | None] = mapped_column(String(16))
    nama: Mapped[str] = mapped_column(String(160))
    jenis_kelamin: Mapped[str | None] = mapped_column(String(1))
    tanggal_lahir: Mapped[date | None] = mapped_column(Date)
    alamat: Mapped[str] = mapped_column(Text, default="")
    keterangan: Mapped[str] = mapped_column(Text, default="")
    atribut: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[RecordStatus] = mapped_column(
        Enum(RecordStatus, native_enum=False, length=10), default=RecordStatus.AKTIF
    )
    versi: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordVersion(Base):
    __tablename__ = "ppks_record_version"
    __table_args__ = (
        UniqueConstraint("record_id", "versi", name="uq_record_version"),
        # a record found by a NIK it carried before a correction (`ids_by_nik`), each database's JSON
        # written as `NikHeld` writes it in a query, so the query reads the index
        Index("ix_ppks_record_version_nik", text("(nilai ->> 'nik')")).ddl_if(dialect="postgresql"),
        Index("ix_ppks_record_version_nik_json", text("json_extract(nilai, '$.nik')")).ddl_if(dialect="sqlite"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("ppks_record.id"), index=True)
    versi: Mapped[int] = mapped_column(Integer)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("ppks_record_version.id"))
    nilai: Mapped[dict[str, Any]] = mapped_column(JSON)
    perubahan: Mapped[dict[str, Any]] = mapped_column(JSON)  # field -> [before, after]
    status: Mapped[RecordStatus] = mapped_column(Enum(RecordStatus, native_enum=False, length=10))
    actor: Mapped[str] = mapped_column(String(80))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    source: Mapped[Source] = mapped_column(Enum(Source, native_enum=False, length=10))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("submission_item.id"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NikHeld(FunctionElement[str]):
    """The NIK a record version carried, as each database's index on it is built (a JSON path bound
    as a parameter would not be read through the index)."""

    type = String()
    inherit_cache = True
    name = "nik_held"


@compiles(NikHeld)
def _nik_held(element: NikHeld, compiler: Any, **kw: Any) -> str:
    return "(ppks_record_version.nilai ->> 'nik')"


@compiles(NikHeld, "sqlite")
def _nik_held_sqlite(element: NikHeld, compiler: Any, **kw: Any) -> str:
    return "json_extract(ppks_record_version.nilai, '$.nik')"


def ids_by_nik(nik: str) -> Select[tuple[int]]:
    """The records that carry this NIK, or carried it before a correction: two index reads joined
    (one condition with OR would read the whole table of records on PostgreSQL)."""
    now = select(Record.id).where(Record.nik == nik)
    return now.union(select(RecordVersion.record_id).where(NikHeld() == nik))  # type: ignore[return-value]
