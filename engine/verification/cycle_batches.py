"""Opening many desa of a period at once, in batches, each its own transaction.

Each batch locks the period's cycle row, inserts a draft submission for each of its desa that has
none yet (the unique key (desa, period) decides), starts their processes from one template, and
fills in the register's records to re-verify. A rerun, or a second run at the same time, opens only
what is left.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.bpmn import bulk_start
from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict
from engine.core.uow import Database
from engine.verification import register
from models import Cycle, CycleStatus, Region, Submission, SubmissionStatus, Tier, contains

BATCH = 500


_LOCK = select(Cycle).where(Cycle.periode == bindparam("periode")).with_for_update()


def locked_cycle(session: Session, periode: str) -> Cycle | None:
    """The period's cycle, locked: one batch (or announcement) of one period at a time, across nodes."""
    return session.scalars(_LOCK.execution_options(populate_existing=True), {"periode": periode}).first()


def refuse_closed(cycle: Cycle | None, periode: str) -> None:
    if cycle is not None and cycle.status == CycleStatus.DITUTUP:
        raise Conflict(f"Siklus {periode} sudah ditutup; desa tidak dapat dibuka lagi di dalamnya")


def open_desa(db: Database, actor: Actor, periode: str, desa: list[str], template: bulk_start.Template) -> int:
    """Open the given desa in batches, each its own transaction; a desa opened meanwhile is skipped."""
    opened = 0
    for number, start in enumerate(range(0, len(desa), BATCH), start=1):
        with db.transaction() as s:
            # one batch of one period at a time, across nodes (when it has a cycle); closed meanwhile, no more
            cycle = locked_cycle(s, periode)
            refuse_closed(cycle, periode)
            told = list(cycle.announced or []) if cycle is not None else None
            opened += _open_many(s, actor, template, _still_in_use(s, desa[start : start + BATCH]), periode, told)
        if number & (number - 1) == 0:  # after batches 1, 2, 4, 8 …: each time the tables have doubled
            _refresh_statistics(db)
    return opened


def _still_in_use(session: Session, batch: list[str]) -> list[str]:
    """The batch's desa whose code has not ended, read once a region update in progress has finished
    (it holds the province's row): a desa it ends is not opened, and one opened first stops it."""
    if not batch:
        return batch
    province = batch[0].split(".")[0]
    session.execute(select(Region.kode).where(Region.kode == province).with_for_update(read=True))
    in_use = set(session.scalars(select(Region.kode).where(Region.kode.in_(batch), Region.berakhir.is_(None))))
    return [code for code in batch if code in in_use]


GROWN_TABLES = ("submission", "submission_item", "process_instance", "human_task", "outbox_event", "audit_event")


def _refresh_statistics(db: Database) -> None:
    """PostgreSQL's statistics of the tables a cycle fills, as after any bulk load. A national cycle
    multiplies their rows many times over in a minute, faster than autovacuum looks; plans made for
    the small tables (a foreign-key check reading the whole task table, once per new row) made each
    batch slower than the last. ANALYZE renews them and the plans cached on them. It reads a sample,
    not the tables; a database user who does not own them gets a warning, not an error."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.transaction() as s:
        s.execute(text(f"ANALYZE {', '.join(GROWN_TABLES)}"))


def _new_submissions(session: Session, desa: list[str], periode: str) -> dict[str, int]:
    """A draft submission for each desa without one for the period: desa -> its id. The unique key
    (desa, period) decides which are new. Reading them first made the planner guess: a new period
    is one its statistics have never seen, and it read every submission of the period for each
    batch, each batch slower than the last (docs/benchmarks.md)."""
    connection = session.connection()
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(Submission)
        .on_conflict_do_nothing(index_elements=["kode_desa", "periode"])
        .returning(Submission.kode_desa, Submission.id)
    )
    now = clock.now()
    values = [
        {
            "kode_desa": code,
            "periode": periode,
            "status": SubmissionStatus.DRAF,
            "tingkat": Tier.DESA,
            "putaran": 0,
            "created_at": now,
        }
        for code in desa
    ]
    return {code: sid for code, sid in connection.execute(statement, values)}


def _open_many(
    session: Session,
    actor: Actor,
    template: bulk_start.Template,
    batch: list[str],
    periode: str,
    told: list[str] | None = None,
) -> int:
    """A submission for each desa of the batch that has none yet, with its process started from the template.

    `told`: the regions whose opening the cycle has announced (None: a period without a cycle, which
    announces nothing). A desa outside them hears of its first task from the announcement to come
    (`cycle.opened`, with the deadline), so the task itself is not told too; a desa opened later
    inside an announced region hears of it from the task."""
    created = _new_submissions(session, batch, periode) if batch else {}
    desa = [code for code in batch if code in created]
    if not desa:
        return 0
    connection = session.connection()
    submission_ids = [created[code] for code in desa]
    starts = [
        bulk_start.Start(
            code,
            periode,
            f"{code}/{periode}",
            {"kode_desa": code, "periode": periode, "submission_id": sid},
            announced=told is not None and not any(contains(region, code) for region in told),
        )
        for code, sid in zip(desa, submission_ids, strict=True)
    ]
    instance_ids = bulk_start.start_many(session, template, starts)
    register.prefill(session, dict(zip(desa, submission_ids, strict=True)), new=True)
    connection.execute(
        update(Submission)
        .where(Submission.id == bindparam("sid"))
        .values(instance_id=bindparam("iid"))
        .execution_options(synchronize_session=False),
        [{"sid": s, "iid": i} for s, i in zip(submission_ids, instance_ids, strict=True)],
    )
    audit.record_many(
        session,
        actor,
        [
            {
                "action": AuditAction.SUBMISSION_OPENED,
                "subject_type": "submission",
                "subject_id": sid,
                "instance_id": iid,
                "after": {"kode_desa": code, "periode": periode, "massal": True},
            }
            for code, sid, iid in zip(desa, submission_ids, instance_ids, strict=True)
        ],
    )
    return len(desa)
