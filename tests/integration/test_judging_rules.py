"""The rules of judging a task that the paths through the process do not reach: who may decide what,
what a decision refuses whole, what a claim and its release leave on the audit trail, and what a
bulk action takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.people import users
from engine.verification import bulk_approval, claims, decisions, verdicts
from models import AuditEvent, Decision, HumanTask, ItemVerdict, QualityFlag, Severity, TaskStatus, Verdict
from tests.factories import (
    SYSTEM,
    actor,
    decide,
    decide_task,
    items_of,
    make_team,
    open_task,
    open_with_items,
    submit,
    waiting_at_kecamatan,
)


def _at_kabupaten(db) -> tuple[int, int]:
    """A submission approved by its kecamatan: (submission, its open kabupaten task)."""
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")
    return submission_id, open_task(db, submission_id, "kabupaten").id


def _audit(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_the_desa_cannot_approve_its_own_task_only_submit_it(db):
    make_team(db)
    submission_id = open_with_items(db)
    task = open_task(db, submission_id, "desa")
    with pytest.raises(Invalid, match="ajukan"), db.transaction() as s:
        decide_task(s, "op.desa", task.id, "approve")
    assert open_task(db, submission_id, "desa").id == task.id


def test_a_verdict_on_another_submissions_item_refuses_the_decision(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    foreign = items_of(db, open_with_items(db, desa="65.01.01.2006"))[0].id
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        decide_task(s, team.kecamatan, task.id, "return", "data ganda", verdicts={foreign: "bukan warga desa"})
    assert any("bukan bagian" in p.message for p in refused.value.problems)
    assert open_task(db, submission_id, "kecamatan").id == task.id


def test_a_claim_and_its_release_are_on_the_audit_trail_and_a_free_task_cannot_be_released(db):
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.transaction() as s:
        claims.unclaim(s, actor(db, "verif.kab"), task_id)
    with pytest.raises(Conflict, match="tidak sedang diklaim"), db.transaction() as s:
        claims.unclaim(s, actor(db, "verif.kab"), task_id)
    [claimed], [released] = _audit(db, "TASK_CLAIMED"), _audit(db, "TASK_UNCLAIMED")
    assert (claimed.subject_id, claimed.actor, claimed.after) == (str(task_id), "verif.kab", {"assignee": "verif.kab"})
    assert (released.subject_id, released.before) == (str(task_id), {"assignee": "verif.kab"})


def test_an_administrator_frees_a_claim_only_in_their_region_and_only_on_an_open_task(db):
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.prov", "admin", "65")
        users.add_user(s, SYSTEM, "admin.kab.lain", "admin", "65.02")
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with pytest.raises(NotFound, match="tidak ada di wilayah Anda"), db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.kab.lain"), task_id)
    with db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.prov"), task_id)
    [freed] = _audit(db, "TASK_RELEASED")
    assert (freed.subject_id, freed.actor, freed.before) == (str(task_id), "admin.prov", {"assignee": "verif.kab"})
    with db.transaction() as s:
        decide_task(s, "verif.kab", task_id, "approve")
    with pytest.raises(Conflict, match="tidak sedang diklaim"), db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.prov"), task_id)
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is not None  # the decider stays on the closed task
    assert len(_audit(db, "TASK_RELEASED")) == 1


def _two_desa_at_kabupaten(db, order: tuple[str, str] = ("65.01.01.2005", "65.01.01.2006")) -> list[int]:
    """Gunung Putih's and its neighbour's submissions (two items each), sent up and approved by their
    kecamatan in `order`: their kabupaten tasks, in that order."""
    team = make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.lain", "operator", "65.01.01.2006")
    operators = {"65.01.01.2005": team.operator, "65.01.01.2006": "op.lain"}
    tasks = []
    for desa in order:
        submission_id = open_with_items(db, desa=desa)
        submit(db, operators[desa], submission_id)
        decide(db, team.kecamatan, submission_id, "approve")
        tasks.append(open_task(db, submission_id, "kabupaten").id)
    return tasks


def test_a_bulk_approval_takes_tasks_by_desa_and_spends_its_item_budget_exactly(db, monkeypatch):
    tasks = _two_desa_at_kabupaten(db)
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", 4)  # two items each
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01", periode="2026-Q4")
    assert (outcome.decided, outcome.left, outcome.refused) == (tasks, [], {})


def test_a_first_task_larger_than_the_item_budget_is_still_approved_alone(db, monkeypatch):
    tasks = _two_desa_at_kabupaten(db)
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", 1)
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=list(reversed(tasks)))
    assert (outcome.decided, outcome.left) == (tasks[:1], tasks[1:])


def test_a_bulk_approval_by_region_takes_whole_region_codes_not_a_prefix_of_one(db):
    _, task_id = _at_kabupaten(db)
    with pytest.raises(Invalid, match="Tidak ada tugas terbuka"), db.transaction() as s:
        bulk_approval.approve_many(s, actor(db, "verif.kab"), region="65.01.01.200", periode="2026-Q4")
    with db.read() as s:
        assert s.get(HumanTask, task_id).status == TaskStatus.TERBUKA


def test_a_not_in_order_verdict_with_only_spaces_for_its_reason_refuses_the_return(db):
    team, submission_id, task, item_id = waiting_at_kecamatan(db)
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        decide_task(s, team.kecamatan, task.id, "return", "periksa lagi", verdicts={item_id: "   "})
    assert [p.column for p in refused.value.problems] == [f"alasan_{item_id}"]
    assert open_task(db, submission_id, "kecamatan").id == task.id


def test_a_verdicts_reason_at_its_bound_is_taken_with_the_return(db):
    team, submission_id, _, item_id = waiting_at_kecamatan(db)
    reason = "y" * decisions.VERDICT_REASON_LIMIT
    decide(db, team.kecamatan, submission_id, "return", "periksa lagi", {item_id: reason})
    with db.read() as s:
        assert s.scalar(select(ItemVerdict.alasan).where(ItemVerdict.item_id == item_id)) == reason


def test_a_decision_that_needs_the_claim_is_refused_on_an_unclaimed_task(db):
    submission_id, task_id = _at_kabupaten(db)
    command = decisions.DecisionCommand(task_id, "approve", semua_sesuai=True, perlu_klaim=True)
    with pytest.raises(decisions.ClaimRequired), db.transaction() as s:
        decisions.decide(s, actor(db, "verif.kab"), command)
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
        decisions.decide(s, actor(db, "verif.kab"), command)
    assert open_task(db, submission_id, "provinsi")


def test_a_verdict_saved_earlier_and_left_as_it_was_keeps_when_it_was_given(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    first, second = (item.id for item in items_of(db, submission_id))
    earlier = clock.now() - timedelta(hours=2)
    with clock.frozen_at(earlier), db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {first: (Verdict.SESUAI, "")})
    with db.transaction() as s:
        decide_task(s, team.kecamatan, task.id, "approve")
    with db.read() as s:
        given = dict(s.execute(select(ItemVerdict.item_id, ItemVerdict.created_at)).all())
    assert clock.instant(given[first]) == earlier
    assert clock.instant(given[second]) > earlier


def written_right_after_the_check(monkeypatch, **values) -> None:
    """A colleague's write to the task lands between a claim's check and its update."""

    def checked_then_written(session, person, task):
        found = decisions.may_act(session, person, task)
        written = update(HumanTask).where(HumanTask.id == task).values(**values)
        session.execute(written.execution_options(synchronize_session=False))
        return found

    monkeypatch.setattr(claims, "may_act", checked_then_written)


def test_a_claim_a_colleague_takes_while_it_is_being_checked_is_not_taken_from_them(db, monkeypatch):
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kab.2", "verifier", "65.01")
    written_right_after_the_check(monkeypatch, assignee_id=actor(db, "verif.kab.2").user_id)
    with pytest.raises(Conflict, match="baru saja diambil"), db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None  # nothing of the attempt is kept


def test_a_bulk_claim_takes_its_tasks_in_id_order_whatever_order_they_were_chosen_in(db):
    tasks = sorted(_two_desa_at_kabupaten(db))
    with db.transaction() as s:
        outcome = claims.claim_many(s, actor(db, "verif.kab"), [tasks[1], tasks[0], tasks[1]])
    assert outcome == {tasks[0]: "diklaim", tasks[1]: "diklaim"}
    assert list(outcome) == tasks
    assert [int(e.subject_id) for e in _audit(db, "TASK_CLAIMED")] == tasks


def test_saving_a_not_in_order_verdict_with_only_spaces_for_its_reason_is_refused(db):
    team, submission_id, task, item_id = waiting_at_kecamatan(db)
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.TIDAK_SESUAI, " \n ")})
    assert [p.column for p in refused.value.problems] == [f"alasan_{item_id}"]
    with db.read() as s:
        assert s.scalars(select(ItemVerdict)).all() == []


def test_a_saved_verdicts_reason_is_taken_at_its_bound_and_refused_past_it(db):
    team, submission_id, task, item_id = waiting_at_kecamatan(db)
    with pytest.raises(Invalid), db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.TIDAK_SESUAI, "y" * 1001)})
    with db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.TIDAK_SESUAI, "y" * 1000)})
    with db.read() as s:
        assert len(s.scalar(select(ItemVerdict.alasan).where(ItemVerdict.item_id == item_id))) == 1000


def test_an_item_found_not_in_order_last_round_is_not_carried_forward_from_an_earlier_one(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    first, second = (item.id for item in items_of(db, submission_id))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")  # both in order
    decide(db, team.kabupaten, submission_id, "return", "cek lagi")
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "cek KTP", {first: "KTP tidak cocok"})
    submit(db, team.operator, submission_id)  # the desa sends it up untouched
    task = open_task(db, submission_id, "kecamatan")
    with db.transaction() as s:
        assert verdicts.carry_forward(s, actor(db, team.kecamatan), task.id) == 1
    with db.read() as s:
        assert s.scalars(select(ItemVerdict.item_id).where(ItemVerdict.human_task_id == task.id)).all() == [second]


def test_a_bulk_approval_by_someone_also_verifying_at_a_kecamatan_leaves_its_tasks_alone(db):
    team = make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.dua", "verifier", "65.01")
        users.add_user(s, SYSTEM, "verif.dua", "verifier", "65.01.01")  # a second role
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.dua"), task_ids=[task.id])
    assert outcome.decided == [] and "bukan tugas terbuka" in outcome.refused[task.id]
    assert open_task(db, submission_id, "kecamatan").id == task.id


def test_a_bulk_approval_says_a_task_its_process_cancelled_meanwhile_was_cancelled(db):
    """An interrupting event of an edited process cancels a task after the list was shown: said so,
    not as a task decided nor as one outside the verifier's region."""
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        s.execute(update(HumanTask).where(HumanTask.id == task_id).values(status=TaskStatus.DIBATALKAN))
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=[task_id])
    assert outcome.decided == [] and "sudah dibatalkan oleh prosesnya" in outcome.refused[task_id]
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kab.lain", "verifier", "65.02")
    with db.transaction() as s:
        other = bulk_approval.approve_many(s, actor(db, "verif.kab.lain"), task_ids=[task_id])
    assert "bukan tugas terbuka" in other.refused[task_id]  # another regency's verifier learns nothing


def test_a_lane_role_at_the_province_may_not_approve_many(db):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "forum.sdi", "forum_sdi", "65")
    forum = actor(db, "forum.sdi")
    assert not bulk_approval.may_approve_many(forum)
    with pytest.raises(Forbidden), db.transaction() as s:
        bulk_approval.approve_many(s, forum, region="65", periode="2026-Q4")


def test_a_bulk_approval_of_exactly_the_bound_of_tasks_is_taken(db):
    _, task_id = _at_kabupaten(db)
    chosen = [task_id, *range(10**6, 10**6 + bulk_approval.BULK_LIMIT - 1)]
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=chosen)
    assert outcome.decided == [task_id] and len(outcome.refused) == bulk_approval.BULK_LIMIT - 1
    with pytest.raises(Invalid, match="Paling banyak"), db.transaction() as s:
        bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=[*chosen, 10**7])


def test_a_task_refused_in_a_bulk_approval_keeps_nothing_of_the_attempt(db):
    """A warning raised after the kecamatan approved (a rescan) stops the kabupaten's approval; the
    verdicts written before the refusal go with it, and the other tasks are still approved."""
    tasks = _two_desa_at_kabupaten(db)
    with db.transaction() as s:
        warned = s.get(HumanTask, tasks[0])
        s.add(
            QualityFlag(
                rule="nama_mirip",
                severity=Severity.WARNING,
                message="nama mirip",
                region_kode=warned.kode_desa,
                submission_id=warned.submission_id,
            )
        )
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=tasks)
    assert outcome.decided == tasks[1:] and "belum diakui" in outcome.refused[tasks[0]]
    with db.read() as s:
        assert s.scalars(select(ItemVerdict).where(ItemVerdict.human_task_id == tasks[0])).all() == []
        assert s.get(HumanTask, tasks[0]).status == TaskStatus.TERBUKA


def test_a_bulk_return_finds_no_item_in_order_that_nobody_looked_at(db):
    submission_id, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(
            s, actor(db, "verif.kab"), task_ids=[task_id], keputusan=Decision.KEMBALIKAN, alasan="musdes ulang"
        )
    assert outcome.decided == [task_id]
    with db.read() as s:
        assert s.scalars(select(ItemVerdict).where(ItemVerdict.human_task_id == task_id)).all() == []
    assert open_task(db, submission_id, "desa")


def test_a_bulk_action_only_approves_or_returns(db):
    _, task_id = _at_kabupaten(db)
    with pytest.raises(Invalid, match="hanya setuju atau kembalikan"), db.transaction() as s:
        bulk_approval.approve_many(s, actor(db, "verif.kab"), task_ids=[task_id], keputusan=Decision.AJUKAN)


def test_a_bulk_approval_leaves_alone_a_reconciliation_task_of_a_lane_the_verifier_also_holds(db):
    """The regency's steward also verifies there: a bulk approval decides verification tasks only,
    and says where the year's review is decided."""
    from engine.verification import reconciliation
    from tests.factories import RECONCILIATION_YEAR, reconciliation_year
    from tests.integration.reconciliation_steps import open_tasks

    reconciliation_year(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "walidata.kab", "verifier", "65.01")
        reconciliation.open_year(s, SYSTEM, "65", RECONCILIATION_YEAR, force=True)
    (review,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with db.transaction() as s:
        outcome = bulk_approval.approve_many(s, actor(db, "walidata.kab"), task_ids=[review.id])
    assert outcome.decided == [] and "selesaikan di halaman Rekonsiliasi" in outcome.refused[review.id]
    assert review.id in {t.id for t in open_tasks(db, "tinjauan_kabupaten")}
