"""What a submission looks like to the people who read it: its items with the checks' flags and
every tier's verdicts, and the decisions taken on it so far."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.core import transaction_cache
from engine.core.actors import Actor
from engine.core.errors import phrase
from engine.core.rows import chunks
from engine.people import privacy
from engine.quality import flags as quality_flags
from engine.quality.duplicates import ELSEWHERE_RULES
from engine.verification import linkage, records
from models import (
    Category,
    HumanTask,
    ItemAction,
    ItemVerdict,
    QualityFlag,
    Record,
    RecordVersion,
    Region,
    Submission,
    SubmissionItem,
    TaskStatus,
    User,
    Verdict,
)


@dataclass
class ItemRow:
    item: SubmissionItem
    nik: str  # masked unless the viewer needs the full number
    no_kk: str = ""  # the family card number, masked like the NIK
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # tier -> this round's verdict
    earlier: list[dict[str, Any]] = field(default_factory=list)  # verdicts of earlier rounds
    flags: list[QualityFlag] = field(default_factory=list)  # what the checks found, with acknowledgements
    # flag id -> its message as the viewer reads it (another person's NIK in it masked, as the fields are)
    flag_messages: dict[int, str] = field(default_factory=dict)
    # for a correction: (field, the record's value, the new value) of each field it changes
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    disclosed: dict[int, str] = field(default_factory=dict)  # flag id -> where else the entry is, if the viewer may see
    nik_check: linkage.NikView = field(default_factory=linkage.NikView.unchecked)  # Dukcapil's answer
    dtsen: linkage.DtsenView | None = None  # decile and programmes, by NIK or KK
    draft: tuple[Verdict, str | None] | None = None  # the verdict saved on the task being worked, if asked
    full_nik: bool = True  # whether the viewer reads NIKs and family card numbers whole
    checks: list[dict[str, Any]] = field(default_factory=list)  # what the import's checks found, as the viewer may read

    def shown(self, text: Any) -> Any:
        """A free text of the entry (a check's message, a reason, an address, a note, an
        acknowledgement) as the viewer reads it: another person's numbers in it masked like the fields."""
        return privacy.shown_to(self.full_nik)(text)


_USER_NAMES = select(User.id, User.username).where(User.id.in_(bindparam("ids", expanding=True)))


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    return dict(session.execute(_USER_NAMES, {"ids": wanted}).all()) if wanted else {}


_CATEGORY_NAMES = select(Category.kode, Category.nama)


def category_names(session: Session) -> dict[str, str]:
    """Code -> name of every category, for pages that name an item's category; read once per
    transaction (a task page asks for its cards and again for its "registered elsewhere" notes)."""
    return transaction_cache.get(session, "category_names") or transaction_cache.put(
        session, "category_names", {kode: nama for kode, nama in session.execute(_CATEGORY_NAMES)}
    )


def _disclosures(session: Session, viewer: Actor, here: str, flags: list[QualityFlag]) -> dict[int, str]:
    """Flag id -> the other place and category behind a "registered elsewhere" flag, for those who may know."""
    shown = [
        f for f in flags if f.sources.get("tempat") and privacy.sees_other_place(viewer, here, f.sources["tempat"])
    ]
    if not shown:
        return {}
    kinds = category_names(session)
    wanted = {f.sources["tempat"] for f in shown}
    places = dict(session.execute(select(Region.kode, Region.nama).where(Region.kode.in_(wanted))).all())
    return {f.id: _registered_at(f.sources, places, kinds) for f in shown}


def _registered_at(where: dict[str, Any], places: dict[str, str], kinds: dict[str, str]) -> str:
    code, kind = where["tempat"], kinds.get(str(where.get("kategori")), where.get("kategori"))
    source = phrase("pengajuan periode ini") if where.get("sumber") == "pengajuan" else phrase("data terverifikasi")
    return phrase(f"tercatat di desa {code} {places.get(code, '')} sebagai {kind} ({source})")


def item_query(submission: Submission, where: Sequence[ColumnElement[bool]] = ()) -> Select[SubmissionItem]:
    return select(SubmissionItem).where(SubmissionItem.submission_id == submission.id, *where)


def count_items(session: Session, submission: Submission, where: Sequence[ColumnElement[bool]] = ()) -> int:
    return session.scalar(select(func.count()).select_from(item_query(submission, where).subquery())) or 0


def items_of(
    session: Session,
    viewer: Actor,
    submission: Submission,
    where: Sequence[ColumnElement[bool]] = (),
    page: tuple[int, int] | None = None,
    draft_of: int | None = None,
) -> list[ItemRow]:
    """The submission's items (those matching `where`; one page of (offset, limit) when given) with
    what each viewer may see of them, and the verdicts saved on task `draft_of` when given."""
    query = item_query(submission, where).order_by(SubmissionItem.id)
    if page is not None:
        query = query.offset(page[0]).limit(page[1])
    return rows_of(session, viewer, submission, session.scalars(query).all(), draft_of)


def _changes(session: Session, items: Sequence[SubmissionItem]) -> dict[int, list[tuple[str, Any, Any]]]:
    """Item id -> (field, value before, item's value) for each field a correction changes. Before is
    the record as it stands; once the item was applied, the version its own version replaced (the
    record then holds the item's values, and may have changed again since)."""
    corrected = {i.record_id: i for i in items if i.aksi == ItemAction.UBAH and i.record_id}
    if not corrected:
        return {}
    before = {
        r.id: records.as_item_values(r) for r in session.scalars(select(Record).where(Record.id.in_(list(corrected))))
    }
    before.update(_replaced(session, [i.id for i in corrected.values()]))
    return {
        item.id: [
            (name, before[record_id].get(name), item.data.get(name))
            for name in CHANGE_FIELDS
            if (before[record_id].get(name) or "") != (item.data.get(name) or "")
        ]
        for record_id, item in corrected.items()
        if record_id in before
    }


_APPLIED, _REPLACED = aliased(RecordVersion), aliased(RecordVersion)


def _replaced(session: Session, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Record id -> the values of the version an applied item's own version replaced."""
    found = session.execute(
        select(_APPLIED.record_id, _REPLACED.nilai)
        .join(_REPLACED, _REPLACED.id == _APPLIED.replaces_id)
        .where(_APPLIED.item_id.in_(item_ids))
    )
    return {record_id: records.version_as_item_values(nilai) for record_id, nilai in found}


CHANGE_FIELDS = (
    "nik",
    "no_kk",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "alamat",
    "kategori",
    "keterangan",
    "atribut",
)


_DECIDED = HumanTask.status == TaskStatus.SELESAI
# Built once (the task page asks on every request): the verdicts on items `ids`, each with whether
# its task is decided, those of unfinished tasks only for task `draft_of`.
_VERDICTS = (
    select(ItemVerdict, _DECIDED)
    .join(HumanTask, HumanTask.id == ItemVerdict.human_task_id)
    .where(
        ItemVerdict.item_id.in_(bindparam("ids", expanding=True)),
        or_(_DECIDED, ItemVerdict.human_task_id == bindparam("draft_of")),
    )
    .order_by(ItemVerdict.putaran, ItemVerdict.id)
)


def _verdicts(
    session: Session, items: Sequence[SubmissionItem], draft_of: int | None
) -> tuple[list[ItemVerdict], dict[int, tuple[Verdict, str | None]]]:
    """The tiers' verdicts on the items, oldest first, and item id -> the verdict saved on task
    `draft_of`, in one read. Verdicts saved on a task still being worked are the person's draft, not
    yet a tier's word."""
    if not items:
        return [], {}
    # No task has id 0: without a task being worked, only the tiers' verdicts are read.
    found = session.execute(_VERDICTS, {"ids": [i.id for i in items], "draft_of": draft_of or 0}).all()
    drafts = {v.item_id: (v.verdict, v.alasan) for v, _ in found if v.human_task_id == draft_of}
    return [v for v, is_decided in found if is_decided], drafts


def rows_of(
    session: Session,
    viewer: Actor,
    submission: Submission,
    items: Sequence[SubmissionItem],
    draft_of: int | None = None,
    full_nik: bool | None = None,
) -> list[ItemRow]:
    """`full_nik`: whether NIK and KK are shown whole (by default, as the viewer's role has it)."""
    verdicts, drafts = _verdicts(session, items, draft_of)
    names = user_names(session, {v.user_id for v in verdicts})
    by_item: dict[int, list[ItemVerdict]] = defaultdict(list)
    for verdict in verdicts:
        by_item[verdict.item_id].append(verdict)
    if full_nik is None:
        full_nik = privacy.sees_full_nik(viewer, submission.kode_desa)
    shown = privacy.shown_to(full_nik)
    elsewhere_told = privacy.told_of_elsewhere(viewer)
    found = quality_flags.item_flags(session, submission.id, [i.id for i in items])
    changes = _changes(session, items)
    checks, record_checks = _nik_checks(session, items)
    dtsen = linkage.dtsen_for(session, [(i.nik, i.data.get("no_kk") or None) for i in items])
    # the places behind every flag of the page, read once (not once per item that has one)
    disclosed = _disclosures(session, viewer, submission.kode_desa, [f for fs in found.values() for f in fs])
    rows = []
    for item in items:
        flags = found.get(item.id, [])
        kk = item.data.get("no_kk") or ""
        row = ItemRow(
            item,
            item.nik if full_nik else privacy.mask_nik(item.nik),
            kk if full_nik else privacy.mask_nik(kk),
            flags=flags,
            flag_messages={f.id: shown(f.message) for f in flags},
            disclosed={f.id: disclosed[f.id] for f in flags if f.id in disclosed},
            full_nik=full_nik,
            checks=[m for m in item.masalah or [] if elsewhere_told or m.get("aturan") not in ELSEWHERE_RULES],
        )
        row.nik_check = checks.get(item.id) or record_checks.get(item.record_id or 0) or linkage.NikView.unchecked()
        row.dtsen = dtsen.get((item.nik, item.data.get("no_kk") or None))
        row.changes = changes.get(item.id, []) if full_nik else _masked(changes.get(item.id, []))
        row.draft = drafts.get(item.id)
        for v in by_item[item.id]:
            entry = {
                "tingkat": v.tingkat.value,
                "putaran": v.putaran,
                "verdict": v.verdict.value,
                "alasan": shown(v.alasan),
                "oleh": names.get(v.user_id),
                "waktu": v.created_at,
            }
            if v.putaran == submission.putaran:
                row.verdicts[v.tingkat.value] = entry
            else:
                row.earlier.append(entry)
        rows.append(row)
    return rows


def _masked(changes: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """A correction's NIK and family card number as a viewer who does not need them reads them."""
    return [
        (name, privacy.mask_personal(before, name), privacy.mask_personal(after, name))
        for name, before, after in changes
    ]


def _nik_checks(
    session: Session, items: Sequence[SubmissionItem]
) -> tuple[dict[int, linkage.NikView], dict[int, linkage.NikView]]:
    """Dukcapil's answers on the items, and on the records that unchanged items refer to."""
    by_item = linkage.item_nik_statuses(session, [i.id for i in items])
    by_record = linkage.nik_statuses(session, [i.record_id for i in items if i.record_id and i.id not in by_item])
    return by_item, {k: v for k, v in by_record.items() if v.status != "belum_dicek"}


DECIDED_CHUNK = 500  # instances in one IN list
_DECISIONS = (
    select(HumanTask)
    .where(HumanTask.instance_id.in_(bindparam("instance_ids", expanding=True)), HumanTask.status == TaskStatus.SELESAI)
    .order_by(HumanTask.completed_at, HumanTask.id)
)


def decisions(session: Session, instance_id: int, full_nik: bool = False) -> list[dict[str, Any]]:
    """The completed tasks of an instance, oldest first: who decided what, at which tier, why (a NIK
    written in a reason masked unless the viewer needs the full number)."""
    return decisions_of(session, [instance_id], full_nik).get(instance_id, [])


def decisions_of(
    session: Session, instance_ids: Iterable[int], full_nik: bool = False
) -> dict[int, list[dict[str, Any]]]:
    """`decisions` of several instances (a record's versions, each written by its own), read together."""
    wanted = sorted(set(instance_ids))
    done = [t for ids in chunks(wanted, DECIDED_CHUNK) for t in session.scalars(_DECISIONS, {"instance_ids": ids})]
    names = user_names(session, {t.completed_by_id for t in done})
    shown = privacy.shown_to(full_nik)
    decided: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in done:
        decided[t.instance_id].append(
            {
                "tingkat": t.tingkat.value,
                "tugas": t.nama,
                "task_id": t.id,
                "keputusan": t.keputusan,
                "alasan": shown(t.alasan),
                "oleh": names.get(t.completed_by_id),
                "waktu": t.completed_at,
            }
        )
    return decided
