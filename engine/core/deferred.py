"""Rows a transaction writes only as it commits: its outbox events, then its audit rows.

The audit chain has one head row that every writer must lock. Taken in the middle of a use case,
it was held while the use case went on to lock tasks and instances, so two bulk claims in
different orders deadlocked on it. Buffered here and written at commit, after every other lock of
the transaction, the head is the last lock taken and is held only for the commit itself: a fixed
lock order, and no deadlock through it.

A savepoint that rolls back drops what it buffered; a rolled-back transaction drops everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

_KEY = "sijosku_deferred"
Writer = tuple[str, Callable[[Session, list[Any]], None]]


@dataclass
class _Buffers:
    rows: dict[str, list[Any]] = field(default_factory=dict)
    marks: dict[int, dict[str, int]] = field(default_factory=dict)  # savepoint -> lengths when it began


def _buffers(session: Session) -> _Buffers:
    found = session.info.get(_KEY)
    if found is None:
        found = session.info[_KEY] = _Buffers()
    return found


def add(session: Session, name: str, row: Any) -> None:
    """Buffer `row` for the writer `name`, to be written when the transaction commits."""
    _buffers(session).rows.setdefault(name, []).append(row)


def pending(session: Session, name: str) -> list[Any]:
    """What is buffered for `name` so far (the caller must not change it)."""
    found = session.info.get(_KEY)
    return list(found.rows.get(name, [])) if found else []


def _savepoint_began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        buffers = _buffers(session)
        buffers.marks[id(transaction)] = {name: len(rows) for name, rows in buffers.rows.items()}


def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    buffers = session.info.get(_KEY)
    if buffers is None:
        return
    if transaction.parent is None:
        session.info.pop(_KEY, None)
        return
    if not transaction.nested:
        return  # a flush's own subtransaction: its savepoint or transaction decides
    mark = buffers.marks.pop(id(transaction), {})
    for name, rows in buffers.rows.items():
        del rows[mark.get(name, 0) :]


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def install(
    sessions: sessionmaker[Session],
    writers: Sequence[Writer],
    together: Callable[[Session, dict[str, list[Any]]], None] | None = None,
) -> None:
    """Write the buffers of every session of `sessions` at commit, by `writers` in their order, or by
    `together`, which writes all buffers at once (the same rows in fewer round trips)."""

    def write_all(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint's rows wait for the transaction's own commit
        buffers = session.info.get(_KEY)
        if buffers is None or not any(buffers.rows.values()):
            return
        session.flush()  # the use case's own rows and locks come first
        if together is not None:
            rows, buffers.rows = buffers.rows, {}
            together(session, rows)
            return
        for name, write in writers:
            rows = buffers.rows.pop(name, None)
            if rows:
                write(session, rows)

    event.listen(sessions, "after_transaction_create", _savepoint_began)
    event.listen(sessions, "after_soft_rollback", _rolled_back)
    event.listen(sessions, "after_transaction_end", _ended)
    event.listen(sessions, "before_commit", write_all)
