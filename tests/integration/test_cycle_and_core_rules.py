"""The cycle's rules at their edges, and the invariant checker's reach.

- the rhythm: deadlines a day to a year after the opening, an opening day that every month has, a
  reminder at least a day ahead; a change of rhythm is kept on the trail;
- opening: each desa carries its active register records to re-verify; a desa whose code has
  ended is not expected anywhere in the province; a region's opening is announced once all of its
  desa are open, not before; a period opened at the very moment its desa deadline falls gives its
  desa a deadline still ahead;
- the calendar: a cycle may be closed from the instant of its desa deadline, and is closed at the
  instant of the province's; the desa are reminded once, from the first instant of the window; a task
  already late is escalated, never reminded as due soon; a closing is kept on the trail;
- a year's reporting runs cycle by cycle in the order the cycles end, whatever the rhythm;
- `sijosku check` names each broken invariant: an inbox row without a running instance, a task
  closed without its completion on the trail or completed twice, a record's versions with a gap, two
  instances for one desa and period, a broken audit chain;
- periods are of the years 2000 to 2100; a list is paged without losing or repeating a row, whatever
  page is asked; a search matches what was typed, its wildcards as letters, whatever the case; a lost
  race at the database (a deadlock, a serialisation failure, a lock wait) is tried again, four times
  in all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from engine.core import audit, clock, retry, searching
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid
from engine.core.paging import page_of
from engine.core.periods import validate_period
from engine.verification import consistency, coverage, cycles
from models import (
    AuditEvent,
    Cycle,
    HumanTask,
    InstanceStatus,
    ItemAction,
    ItemSource,
    OutboxEvent,
    ProcessInstance,
    Record,
    RecordStatus,
    Region,
    Submission,
    TaskStatus,
)
from tests.factories import DESA, SYSTEM, decide, items_of, make_team, open_with_items, register_record, submit

Q1 = "2027-Q1"
WITA = "+08:00"
ORDERED = {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + WITA)


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _deadline(db, periode: str, tier: str) -> datetime:
    with db.read() as s:
        return datetime.fromisoformat(s.scalar(select(Cycle.batas).where(Cycle.periode == periode))[tier])


# --- the rhythm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hari_buka, batas, pengingat, column",
    [
        (1, {**ORDERED, "desa": 0}, 3, "batas_desa"),  # due the moment it opens
        (1, {**ORDERED, "provinsi": 367}, 3, "batas_provinsi"),  # past a year: never closes in its year
        (29, ORDERED, 3, "hari_buka"),  # not a day of every month
        (1, ORDERED, 0, "pengingat_hari"),  # a reminder on the deadline itself is no reminder
    ],
)
def test_a_rhythm_outside_its_bounds_is_refused_and_nothing_is_written(db, hari_buka, batas, pengingat, column):
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", hari_buka, batas, pengingat)
    assert [p.column for p in refused.value.problems] == [column]


def test_a_rhythm_at_its_bounds_is_kept_and_the_change_is_on_the_trail(db):
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "semester", 28, {**ORDERED, "provinsi": 366}, 1)
    with db.read() as s:
        r = cycles.rhythm(s)
        assert (r.ritme, r.hari_buka, r.batas_provinsi, r.pengingat_hari) == ("semester", 28, 366, 1)
        trail = s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.CYCLE_RHYTHM_SET))
    assert trail is not None and trail.after["hari_buka"] == 28 and trail.after["batas"]["provinsi"] == 366


# --- opening ------------------------------------------------------------------------------------------


def test_a_desa_whose_code_has_ended_is_not_expected_by_the_province(db):
    """The cycle's expected count is the province's desa in use: an ended code would be counted as a
    desa never opened when the cycle closes."""
    with db.transaction() as s:
        s.get(Region, DESA).berakhir = date(2026, 1, 1)
    try:
        cycles.open_cycle(db, SYSTEM, Q1, region="65.01.01")
    finally:
        with db.transaction() as s:  # the list of regions is shared by every test
            s.get(Region, DESA).berakhir = None
    with db.read() as s:
        assert s.scalar(select(Cycle.expected).where(Cycle.periode == Q1)) == 481


def test_a_desa_opened_by_the_cycle_carries_its_active_register_to_re_verify(db):
    """The register is re-verified each period, not copied forward: each active record becomes an item to check."""
    with db.transaction() as s:
        s.add_all([register_record(1), register_record(2), register_record(3, status=RecordStatus.DIHAPUS)])
    cycles.open_cycle(db, SYSTEM, Q1, region=DESA)
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == DESA, Submission.periode == Q1))
    carried = items_of(db, sid)
    assert sorted(i.nik for i in carried) == sorted(register_record(n).nik for n in (1, 2))
    assert {(i.source, i.aksi) for i in carried} == {(ItemSource.REGISTER, ItemAction.PERIKSA)}


def test_a_region_is_announced_only_once_every_one_of_its_desa_is_open(db, monkeypatch):
    """A run that opened part of the kecamatan (another run still opening the rest) announces nothing;
    the run that finishes it announces it, once."""
    real = cycles.open_desa
    monkeypatch.setattr(cycles, "open_desa", lambda db, actor, p, desa, t: real(db, actor, p, desa[:-1], t))
    part = cycles.open_cycle(db, SYSTEM, Q1, region="65.01.01")
    assert (part.expected, part.opened) == (9, 8)
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.opened") == 0
    monkeypatch.setattr(cycles, "open_desa", real)
    rest = cycles.open_cycle(db, SYSTEM, Q1, region="65.01.01")
    assert (rest.opened, rest.already) == (1, 8)
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.opened") == 1
    with db.read() as s:
        assert s.scalar(select(Cycle.announced).where(Cycle.periode == Q1)) == ["65.01.01"]


def test_a_period_opened_at_the_instant_of_its_desa_deadline_gives_the_desa_a_deadline_ahead(db):
    opened = at("2027-01-31T00:00")  # day 30 of 2027-Q1: the calendar's desa deadline, to the second
    with clock.frozen_at(opened):
        cycles.open_cycle(db, SYSTEM, Q1, region=DESA)
    assert _deadline(db, Q1, "desa") == opened + timedelta(days=30)


# --- the calendar and closing ---------------------------------------------------------------------------


def test_a_cycle_may_be_closed_from_the_instant_of_its_desa_deadline_and_the_closing_is_on_the_trail(db):
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, Q1, region="65.01.01")
    with clock.frozen_at(_deadline(db, Q1, "desa")):
        outcome = cycles.close_cycle(db, SYSTEM, Q1)
    assert outcome["tidak_melapor"] == 9
    with db.read() as s:
        trail = s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.CYCLE_CLOSED))
        assert s.scalar(select(Cycle.status).where(Cycle.periode == Q1)) == "ditutup"
    assert trail is not None and trail.subject_id == Q1 and trail.after == outcome


def test_the_calendar_closes_a_cycle_at_the_instant_of_the_provinces_deadline(db):
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, Q1, region=DESA)
    last = _deadline(db, Q1, "provinsi")
    with clock.frozen_at(last):
        assert f"{Q1} ditutup" in cycles.calendar_day(db, SYSTEM, last)


def test_the_desa_are_reminded_once_from_the_first_instant_of_the_window(db):
    """Three days before a desa deadline of 15 February (no period opens in February)."""
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", 1, {**ORDERED, "desa": 45}, 3)
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, Q1, region=DESA)
    first = _deadline(db, Q1, "desa") - timedelta(days=3)
    assert first == at("2027-02-12T00:00")
    for moment, reminded in ((first - timedelta(seconds=1), False), (first, True), (first + timedelta(days=1), False)):
        with clock.frozen_at(moment):
            assert ("pengingat batas desa" in cycles.calendar_day(db, SYSTEM, moment)) is reminded, moment
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "cycle.closing_soon") == 1


def test_a_task_already_late_is_not_reminded_as_due_soon(db):
    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    with db.read() as s:
        due = s.scalar(select(HumanTask.due_at).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    with db.transaction() as s:
        assert cycles.remind_due_tasks(s, due + timedelta(hours=1), timedelta(days=3)) == 0
    with db.transaction() as s:
        # due exactly as many days ahead as the reminder: reminded
        assert cycles.remind_due_tasks(s, due - timedelta(days=3), timedelta(days=3)) == 1
    assert _count(db, OutboxEvent, OutboxEvent.event_type == "task.due_soon") == 1


def test_a_years_reporting_runs_by_the_day_each_cycle_ends_across_a_change_of_rhythm(db):
    """2026-S1 ends in June, 2026-Q3 in September: the latest reporting beside a figure is Q3's."""
    with db.transaction() as s:
        for periode in ("2026-Q3", "2026-S1"):
            s.add(
                Cycle(
                    periode=periode,
                    region_kode="65",
                    status="ditutup",
                    batas={"desa": "2026-12-31T00:00:00+00:00"},
                    expected=0,
                    announced=[],
                )
            )
    with db.read() as s:
        year = coverage.of_year(s, "65", 2026)
    assert list(dict.fromkeys(c.periode for c in year)) == ["2026-S1", "2026-Q3"]
    assert {c.periode for c in coverage.latest_by_region(year).values()} == {"2026-Q3"}


# --- the invariant checker ------------------------------------------------------------------------------


def _checked(db) -> list[str]:
    with db.read() as s:
        return consistency.check(s).problems


def _decided_once(db) -> tuple[int, int]:
    """Gunung Putih submitted and approved by its kecamatan: (the instance, the kecamatan's closed task)."""
    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)
    decide(db, team.kecamatan, sid, "approve")
    with db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "selesai"))
    assert _checked(db) == []
    return task.instance_id, task.id


def test_the_checker_names_an_open_inbox_row_whose_instance_no_longer_runs(db):
    instance_id, _ = _decided_once(db)
    with db.transaction() as s:
        s.execute(update(ProcessInstance).values(status=InstanceStatus.DIBATALKAN))
    assert f"instans {instance_id}: kotak tugas terbuka, tetapi instansnya tidak berjalan" in _checked(db)


def test_the_checker_names_an_inbox_row_the_process_does_not_hold(db):
    instance_id, _ = _decided_once(db)
    with db.transaction() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.status == TaskStatus.TERBUKA))
        columns = {c.key: getattr(task, c.key) for c in HumanTask.__table__.columns if c.key != "id"}
        s.add(HumanTask(**{**columns, "spiff_task_id": "00000000-0000-0000-0000-000000000000"}))
    assert any(p.startswith(f"instans {instance_id}: tugas siap") for p in _checked(db))


def test_the_checker_names_a_task_closed_without_its_completion_or_completed_twice(db):
    instance_id, task_id = _decided_once(db)
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.TASK_COMPLETED, "human_task", task_id, human_task_id=task_id)
    assert _checked(db) == [f"tugas {task_id} diselesaikan 2 kali"]
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.human_task_id == task_id).values(action="X"))
    assert f"tugas {task_id} selesai tanpa catatan audit penyelesaiannya" in _checked(db)


def test_the_checker_names_a_record_whose_versions_have_a_gap(db):
    with db.transaction() as s:
        record = register_record(1, versi=2)
        s.add(record)
        s.flush()
        record_id = record.id
    assert _checked(db) == [f"catatan {record_id}: versi None..None (0 baris) untuk versi 2"]


def test_the_checker_names_two_instances_of_one_desa_and_period(db):
    open_with_items(db)
    with db.transaction() as s:
        first = s.scalar(select(ProcessInstance))
        columns = {c.key: getattr(first, c.key) for c in ProcessInstance.__table__.columns if c.key != "id"}
        s.add(ProcessInstance(**{**columns, "business_key": "kedua", "status": InstanceStatus.SELESAI}))
    assert _checked(db) == [f"desa {DESA} periode 2026-Q4: 2 instans proses"]


def test_the_checker_names_a_broken_audit_chain(db):
    open_with_items(db)
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="orang-lain"))
    assert len(_checked(db)) == 1


# --- periods, pages, searches, retries -------------------------------------------------------------------


@pytest.mark.parametrize("periode", ["2000-Q1", "2100-S2"])
def test_a_period_of_the_first_or_last_year_allowed_is_valid(periode):
    assert validate_period(periode) == periode


@pytest.mark.parametrize("periode", ["1999-Q4", "2101-Q1"])
def test_a_period_outside_the_years_allowed_is_refused(periode):
    with pytest.raises(Invalid):
        validate_period(periode)


@pytest.mark.parametrize("total", [0, 1, 9, 10, 11, 20, 21])
def test_paging_shows_every_row_once(total):
    size = 10
    _, pages, _ = page_of(total, 1, size)
    shown = [row for n in range(1, pages + 1) for row in range(total)[page_of(total, n, size)[2] :][:size]]
    assert shown == list(range(total)) and pages == max(1, -(-total // size))


@pytest.mark.parametrize("asked, page", [(-3, 1), (0, 1), (1, 1), (3, 3), (4, 3), (99, 3)])
def test_a_page_asked_out_of_range_is_the_nearest_page(asked, page):
    assert page_of(21, asked, 10) == (page, 3, (page - 1) * 10)


def test_a_search_matches_what_was_typed_its_wildcards_and_escape_as_letters(db):
    names = ["Ina 100% Pulih", "Ina_Pulih", "Ina\\Pulih", "Ina Pulih", "INAYAH"]
    with db.transaction() as s:
        s.add_all(register_record(n + 1, nama=nama) for n, nama in enumerate(names))

    def found(text: str) -> set[str]:
        with db.read() as s:
            return set(s.scalars(select(Record.nama).where(searching.containing(Record.nama, text))))

    assert found("%") == {"Ina 100% Pulih"}
    assert found("a_p") == {"Ina_Pulih"}
    assert found("\\") == {"Ina\\Pulih"}
    assert found("inay") == {"INAYAH"}  # whatever the case
    assert found("ina pULIH") == {"Ina Pulih"}


def test_a_code_search_matches_from_the_start_only(db):
    with db.read() as s:
        codes = set(s.scalars(select(Region.kode).where(searching.starting_with(Region.kode, "01.01"))))
        under = set(s.scalars(select(Region.kode).where(searching.starting_with(Region.kode, "65.01.01."))))
        literal = set(s.scalars(select(Region.kode).where(searching.starting_with(Region.kode, "65_01"))))
    assert codes == set() and literal == set() and DESA in under


class _Driver(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _lost(sqlstate: str | None = None) -> DBAPIError:
    return DBAPIError("UPDATE ...", {}, _Driver(sqlstate))


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "55P03"])
def test_a_deadlock_a_serialisation_failure_and_a_lock_wait_are_lost_races(sqlstate):
    assert retry.is_lost_race(_lost(sqlstate))


def test_a_lost_race_is_tried_four_times_in_all_and_a_later_success_is_returned():
    calls = []

    def losing() -> str:
        calls.append(1)
        raise _lost("40P01")

    with pytest.raises(Conflict):
        retry.retrying(losing)
    assert len(calls) == 4
    calls.clear()

    def winning_last() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise _lost("40001")
        return "disimpan"

    assert retry.retrying(winning_last) == "disimpan" and len(calls) == 4
