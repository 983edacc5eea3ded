"""Domain events: one dataclass per event, written to the outbox with their cause and delivered to
subscribers after commit.

The catalogue below is the one place where an event's name and fields are spelled; subscribers
(notifications, later integrations) receive these objects, never loose dictionaries. A subscriber
that fails never undoes the change: the event stays undelivered with its error and is tried again
by `deliver_pending`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from engine.core import clock, deferred
from engine.core.registry import registry_of
from models import OutboxEvent

log = logging.getLogger(__name__)

PUBLISHED_KEY = "sijosku_published"
PENDING = "outbox"  # the deferred writer's name: events are written as the transaction commits
MAX_ATTEMPTS = 5
_INSERT_EVENT = insert(OutboxEvent)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened in the domain; `name` is how the outbox stores its kind."""

    name: ClassVar[str]

    @property
    def human_task_id(self) -> int | None:
        return getattr(self, "task_id", None)

    def payload(self) -> dict[str, Any]:
        # Fields are plain values: a shallow copy is the payload (asdict's deep copy costs on every step).
        return dict(self.__dict__)


@dataclass(frozen=True, kw_only=True)
class TaskCreated(DomainEvent):
    name: ClassVar[str] = "task.created"
    task_id: int
    nama: str
    tingkat: str
    region_kode: str
    kode_desa: str | None = None
    periode: str = ""
    due_at: str | None = None
    submission_id: int | None = None
    peran: str | None = None  # the role a `tier:role` lane names; none: the tier's working role
    diumumkan: bool = False  # its people are told by an announcement of its own (a cycle's opening)


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(DomainEvent):
    name: ClassVar[str] = "task.completed"
    task_id: int
    keputusan: str
    tingkat: str


@dataclass(frozen=True, kw_only=True)
class TaskDueSoon(DomainEvent):
    name: ClassVar[str] = "task.due_soon"
    task_id: int
    nama: str
    tingkat: str
    region_kode: str
    kode_desa: str | None = None
    periode: str = ""
    due_at: str | None = None
    submission_id: int | None = None  # the desa's submission, where the task works one
    peran: str | None = None  # the role a `tier:role` lane names; none: the tier's working role


@dataclass(frozen=True, kw_only=True)
class TaskOverdue(DomainEvent):
    name: ClassVar[str] = "task.overdue"
    task_id: int
    nama: str
    tingkat: str
    region_kode: str
    eskalasi_ke: str
    kode_desa: str | None = None
    periode: str = ""
    due_at: str | None = None
    submission_id: int | None = None  # the desa's submission, where the task works one
    peran: str | None = None  # the role a `tier:role` lane names; none: the tier's working role


@dataclass(frozen=True, kw_only=True)
class SubmissionSubmitted(DomainEvent):
    name: ClassVar[str] = "submission.submitted"
    submission_id: int
    kode_desa: str
    periode: str
    putaran: int


@dataclass(frozen=True, kw_only=True)
class SubmissionReturned(DomainEvent):
    name: ClassVar[str] = "submission.returned"
    submission_id: int
    kode_desa: str
    periode: str
    tingkat: str
    alasan: str | None = None


@dataclass(frozen=True, kw_only=True)
class SubmissionVerified(DomainEvent):
    name: ClassVar[str] = "submission.verified"
    submission_id: int
    kode_desa: str
    periode: str
    items: int = 0


@dataclass(frozen=True, kw_only=True)
class SubmissionBroughtUpToDate(DomainEvent):
    """Another period's approval changed this submission still in work (`verification.in_work`):
    its copies of people the register let go set aside, values it corrected carried in, its entries
    of people it added now re-verifying their records."""

    name: ClassVar[str] = "submission.brought_up_to_date"
    submission_id: int
    kode_desa: str
    periode: str
    oleh_periode: str  # the period whose approval changed it
    disisihkan: int = 0
    diperbarui: int = 0
    ditautkan: int = 0
    ditandai: int = 0  # entries of people it took off the register, now warned (`pernah_dihapus`)
    tingkat: str = "desa"  # where it waits: with its desa, or the tier judging it
    task_id: int | None = None  # that tier's open task


@dataclass(frozen=True, kw_only=True)
class CycleOpened(DomainEvent):
    name: ClassVar[str] = "cycle.opened"
    periode: str
    region_kode: str
    dibuka: int = 0
    batas: str | None = None  # the desa's deadline
    # regions within this one whose opening was announced before: their operators are not told again
    sudah: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CycleClosingSoon(DomainEvent):
    name: ClassVar[str] = "cycle.closing_soon"
    periode: str
    batas: str  # told to the operators of the desa whose submission of the period is still due


@dataclass(frozen=True, kw_only=True)
class CycleClosed(DomainEvent):
    name: ClassVar[str] = "cycle.closed"
    periode: str
    tidak_melapor: int = 0
    region_kode: str = ""  # the cycle's region; empty in events of earlier releases: everywhere


CATALOGUE: dict[str, type[DomainEvent]] = {
    cls.name: cls
    for cls in (
        TaskCreated,
        TaskCompleted,
        TaskDueSoon,
        TaskOverdue,
        SubmissionSubmitted,
        SubmissionReturned,
        SubmissionVerified,
        SubmissionBroughtUpToDate,
        CycleOpened,
        CycleClosingSoon,
        CycleClosed,
    )
}


def from_outbox(row: OutboxEvent) -> DomainEvent:
    """The stored event as its dataclass; fields an older release wrote and this one dropped are ignored."""
    cls = CATALOGUE[row.event_type]
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in dict(row.payload).items() if k in known})


def _interested(session: Session, name: str) -> bool:
    return registry_of(session).has_subscribers(name)


def publish(session: Session, event: DomainEvent) -> None:
    """Record the event with its cause. With no subscriber for it, it is kept as already delivered,
    so that a subscriber added later does not receive stale events."""
    publish_many(session, [event])


def publish_many(session: Session, batch: list[DomainEvent]) -> None:
    """Events in one statement (bulk use cases)."""
    if not batch:
        return
    now = clock.now()
    rows = []
    for event in batch:
        interested = _interested(session, event.name)
        rows.append(
            {
                "event_type": event.name,
                "payload": event.payload(),
                "created_at": now,
                "human_task_id": event.human_task_id,
                "delivered_at": None if interested else now,
                "attempts": 0,
            }
        )
        if interested:
            session.info[PUBLISHED_KEY] = True
    for row in rows:
        deferred.add(session, PENDING, row)


def write_pending(session: Session, rows: list[dict[str, Any]]) -> None:
    """The deferred writer: the transaction's events in one statement, as it commits."""
    session.connection().execute(_INSERT_EVENT, rows[0] if len(rows) == 1 else rows)


def deliver_pending(session_factory: sessionmaker[Session], limit: int = 500) -> int:
    """Hand undelivered events to their subscribers, `limit` per transaction until none are left."""
    total = 0
    for _ in range(10_000):
        delivered, seen = _deliver_batch(session_factory, limit)
        total += delivered
        if seen < limit:
            break
    return total


def _deliver_batch(session_factory: sessionmaker[Session], limit: int) -> tuple[int, int]:
    delivered = 0
    with session_factory() as session:
        registry = registry_of(session)
        pending = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.attempts < MAX_ATTEMPTS)
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in pending:
            try:
                with session.begin_nested():
                    event = from_outbox(row)
                    for subscriber in registry.subscribers_of(row.event_type):
                        subscriber(session, event)
                row.delivered_at = clock.now()
                delivered += 1
            except Exception as exc:  # a subscriber's failure is recorded, never raised
                log.exception("pengiriman peristiwa %s gagal", row.id)
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
    return delivered, len(pending)


def failures(session: Session, limit: int = 100) -> list[OutboxEvent]:
    """Events a subscriber could not take (visible to admins; retried up to five times)."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.last_error.is_not(None))
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )
