"""The history no one can quietly rewrite, the scheduled jobs and their leases, backups, retention,
timers: rules found untested by hand-made mutation, each pinned here.

- a person's record history by NIK (`sijosku records history`) counts against the hourly bound on
  searches by NIK, and a number of another shape is refused and kept off the trail;
- the bound counts the person's own searches of the last hour, not everyone's, nor older ones;
- retention is the province admin's alone (a count as much as a prune), clears cancelled instances
  too, and never another process's;
- a finished instance's stale timer is never fired; a failed timer is on the trail, with its error,
  and tried again five minutes later, not at once;
- a job's run still within its lease is not failed by another run's sweep, a lapsed one is failed
  saying whose it was, and finishing a run touches no other job's run of the same key;
- the whole trail's export is on the trail with its reason, its times in WITA, the province's alone;
- a record history names as verifiers only the tiers whose task was done;
- a restore refuses a backup of another kind of database, whatever else it finds;
- a key taken meanwhile (23505) and SQLite's busy lock are races, tried again; any other database
  error is raised at once;
- an auditor's search, a record's and an instance's timeline stay inside the auditor's region;
- a half-open circuit breaker lets one trial call through, the others wait for its answer, and a
  trial that never answered lapses.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engine.bpmn import timers
from engine.core import backup, clock, jobs, resilience, retry
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.core.jobs import Outcome
from engine.core.registry import Job
from engine.people import sign_in
from engine.verification import record_history, retention, trail
from models import (
    AuditEvent,
    HumanTask,
    InstanceStatus,
    JobRun,
    JobStatus,
    ProcessInstance,
    Submission,
    TaskStatus,
)
from tests.factories import (
    SYSTEM,
    Team,
    actor,
    approved_everywhere,
    build_world,
    make_team,
    open_period,
    person_row,
    submit,
    waiting_at_kecamatan,
)

KEY = "verifikasi_berjenjang"
WHY = "pengaduan warga desa"


def _verified(db, people_made=False):
    """Gunung Putih's submission of 2026-Q1 (person 1) approved at every tier: its instance finished."""
    team = Team() if people_made else make_team(db)
    finished = open_period(db, "2026-Q1", [person_row(1)])
    submit(db, team.operator, finished)
    approved_everywhere(db, team, finished)
    return finished


def _actions(db, action):
    with db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


# --- a person's record history by NIK -------------------------------------------------------------


def test_a_record_history_counts_against_the_hourly_bound_on_searches_by_nik(db, people, monkeypatch):
    monkeypatch.setattr(trail, "NIK_SEARCHES_PER_HOUR", 1)
    auditor = actor(db, "auditor.prov")
    with db.transaction() as s:
        assert record_history.history(s, auditor, person_row(1)["nik"], WHY) == []
    with db.transaction() as s, pytest.raises(sign_in.Throttled):
        record_history.history(s, auditor, person_row(2)["nik"], WHY)


def test_a_record_history_of_a_number_of_another_shape_is_refused_and_kept_off_the_trail(db, people):
    with db.transaction() as s, pytest.raises(Invalid, match="NIK"):
        record_history.history(s, actor(db, "auditor.prov"), "6501-12", WHY)
    assert _actions(db, "NIK_SEARCHED") == []


def test_a_record_history_names_only_the_tiers_that_finished_their_task(db, people):
    submission_id = _verified(db, people_made=True)
    with db.transaction() as s:
        cancelled = update(HumanTask).values(status=TaskStatus.DIBATALKAN)
        s.execute(cancelled.where(HumanTask.submission_id == submission_id, HumanTask.tingkat == "kecamatan"))
    with db.transaction() as s:
        (version,) = record_history.history(s, actor(db, "auditor.prov"), person_row(1)["nik"], WHY)
    assert [t["tingkat"] for t in version["verifikasi"]] == ["desa", "kabupaten", "provinsi"]


# --- the whole trail --------------------------------------------------------------------------------


def test_the_export_is_on_the_trail_with_its_reason_and_says_its_times_in_wita(db, people):
    auditor = actor(db, "auditor.prov")
    with db.transaction() as s:
        trail.record_export(s, auditor, "65", "pemeriksaan BPK 2026")
    (exported,) = _actions(db, "TRAIL_EXPORTED")
    assert (exported.actor, exported.reason) == ("auditor.prov", "pemeriksaan BPK 2026")
    with db.read() as s:
        rows = list(csv.reader(io.StringIO("".join(trail.export_csv(s, auditor, "65")).lstrip("\ufeff"))))
    assert rows[1][1].endswith("+08:00")
    with db.read() as s, pytest.raises(Forbidden):
        "".join(trail.export_csv(s, actor(db, "auditor.kab.lain"), "65"))


# --- the bound on searches by NIK -------------------------------------------------------------------


def test_the_bound_counts_the_persons_own_searches_of_the_last_hour(db, people, monkeypatch):
    monkeypatch.setattr(trail, "NIK_SEARCHES_PER_HOUR", 1)
    nik = person_row(1)["nik"]
    with db.transaction() as s:
        trail.search_records(s, actor(db, "auditor.prov"), nik=nik)  # two hours before: no longer counted
    with clock.frozen_at(clock.now() + timedelta(hours=2)):
        with db.transaction() as s:
            trail.search_records(s, actor(db, "auditor.kab.lain"), nik=nik)  # someone else's search
        with db.transaction() as s:
            assert trail.search_records(s, actor(db, "auditor.prov"), nik=nik).total == 0
        with db.transaction() as s, pytest.raises(sign_in.Throttled):
            trail.search_records(s, actor(db, "auditor.prov"), nik=nik)


# --- an auditor reads only their region ------------------------------------------------------------


def test_an_auditor_of_another_regency_neither_finds_nor_opens_a_record_or_an_instance(db, people):
    world = build_world(db)
    other = actor(db, "auditor.kab.lain")
    with db.transaction() as s:
        assert trail.search_records(s, other, nama="Ingan").total == 0
        with pytest.raises(NotFound):
            trail.record_timeline(s, other, world.record)
        with pytest.raises(NotFound):
            trail.instance_timeline(s, other, world.instance)
    assert _actions(db, "TRAIL_VIEWED") == []
    with db.transaction() as s:
        assert trail.search_records(s, actor(db, "auditor.prov"), nama="Ingan").total >= 1


# --- retention ---------------------------------------------------------------------------------------


def _finished_instance(db):
    with db.read() as s:
        return s.get(Submission, _verified(db)).instance_id


def _state(db, instance_id):
    with db.read() as s:
        return s.get(ProcessInstance, instance_id).state


def test_retention_is_the_province_admins_alone_a_count_as_much_as_a_prune(db, regency_admin):
    with db.transaction() as s:
        with pytest.raises(Forbidden, match="admin provinsi"):
            retention.count_due(s, regency_admin, KEY, 30, clock.now())
        with pytest.raises(Forbidden, match="admin provinsi"):
            retention.prune_batch(s, regency_admin, KEY, 30, clock.now())


def test_a_cancelled_instance_is_pruned_and_another_process_never_is(db):
    instance_id = _finished_instance(db)
    with db.transaction() as s:
        s.execute(
            update(ProcessInstance).where(ProcessInstance.id == instance_id).values(status=InstanceStatus.DIBATALKAN)
        )
    later = clock.now() + timedelta(days=3)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, "rekonsiliasi_tahunan", 1, later) == 0
    assert _state(db, instance_id) != retention.PRUNED
    with db.transaction() as s:
        assert retention.count_due(s, SYSTEM, KEY, 1, later) == 1
        assert retention.prune_batch(s, SYSTEM, KEY, 1, later) == 1
    assert _state(db, instance_id) == retention.PRUNED


# --- timers ------------------------------------------------------------------------------------------


def test_a_finished_instances_stale_timer_is_never_fired(db):
    instance_id = _finished_instance(db)
    past = clock.now() - timedelta(days=1)
    with db.transaction() as s:
        s.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(next_timer_at=past))
        before = s.get(ProcessInstance, instance_id).state
    assert timers.fire_due_timers(db, clock.now() + timedelta(days=1)) == 0
    assert _state(db, instance_id) == before
    assert _actions(db, "TIMER_FAILED") == []


def test_a_failed_timer_is_on_the_trail_and_tried_again_five_minutes_later(db):
    _, submission_id, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        registry = s.info["sijosku_registry"]
        instance_id = s.get(Submission, submission_id).instance_id
    original = registry.handlers["mark_overdue"]
    registry.handlers["mark_overdue"] = lambda *a: (_ for _ in ()).throw(RuntimeError("layanan mati"))
    failed_at = task.due_at + timedelta(hours=1)
    try:
        assert timers.fire_due_timers(db, failed_at) == 0
    finally:
        registry.handlers["mark_overdue"] = original
    (failure,) = _actions(db, "TIMER_FAILED")
    assert (failure.subject_id, failure.instance_id) == (str(instance_id), instance_id)
    assert "layanan mati" in failure.after["error"]
    with db.read() as s:
        assert "layanan mati" in s.get(ProcessInstance, instance_id).last_error
    assert timers.fire_due_timers(db, failed_at + timedelta(minutes=4)) == 0  # not hammered at once
    assert timers.fire_due_timers(db, failed_at + timedelta(minutes=5)) == 1
    with db.read() as s:  # fired at last: no longer stuck, nor showing the old error
        instance = s.get(ProcessInstance, instance_id)
        assert (instance.last_error, instance.failed_at) == (None, None)


# --- scheduled jobs and their leases -----------------------------------------------------------------


def _held(db, job_id, key, lease_until, now):
    with db.transaction() as s:
        s.add(
            JobRun(
                job_id=job_id, run_key=key, holder="lain:7", status="berjalan", started_at=now, lease_until=lease_until
            )
        )


def _run(db, job_id, key):
    with db.read() as s:
        return s.scalar(select(JobRun).where(JobRun.job_id == job_id, JobRun.run_key == key))


def test_a_run_still_within_its_lease_is_not_failed_by_another_runs_sweep(db):
    now = clock.now()
    _held(db, "uji", "dipegang", now + timedelta(minutes=5), now)
    assert jobs.run_once(db, "uji", "lain", lambda: "ok", now) == Outcome.SELESAI
    held = _run(db, "uji", "dipegang")
    assert (held.status, held.finished_at, held.message) == (JobStatus.BERJALAN, None, None)


def test_a_lapsed_run_nobody_took_over_is_failed_saying_whose_it_was(db):
    now = clock.now()
    _held(db, "uji", "mati", now - timedelta(minutes=1), now - timedelta(minutes=11))
    assert jobs.expire_lapsed(db, now) == 1
    lapsed = _run(db, "uji", "mati")
    assert lapsed.status == JobStatus.GAGAL and "lain:7" in lapsed.message and lapsed.finished_at is not None
    assert jobs.expire_lapsed(db, now) == 0


def test_finishing_a_run_leaves_another_jobs_run_of_the_same_key_alone(db):
    now = clock.now()
    _held(db, "lain", "2027-01-01", now + timedelta(minutes=5), now)
    assert jobs.run_once(db, "uji", "2027-01-01", lambda: "selesai uji", now) == Outcome.SELESAI
    other = _run(db, "lain", "2027-01-01")
    assert (other.status, other.message, other.finished_at) == (JobStatus.BERJALAN, None, None)
    assert _run(db, "uji", "2027-01-01").message == "selesai uji"


def test_a_run_reported_names_the_run_it_made_even_when_the_minute_turned_meanwhile(db, monkeypatch):
    """`sijosku jobs run` reports the run it made: a clock read after the run, in the next minute,
    would name another run (none, or another node's)."""
    started = clock.now()
    readings = iter([started])
    monkeypatch.setattr(jobs.clock, "now", lambda: next(readings, started + timedelta(seconds=61)))
    monkeypatch.setitem(db.registry.jobs, "uji_menit", Job("uji_menit", "minute", lambda _db, _now: "selesai"))
    report = jobs.run_job_reporting(db, "uji_menit")
    assert report.outcome == Outcome.SELESAI
    assert report.run_key == jobs.run_key("minute", started, db.settings.tz)
    assert (report.holder, report.message) != ("", "") and report.message == "selesai"


def test_the_job_history_lists_the_newest_run_first(db):
    now = clock.now()
    for days, key in ((3, "lama"), (1, "baru"), (2, "tengah")):
        _held(db, "uji", key, now, now - timedelta(days=days))
    with db.read() as s:
        assert [r.run_key for r in jobs.history(s)] == ["baru", "tengah", "lama"]


# --- backups -------------------------------------------------------------------------------------------


def test_a_restore_refuses_a_backup_of_another_kind_of_database(db, tmp_path):
    taken = backup.backup(db, tmp_path / "cadangan")
    manifest_path = taken.directory / backup.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    other = "postgresql" if db.engine.dialect.name == "sqlite" else "sqlite"
    manifest_path.write_text(json.dumps({**manifest, "database": other}))
    with pytest.raises(Invalid, match=f"Cadangan ini dari {other}"):
        backup.restore(db, taken.directory)


# --- races at the database -------------------------------------------------------------------------------


class _Driver(Exception):
    def __init__(self, text: str, sqlstate: str | None = None) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


def _error(text: str, sqlstate: str | None = None) -> DBAPIError:
    return DBAPIError("INSERT ...", {}, _Driver(text, sqlstate))


def test_a_key_taken_meanwhile_and_a_busy_sqlite_are_races_and_other_errors_are_not():
    assert retry.is_lost_race(_error("duplicate key", "23505"))
    assert retry.is_lost_race(_error("database is locked"))
    assert not retry.is_lost_race(_error("value too long", "22001"))
    assert not retry.is_lost_race(ValueError("database is locked"))


def test_a_race_is_tried_again_up_to_its_attempts_and_anything_else_at_once():
    calls = []

    def losing():
        calls.append(1)
        raise _error("database is locked")

    with pytest.raises(Conflict):
        retry.retrying(losing, attempts=3)
    assert len(calls) == 3
    calls.clear()

    def broken():
        calls.append(1)
        raise _error("syntax error", "42601")

    with pytest.raises(DBAPIError):
        retry.retrying(broken, attempts=3)
    assert len(calls) == 1


# --- the circuit breaker's half-open state -----------------------------------------------------------


def test_a_half_open_breaker_lets_one_trial_call_through_not_every_waiting_call():
    now = [0.0]
    breaker = resilience.CircuitBreaker(failures_to_open=1, reset_after=60.0, monotonic=lambda: now[0])
    breaker.failed()  # opened
    now[0] = 61.0
    breaker.before_call()  # the trial call, still on its way
    with pytest.raises(resilience.CircuitOpen):
        breaker.before_call()  # another caller meanwhile: the service is not known to be back
    now[0] = 122.0
    breaker.before_call()  # the trial never answered: after another period, a new trial goes
    breaker.succeeded()
    breaker.before_call()  # closed again: every call goes
    breaker.before_call()
