"""Races that used to end in a 500 or a lost update: many people on the same rows at once.

Each scenario runs several threads against one database; on PostgreSQL they are real concurrent
transactions with row locks. A deadlock or a unique-key violation surfaces as a DBAPIError, which
these tests count as a failure."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from engine.bpmn import timers
from engine.core import audit, clock, retry
from engine.core.actors import Actor
from engine.core.errors import Conflict
from engine.people import tokens, users
from engine.quality import aggregates
from engine.verification import claims, cycles, decisions, exchange, submissions, verdicts
from models import (
    AuditEvent,
    FlagStatus,
    HumanTask,
    ItemVerdict,
    NotificationPreference,
    OutboxEvent,
    QualityFlag,
    Record,
    RecordVersion,
    SubmissionItem,
    TaskStatus,
    Verdict,
)
from notifications import delivery
from tests.factories import (
    PERIOD,
    SYSTEM,
    confirm_register,
    decide,
    decide_task,
    make_team,
    open_period,
    open_task,
    open_with_items,
    person_row,
    submit,
    waiting_at_kecamatan,
)
from tests.integration.interleave import first_then_second, second_waits

DESA = [f"65.01.01.{2005 + i}" for i in range(5)]


def _race(work: list[Callable[[], object]]) -> list[str]:
    """Run each callable in its own thread, all released at once; returns each outcome."""
    barrier, outcomes = threading.Barrier(len(work)), []

    def run(job: Callable[[], object]) -> None:
        barrier.wait(30)
        try:
            job()
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc}")
        except DBAPIError as exc:
            outcomes.append(f"database error: {type(exc.orig).__name__}: {exc.orig}")

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return outcomes


def _kecamatan_tasks(db) -> list[int]:
    make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kec2", "verifier", "65.01.01")
    for code in DESA:
        with db.transaction() as s:
            if code != "65.01.01.2005":
                users.add_user(s, SYSTEM, f"op.{code}", "operator", code)
        sid = open_with_items(db, desa=code)
        submit(db, "op.desa" if code == "65.01.01.2005" else f"op.{code}", sid)
    with db.read() as s:
        return list(s.scalars(select(HumanTask.id).where(HumanTask.status == TaskStatus.TERBUKA)))


def _bulk(db, username: str, task_ids: list[int], release: bool) -> Callable[[], object]:
    def work() -> object:
        with db.transaction() as s:
            return claims.claim_many(s, Actor.of(users.find_user(s, username)), task_ids, unclaiming=release)

    return work


def test_shuffled_bulk_claims_by_two_people_never_deadlock(db):
    task_ids = _kecamatan_tasks(db)
    rng = random.Random(15)
    for _round in range(4):
        work = []
        for i in range(6):
            chosen = rng.sample(task_ids, len(task_ids))
            work.append(_bulk(db, ("verif.kec", "verif.kec2")[i % 2], chosen, release=_round % 2 == 1 and i < 2))
        outcomes = _race(work)
        assert outcomes == ["ok"] * 6, outcomes
    with db.read() as s:
        assert audit.verify_chain(s).ok


def test_a_claim_is_honoured_while_someone_else_completes(db):
    """Whoever claims first wins the task: the other's completion finds it claimed, never completes it."""
    task_ids = _kecamatan_tasks(db)
    with db.read() as s:
        kec, kec2 = users.find_user(s, "verif.kec"), users.find_user(s, "verif.kec2")
        kec_actor, kec2_actor = Actor.of(kec), Actor.of(kec2)

    def claim(task_id: int) -> Callable[[], object]:
        def work() -> object:
            with db.transaction() as s:
                return claims.claim(s, kec_actor, task_id)

        return work

    def complete(task_id: int) -> Callable[[], object]:
        def work() -> object:
            with db.transaction() as s:
                return decide_task(s, "verif.kec2", task_id, "approve")

        return work

    for task_id in task_ids:
        outcomes = _race([claim(task_id), complete(task_id)])
        assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "ok"], outcomes
        with db.read() as s:
            task = s.get(HumanTask, task_id)
            if task.status == TaskStatus.SELESAI:  # the completion came first: the claim was refused
                assert task.completed_by_id == kec2_actor.user_id
            else:  # the claim came first: the task waits for its holder
                assert task.assignee_id == kec_actor.user_id and task.status == TaskStatus.TERBUKA


def test_two_approvals_changing_the_same_record_number_its_versions_in_turn(db):
    make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "valid.prov2", "validator", "65")
    first = open_period(db, "2026-Q2", [person_row(7)])
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    pairs = []
    for period, alamat in (("2026-Q3", "Jl. Baru 1"), ("2026-Q4", "Jl. Baru 2")):
        sid = open_period(db, period, [person_row(7, alamat=alamat)])
        submit(db, "op.desa", sid)
        decide(db, "verif.kec", sid, "approve")
        decide(db, "verif.kab", sid, "approve")
        pairs.append(open_task(db, sid, "provinsi").id)

    def approve(username: str, task_id: int) -> Callable[[], object]:
        def work() -> object:
            with db.transaction() as s:
                return decide_task(s, username, task_id, "approve")

        return work

    outcomes = _race([approve("valid.prov", pairs[0]), approve("valid.prov2", pairs[1])])
    assert outcomes == ["ok", "ok"], outcomes
    with db.read() as s:
        record = s.scalar(select(Record).where(Record.nik == person_row(7)["nik"]))
        versions = list(s.scalars(select(RecordVersion.versi).where(RecordVersion.record_id == record.id)))
        assert sorted(versions) == [1, 2, 3] and record.versi == 3
        assert audit.verify_chain(s).ok


def test_a_task_the_calendar_escalated_is_not_escalated_again_by_its_timer(db):
    """One owner of "overdue": the cycle calendar sees the late task first, then its BPMN timer fires."""
    make_team(db)
    for code in DESA[:3]:
        with db.transaction() as s:
            if code != "65.01.01.2005":
                users.add_user(s, SYSTEM, f"op.{code}", "operator", code)
        submit(db, "op.desa" if code == "65.01.01.2005" else f"op.{code}", open_with_items(db, desa=code))
    with db.read() as s:
        due = max(s.scalars(select(HumanTask.due_at).where(HumanTask.status == TaskStatus.TERBUKA)))
    late = due + timedelta(minutes=5)
    with clock.frozen_at(late), db.transaction() as s:
        assert cycles.escalate_late(s, Actor.system("penjadwal"), late) == 3
    assert timers.fire_due_timers(db, late + timedelta(minutes=1)) == 3
    with db.read() as s:
        overdue_rows = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == audit.AuditAction.TASK_OVERDUE)
        )
        overdue_events = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == "task.overdue")
        )
    assert overdue_rows == 3 and overdue_events == 3


@pytest.mark.parametrize("first", ["timer", "calendar"])
def test_the_timer_and_the_calendar_racing_escalate_each_task_once(db, first):
    make_team(db)
    submit(db, "op.desa", open_with_items(db))
    with db.read() as s:
        due = s.scalar(select(HumanTask.due_at).where(HumanTask.status == TaskStatus.TERBUKA))
    late = due + timedelta(minutes=5)

    def calendar() -> object:
        with clock.frozen_at(late), db.transaction() as s:
            return cycles.escalate_late(s, Actor.system("penjadwal"), late)

    outcomes = _race([calendar, lambda: timers.fire_due_timers(db, late)][:: 1 if first == "calendar" else -1])
    assert outcomes == ["ok", "ok"], outcomes
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == "task.overdue")) == 1
        )


def test_a_key_taken_between_a_read_and_an_insert_is_tried_again_and_found(db, is_postgresql):
    """Two saves of one person's preferences at once: both read none, the other commits its row first,
    this insert fails on the key; the retry reads that row and updates it (no 500, one row)."""
    if not is_postgresql:
        pytest.skip("SQLite's writers take turns: no key is taken between one's read and its write")
    make_team(db)
    taken = []

    def other_commits_first(*_: object) -> None:
        if not taken:
            taken.append(1)
            with db.transaction() as other:
                user_id = users.find_user(other, "verif.kec").id
                other.add(NotificationPreference(user_id=user_id, event_type="task.created", channel="email"))

    attempts = []

    def save() -> None:
        attempts.append(1)
        with db.transaction() as s:
            delivery.set_preferences(s, users.find_user(s, "verif.kec"), {("task.created", "email"): False})

    event.listen(db.sessions, "before_flush", other_commits_first)
    try:
        retry.retrying(save)
    finally:
        event.remove(db.sessions, "before_flush", other_commits_first)
    assert len(attempts) == 2
    with db.read() as s:
        rows = s.scalars(select(NotificationPreference).where(NotificationPreference.event_type == "task.created"))
        assert [row.enabled for row in rows] == [False]


def test_two_rescans_of_the_same_series_leave_each_flag_once(year):
    """A Forum recount and an agency's figures checking the same series at once: the second waits for
    the first, then replaces its flags instead of adding a second copy of each."""
    with year.read() as s:
        values = aggregates.stored_history(s, {("LUT", "65.01")})[0]

    def again() -> None:
        with year.transaction() as s:
            aggregates.rescan(s, SYSTEM, values)

    first_then_second(year, lambda s: aggregates.rescan(s, SYSTEM, values), again)
    with year.read() as s:
        open_flags = s.execute(
            select(QualityFlag.rule, QualityFlag.region_kode, QualityFlag.kategori, QualityFlag.periode).where(
                QualityFlag.item_id.is_(None), QualityFlag.status == FlagStatus.TERBUKA
            )
        ).all()
    assert open_flags and len(open_flags) == len(set(open_flags))


def _claimed_item(db):
    """A kecamatan task its verifier has claimed, and one item of its submission."""
    team, _, task, item = waiting_at_kecamatan(db)
    with db.transaction() as s:
        claims.claim(s, Actor.of(users.find_user(s, team.kecamatan)), task.id)
    return team, task, item


def _save(session, team, task, item, verdict, why=""):
    verifier = Actor.of(users.find_user(session, team.kecamatan))
    return verdicts.save(session, verifier, task.id, {item: (verdict, why)})


def test_two_saves_of_one_items_verdict_at_once_leave_the_later_one(db):
    """The task page saves a card's choice, then its reason, each as its own request: two saves at
    once take turns, and the item keeps one verdict, the later one."""
    team, task, item = _claimed_item(db)

    def reason():
        with db.transaction() as s:
            return _save(s, team, task, item, Verdict.TIDAK_SESUAI, "umur tidak cocok")

    assert first_then_second(db, lambda s: _save(s, team, task, item, Verdict.SESUAI), reason) == 1
    with db.read() as s:
        kept = s.scalars(select(ItemVerdict.verdict).where(ItemVerdict.human_task_id == task.id)).all()
    assert kept == [Verdict.TIDAK_SESUAI]


def test_a_verdict_saved_while_the_task_is_decided_finds_it_decided(db):
    """A card's save waiting behind the decision of its task is refused once it may go on, not
    written onto a task already decided."""
    team, task, item = _claimed_item(db)

    def late_save():
        with db.transaction() as s:
            return _save(s, team, task, item, Verdict.TIDAK_SESUAI, "umur tidak cocok")

    outcome = first_then_second(db, lambda s: decide_task(s, team.kecamatan, task.id, "approve"), late_save)
    assert isinstance(outcome, Conflict)
    with db.read() as s:
        assert not s.scalars(select(ItemVerdict).where(ItemVerdict.verdict == Verdict.TIDAK_SESUAI)).all()


def test_a_verdict_save_and_the_decision_at_once_do_not_deadlock(db, monkeypatch):
    """A save that holds the task while the decision has begun: the decision locks the instance,
    rewrites the task's verdicts, then closes the task; a save that took the task's row first and
    then came to the verdicts the decision had rewritten waited for it while it waited for the
    task: a deadlock. The save now locks the instance first, as the decision does."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite runs one writer at a time")
    team, task, item = _claimed_item(db)
    with db.transaction() as s:
        _save(s, team, task, item, Verdict.SESUAI)  # a card saved earlier: the decision rewrites it
    checked, go = threading.Event(), threading.Event()
    original = decisions.may_act

    def may_act(session, actor, task_id):
        found = original(session, actor, task_id)
        if threading.current_thread().name == "saver":
            checked.set()  # its locks are held by now, its verdicts not yet written
            go.wait(30)
        return found

    monkeypatch.setattr(decisions, "may_act", may_act)
    outcomes: dict[str, object] = {}

    def run(name, work):
        try:
            with db.transaction() as s:
                outcomes[name] = work(s)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[name] = exc

    saver = threading.Thread(
        target=run, name="saver", args=("save", lambda s: _save(s, team, task, item, Verdict.TIDAK_SESUAI, "umur"))
    )
    saver.start()
    assert checked.wait(30)
    decider = threading.Thread(
        target=run, args=("decide", lambda s: decide_task(s, team.kecamatan, task.id, "approve"))
    )
    decider.start()
    second_waits(db)
    go.set()
    saver.join(60)
    decider.join(60)
    assert not [o for o in outcomes.values() if isinstance(o, DBAPIError)], outcomes
    assert outcomes["save"] == 1, outcomes
    assert "ada item tidak sesuai" in str(outcomes["decide"]), outcomes  # the decision saw the saved card


def _desa_app(db):
    """A desa's application, through the API: its token, and what it posts."""
    request = tokens.TokenRequest("Aplikasi Desa", "65.01.01.2005", ("pengajuan",), can_write=True)
    with db.transaction() as s:
        token = tokens.create_token(s, SYSTEM, request).token
    return Actor.of_token(token)


def _post(db, app, rows):
    with db.transaction() as s:
        return exchange.post_items(s, app, "65.01.01.2005", PERIOD, rows)


def test_the_same_items_posted_twice_at_once_through_the_api_are_stored_once(db):
    make_team(db)
    sid = open_with_items(db, rows=[])
    app, rows = _desa_app(db), [{k: str(v) for k, v in person_row(n).items()} for n in (1, 2)]
    # a retry while the first call is still writing: it waits, then finds the people it sent
    first = lambda s: exchange.post_items(s, app, "65.01.01.2005", PERIOD, rows)  # noqa: E731
    first_then_second(db, first, lambda: _post(db, app, rows))
    with db.read() as s:
        assert s.scalar(select(func.count()).where(SubmissionItem.submission_id == sid)) == 2


def test_items_posted_while_the_operator_submits_are_refused_not_sent_up_unseen(db):
    make_team(db)
    sid = open_with_items(db)
    app = _desa_app(db)

    def operator_submits(s):
        operator = Actor.of(users.find_user(s, "op.desa"))
        confirm_register(s, operator, sid)
        submissions.submit(s, operator, sid)

    row = {k: str(v) for k, v in person_row(3).items()}
    late = first_then_second(db, operator_submits, lambda: _post(db, app, [row]))
    assert isinstance(late, Conflict), late
    with db.read() as s:
        assert s.scalar(select(func.count()).where(SubmissionItem.submission_id == sid)) == 2
