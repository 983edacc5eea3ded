"""A year's reporting frozen with its determination: regencies never asked, a late report after a
determination, a regency recoded in the year, a cycle still open when frozen."""

from datetime import date

import pytest
from sqlalchemy import select

from engine.verification import coverage, cycles, determinations, reconciliation, region_updates
from models import ProcessInstance, Submission, SubmissionStatus
from tests.factories import SYSTEM
from tests.integration.reconciliation_steps import YEAR, determine, to_the_head
from tests.regions import SEED, listing, regions_restored  # noqa: F401


def _submit_one(db, periode, prefix, nihil=False):
    with db.transaction() as s:
        one = s.scalar(
            select(Submission)
            .where(Submission.periode == periode, Submission.kode_desa.like(prefix + "%"))
            .order_by(Submission.kode_desa)
            .limit(1)
        )
        one.putaran, one.status, one.nihil = 1, SubmissionStatus.DIAJUKAN, nihil
        return one.kode_desa


def _proposal(db, head):
    with db.read() as s:
        return reconciliation.proposal(s, s.get(ProcessInstance, head.instance_id))


def test_a_regency_never_asked_in_the_years_closed_cycles_is_not_shown_as_zero(year):
    """Q4 opened for Malinau only and closed: Tana Tidung's desa reported nothing all year though never
    asked; the head reads "tidak melapor" there, not 0, and the coverage has its line."""
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02")
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q4", early=True)
    asked = _proposal(year, to_the_head(year))
    assert asked.tidak_melapor == {"65.02", "65.03", "65.04", "65.71"}  # Tana Tidung's 0 is no silent zero
    assert asked.kelengkapan["65.04"].diharapkan == 0  # not asked: said with a line of its own


def test_a_late_nil_report_changes_the_reporting_but_the_head_is_told_only_the_decree_changes(year):
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02")  # still open when determined
    determine(year, YEAR, "SK-1/2027")
    _submit_one(year, f"{YEAR}-Q4", "65.02", nihil=True)  # a Malinau desa reports nil, late
    asked = _proposal(year, to_the_head(year, alasan_revisi="Malinau melapor"))
    with year.read() as s:
        before = coverage.read(determinations.latest(s, YEAR).content)
    with year.read() as s:
        now = {(c.periode, c.kode): c.melapor for c in coverage.of_year(s, "65", YEAR)}
    then = {(c.periode, c.kode): c.melapor for c in before}
    assert now[(f"{YEAR}-Q4", "65.02")] == 1 and then[(f"{YEAR}-Q4", "65.02")] == 0
    assert "65.02" not in asked.tidak_melapor
    assert asked.sama_dengan is None  # the reporting changed: not "only the decree"


@pytest.mark.usefixtures("regions_restored")
def test_a_regency_recoded_in_the_year_is_not_said_to_have_reported_nothing_all_year(year):
    """Tana Tidung (65.04) reported in Q1; Kemendagri then recoded it 65.05 with every kecamatan and
    desa, which did not report in Q4. Its Q1 report counts under the code that carries it on."""
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q1", region="65.04")
    reported = _submit_one(year, f"{YEAR}-Q1", "65.04", nihil=True)
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q1", early=True)
    from models import HumanTask, TaskStatus

    with year.transaction() as s:  # its nil report went through every tier
        its = select(Submission).where(Submission.kode_desa == reported, Submission.periode == f"{YEAR}-Q1")
        s.scalar(its).status = SubmissionStatus.TERVERIFIKASI
        waiting = select(HumanTask).where(HumanTask.periode == f"{YEAR}-Q1", HumanTask.status == TaskStatus.TERBUKA)
        for t in s.scalars(waiting):
            t.status = TaskStatus.SELESAI
    old = [k for k, _ in SEED if k == "65.04" or k.startswith("65.04.")]
    new = [("65.05" + k[5:], n) for k, n in SEED if k in old]
    rows = listing(drop=set(old), add=new, lama={"65.05" + k[5:]: k for k in old})
    with year.transaction() as s:
        decree = ("Kepmendagri 1/2026", date(2026, 6, 1))
        region_updates.apply_update(s, SYSTEM, rows, "65", decree, date(2026, 6, 1), None)
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.05")
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q4", early=True)
    head = to_the_head(year)
    asked = _proposal(year, head)
    assert "65.05" not in asked.tidak_melapor  # its desa reported in Q1, under 65.04


def test_a_cycle_still_open_when_determined_is_said_so_in_the_frozen_reporting(year):
    """Q4 still open for Malinau when the head determines: 109 desa neither reported nor marked, and
    the frozen line says the cycle had not closed (a reader would take "0 tidak melapor" as final)."""
    from engine.core import clock
    from engine.verification import determination_exports

    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02")
    determine(year, YEAR, "SK-1/2027")
    with year.read() as s:
        d = determinations.latest(s, YEAR)
        said = dict(determination_exports.metadata(s, d, clock.zone()))
    line = said[f"kelengkapan_65.02_{YEAR}-Q4"]
    assert "(siklus belum ditutup)" in line
    with year.read() as s:
        (malinau,) = [c for c in determinations.reporting(determinations.latest(s, YEAR)) if c.kode == "65.02"]
    assert malinau.terbuka and (malinau.melapor, malinau.tidak_melapor) == (0, 0)
