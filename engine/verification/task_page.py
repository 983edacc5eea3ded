"""What a verifier sees on a task page: the submission, its items with flags and every tier's
verdicts, the decisions so far, and where the process stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.bpmn import runtime
from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem, SijoskuError
from engine.core.paging import page_of
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import flags, review
from engine.verification import decisions, minutes, submission_view, verdicts
from models import (
    AuditEvent,
    Decision,
    HumanTask,
    ItemAction,
    ItemVerdict,
    Record,
    RecordVersion,
    Region,
    Submission,
    SubmissionItem,
    TaskStatus,
    Tier,
    Verdict,
)

REGION_FLAGS_SHOWN = 10
PAGE_SIZE = 20  # item cards per page: a phone on a weak connection loads a page, not the whole desa
# What the item list can show: the changes the desa proposes (judged one by one), the records it
# confirmed unchanged (judged by sampling), the changes this task has not judged yet, and all.
VIEWS = ("perubahan", "belum", "dikonfirmasi", "semua")


@dataclass(frozen=True)
class ItemsShown:
    """One page of the submission's items in one view, with how many each view holds."""

    view: str
    page: int
    pages: int
    counts: dict[str, int]
    # this task's saved verdicts (the person's work so far): item id -> (verdict, reason)
    mine: dict[int, tuple[Verdict, str | None]]


@dataclass
class TaskPage:
    task: HumanTask
    submission: Submission | None
    desa: str
    items: list[submission_view.ItemRow]
    decisions: list[dict[str, Any]]
    revision: int
    can_act: bool
    why_not: str | None
    definition_id: int
    path: list[str]
    current: list[str]
    # aggregate flags of the desa and its parents, most serious first; the rest on the dashboard
    region_flags: review.FlagList = field(default_factory=lambda: review.FlagList([], 0))
    oversees_region: bool = False  # the quality dashboard of the task's region is open to the person
    shown: ItemsShown | None = None
    claimant: str | None = None  # who holds the task's claim
    minutes_missing: bool = False  # required minutes not attached: the kecamatan cannot approve
    # warnings on items of other pages still without a note: approving needs them all, from any page
    elsewhere: list[Elsewhere] = field(default_factory=list)
    returned: dict[str, Any] | None = None  # the latest return of this submission, said first
    summary: list[CategoryChange] = field(default_factory=list)  # the register before and after, by category
    # what the desa changed on each item of the page since that return: item id -> (field, before, after);
    # an item added since has no fields
    since_return: dict[int, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    carriable: int = 0  # items found in order last round and untouched since: found so again in one action
    # what another period's approval changed in this submission while the task was open (`in_work`)
    brought_up: list[BroughtUp] = field(default_factory=list)
    unchecked_reason: str | None = None  # why the desa could not check its register, as this person may read it
    nik_look_unrecorded: bool = False  # the person sees full NIKs here and the trail does not say so yet


@dataclass(frozen=True)
class BroughtUp:
    """An entry another period's approval set aside or updated while the task waited: its name, what
    was done and why (the approving period named), as the trail keeps it."""

    nama: str
    disisihkan: bool
    alasan: str


BROUGHT_UP_SHOWN = 20


def _brought_up(session: Session, task: HumanTask) -> list[BroughtUp]:
    """Entries changed under the open task: while a submission waits at a tier its desa cannot touch
    it, so an item set aside or updated since the task was made was changed by another period's
    approval (`in_work.after_approval`)."""
    events = session.execute(
        select(AuditEvent.action, AuditEvent.subject_id, AuditEvent.reason)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.subject_type == "submission_item",
            AuditEvent.action.in_((AuditAction.ITEM_DISCARDED.value, AuditAction.ITEM_UPDATED.value)),
            AuditEvent.at >= task.created_at,
        )
        .order_by(AuditEvent.seq)
        .limit(BROUGHT_UP_SHOWN + 1)
    ).all()
    named = decisions.item_names(session, [int(item_id) for _, item_id, _ in events])
    return [
        BroughtUp(named.get(int(item_id), "-"), action == AuditAction.ITEM_DISCARDED.value, reason or "")
        for action, item_id, reason in events
    ]


@dataclass(frozen=True)
class CategoryChange:
    """What the submission does to one category of the desa's register: a jump shows at a glance."""

    kategori: str
    sebelum: int  # records of the register the submission carries
    baru: int
    keluar: int
    sesudah: int

    @property
    def persen(self) -> int | None:
        return round(100 * (self.sesudah - self.sebelum) / self.sebelum) if self.sebelum else None


# Built once, as the task page's other reads (parameter: submission_id). The register before the
# submission: the category each item's record had then. Once the submission is approved its record
# holds the item's values, so the category is read from the version the item's own version replaced
# (none for a new entry); until then from the record. A record corrected into another category was
# on the register in its old one: "before" counts it there, and it leaves that category (removed or
# not) to come new into the other (unless removed).
Columns = TypeVarTuple("Columns")
_APPLIED = aliased(RecordVersion)  # the version the item wrote, once approved
_REPLACED = aliased(RecordVersion)  # the version that one replaced
_WAS = case((_APPLIED.id.is_not(None), _REPLACED.nilai["kategori"].as_string()), else_=Record.kategori)
_MOVED = _WAS != SubmissionItem.kategori  # not true for an entry with no record before
_LIVE_ITEMS = (SubmissionItem.submission_id == bindparam("submission_id"), SubmissionItem.dibuang.is_(False))


def _with_before(statement: Select[*Columns]) -> Select[*Columns]:
    return (
        statement.select_from(SubmissionItem)
        .outerjoin(Record, Record.id == SubmissionItem.record_id)
        .outerjoin(
            _APPLIED,
            and_(_APPLIED.submission_id == SubmissionItem.submission_id, _APPLIED.item_id == SubmissionItem.id),
        )
        .outerjoin(_REPLACED, _REPLACED.id == _APPLIED.replaces_id)
        .where(*_LIVE_ITEMS)
    )


_BEFORE = _with_before(select(_WAS, func.count(), func.count().filter(_MOVED))).where(_WAS.is_not(None)).group_by(_WAS)
_AFTER = _with_before(
    select(
        SubmissionItem.kategori,
        func.count().filter(
            or_(SubmissionItem.aksi == ItemAction.TAMBAH, and_(_MOVED, SubmissionItem.aksi != ItemAction.HAPUS))
        ),
        func.count().filter(SubmissionItem.aksi == ItemAction.HAPUS, or_(_WAS.is_(None), ~_MOVED)),
        func.count().filter(SubmissionItem.aksi != ItemAction.HAPUS),
    )
).group_by(SubmissionItem.kategori)


def _summary(session: Session, submission: Submission | None) -> list[CategoryChange]:
    if submission is None:
        return []
    asked = {"submission_id": submission.id}
    before = {kind: (n, moved_out) for kind, n, moved_out in session.execute(_BEFORE, asked).all()}
    after = {row[0]: row[1:] for row in session.execute(_AFTER, asked).all()}
    changes = []
    for kind in sorted(set(before) | set(after)):
        was, moved_out = before.get(kind, (0, 0))
        new, removed, now = after.get(kind, (0, 0, 0))
        changes.append(CategoryChange(kind, was, new, removed + moved_out, now))
    return changes


ELSEWHERE_SHOWN = 200  # warnings of other pages listed with a note each; beyond, the pages list them


@dataclass(frozen=True)
class Elsewhere:
    flag_id: int
    item: str  # the name and category on the item's card
    message: str


def _changed_since(
    session: Session, actor: Actor, task: HumanTask, returned: dict[str, Any] | None, items: list[Any]
) -> dict[int, list[tuple[str, Any, Any]]]:
    """The desa's work after a return on each item of the page (the item keeps only its latest state):
    every item touched since, with the fields, status and action as they were at the return and as
    they are now, read from the trail; an item with nothing before it there was added since (by the
    form or a file)."""
    touched = [row.item for row in items if returned is not None and row.item.updated_at > returned["waktu"]]
    if not touched:
        return {}
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.action.in_(_SINCE_RETURN),
            AuditEvent.subject_type == "submission_item",
            AuditEvent.subject_id.in_([str(item.id) for item in touched]),
            AuditEvent.at > returned["waktu"],  # type: ignore[index]
        )
        .order_by(AuditEvent.seq)
    )
    was: dict[int, dict[str, Any]] = {}
    for event in events:  # the first state after the return of each part of the item: as it was then
        for name, value in _state(event).items():
            was.setdefault(int(event.subject_id), {}).setdefault(name, value)
    shown = privacy.shown_to(sees_full_nik(actor, task))
    return {item.id: _differences(was.get(item.id), _now(item), shown) for item in touched}


_SINCE_RETURN = tuple(
    a.value
    for a in (AuditAction.ITEM_UPDATED, AuditAction.ITEM_ADDED, AuditAction.ITEM_VERVAL_SET, AuditAction.ITEM_RESTORED)
)


def _state(event: AuditEvent) -> dict[str, Any]:
    """What an item was before this event, by the names `_now` gives (`None`: added by it)."""
    if event.action == AuditAction.ITEM_UPDATED.value:
        return _fields(event.before)
    if event.action == AuditAction.ITEM_VERVAL_SET.value:
        return {"verval": (event.before or {}).get("verval"), "aksi": (event.before or {}).get("aksi")}
    if event.action == AuditAction.ITEM_RESTORED.value:
        return {"disisihkan": True}
    return {"ditambahkan": True}


def _now(item: SubmissionItem) -> dict[str, Any]:
    verval = item.verval.value if item.verval else None
    return _fields(item.data) | {"verval": verval, "aksi": item.aksi.value, "disisihkan": False}


def _differences(was: dict[str, Any] | None, now: dict[str, Any], shown: Any) -> list[tuple[str, Any, Any]]:
    if was is None or was.get("ditambahkan"):
        return []  # added since: the card is the whole of it
    return [(name, shown(value), shown(now.get(name))) for name, value in sorted(was.items()) if value != now.get(name)]


def _fields(data: dict[str, Any] | None) -> dict[str, Any]:
    """An item's data as fields to compare: its attributes each by name (`atribut.NAME`)."""
    data = data or {}
    plain = {k: v for k, v in data.items() if k != "atribut"}
    return plain | {f"atribut.{k}": v for k, v in (data.get("atribut") or {}).items()}


def _warnings_elsewhere(
    session: Session, actor: Actor, submission: Submission, items: list[submission_view.ItemRow]
) -> list[Elsewhere]:
    """At most `ELSEWHERE_SHOWN` of them (with their item's name only): the box says when there are more."""
    on_page = {row.item.id for row in items}
    waiting = flags.unacknowledged_warnings(session, submission.id, limit=ELSEWHERE_SHOWN + len(on_page) + 1)
    others = [f for f in waiting if f.item_id not in on_page]
    names = decisions.item_names(session, [f.item_id for f in others[:ELSEWHERE_SHOWN] if f.item_id is not None])
    shown = privacy.shown_to(privacy.sees_full_nik(actor, submission.kode_desa))
    return [Elsewhere(f.id, names.get(f.item_id or 0, ""), shown(f.message)) for f in others]


def _region_flags(session: Session, actor: Actor, task: HumanTask) -> review.FlagList:
    """Verifiers weigh a submission against the figures of its desa and of the regions above it."""
    if task.tingkat == Tier.DESA:
        return review.FlagList([], 0)
    return review.around(session, Scope.working(actor), task.kode_desa, REGION_FLAGS_SHOWN)


def _view_filter(view: str) -> list[ColumnElement[bool]]:
    """What a view shows of a submission's live items; the task being worked is the `task_id` parameter."""
    if view == "perubahan":
        return [_to_judge()]
    if view == "dikonfirmasi":
        return [SubmissionItem.aksi == ItemAction.PERIKSA]
    if view == "belum":
        judged = select(ItemVerdict.item_id).where(ItemVerdict.human_task_id == bindparam("task_id"))
        # what approval asks a verdict on: the changes (an item found wrong in an earlier round and set
        # back as it stood is shown among the changes, and judged as the verifier sees fit)
        return [SubmissionItem.aksi.in_(decisions.CHANGES), SubmissionItem.id.not_in(judged)]
    return []


def _to_judge() -> ColumnElement[bool]:
    """The desa's changes, and any item a tier found not in order in a round: a register record sent
    back and set right again ("masih layak" after "meninggal") is no change, but the verifier who
    returned it looks for it first."""
    judged = aliased(SubmissionItem)
    found_wrong = (  # the submission's verdicts read once, not once for each item
        select(ItemVerdict.item_id)
        .join(judged, judged.id == ItemVerdict.item_id)
        .where(judged.submission_id == bindparam("submission_id"), ItemVerdict.verdict == Verdict.TIDAK_SESUAI)
    )
    return or_(SubmissionItem.aksi.in_(decisions.CHANGES), SubmissionItem.id.in_(found_wrong))


# Built once: every task page asks them, and building a statement costs the client more time than
# the database takes to answer it. Parameters: submission_id, task_id (and offset, limit).
_LIVE = [SubmissionItem.submission_id == bindparam("submission_id"), SubmissionItem.dibuang.is_(False)]
# How many live items each view holds, counted in one scan of the submission's items.
_VIEW_COUNTS = select(
    *(func.count().filter(and_(*where)) if where else func.count() for where in map(_view_filter, VIEWS))
).where(*_LIVE)
_REGION_NAME = select(Region.nama).where(Region.kode == bindparam("kode"))
_VIEW_PAGE = {
    view: select(SubmissionItem)
    .where(*_LIVE, *_view_filter(view))
    .order_by(SubmissionItem.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
    for view in VIEWS
}


def sees_full_nik(actor: Actor, task: HumanTask) -> bool:
    """Those who check people against documents, while the check is theirs to make: once a verifier's
    task is decided its page shows NIK and KK masked, as everyone else reads them (the desa's
    operator keeps their own people's numbers, as on every desa page)."""
    still_checking = task.status == TaskStatus.TERBUKA or task.tingkat == Tier.DESA
    return still_checking and privacy.sees_full_nik(actor, task.kode_desa)


def _items(
    session: Session, actor: Actor, task: HumanTask, submission: Submission, view: str | None, page: int
) -> tuple[list[submission_view.ItemRow], ItemsShown]:
    asked = {"submission_id": submission.id, "task_id": task.id}
    counts = dict(zip(VIEWS, (n or 0 for n in session.execute(_VIEW_COUNTS, asked).one()), strict=True))
    if view is None:
        view = "perubahan" if counts["perubahan"] else "semua"
    if view not in VIEWS:
        raise Invalid("Tampilan tidak dikenal", [Problem(f"pilih salah satu: {', '.join(VIEWS)}", column="tampil")])
    page, pages, offset = page_of(counts[view], page, PAGE_SIZE)
    shown = session.scalars(_VIEW_PAGE[view], {**asked, "offset": offset, "limit": PAGE_SIZE}).all()
    rows = submission_view.rows_of(session, actor, submission, shown, task.id, sees_full_nik(actor, task))
    return rows, ItemsShown(view, page, pages, counts, {r.item.id: r.draft for r in rows if r.draft})


def task_page(session: Session, actor: Actor, task_id: int, view: str | None = None, page: int = 1) -> TaskPage:
    """The task as the person judges it: one page of items in the chosen view (the desa's changes
    first), with everything known about each, and whether and why the person may act."""
    found = decisions.find(session, actor, task_id)
    task, submission = found.task, found.submission
    found_instance = runtime.read(session, task.instance_id)
    assert found_instance is not None
    instance, definition_sha = found_instance
    why_not = None
    try:
        decisions.check_may_act(session, actor, found)  # the same rules that guard completion
    except SijoskuError as exc:
        why_not = str(exc)
    path, current = runtime.path_taken(session, instance, definition_sha)
    items, shown = _items(session, actor, task, submission, view, page) if submission else ([], None)
    full_nik = sees_full_nik(actor, task)
    decided = submission_view.decisions(session, task.instance_id, full_nik)
    returned = next((d for d in reversed(decided) if d["keputusan"] == Decision.KEMBALIKAN.value), None)
    return TaskPage(
        task=task,
        submission=submission,
        desa=session.scalar(_REGION_NAME, {"kode": task.kode_desa}) or task.kode_desa,
        items=items,
        decisions=decided,
        revision=instance.revision,
        can_act=why_not is None,
        why_not=why_not,
        definition_id=instance.definition_id,
        path=path,
        current=current,
        region_flags=_region_flags(session, actor, task),
        oversees_region=Scope.overseeing(actor).contains(task.region_kode),
        shown=shown,
        claimant=submission_view.user_names(session, [task.assignee_id]).get(task.assignee_id or 0),
        minutes_missing=bool(
            submission and task.tingkat == Tier.KECAMATAN and minutes.missing(session, submission) is not None
        ),
        elsewhere=_warnings_elsewhere(session, actor, submission, items) if submission and why_not is None else [],
        returned=returned,
        summary=_summary(session, submission) if task.tingkat != Tier.DESA else [],
        since_return=_changed_since(session, actor, task, returned, items),
        carriable=len(verdicts.carriable(session, task, submission))
        if returned and submission and why_not is None
        else 0,
        unchecked_reason=privacy.shown_to(full_nik)(submission.tidak_diperiksa) if submission else None,
        brought_up=_brought_up(session, task)
        if task.tingkat != Tier.DESA and task.status == TaskStatus.TERBUKA
        else [],
        nik_look_unrecorded=full_nik and task.tingkat != Tier.DESA and not _nik_look_recorded(session, actor, task),
    )


def _nik_look_recorded(session: Session, actor: Actor, task: HumanTask) -> bool:
    return session.scalar(_NIK_LOOK, {"task": str(task.id), "actor": actor.name}) is not None


_NIK_LOOK = (
    select(AuditEvent.seq)
    .where(
        AuditEvent.subject_id == bindparam("task"),
        AuditEvent.subject_type == "human_task",
        AuditEvent.action == AuditAction.NIK_VIEWED.value,
        AuditEvent.actor == bindparam("actor"),
    )
    .limit(1)
)


def record_nik_look(session: Session, actor: Actor, task_id: int) -> None:
    """A verifier above the desa who checks people against documents sees their full NIK and KK on the
    task page: the first look at each task goes on the trail (the law asks who looked; each page
    view again would write a row per click), with the submission whose people it shows."""
    task = decisions.find(session, actor, task_id).task
    if sees_full_nik(actor, task) and task.tingkat != Tier.DESA and not _nik_look_recorded(session, actor, task):
        shown, why = {"pengajuan": task.submission_id}, "tugas verifikasi"
        audit.record(session, actor, AuditAction.NIK_VIEWED, "human_task", task.id, after=shown, reason=why)
