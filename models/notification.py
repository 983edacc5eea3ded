"""Notifications in the app, emails waiting to go out, and each person's choices."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Channel(enum.StrEnum):
    APP = "app"  # the bell
    EMAIL = "email"  # an email at once
    RINGKASAN = "ringkasan"  # the daily digest


class EmailKind(enum.StrEnum):
    SEGERA = "segera"
    RINGKASAN = "ringkasan"


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
    # False: kept only for the person's daily digest, never shown by the bell
    di_aplikasi: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


# Tries of an e-mail before it is given up (about a day: see notifications/email.py), and how the
# error of one dropped on purpose (its person left) begins: not a failure of the mail server.
EMAIL_MAX_ATTEMPTS = 30
EMAIL_NOT_SENT = "Tidak dikirim: "


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
    kind: Mapped[str] = mapped_column(String(10), default=EmailKind.SEGERA)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The short text and the link of an immediate message: several due for one person at once are
    # sent as one e-mail listing them (a calendar run can make hundreds for one verifier)
    isi: Mapped[str | None] = mapped_column(Text)
    tautan: Mapped[str | None] = mapped_column(String(300))


class NotificationPreference(Base):
    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "event_type", "channel", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
