"""The bell: unread notifications, the list, marking them read."""

from __future__ import annotations

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from engine.core import clock, rows
from models import Notification


def unread_query(user_id: int) -> Select[int]:
    """How many of the person's notifications are unread, as a query (the page header asks it
    together with other figures)."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.di_aplikasi.is_(True), Notification.read_at.is_(None))
    )


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(unread_query(user_id)) or 0


def latest(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.di_aplikasi.is_(True))
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.di_aplikasi.is_(True), Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return rows.affected(session.execute(query.values(read_at=clock.now())))
