"""Where a year's reconciliation stands, and the Forum's review of the regencies' explanations: each
rule with a test that fails without it.

- Each regency's row on the progress page follows that regency's own review task, its latest round,
  of the year asked (not a neighbour's task, nor the next year's); the page says which step waits and
  names the Forum's and the head's tasks, each its own.
- The Forum's review is refused whole, naming each, for a verdict on a flag it was not shown, an
  open flag accepted unexplained, or a province-level flag sent back (the Forum explains those).
- What the Forum sends back reaches the regency newest first, with its reason as the Forum wrote it,
  trimmed; a reason over the limit is refused.
- A year is four digits from 2000 to 2100, and verification tasks of another year do not hold it.
- In its review a regency explains or closes a flag; acknowledging one is not a review's word.
- The head returns the year only with a reason; a decree number a spreadsheet would run is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.bootstrap import reconciliation_calendar
from engine.core.errors import Invalid, NotFound
from engine.quality import review, twice
from engine.quality.twice import Twice
from engine.verification import forum_review, reconciliation, reconciliation_progress, reconciliation_tasks
from models import Cycle, CycleStatus, FlagStatus, HumanTask, ProcessInstance, QualityFlag, Severity
from tests.factories import SYSTEM, finish_as_system, open_period, person_row, submit
from tests.integration.reconciliation_steps import (
    YEAR,
    accept_at_forum,
    decree_at_head,
    explain_and_send,
    flags_of,
    open_tasks,
    person,
    review_regencies,
    to_the_head,
)


def _progress(db, year=YEAR, username="walidata.prov"):
    with db.read() as session:
        return reconciliation_progress.progress(session, person(db, username), "65", year)


def _rows(shown):
    return {r.kode: r for r in shown.kabupaten}


def _listed(db, forum):
    with db.read() as session:
        return forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))


def _forum_says(db, forum, verdicts):
    with db.transaction() as session:
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))


def _send_back_bulungans_discrepancy(db, reason):
    """The Forum sends the DP3AP2KB discrepancy back to Bulungan and accepts the rest."""
    (forum,) = open_tasks(db, "tinjauan_forum")
    listed = _listed(db, forum)
    back = next(f for f in listed if f.rule == "instansi" and f.region_kode == "65.01")
    _forum_says(db, forum, {f.id: ("kembalikan", reason) if f.id == back.id else ("terima", "") for f in listed})
    return forum


def _returns_to_bulungan(db, forum):
    with db.read() as session:
        return forum_review.returns_to(session, session.get(ProcessInstance, forum.instance_id), "65.01")


def test_each_regencys_row_follows_its_own_review_task_through_the_rounds(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    first = {t.region_kode: t for t in open_tasks(db, "tinjauan_kabupaten")}
    explain_and_send(db, first["65.01"].id, "DP3AP2KB menghitung semua lansia")
    rows = _rows(_progress(db))
    # Bulungan has sent its review; every other regency's row still shows its own task waiting
    assert (rows["65.01"].tugas_id, rows["65.01"].status, rows["65.01"].belum) == (first["65.01"].id, "selesai", 0)
    assert {c: (r.tugas_id, r.status) for c, r in rows.items() if c != "65.01"} == {
        c: (t.id, "terbuka") for c, t in first.items() if c != "65.01"
    }
    with db.transaction() as session:
        for code, task in first.items():
            if code != "65.01":
                finish_as_system(session, session.get(HumanTask, task.id))
    forum = _send_back_bulungans_discrepancy(db, "rasio DP3AP2KB berubah")
    (again,) = open_tasks(db, "tinjauan_kabupaten")  # a second round, Bulungan's alone
    shown = _progress(db)
    waiting = [f for f in flags_of(db, "65.01") if reconciliation.unsettled(f)]
    assert (_rows(shown)["65.01"].tugas_id, _rows(shown)["65.01"].status) == (again.id, "terbuka")
    assert _rows(shown)["65.01"].belum == len(waiting) >= 1  # what the Forum sent back waits again
    assert (shown.forum_tugas_id, shown.kepala_tugas_id, shown.tahap) == (forum.id, None, [again.nama])
    explain_and_send(db, again.id, "DP3AP2KB memakai definisi lansia yang lebih luas")
    (forum_again,) = open_tasks(db, "tinjauan_forum")
    shown = _progress(db)
    # both of Bulungan's rounds are done: its row names the latest, not the first
    assert (_rows(shown)["65.01"].tugas_id, _rows(shown)["65.01"].status) == (again.id, "selesai")
    assert (shown.forum_tugas_id, shown.tahap) == (forum_again.id, [forum_again.nama])
    accept_at_forum(db)
    (head,) = open_tasks(db, "penetapan_kepala")
    shown = _progress(db)
    assert (shown.forum_tugas_id, shown.kepala_tugas_id, shown.tahap) == (forum_again.id, head.id, [head.nama])


def test_a_years_progress_shows_that_years_review_tasks_not_the_next_years(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
        reconciliation.open_year(session, SYSTEM, "65", YEAR + 1)  # opened early, its tasks the newest
    shown = _progress(db)
    own = {t.region_kode: t.id for t in open_tasks(db, "tinjauan_kabupaten") if t.instance_id == shown.instance_id}
    assert {r.kode: r.tugas_id for r in shown.kabupaten} == own and own


def test_a_flag_below_the_regency_counts_in_the_regencys_row(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    before = _rows(_progress(db))["65.01"]
    with db.transaction() as session:  # a kecamatan's figure of the year, flagged and not explained yet
        session.add(_year_flag("65.01.01", FlagStatus.TERBUKA))
    after = _rows(_progress(db))["65.01"]
    assert (after.tanda, after.belum) == (before.tanda + 1, before.belum + 1)


def _year_flag(region, status, note=None):
    return QualityFlag(
        rule="tren",
        severity=Severity.WARNING,
        message="LUT naik empat kali lipat",
        tingkat=("provinsi", "kabupaten", "kecamatan", "desa")[region.count(".")],
        region_kode=region,
        kategori="LUT",
        periode=str(YEAR),
        status=status,
        ack_note=note,
    )


def test_the_forums_review_is_refused_for_each_verdict_it_may_not_give(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    warning = next(f for f in flags_of(db, "65.01") if f.rule == "instansi")
    with db.transaction() as session:
        # the province reopens Bulungan's explanation, and explains a figure of its own
        province = person(db, "walidata.prov")
        review.settle(session, province, warning.id, review.FlagAction.REOPEN, "angka direvisi", warning.status)
        own = _year_flag("65", FlagStatus.DIJELASKAN, "Kaltara memakai data Dukcapil terbaru")
        info = _year_flag("65.02.01", FlagStatus.TERBUKA)
        info.severity = Severity.INFO  # information waits for nobody's word, the Forum's neither
        session.add_all([own, info])
    (forum,) = open_tasks(db, "tinjauan_forum")
    listed = _listed(db, forum)
    assert {warning.id, own.id} <= {f.id for f in listed} and info.id not in {f.id for f in listed}
    verdicts = {f.id: ("terima", "") for f in listed}
    unknown = max(f.id for f in listed) + 1000
    asked = {**verdicts, own.id: ("kembalikan", "jelaskan sumbernya"), unknown: ("terima", "")}
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, asked))
    assert sorted(p.column for p in refused.value.problems) == sorted(
        [f"tanda_{unknown}", f"tanda_{warning.id}", f"tanda_{own.id}"]
    )
    assert [t.id for t in open_tasks(db, "tinjauan_forum")] == [forum.id]  # nothing was decided


def test_what_the_forum_sends_back_reaches_the_regency_newest_first_as_written(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    (forum,) = open_tasks(db, "tinjauan_forum")
    listed = _listed(db, forum)
    too_long = {f.id: ("kembalikan", "x" * (reconciliation.NOTE_LIMIT + 1)) for f in listed}
    with db.transaction() as session, pytest.raises(Invalid):
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, too_long))
    _send_back_bulungans_discrepancy(db, "  rasio DP3AP2KB berubah\n")
    (again,) = open_tasks(db, "tinjauan_kabupaten")
    explain_and_send(db, again.id, "DP3AP2KB memakai definisi lansia yang lebih luas")
    (second,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:  # the Forum's page asks again only what was explained again
        page = reconciliation_tasks.task_page(session, person(db, "forum.sdi"), second.id)
    assert [(f.rule, f.region_kode) for f in page["flags"]] == [("instansi", "65.01")]
    _send_back_bulungans_discrepancy(db, "sebutkan definisi DP3AP2KB")
    assert [r["alasan"] for r in _returns_to_bulungan(db, forum)] == [
        "sebutkan definisi DP3AP2KB",
        "rasio DP3AP2KB berubah",
    ]


@pytest.mark.parametrize("typed", ["2000", " 2100 "])
def test_a_year_at_either_bound_is_read(year, typed):
    assert (_progress(year, typed).tahun, _progress(year, typed).status) == (int(typed), "belum dibuka")


@pytest.mark.parametrize("typed", ["1999", "2101", "02026", "２０２６"])
def test_a_year_outside_the_bounds_or_not_four_plain_digits_is_refused(year, typed):
    with pytest.raises(Invalid, match="tidak sah"):
        _progress(year, typed)


def test_verification_tasks_of_the_next_year_do_not_hold_this_years_opening(year):
    db = year
    submit(db, "op.desa", open_period(db, f"{YEAR + 1}-Q1", [person_row(9)]))  # the next year's first quarter
    with db.transaction() as session:
        opened = reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR)
    assert opened.created and opened.open_tasks == []


def test_a_regencys_review_explains_or_closes_a_flag_but_does_not_acknowledge_it(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    (bulungan,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    warning = next(f for f in flags_of(db, "65.01") if f.rule == "instansi")
    with db.transaction() as session, pytest.raises(Invalid, match="dijelaskan atau ditutup"):
        reconciliation.explain_flag(
            session, person(db, "walidata.kab"), bulungan.id, warning.id, review.FlagAction.ACKNOWLEDGE, "diketahui"
        )
    assert next(f for f in flags_of(db, "65.01") if f.id == warning.id).status == FlagStatus.TERBUKA


def test_the_head_returns_only_with_a_reason_and_refuses_a_decree_a_spreadsheet_would_run(year):
    db = year
    head = to_the_head(db)
    kepala = person(db, "kepala.dinas")
    warning = next(f for f in flags_of(db, "65.01") if f.rule == "instansi")
    with db.transaction() as session:  # the province finds Bulungan's explanation no longer holds
        province = person(db, "walidata.prov")
        review.settle(session, province, warning.id, review.FlagAction.REOPEN, "angka direvisi", warning.status)
    with db.read() as session:  # the head's page names what blocks the determination, and only that
        assert [f.id for f in reconciliation_tasks.task_page(session, kepala, head.id)["blocking"]] == [warning.id]
    for unsaid in ("", "   "):
        with db.transaction() as session, pytest.raises(Invalid) as refused:
            reconciliation.decide_determination(session, kepala, reconciliation.HeadDecision(head.id, "return", unsaid))
        assert [p.column for p in refused.value.problems] == ["alasan"]
    formula = reconciliation.HeadDecision(head.id, "approve", "", "=HYPERLINK(1)", "2026-11-25")
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, kepala, formula)
    assert [p.column for p in refused.value.problems] == ["nomor_sk"]
    with db.transaction() as session:
        reason = "angka ODHA dihitung ulang".ljust(reconciliation.NOTE_LIMIT, ".")  # as long as a note may be
        reconciliation.decide_determination(
            session, kepala, reconciliation.HeadDecision(head.id, "return", f" {reason} ")
        )
    (forum,) = open_tasks(db, "tinjauan_forum")  # the year goes back to the Forum
    with db.read() as session:
        assert session.get(HumanTask, head.id).alasan == reason
    assert forum.instance_id == head.instance_id


def test_a_regencys_task_page_lists_its_own_flags_and_the_forums_returns_to_it_only(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
        neighbour = _year_flag("65.02.01", FlagStatus.DIJELASKAN, "panti baru dibuka")  # the next regency's
        accepted = _year_flag("65.03.01", FlagStatus.DIJELASKAN, "pendataan ulang")  # and a third's
        session.add_all([neighbour, accepted])
    tasks = {t.region_kode: t for t in open_tasks(db, "tinjauan_kabupaten")}
    with db.read() as session:
        own = reconciliation_tasks.task_page(session, person(db, "walidata.kab"), tasks["65.01"].id)
        other = reconciliation_tasks.task_page(session, person(db, "walidata.kab.lain"), tasks["65.02"].id)
    assert {f.id for f in own["flags"]} == {f.id for f in flags_of(db, "65.01")} != set()
    assert [f.id for f in other["flags"]] == [neighbour.id]
    review_regencies(db)
    (forum,) = open_tasks(db, "tinjauan_forum")
    listed = _listed(db, forum)
    back = next(f for f in listed if f.rule == "instansi" and f.region_kode == "65.01")
    reasons = {back.id: "rasio DP3AP2KB berubah", neighbour.id: "sebutkan panti yang dibuka"}
    _forum_says(db, forum, {f.id: ("kembalikan", reasons[f.id]) if f.id in reasons else ("terima", "") for f in listed})
    tasks = {t.region_kode: t for t in open_tasks(db, "tinjauan_kabupaten")}
    assert sorted(tasks) == ["65.01", "65.02"]  # those sent something back review again, not the third
    with db.read() as session:
        page = reconciliation_tasks.task_page(session, person(db, "walidata.kab"), tasks["65.01"].id)
    assert [r["alasan"] for r in page["forum_returns"]] == ["rasio DP3AP2KB berubah"]


def test_a_verification_task_is_not_opened_as_a_reconciliation_task(year):
    db = year
    pending = open_period(db, f"{YEAR}-Q3", [person_row(9)])
    submit(db, "op.desa", pending)  # the kecamatan's verification waits in its verifier's inbox
    with db.read() as session:
        (task,) = session.scalars(select(HumanTask).where(HumanTask.status == "terbuka", HumanTask.peran.is_(None)))
        with pytest.raises(NotFound, match="bukan tugas rekonsiliasi"):
            reconciliation_tasks.task_page(session, person(db, "verif.kec"), task.id)


def test_the_forums_word_on_a_sensitive_desa_flag_reaches_the_steward_without_the_explanation(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
        odha = QualityFlag(
            rule="series_nb",
            severity=Severity.WARNING,
            message="ODHA di desa ini 7 orang, biasanya 0 sampai 2",
            tingkat="desa",
            region_kode="65.01.01.2001",
            kategori="ODHA",
            periode=str(YEAR),
            status=FlagStatus.TERBUKA,
        )
        lut = _year_flag("65.01.01.2005", FlagStatus.DIJELASKAN, "panti werdha baru")  # a desa's LUT: not sensitive
        session.add_all([odha, lut])
    with db.transaction() as session:  # the regency's verifier, who sees the records, explains it
        note = "tiga orang pindah dari Tarakan"
        review.settle(session, person(db, "verif.kab"), odha.id, review.FlagAction.EXPLAIN, note, FlagStatus.TERBUKA)
    review_regencies(db)
    (forum,) = open_tasks(db, "tinjauan_forum")
    reasons = {odha.id: "cek ke puskesmas", lut.id: "sebutkan pantinya"}
    verdicts = {f.id: ("kembalikan", reasons[f.id]) if f.id in reasons else ("terima", "") for f in _listed(db, forum)}
    _forum_says(db, forum, verdicts)
    (again,) = open_tasks(db, "tinjauan_kabupaten")
    with db.read() as session:
        steward = reconciliation_tasks.task_page(session, person(db, "walidata.kab"), again.id)["forum_returns"]
    # the sensitive desa's note is left out; a desa's LUT is the steward's to read (that the note is the
    # regency's explanation sent back: the test below)
    said = sorted((r["alasan"], r["catatan"] is None) for r in steward)
    assert said == [("cek ke puskesmas", True), ("sebutkan pantinya", False)]


def test_the_explanation_the_forum_sent_back_is_the_one_the_regency_wrote(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)  # Bulungan explains its flags: "wajar"
    forum = _send_back_bulungans_discrepancy(db, "rasio DP3AP2KB berubah")
    assert [(r["alasan"], r["catatan"]) for r in _returns_to_bulungan(db, forum)] == [
        ("rasio DP3AP2KB berubah", "wajar")
    ]


def test_a_revisions_regency_page_does_not_carry_the_forums_returns_of_the_year_it_revises(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    _send_back_bulungans_discrepancy(db, "rasio DP3AP2KB berubah")
    (again,) = open_tasks(db, "tinjauan_kabupaten")
    explain_and_send(db, again.id, "DP3AP2KB memakai definisi lansia yang lebih luas")
    accept_at_forum(db)
    (head,) = open_tasks(db, "penetapan_kepala")
    decree_at_head(db, head, "SK-1/2027")
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR, alasan_revisi="ODHA Malinau terlewat")
    (revised,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with db.read() as session:
        page = reconciliation_tasks.task_page(session, person(db, "walidata.kab"), revised.id)
    assert page["forum_returns"] == []


def test_the_head_is_told_how_many_people_counted_twice_are_left_unlisted(year, monkeypatch):
    db = year
    head = to_the_head(db)
    # three people stand in two desa at once in a sensitive category: the head may not read the desa
    standing_twice = [Twice("ODHA", ("65.01.01.2001", "65.01.02.2001"), 3)]
    monkeypatch.setattr(twice, "registered_twice", lambda *args: standing_twice)
    with db.read() as session:
        page = reconciliation_tasks.task_page(session, person(db, "kepala.dinas"), head.id)
    assert page["proposal"].ganda == []
    assert page["tersembunyi"] == {"berubah": 0, "ganda": 1, "ganda_orang": 3}


def test_a_warning_the_province_acknowledged_does_not_stop_the_determination(year):
    db = year
    head = to_the_head(db)
    warning = next(f for f in flags_of(db, "65.01") if f.rule == "instansi")
    with db.transaction() as session:  # known and dealt with: acknowledged, not explained
        province = person(db, "walidata.prov")
        review.settle(session, province, warning.id, review.FlagAction.REOPEN, "angka direvisi", warning.status)
        review.settle(session, province, warning.id, review.FlagAction.ACKNOWLEDGE, "DP3AP2KB merevisi", "terbuka")
    decree_at_head(db, head, "SK-7/2027")
    assert open_tasks(db, "penetapan_kepala") == []


def test_the_scheduler_does_not_open_a_year_when_only_its_third_quarter_has_closed(year):
    with year.transaction() as session:
        session.add(Cycle(periode=f"{YEAR}-Q3", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    assert reconciliation_calendar(year, datetime(YEAR + 1, 1, 2, tzinfo=UTC)).startswith("0 ")
