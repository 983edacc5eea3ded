"""What a verifier sees on a task page: the submission, its items with flags and every tier's
verdicts, the decisions so far, and where the process stands."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import definitions, privacy, tasks
from engine.actors import Actor
from engine.definitions import NS
from engine.errors import SijoskuError
from engine.inbox import task_in_scope
from engine.quality import aggregates
from engine.quality import flags as quality_flags
from engine.state import load_state
from models import (
    HumanTask,
    ItemVerdict,
    ProcessDefinition,
    ProcessInstance,
    QualityFlag,
    Region,
    Submission,
    SubmissionItem,
    TaskStatus,
    Tier,
    User,
)


@dataclass
class ItemRow:
    item: SubmissionItem
    nik: str  # masked unless the viewer needs the full number
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # tier -> this round's verdict
    earlier: list[dict[str, Any]] = field(default_factory=list)  # verdicts of earlier rounds
    flags: list[QualityFlag] = field(default_factory=list)  # what the checks found, with acknowledgements


@dataclass
class TaskPage:
    task: HumanTask
    submission: Submission | None
    desa: str
    items: list[ItemRow]
    decisions: list[dict[str, Any]]
    revision: int
    can_act: bool
    why_not: str | None
    definition_id: int
    path: list[str]
    current: list[str]
    region_flags: list[QualityFlag] = field(default_factory=list)  # aggregate flags on the task's region


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}


def items_of(session: Session, viewer: Actor, submission: Submission) -> list[ItemRow]:
    items = session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission.id)
                            .order_by(SubmissionItem.id)).all()
    verdicts = session.scalars(select(ItemVerdict).where(ItemVerdict.item_id.in_([i.id for i in items]))
                               .order_by(ItemVerdict.putaran, ItemVerdict.id)).all() if items else []
    names = _names(session, {v.user_id for v in verdicts})
    by_item: dict[int, list[ItemVerdict]] = defaultdict(list)
    for verdict in verdicts:
        by_item[verdict.item_id].append(verdict)
    full_nik = privacy.sees_full_nik(viewer, submission.kode_desa)
    found = quality_flags.item_flags(session, submission.id)
    rows = []
    for item in items:
        row = ItemRow(item, item.nik if full_nik else privacy.mask_nik(item.nik), flags=found.get(item.id, []))
        for v in by_item[item.id]:
            entry = {"tingkat": v.tingkat.value, "putaran": v.putaran, "verdict": v.verdict.value,
                     "alasan": v.alasan, "oleh": names.get(v.user_id), "waktu": v.created_at}
            if v.putaran == submission.putaran:
                row.verdicts[v.tingkat.value] = entry
            else:
                row.earlier.append(entry)
        rows.append(row)
    return rows


def decisions(session: Session, instance_id: int) -> list[dict[str, Any]]:
    done = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                   HumanTask.status == TaskStatus.SELESAI)
                           .order_by(HumanTask.completed_at, HumanTask.id)).all()
    names = _names(session, {t.completed_by_id for t in done})
    return [{"tingkat": t.tingkat.value, "tugas": t.nama, "keputusan": t.decision, "alasan": t.reason,
             "oleh": names.get(t.completed_by_id), "waktu": t.completed_at} for t in done]


def process_path(session: Session, instance: ProcessInstance) -> tuple[list[str], list[str]]:
    """BPMN element ids the instance has passed (nodes and the flows between them), and where it waits."""
    parsed = definitions.parsed_by_id(session, instance.definition_id)
    workflow = load_state(instance.state, instance.serializer_version, parsed.spec, parsed.subprocess_specs)
    done = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}
    current = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
                      if t.task_spec.bpmn_id})
    xml = session.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == instance.definition_id))
    root = etree.fromstring(xml.encode("utf-8"))
    reached = done | set(current)
    flows = [f.get("id") for f in root.xpath(".//bpmn:sequenceFlow", namespaces=NS)
             if f.get("sourceRef") in done and f.get("targetRef") in reached]
    return sorted(done) + flows, current


def task_page(session: Session, actor: Actor, task_id: int) -> TaskPage:
    task = task_in_scope(session, actor, task_id)
    submission = session.get(Submission, task.submission_id) if task.submission_id else None
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    why_not = None
    try:
        tasks.ensure_can_act(session, actor, task.id)  # the same rules that guard completion
    except SijoskuError as exc:
        why_not = str(exc)
    path, current = process_path(session, instance)
    items = items_of(session, actor, submission) if submission else []
    region_flags = []
    if task.tingkat in (Tier.KABUPATEN, Tier.PROVINSI):  # the tiers that look at totals and trends
        kinds = {row.item.kategori for row in items}
        region_flags = [f for f in aggregates.open_flags(session, [task.region_kode], limit=200)
                        if f.region_kode.count(".") <= task.region_kode.count(".") + 1
                        and (not kinds or f.kategori in kinds)][:30]
    return TaskPage(
        task=task, submission=submission, desa=session.scalar(select(Region.nama).where(
            Region.kode == task.kode_desa)) or task.kode_desa,
        items=items,
        decisions=decisions(session, task.instance_id), revision=instance.revision,
        can_act=why_not is None, why_not=why_not, definition_id=instance.definition_id, path=path,
        current=current, region_flags=region_flags)
