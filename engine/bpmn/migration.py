"""Moving a running instance from one version of its process to another.

The administrator maps each element of the old version to one of the new (`Mapping`: BPMN id to
BPMN id), proposed from ids and names with SpiffWorkflow's own spec alignment (`SpecDiff`).
The instance keeps its task tree: each task is pointed at the mapped spec of the new version,
so a waiting task keeps its id (and with it the inbox row, the assignee, the due date and the
history), and a running timer keeps the time it fires. Only the predicted part of the tree (the
steps not reached yet) is dropped and predicted again from the new version.

SpiffWorkflow's `migrate_workflow` instead resets every ready and waiting task, which would give
them new ids and restart their timers; that is why the tree is re-pointed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from engine.bpmn import definitions, runtime
from engine.bpmn.definitions import ParsedDefinition
from engine.bpmn.state import REGISTRY, SERIALIZER_VERSION, dump_state, load_state
from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, Problem
from models import HumanTask, InstanceStatus, TaskStatus

Mapping = dict[str, str]  # BPMN id in the old version -> BPMN id in the new one ("": none)
MAX_MAPPING_LINES = 2000
WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PREDICTED = TaskState.FUTURE | TaskState.PREDICTED_MASK


def elements(parsed: ParsedDefinition) -> dict[str, Any]:
    """The task specs of a version that are BPMN elements, by BPMN id."""
    return {s.bpmn_id: s for s in parsed.spec.task_specs.values() if getattr(s, "bpmn_id", None)}


def propose(old: ParsedDefinition, new: ParsedDefinition) -> Mapping:
    """Same id first, then SpiffWorkflow's alignment by structure, then the same name and kind."""
    before, after = elements(old), elements(new)
    proposal = {key: key for key in before if key in after}
    aligned = SpecDiff(REGISTRY, old.spec, new.spec).alignment
    for spec, match in aligned.items():
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id and bpmn_id not in proposal and match is not None and getattr(match, "bpmn_id", None):
            proposal[bpmn_id] = match.bpmn_id
    by_name = {(s.bpmn_name, type(s).__name__): k for k, s in after.items() if s.bpmn_name}
    for key, spec in before.items():
        if key not in proposal and (spec.bpmn_name, type(spec).__name__) in by_name:
            proposal[key] = by_name[(spec.bpmn_name, type(spec).__name__)]
    return dict(sorted(proposal.items()))


def parse_mapping(text: str) -> Mapping:
    """A mapping as an administrator writes it: JSON `{"old": "new"}` or one `old = new` per line."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            found = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid("Peta langkah bukan JSON yang sah", [Problem(str(exc))]) from exc
        if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
            raise Invalid('Peta langkah JSON harus berbentuk {"langkah_lama": "langkah_baru"}')
        return {str(k).strip(): v.strip() for k, v in found.items()}
    lines = text.splitlines()
    if len(lines) > MAX_MAPPING_LINES:
        raise Invalid(f"Peta langkah terlalu panjang: paling banyak {MAX_MAPPING_LINES} baris")
    mapping, problems = {}, []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        old, sep, new = line.partition("=")
        if not sep or not old.strip() or not new.strip():
            problems.append(Problem("tulis satu pasangan per baris: langkah_lama = langkah_baru", row=number))
            continue
        mapping[old.strip()] = new.strip()
    if problems:
        raise Invalid("Peta langkah belum benar", problems)
    return mapping


def _target(name: str, mapping: Mapping) -> str:
    """The new spec name of an old one; specs SpiffWorkflow derives from an id follow the id."""
    if name in mapping:
        return mapping[name]
    prefix, dot, rest = name.partition(".")
    return f"{mapping[prefix]}.{rest}" if dot and prefix in mapping else name


def _label(spec: Any) -> str:
    return f"«{spec.bpmn_name}»" if getattr(spec, "bpmn_name", None) else str(spec.name)


def _derived_from_unplaced(name: str, mapping: Mapping, specs: Mapping, old_specs: Mapping) -> bool:
    """A spec SpiffWorkflow derives from an element (`verifikasi_kecamatan.BoundaryEventSplit`) whose
    element has no place of its kind in the target either: the element's own problem names it for
    the admin, in words, without SpiffWorkflow's internal name."""
    owner, dot, _ = name.partition(".")
    if not dot:
        return False
    target, was = specs.get(_target(owner, mapping)), old_specs.get(owner)
    return target is None or (was is not None and type(target).__name__ != type(was).__name__)


@dataclass
class Move:
    """One waiting task of an instance and where it goes."""

    spiff_task_id: str
    dari: str
    ke: str
    nama: str
    lane: str | None


@dataclass
class Plan:
    moves: list[Move] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def plan(workflow: BpmnWorkflow, new: ParsedDefinition, mapping: Mapping) -> Plan:
    """What moving this instance would do, and every reason it cannot."""
    result, specs = Plan(), new.spec.task_specs
    if workflow.subprocesses:
        result.problems.append(Problem("instans dengan subproses belum dapat dipindahkan"))
        return result
    for task in workflow.get_tasks(skip_subprocesses=True):
        if task.has_state(PREDICTED):
            continue  # not reached yet: predicted again from the new version
        target = specs.get(_target(task.task_spec.name, mapping))
        if target is None and _derived_from_unplaced(task.task_spec.name, mapping, specs, workflow.spec.task_specs):
            continue  # SpiffWorkflow's own step around an element (a boundary event's split): the element says it
        if target is None:
            when = "sedang menunggu di" if task.has_state(WAITING) else "sudah melewati"
            result.problems.append(
                Problem(
                    f"instans {when} {_label(task.task_spec)}, yang tidak ada di versi tujuan; "
                    "petakan ke langkah yang ada",
                    element=task.task_spec.name,
                )
            )
            continue
        if not task.has_state(WAITING):
            continue
        if type(target).__name__ != type(task.task_spec).__name__:
            result.problems.append(
                Problem(
                    f"{_label(task.task_spec)} menunggu, tetapi {_label(target)} di versi tujuan berjenis lain",
                    element=task.task_spec.name,
                )
            )
        elif isinstance(target, UserTask) and target.lane != task.task_spec.lane:
            result.problems.append(
                Problem(
                    f"tugas {_label(task.task_spec)} ada di lane {task.task_spec.lane}, tetapi {_label(target)} "
                    f"di lane {target.lane}; petugasnya akan berbeda, jadi pilih tugas di lane yang sama",
                    element=task.task_spec.name,
                )
            )
        elif isinstance(target, UserTask):
            result.moves.append(
                Move(str(task.id), task.task_spec.name, target.name, target.bpmn_name or target.name, target.lane)
            )
    return result


def _drop_predictions(workflow: BpmnWorkflow) -> list[Task]:
    """Remove the predicted (not yet reached) branches; returns the tasks to predict from again."""
    roots = [
        t
        for t in workflow.get_tasks(skip_subprocesses=True)
        if t.has_state(PREDICTED) and t.parent is not None and not t.parent.has_state(PREDICTED)
    ]
    parents = {t.parent.id: t.parent for t in roots if t.parent is not None}
    for task in roots:
        if task.id in workflow.tasks:
            workflow._remove_task(task.id)
    return [p for p in parents.values() if p.has_state(WAITING)]


def migrate(workflow: BpmnWorkflow, new: ParsedDefinition, mapping: Mapping) -> tuple[BpmnWorkflow, Plan]:
    """Point the instance's tree at the new version; refuses (`Invalid`) with every reason it cannot."""
    found = plan(workflow, new, mapping)
    if found.problems:
        raise Invalid("Instans tidak dapat dipindahkan", found.problems)
    waiting = _drop_predictions(workflow)
    specs = new.spec.task_specs
    workflow.spec, workflow.subprocess_specs = new.spec, new.subprocess_specs
    for task in workflow.tasks.values():
        task.task_spec = specs[_target(task.task_spec.name, mapping)]
    for task in waiting:
        task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
    # Round-trip through the stored form: what is saved must load against the new version.
    moved = load_state(dump_state(workflow), SERIALIZER_VERSION, new.spec, new.subprocess_specs)
    return moved, found


@dataclass
class InstanceResult:
    """What happened to one instance: moved (or would move, in a dry run), or why not."""

    instance_id: int
    business_key: str
    ok: bool
    moves: list[Move] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


_RENAME_TASK = (
    update(HumanTask)
    .where(
        HumanTask.instance_id == bindparam("of_instance"),
        HumanTask.spiff_task_id == bindparam("spiff_id"),
        HumanTask.status == TaskStatus.TERBUKA,
    )
    .values(bpmn_id=bindparam("new_bpmn_id"), nama=bindparam("new_nama"))
)


def move_instance(
    session: Session, actor: Actor, instance_id: int, versions: tuple[int, int], mapping: Mapping, dry_run: bool
) -> InstanceResult:
    """Move one instance from the first definition of `versions` to the second, under its lock and
    revision check; nothing is written in a dry run. An instance another run moved meanwhile is left."""
    source, target_id = versions
    running = runtime.load(session, actor, instance_id)
    row = running.row
    if row.status != InstanceStatus.BERJALAN:
        raise Invalid(f"Instans {instance_id} tidak sedang berjalan ({row.status.value})")
    if row.definition_id != source:
        raise Conflict(
            f"Instans {instance_id} sudah dipindahkan ke versi lain oleh tindakan lain; tidak dipindahkan lagi"
        )
    new = definitions.parsed_by_id(session, target_id)
    moved, found = migrate(running.workflow, new, mapping)
    result = InstanceResult(instance_id, row.business_key, True, found.moves)
    if dry_run:
        return result
    moved.script_engine = running.workflow.script_engine
    running.workflow = moved
    row.definition_id = target_id
    row.last_error = None
    runtime.save(running)
    connection = session.connection()
    for move in found.moves:
        connection.execute(
            _RENAME_TASK,
            {"of_instance": instance_id, "spiff_id": move.spiff_task_id, "new_bpmn_id": move.ke, "new_nama": move.nama},
        )
    audit.record(
        session,
        actor,
        AuditAction.INSTANCE_MIGRATED,
        "process_instance",
        instance_id,
        before={"definition_id": source},
        after={
            "definition_id": target_id,
            "langkah": [{"dari": m.dari, "ke": m.ke} for m in found.moves],
            "peta": {k: v for k, v in mapping.items() if k != v},
        },
        instance_id=instance_id,
    )
    return result
