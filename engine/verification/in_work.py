"""The desa's other submissions still in work when one is approved: the register they carry moves on.

A period's submission carries a copy of the register as it stood when the period opened. Cycles
overlap: the next period may open while this one is still going up the tiers, and a returned
period may still be worked on after a later one was approved. When an approval changes the
register, the copies the desa's other submissions hold are brought up to it, so that approving
them later neither brings a person recorded dead or moved back onto the register nor undoes a
correction with a value copied before it:
- an entry of a record the approval removed is set aside (the person is off the register);
- an entry of a record whose values it changed takes the new values, except where the operator
  wrote a value of their own;
- a record it added joins the drafts' registers, and an entry of the same person in any of them
  (a draft, or one already sent up) becomes that record's re-verification.
Each change is on the trail, and each submission changed is told to its desa and to the tier
judging it (`SubmissionBroughtUpToDate`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.core import audit, clock, events
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.quality import identity
from engine.verification import item_checks, records
from engine.verification.drafts import set_aside
from engine.verification.register import carried_records, prefill
from engine.verification.status import EDITABLE, IN_WORK
from models import (
    Category,
    FlagStatus,
    HumanTask,
    ItemAction,
    ProcessInstance,
    QualityFlag,
    Record,
    RecordStatus,
    RecordVersion,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    Tier,
    Unit,
)


def after_approval(session: Session, actor: Actor, submission: Submission, applied: list[SubmissionItem]) -> None:
    """What `submission`'s approval wrote to the register reaches the desa's other submissions in work."""
    others = _in_work(session, submission)
    drafts = sorted(other.instance_id for other in others if other.status in EDITABLE and other.instance_id)
    if drafts:
        # the drafts' instances, locked in id order as the operator's edit, mark or submit locks each
        # first: one in progress is committed, and seen, before its copies are brought up to date.
        # One sent up is not locked: its tier's decision would wait for this approval's records while
        # holding its own instance, and an approval of it would wait here for the other's.
        session.execute(
            select(ProcessInstance.id)
            .where(ProcessInstance.id.in_(drafts))
            .order_by(ProcessInstance.id)
            .with_for_update()
        )
        others = _in_work(session, submission)
    changed = _changed_records(session, submission)
    done: Counter[tuple[int, str]] = (
        _bring_up_to_date(session, actor, submission, others, changed) if others and changed else Counter()
    )
    if others and any(item.aksi == ItemAction.TAMBAH for item in applied):
        for other in others:  # one sent up too: its entry of the person re-verifies the record
            done[(other.id, "ditautkan")] += _link_entries(session, actor, other, submission)
            if other.status in EDITABLE:
                prefill(session, {submission.kode_desa: other.id})
    for warned in _check_again(session, submission, changed):
        done[(warned, "ditandai")] += 1
    _tell(session, submission, others, done)


def _check_again(
    session: Session, submission: Submission, changed: dict[int, tuple[Record, dict[str, Any]]]
) -> list[int]:
    """Submissions already sent up that enter anew a person this approval took off the register were
    checked while the person still stood on it: they are checked again, so the entry now warns
    (`pernah_dihapus` in this desa; a death, `tercatat_meninggal_tempat_lain`, in the province's
    other desa) and waits for a verifier's note. A draft is checked when it is submitted. Returns the
    submissions of this desa checked again, once per entry."""
    niks = sorted({r.nik for r, _ in changed.values() if r.status == RecordStatus.DIHAPUS and r.nik})
    if not niks:
        return []
    province = submission.kode_desa.split(".", 1)[0]
    entries = session.execute(
        select(SubmissionItem.submission_id, Submission.kode_desa)
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .where(
            SubmissionItem.nik.in_(niks),
            SubmissionItem.aksi == ItemAction.TAMBAH,
            SubmissionItem.dibuang.is_(False),
            Submission.status == SubmissionStatus.DIAJUKAN,
            Submission.kode_desa.startswith(f"{province}."),
        )
    ).all()
    for submission_id in sorted({submission_id for submission_id, _ in entries}):
        item_checks.forget(session, submission_id)
        item_checks.check_submission(session, session.get_one(Submission, submission_id))
    return [submission_id for submission_id, desa in entries if desa == submission.kode_desa]


def _tell(session: Session, approved: Submission, others: list[Submission], done: Counter[tuple[int, str]]) -> None:
    """Each submission changed is told to its desa, and to the tier judging it, with what changed."""
    for other in others:
        counts = {kind: done[(other.id, kind)] for kind in ("disisihkan", "diperbarui", "ditautkan", "ditandai")}
        if not any(counts.values()):
            continue
        waiting = other.status == SubmissionStatus.DIAJUKAN
        task = (
            session.scalar(
                select(HumanTask.id).where(HumanTask.submission_id == other.id, HumanTask.status == TaskStatus.TERBUKA)
            )
            if waiting
            else None
        )
        events.publish(
            session,
            events.SubmissionBroughtUpToDate(
                submission_id=other.id,
                kode_desa=other.kode_desa,
                periode=other.periode,
                oleh_periode=approved.periode,
                tingkat=other.tingkat.value if waiting else Tier.DESA.value,
                task_id=task,
                **counts,
            ),
        )


def _in_work(session: Session, submission: Submission) -> list[Submission]:
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.kode_desa == submission.kode_desa,
                Submission.id != submission.id,
                Submission.status.in_(IN_WORK),
            )
            .order_by(Submission.id)
            .execution_options(populate_existing=True)
        )
    )


def _changed_records(session: Session, submission: Submission) -> dict[int, tuple[Record, dict[str, Any]]]:
    """The records this submission removed or changed a value of, each with its change (field ->
    [before, after]); a re-verification that changed nothing is left out."""
    versions = session.execute(
        select(Record, RecordVersion.perubahan)
        .join(RecordVersion, RecordVersion.record_id == Record.id)
        .where(RecordVersion.submission_id == submission.id)
        .order_by(RecordVersion.record_id, RecordVersion.versi)
    ).all()
    changed: dict[int, tuple[Record, dict[str, Any]]] = {}
    for record, change in versions:  # two items on one record: from the first's before to the last's after
        earlier = changed.get(record.id, (record, {}))[1]
        merged = {field: [earlier.get(field, pair)[0], pair[1]] for field, pair in change.items()}
        changed[record.id] = (record, earlier | merged)
    return {key: found for key, found in changed.items() if found[1]}


def _bring_up_to_date(
    session: Session,
    actor: Actor,
    submission: Submission,
    others: Sequence[Submission],
    changed: dict[int, tuple[Record, dict[str, Any]]],
) -> Counter[tuple[int, str]]:
    """The entries of changed records brought up to date; how many per (submission, what was done)."""
    entries = session.scalars(
        select(SubmissionItem)
        .where(
            SubmissionItem.submission_id.in_([other.id for other in others]),
            SubmissionItem.record_id.in_(list(changed)),
            SubmissionItem.dibuang.is_(False),
        )
        .order_by(SubmissionItem.id)
        .execution_options(populate_existing=True)
    ).all()
    by_id = {other.id: other for other in others}
    why = f"register diperbarui oleh pengajuan periode {submission.periode} yang disetujui"
    done: Counter[tuple[int, str]] = Counter()
    for entry in entries:
        record, change = changed[entry.record_id or 0]
        instance_id, before = by_id[entry.submission_id].instance_id, dict(entry.data)
        if record.status == RecordStatus.DIHAPUS:
            set_aside(session, actor, entry, instance_id, why)
            _settle_flags(session, actor, entry, why)
            done[(entry.submission_id, "disisihkan")] += 1
        elif _rebase(entry, record, change):
            done[(entry.submission_id, "diperbarui")] += 1
            entry.updated_at = clock.now()  # a form opened on the copy before is stale
            audit.record(
                session,
                actor,
                AuditAction.ITEM_UPDATED,
                "submission_item",
                entry.id,
                before=before,
                after=entry.data,
                reason=why,
                instance_id=instance_id,
            )
        else:
            continue
        item_checks.forget(session, entry.submission_id)
    return done


def _settle_flags(session: Session, actor: Actor, entry: SubmissionItem, why: str) -> None:
    """A copy set aside in a submission already sent up is no longer judged: its open warnings are
    settled with the reason, so that they neither wait for a note nor stand in the way of approval."""
    session.execute(
        update(QualityFlag)
        .where(QualityFlag.item_id == entry.id, QualityFlag.status == FlagStatus.TERBUKA)
        .values(status=FlagStatus.SELESAI, ack_by=actor.name, ack_note=why, ack_at=clock.now())
    )


def _rebase(entry: SubmissionItem, record: Record, change: dict[str, Any]) -> bool:
    """The approval's new values on an entry copied before it, field by field (a category's
    attributes one by one): a field still as the approval found it takes the new value; one the
    operator wrote otherwise keeps theirs."""
    now = records.as_item_values(record)
    data = dict(entry.data)
    attributes = dict(data.get("atribut") or {})
    for field, (old, _new) in change.items():
        name = field.removeprefix(records.ATTRIBUTE)
        if name != field:
            if _same(attributes.get(name), old):
                attributes[name] = now["atribut"].get(name)
        elif field in data and field in now and _same(data[field], old):
            data[field] = now[field]
    if attributes != (data.get("atribut") or {}):
        data["atribut"] = {name: value for name, value in attributes.items() if value is not None}
    if data == entry.data:
        return False
    entry.data = data
    entry.kategori, entry.nik, entry.no_kk = data["kategori"], data["nik"] or None, data["no_kk"] or None
    return True


def _same(item_value: Any, record_value: Any) -> bool:
    """An item writes an empty text where a record holds nothing."""
    return (item_value or None) == (record_value or None)


def _link_entries(session: Session, actor: Actor, draft: Submission, approved: Submission) -> int:
    """The draft's new entries whose person (by the unit's identity) and category match an active
    record it does not carry yet become re-verifications of that record, each on the trail."""
    carried = carried_records(session, [draft.id])
    units = {kode: Unit(satuan) for kode, satuan in session.execute(select(Category.kode, Category.satuan))}

    def unit_of(kategori: str) -> Unit:  # as the checks' context reads an unknown category
        return units.get(kategori, Unit.INDIVIDU)

    found = records.by_identity(session, draft.kode_desa, unit_of)
    waiting = {key: record_id for key, record_id in found.items() if record_id not in carried}
    entries = session.scalars(
        select(SubmissionItem)
        .where(
            SubmissionItem.submission_id == draft.id,
            SubmissionItem.record_id.is_(None),
            SubmissionItem.aksi == ItemAction.TAMBAH,
            SubmissionItem.dibuang.is_(False),  # one set aside would carry the record off unchecked
        )
        .order_by(SubmissionItem.id)
    )
    why = f"orangnya ditambahkan ke register oleh pengajuan periode {approved.periode} yang disetujui"
    linked = 0
    for item in entries if waiting else []:
        # a record is re-verified by one entry: a second of the same person stays a new entry, which
        # the checks then name as a duplicate
        record_id = waiting.pop((identity.key(unit_of(item.kategori), item.data), item.kategori), None)
        if record_id is not None:
            item.record_id, item.aksi, item.updated_at = record_id, ItemAction.UBAH, clock.now()
            audit.record(
                session,
                actor,
                AuditAction.ITEM_UPDATED,
                "submission_item",
                item.id,
                before={"aksi": ItemAction.TAMBAH.value},
                after={"aksi": ItemAction.UBAH.value, "record_id": record_id},
                reason=why,
                instance_id=draft.instance_id,
            )
            linked += 1
    return linked
