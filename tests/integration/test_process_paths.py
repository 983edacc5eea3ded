"""The default tiered-verification process, driven through every path by the service functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.bpmn import timers
from engine.core import audit
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.people import users
from engine.verification import inbox, items
from models import (
    AuditEvent,
    HumanTask,
    ItemVerdict,
    OutboxEvent,
    Record,
    RecordVersion,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Verdict,
)
from tests.factories import (
    SYSTEM,
    actor,
    decide,
    make_team,
    open_task,
    open_with_items,
    person_row,
    submit,
)

TIERS = ["kecamatan", "kabupaten", "provinsi"]


def _approve_all(db, team, submission_id):
    for tier, user in zip(TIERS, [team.kecamatan, team.kabupaten, team.provinsi], strict=True):
        open_task(db, submission_id, tier)
        decide(db, user, submission_id, "approve")


def test_approval_at_every_tier_applies_items_as_new_record_versions(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    assert open_task(db, submission_id, "desa").bpmn_id == "siapkan_pengajuan"
    submit(db, team.operator, submission_id)
    _approve_all(db, team, submission_id)
    with db.read() as session:
        submission = session.get(Submission, submission_id)
        assert submission.status == SubmissionStatus.TERVERIFIKASI
        assert session.scalar(select(func.count()).select_from(Record)) == 2
        versions = session.scalars(select(RecordVersion)).all()
        assert {v.versi for v in versions} == {1}
        assert all(v.actor == team.provinsi and v.human_task_id for v in versions)
        assert (
            session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == TaskStatus.TERBUKA))
            == 0
        )
        verdict_tiers = {v.tingkat.value for v in session.scalars(select(ItemVerdict))}
        assert verdict_tiers == set(TIERS)
        assert audit.verify_chain(session).ok


@pytest.mark.parametrize("returning_tier", TIERS)
def test_return_at_each_tier_goes_back_to_the_operator_then_passes_all_tiers_again(db, returning_tier):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    users_by_tier = dict(zip(TIERS, [team.kecamatan, team.kabupaten, team.provinsi], strict=True))
    for tier in TIERS[: TIERS.index(returning_tier)]:
        decide(db, users_by_tier[tier], submission_id, "approve")
    with db.read() as session:
        item_id = session.scalars(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == submission_id)
        ).first()
    decide(
        db,
        users_by_tier[returning_tier],
        submission_id,
        "return",
        "umur tidak sesuai kategori",
        {item_id: "tanggal lahir salah"},
    )
    with db.read() as session:
        submission = session.get(Submission, submission_id)
        assert submission.status == SubmissionStatus.DIKEMBALIKAN
        assert "umur tidak sesuai kategori" in submission.alasan_terakhir
        bad = session.scalar(
            select(ItemVerdict).where(ItemVerdict.item_id == item_id, ItemVerdict.verdict == Verdict.TIDAK_SESUAI)
        )
        assert bad.alasan == "tanggal lahir salah" and bad.tingkat.value == returning_tier
        assert (
            session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event_type == "submission.returned")
            )
            == 1
        )
    assert open_task(db, submission_id, "desa").bpmn_id == "siapkan_pengajuan"
    submit(db, team.operator, submission_id)
    _approve_all(db, team, submission_id)
    with db.read() as session:
        assert session.get(Submission, submission_id).putaran == 2
        assert session.get(Submission, submission_id).status == SubmissionStatus.TERVERIFIKASI


def test_an_item_set_aside_after_a_return_stays_out_and_keeps_its_verdicts(db):
    """The operator sets aside the entry the kecamatan found wrong and submits again: the
    submission goes up without it, and the verdict that sent it back stays in the history."""
    team = make_team(db)
    submission_id = open_with_items(db, [person_row(1), person_row(2)])
    submit(db, team.operator, submission_id)
    with db.read() as session:
        wrong, kept = session.scalars(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == submission_id).order_by(SubmissionItem.id)
        ).all()
    decide(db, team.kecamatan, submission_id, "return", "satu orang salah", {wrong: "bukan warga desa ini"})
    with db.transaction() as session:
        items.discard_item(session, actor(db, team.operator), submission_id, wrong)
    submit(db, team.operator, submission_id)
    _approve_all(db, team, submission_id)
    with db.read() as session:
        assert session.get(Submission, submission_id).status == SubmissionStatus.TERVERIFIKASI
        assert session.scalar(select(func.count()).select_from(Record)) == 1
        assert session.get(SubmissionItem, wrong).dibuang
        first_round = session.scalar(select(ItemVerdict).where(ItemVerdict.item_id == wrong))
        assert (first_round.verdict, first_round.alasan) == (Verdict.TIDAK_SESUAI, "bukan warga desa ini")
        later = session.scalars(select(ItemVerdict.item_id).where(ItemVerdict.putaran == 2)).all()
        assert set(later) == {kept}
        assert audit.verify_chain(session).ok


def test_a_discarded_item_no_tier_judged_leaves_the_submission_when_it_goes_up(db):
    team = make_team(db)
    submission_id = open_with_items(db, [person_row(1), person_row(2)])
    with db.read() as session:
        dropped = session.scalars(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == submission_id).order_by(SubmissionItem.id)
        ).first()
    with db.transaction() as session:
        items.discard_item(session, actor(db, team.operator), submission_id, dropped)
    submit(db, team.operator, submission_id)
    with db.read() as session:
        assert session.get(SubmissionItem, dropped) is None


def test_return_without_reason_is_refused_and_changes_nothing(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    before = open_task(db, submission_id, "kecamatan")
    with pytest.raises(Invalid, match="Alasan wajib"):
        decide(db, team.kecamatan, submission_id, "return", "  ")
    assert open_task(db, submission_id, "kecamatan").id == before.id


def test_automatic_check_sends_a_bad_item_back_to_the_desa(db):
    """Items written past the import (e.g. an older client) are caught by the process's own check."""
    team = make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as session:
        item = session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission_id)).first()
        item.data = {**item.data, "nik": "12345"}
    with pytest.raises(Invalid, match="perlu dibereskan") as refused:
        submit(db, team.operator, submission_id)
    assert any(p.column == "nik" for p in refused.value.problems)
    assert open_task(db, submission_id, "desa")


def test_sla_timer_marks_the_task_overdue_and_escalates_at_the_due_time(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    assert task.due_at is not None
    assert timedelta(days=13, hours=23) < task.due_at - task.created_at <= timedelta(days=14, seconds=5)
    assert timers.fire_due_timers(db, task.due_at - timedelta(minutes=1)) == 0
    assert not open_task(db, submission_id).overdue
    assert timers.fire_due_timers(db, task.due_at + timedelta(seconds=1)) == 1
    overdue = open_task(db, submission_id, "kecamatan")
    assert overdue.overdue and overdue.id == task.id  # non-interrupting: the task stays open
    with db.read() as session:
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "task.overdue"))
        assert event.payload["eskalasi_ke"] == "kabupaten"
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "TASK_OVERDUE")).actor == "sistem:timer"
    assert timers.fire_due_timers(db, task.due_at + timedelta(days=30)) == 0  # fired once only
    decide(db, team.kecamatan, submission_id, "approve")
    assert open_task(db, submission_id, "kabupaten").due_at is not None


def test_the_submitter_cannot_verify_their_own_submission(db):
    team = make_team(db)
    with db.transaction() as session:
        users.add_user(session, SYSTEM, team.operator, "verifier", "65.01.01")
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with pytest.raises(Forbidden, match="empat mata"):
        decide(db, team.operator, submission_id, "approve")


def test_no_one_acts_at_two_tiers_of_one_submission(db):
    team = make_team(db)
    with db.transaction() as session:
        users.add_user(session, SYSTEM, team.kecamatan, "verifier", "65.01")
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")
    with pytest.raises(Forbidden, match="dua tingkat"):
        decide(db, team.kecamatan, submission_id, "approve")
    assert open_task(db, submission_id, "kabupaten")


def test_a_verifier_of_another_region_can_neither_see_nor_act(db):
    team = make_team(db)
    with db.transaction() as session:
        users.add_user(session, SYSTEM, "verif.lain", "verifier", "65.02.01")
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.read() as session:
        assert inbox.inbox_page(session, actor(db, "verif.lain")).tasks == []
        assert [t.id for t in inbox.inbox_page(session, actor(db, team.kecamatan)).tasks] == [
            open_task(db, submission_id).id
        ]
    with pytest.raises(NotFound, match="tidak ada"):
        decide(db, "verif.lain", submission_id, "approve")


def test_an_approval_with_an_item_marked_not_matching_is_refused(db):
    team = make_team(db)
    submission_id = open_with_items(db, [person_row(1)])
    submit(db, team.operator, submission_id)
    with db.read() as session:
        item_id = session.scalar(select(SubmissionItem.id))
    with pytest.raises(Invalid, match="ada item tidak sesuai; kembalikan pengajuan"):
        decide(db, team.kecamatan, submission_id, "approve", verdicts={item_id: "NIK ganda"})
    assert open_task(db, submission_id, "kecamatan")
