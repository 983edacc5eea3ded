"""A desa's submission for a period: opening it with its verification process, the operator's
view of it, and submitting it to the tiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine.bpmn import definitions, runtime
from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, Problem
from engine.core.paging import page_of
from engine.core.periods import validate_period
from engine.people.scope import Scope
from engine.verification import cycle_batches, decisions, item_checks, items, minutes, register, submission_view
from engine.verification.drafts import (
    editable_submission,
    get_submission,
    locked_submission,
    operator_submission,
    standing,
)
from engine.verification.stale_imports import STALE_AFTER
from engine.verification.status import EDITABLE
from models import (
    Cycle,
    Decision,
    HumanTask,
    ImportJob,
    ImportStatus,
    ItemAction,
    ItemSource,
    ItemVerdict,
    Region,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Tier,
    Verdict,
    contains,
)

PROCESS_KEY = "verifikasi_berjenjang"
_REGION_TIER = select(Region.tingkat, Region.berakhir).where(Region.kode == bindparam("kode"))
_OPEN_DESA_TASK = select(HumanTask.id).where(
    HumanTask.submission_id == bindparam("submission_id"),
    HumanTask.tingkat == Tier.DESA,
    HumanTask.status == TaskStatus.TERBUKA,
)
_SUBMISSION_OF = select(Submission.id).where(
    Submission.kode_desa == bindparam("kode"), Submission.periode == bindparam("periode")
)


@dataclass
class Opened:
    submission: Submission
    created: bool


def verifier_deadlines(batas: dict[str, str]) -> dict[str, str]:
    """The deadlines of an update cycle that its verification tasks are held to (see
    `runtime.TIER_DEADLINES`). The desa's own deadline is the cycle's: reminded, and counted at closing."""
    return {tier: when for tier, when in batas.items() if tier != Tier.DESA.value}


_CYCLE_DEADLINES = select(Cycle.batas).where(Cycle.periode == bindparam("periode"))


def open_submission(
    session: Session, actor: Actor, kode_desa: str, periode: str, province: str, default_sla: str = "P14D"
) -> Opened:
    """Open the desa's submission for the period and start its verification process.

    Idempotent: when it exists already, it is returned unchanged.
    """
    validate_period(periode)
    tier, ended = session.execute(_REGION_TIER, {"kode": kode_desa}).first() or (None, None)
    if tier != Tier.DESA:
        raise Invalid(
            f"Kode desa/kelurahan {kode_desa!r} tidak dikenal",
            [Problem("gunakan kode Kemendagri bertitik, mis. 65.01.01.2005")],
        )
    if not contains(province, kode_desa):
        raise Invalid(f"Desa {kode_desa} berada di luar provinsi {province}")
    Scope.working(actor).require(kode_desa, f"Desa {kode_desa}", Tier.DESA)
    existing_id = session.scalar(_SUBMISSION_OF, {"kode": kode_desa, "periode": periode})
    if existing_id is not None:
        return Opened(get_submission(session, existing_id), created=False)
    if ended is not None:
        raise Invalid(f"Desa {kode_desa} sudah berakhir pada {ended:%d-%m-%Y}; buka pengajuan di desa penerusnya")
    # as opening the cycle's desa does: a closed cycle takes no new desa, whichever way one is opened
    cycle_batches.refuse_closed(cycle_batches.locked_cycle(session, periode), periode)
    submission = Submission(
        kode_desa=kode_desa,
        periode=periode,
        status=SubmissionStatus.DRAF,
        tingkat=Tier.DESA,
        putaran=0,
        created_at=clock.now(),
    )
    session.add(submission)
    session.flush()
    definition = definitions.current(session, PROCESS_KEY)
    running = runtime.start(
        session,
        actor,
        definition,
        f"{kode_desa}/{periode}",
        kode_desa,
        periode,
        {
            "kode_desa": kode_desa,
            "periode": periode,
            "submission_id": submission.id,
            "sla_durasi": default_sla,
            runtime.TIER_DEADLINES: verifier_deadlines(session.scalar(_CYCLE_DEADLINES, {"periode": periode}) or {}),
        },
    )
    submission.instance_id = running.row.id
    session.flush()
    register.prefill(session, {kode_desa: submission.id}, new=True)
    runtime.save(running)
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_OPENED,
        "submission",
        submission.id,
        after={"kode_desa": kode_desa, "periode": periode, "definition_version": definition.version},
        instance_id=running.row.id,
    )
    return Opened(submission, created=True)


def my_submissions(session: Session, actor: Actor) -> list[Submission]:
    desa = [g.region_kode for g in Scope.working(actor).grants if g.tier == Tier.DESA]
    if not desa:
        return []
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.kode_desa.in_(desa))
            .order_by(Submission.periode.desc(), Submission.kode_desa)
        )
    )


PAGE_SIZE = 100  # items per page of the operator's submission page


@dataclass
class SubmissionPage:
    submission: Submission
    desa: str
    items: list[submission_view.ItemRow]  # what the operator added or changed (register records changed too)
    discarded: list[submission_view.ItemRow]  # set aside in this draft; can be brought back
    decisions: list[dict[str, Any]]
    returns: list[dict[str, Any]]  # each return with its tier and reason, newest first
    editable: bool
    jobs: list[ImportJob]
    register: register.Progress
    deadline: datetime | None  # of the step the submission is at (the desa's while a draft)
    minutes_required: bool
    minutes_attachable: bool
    item_total: int = 0  # the items of the view shown, of which `items` is one page
    discarded_total: int = 0
    halaman: int = 1
    pages: int = 1
    returned_items: list[submission_view.ItemRow] = field(default_factory=list)  # judged not matching, first page
    returned_total: int = 0
    tampil: str = ""  # the view: the items entered (""), those set aside, those judged not matching
    live_total: int = 0


_RETURNED_BY = (
    select(HumanTask.tingkat)
    .where(HumanTask.submission_id == bindparam("submission_id"), HumanTask.keputusan == Decision.KEMBALIKAN)
    .order_by(HumanTask.id.desc())
    .limit(1)
)


def deadline_of(session: Session, submission: Submission) -> datetime | None:
    """When the submission's current step is due in its period's cycle (none without a cycle). A
    returned one is due back by the deadline of the tier that returned it (the desa's own has often
    passed: it is corrected for that tier's decision)."""
    returned = submission.status == SubmissionStatus.DIKEMBALIKAN
    batas = session.scalar(select(Cycle.batas).where(Cycle.periode == submission.periode))
    tier = Tier.DESA if submission.status in EDITABLE else submission.tingkat
    if returned:
        tier = session.scalar(_RETURNED_BY, {"submission_id": submission.id}) or tier
    return datetime.fromisoformat(batas[tier.value]) if batas and batas.get(tier.value) else None


# The operator's views of a submission's items: those entered, those set aside, those the tiers
# judged not matching in the round just returned; each paged, however many there are.
VIEWS = ("", "disisihkan", "dikembalikan")


def submission_page(
    session: Session, actor: Actor, submission_id: int, halaman: int = 1, tampil: str = ""
) -> SubmissionPage:
    """The operator's submission with one page of the items of a view (`PAGE_SIZE` each), so a
    submission of any size renders in bounded time; the items set aside and those judged not matching
    are also listed up to one page beside it, with their counts."""
    if tampil not in VIEWS:
        raise Invalid("Tampilan tidak dikenal", [Problem("pilih data, disisihkan atau dikembalikan", column="tampil")])
    submission = operator_submission(session, actor, submission_id)
    history = (  # the operator's own desa: reasons as written
        submission_view.decisions(session, submission.instance_id, full_nik=True) if submission.instance_id else []
    )
    entered = or_(
        SubmissionItem.source != ItemSource.REGISTER, SubmissionItem.aksi.in_([ItemAction.UBAH, ItemAction.HAPUS])
    )
    live = [entered, SubmissionItem.dibuang.is_(False)]
    set_aside = [entered, SubmissionItem.dibuang.is_(True)]
    discarded = submission_view.items_of(session, actor, submission, set_aside, page=(0, PAGE_SIZE))
    returned = submission.status == SubmissionStatus.DIKEMBALIKAN
    # what the tiers judged not matching in the round just returned: listed first with a way to each,
    # wherever it sits in the items (a register record confirmed unchanged is not among them at all)
    judged_wrong = [
        SubmissionItem.dibuang.is_(False),
        SubmissionItem.id.in_(
            select(ItemVerdict.item_id).where(
                ItemVerdict.verdict == Verdict.TIDAK_SESUAI, ItemVerdict.putaran == submission.putaran
            )
        ),
    ]
    returned_items = (
        submission_view.items_of(session, actor, submission, judged_wrong, page=(0, PAGE_SIZE)) if returned else []
    )
    chosen = {"disisihkan": set_aside, "dikembalikan": judged_wrong if returned else live}.get(tampil, live)
    item_total = submission_view.count_items(session, submission, chosen)
    halaman, pages, offset = page_of(item_total, halaman, PAGE_SIZE)
    shown = submission_view.items_of(session, actor, submission, chosen, page=(offset, PAGE_SIZE))
    return SubmissionPage(
        submission=submission,
        desa=session.scalar(select(Region.nama).where(Region.kode == submission.kode_desa)) or "",
        items=shown,
        discarded=discarded,
        decisions=history,
        returns=[d for d in reversed(history) if d["keputusan"] == Decision.KEMBALIKAN][:1] if returned else [],
        editable=submission.status in EDITABLE,
        jobs=list(
            session.scalars(
                select(ImportJob).where(ImportJob.submission_id == submission.id).order_by(ImportJob.id.desc()).limit(5)
            )
        ),
        register=register.progress(session, submission),
        deadline=deadline_of(session, submission),
        minutes_required=minutes.required(session),
        minutes_attachable=minutes.attachable(submission),
        item_total=item_total,
        discarded_total=submission_view.count_items(session, submission, set_aside),
        halaman=halaman,
        pages=pages,
        returned_items=returned_items,
        returned_total=submission_view.count_items(session, submission, judged_wrong) if returned else 0,
        tampil=tampil if chosen is not live else "",
        live_total=item_total if chosen is live else submission_view.count_items(session, submission, live),
    )


def check_draft(session: Session, actor: Actor, submission_id: int) -> list[Problem]:
    """Check a draft now as submitting would, so the operator sees what blocks it before submitting;
    what the record checks find is kept on the items."""
    submission = editable_submission(session, actor, submission_id)
    return _blockers(session, submission)


_IMPORT_IN_WORK = (
    select(ImportJob.filename)
    .where(
        ImportJob.submission_id == bindparam("submission_id"),
        ImportJob.status.in_([ImportStatus.MENUNGGU, ImportStatus.BERJALAN]),
        # an upload no scheduler took does not hold the submission for ever (`stale_imports.STALE_AFTER`)
        ImportJob.created_at >= bindparam("since"),
    )
    .order_by(ImportJob.id)
    .limit(1)
)


def _blockers(session: Session, submission: Submission) -> list[Problem]:
    """What keeps a submission from going up: a file still being imported into it (alone: the rest
    would judge a draft about to change), register records without a status, missing minutes,
    record errors (kept on the items)."""
    since = clock.now() - STALE_AFTER
    importing = session.scalar(_IMPORT_IN_WORK, {"submission_id": submission.id, "since": since})
    if importing is not None:
        return [
            Problem(
                f"berkas {importing} masih diimpor: tunggu sampai impornya selesai dan periksa hasilnya, "
                "lalu ajukan (hasilnya ada di bagian Impor berkas)"
            )
        ]
    problems = register.readiness(session, submission)
    minutes_problem = minutes.missing(session, submission)
    problems += [minutes_problem] if minutes_problem else []
    return problems + item_checks.check_submission(session, submission)


def submit(session: Session, actor: Actor, submission_id: int) -> Submission:
    """The operator submits: record errors block it; otherwise verification starts."""
    actor.require_person("Pengajuan harus diajukan oleh operator desa (--user)")
    submission = locked_submission(session, actor, submission_id)  # its items are checked as they stay
    task_id = session.scalar(_OPEN_DESA_TASK, {"submission_id": submission.id})
    if task_id is None:
        raise Conflict(
            f"Pengajuan periode {submission.periode} {standing(submission)}; tidak ada yang perlu diajukan lagi"
        )
    problems = _blockers(session, submission)
    if problems:
        raise Invalid(
            f"Pengajuan periode {submission.periode} belum dapat diajukan: {len(problems)} hal perlu dibereskan",
            problems,
        )
    items.drop_discarded(session, submission)
    decisions.send_up(session, actor, task_id)
    return submission
