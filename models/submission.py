"""A desa's submission for one period, its items and each tier's verdict on them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .region import Tier


class SubmissionStatus(enum.StrEnum):
    DRAF = "draf"  # the operator is preparing it
    DIAJUKAN = "diajukan"  # in verification at `tingkat`
    DIKEMBALIKAN = "dikembalikan"  # sent back to the operator with a reason
    TERVERIFIKASI = "terverifikasi"  # applied to the records
    TIDAK_MELAPOR = "tidak_melapor"  # closed without a submission: never a silent zero


class ItemAction(enum.StrEnum):
    TAMBAH = "tambah"
    UBAH = "ubah"
    HAPUS = "hapus"
    PERIKSA = "periksa"  # a record of the standing register, re-verified this period unchanged


class VervalStatus(enum.StrEnum):
    """What the operator found when re-verifying a record of the register (verifikasi dan validasi)."""

    LAYAK = "layak"  # ditemukan, masih layak
    TIDAK_LAYAK = "tidak_layak"  # ditemukan, tidak layak lagi
    MENINGGAL = "meninggal"
    PINDAH = "pindah"
    TIDAK_DITEMUKAN = "tidak_ditemukan"
    GANDA = "ganda"  # the same entry twice on the register


class Verdict(enum.StrEnum):
    SESUAI = "sesuai"
    TIDAK_SESUAI = "tidak_sesuai"


class Submission(Base):
    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("kode_desa", "periode", name="uq_submission_desa_periode"),
        # a region's submissions in a period by the prefix of their desa's code
        Index(
            "ix_submission_periode_desa_pola",
            "periode",
            "kode_desa",
            postgresql_ops={"kode_desa": "varchar_pattern_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kode_desa: Mapped[str] = mapped_column(ForeignKey("region.kode"), index=True)
    periode: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[SubmissionStatus] = mapped_column(
        Enum(SubmissionStatus, native_enum=False, length=14), default=SubmissionStatus.DRAF
    )
    tingkat: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=10), default=Tier.DESA)  # where it is
    putaran: Mapped[int] = mapped_column(Integer, default=0)  # how many times it was submitted
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column()
    alasan_terakhir: Mapped[str | None] = mapped_column(Text)  # the last return's reason
    berita_acara: Mapped[str | None] = mapped_column(String(300))  # attachment reference
    # the desa has no PPKS at all this period: an explicit report, never an empty submission
    nihil: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the operator's statement, with its reason, that the register could not be re-verified
    tidak_diperiksa: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemSource(enum.StrEnum):
    """Where a submission's item came from."""

    IMPORT = "import"  # a row of an uploaded file
    FORM = "form"  # typed on the item form
    API = "api"  # sent by a desa application through the API
    REGISTER = "register"  # a register record carried into the period, to be re-verified


# the register items a submission carries and how many have a status: counted per submission for
# every progress page, read from the index alone instead of every period's items
_CARRIED = text(f"source = '{ItemSource.REGISTER}' AND dibuang IS false")
_CARRIED_SQLITE = text(f"source = '{ItemSource.REGISTER}' AND dibuang IS 0")  # as SQLite is asked: it matches the text


class SubmissionItem(Base):
    __tablename__ = "submission_item"
    __table_args__ = (
        # a submission's items in order: a page of those still unchecked does not walk every item of
        # every submission when none is left
        Index("ix_submission_item_submission_id_id", "submission_id", "id"),
        Index(
            "ix_submission_item_carried",
            "submission_id",
            "verval",
            postgresql_where=_CARRIED,
            sqlite_where=_CARRIED_SQLITE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    aksi: Mapped[ItemAction] = mapped_column(Enum(ItemAction, native_enum=False, length=8))
    # indexed: whether a record is being taken off a register in work (`ganda.removal_in_work`)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("ppks_record.id"), index=True)
    kategori: Mapped[str] = mapped_column(ForeignKey("category.kode"))
    nik: Mapped[str | None] = mapped_column(String(16), index=True)
    no_kk: Mapped[str | None] = mapped_column(String(16), index=True)  # a family's key in per-family categories
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # a register record's re-verification: its status and, unless still eligible, the reason
    verval: Mapped[VervalStatus | None] = mapped_column(Enum(VervalStatus, native_enum=False, length=16))
    verval_alasan: Mapped[str | None] = mapped_column(Text)
    dibuang: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # undone while a draft
    source: Mapped[str] = mapped_column(String(10), default=ItemSource.IMPORT)  # an `ItemSource`
    baris: Mapped[int | None] = mapped_column(Integer)  # row in the imported file
    masalah: Mapped[list[Any]] = mapped_column(JSON, default=list)  # automatic-check findings
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemVerdict(Base):
    __tablename__ = "item_verdict"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("submission_item.id"), index=True)
    tingkat: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=10))
    putaran: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[Verdict] = mapped_column(Enum(Verdict, native_enum=False, length=12))
    alasan: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
