"""Who acts at each step of a year's reconciliation, what each step records, and what it refuses.

- A regency's review waits for its own region's flags only, not a neighbour's, and only for flags of
  the year's figures: not a record's or an entry's, nor an outside check's (Dukcapil, DTSEN); the
  note sent with it is kept on the task, trimmed.
- A step's task is acted on only as that step: the Forum's task neither explains a regency's flag
  nor is sent as a regency's review.
- The head approves or returns; any other word (a regency's "submit") is refused and the task waits.
- The head's approval is on the trail with the decree's number and date; the Forum's round is on the
  trail with how many it accepted and which it sent back, and its task keeps every reason it gave.
- A numbered revision's opening is on the trail with its reason; once opened, the year is opened
  and followed as the revision (not the first round).
- A revision's reason given for a year never determined is refused and opens nothing: the first
  determination, opened without one, does not say it revises anything.
- The head's proposal carries the province's figure as its records count it, the figure approval
  freezes, even where a regency ended by decree has no column of its own.
- Changed figures reach the head from the province down, level by level.
- A double registration is listed only to those who may read the count in every desa it stands in.
- A year is due once its last cycle has closed, in that year or later, never a year still to come.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select, update

from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound
from engine.quality import aggregates, review
from engine.quality.aggregates import Drift
from engine.quality.twice import Twice
from engine.verification import forum_review, reconciliation, reconciliation_tasks
from models import (
    AuditEvent,
    Cycle,
    CycleStatus,
    Determination,
    FlagStatus,
    HumanTask,
    ProcessInstance,
    QualityFlag,
    Record,
    Region,
    Severity,
    SubmissionItem,
)
from tests.factories import SYSTEM
from tests.integration.reconciliation_steps import (
    YEAR,
    at_the_forum,
    decree_at_head,
    determine,
    events,
    flags_of,
    open_tasks,
    person,
    review_regencies,
    to_the_head,
)
from tests.regions import regions_restored  # noqa: F401  (the fixture)


def _completed(db, task_id: int) -> AuditEvent:
    (event,) = [e for e in events(db, AuditAction.TASK_COMPLETED) if e.human_task_id == task_id]
    return event


def _opened(db) -> dict[str, HumanTask]:
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    return {t.region_kode: t for t in open_tasks(db, "tinjauan_kabupaten")}


def test_a_regencys_review_is_not_held_by_a_neighbours_unexplained_flag(year):
    db = year
    tasks = _opened(db)
    assert any(reconciliation.unsettled(f) for f in flags_of(db, "65.01"))  # Bulungan's still waits
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "walidata.kab.lain"), tasks["65.02"].id)
    assert "65.02" not in {t.region_kode for t in open_tasks(db, "tinjauan_kabupaten")}
    assert tasks["65.01"].id in {t.id for t in open_tasks(db, "tinjauan_kabupaten")}


def test_the_note_sent_with_a_regencys_review_is_kept_on_its_task_trimmed(year):
    db = year
    tasks = _opened(db)
    with db.transaction() as session:
        note = "  tidak ada selisih di Tana Tidung\n"
        reconciliation.submit_regency_review(session, person(db, "walidata.kab.lain"), tasks["65.02"].id, note)
    with db.read() as session:
        assert session.get(HumanTask, tasks["65.02"].id).alasan == "tidak ada selisih di Tana Tidung"
    assert _completed(db, tasks["65.02"].id).reason == "tidak ada selisih di Tana Tidung"


def test_the_forums_task_neither_explains_nor_sends_a_regencys_review(year):
    db = year
    _opened(db)
    review_regencies(db)
    forum, listed = at_the_forum(db)
    settled = next(f for f in listed if f.region_kode == "65.01")
    with db.transaction() as session, pytest.raises(NotFound, match="bukan tugas"):
        reconciliation.explain_flag(
            session, person(db, "forum.sdi"), forum.id, settled.id, review.FlagAction.CLOSE, "sudah dikoreksi"
        )
    with db.transaction() as session, pytest.raises(NotFound, match="bukan tugas"):
        reconciliation.submit_regency_review(session, person(db, "forum.sdi"), forum.id)
    assert [t.id for t in open_tasks(db, "tinjauan_forum")] == [forum.id]
    assert next(f for f in flags_of(db, "65.01") if f.id == settled.id).status == settled.status


def test_the_head_approves_or_returns_and_no_other_word(year):
    db = year
    head = to_the_head(db)
    for word in ("ajukan", "submit", "tolak"):
        said = reconciliation.HeadDecision(head.id, word, "", "SK-3/2027", "2026-11-25")
        with db.transaction() as session, pytest.raises(Invalid, match="setuju|kembalikan"):
            reconciliation.decide_determination(session, person(db, "kepala.dinas"), said)
    assert [t.id for t in open_tasks(db, "penetapan_kepala")] == [head.id]


def test_the_heads_approval_is_on_the_trail_with_the_decrees_number_and_date(year):
    db = year
    head = to_the_head(db)
    decree_at_head(db, head, "188.44/77/DINSOS/2027", dated="20/11/2026")
    approved = _completed(db, head.id)
    assert (approved.actor, approved.after["keputusan"]) == ("kepala.dinas", "setuju")
    assert (approved.after["nomor_sk"], approved.after["tanggal_sk"]) == ("188.44/77/DINSOS/2027", "2026-11-20")


def test_the_forums_round_keeps_every_reason_and_says_what_it_accepted_and_sent_back(year):
    db = year
    _opened(db)
    review_regencies(db)
    forum, listed = at_the_forum(db)
    back = [f for f in listed if f.region_kode == "65.01"][:2]
    assert len(back) == 2 and len(listed) > 2
    reasons = {back[0].id: "rasio DP3AP2KB berubah", back[1].id: "sebutkan sumbernya"}
    verdicts = {f.id: ("kembalikan", reasons[f.id]) if f.id in reasons else ("terima", "") for f in listed}
    with db.transaction() as session:
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    with db.read() as session:
        done = session.get(HumanTask, forum.id)
        assert (done.keputusan, set(done.alasan.split("; "))) == ("kembalikan", set(reasons.values()))
    said = _completed(db, forum.id)
    assert said.after["diterima"] == len(listed) - 2
    assert said.after["dikembalikan"] == sorted(str(i) for i in reasons)
    assert set(said.reason.split("; ")) == set(reasons.values())


def test_a_forum_that_accepts_everything_sends_the_year_to_the_head_with_no_reason(year):
    db = year
    _opened(db)
    review_regencies(db)
    forum, listed = at_the_forum(db)
    with db.transaction() as session:
        verdicts = {f.id: ("terima", "") for f in listed}
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    with db.read() as session:
        done = session.get(HumanTask, forum.id)
        assert (done.keputusan, done.alasan) == ("setuju", None)
    said = _completed(db, forum.id)
    assert (said.after["diterima"], said.after["dikembalikan"]) == (len(listed), [])
    assert len(open_tasks(db, "penetapan_kepala")) == 1


def test_a_revisions_opening_is_on_the_trail_with_its_reason(year):
    db = year
    determine(db, YEAR, "SK-1/2027")
    with db.transaction() as session:
        revised = reconciliation.open_year(
            session, person(db, "walidata.prov"), "65", YEAR, alasan_revisi="  ODHA Malinau terlewat "
        )
    first, again = events(db, AuditAction.RECONCILIATION_OPENED)
    assert (first.after["revisi"], first.reason) == (0, None)
    assert (again.actor, again.instance_id) == ("walidata.prov", revised.instance_id)
    assert (again.after["revisi"], again.reason) == (1, "ODHA Malinau terlewat")


def test_changed_figures_reach_the_head_from_the_province_down_level_by_level(year, monkeypatch):
    db = year
    unordered = [
        Drift("65.01.01.2001", "LUT", 1, 2),
        Drift("65.02", "LUT", 3, 4),
        Drift("65", "ODHA", 5, 6),
        Drift("65.01", "ODHA", 7, 8),
        Drift("65", "LUT", 9, 10),
        Drift("65.01.01", "LUT", 1, 2),
    ]
    monkeypatch.setattr(aggregates, "drift", lambda *args: list(unordered))
    with db.read() as session:
        instance = ProcessInstance(region_kode="65", periode=str(YEAR))
        shown = reconciliation.changed_since_forum(session, instance, Counter())
    assert [(d.wilayah, d.kategori) for d in shown] == [
        ("65", "LUT"),
        ("65", "ODHA"),
        ("65.01", "ODHA"),
        ("65.02", "LUT"),
        ("65.01.01", "LUT"),
        ("65.01.01.2001", "LUT"),
    ]


def test_a_double_registration_is_listed_only_to_who_reads_the_count_in_every_desa_it_stands_in(year):
    both = Twice("ODHA", ("65.01.01.2001", "65.01.02.2001"), 2)  # both in Bulungan
    across = Twice("ODHA", ("65.01.01.2001", "65.02.01.2001"), 3)  # one in Tana Tidung
    proposal = reconciliation.Proposal(kabupaten=[], baris=[], berubah=[], ganda=[both, across])
    shown, hidden = reconciliation_tasks._proposal_seen(person(year, "verif.kab"), proposal)
    assert shown.ganda == [both]
    assert hidden == {"berubah": 0, "ganda": 1, "ganda_orang": 3}


@pytest.mark.parametrize(
    ("closed", "today", "due"),
    [
        (f"{YEAR}-Q4", date(YEAR, 12, 31), [YEAR]),  # closed on its last day
        (f"{YEAR}-S2", date(YEAR + 1, 1, 2), [YEAR]),
        (f"{YEAR + 1}-Q4", date(YEAR, 12, 31), []),  # a year still to come
    ],
)
def test_a_year_is_due_once_its_last_cycle_has_closed_never_before_it_comes(year, closed, today, due):
    db = year
    with db.transaction() as session:
        session.add(Cycle(periode=closed, region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    with db.read() as session:
        assert reconciliation.due_years(session, today) == due


def test_once_a_revision_is_opened_the_year_stands_where_the_revision_stands(year):
    from engine.verification import reconciliation_progress

    db = year
    determine(db, YEAR, "SK-1/2027")
    with db.transaction() as session:
        revised = reconciliation.open_year(session, SYSTEM, "65", YEAR, alasan_revisi="ODHA Malinau terlewat")
    with db.transaction() as session:  # asked again without a reason: the revision, not the first
        again = reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR)
    assert (again.created, again.instance_id) == (False, revised.instance_id)
    with db.read() as session:
        shown = reconciliation_progress.progress(session, person(db, "walidata.prov"), "65", YEAR)
    waiting = {t.region_kode: t.id for t in open_tasks(db, "tinjauan_kabupaten")}
    assert shown.instance_id == revised.instance_id
    assert {r.kode: r.tugas_id for r in shown.kabupaten} == waiting and waiting


def test_a_regencys_review_waits_only_for_flags_of_the_years_figures(year):
    db = year
    with db.read() as session:
        record_id = session.scalar(select(Record.id).order_by(Record.id).limit(1))
        item_id = session.scalar(select(SubmissionItem.id).order_by(SubmissionItem.id).limit(1))
    tasks = _opened(db)
    with db.transaction() as session:
        base = dict(severity=Severity.WARNING, tingkat="desa", region_kode="65.02.01.2001", kategori="LUT")
        others = [
            QualityFlag(**base, rule="tren", message="NIK ganda", periode=str(YEAR), record_id=record_id),
            QualityFlag(**base, rule="tren", message="isian janggal", periode=str(YEAR), item_id=item_id),
            QualityFlag(**base, rule="dukcapil", message="NIK tidak padan", periode=str(YEAR)),
            QualityFlag(**base, rule="dtsen_desil_tinggi", message="desil 9", periode=str(YEAR)),
        ]
        for flag in others:
            flag.status = FlagStatus.TERBUKA
        session.add_all(others)
    assert not {f.id for f in others} & {f.id for f in flags_of(db, "65.02")}
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "walidata.kab.lain"), tasks["65.02"].id)
    assert "65.02" not in {t.region_kode for t in open_tasks(db, "tinjauan_kabupaten")}


def test_a_revisions_reason_for_a_year_never_determined_is_refused_and_opens_nothing(year):
    db = year
    with pytest.raises(Conflict, match="belum ditetapkan: tidak ada yang direvisi"), db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR, force=True, alasan_revisi="ODHA Malinau terlewat")
    with db.read() as session:
        assert reconciliation.instance_of(session, YEAR) is None
    assert events(db, AuditAction.RECONCILIATION_OPENED) == []
    determine(db, YEAR, "SK-1/2027")  # opened without a reason, the first determination revises nothing
    with db.read() as session:
        frozen = session.scalar(select(Determination))
    assert (frozen.revisi, frozen.replaces_id, frozen.alasan_revisi) == (0, None, None)


@pytest.mark.usefixtures("regions_restored")
def test_the_heads_proposal_carries_the_provinces_own_count_not_the_sum_of_its_columns(year):
    db = year
    head = to_the_head(db)
    with db.transaction() as session:  # Bulungan, where the year's records stand, ended by decree
        session.execute(update(Region).where(Region.kode == "65.01").values(berakhir=date(YEAR, 12, 31)))
    with db.read() as session:
        shown = reconciliation.proposal(session, session.get(ProcessInstance, head.instance_id))
    assert "65.01" not in [code for code, _ in shown.kabupaten]
    assert {k: province for k, province, _ in shown.baris} == {"LUT": 3, "ODHA": 1}
