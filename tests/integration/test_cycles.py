"""Update cycles: every desa opened exactly once (even run twice or after a crash), closing, status."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from engine.bpmn import timers
from engine.core import audit, clock
from engine.core.errors import Invalid
from engine.people import users
from engine.verification import cycle_batches, cycles, imports, submissions
from models import AuditEvent, Cycle, HumanTask, OutboxEvent, ProcessInstance, Submission, SubmissionStatus
from tests.factories import SYSTEM, approved_everywhere, csv_of, decide, make_team, open_with_items, person_row, submit

PERIOD = "2026-Q4"


def _count(db, model, *where):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _submitted_in_cycle(db):
    """The kecamatan's cycle opened, and Gunung Putih's submission imported and submitted."""
    team = make_team(db)
    with clock.frozen_at(datetime.fromisoformat("2026-10-05T08:00+08:00")):  # within the desa's deadline
        cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == "65.01.01.2005"))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    submit(db, team.operator, sid)
    return team, sid


def test_a_cycle_opens_every_desa_of_the_province_exactly_once(db):
    first = cycles.open_cycle(db, SYSTEM, PERIOD)
    assert (first.expected, first.opened, first.already) == (482, 482, 0)
    again = cycles.open_cycle(db, SYSTEM, PERIOD)
    assert (again.opened, again.already) == (0, 482)
    assert _count(db, Submission, Submission.periode == PERIOD) == 482
    assert _count(db, ProcessInstance) == 482
    assert _count(db, HumanTask, HumanTask.status == "terbuka") == 482
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "task.created") == 482
    with db.read() as s:
        assert audit.verify_chain(s).ok
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "SUBMISSION_OPENED"))
            == 482
        )


def test_a_crash_halfway_is_resumed_without_opening_a_desa_twice(db, monkeypatch):
    real, calls = cycle_batches._open_many, []

    def crash_on_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("listrik padam")
        return real(*args, **kwargs)

    monkeypatch.setattr(cycle_batches, "BATCH", 100)
    monkeypatch.setattr(cycle_batches, "_open_many", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        cycles.open_cycle(db, SYSTEM, PERIOD)
    assert _count(db, Submission) == 200  # two whole batches, nothing of the third
    monkeypatch.setattr(cycle_batches, "_open_many", real)
    resumed = cycles.open_cycle(db, SYSTEM, PERIOD)
    assert (resumed.opened, resumed.already) == (282, 200)
    assert _count(db, Submission) == 482 and _count(db, ProcessInstance) == 482


def test_a_desa_opened_meanwhile_is_skipped_by_its_key_not_by_reading_first(db, statements, monkeypatch):
    """A desa an operator opened after the cycle's first look is left as it is; the batch does not
    read the period's submissions first (on a new period PostgreSQL's planner read all of them)."""
    real_open_desa = cycles.open_desa

    def operator_opens_one_first(db_, actor, periode, desa, template):
        with db_.transaction() as s:
            submissions.open_submission(s, SYSTEM, desa[1], periode, "65")
        statements.clear()
        return real_open_desa(db_, actor, periode, desa, template)

    monkeypatch.setattr(cycles, "open_desa", operator_opens_one_first)
    opened = cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    assert opened.opened == opened.expected - 1
    assert not [q for q in statements if q.startswith("SELECT submission.kode_desa FROM submission")]
    with db.read() as s:
        per_desa = s.execute(
            select(Submission.kode_desa, func.count())
            .where(Submission.periode == PERIOD)
            .group_by(Submission.kode_desa)
        ).all()
        instances = s.scalar(select(func.count()).select_from(ProcessInstance))
    assert len(per_desa) == opened.expected and {n for _, n in per_desa} == {1}
    assert instances == opened.expected  # the operator's own, and one for each desa the cycle opened
    assert _count(db, HumanTask, HumanTask.status == "terbuka") == opened.expected


def test_opening_renews_postgresql_statistics_as_the_tables_grow(db, is_postgresql, monkeypatch):
    """After batches 1, 2, 4 … the tables a cycle fills are analysed, so that plans made while they
    were small (a foreign-key check reading every task, per new row) do not outlive their size."""
    if not is_postgresql:
        pytest.skip("planner statistics are PostgreSQL's; SQLite plans each statement afresh")

    def analysed() -> int:
        with db.read() as s:
            s.execute(text("SELECT pg_stat_clear_snapshot()"))
            return s.scalar(text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'human_task'"))

    before = analysed()
    monkeypatch.setattr(cycle_batches, "BATCH", 100)
    opened = cycles.open_cycle(db, SYSTEM, PERIOD)
    assert opened.opened == 482  # five batches: statistics renewed after the first, second and fourth
    for _ in range(200):  # a backend publishes its counters when idle, at least a second apart (up to 10 s)
        if analysed() - before >= 3:
            break
        time.sleep(0.1)
    assert analysed() - before >= 3  # more only if an earlier test's analyses were published late


def test_a_bulk_opened_submission_runs_the_whole_process(db):
    team, sid = _submitted_in_cycle(db)
    approved_everywhere(db, team, sid)
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.TERVERIFIKASI


def test_closing_marks_silent_desa_as_not_reported_and_escalates_late_tasks(db):
    team, sid = _submitted_in_cycle(db)
    with db.read() as s:
        due = s.scalar(select(HumanTask.due_at).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    with clock.frozen_at(due + timedelta(hours=1)):
        result = cycles.close_cycle(db, SYSTEM, PERIOD)
    silent = _count(db, Submission, Submission.status == SubmissionStatus.TIDAK_MELAPOR)
    assert (result["tidak_melapor"], result["eskalasi"]) == (silent, 1) and silent == _count(db, Submission) - 1
    with db.read() as s:  # the province's other desa were never opened: counted apart, not as silent
        expected = s.scalar(select(Cycle.expected).where(Cycle.periode == PERIOD))
    assert result["tidak_dibuka"] == expected - _count(db, Submission) > 0
    with db.read() as s:
        example = s.scalar(select(Submission).where(Submission.status == SubmissionStatus.TIDAK_MELAPOR).limit(1))
        assert "tidak mengajukan" in example.alasan_terakhir
        assert s.get(Submission, sid).status == SubmissionStatus.DIAJUKAN  # the one that reported goes on
        assert (
            s.scalar(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.status == "terbuka", HumanTask.tingkat == "desa")
            )
            == 0
        )
        assert (
            s.scalar(select(HumanTask.overdue).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
            is True
        )
        assert audit.verify_chain(s).ok


def test_status_counts_expected_submitted_on_time_and_verified(db):
    team, sid = _submitted_in_cycle(db)
    decide(db, team.kecamatan, sid, "approve")
    with db.read() as s:
        rows = {r.kode: r for r in cycles.status(s, SYSTEM, PERIOD, "65.01")}
    row = rows["65.01.01"]
    assert row.expected == 9 and row.submitted == 1 and row.on_time + row.late == 1
    assert row.verified == {"kecamatan": 1, "kabupaten": 0, "provinsi": 0}
    assert rows["65.01.02"].submitted == 0

    def verified() -> dict[str, int]:
        with db.read() as s:
            return {r.kode: r for r in cycles.status(s, SYSTEM, PERIOD, "65.01")}["65.01.01"].verified

    decide(db, team.kabupaten, sid, "return", reason="alamat belum lengkap")
    assert verified() == {"kecamatan": 0, "kabupaten": 0, "provinsi": 0}  # back at the desa: undone
    submit(db, team.operator, sid)
    assert verified()["kecamatan"] == 0  # the new round waits for the kecamatan again
    decide(db, team.kecamatan, sid, "approve")
    assert verified() == {"kecamatan": 1, "kabupaten": 0, "provinsi": 0}


@pytest.mark.parametrize(
    "period, region, message",
    [("2026-Q5", None, "Periode"), (PERIOD, "65.99", "tidak dikenal"), (PERIOD, "11.01", "luar provinsi")],
)
def test_bad_periods_and_regions_are_refused(db, period, region, message):
    with pytest.raises(Invalid, match=message):
        cycles.open_cycle(db, SYSTEM, period, region)
    assert _count(db, Submission) == 0


def test_a_single_desa_can_be_opened_by_its_own_code(db):
    opened = cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01.2005")
    assert (opened.opened, opened.already) == (1, 0)
    assert _count(db, Submission, Submission.periode == PERIOD) == 1
    assert cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01.2005").already == 1


def _kecamatan_due_when_submitted(db, desa, operator, day):
    """Submit `desa`'s import on day `day` of the 2027-Q1 cycle; the kecamatan task's due time."""
    start = datetime(2027, 1, 1, tzinfo=UTC) - timedelta(hours=8)  # the cycle opens at midnight WITA
    with clock.frozen_at(start + timedelta(days=day)):
        with db.transaction() as s:  # opened by the cycle, or now for a desa outside the cycle's region
            sid = submissions.open_submission(s, SYSTEM, desa, "2027-Q1", "65").submission.id
            imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
        submit(db, operator, sid)
    with db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    return start, task


def test_a_verifier_task_is_due_by_its_tier_deadline_in_the_cycle_when_that_is_nearer(db):
    """The kecamatan must be done by day 45 of the cycle: a submission arriving on day 40 is due then,
    not fourteen days later; one arriving on day 10 keeps its fourteen days; one arriving after day 45
    came late from below and gets the process's time. The calendar escalates at that time, once."""
    operators = {"65.01.01.2005": make_team(db).operator}
    with db.transaction() as s:
        for desa in ("65.01.01.1001", "65.01.01.1002", "65.01.02.2001"):
            operators[desa] = users.add_user(s, SYSTEM, f"op.{desa[-4:]}", "operator", desa).username
    with clock.frozen_at(datetime(2026, 12, 31, 16, 5, tzinfo=UTC)):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    start, late_in_cycle = _kecamatan_due_when_submitted(db, "65.01.01.2005", operators["65.01.01.2005"], 40)
    assert late_in_cycle.due_at == start + timedelta(days=45)
    _, early = _kecamatan_due_when_submitted(db, "65.01.01.1001", operators["65.01.01.1001"], 10)
    assert early.due_at == start + timedelta(days=24)
    _, after = _kecamatan_due_when_submitted(db, "65.01.01.1002", operators["65.01.01.1002"], 50)
    assert after.due_at == start + timedelta(days=64)
    _, opened_alone = _kecamatan_due_when_submitted(db, "65.01.02.2001", operators["65.01.02.2001"], 41)
    assert opened_alone.due_at == start + timedelta(days=45)
    for day, late in ((44, 1), (46, 2)):  # the early one on day 24, the two due by the cycle on day 45
        with clock.frozen_at(start + timedelta(days=day)), db.transaction() as s:
            assert cycles.escalate_late(s, SYSTEM, clock.now()) == late
    assert timers.fire_due_timers(db, start + timedelta(days=56)) == 3  # their processes' own timers
    # each escalated once: the calendar saw them first, their timers found them escalated
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "task.overdue") == 3


def test_a_regions_status_reads_the_tasks_of_its_own_desa_and_no_others(db, statements):
    """A kabupaten's status reads the tasks of its own desa's submissions: another kabupaten's tasks
    are not read at all (made unreadable here, they would fail the count)."""
    team, sid = _submitted_in_cycle(db)
    decide(db, team.kecamatan, sid, "approve")
    elsewhere = "65.02.01.2005"  # Pulau Sapi, Kabupaten Malinau
    other = make_team(db, desa=elsewhere)
    other_sid = open_with_items(db, desa=elsewhere)
    submit(db, other.operator, other_sid)
    decide(db, other.kecamatan, other_sid, "approve")
    with db.transaction() as s:  # no tier of this name: reading the row would fail
        s.execute(text("UPDATE human_task SET tingkat = 'rusak' WHERE kode_desa = :desa"), {"desa": elsewhere})
    statements.clear()
    with db.read() as s:
        rows = {r.kode: r for r in cycles.status(s, SYSTEM, PERIOD, "65.01")}
    assert rows["65.01.01"].submitted == 1
    assert rows["65.01.01"].verified == {"kecamatan": 1, "kabupaten": 0, "provinsi": 0}
    task_reads = [q for q in statements if "FROM human_task" in q]
    assert len(task_reads) == 3
    assert all("submission.kode_desa LIKE" in q for q in task_reads)


def test_a_period_opened_after_its_desa_deadline_counts_its_deadlines_from_the_opening(db):
    """2026-Q2 opened on 4 December (its calendar window ended on 15 June): with the calendar's
    deadlines the next daily run would close it with every desa not reported. 2026-Q4 opened the
    same day is still in its window, but its desa deadline (31 October) has passed: every desa
    would be late on the day it was asked."""
    now = datetime.fromisoformat("2026-12-04T10:00+08:00")
    for periode in ("2026-Q2", "2026-Q4"):
        with clock.frozen_at(now):
            cycles.open_cycle(db, SYSTEM, periode, region="65.01.01.2005")
        with db.read() as s:
            batas = s.scalar(select(Cycle.batas).where(Cycle.periode == periode))
        assert batas["desa"] == datetime.fromisoformat("2027-01-03T00:00+08:00").astimezone(UTC).isoformat()
    assert cycles.calendar_day(db, SYSTEM, now + timedelta(days=1)).count("ditutup") == 0


def test_a_period_opened_late_before_its_desa_deadline_keeps_the_calendars_deadlines(db):
    with clock.frozen_at(datetime.fromisoformat("2026-10-20T10:00+08:00")):
        cycles.open_cycle(db, SYSTEM, "2026-Q4", region="65.01.01.2005")
    with db.read() as s:
        batas = s.scalar(select(Cycle.batas).where(Cycle.periode == "2026-Q4"))
    assert batas["desa"] == datetime.fromisoformat("2026-10-31T00:00+08:00").astimezone(UTC).isoformat()
