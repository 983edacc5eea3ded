"""Deciding a task: the desa submits, a verifier approves or returns with reasons.

`decide` checks who may decide (the task lies in the person's working scope, and the four-eyes
rule holds), records each item's verdict and the acknowledgements of warnings, and then lets the
BPMN layer complete the task and run the process on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from engine.bpmn import human_tasks
from engine.bpmn.runtime import NewTask
from engine.core import clock
from engine.core.actors import Actor
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import flags
from engine.verification import minutes, status
from models import (
    Decision,
    HumanTask,
    ItemAction,
    ItemVerdict,
    Submission,
    SubmissionItem,
    TaskStatus,
    Tier,
    User,
    Verdict,
)

# Words people and scripts use for a decision (the command line takes English ones too).
DECISION_WORDS = {
    "approve": Decision.SETUJU,
    "setuju": Decision.SETUJU,
    "return": Decision.KEMBALIKAN,
    "kembalikan": Decision.KEMBALIKAN,
    "submit": Decision.AJUKAN,
    "ajukan": Decision.AJUKAN,
}


@dataclass(frozen=True)
class DecisionCommand:
    """What a person decided on a task.

    `tidak_sesuai` maps item ids to the reason each is not in order, `sesuai` lists items judged in
    order (verdicts saved earlier on the task count too); `semua_sesuai` judges every item not
    judged otherwise in order (an explicit choice: the command line, bulk approval);
    `revisi_instans` is the instance revision the person's form was built from (a stale form is
    refused; not a determination's numbered `revisi`);
    `pengakuan` maps quality-flag ids to the note that accepts each flagged value;
    `perlu_klaim`: the person must hold the task's claim (the task page works this way);
    `massal`: decided with others at once (bulk approval), not item by item; said on the audit trail.
    """

    task_id: int
    keputusan: str
    alasan: str | None = None
    tidak_sesuai: dict[int, str] = field(default_factory=dict)
    revisi_instans: int | None = None
    pengakuan: dict[int, str] = field(default_factory=dict)
    sesuai: frozenset[int] = frozenset()
    semua_sesuai: bool = False
    perlu_klaim: bool = False
    massal: bool = False


# The tier at which the acting user already completed a task of the same instance, if any.
_EARLIER = aliased(HumanTask)
# A lane naming a role at a tier (`provinsi:forum_sdi`) is a lane of its own for this rule.
_OTHER_TIER = (
    select(_EARLIER.tingkat)
    .where(
        _EARLIER.instance_id == HumanTask.instance_id,
        _EARLIER.completed_by_id == bindparam("user_id"),
        or_(
            _EARLIER.tingkat != HumanTask.tingkat,
            func.coalesce(_EARLIER.peran, "") != func.coalesce(HumanTask.peran, ""),
        ),
        _EARLIER.status == TaskStatus.SELESAI,
    )
    .limit(1)
    .scalar_subquery()
)
_TASK_WITH_SUBMISSION = (
    select(HumanTask, Submission, _OTHER_TIER)
    .outerjoin(Submission, Submission.id == HumanTask.submission_id)
    .where(HumanTask.id == bindparam("task_id"))
)
_ITEMS = select(SubmissionItem.id, SubmissionItem.aksi, SubmissionItem.dibuang).where(
    SubmissionItem.submission_id == bindparam("submission_id")
)
# What a kecamatan verifier must judge one by one: what the desa added, corrected or removes. The
# records it confirmed unchanged are judged by sampling.
CHANGES = (ItemAction.TAMBAH, ItemAction.UBAH, ItemAction.HAPUS)


class ClaimRequired(Conflict):
    """The task page decides only on a claimed task; the person claims it and sends the same decision."""


@dataclass(frozen=True)
class Found:
    task: HumanTask
    submission: Submission | None
    other_tier: Tier | None  # where the actor already acted on this instance


def find(session: Session, actor: Actor, task_id: int) -> Found:
    """The task, its submission and the four-eyes fact in one query; outside the person's working
    scope the task does not exist for them."""
    found = session.execute(_TASK_WITH_SUBMISSION, {"task_id": task_id, "user_id": actor.user_id}).first()
    if found is None or not Scope.working(actor).covers_tier(found[0].tingkat, found[0].region_kode, found[0].peran):
        raise NotFound(f"Tugas {task_id} tidak ada di kotak tugas Anda")
    return Found(found[0], found[1], Tier(found[2]) if found[2] else None)


def check_four_eyes(actor: Actor, found: Found) -> None:
    """The submitter cannot verify, and no one acts at two tiers of the same submission."""
    task, submission = found.task, found.submission
    if task.tingkat != Tier.DESA and submission and submission.submitted_by_id == actor.user_id:
        raise Forbidden(
            f"{actor.name} mengajukan pengajuan ini; verifikasinya harus oleh orang lain (prinsip empat mata)"
        )
    if found.other_tier is not None:
        raise Forbidden(
            f"{actor.name} sudah bertindak di tingkat {found.other_tier.value} pada pengajuan ini; "
            "satu orang tidak boleh bertindak di dua tingkat"
        )


def check_open(session: Session, actor: Actor, task: HumanTask) -> None:
    """The task still waits, and nobody else holds its claim."""
    if task.status != TaskStatus.TERBUKA:
        by = session.get(User, task.completed_by_id) if task.completed_by_id else None
        who = f" oleh {by.username}" if by else ""
        raise Conflict(f"Tugas {task.id} sudah {task.status.value}{who}; tidak ada yang diubah")
    if task.assignee_id not in (None, actor.user_id):
        holder = session.get(User, task.assignee_id)
        raise Conflict(f"Tugas {task.id} sedang diklaim oleh {holder.username if holder else '?'}")


def _require_person(actor: Actor) -> None:
    actor.require_person("Tugas hanya dapat dikerjakan oleh pengguna (--user)")


def may_act(session: Session, actor: Actor, task_id: int) -> Found:
    """The task when the person may act on it now; otherwise the refusal they would meet."""
    _require_person(actor)
    found = find(session, actor, task_id)
    check_may_act(session, actor, found)
    return found


def check_may_act(session: Session, actor: Actor, found: Found) -> None:
    """`may_act` for a task already found: the refusal the person would meet, if any."""
    _require_person(actor)
    check_four_eyes(actor, found)
    check_open(session, actor, found.task)


def _decision_of(task: HumanTask, cmd: DecisionCommand) -> Decision:
    value = DECISION_WORDS.get((cmd.keputusan or "").lower())
    allowed = {Decision.AJUKAN} if task.tingkat == Tier.DESA else {Decision.SETUJU, Decision.KEMBALIKAN}
    if value not in allowed:
        words = "ajukan" if task.tingkat == Tier.DESA else "approve (setuju) atau return (kembalikan)"
        raise Invalid(f"Keputusan {cmd.keputusan!r} tidak berlaku untuk tugas {task.nama}; gunakan {words}")
    if value == Decision.KEMBALIKAN and not (cmd.alasan or "").strip():
        raise Invalid("Alasan wajib diisi saat mengembalikan pengajuan", [Problem("isi alasan", column="alasan")])
    if len(cmd.alasan or "") > flags.NOTE_LIMIT:  # the page bounds it; the API and the command line too
        raise Invalid(
            "Alasan terlalu panjang", [Problem(f"paling banyak {flags.NOTE_LIMIT} karakter", column="alasan")]
        )
    return value


# a verdict's reason, wherever it comes from (a page, the API, the command line)
VERDICT_REASON_LIMIT = 1000


_SAVED_VERDICTS = select(ItemVerdict).where(ItemVerdict.human_task_id == bindparam("task_id"))


def saved_verdicts(session: Session, task: HumanTask) -> dict[int, ItemVerdict]:
    """The verdicts saved on this task before deciding it, by item (each with who saved it, and when)."""
    return {v.item_id: v for v in session.scalars(_SAVED_VERDICTS, {"task_id": task.id})}


def _verdicts(
    saved: dict[int, tuple[Verdict, str | None]], items: dict[int, ItemAction], cmd: DecisionCommand
) -> dict[int, tuple[Verdict, str | None]]:
    """Each judged item's verdict: saved earlier, then as the decision sends it."""
    judged = dict(saved)
    judged.update({item_id: (Verdict.SESUAI, None) for item_id in cmd.sesuai})
    judged.update({item_id: (Verdict.TIDAK_SESUAI, why) for item_id, why in cmd.tidak_sesuai.items()})
    if cmd.semua_sesuai:
        judged = {item_id: judged.get(item_id, (Verdict.SESUAI, None)) for item_id in items} | judged
    return judged


def item_names(session: Session, item_ids: list[int]) -> dict[int, str]:
    """Each item as the verifier finds it on the task page: the name on its card and its category
    (the card shows no item number)."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(SubmissionItem.id, SubmissionItem.kategori, SubmissionItem.data).where(
            SubmissionItem.id.in_(sorted(set(item_ids)))
        )
    )
    return {i: f"{(data or {}).get('nama') or f'item {i}'} ({kategori})" for i, kategori, data in rows}


def _verdict_problems(
    session: Session,
    task: HumanTask,
    submission: Submission,
    keputusan: Decision,
    items: dict[int, ItemAction],
    judged: dict[int, tuple[Verdict, str | None]],
) -> list[Problem]:
    problems = [Problem(f"item {i} bukan bagian dari pengajuan {submission.id}") for i in judged if i not in items]
    unexplained = [
        i for i, (v, why) in judged.items() if i in items and v == Verdict.TIDAK_SESUAI and not (why or "").strip()
    ]
    named = item_names(session, unexplained)
    problems += [Problem(f"{named[i]}: alasan tidak sesuai wajib diisi", column=f"alasan_{i}") for i in unexplained]
    problems += [
        Problem(f"alasan paling banyak {VERDICT_REASON_LIMIT} karakter", column=f"alasan_{i}")
        for i, (_, why) in judged.items()
        if len(why or "") > VERDICT_REASON_LIMIT
    ]
    if keputusan == Decision.SETUJU:
        if task.tingkat == Tier.KECAMATAN:
            no_minutes = minutes.missing(session, submission)
            problems += [no_minutes] if no_minutes else []
            waiting = [i for i, aksi in items.items() if aksi in CHANGES and i not in judged]
            if waiting:
                problems.append(
                    Problem(f"{len(waiting)} item belum diberi putusan sesuai atau tidak sesuai", column="putusan")
                )
    return problems


def _record_verdicts(
    session: Session,
    actor: Actor,
    task: HumanTask,
    submission: Submission,
    keputusan: Decision,
    cmd: DecisionCommand,
) -> dict[int, tuple[Verdict, str | None]]:
    """Store the task's verdicts as the decision leaves them; returns them."""
    connection = session.connection()
    listed = connection.execute(_ITEMS, {"submission_id": submission.id}).all()
    items = {row.id: row.aksi for row in listed if not row.dibuang}
    # an item set aside since it was judged (another period's approval removed its person from the
    # register) is out of the submission: its verdict, saved or sent by a page opened before, is moot
    aside = {row.id for row in listed if row.dibuang}
    kept = saved_verdicts(session, task)
    saved = {item_id: (v.verdict, v.alasan) for item_id, v in kept.items() if item_id not in aside}
    judged = {i: v for i, v in _verdicts(saved, items, cmd).items() if i not in aside}
    if keputusan == Decision.SETUJU and any(verdict == Verdict.TIDAK_SESUAI for verdict, _ in judged.values()):
        raise Invalid("Keputusan belum dapat dikirim: ada item tidak sesuai; kembalikan pengajuan, jangan setujui")
    problems = _verdict_problems(session, task, submission, keputusan, items, judged)
    if problems:
        raise Invalid("Keputusan belum dapat dikirim: putusan per item belum lengkap", problems)
    if kept:  # replaced below; with nothing saved there is nothing to delete (a round trip less)
        session.execute(delete(ItemVerdict).where(ItemVerdict.human_task_id == task.id))
    now = clock.now()
    rows = [
        {
            "item_id": item_id,
            "tingkat": task.tingkat,
            "putaran": submission.putaran,
            "verdict": verdict,
            "alasan": (why or None) if verdict == Verdict.TIDAK_SESUAI else None,
            # a verdict saved earlier and left as it was stays the one who gave it (a colleague may
            # have judged it before releasing the task); one given or changed now is the actor's
            "user_id": kept[item_id].user_id if saved.get(item_id) == (verdict, why) else actor.user_id,
            "human_task_id": task.id,
            "created_at": kept[item_id].created_at if saved.get(item_id) == (verdict, why) else now,
        }
        for item_id, (verdict, why) in sorted(judged.items())
    ]
    if rows:
        connection.execute(insert(ItemVerdict), rows)
    return judged


def _ensure_acknowledged(session: Session, actor: Actor, submission: Submission) -> None:
    waiting = flags.unacknowledged_warnings(session, submission.id)
    shown = privacy.shown_to(privacy.sees_full_nik(actor, submission.kode_desa))
    if waiting:
        named = item_names(session, [f.item_id for f in waiting if f.item_id is not None])
        raise Invalid(
            f"{len(waiting)} peringatan mutu data belum diakui: tulis catatan untuk setiap peringatan "
            "sebelum menyetujui, atau kembalikan pengajuan",
            [
                Problem(
                    f"{named[f.item_id]}: {shown(f.message)}" if f.item_id in named else shown(f.message),
                    column=f"ack_{f.id}",
                )
                for f in waiting
            ],
        )


def _judge_items(
    session: Session, actor: Actor, found: Found, keputusan: Decision, cmd: DecisionCommand
) -> dict[int, tuple[Verdict, str | None]] | None:
    """A verifier's verdict on each item and acknowledgement of each warning, before the step runs;
    the task's verdicts as stored, or None where no verifier judged (a desa's own task)."""
    submission = found.submission
    if submission is None or keputusan == Decision.AJUKAN:
        return None
    judged = _record_verdicts(session, actor, found.task, submission, keputusan, cmd)
    flags.acknowledge(session, actor, found.task.tingkat.value, submission.id, cmd.pengakuan)
    if keputusan == Decision.SETUJU:
        _ensure_acknowledged(session, actor, submission)
    return judged


def _not_matching(
    session: Session, task: HumanTask, judged: dict[int, tuple[Verdict, str | None]] | None
) -> dict[str, str | None]:
    """The items judged "not in order", with their reasons: what the step records and passes on."""
    if judged is None:
        verdicts = session.scalars(
            select(ItemVerdict).where(ItemVerdict.human_task_id == task.id, ItemVerdict.verdict == Verdict.TIDAK_SESUAI)
        )
        return {str(v.item_id): v.alasan for v in verdicts}
    return {
        str(item_id): why or None
        for item_id, (verdict, why) in sorted(judged.items())
        if verdict == Verdict.TIDAK_SESUAI
    }


def _after_step(
    session: Session, actor: Actor, found: Found, keputusan: Decision, alasan: str | None, created: list[NewTask]
) -> None:
    submission = found.submission
    if submission is None:
        return
    if created:
        status.advanced(session, submission, created[0].tingkat)
    if keputusan == Decision.KEMBALIKAN:
        status.returned(session, actor, submission, found.task.tingkat, alasan or "", found.task.id)


def decide(session: Session, actor: Actor, cmd: DecisionCommand) -> HumanTask:
    """Complete a verifier's task with a decision; the process runs on to its next wait state."""
    found = may_act(session, actor, cmd.task_id)
    if found.task.peran is not None:  # a lane role's step has its own use case and its own data to pass on
        raise Invalid(
            f"Tugas {found.task.nama} adalah langkah rekonsiliasi tahunan; selesaikan di halaman Rekonsiliasi"
        )
    if found.task.tingkat == Tier.DESA:  # submitting checks the register, the minutes and the records first
        raise Invalid(
            "Tugas desa selesai dengan mengajukan pengajuannya: tombol Ajukan di halaman pengajuan, "
            "atau sijosku submission submit"
        )
    return _complete(session, actor, found, cmd)


def send_up(session: Session, actor: Actor, task_id: int) -> HumanTask:
    """The desa's step done with "ajukan": called by `submissions.submit` alone, once its checks passed."""
    found = may_act(session, actor, task_id)
    return _complete(session, actor, found, DecisionCommand(task_id=task_id, keputusan=Decision.AJUKAN))


def _complete(session: Session, actor: Actor, found: Found, cmd: DecisionCommand) -> HumanTask:
    if cmd.perlu_klaim and found.task.assignee_id != actor.user_id:
        raise ClaimRequired("Klaim tugas ini lebih dulu, supaya tidak dikerjakan dua orang sekaligus")
    keputusan = _decision_of(found.task, cmd)
    step = human_tasks.begin(session, actor, found.task, cmd.revisi_instans)
    judged = _judge_items(session, actor, found, keputusan, cmd)
    if found.submission is not None and keputusan == Decision.AJUKAN:
        status.submitted(session, actor, found.submission)
    not_matching = _not_matching(session, found.task, judged)
    created = human_tasks.finish(
        step,
        actor,
        keputusan,
        cmd.alasan,
        {"verdicts": not_matching},
        audit_after={"tidak_sesuai": not_matching, **({"massal": True} if cmd.massal else {})},
    )
    _after_step(session, actor, found, keputusan, cmd.alasan, created)
    return found.task
