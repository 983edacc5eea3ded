"""A spreadsheet import running in the background, with its progress and row-level report."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ImportStatus(enum.StrEnum):
    MENUNGGU = "menunggu"
    BERJALAN = "berjalan"
    SELESAI = "selesai"
    GAGAL = "gagal"


class ImportJob(Base):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    filename: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.MENUNGGU)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    runner: Mapped[str | None] = mapped_column(String(120))  # the process running it (a job run's holder)
    # The uploaded rows, kept until the scheduled import job has run them (then cleared), so that no
    # request thread carries an import and any node holding the scheduler's lease can run it.
    pending_rows: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
