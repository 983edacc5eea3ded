"""Firing due timers: does each instance cost the same at the end of a long run as at its start?

One submission is sent up to the kecamatan (its SLA timer waits there) and its instance and inbox
row are copied until `--instances` wait with deadlines a millisecond apart, as after the scheduler
was down past a cycle's deadlines. One run then fires them all; the time per instance is taken from the first and
the last tenth of the run: a pick whose question grew with every instance fired made a long run's
end several times slower than its start (3.5x over 3,000 instances on PostgreSQL).

Usage: python bench/timers.py [--instances 2000] [--database-url URL]
The default database is a fresh SQLite file; --database-url must name an empty database.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the project root, not `bench/`

from sqlalchemy import func, insert, select

from bench.engine import make_team
from bench.fixtures import empty_database
from engine.bpmn import timers
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.verification import submissions
from models import HumanTask, ProcessInstance, TaskStatus

DESA = "65.01.01.2005"
BATCH = 2_000


def one_waiting(db: Database) -> tuple[ProcessInstance, HumanTask]:
    """A nil report of the desa sent up: its instance waits at the kecamatan with its SLA timer."""
    actors = make_team(db)
    with db.transaction() as session:
        opened = submissions.open_submission(session, Actor.system("bench"), DESA, "2026-Q4", "65").submission
        opened.nihil = True
        submission_id = opened.id
    with db.transaction() as session:
        submissions.submit(session, actors["desa"], submission_id)
    with db.read() as session:
        task = session.scalars(
            select(HumanTask).where(HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.TERBUKA)
        ).one()
        return session.get(ProcessInstance, task.instance_id), task  # type: ignore[return-value]


def copy_waiting(db: Database, instance: ProcessInstance, task: HumanTask, copies: int) -> None:
    """`copies` more instances like `instance`, each with its own inbox row (its own task id)."""
    columns = [c.key for c in ProcessInstance.__table__.columns if c.key != "id"]
    copied = {c.key: getattr(task, c.key) for c in HumanTask.__table__.columns if c.key not in ("id", "instance_id")}
    for start in range(0, copies, BATCH):
        with db.transaction() as session:
            first_id = session.scalar(select(func.max(ProcessInstance.id))) + 1
            count = min(BATCH, copies - start)
            ids = [str(uuid.uuid4()) for _ in range(count)]
            session.execute(
                insert(ProcessInstance),
                [
                    {
                        **{c: getattr(instance, c) for c in columns},
                        "id": first_id + n,
                        "business_key": f"{instance.business_key}/salinan-{start + n}",
                        "state": instance.state.replace(task.spiff_task_id, ids[n]),
                        # each its own deadline, a millisecond apart, as tasks begun at their own moments
                        "next_timer_at": instance.next_timer_at - timedelta(milliseconds=start + n + 1),
                    }
                    for n in range(count)
                ],
            )
            session.execute(
                insert(HumanTask),
                [{**copied, "instance_id": first_id + n, "spiff_task_id": ids[n]} for n in range(count)],
            )


def fire_all(db: Database, due: object, expected: int) -> list[float]:
    """Seconds each instance took in one run: from its pick to the next pick, the last one's to the run's end."""
    stamps: list[float] = []
    fire_one = timers._fire

    def stamped(*args: object) -> bool:
        stamps.append(time.perf_counter())
        return fire_one(*args)  # type: ignore[arg-type]

    timers._fire = stamped  # type: ignore[assignment]
    try:
        fired = timers.fire_due_timers(db, due + timedelta(minutes=1))  # type: ignore[operator]
        stamps.append(time.perf_counter())
    finally:
        timers._fire = fire_one  # type: ignore[assignment]
    if fired != expected:
        sys.exit(f"{fired} instans maju, {expected} diharapkan")
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "timers")
        instance, task = one_waiting(db)
        copy_waiting(db, instance, task, args.instances - 1)
        start = time.perf_counter()
        gaps = fire_all(db, task.due_at, args.instances)
        total = time.perf_counter() - start
        tenth = max(1, len(gaps) // 10)
        first, last = statistics.median(gaps[:tenth]), statistics.median(gaps[-tenth:])
        print(f"{db.engine.dialect.name}, {args.instances} instans jatuh tempo sekaligus, {platform.node()}")
        print(f"  satu putaran: {total:.1f} s ({total / args.instances * 1000:.1f} ms per instans)")
        print(f"  per instans, sepersepuluh pertama: {first * 1000:.1f} ms; terakhir: {last * 1000:.1f} ms")
        print(f"  rasio terakhir/pertama: {last / first:.2f}")


if __name__ == "__main__":
    main()
