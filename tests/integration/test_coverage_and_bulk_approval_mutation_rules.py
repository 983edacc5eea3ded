"""What the province relies on from a year's reporting, the integrity check and a bulk approval.

- a year's reporting holds that year's cycles only, and a regency recoded twice in a row counts
  under the code in use today, with every desa that did not report;
- the integrity check does not take tasks a closed cycle cancelled for a problem, and its JSON says
  how many running instances it looked at;
- an operator editing a submission verified or closed as not reported is told which;
- a bulk approval or return refuses a blank reason whole, takes a region's tasks by desa, and
  refuses a region with more tasks than one action may take rather than approving part of it
  silently.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict, Invalid
from engine.quality import completeness
from engine.verification import bulk_approval, consistency, coverage, cycles, imports
from models import (
    Cycle,
    CycleStatus,
    Decision,
    HumanTask,
    Region,
    RegionChange,
    RegionChangeKind,
    Submission,
    TaskStatus,
    Tier,
)
from tests.factories import (
    DESA,
    KECAMATAN,
    PERIOD,
    SYSTEM,
    actor,
    approved_everywhere,
    csv_of,
    make_team,
    open_task,
    open_with_items,
    person_row,
    submit,
)
from tests.integration.test_cli_rules import as_json
from tests.integration.test_judging_rules import _at_kabupaten, _two_desa_at_kabupaten
from tests.regions import regions_restored  # noqa: F401

NEIGHBOUR = "65.01.01.2006"


# --- a year's reporting ----------------------------------------------------------------------------------


def test_a_years_reporting_holds_only_the_cycles_of_that_year(db):
    """A cycle of the year before (2025-Q4) and of the year after are not lines of 2026's reporting."""
    cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)
    with db.transaction() as s:
        batas = s.scalar(select(Cycle.batas).where(Cycle.periode == PERIOD))
        for periode in ("2025-Q4", "2027-Q1"):
            s.add(Cycle(periode=periode, region_kode="65", status=CycleStatus.DITUTUP, batas=batas))
    with db.read() as s:
        year = coverage.of_year(s, "65", 2026)
    assert {c.periode for c in year} == {PERIOD}
    assert len(year) == len({c.kode for c in year})  # one line per regency


@pytest.mark.usefixtures("regions_restored")
def test_a_regency_recoded_twice_counts_under_todays_code_with_every_desa_that_did_not_report(db, monkeypatch):
    """65.08 became 65.09, which in turn was carried on by 65.03: the desa of both earlier codes count
    with 65.03's, the silent ones included, and neither ended code has a line of its own."""
    decree = {"dasar": "Kepmendagri 1/2026", "berlaku": date(2026, 6, 1)}
    with db.transaction() as s:
        for kode in ("65.08", "65.09"):
            s.add(Region(kode=kode, nama=f"Lama {kode}", tingkat=Tier.KABUPATEN, induk="65", berakhir=date(2026, 6, 1)))
        s.flush()
        s.add(RegionChange(kode="65.08", perubahan=RegionChangeKind.BERAKHIR, terkait="65.09", **decree))
        s.add(RegionChange(kode="65.09", perubahan=RegionChangeKind.BERAKHIR, terkait="65.03", **decree))
        s.add(Cycle(periode="2026-Q1", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    tallied = [
        completeness.Status("65.03", "65.03", expected=3, submitted=1, not_reported=2),
        completeness.Status("65.08", "65.08", expected=2, submitted=1, not_reported=1),
    ]
    monkeypatch.setattr(completeness, "tally", lambda *_, **__: tallied)
    with db.read() as s:
        lines = {c.kode: c for c in coverage.of_year(s, "65", 2026)}
    assert "65.08" not in lines and "65.09" not in lines
    today = lines["65.03"]
    assert (today.diharapkan, today.melapor, today.tidak_melapor) == (5, 2, 3)


# --- the integrity check ---------------------------------------------------------------------------------


def test_tasks_a_closed_cycle_cancelled_are_not_a_problem_of_the_integrity_check(db):
    """Desa that never submitted are marked as not reported when the cycle closes, and their open
    tasks are cancelled, not completed: the check finds nothing wrong with that."""
    make_team(db)
    cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)
    cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    with db.read() as s:
        cancelled = s.scalars(select(HumanTask.id).where(HumanTask.status == TaskStatus.DIBATALKAN)).all()
        report = consistency.check(s)
    assert cancelled, "the cycle's closing cancelled the silent desa's tasks"
    assert report.problems == [] and report.ok


def test_the_integrity_check_says_in_json_how_many_running_instances_it_looked_at(cli, db):
    make_team(db)
    open_with_items(db)
    open_with_items(db, desa=NEIGHBOUR)
    assert as_json(cli("check", "--json")) == {"ok": True, "instances": 2, "problems": []}


# --- a bulk approval -------------------------------------------------------------------------------------


@pytest.mark.parametrize("alasan", ["", "   ", "\n\t"])
def test_a_bulk_return_with_a_blank_reason_is_refused_whole_and_nothing_goes_back(db, alasan):
    submission_id, task_id = _at_kabupaten(db)
    with pytest.raises(Invalid, match="Alasan pengembalian wajib"), db.transaction() as s:
        bulk_approval.approve_many(
            s, actor(db, "verif.kab"), task_ids=[task_id], keputusan=Decision.KEMBALIKAN, alasan=alasan
        )
    assert open_task(db, submission_id, "kabupaten").id == task_id


def test_a_bulk_approval_of_a_region_takes_its_desa_in_code_order_whatever_order_they_came_up_in(db, monkeypatch):
    """The neighbour's submission reached the kabupaten first; with room for one desa's items, the
    first desa by code (Gunung Putih) is approved and the neighbour is left for the same action again."""
    neighbour, ours = _two_desa_at_kabupaten(db, (NEIGHBOUR, DESA))
    assert neighbour < ours
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", 2)
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01", periode=PERIOD)
    assert (outcome.decided, outcome.left, outcome.refused) == ([ours], [neighbour], {})
    with db.transaction() as s:
        again = bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01", periode=PERIOD)
    assert (again.decided, again.left) == ([neighbour], [])


@pytest.mark.parametrize("bound, approved", [(2, True), (1, False)])
def test_a_region_with_more_open_tasks_than_one_action_may_take_is_refused_whole(db, monkeypatch, bound, approved):
    """Two open tasks: at a bound of two both are approved; at a bound of one the action is refused
    and nothing is approved (not one of them silently, the other never mentioned)."""
    tasks = _two_desa_at_kabupaten(db)
    monkeypatch.setattr(bulk_approval, "BULK_LIMIT", bound)
    if approved:
        with db.transaction() as s:
            outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01", periode=PERIOD)
        assert outcome.decided == tasks
        return
    with pytest.raises(Invalid, match=f"Lebih dari {bound} tugas terbuka"), db.transaction() as s:
        bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01", periode=PERIOD)
    with db.read() as s:
        still = s.scalars(select(HumanTask.status).where(HumanTask.id.in_(tasks))).all()
    assert still == [TaskStatus.TERBUKA, TaskStatus.TERBUKA]


# --- where an operator's submission stands -----------------------------------------------------------------


@pytest.mark.parametrize(
    "outcome, told", [("verified", "sudah terverifikasi"), ("silent", "ditutup sebagai tidak melapor")]
)
def test_an_operator_editing_a_submission_no_longer_theirs_is_told_where_it_stands(db, outcome, told):
    """Approved at every tier, or closed as not reported with its cycle: a new entry is refused with
    the reason, in the operator's words."""
    team = make_team(db)
    if outcome == "verified":
        submission_id = open_with_items(db)
        submit(db, team.operator, submission_id)
        approved_everywhere(db, team, submission_id)
    else:
        cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)
        cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
        with db.read() as s:
            submission_id = s.scalar(select(Submission.id).where(Submission.kode_desa == DESA))
    with pytest.raises(Conflict, match=f"{PERIOD} {told}"), db.transaction() as s:
        imports.import_items(s, actor(db, team.operator), submission_id, csv_of([person_row(9)]))
