"""Two actors on one task, two nodes on one database: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.bpmn import runtime
from engine.core.actors import Actor
from engine.core.errors import Conflict
from engine.people import users
from engine.verification import claims
from models import HumanTask, OutboxEvent, ProcessInstance, TaskStatus
from tests.factories import SYSTEM, decide_task, make_team, open_task, open_with_items, submit
from tests.integration import concurrency_worker


def _kecamatan_pair(db):
    make_team(db)
    with db.transaction() as session:
        users.add_user(session, SYSTEM, "verif.kec2", "verifier", "65.01.01")
    submission_id = open_with_items(db)
    submit(db, "op.desa", submission_id)
    return submission_id, open_task(db, submission_id, "kecamatan")


def _complete(db, username, task_id, results):
    try:
        with db.transaction() as session:
            decide_task(session, username, task_id, "approve")
        results.append("ok")
    except Conflict as exc:
        results.append(f"conflict: {exc}")


def test_two_verifiers_completing_one_task_at_once_one_wins(db):
    submission_id, task = _kecamatan_pair(db)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def worker(username):
        barrier.wait()
        _complete(db, username, task.id, results)

    threads = [threading.Thread(target=worker, args=(u,)) for u in ("verif.kec", "verif.kec2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"], results
    with db.read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.submission_id == submission_id, HumanTask.tingkat == "kabupaten")
            )
            == 1
        )


def test_a_completion_waits_for_the_instance_lock_then_reports_a_conflict(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("row locks are PostgreSQL's; SQLite serialises whole write transactions")
    submission_id, task = _kecamatan_pair(db)
    results: list[str] = []
    with db.transaction() as holder:
        runtime.load(holder, SYSTEM, task.instance_id)  # SELECT ... FOR UPDATE, held until commit
        rival = threading.Thread(target=_complete, args=(db, "verif.kec2", task.id, results))
        rival.start()
        time.sleep(0.5)
        assert rival.is_alive() and results == [], "the rival must wait for the lock"
        decide_task(holder, "verif.kec", task.id, "approve")
    rival.join(60)
    assert len(results) == 1 and results[0].startswith("conflict"), results


def test_a_stale_form_is_refused(db):
    submission_id, task = _kecamatan_pair(db)
    with db.read() as session:
        seen = session.get(ProcessInstance, task.instance_id).revision
    with db.transaction() as session:
        claims.claim(session, Actor.of(users.find_user(session, "verif.kec")), task.id)
    with db.transaction() as session:  # something else advances the instance meanwhile
        running = runtime.load(session, SYSTEM, task.instance_id)
        runtime.save(running)
    with pytest.raises(Conflict, match="usang"), db.transaction() as session:
        decide_task(session, "verif.kec", task.id, "approve", revision=seen)
    assert open_task(db, submission_id).status == TaskStatus.TERBUKA


def test_a_task_claimed_by_another_cannot_be_taken(db):
    _, task = _kecamatan_pair(db)
    with db.transaction() as session:
        claims.claim(session, Actor.of(users.find_user(session, "verif.kec")), task.id)
    with pytest.raises(Conflict, match="diklaim oleh verif.kec"), db.transaction() as session:
        decide_task(session, "verif.kec2", task.id, "approve")


def _spawn(target, args_list):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(args_list)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in args_list]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    return out


@pytest.mark.postgresql_only
def test_two_processes_complete_the_same_task_exactly_one_succeeds(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("several nodes are served by PostgreSQL")
    submission_id, task = _kecamatan_pair(db)
    url = db.engine.url.render_as_string(hide_password=False)
    out = _spawn(concurrency_worker.complete, [(url, "verif.kec", task.id), (url, "verif.kec2", task.id)])
    assert sorted(o.split(":")[0] for o in out) == ["conflict", "ok"], out
    with db.read() as session:
        done = session.scalars(select(HumanTask).where(HumanTask.id == task.id)).one()
        assert done.status == TaskStatus.SELESAI
        assert (
            session.scalar(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.submission_id == submission_id, HumanTask.tingkat == "kabupaten")
            )
            == 1
        )


@pytest.mark.postgresql_only
def test_two_processes_firing_timers_fire_each_instance_once(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("several nodes are served by PostgreSQL")
    make_team(db)
    desa = ["65.01.01.2005", "65.01.01.2006", "65.01.01.2007", "65.01.01.2008"]
    for code in desa:
        with db.transaction() as session:
            users.add_user(session, SYSTEM, f"op.{code}", "operator", code)
        submission_id = open_with_items(db, desa=code)
        submit(db, f"op.{code}", submission_id)
    with db.read() as session:
        due = max(session.scalars(select(HumanTask.due_at).where(HumanTask.status == TaskStatus.TERBUKA)))
    url = db.engine.url.render_as_string(hide_password=False)
    when = (due + timedelta(hours=1)).isoformat()
    out = _spawn(concurrency_worker.fire, [(url, when), (url, when)])
    assert all(isinstance(o, int) for o in out), out
    assert sum(out) == len(desa)
    with db.read() as session:
        assert session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == "task.overdue")
        ) == len(desa)
