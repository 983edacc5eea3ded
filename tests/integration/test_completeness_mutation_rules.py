"""Completeness of a period as the province and its regencies read it: how many desa of each region
were expected, opened, submitted on time or late, sent a nil report or said the register could not be
checked, were returned and still owe a correction, or never reported; the region's total row; and the
share of the carried register that the desa re-verified."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.quality import completeness
from engine.verification import cycles, region_updates
from models import Cycle, CycleStatus, ItemAction, ItemSource, Submission, SubmissionItem, SubmissionStatus
from tests.factories import DESA, SYSTEM, make_team, returned_in_cycle, submit, verified_records
from tests.regions import listing, regions_restored  # noqa: F401  (the fixture)

PERIOD = "2026-Q4"
DEADLINE = datetime(2026, 10, 20, 0, 0, tzinfo=UTC)
KEC = "65.01.01"
OLD, NEW = "65.01.01.2006", "65.01.01.1010"  # Pejalin, recoded
BASIS_DAY = date(2026, 11, 1)


def _desa(serial: str) -> str:
    return f"{KEC}.{serial}"


def _open_cycle(db, status: str = CycleStatus.DIBUKA) -> None:
    with db.transaction() as s:
        s.add(
            Cycle(
                periode=PERIOD,
                region_kode="65",
                status=status,
                batas={"desa": DEADLINE.isoformat()},
                expected=482,
            )
        )


def _report(db, desa: str, status: SubmissionStatus, putaran: int, at: datetime | None = None, **extra) -> int:
    with db.transaction() as s:
        sub = Submission(kode_desa=desa, periode=PERIOD, status=status, putaran=putaran, submitted_at=at, **extra)
        s.add(sub)
        s.flush()
        return sub.id


def _rows(db, parent: str = "65.01") -> dict[str, completeness.Status]:
    with db.read() as s:
        return {r.kode: r for r in cycles.status(s, SYSTEM, PERIOD, parent)}


def _a_kecamatan_in_every_state(db) -> None:
    early = DEADLINE - timedelta(days=3)
    _report(db, _desa("1001"), SubmissionStatus.DIAJUKAN, 1, DEADLINE, nihil=True)  # at the deadline itself
    _report(
        db, _desa("1002"), SubmissionStatus.DIKEMBALIKAN, 2, DEADLINE + timedelta(minutes=1), tidak_diperiksa="banjir"
    )
    _report(db, _desa("1003"), SubmissionStatus.TIDAK_MELAPOR, 0)
    _report(db, _desa("1004"), SubmissionStatus.DRAF, 0)
    for serial in ("2005", "2006", "2007"):
        _report(db, _desa(serial), SubmissionStatus.DIAJUKAN, 1, early)


def test_a_kecamatan_row_tells_each_way_its_desa_reported(db):
    """Nil reports, unchecked registers, returns awaiting correction and silent desa are each counted;
    a desa that sent at the deadline itself is on time, one that sent a minute later is late."""
    _open_cycle(db)
    _a_kecamatan_in_every_state(db)
    row = _rows(db)[KEC]
    seen = {k: getattr(row, k) for k in ("expected", "opened", "submitted", "on_time", "late", "not_reported")}
    assert seen == {"expected": 9, "opened": 7, "submitted": 5, "on_time": 4, "late": 1, "not_reported": 1}
    assert (row.nihil, row.unchecked_statement, row.returned) == (1, 1, 1)
    assert row.percent == 56  # 5 of 9 desa, rounded to the nearest percent


def test_the_regency_total_adds_up_every_count_of_its_kecamatan(db):
    """The total row a regency reads carries the same counts as its kecamatan rows summed."""
    _open_cycle(db)
    _a_kecamatan_in_every_state(db)
    _report(db, "65.01.02.2001", SubmissionStatus.DIKEMBALIKAN, 1, DEADLINE - timedelta(days=1))
    with db.read() as s:
        rows = cycles.status(s, SYSTEM, PERIOD, "65.01")
        whole = completeness.total(s, rows, "65.01")
    assert whole.nama == "Kabupaten Bulungan"
    for name in ("expected", "opened", "submitted", "on_time", "late", "not_reported", "nihil", "returned"):
        assert getattr(whole, name) == sum(getattr(r, name) for r in rows), name
    assert (whole.returned, whole.submitted, whole.on_time) == (2, 6, 5)


def test_without_a_cycle_a_period_with_submissions_is_counted_but_nothing_is_late(db):
    """A period opened desa by desa, with no cycle and so no deadline, still has a status; no desa in
    it is judged late or on time."""
    _report(db, _desa("2005"), SubmissionStatus.DIAJUKAN, 1, DEADLINE + timedelta(days=30))
    row = _rows(db)[KEC]
    assert (row.submitted, row.on_time, row.late) == (1, 0, 0)


def _item(sid: int, source: str, verval: str | None, dibuang: bool = False) -> SubmissionItem:
    return SubmissionItem(
        submission_id=sid, aksi=ItemAction.UBAH, kategori="LUT", data={}, source=source, verval=verval, dibuang=dibuang
    )


def test_the_reverified_share_reads_only_register_records_still_in_the_submission(db):
    """Imported rows and register records taken out of the draft are not part of the register the
    desa had to re-verify; a region with no register shows no share at all rather than 0 %."""
    _open_cycle(db)
    sid = _report(db, _desa("2005"), SubmissionStatus.DRAF, 0)
    _report(db, "65.01.02.2001", SubmissionStatus.DRAF, 0)
    with db.transaction() as s:
        s.add_all(
            [
                _item(sid, ItemSource.REGISTER, "layak"),
                _item(sid, ItemSource.REGISTER, None),
                _item(sid, ItemSource.REGISTER, "layak", dibuang=True),
                _item(sid, ItemSource.IMPORT, "layak"),
            ]
        )
    rows = _rows(db)
    assert (rows[KEC].register_total, rows[KEC].register_checked, rows[KEC].reverified_percent) == (2, 1, 50)
    assert rows["65.01.02"].reverified_percent is None
    assert rows["65.01.02"].to_dict()["reverified_percent"] is None


def test_a_desa_that_sent_on_time_stays_on_time_after_correcting_a_return_late(db):
    """Timeliness is judged by the desa's first sending; a correction sent after the deadline, once a
    verifier returned it, does not turn the desa late."""
    team = make_team(db)
    with clock.frozen_at(datetime.fromisoformat("2026-10-05T08:00+08:00")):
        sid = returned_in_cycle(db, team, KEC)
    with db.read() as s:
        deadline = datetime.fromisoformat(s.scalar(select(Cycle.batas).where(Cycle.periode == PERIOD))["desa"])
    with clock.frozen_at(deadline + timedelta(days=2)):
        submit(db, team.operator, sid)
    row = _rows(db, KEC)[DESA]
    assert (row.submitted, row.on_time, row.late) == (1, 1, 0)


def test_a_closed_cycle_expects_only_the_desa_it_opened(db):
    """Once a cycle is closed, its completeness is measured against the desa it opened: a kecamatan it
    never opened is neither listed nor counted as owing reports."""
    _open_cycle(db, CycleStatus.DITUTUP)
    _report(db, _desa("2005"), SubmissionStatus.DIAJUKAN, 1, DEADLINE - timedelta(days=1))
    for serial in ("2006", "2007"):
        _report(db, _desa(serial), SubmissionStatus.TIDAK_MELAPOR, 0)
    rows = _rows(db)
    assert list(rows) == [KEC]
    assert (rows[KEC].expected, rows[KEC].submitted, rows[KEC].not_reported, rows[KEC].percent) == (3, 1, 2, 33)


@pytest.mark.usefixtures("regions_restored")
def test_a_desa_recoded_before_it_reported_still_owes_the_period_under_its_new_code(db):
    """Only a desa whose old code already reported the period is spared it; one recoded before reporting
    is still expected, under its new code."""
    cycles.open_cycle(db, SYSTEM, PERIOD, DESA)
    recoded = listing(drop={OLD}, add=[(NEW, "Kelurahan Pejalin")], lama={NEW: OLD})
    region_updates.update_regions(db, SYSTEM, recoded, ("Kepmendagri No. 100.1.1-9999 Tahun 2026", BASIS_DAY), None)
    with db.read() as s:
        expected = {r.kode: r.expected for r in completeness.tally(s, PERIOD, KEC)}
    assert expected[NEW] == 1 and OLD not in expected


@pytest.mark.usefixtures("regions_restored")
@pytest.mark.parametrize("named_first", [True, False], ids=["reported-named-first", "reported-named-second"])
def test_a_desa_merged_from_two_is_not_asked_a_period_one_of_them_reported(db, people, named_first):
    """Pejalin reported; Gunung Sari, merged with it into a new desa, did not: the new desa carries on
    Pejalin's report, whichever of the two the decree's list names first."""
    other = "65.01.01.2007"
    cycles.open_cycle(db, SYSTEM, PERIOD, OLD)
    verified_records(db, OLD, (51,), PERIOD)
    lama = f"{OLD};{other}" if named_first else f"{other};{OLD}"
    merged = listing(drop={OLD, other}, add=[(NEW, "Kelurahan Pejalin")], lama={NEW: lama})
    decree = ("Kepmendagri No. 100.1.1-9999 Tahun 2026", BASIS_DAY)
    assert region_updates.update_regions(db, SYSTEM, merged, decree, None).opened == {}
    with db.read() as s:
        assert NEW not in {r.kode for r in completeness.tally(s, PERIOD, KEC) if r.expected}


@pytest.mark.usefixtures("regions_restored")
def test_a_desa_formed_by_an_earlier_decree_that_takes_in_one_that_reported_still_reports(db, people):
    cycles.open_cycle(db, SYSTEM, PERIOD, OLD)
    verified_records(db, OLD, (51,), PERIOD)
    formed = listing(add=[(NEW, "Desa Pejalin Baru")])
    region_updates.update_regions(db, SYSTEM, formed, ("Kepmendagri No. 100.1.1-9998 Tahun 2026", BASIS_DAY), None)
    took_in = listing(drop={OLD}, add=[(NEW, "Desa Pejalin Baru")], lama={NEW: OLD})
    region_updates.update_regions(db, SYSTEM, took_in, ("Kepmendagri No. 100.1.1-9999 Tahun 2026", BASIS_DAY), None)
    with db.read() as s:
        assert {r.kode: r.expected for r in completeness.tally(s, PERIOD, KEC)}[NEW] == 1
        assert NEW not in set(s.scalars(completeness.carried_on(PERIOD)))  # its own people still report
