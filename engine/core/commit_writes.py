"""On PostgreSQL, a transaction's outbox events and audit rows reach the server in two round trips
instead of four.

Every step of every instance commits with events and audit rows (see `engine.core.deferred`). On
SQLite a statement is a function call; on PostgreSQL each is a round trip to the server, and those
round trips, not the server's work, were most of a step's time. So here:
1. the events are inserted in the same statement that locks the audit head and reads it (a
   data-modifying `WITH`);
2. the audit rows are inserted in the same statement that advances the head.
Rows travel as one JSON array (`json_populate_recordset`), so each statement has one fixed shape
that PostgreSQL prepares once, whatever the number of rows. The rows, their order, the lock order
(events, then the head, last) and the chain are exactly those of the portable writers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from engine.core import audit, events
from models.base import UTCDateTime

_EVENT_COLUMNS = ("event_type", "payload", "created_at", "delivered_at", "attempts", "human_task_id")
_AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "instance_id",
    "human_task_id",
    "reason",
    "prev_hash",
    "hash",
)
_HEAD = "SELECT last_seq, last_hash, last_at FROM audit_head WHERE id = 1 FOR UPDATE"


def _insert(table: str, columns: tuple[str, ...], param: str) -> str:
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} "
        f"FROM json_populate_recordset(NULL::{table}, CAST(:{param} AS json))"
    )


_HEAD_TYPES: dict[str, TypeEngine[Any]] = {"last_seq": BigInteger(), "last_hash": String(), "last_at": UTCDateTime()}
_READ_HEAD = text(_HEAD).columns(**_HEAD_TYPES)
_QUEUE_AND_READ_HEAD = text(f"WITH queued AS ({_insert('outbox_event', _EVENT_COLUMNS, 'events')}) {_HEAD}").columns(
    **_HEAD_TYPES
)
_APPEND_AND_ADVANCE = text(
    f"WITH appended AS ({_insert('audit_event', _AUDIT_COLUMNS, 'rows')}) "
    "UPDATE audit_head SET last_seq = :new_seq, last_hash = :new_hash, last_at = :new_at WHERE id = 1"
).bindparams(bindparam("new_at", type_=UTCDateTime()))


def _plain(value: Any) -> Any:
    """Times as the columns store them (naive UTC, microseconds kept)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


def _json(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    return json.dumps([{name: _plain(row[name]) for name in columns} for row in rows], ensure_ascii=False)


def write_postgresql(session: Session, buffers: dict[str, list[Any]]) -> None:
    """The deferred writer of both buffers on PostgreSQL (see the module's comment)."""
    queued, entries = buffers.get(events.PENDING), buffers.get(audit.PENDING)
    connection = session.connection()
    if not entries:
        if queued:
            events.write_pending(session, queued)
        return
    if queued:
        head = connection.execute(_QUEUE_AND_READ_HEAD, {"events": _json(queued, _EVENT_COLUMNS)}).first()
    else:
        head = connection.execute(_READ_HEAD).first()
    chained = audit.chain(head, entries)
    appended = {"rows": _json(chained.rows, _AUDIT_COLUMNS)}
    connection.execute(
        _APPEND_AND_ADVANCE, {**appended, "new_seq": chained.seq, "new_hash": chained.hash, "new_at": chained.at}
    )
