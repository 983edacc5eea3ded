"""A verifier's verdicts on items, saved one by one while the task is worked (on a phone, a page
at a time), and counted when the task is decided. Judging takes the task's claim, so that two
people never judge the same submission at once."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from engine.verification import claims, decisions
from models import Decision, HumanTask, ItemVerdict, ProcessInstance, Submission, SubmissionItem, Verdict

REASON_LIMIT = decisions.VERDICT_REASON_LIMIT
_LOCK_INSTANCE_OF_TASK = (
    select(ProcessInstance.id)
    .where(
        ProcessInstance.id
        == select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id")).scalar_subquery()
    )
    .with_for_update()
)


def save(session: Session, actor: Actor, task_id: int, judged: dict[int, tuple[Verdict, str]]) -> int:
    """Keep the person's verdicts on some items of the task's submission (replacing earlier ones);
    a verdict "not in order" needs its reason. Returns how many were saved."""
    # the page sends each change of a card as it is made (the choice, then its reason): two saves of
    # one item at once take turns, and a save waiting behind the decision finds the task decided, or
    # each would delete none and insert its own. The instance is locked first, as a decision locks
    # it before it rewrites the task's verdicts and closes the task: in the other order, a save
    # holding the task's row and a decision holding the verdicts' would wait for each other.
    session.execute(_LOCK_INSTANCE_OF_TASK, {"task_id": task_id})
    session.execute(select(HumanTask.id).where(HumanTask.id == task_id).with_for_update())
    found = decisions.may_act(session, actor, task_id)
    task, submission = found.task, found.submission
    if submission is None:
        raise Invalid("Tugas ini tidak memiliki item untuk diputus")
    problems = _problems(session, submission, judged)
    if problems:
        raise Invalid("Putusan belum dapat disimpan", problems)
    if task.assignee_id is None:
        claims.claim(session, actor, task.id)
    if not judged:
        return 0
    session.execute(
        delete(ItemVerdict).where(ItemVerdict.human_task_id == task.id, ItemVerdict.item_id.in_(list(judged)))
    )
    session.execute(
        insert(ItemVerdict),
        [
            {
                "item_id": item_id,
                "tingkat": task.tingkat,
                "putaran": submission.putaran,
                "verdict": verdict,
                "alasan": why.strip() or None if verdict == Verdict.TIDAK_SESUAI else None,
                "user_id": actor.user_id,
                "human_task_id": task.id,
                "created_at": clock.now(),
            }
            for item_id, (verdict, why) in sorted(judged.items())
        ],
    )
    audit.record(  # a colleague's verdicts before a release stay theirs on the trail, too
        session,
        actor,
        AuditAction.VERDICTS_SAVED,
        "human_task",
        task.id,
        after={
            str(item_id): {"putusan": v.value, "alasan": (why.strip() or None) if v == Verdict.TIDAK_SESUAI else None}
            for item_id, (v, why) in sorted(judged.items())
        },
        instance_id=task.instance_id,
        human_task_id=task.id,
    )
    return len(judged)


def _problems(session: Session, submission: Submission, judged: dict[int, tuple[Verdict, str]]) -> list[Problem]:
    found = dict(
        session.execute(
            select(SubmissionItem.id, SubmissionItem.dibuang).where(
                SubmissionItem.submission_id == submission.id, SubmissionItem.id.in_(list(judged) or [0])
            )
        ).all()
    )
    ours = {item_id for item_id, aside in found.items() if not aside}
    problems = [Problem(f"item {i} bukan bagian dari pengajuan ini") for i in judged if i not in found]
    named_aside = decisions.item_names(session, [i for i in found if i not in ours])
    problems += [
        Problem(f"{name} sudah disisihkan dari pengajuan ini; muat ulang halaman", column=f"verdict_{item_id}")
        for item_id, name in named_aside.items()
    ]
    named = decisions.item_names(session, [i for i, (v, why) in judged.items() if i in ours and not why.strip()])
    for item_id, (verdict, why) in judged.items():
        if item_id in ours and verdict == Verdict.TIDAK_SESUAI and not why.strip():
            problems.append(Problem(f"tuliskan mengapa {named[item_id]} tidak sesuai", column=f"alasan_{item_id}"))
        if len(why) > REASON_LIMIT:
            problems.append(Problem(f"alasan paling banyak {REASON_LIMIT} karakter", column=f"alasan_{item_id}"))
    return problems


def carry_forward(session: Session, actor: Actor, task_id: int) -> int:
    """After a return, the items this tier found in order in the round before and the desa has not
    touched since, found in order again in one deliberate action (saved and audited as any verdicts);
    an item changed since, or judged already in this task, is left to the verifier. Returns how many."""
    found = decisions.may_act(session, actor, task_id)
    if found.submission is None:
        raise Invalid("Tugas ini tidak memiliki item untuk diputus")
    unchanged = carriable(session, found.task, found.submission)
    return save(session, actor, task_id, {item_id: (Verdict.SESUAI, "") for item_id in unchanged})


def carriable(session: Session, task: HumanTask, submission: Submission) -> list[int]:
    """The items `carry_forward` would find in order again: found in order by this tier the round
    before, not touched by the desa since the return, not judged yet in this task."""
    returned_at = session.scalar(
        select(func.max(HumanTask.completed_at)).where(
            HumanTask.submission_id == submission.id, HumanTask.keputusan == Decision.KEMBALIKAN
        )
    )
    if returned_at is None:
        return []
    verdict_of_item = ItemVerdict.item_id == SubmissionItem.id  # by the item's index, not the tier's round
    in_order_before = select(ItemVerdict.id).where(
        verdict_of_item,
        ItemVerdict.tingkat == task.tingkat,
        ItemVerdict.putaran == submission.putaran - 1,
        ItemVerdict.verdict == Verdict.SESUAI,
    )
    judged_now = select(ItemVerdict.id).where(verdict_of_item, ItemVerdict.human_task_id == task.id)
    return list(
        session.scalars(
            select(SubmissionItem.id).where(
                SubmissionItem.submission_id == submission.id,
                SubmissionItem.dibuang.is_(False),
                SubmissionItem.updated_at <= returned_at,
                in_order_before.exists(),
                ~judged_now.exists(),
            )
        ).all()
    )
