"""Rules of the yearly reconciliation and its determination that no other test pins down.

- Opening a year is on the audit trail, and when it was opened although verification tasks were
  still open, the trail says so (the auditor reads why the figures were taken early).
- A regency's review reads and explains the flags of the year's figures only: not another year's,
  nor a quarter's of the same year.
- The head's decree: a number longer than its column is refused by its field; a decree signed
  today is accepted (only a date still to come is refused).
- The Forum sends an explanation back only with a reason, and the reason reaches that regency only.
- Each of the Forum's acceptances is on the trail, flag by flag, with the Forum's task.
- An explanation the Forum accepted and someone wrote again afterwards goes back to the Forum.
- The scheduler opens a year whose last cycle is the second semester (S2), not only Q4.
- A regency ended by decree is given no review task.
- A regency's steward follows the year's progress of its own regency only, with what is still open
  (unexplained errors and warnings, not information).
- Undoing an agency's upload is refused when its figure was changed since by a historic import.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from engine.bootstrap import reconciliation_calendar
from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound
from engine.quality import aggregates, review, series
from engine.verification import agency_uploads, forum_review, reconciliation
from models import (
    AggregateValue,
    Cycle,
    CycleStatus,
    Determination,
    FlagStatus,
    ProcessInstance,
    QualityFlag,
    Region,
    Severity,
)
from tests.factories import SYSTEM, actor, open_period, person_row, submit
from tests.integration.reconciliation_steps import (
    YEAR,
    accept_at_forum,
    decree_at_head,
    events,
    flags_of,
    open_tasks,
    person,
    review_regencies,
    to_the_head,
)
from tests.regions import regions_restored  # noqa: F401  (the fixture)


def test_a_year_opened_despite_open_verification_tasks_says_so_on_the_trail(year):
    db = year
    pending = open_period(db, f"{YEAR}-Q3", [person_row(9)])
    submit(db, "op.desa", pending)  # a kecamatan task of the year is still open
    with db.transaction() as session:
        opened = reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR, force=True)
    (entry,) = events(db, AuditAction.RECONCILIATION_OPENED)
    assert (entry.actor, entry.subject_id, entry.instance_id) == (
        "walidata.prov",
        str(opened.instance_id),
        opened.instance_id,
    )
    assert entry.after == {"tahun": YEAR, "revisi": 0, "tugas_verifikasi_terbuka": 1}
    assert entry.reason == "dibuka meski ada tugas verifikasi terbuka"


def test_a_regencys_review_reads_and_explains_the_years_flags_not_another_years_or_a_quarters(year):
    db = year
    with db.transaction() as session:
        columns = dict(
            rule="tren",
            severity=Severity.WARNING,
            message="LUT naik empat kali lipat",
            tingkat="kabupaten",
            region_kode="65.01",
            kategori="LUT",
            status=FlagStatus.TERBUKA,
        )
        other_year = QualityFlag(**columns, periode=str(YEAR - 1))
        quarter = QualityFlag(**{**columns, "periode": f"{YEAR}-Q4"})  # a quarter's, not the year's figures
        session.add_all([other_year, quarter])
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    assert not {other_year.id, quarter.id} & {f.id for f in flags_of(db, "65.01")}  # not the year's to review
    (bulungan,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with db.transaction() as session, pytest.raises(NotFound):
        reconciliation.explain_flag(
            session, person(db, "walidata.kab"), bulungan.id, other_year.id, review.FlagAction.EXPLAIN, "wajar"
        )
    with db.read() as session:
        assert session.get(QualityFlag, other_year.id).status == FlagStatus.TERBUKA


def test_a_decree_number_over_its_limit_is_refused_and_one_signed_today_is_accepted(year):
    db = year
    head = to_the_head(db)
    too_long = reconciliation.HeadDecision(head.id, "setuju", "", "S" * 101, "2026-11-25")
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), too_long)
    assert [p.column for p in refused.value.problems] == ["nomor_sk"]
    decree_at_head(db, head, "S" * 100, dated=clock.today().isoformat())  # signed this morning
    with db.read() as session:
        frozen = session.scalar(select(Determination))
    assert (frozen.nomor_sk, frozen.tanggal_sk) == ("S" * 100, clock.today())


def _at_the_forum(db):
    """The year opened and every regency's review done: the Forum's task and its discrepancy list."""
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:
        return forum, forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))


def test_each_explanation_the_forum_accepts_is_on_the_trail_with_its_task(year):
    db = year
    forum, listed = _at_the_forum(db)
    accept_at_forum(db)
    accepted = events(db, AuditAction.EXPLANATION_ACCEPTED)
    assert sorted(int(e.subject_id) for e in accepted) == sorted(f.id for f in listed) and listed
    assert {(e.actor, e.human_task_id, e.instance_id) for e in accepted} == {("forum.sdi", forum.id, forum.instance_id)}
    assert all(e.after["catatan"] for e in accepted if e.after["wilayah"] == "65.01")


def test_the_scheduler_opens_a_year_whose_last_cycle_is_the_second_semester(year):
    db = year
    with db.transaction() as session:
        session.add(Cycle(periode=f"{YEAR}-S2", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    assert reconciliation_calendar(db, datetime(YEAR + 1, 1, 2, tzinfo=UTC)) == f"1 rekonsiliasi dibuka {YEAR}"


def test_an_upload_whose_figure_a_historic_import_changed_since_is_not_undone(db, stewards, our_figures):
    from tests.integration.test_agency_uploads import _actions, _preview, _receive

    _receive(db, _preview(db))  # DP3AP2KB: 65.01 = 30 and 65.02 = 21, both new
    (upload,) = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)
    with db.transaction() as session:  # a historic table whose sumber column names the agency
        values = [series.Value("65.01", "AKTK", "2024", 40, "DP3AP2KB")]
        aggregates.store(session, SYSTEM, values, AuditAction.BASELINE_IMPORTED)
    with (
        db.transaction() as session,
        pytest.raises(Conflict, match="diubah sesudahnya oleh impor angka historis nomor"),
    ):
        agency_uploads.undo(session, actor(db, "walidata.prov"), upload.seq, 2024, "berkas instansi yang keliru")
    with db.read() as session:
        kept = session.scalars(select(AggregateValue).where(AggregateValue.sumber == "DP3AP2KB"))
        assert {(r.region_kode, r.nilai) for r in kept} == {("65.01", 40), ("65.02", 21)}
    assert _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE) == []


def test_an_accepted_explanation_written_again_goes_back_to_the_forum(year):
    db = year
    head = to_the_head(db)  # the Forum accepted every explanation
    warning = next(f for f in flags_of(db, "65.01") if f.rule == "instansi")
    with db.transaction() as session:  # the province finds the explanation wrong and writes another
        province = person(db, "walidata.prov")
        review.settle(session, province, warning.id, review.FlagAction.REOPEN, "angka direvisi", warning.status)
        review.settle(session, province, warning.id, review.FlagAction.EXPLAIN, "DP3AP2KB merevisi", "terbuka")
    with db.transaction() as session:
        returned = reconciliation.HeadDecision(head.id, "kembalikan", "penjelasan DP3AP2KB berubah")
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), returned)
    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:
        listed = forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))
    assert [(f.id, f.ack_note) for f in listed] == [(warning.id, "DP3AP2KB merevisi")]


@pytest.mark.usefixtures("regions_restored")
def test_a_regency_ended_by_decree_is_given_no_review_task(year):
    db = year
    with db.read() as session:
        ended = reconciliation.regencies(session, "65")[-1]
    with db.transaction() as session:
        session.execute(update(Region).where(Region.kode == ended).values(berakhir=date(YEAR, 6, 30)))
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    reviewed = [t.region_kode for t in open_tasks(db, "tinjauan_kabupaten")]
    assert ended not in reviewed and "65.01" in reviewed


def test_a_regencys_steward_follows_the_years_progress_of_its_own_regency_only(year):
    from engine.verification import reconciliation_progress

    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    with db.read() as session:
        own = reconciliation_progress.progress(session, person(db, "walidata.kab"), "65", YEAR)
        whole = reconciliation_progress.progress(session, person(db, "walidata.prov"), "65", YEAR)
    assert [r.kode for r in own.kabupaten] == ["65.01"]
    # every flag of the regency counted, and as still open only its unexplained errors and warnings
    flags = flags_of(db, "65.01")
    waiting = [f for f in flags if f.status == FlagStatus.TERBUKA and f.severity in (Severity.ERROR, Severity.WARNING)]
    assert (own.kabupaten[0].tanda, own.kabupaten[0].belum) == (len(flags), len(waiting))
    assert any(f.severity == Severity.INFO for f in flags)  # the level gap: counted, never waited for
    assert [r.kode for r in whole.kabupaten][:2] == ["65.01", "65.02"]


def test_the_forum_sends_back_only_with_a_reason_and_only_to_the_regency_concerned(year):
    db = year
    forum, listed = _at_the_forum(db)
    back = next(f for f in listed if f.rule == "instansi" and f.region_kode == "65.01")
    verdicts = {f.id: ("terima", "") for f in listed}
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        unsaid = forum_review.ForumReview(forum.id, {**verdicts, back.id: ("kembalikan", "  ")})
        forum_review.forum_review(session, person(db, "forum.sdi"), unsaid)
    assert [p.column for p in refused.value.problems] == [f"alasan_{back.id}"]
    with db.transaction() as session:
        said = forum_review.ForumReview(forum.id, {**verdicts, back.id: ("kembalikan", "rasio DP3AP2KB berubah")})
        forum_review.forum_review(session, person(db, "forum.sdi"), said)
    with db.read() as session:
        instance = session.get(ProcessInstance, forum.instance_id)
        assert [r["alasan"] for r in forum_review.returns_to(session, instance, "65.01")] == ["rasio DP3AP2KB berubah"]
        assert forum_review.returns_to(session, instance, "65.02") == []
