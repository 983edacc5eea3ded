"""The scheduler's jobs under a controlled clock: each run once, cycles opened and closed on their
days, reminders and escalations at the right moments, and two nodes running each job once."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from engine.core import clock, jobs
from engine.core.errors import Conflict, Invalid
from engine.core.jobs import Outcome
from engine.verification import cycles, imports
from models import Cycle, HumanTask, JobRun, OutboxEvent, Submission, SubmissionStatus
from tests.factories import SYSTEM, csv_of, make_team, person_row, submit
from tests.integration import scheduler_worker

WITA = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + WITA)


@pytest.fixture
def scheduled(db, with_notifications):
    return with_notifications()


def fire(db, job_id: str, moment: datetime) -> None:
    jobs.run_job(db, job_id, moment)


def _count(db, model, *where):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_run_key_runs_once_and_a_lapsed_lease_is_taken_over(db):
    calls = []
    now = at("2027-01-01T00:05")

    def run_once(run_key, work, moment):  # the clock at the run's time: a run finished later than it is one
        with clock.frozen_at(moment):  # from a clock set back, and runs again
            return jobs.run_once(db, "uji", run_key, work, moment)

    assert run_once("2027-01-01", lambda: calls.append(1) or "ok", now) == Outcome.SELESAI
    assert run_once("2027-01-01", lambda: calls.append(2) or "ok", now) == Outcome.DILEWATI
    assert calls == [1]
    with db.transaction() as s:  # a node took a run and crashed: its lease lapses
        s.add(
            JobRun(
                job_id="uji",
                run_key="2027-01-02",
                holder="mati:1",
                status="berjalan",
                started_at=now,
                lease_until=now + timedelta(minutes=10),
            )
        )
    late = now + timedelta(minutes=5)
    assert run_once("2027-01-02", lambda: calls.append(3) or "ok", late) == Outcome.DILEWATI
    later = now + timedelta(minutes=11)
    assert run_once("2027-01-02", lambda: calls.append(4) or "ok", later) == Outcome.SELESAI
    assert calls == [1, 4]


def test_a_failing_job_is_recorded_for_the_admins(db):
    def broken() -> str:
        raise RuntimeError("SMTP mati")

    assert jobs.run_once(db, "uji", "k", broken) == Outcome.GAGAL
    with db.read() as s:
        run = s.scalar(select(JobRun))
    assert run.status == "gagal" and "SMTP mati" in run.message


def test_the_cycle_opens_on_its_day_for_all_482_desa_exactly_once(scheduled):
    db = scheduled
    fire(db, "siklus", at("2026-12-31T00:05"))
    assert _count(db, Submission) == 0  # not yet
    fire(db, "siklus", at("2027-01-01T00:05"))
    fire(db, "siklus", at("2027-01-01T13:00"))  # the same day again: the run key is taken
    assert _count(db, Submission, Submission.periode == "2027-Q1") == 482
    assert _count(db, JobRun, JobRun.job_id == "siklus") == 2
    fire(db, "siklus", at("2027-01-02T00:05"))  # the next day: opening again finds every desa open
    assert _count(db, Submission) == 482


def test_a_cycle_closed_early_in_its_own_month_leaves_the_calendar_running(scheduled):
    db = scheduled
    fire(db, "siklus", at("2027-01-01T00:05"))
    with clock.frozen_at(at("2027-01-01T10:00")):  # closed early, as `cycle close --lebih-awal` does
        cycles.close_cycle(db, SYSTEM, "2027-Q1", early=True)
    fire(db, "siklus", at("2027-01-02T00:05"))  # the opening day's month goes on: nothing to open
    with db.read() as s:
        run = s.scalar(select(JobRun).where(JobRun.job_id == "siklus").order_by(JobRun.id.desc()).limit(1))
    assert run.status == "selesai" and "dibuka" not in run.message, run.message


def test_reminders_escalations_and_closing_at_the_right_moments(scheduled):
    db = scheduled
    team = make_team(db)
    fire(db, "siklus", at("2027-01-01T00:05"))
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == "65.01.01.2005"))
        batas = s.scalar(select(Cycle.batas))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    with clock.frozen_at(at("2027-01-10T09:00")):
        submit(db, team.operator, sid)
    fire(db, "siklus", at("2027-01-20T00:05"))
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.closing_soon") == 0
    fire(db, "siklus", at("2027-01-29T00:05"))  # 3 days before the desa deadline (31 January)
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.closing_soon") == 1
    fire(db, "siklus", at("2027-01-22T00:05"))  # the kecamatan task is due 24 January: reminded once
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "task.due_soon") == 1
    fire(db, "siklus", at("2027-01-23T00:05"))
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "task.due_soon") == 1
    fire(db, "siklus", at("2027-01-25T00:05"))  # now late: escalated to the kabupaten
    with db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        assert task.overdue and task.tingkat.value == "kecamatan"
        escalation = s.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "task.overdue"))
        assert escalation.payload["eskalasi_ke"] == "kabupaten"
    assert datetime.fromisoformat(batas["provinsi"]) < at("2027-03-18T00:05")
    fire(db, "siklus", at("2027-03-18T00:05"))  # after the last deadline: closed
    assert _count(db, Submission, Submission.status == SubmissionStatus.TIDAK_MELAPOR) == 481
    with db.read() as s:
        assert s.scalar(select(Cycle.status)) == "ditutup"
        assert s.get(Submission, sid).status == SubmissionStatus.DIAJUKAN


@pytest.mark.postgresql_only
def test_two_scheduler_processes_run_each_job_once(scheduled, is_postgresql):
    if not is_postgresql:
        pytest.skip("several nodes share a PostgreSQL database")
    db = scheduled
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    url = db.engine.url.render_as_string(hide_password=False)
    procs = [
        ctx.Process(target=scheduler_worker.fire, args=(url, "siklus", "2027-01-01T00:05:00+08:00", barrier, results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    outcomes = sorted(str(results.get(timeout=180)) for _ in procs)
    for p in procs:
        p.join(30)
    assert outcomes == ["False", "True"], outcomes
    assert _count(db, Submission) == 482
    assert _count(db, JobRun) == 1


def test_open_cycle_status_through_the_cli_contract(scheduled):
    cycles.open_cycle(scheduled, SYSTEM, "2026-Q4", region="65.01.01")
    with scheduled.read() as s:
        rows = cycles.status(s, SYSTEM, "2026-Q4", "65")
    assert rows[0].kode == "65.01" and rows[0].expected == 81


def test_a_run_missed_while_down_is_caught_up_once(scheduled):
    import time

    db = scheduled
    scheduler = jobs.build(db, background=True)
    scheduler.start(paused=True)
    try:
        missed = clock.now() - timedelta(minutes=3)  # three minutely runs missed
        scheduler.modify_job("timer_bpmn", next_run_time=missed)
        scheduler.resume()
        for _ in range(300):  # up to 30 s for the scheduler's thread on a loaded machine
            if _count(db, JobRun, JobRun.job_id == "timer_bpmn"):
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        scheduler.shutdown(wait=True)
    assert _count(db, JobRun, JobRun.job_id == "timer_bpmn") == 1


def test_a_daily_run_missed_while_the_scheduler_was_down_is_kept_when_it_starts_again(db):
    """A release across 00:05: the stored run of the calendar is due in the past when the scheduler
    starts again, and stays so (it runs at once), instead of moving to tomorrow's 00:05."""
    first = jobs.build(db, background=True)
    first.start(paused=True)
    first.shutdown(wait=True)
    missed = clock.now() - timedelta(hours=2)
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE apscheduler_jobs SET next_run_time = :at WHERE id = 'siklus'"), {"at": missed.timestamp()}
        )
    again = jobs.build(db, background=True)
    again.start(paused=True)
    try:
        due = again.get_job("siklus").next_run_time
    finally:
        again.shutdown(wait=True)
    assert abs((due - missed).total_seconds()) < 1, due


def test_a_stop_ends_the_imports_wait_at_once_and_its_run_is_recorded_as_finished(db):
    """SIGTERM (systemctl restart) sets the stop: the import's minute-long look for uploads ends, so
    its run finishes instead of being left to lapse into a failed one."""
    import threading

    finished: list[str] = []
    looking = threading.Thread(target=lambda: finished.append(imports.run_waiting_jobs(db, clock.now(), poll=120)))
    try:
        looking.start()
        jobs.STOPPING.set()
        looking.join(60)  # far less than the poll of two minutes
        assert finished == ["0 impor dijalankan"]
    finally:
        jobs.STOPPING.clear()


def test_the_scheduler_process_stops_cleanly_on_sigterm(db, instance_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from engine.core.config import PROJECT_ROOT

    env = {
        **os.environ,
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "SIJOSKU_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "uji",
    }
    said = tmp_path / "penjadwal.out"
    with said.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "scheduler"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while "berjalan" not in said.read_text():
            assert process.poll() is None and time.monotonic() < deadline, said.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, said.read_text()
        assert "Penjadwal berhenti" in said.read_text()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_stop_that_lands_inside_the_schedulers_own_statement_is_still_a_clean_stop(cli, monkeypatch):
    """SIGTERM's SystemExit raised inside a statement of the scheduler's loop (its job store is the
    database) comes out of the driver as a database error: still the stop asked for, exit 0."""
    from sqlalchemy.exc import ProgrammingError

    from web.cli import operations

    class Interrupted:
        running = False

        def start(self):
            jobs.STOPPING.set()  # as the SIGTERM handler does first
            raise ProgrammingError("SELECT apscheduler_jobs", {}, Exception("can't change 'autocommit' now"))

    monkeypatch.setattr(operations.jobs, "build", lambda db: Interrupted())
    try:
        result = cli("scheduler")
    finally:
        jobs.STOPPING.clear()
    assert "Penjadwal berhenti" in result.output


def test_the_job_history_keeps_ninety_days(db):
    from models import JobStatus

    now = clock.now()
    runs = (("lama", 200, JobStatus.SELESAI, now), ("gagal", 100, JobStatus.GAGAL, now), ("baru", 10, "selesai", now))
    runs += (("jalan", 100, JobStatus.BERJALAN, now + timedelta(minutes=5)),)  # still held: never purged
    with db.transaction() as s:
        for key, days, status, lease in runs:
            moment = now - timedelta(days=days)
            s.add(JobRun(job_id="uji", run_key=key, holder="h", status=status, started_at=moment, lease_until=lease))
    assert jobs.purge_runs(db, now) == "2 jalan tugas lama dihapus"
    with db.read() as s:
        kept = sorted(s.scalars(select(JobRun.run_key).where(JobRun.job_id == "uji")))
    assert kept == ["baru", "jalan"]
    assert "riwayat_tugas" in db.registry.jobs


def test_a_period_of_the_other_rhythm_over_months_already_asked_is_not_opened(scheduled):
    """Switched from semester to quarterly while 2027-S1 is open: the calendar does not open 2027-Q2
    on top of it, and opening it by hand is refused, so no desa holds two drafts for one month."""
    db = scheduled
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "semester", 1, {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}, 3)
    fire(db, "siklus", at("2027-01-01T00:05"))
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", 1, {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}, 3)
    fire(db, "siklus", at("2027-04-01T00:05"))
    assert _count(db, Cycle) == 1 and _count(db, Submission, Submission.periode == "2027-Q2") == 0
    with pytest.raises(Conflict, match="bertumpang dengan siklus 2027-S1"):
        cycles.open_cycle(db, SYSTEM, "2027-Q2")


def test_a_switch_to_semesters_that_would_leave_months_asked_by_no_cycle_is_refused(scheduled):
    """2027-Q1 is open in February: semester 2027-S1 overlaps it and would never open, so April to
    June would be asked of no desa. The switch waits until 2027-Q2 is open, then 2027-S2 follows."""
    db = scheduled
    days = {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}
    fire(db, "siklus", at("2027-01-01T00:05"))
    with clock.frozen_at(at("2027-02-10T09:00")), db.transaction() as s, pytest.raises(Invalid) as refused:
        cycles.set_rhythm(s, SYSTEM, "semester", 1, days, 3)
    assert refused.value.problems[0].column == "ritme"
    assert "Bulan 2027-04 s.d. 2027-06 tak masuk siklus mana pun" in refused.value.problems[0].message
    fire(db, "siklus", at("2027-04-01T00:05"))
    with clock.frozen_at(at("2027-05-10T09:00")), db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "semester", 1, days, 3)
    fire(db, "siklus", at("2027-07-01T00:05"))
    with db.read() as s:
        assert sorted(s.scalars(select(Cycle.periode))) == ["2027-Q1", "2027-Q2", "2027-S2"]


def test_a_switch_after_the_first_cycle_ever_is_not_held_back_by_the_months_before_it(scheduled):
    """The province starts with 2027-Q4: July to September were asked by no cycle before there were
    any, and switching to semesters in November leaves nothing out from now on (2028-S1 opens in January)."""
    db = scheduled
    days = {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}
    fire(db, "siklus", at("2027-10-01T00:05"))
    with clock.frozen_at(at("2027-11-10T09:00")), db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "semester", 1, days, 3)
    fire(db, "siklus", at("2028-01-01T00:05"))
    with db.read() as s:
        assert sorted(s.scalars(select(Cycle.periode))) == ["2027-Q4", "2028-S1"]


def test_a_switch_back_to_quarters_inside_an_open_semester_leaves_nothing_out(scheduled):
    db = scheduled
    days = {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}
    with clock.frozen_at(at("2026-12-10T09:00")), db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "semester", 1, days, 3)
    fire(db, "siklus", at("2027-01-01T00:05"))
    with clock.frozen_at(at("2027-02-10T09:00")), db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", 1, days, 3)  # 2027-S1 already covers the quarter
        assert cycles.rhythm(s).ritme == "triwulan"
