"""The audit trail: append rows chained by hash, and verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.actors import Actor
from models import AuditEvent, AuditHead

GENESIS = "0" * 64
_HEAD_KEY = "sijosku_audit_head"
_READ_HEAD = select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()
_INSERT_ROW = insert(AuditEvent)
_ADVANCE_HEAD = update(AuditHead).where(AuditHead.id == 1).values(
    last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


_HASHED = ("seq", "actor", "action", "subject_type", "subject_id", "before", "after", "instance_id",
           "human_task_id", "reason", "prev_hash")


def _digest_values(values: dict[str, Any]) -> str:
    body = {name: values[name] for name in _HASHED}
    body["at"] = values["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(row: AuditEvent) -> str:
    return _digest_values({name: getattr(row, name) for name in (*_HASHED, "at")})


@dataclass
class _Head:
    seq: int
    hash: str


def _locked_head(session: Session) -> _Head:
    """The chain head, locked for the rest of the transaction (a row lock on PostgreSQL;
    SQLite's write transactions are already serialised)."""
    head = session.info.get(_HEAD_KEY)
    if head is None:
        row = session.connection().execute(_READ_HEAD).first()
        if row is None:
            raise RuntimeError("kepala rantai audit tidak ada; skema belum dimigrasikan")
        head = session.info[_HEAD_KEY] = _Head(row.last_seq, row.last_hash)
    return head


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: Any) -> None:
    # Outermost end: the lock is gone. A savepoint's end may be a rollback that took rows with it:
    # read the head again from the database next time. (A flush's own subtransaction changes nothing.)
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEAD_KEY, None)


def record(session: Session, actor: Actor, action: str, subject_type: str, subject_id: Any, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           instance_id: int | None = None, human_task_id: int | None = None,
           reason: str | None = None) -> int:
    """Append a row chained to the previous one, in the caller's transaction; returns its sequence."""
    head = _locked_head(session)
    values = {
        "seq": head.seq + 1, "at": clock.now(), "actor": actor.name, "action": action,
        "subject_type": subject_type, "subject_id": str(subject_id), "before": _canonical(before),
        "after": _canonical(after), "instance_id": instance_id, "human_task_id": human_task_id,
        "reason": reason, "prev_hash": head.hash,
    }
    values["hash"] = _digest_values(values)
    # Prebuilt Core statements: the trail is written on every change and needs no ORM bookkeeping.
    connection = session.connection()
    connection.execute(_INSERT_ROW, values)
    connection.execute(_ADVANCE_HEAD, {"new_seq": values["seq"], "new_hash": values["hash"]})
    head.seq, head.hash = values["seq"], values["hash"]
    return head.seq


@dataclass
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_chain(session: Session) -> ChainReport:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000))
    try:
        return _walk(session, rows)
    finally:
        rows.close()  # a server-side cursor on PostgreSQL: close it even when stopping early


def _walk(session: Session, rows: Any) -> ChainReport:
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for row in rows:
        if row.seq != expected_seq:
            return ChainReport(False, count, expected_seq,
                               f"baris audit {expected_seq} hilang (berikutnya yang ada: {row.seq})")
        if row.prev_hash != expected_prev:
            return ChainReport(False, count, row.seq, f"baris audit {row.seq} tidak tersambung ke baris sebelumnya")
        if _digest(row) != row.hash:
            return ChainReport(False, count, row.seq, f"isi baris audit {row.seq} telah diubah")
        expected_prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
    head = session.get(AuditHead, 1)
    if head is None or head.last_seq != count or head.last_hash != expected_prev:
        last = head.last_seq if head else "?"
        return ChainReport(False, count, count + 1,
                           f"rantai berakhir di baris {count}, tetapi kepala rantai mencatat baris {last}: "
                           "baris terakhir dihapus")
    return ChainReport(True, count, None, f"rantai audit utuh: {count} baris")


def record_many(session: Session, actor: Actor, entries: list[dict[str, Any]]) -> None:
    """Append many rows at once (bulk use cases): one chained insert and one head update.

    Each entry has `action`, `subject_type`, `subject_id` and optionally `before`, `after`,
    `instance_id`, `human_task_id`, `reason`.
    """
    if not entries:
        return
    head = _locked_head(session)
    now, rows = clock.now(), []
    for entry in entries:
        values = {
            "seq": head.seq + 1, "at": now, "actor": actor.name, "action": entry["action"],
            "subject_type": entry["subject_type"], "subject_id": str(entry["subject_id"]),
            "before": _canonical(entry.get("before")), "after": _canonical(entry.get("after")),
            "instance_id": entry.get("instance_id"), "human_task_id": entry.get("human_task_id"),
            "reason": entry.get("reason"), "prev_hash": head.hash,
        }
        values["hash"] = _digest_values(values)
        rows.append(values)
        head.seq, head.hash = values["seq"], values["hash"]
    connection = session.connection()
    connection.execute(_INSERT_ROW, rows)
    connection.execute(_ADVANCE_HEAD, {"new_seq": head.seq, "new_hash": head.hash})
