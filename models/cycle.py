"""Update cycles, the scheduler's job runs, and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class CycleRhythm(Base):
    """How often the province updates its data, and when each tier's work is due (days after opening)."""

    __tablename__ = "cycle_rhythm"

    id: Mapped[int] = mapped_column(primary_key=True)
    ritme: Mapped[str] = mapped_column(String(10), default="triwulan")  # triwulan or semester
    hari_buka: Mapped[int] = mapped_column(Integer, default=1)  # day of the period's first month
    batas_desa: Mapped[int] = mapped_column(Integer, default=30)
    batas_kecamatan: Mapped[int] = mapped_column(Integer, default=45)
    batas_kabupaten: Mapped[int] = mapped_column(Integer, default=60)
    batas_provinsi: Mapped[int] = mapped_column(Integer, default=75)
    pengingat_hari: Mapped[int] = mapped_column(Integer, default=3)  # remind this many days before a deadline


class Cycle(Base):
    __tablename__ = "update_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    periode: Mapped[str] = mapped_column(String(10), unique=True)
    wilayah: Mapped[str] = mapped_column(String(13))
    status: Mapped[str] = mapped_column(String(10), default="dibuka")  # dibuka, ditutup
    batas: Mapped[dict[str, Any]] = mapped_column(JSON)  # tier -> deadline (ISO, UTC)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    expected: Mapped[int] = mapped_column(Integer, default=0)


class JobRun(Base):
    """One run of a scheduled job: taken under a lease so that, with several nodes, it runs once."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_id", "run_key", name="uq_job_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(60), index=True)
    run_key: Mapped[str] = mapped_column(String(40))
    holder: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10))  # berjalan, selesai, gagal
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    message: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    judul: Mapped[str] = mapped_column(String(200))
    isi: Mapped[str] = mapped_column(Text)
    tautan: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class EmailMessage(Base):
    """An email waiting to go out (or sent, or failed): delivered after commit, with retries."""

    __tablename__ = "email_message"
    __table_args__ = (Index("ix_email_message_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10), default="segera")  # segera or ringkasan (daily digest)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(Base):
    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "event_type", "channel", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # app, email, ringkasan
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class SchedulerJob(Base):
    """APScheduler's SQLAlchemy job store table, kept under Alembic like every other table."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
