"""The determination (penetapan): a year's official figures, frozen.

A determination holds the figures per region × category and the record set behind them (ids and
versions), a content hash over their canonical serialisation, the decree, who approved it and when.
It is never changed afterwards: a correction is a numbered revision that names the one it
replaces, with a reason. The ORM refuses any update or delete of a stored row.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ForumVerdict(enum.StrEnum):
    """The Forum SDI's word on one discrepancy."""

    ACCEPT = "terima"  # the explanation stands
    RETURN = "kembalikan"  # back to the regency, with a reason


class Determination(Base):
    __tablename__ = "determination"
    __table_args__ = (UniqueConstraint("tahun", "revisi", name="uq_determination_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tahun: Mapped[int] = mapped_column(Integer, index=True)
    revisi: Mapped[int] = mapped_column(Integer, default=0)  # 0 the first; n the n-th revision
    region_kode: Mapped[str] = mapped_column(ForeignKey("region.kode"))  # the province
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("determination.id"))
    alasan_revisi: Mapped[str | None] = mapped_column(Text)
    nomor_sk: Mapped[str] = mapped_column(String(100))  # the decree (surat keputusan)
    tanggal_sk: Mapped[date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(80))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical content
    # {"tahun", "wilayah", "angka": [[region, kategori, nilai], ...], "catatan": [[record_id, versi], ...]}
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # what a list shows without reading the whole content (a province's record list runs to megabytes):
    # {"totals": {kategori: n, ..., "jumlah": n}, "catatan": n}, written with it; the content stays the
    # record, checked against its hash where a determination is shown whole
    ringkasan: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@event.listens_for(Determination, "before_update")
@event.listens_for(Determination, "before_delete")
def _frozen(mapper: Any, connection: Any, target: Determination) -> None:
    raise ValueError(f"penetapan {target.tahun} revisi {target.revisi} sudah dibekukan dan tidak dapat diubah")
