"""The cycle's rules at their edges: deadlines in order may share a day; an ended desa is not expected."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from engine.core import clock
from engine.verification import cycles
from models import Cycle, Region, Submission, SubmissionStatus
from tests.factories import DESA, PERIOD, SYSTEM, make_team, returned_in_cycle


def test_two_tiers_may_share_a_deadline(db):
    """Desa ≤ kecamatan ≤ kabupaten ≤ provinsi: a regency that verifies on the kecamatan's last day is in order."""
    batas = {"desa": 30, "kecamatan": 45, "kabupaten": 45, "provinsi": 60}
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", 1, batas, 3)
    with db.read() as s:
        r = cycles.rhythm(s)
        assert (r.batas_desa, r.batas_kecamatan, r.batas_kabupaten, r.batas_provinsi) == (30, 45, 45, 60)


def test_a_desa_whose_code_has_ended_is_neither_opened_nor_counted_as_still_to_open(db):
    """Counted as expected but never opened, it would hold back the kecamatan's announcement for good."""
    with db.transaction() as s:
        s.get(Region, DESA).berakhir = date(2026, 1, 1)
    try:
        opened = cycles.open_cycle(db, SYSTEM, "2027-Q1", region="65.01.01")
    finally:
        with db.transaction() as s:  # the list of regions is shared by every test
            s.get(Region, DESA).berakhir = None
    assert (opened.expected, opened.opened, opened.already) == (8, 8, 0)
    with db.read() as s:
        assert s.scalar(select(Cycle.announced).where(Cycle.periode == "2027-Q1")) == ["65.01.01"]


def test_closing_leaves_a_returned_submission_with_its_desa(db):
    """A desa whose submission was returned did report: closing does not record it as not reporting,
    nor cancel the correction it owes."""
    sid = returned_in_cycle(db, make_team(db))
    result = cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    assert result["tidak_melapor"] == 8  # the kecamatan's other desa
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.DIKEMBALIKAN


def test_the_calendar_closes_a_cycle_at_the_provinces_deadline_not_the_regencys(db):
    """Day 60 is the kabupaten's deadline, day 75 the province's: between them the province still works."""
    opened = datetime.fromisoformat("2027-01-02T10:00+08:00")
    with clock.frozen_at(opened):
        cycles.open_cycle(db, SYSTEM, "2027-Q1", region=DESA)
    for day, closed in (("2027-03-05", False), ("2027-03-18", True)):
        moment = datetime.fromisoformat(f"{day}T00:05+08:00")
        with clock.frozen_at(moment):
            assert ("2027-Q1 ditutup" in cycles.calendar_day(db, SYSTEM, moment)) is closed
