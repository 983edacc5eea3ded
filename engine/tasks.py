"""Use cases of the task inbox: list, claim, unclaim and complete human tasks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from engine import audit, clock, events, persist, runtime
from engine.actors import Actor
from engine.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.quality import flags
from engine.submissions import mark_submitted
from models import (
    HumanTask,
    ItemVerdict,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Tier,
    User,
    Verdict,
)

APPROVE, RETURN, SUBMIT = "setuju", "kembalikan", "ajukan"

# Prebuilt statements of the completion path, which runs for every task of every submission.
_EARLIER = aliased(HumanTask)
# The tier at which the acting user already completed a task of the same instance, if any.
_OTHER_TIER = select(_EARLIER.tingkat).where(
    _EARLIER.instance_id == HumanTask.instance_id, _EARLIER.completed_by_id == bindparam("user_id"),
    _EARLIER.tingkat != HumanTask.tingkat, _EARLIER.status == TaskStatus.SELESAI,
).limit(1).scalar_subquery()
_TASK_WITH_SUBMISSION = select(HumanTask, Submission, _OTHER_TIER).outerjoin(
    Submission, Submission.id == HumanTask.submission_id).where(HumanTask.id == bindparam("task_id"))
_ITEM_IDS = select(SubmissionItem.id).where(SubmissionItem.submission_id == bindparam("submission_id"))
_CLOSE_TASK = update(HumanTask).where(
    HumanTask.id == bindparam("task_id"), HumanTask.status == TaskStatus.TERBUKA
).values({name: bindparam(f"new_{name}") for name in (
    "status", "completed_at", "completed_by_id", "assignee_id", "decision", "reason", "data")})
DECISIONS = {"approve": APPROVE, "setuju": APPROVE, "return": RETURN, "kembalikan": RETURN,
             "submit": SUBMIT, "ajukan": SUBMIT}


@dataclass(frozen=True)
class _Found:
    task: HumanTask
    submission: Submission | None
    other_tier: Tier | None  # where the actor already acted on this instance


def _task(session: Session, actor: Actor, task_id: int) -> _Found:
    """The task, its submission and the four-eyes fact, in one query."""
    found = session.execute(_TASK_WITH_SUBMISSION, {"task_id": task_id, "user_id": actor.user_id}).first()
    if found is None:
        raise NotFound(f"Tugas {task_id} tidak ada")
    return _Found(found[0], found[1], Tier(found[2]) if found[2] else None)


def _authorize(actor: Actor, found: _Found) -> None:
    """Refuse unless the actor works at the task's tier and region, under the four-eyes rule."""
    task = found.task
    if actor.user is None:
        raise Forbidden("Tugas hanya dapat dikerjakan oleh pengguna (--user)")
    if not actor.can_work(task.tingkat, task.region_kode):
        raise Forbidden(f"Tugas {task.id} ({task.tingkat.value} {task.region_kode}) berada di luar "
                        f"tingkat atau wilayah {actor.name}")
    _four_eyes(actor, found)


def _four_eyes(actor: Actor, found: _Found) -> None:
    """The submitter cannot verify, and no one acts at two tiers of the same submission."""
    task, submission, other_tier = found.task, found.submission, found.other_tier
    if task.tingkat != Tier.DESA and submission and submission.submitted_by_id == actor.user_id:
        raise Forbidden(f"{actor.name} mengajukan pengajuan ini; verifikasinya harus oleh orang lain "
                        "(prinsip empat mata)")
    if other_tier is not None:
        raise Forbidden(f"{actor.name} sudah bertindak di tingkat {other_tier.value} pada pengajuan ini; "
                        "satu orang tidak boleh bertindak di dua tingkat")


def _ensure_open(session: Session, task: HumanTask, actor: Actor) -> None:
    if task.status != TaskStatus.TERBUKA:
        by = session.get(User, task.completed_by_id) if task.completed_by_id else None
        who = f" oleh {by.username}" if by else ""
        raise Conflict(f"Tugas {task.id} sudah {task.status.value}{who}; tidak ada yang diubah")
    if task.assignee_id not in (None, actor.user_id):
        holder = session.get(User, task.assignee_id)
        raise Conflict(f"Tugas {task.id} sedang diklaim oleh {holder.username if holder else '?'}")


def claim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    found = _task(session, actor, task_id)
    task = found.task
    _authorize(actor, found)
    _ensure_open(session, task, actor)
    result = session.execute(update(HumanTask).where(
        HumanTask.id == task.id, HumanTask.status == TaskStatus.TERBUKA,
        or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == actor.user_id),
    ).values(assignee_id=actor.user_id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(f"Tugas {task.id} baru saja diambil orang lain")
    session.refresh(task)
    audit.record(session, actor, "TASK_CLAIMED", "human_task", task.id, after={"assignee": actor.name},
                 instance_id=task.instance_id, human_task_id=task.id)
    return task


def unclaim(session: Session, actor: Actor, task_id: int) -> HumanTask:
    found = _task(session, actor, task_id)
    task = found.task
    _authorize(actor, found)
    _ensure_open(session, task, actor)
    if task.assignee_id is None:
        raise Conflict(f"Tugas {task.id} tidak sedang diklaim")
    task.assignee_id = None
    audit.record(session, actor, "TASK_UNCLAIMED", "human_task", task.id, before={"assignee": actor.name},
                 instance_id=task.instance_id, human_task_id=task.id)
    return task


def _decision(task: HumanTask, decision: str, reason: str | None) -> str:
    value = DECISIONS.get((decision or "").lower())
    allowed = {SUBMIT} if task.tingkat == Tier.DESA else {APPROVE, RETURN}
    if value not in allowed:
        words = "ajukan" if task.tingkat == Tier.DESA else "approve (setuju) atau return (kembalikan)"
        raise Invalid(f"Keputusan {decision!r} tidak berlaku untuk tugas {task.nama}; gunakan {words}")
    if value == RETURN and not (reason or "").strip():
        raise Invalid("Alasan wajib diisi saat mengembalikan pengajuan", [Problem("isi alasan", column="alasan")])
    return value


def _record_verdicts(session: Session, actor: Actor, task: HumanTask, submission: Submission,
                     decision: str, not_matching: dict[int, str]) -> None:
    connection = session.connection()
    items = connection.execute(_ITEM_IDS, {"submission_id": submission.id}).scalars().all()
    problems = [Problem(f"item {item_id} bukan bagian dari pengajuan {submission.id}")
                for item_id in not_matching if item_id not in items]
    problems += [Problem(f"item {item_id}: alasan tidak sesuai wajib diisi")
                 for item_id, why in not_matching.items() if not (why or "").strip()]
    if decision == APPROVE and not_matching:
        problems.append(Problem("ada item tidak sesuai: kembalikan pengajuan, jangan setujui"))
    if problems:
        raise Invalid("Putusan per item tidak dapat disimpan", problems)
    rows = [{"item_id": item_id, "tingkat": task.tingkat, "putaran": submission.putaran,
             "verdict": Verdict.TIDAK_SESUAI if not_matching.get(item_id) else Verdict.SESUAI,
             "alasan": not_matching.get(item_id), "user_id": actor.user_id, "human_task_id": task.id,
             "created_at": clock.now()} for item_id in items]
    if rows:
        connection.execute(insert(ItemVerdict), rows)


def complete_task(session: Session, actor: Actor, task_id: int, decision: str, reason: str | None = None,
                  verdicts: dict[int, str] | None = None, expected_revision: int | None = None,
                  acknowledgements: dict[int, str] | None = None) -> HumanTask:
    """Complete a human task with a decision; the process runs on to its next wait state.

    `verdicts` maps item ids to the reason each is `tidak sesuai`; the other items are `sesuai`.
    `expected_revision` is the instance revision the person's form was built from.
    `acknowledgements` maps quality-flag ids to the note that accepts each flagged value; an
    approval needs every warning of the submission acknowledged (at this tier or an earlier one).
    """
    found = _task(session, actor, task_id)
    task, submission = found.task, found.submission
    _authorize(actor, found)
    value = _decision(task, decision, reason)
    _ensure_open(session, task, actor)
    # The instance lock is taken here; a rival that completed the task meanwhile shows up below as a
    # task that is no longer ready, or as the guarded UPDATE matching no row.
    running = runtime.load(session, actor, task.instance_id, human_task_id=task.id,
                           submission_id=task.submission_id)
    if expected_revision is not None and running.row.revision != expected_revision:
        raise Conflict("Formulir sudah usang: pengajuan ini berubah sejak halaman dibuka; muat ulang")
    spiff_task = runtime.ready_task(running, task.spiff_task_id)
    if submission is not None and value != SUBMIT:
        _record_verdicts(session, actor, task, submission, value, verdicts or {})
        flags.acknowledge(session, actor, task.tingkat.value, submission.id, acknowledgements or {})
        if value == APPROVE:
            _ensure_acknowledged(session, submission)
    done = {"status": TaskStatus.SELESAI, "completed_at": clock.now(), "completed_by_id": actor.user_id,
            "assignee_id": actor.user_id, "decision": value, "reason": reason or None,
            "data": {"verdicts": {str(k): v for k, v in (verdicts or {}).items()}}}
    result = session.connection().execute(_CLOSE_TASK, {"task_id": task.id,
                                                        **{f"new_{k}": v for k, v in done.items()}})
    if result.rowcount != 1:
        raise Conflict(f"Tugas {task.id} baru saja diselesaikan orang lain; tidak ada yang diubah")
    for name, field_value in done.items():
        set_committed_value(task, name, field_value)
    if submission is not None and value == SUBMIT:
        mark_submitted(session, actor, submission)
    runtime.complete(running, spiff_task, {"keputusan": value, "alasan": reason or ""})
    created = runtime.save(running)
    audit.record(session, actor, "TASK_COMPLETED", "human_task", task.id,
                 before={"status": TaskStatus.TERBUKA.value},
                 after={"status": task.status.value, "keputusan": value, "tingkat": task.tingkat.value,
                        "tidak_sesuai": {str(k): v for k, v in (verdicts or {}).items()}},
                 reason=reason, instance_id=task.instance_id, human_task_id=task.id)
    events.publish(session, events.TASK_COMPLETED, {"task_id": task.id, "keputusan": value,
                                                    "tingkat": task.tingkat.value}, human_task_id=task.id)
    if submission is not None:
        _after_step(session, actor, task, submission, value, reason, created)
    return task


def _ensure_acknowledged(session: Session, submission: Submission) -> None:
    waiting = flags.unacknowledged_warnings(session, submission.id)
    if waiting:
        raise Invalid(f"{len(waiting)} peringatan mutu data belum diakui: tulis catatan untuk setiap peringatan "
                      "sebelum menyetujui, atau kembalikan pengajuan",
                      [Problem(f"item {f.item_id}: {f.message}", column=f"ack_{f.id}") for f in waiting])


def _after_step(session: Session, actor: Actor, task: HumanTask, submission: Submission, decision: str,
                reason: str | None, created: list[runtime.NewTask]) -> None:
    if created:
        persist.write(session, submission, tahap=created[0].tingkat)
    if decision == RETURN:
        persist.write(session, submission, status=SubmissionStatus.DIKEMBALIKAN,
                      alasan_terakhir=f"{task.tingkat.label}: {reason}")
        audit.record(session, actor, "SUBMISSION_RETURNED", "submission", submission.id,
                     after={"tingkat": task.tingkat.value, "putaran": submission.putaran}, reason=reason,
                     instance_id=submission.instance_id, human_task_id=task.id)
        events.publish(session, events.SUBMISSION_RETURNED, {
            "submission_id": submission.id, "kode_desa": submission.kode_desa, "periode": submission.periode,
            "tingkat": task.tingkat.value, "alasan": reason}, human_task_id=task.id)


def ensure_can_act(session: Session, actor: Actor, task_id: int) -> None:
    """Raise the refusal that completing this task would meet now (region, four eyes, taken)."""
    found = _task(session, actor, task_id)
    _authorize(actor, found)
    _ensure_open(session, found.task, actor)
