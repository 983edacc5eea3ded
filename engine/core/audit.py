"""The audit trail: append rows chained by hash, and verify the chain.

Every action is one `AuditAction`, named SUBJECT_VERB in the past tense.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.core import clock, deferred
from engine.core.actors import Actor
from engine.core.errors import Invalid, phrase
from models import AuditEvent, AuditHead


class AuditAction(enum.StrEnum):
    USER_CREATED = "USER_CREATED"
    USER_PASSWORD_SET = "USER_PASSWORD_SET"
    USER_PASSWORD_CHANGED = "USER_PASSWORD_CHANGED"
    USER_LOGGED_IN = "USER_LOGGED_IN"
    USER_SIGN_IN_FAILED = "USER_SIGN_IN_FAILED"
    USER_ACTIVATED = "USER_ACTIVATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_LOGGED_OUT = "USER_LOGGED_OUT"
    USER_UNLOCKED = "USER_UNLOCKED"
    USER_EMAIL_SET = "USER_EMAIL_SET"
    ROLE_ASSIGNED = "ROLE_ASSIGNED"
    ROLE_REMOVED = "ROLE_REMOVED"
    DEFINITION_DEPLOYED = "DEFINITION_DEPLOYED"
    DEFINITION_ACTIVATED = "DEFINITION_ACTIVATED"
    INSTANCE_MIGRATED = "INSTANCE_MIGRATED"
    INSTANCE_RETRIED = "INSTANCE_RETRIED"
    SUBMISSION_OPENED = "SUBMISSION_OPENED"
    SUBMISSION_IMPORTED = "SUBMISSION_IMPORTED"
    SUBMISSION_CHECK_FAILED = "SUBMISSION_CHECK_FAILED"
    SUBMISSION_RETURNED = "SUBMISSION_RETURNED"
    SUBMISSION_VERIFIED = "SUBMISSION_VERIFIED"
    SUBMISSION_NOT_REPORTED = "SUBMISSION_NOT_REPORTED"
    ITEM_ADDED = "ITEM_ADDED"
    ITEM_UPDATED = "ITEM_UPDATED"
    ITEM_DELETED = "ITEM_DELETED"
    ITEM_REMOVAL_PROPOSED = "ITEM_REMOVAL_PROPOSED"
    ITEM_VERVAL_SET = "ITEM_VERVAL_SET"
    ITEM_DISCARDED = "ITEM_DISCARDED"
    ITEM_RESTORED = "ITEM_RESTORED"
    SUBMISSION_DECLARED = "SUBMISSION_DECLARED"
    MINUTES_ATTACHED = "MINUTES_ATTACHED"
    TASK_CLAIMED = "TASK_CLAIMED"
    TASK_UNCLAIMED = "TASK_UNCLAIMED"
    TASK_RELEASED = "TASK_RELEASED"
    VERDICTS_SAVED = "VERDICTS_SAVED"
    TASK_COMPLETED = "TASK_COMPLETED"
    TASK_OVERDUE = "TASK_OVERDUE"
    TIMER_FAILED = "TIMER_FAILED"
    RECORD_CREATED = "RECORD_CREATED"
    RECORD_UPDATED = "RECORD_UPDATED"
    RECORD_REMOVED = "RECORD_REMOVED"
    RECORD_REVERIFIED = "RECORD_REVERIFIED"
    RECORD_MOVED = "RECORD_MOVED"
    REGIONS_UPDATED = "REGIONS_UPDATED"
    NIK_VIEWED = "NIK_VIEWED"
    NIK_SEARCHED = "NIK_SEARCHED"
    RECORDS_DISCLOSED = "RECORDS_DISCLOSED"  # records read by an agency's token, masked: which people went where
    TRAIL_VIEWED = "TRAIL_VIEWED"
    TRAIL_EXPORTED = "TRAIL_EXPORTED"
    FLAG_ACKNOWLEDGED = "FLAG_ACKNOWLEDGED"
    FLAG_EXPLAINED = "FLAG_EXPLAINED"
    FLAG_CLOSED = "FLAG_CLOSED"
    FLAG_REOPENED = "FLAG_REOPENED"
    FILTER_SAVED = "FILTER_SAVED"
    QUALITY_THRESHOLD_SET = "QUALITY_THRESHOLD_SET"
    BASELINE_IMPORTED = "BASELINE_IMPORTED"
    AGENCY_FIGURES_IMPORTED = "AGENCY_FIGURES_IMPORTED"
    AGENCY_FIGURES_CONFIRMED = "AGENCY_FIGURES_CONFIRMED"  # sent again, every figure as it stood
    AGENCY_FIGURES_WITHDRAWN = "AGENCY_FIGURES_WITHDRAWN"
    AGENCY_UPLOAD_UNDONE = "AGENCY_UPLOAD_UNDONE"
    FIGURES_SNAPSHOT_TAKEN = "FIGURES_SNAPSHOT_TAKEN"
    CYCLE_OPENED = "CYCLE_OPENED"
    CYCLE_CLOSED = "CYCLE_CLOSED"
    CYCLE_RHYTHM_SET = "CYCLE_RHYTHM_SET"
    TOKEN_CREATED = "TOKEN_CREATED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    TOKEN_MOVED = "TOKEN_MOVED"
    NIK_CHECKED = "NIK_CHECKED"
    DTSEN_IMPORTED = "DTSEN_IMPORTED"
    INSTANCE_STATE_PRUNED = "INSTANCE_STATE_PRUNED"
    RECONCILIATION_OPENED = "RECONCILIATION_OPENED"
    EXPLANATION_ACCEPTED = "EXPLANATION_ACCEPTED"
    EXPLANATION_RETURNED = "EXPLANATION_RETURNED"
    DETERMINATION_REFUSED = "DETERMINATION_REFUSED"
    DETERMINATION_APPROVED = "DETERMINATION_APPROVED"
    DETERMINATION_EXPORTED = "DETERMINATION_EXPORTED"
    AGENCY_INDICATOR_SET = "AGENCY_INDICATOR_SET"


GENESIS = "0" * 64
PENDING = "audit"  # the deferred writer's name: audit rows are written last, as the transaction commits
_READ_HEAD = (
    select(AuditHead.last_seq, AuditHead.last_hash, AuditHead.last_at).where(AuditHead.id == 1).with_for_update()
)
_INSERT_ROW = insert(AuditEvent)
_ADVANCE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"), last_at=bindparam("new_at"))
)


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


_HASHED = (
    "seq",
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
)


def _digest_values(values: dict[str, Any]) -> str:
    body = {name: values[name] for name in _HASHED}
    body["at"] = values["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(row: AuditEvent) -> str:
    return _digest_values({name: getattr(row, name) for name in (*_HASHED, "at")})


# Changes to accounts and tokens carry the address they were made from, as sign-ins do: who made an
# account or set a password, from where, is what a security review asks first.
WITH_ADDRESS = frozenset(
    {
        AuditAction.USER_CREATED,
        AuditAction.USER_PASSWORD_SET,
        AuditAction.USER_PASSWORD_CHANGED,
        AuditAction.USER_ACTIVATED,
        AuditAction.USER_DEACTIVATED,
        AuditAction.USER_LOGGED_OUT,
        AuditAction.USER_UNLOCKED,
        AuditAction.USER_EMAIL_SET,
        AuditAction.ROLE_ASSIGNED,
        AuditAction.ROLE_REMOVED,
        AuditAction.TOKEN_CREATED,
        AuditAction.TOKEN_REVOKED,
    }
)


def _after(actor: Actor, entry: dict[str, Any]) -> Any:
    after = entry.get("after")
    if actor.address and entry["action"] in WITH_ADDRESS:
        return {**(after or {}), "address": actor.address}
    return after


def _entry(actor: Actor, at: datetime, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor.name,
        "action": entry["action"],
        "subject_type": entry["subject_type"],
        "subject_id": str(entry["subject_id"]),
        "before": _canonical(entry.get("before")),
        "after": _canonical(_after(actor, entry)),
        "instance_id": entry.get("instance_id"),
        "human_task_id": entry.get("human_task_id"),
        "reason": entry.get("reason"),
    }


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject_type: str,
    subject_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    instance_id: int | None = None,
    human_task_id: int | None = None,
    reason: str | None = None,
) -> None:
    """Append a row to the chain as the caller's transaction commits (see `engine.core.deferred`)."""
    entry = {
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": before,
        "after": after,
        "instance_id": instance_id,
        "human_task_id": human_task_id,
        "reason": reason,
    }
    deferred.add(session, PENDING, _entry(actor, clock.now(), entry))


def record_many(session: Session, actor: Actor, entries: list[dict[str, Any]]) -> None:
    """Append many rows at once (bulk use cases).

    Each entry has `action` (an `AuditAction`), `subject_type`, `subject_id` and optionally `before`, `after`,
    `instance_id`, `human_task_id`, `reason`.
    """
    now = clock.now()
    for entry in entries:
        deferred.add(session, PENDING, _entry(actor, now, entry))


@dataclass
class Chained:
    """A transaction's audit rows chained to the head: the rows, and the head's new values."""

    rows: list[dict[str, Any]]
    seq: int
    hash: str
    at: datetime | None


def chain(head: Any, entries: list[dict[str, Any]]) -> Chained:
    """Number, date and hash `entries` after the head row (`last_seq`, `last_hash`, `last_at`).

    Times never run backwards along the chain: after the clock was set back, a row keeps the time
    of the row before it rather than its own earlier one.
    """
    if head is None:
        raise RuntimeError("kepala rantai audit tidak ada; skema belum dimigrasikan")
    seq, prev_hash, last_at = head.last_seq, head.last_hash, head.last_at
    rows = []
    for entry in entries:
        at = entry["at"] if last_at is None or entry["at"] >= last_at else last_at
        seq += 1
        values = {**entry, "seq": seq, "at": at, "prev_hash": prev_hash}
        values["hash"] = prev_hash = _digest_values(values)
        last_at = at
        rows.append(values)
    return Chained(rows, seq, prev_hash, last_at)


def write_pending(session: Session, entries: list[dict[str, Any]]) -> None:
    """The deferred writer: lock the head, chain the transaction's rows to it, advance it."""
    connection = session.connection()
    chained = chain(connection.execute(_READ_HEAD).first(), entries)
    connection.execute(_INSERT_ROW, chained.rows[0] if len(chained.rows) == 1 else chained.rows)
    connection.execute(_ADVANCE_HEAD, {"new_seq": chained.seq, "new_hash": chained.hash, "new_at": chained.at})


@dataclass
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    message: str = ""
    head_hash: str | None = None  # the last row's hash: what to publish elsewhere, and check against later
    done: bool = True  # false: a slice of the check stopped at its limit before the head (`rows`, `head_hash`)
    of: int = 0  # with `done` false, the rows the head records: how far the check has to go

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Published:
    """A head published earlier (row `seq` had `hash`): a chain rewritten since, its hashes all
    recomputed, no longer passes through it."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Published:
        seq, _, digest = text.strip().partition(":")
        digest = digest.lower()  # a head printed or read aloud in capitals is the same head
        if not (seq.isascii() and seq.isdigit() and len(seq) <= 12 and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise Invalid(
                "Kepala rantai yang diterbitkan ditulis BARIS:HASH, mis. 1200:3f5a… (hash 64 huruf heksadesimal)"
            )
        return cls(int(seq), digest)


def verify_chain(
    session: Session, published: Published | None = None, since: Published | None = None, limit: int | None = None
) -> ChainReport:
    """The chain checked from its first row, or on from a row an earlier slice of the same check
    verified (`since`), to its head; with `limit`, at most that many rows, the report saying whether
    it reached the head (`done`) so the check goes on from `head_hash` in a later slice."""
    start = since or Published(0, GENESIS)
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > start.seq).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    )
    try:
        report = _walk(session, rows, published, start, limit)
    finally:
        rows.close()  # a server-side cursor on PostgreSQL: close it even when stopping early
    if report.done and report.ok and published is not None and published.seq > report.rows:
        return ChainReport(
            False, report.rows, published.seq, f"baris audit {published.seq} yang kepalanya diterbitkan tidak ada lagi"
        )
    return report


def _broken(row: Any, expected_seq: int, expected_prev: str, published: Published | None) -> str | None:
    """What is wrong with the row the chain expects next, if anything."""
    if row.seq != expected_seq:
        return phrase(f"baris audit {expected_seq} hilang (berikutnya yang ada: {row.seq})")
    if row.prev_hash != expected_prev:
        return phrase(f"baris audit {row.seq} tidak tersambung ke baris sebelumnya")
    if _digest(row) != row.hash:
        return phrase(f"isi baris audit {row.seq} telah diubah")
    if published is not None and row.seq == published.seq and row.hash != published.hash:
        return phrase(
            f"baris audit {row.seq} tidak sama dengan kepala yang diterbitkan: rantai sampai di situ ditulis ulang"
        )
    return None


def _walk(session: Session, rows: Any, published: Published | None, start: Published, limit: int | None) -> ChainReport:
    expected_prev, count = start.hash, start.seq
    for row in rows:
        if limit is not None and count - start.seq >= limit:
            head = session.get(AuditHead, 1)
            message = phrase(f"{count} baris audit utuh sejauh ini")
            return ChainReport(True, count, None, message, expected_prev, done=False, of=head.last_seq if head else 0)
        wrong = _broken(row, count + 1, expected_prev, published)
        if wrong:
            return ChainReport(False, count, count + 1, wrong)
        expected_prev, count = row.hash, count + 1
    head = session.get(AuditHead, 1)
    if head is not None and head.last_seq == count and head.last_hash != expected_prev:
        # the last row rewritten with a hash of its own: the head still names the row it wrote
        return ChainReport(False, count, count, f"baris audit {count} tidak sama dengan kepala rantai: ditulis ulang")
    if head is not None and head.last_seq < count:
        # rows chained on past the head were written around the writer, which always advances it
        added = head.last_seq + 1
        message = phrase(f"baris audit {added} ditambahkan di luar pencatat: kepala rantai mencatat baris {added - 1}")
        return ChainReport(False, count, added, message)
    if head is None or head.last_seq != count:
        last = head.last_seq if head else "?"
        return ChainReport(
            False,
            count,
            count + 1,
            f"rantai berakhir di baris {count}, tetapi kepala rantai mencatat baris {last}: baris terakhir dihapus",
        )
    return ChainReport(True, count, None, f"rantai audit utuh: {count} baris", head_hash=expected_prev)
