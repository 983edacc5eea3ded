"""Opening and closing update cycles, as the desa, their verifiers and the province's administrators meet it.

- a period opens on the rhythm's opening day of its first month (a semester's second half in July),
  and its deadlines count from that day; the calendar opens it on that day or any later day of the
  month whose run was missed, never before;
- a desa that reported an earlier period is asked again in the next one; the opening is kept on the
  trail once, however often it is run;
- a region is announced once all of its own desa are open, with the desa's deadline, naming the
  regions within it announced before;
- the calendar finishes an opening left halfway the next day; it neither reminds of a desa deadline
  already past nor looks again at a cycle closed early;
- closing: a silent desa is recorded with its deadline's last day, a second closing
  names the day of the first where the people are, and desa ended since the opening never make the
  count of desa not opened negative;
- the status page shows the newest period unless another one in use is asked for.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict
from engine.verification import cycles
from models import AuditEvent, Cycle, OutboxEvent, Region, Submission
from tests.factories import DESA, KABUPATEN, KECAMATAN, SYSTEM

WITA = "+08:00"
ORDERED = {"desa": 30, "kecamatan": 45, "kabupaten": 60, "provinsi": 75}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + WITA)


def _rhythm(db, ritme: str = "triwulan", hari_buka: int = 1) -> None:
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, ritme, hari_buka, ORDERED, 3)


def _deadlines(db, periode: str) -> dict[str, datetime]:
    with db.read() as s:
        batas = s.scalar(select(Cycle.batas).where(Cycle.periode == periode))
    return {tier: datetime.fromisoformat(moment) for tier, moment in batas.items()}


def _submissions(db, periode: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Submission).where(Submission.periode == periode))


def _events(db, name: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == name))


# --- when a period opens, and its deadlines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ritme", "hari_buka", "periode", "opened", "tier", "due"),
    [
        ("semester", 1, "2027-S2", "2027-07-02T10:00", "desa", "2027-07-31T00:00"),  # the second half opens in July
        ("semester", 1, "2027-S2", "2027-07-02T10:00", "provinsi", "2027-09-14T00:00"),
        ("triwulan", 5, "2027-Q1", "2027-01-05T10:00", "desa", "2027-02-04T00:00"),  # from the 5th, not the 1st
        ("triwulan", 5, "2027-Q1", "2027-01-05T10:00", "kecamatan", "2027-02-19T00:00"),
    ],
)
def test_the_deadlines_count_from_the_periods_opening_day(db, ritme, hari_buka, periode, opened, tier, due):
    """A period opens on the rhythm's opening day of its first month (a semester's second half in July)."""
    _rhythm(db, ritme, hari_buka)
    with clock.frozen_at(at(opened)):
        cycles.open_cycle(db, SYSTEM, periode, region=DESA)
    assert _deadlines(db, periode)[tier] == at(due)


def test_the_calendar_opens_a_period_from_its_opening_day_on_and_catches_up_a_missed_day(db):
    """Opening day the 5th: nothing opens on the 4th; the runs of the 5th and 6th were missed, the
    run of the 7th opens the quarter."""
    _rhythm(db, hari_buka=5)
    with clock.frozen_at(at("2027-01-04T00:05")):
        cycles.calendar_day(db, SYSTEM, clock.now())
    assert _submissions(db, "2027-Q1") == 0
    with clock.frozen_at(at("2027-01-07T00:05")):
        said = cycles.calendar_day(db, SYSTEM, clock.now())
    assert "2027-Q1: 482 desa dibuka" in said and _submissions(db, "2027-Q1") == 482


# --- who is asked --------------------------------------------------------------------------------------


def test_a_desa_that_reported_the_last_period_is_asked_again_in_the_next(db):
    cycles.open_cycle(db, SYSTEM, "2026-Q4", region=KECAMATAN)
    opened = cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)
    assert (opened.expected, opened.opened, opened.already) == (9, 9, 0)
    assert _submissions(db, "2027-Q1") == 9


def test_an_opening_is_kept_on_the_trail_once_with_its_deadlines_however_often_it_runs(db):
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.02")
    with db.read() as s:
        trail = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.CYCLE_OPENED)).all()
    assert [(t.subject_type, t.subject_id) for t in trail] == [("update_cycle", "2027-Q1")]
    assert datetime.fromisoformat(trail[0].after["batas"]["desa"]) == at("2027-01-31T00:00")


# --- the announcement of an opening ----------------------------------------------------------------------


def test_a_regencys_opening_names_the_kecamatan_announced_before_and_the_desas_deadline(db):
    """The kecamatan's desa heard of the opening when it was opened alone: the regency's announcement
    says so, so its operators are not told twice, and gives the desa's deadline, not the province's."""
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KABUPATEN)
    with db.read() as s:
        told = s.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "cycle.opened").order_by(OutboxEvent.id)
        ).all()
    assert [(p["region_kode"], list(p["sudah"])) for p in told] == [(KECAMATAN, []), (KABUPATEN, [KECAMATAN])]
    assert {datetime.fromisoformat(p["batas"]) for p in told} == {at("2027-01-31T00:00")}
    assert told[1]["dibuka"] == _submissions(db, "2027-Q1") > told[0]["dibuka"] == 9


def test_a_kecamatan_is_announced_only_when_its_own_desa_are_all_open_whatever_else_is_open(db, monkeypatch):
    """Another kecamatan already open does not make a half-opened one look complete."""
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.02")
    real = cycles.open_desa
    monkeypatch.setattr(cycles, "open_desa", lambda db, actor, p, desa, t: real(db, actor, p, desa[:-1], t))
    part = cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)
    assert (part.expected, part.opened) == (9, 8)
    with db.read() as s:
        assert s.scalar(select(Cycle.announced).where(Cycle.periode == "2027-Q1")) == ["65.01.02"]


# --- the calendar --------------------------------------------------------------------------------------


def test_the_calendar_finishes_on_the_next_day_an_opening_left_halfway(db, monkeypatch):
    real = cycles.open_desa
    monkeypatch.setattr(cycles, "open_desa", lambda db, actor, p, desa, t: real(db, actor, p, desa[:-1], t))
    cycles.calendar_day(db, SYSTEM, at("2027-01-01T00:05"))
    assert _submissions(db, "2027-Q1") == 481
    monkeypatch.setattr(cycles, "open_desa", real)
    assert "2027-Q1: 1 desa dibuka" in cycles.calendar_day(db, SYSTEM, at("2027-01-02T00:05"))
    assert _submissions(db, "2027-Q1") == 482


def test_the_desa_are_not_reminded_of_a_deadline_already_past(db):
    """The calendar did not run in the three days before the desa's deadline: after it, no reminder
    of a deadline to come is sent."""
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=DESA)
    moment = at("2027-02-01T00:05")
    with clock.frozen_at(moment):
        assert "pengingat batas desa" not in cycles.calendar_day(db, SYSTEM, moment)
    assert _events(db, "cycle.closing_soon") == 0


def test_a_cycle_closed_early_is_neither_reminded_nor_closed_again_by_the_calendar(db):
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=DESA)
        cycles.close_cycle(db, SYSTEM, "2027-Q1", early=True)
    for moment in (at("2027-01-29T00:05"), at("2027-03-20T00:05")):
        with clock.frozen_at(moment):
            said = cycles.calendar_day(db, SYSTEM, moment)
        assert "2027-Q1" not in said, said
    assert _events(db, "cycle.closing_soon") == 0 and _events(db, "cycle.closed") == 1


# --- closing -------------------------------------------------------------------------------------------


def test_a_silent_desa_is_recorded_with_its_deadlines_last_day_and_a_second_closing_names_the_local_day(db):
    """Closed at 03:00 WITA on 3 March (still 2 March in UTC): the desa's last day was 30 January."""
    with clock.frozen_at(at("2027-01-02T10:00")):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=DESA)
    with clock.frozen_at(at("2027-03-03T03:00")):
        cycles.close_cycle(db, SYSTEM, "2027-Q1")
        with pytest.raises(Conflict, match="sudah ditutup pada 03-03-2027"):
            cycles.close_cycle(db, SYSTEM, "2027-Q1")
    with db.read() as s:
        reason = s.scalar(select(Submission.alasan_terakhir).where(Submission.kode_desa == DESA))
    assert reason == "tidak mengajukan data sampai batas 30-01-2027 (siklus ditutup)"


def test_a_desa_ended_after_the_opening_does_not_make_the_unopened_count_negative(db):
    cycles.open_cycle(db, SYSTEM, "2027-Q1")
    with db.transaction() as s:
        s.get(Region, DESA).berakhir = date(2027, 1, 10)
    try:
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=KECAMATAN)  # the opening run again, after the update
        outcome = cycles.close_cycle(db, SYSTEM, "2027-Q1", early=True)
    finally:
        with db.transaction() as s:  # the list of regions is shared by every test
            s.get(Region, DESA).berakhir = None
    assert outcome["tidak_dibuka"] == 0 and outcome["tidak_melapor"] == 482


# --- the status page -----------------------------------------------------------------------------------


def test_the_status_page_shows_the_newest_period_in_use_unless_another_is_asked_for(db):
    cycles.open_cycle(db, SYSTEM, "2026-Q4", region=DESA)
    cycles.open_cycle(db, SYSTEM, "2027-Q1", region=DESA)
    with db.read() as s:
        newest = cycles.status_page(s, SYSTEM, "", "", "65")
        older = cycles.status_page(s, SYSTEM, "2026-Q4", "", "65")
        unknown = cycles.status_page(s, SYSTEM, "2025-Q1", "", "65")
    assert (newest.periode, newest.known, newest.notes) == ("2027-Q1", ["2027-Q1", "2026-Q4"], [])
    assert older.periode == "2026-Q4"
    assert unknown.periode == "2027-Q1"
    assert unknown.notes == ["Periode 2025-Q1 belum pernah dibuka; ditampilkan 2027-Q1"]
