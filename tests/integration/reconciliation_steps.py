"""Steps of a year's reconciliation the tests take many times: its people, its open tasks and flags,
the regencies' reviews, the Forum's acceptance, the head's decree."""

from __future__ import annotations

from sqlalchemy import select

from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.people import users
from engine.quality import review
from engine.verification import forum_review, reconciliation
from models import AuditEvent, FlagStatus, HumanTask, ProcessInstance, TaskStatus
from tests.factories import RECONCILIATION_YEAR, SYSTEM, finish_as_system

YEAR = RECONCILIATION_YEAR


def person(db, username):
    with db.read() as session:
        return Actor.of(users.find_user(session, username))


def open_tasks(db, bpmn_id):
    with db.read() as session:
        return list(
            session.scalars(
                select(HumanTask)
                .where(HumanTask.bpmn_id == bpmn_id, HumanTask.status == TaskStatus.TERBUKA)
                .order_by(HumanTask.region_kode)
            )
        )


def flags_of(db, region="65"):
    with db.read() as session:
        return reconciliation.year_flags(session, "65", YEAR, region)


def review_regencies(db, year=YEAR):
    """Every regency's review sent: Bulungan's walidata explains its open flags, the others have none."""
    for task in open_tasks(db, "tinjauan_kabupaten"):
        with db.transaction() as session:
            for flag in reconciliation.year_flags(session, "65", year, task.region_kode):
                if flag.status == FlagStatus.TERBUKA and task.region_kode == "65.01":
                    reconciliation.explain_flag(
                        session, person(db, "walidata.kab"), task.id, flag.id, review.FlagAction.EXPLAIN, "wajar"
                    )
        with db.transaction() as session:
            finish_as_system(session, session.get(HumanTask, task.id))


def explain_and_send(db, task_id, note):
    """Bulungan's walidata explains every flag still open in its region and sends its review."""
    for flag in flags_of(db, "65.01"):
        if flag.status == FlagStatus.TERBUKA:
            with db.transaction() as session:
                reconciliation.explain_flag(
                    session, person(db, "walidata.kab"), task_id, flag.id, review.FlagAction.EXPLAIN, note
                )
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "walidata.kab"), task_id)


def at_the_forum(db):
    """The Forum's task and the discrepancies it is shown."""
    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:
        return forum, forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))


def accept_at_forum(db):
    """The Forum accepts every discrepancy it is shown."""
    forum, listed = at_the_forum(db)
    verdicts = {f.id: ("terima", "") for f in listed}
    with db.transaction() as session:
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))


def events(db, action: AuditAction) -> list[AuditEvent]:
    """The trail's rows of one action, oldest first."""
    with db.read() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq))
        )


def to_the_head(db, year=YEAR, alasan_revisi=None):
    """Run a year through the regencies' and the Forum's tasks at once: explanations, acceptance."""
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", year, force=True, alasan_revisi=alasan_revisi)
    review_regencies(db, year)
    accept_at_forum(db)
    (head,) = open_tasks(db, "penetapan_kepala")
    return head


def decree_at_head(db, head, decree, dated="2026-11-25"):
    """The head of the dinas approves the year at their task, with the decree's number and date."""
    with db.transaction() as session:
        reconciliation.decide_determination(
            session, person(db, "kepala.dinas"), reconciliation.HeadDecision(head.id, "approve", "", decree, dated)
        )


def determine(db, year, decree, alasan_revisi=None):
    """Run a year through every task at once: explanations, the Forum's acceptance, the decree."""
    decree_at_head(db, to_the_head(db, year, alasan_revisi), decree)
