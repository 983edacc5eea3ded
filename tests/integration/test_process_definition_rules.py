"""The shipped process definitions as the people working them meet them: the tiered verification of a
desa's submission and the year's reconciliation and determination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpmn import timers
from engine.core.errors import Invalid
from engine.verification import forum_review, imports, reconciliation, submissions
from models import OutboxEvent, ProcessInstance, Submission, SubmissionItem, SubmissionStatus
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    csv_of,
    decide,
    decide_task,
    make_team,
    open_period,
    open_task,
    open_with_items,
    person_row,
    submit,
)
from tests.integration.reconciliation_steps import YEAR, at_the_forum, open_tasks, person, review_regencies


def test_a_submission_with_a_record_error_never_reaches_the_kecamatan_from_the_desa_task_itself(db):
    """Decided on the desa task itself (as `sijosku task complete` would), a submission whose item has
    an error is refused, pointed to submitting: it stays with the desa, and no kecamatan verifier is
    given it."""
    team = make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as session:
        item = session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission_id)).first()
        item.data = {**item.data, "nik": "12345"}
    task = open_task(db, submission_id, "desa")
    with pytest.raises(Invalid, match="sijosku submission submit"), db.transaction() as session:
        decide_task(session, team.operator, task.id, "ajukan")
    assert open_task(db, submission_id).bpmn_id == "siapkan_pengajuan"
    with db.read() as session:
        assert session.get(Submission, submission_id).status != SubmissionStatus.DIAJUKAN


def test_a_submission_without_its_signed_minutes_is_not_sent_up_from_the_command_line(minutes_required, cli):
    """The minutes are required before a submission goes up: `sijosku task complete` on the desa task
    is refused, pointing to submitting, which checks them; the submission stays a draft."""
    db = minutes_required
    team = make_team(db)
    submission_id = open_with_items(db)
    with pytest.raises(Invalid, match="perlu dibereskan"):
        submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "desa")
    refused = cli("task", "complete", str(task.id), "--user", team.operator, "--decision", "approve", ok=False)
    assert "sijosku submission submit" in refused.output + refused.stderr
    assert open_task(db, submission_id).bpmn_id == "siapkan_pengajuan"
    with db.read() as session:
        assert session.get(Submission, submission_id).status == SubmissionStatus.DRAF


def _overdue_after_deadline(db, submission_id, tier):
    """The tier's open task, due in the period's 7 days, then once past it: the same task after the
    timers ran, and how many escalations were sent, the last being this task's."""
    task = open_task(db, submission_id, tier)
    assert timedelta(days=6, hours=23) < task.due_at - task.created_at <= timedelta(days=7, seconds=5)
    assert timers.fire_due_timers(db, task.due_at - timedelta(minutes=1)) == 0
    assert timers.fire_due_timers(db, task.due_at + timedelta(seconds=1)) == 1
    with db.read() as session:
        escalations = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "task.overdue")).all()
    assert [(e.payload["task_id"], e.payload["tingkat"]) for e in escalations][-1] == (task.id, tier)
    return task, open_task(db, submission_id, tier), len(escalations)


def test_each_tier_has_the_periods_own_deadline_and_its_task_stays_open_past_it(db):
    """A period opened with a 7-day deadline gives each tier's task 7 days; past it the task is marked
    overdue and escalated once, and stays open for its verifier to decide."""
    team = make_team(db)
    with db.transaction() as session:
        submission_id = submissions.open_submission(
            session, SYSTEM, DESA, PERIOD, "65", default_sla="P7D"
        ).submission.id
        imports.import_items(session, SYSTEM, submission_id, csv_of([person_row(1)]))
    submit(db, team.operator, submission_id)
    for count, (tier, user) in enumerate(
        [("kecamatan", team.kecamatan), ("kabupaten", team.kabupaten), ("provinsi", team.provinsi)], start=1
    ):
        before, after, escalated = _overdue_after_deadline(db, submission_id, tier)
        assert after.id == before.id and after.overdue and escalated == count
        decide(db, user, submission_id, "approve")
    with db.read() as session:
        assert session.get(Submission, submission_id).status == SubmissionStatus.TERVERIFIKASI


def test_a_regency_the_forum_sends_back_reviews_figures_counted_again(year):
    """A record verified after the regencies' reviews were counted: when the Forum sends a regency's
    explanation back, the figures are counted again before that regency reviews once more."""
    with year.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(year)
    late = open_period(year, f"{YEAR}-Q3", [person_row(5, kategori="ODHA")])
    submit(year, "op.desa", late)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(year, user, late, "approve")
    forum, listed = at_the_forum(year)
    with year.read() as session:
        assert [
            (c.wilayah, c.kategori, c.dihitung, c.sekarang)
            for c in reconciliation.proposal(session, session.get(ProcessInstance, forum.instance_id)).berubah
        ][:1] == [("65", "ODHA", 1, 2)]
    verdicts = {f.id: ("kembalikan", "periksa lagi ODHA") if f.kategori == "ODHA" else ("terima", "") for f in listed}
    with year.transaction() as session:
        forum_review.forum_review(session, person(year, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    (again,) = open_tasks(year, "tinjauan_kabupaten")
    assert again.region_kode == "65.01"
    with year.read() as session:
        assert reconciliation.proposal(session, session.get(ProcessInstance, again.instance_id)).berubah == []
