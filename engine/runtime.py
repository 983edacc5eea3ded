"""Running BPMN instances: start, load under lock, advance, and save with the inbox table.

Every save checks and bumps the instance's `revision` (`UPDATE ... WHERE revision = ?`), and on
PostgreSQL the instance row is locked (`SELECT ... FOR UPDATE`) from load to commit, so two
nodes never advance one instance at once; a lost race is a `Conflict`, never a double step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import clock, definitions, events
from engine.actors import Actor
from engine.errors import Conflict, NotFound
from engine.handlers import StepContext
from engine.script_engine import SandboxScriptEngine
from engine.state import SERIALIZER_VERSION, dump_state, load_state
from models import (
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Submission,
    TaskStatus,
    Tier,
    ancestor_code,
)


@dataclass
class Running:
    """An instance loaded for one step: its row (locked on PostgreSQL) and live workflow."""

    row: ProcessInstance
    workflow: BpmnWorkflow
    context: StepContext


def start(session: Session, actor: Actor, definition_id: int, business_key: str,
          region_kode: str, periode: str, data: dict[str, Any], submission_id: int | None = None) -> Running:
    row = ProcessInstance(definition_id=definition_id, business_key=business_key, region_kode=region_kode,
                          periode=periode, state="", serializer_version=SERIALIZER_VERSION, revision=0,
                          created_at=clock.now(), updated_at=clock.now())
    session.add(row)
    session.flush()
    context = StepContext(session, actor, row, submission_id=submission_id)
    parsed = definitions.parsed_by_id(session, definition_id)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SandboxScriptEngine(context))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)  # the start event's data
    running = Running(row, workflow, context)
    workflow.do_engine_steps()
    return running


def load(session: Session, actor: Actor, instance_id: int, human_task_id: int | None = None,
         submission_id: int | None = None) -> Running:
    row = session.scalar(_LOCK_INSTANCE, {"instance_id": instance_id})
    if row is None:
        raise NotFound(f"Instans proses {instance_id} tidak ada")
    context = StepContext(session, actor, row, human_task_id=human_task_id, submission_id=submission_id)
    parsed = definitions.parsed_by_id(session, row.definition_id)
    workflow = load_state(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs)
    workflow.script_engine = SandboxScriptEngine(context)
    return Running(row, workflow, context)


def ready_task(running: Running, spiff_task_id: str) -> Task:
    task = running.workflow.get_task_from_id(UUID(spiff_task_id))
    if task is None or task.state != TaskState.READY:
        raise Conflict("Tugas ini sudah tidak menunggu tindakan; muat ulang kotak tugas")
    return task


def complete(running: Running, spiff_task: Task, data: dict[str, Any]) -> None:
    spiff_task.data.update(data)
    spiff_task.run()
    running.workflow.do_engine_steps()


def fire_timers(running: Running) -> None:
    running.workflow.refresh_timers()
    running.workflow.do_engine_steps()


def _timer_due(task: Task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, str):
        return TimerEventDefinition.get_datetime(value)
    return None


def _due_of(task: Task) -> datetime | None:
    """The earliest waiting boundary timer attached to a ready human task: its deadline."""
    dues = [
        _timer_due(sibling) for sibling in (task.parent.children if task.parent else [])
        if isinstance(sibling.task_spec, BoundaryEvent) and sibling.state == TaskState.WAITING
    ]
    dues = [d for d in dues if d is not None]
    return min(dues) if dues else None


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    dues = []
    for pending in workflow.waiting_events():
        if "Timer" in pending.event_type and isinstance(pending.value, str):
            try:
                dues.append(TimerEventDefinition.get_datetime(pending.value))
            except ValueError:
                continue
    return min(dues) if dues else None


@dataclass(frozen=True)
class NewTask:
    """A human task the step created, as written to the inbox table."""

    id: int
    tingkat: Tier
    region_kode: str


# Prebuilt statements: these run on every step of every instance.
_LOCK_INSTANCE = (select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id"))
                  .with_for_update().execution_options(populate_existing=True))
_OPEN_TASKS = select(HumanTask.id, HumanTask.spiff_task_id).where(
    HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == TaskStatus.TERBUKA)
_INSERT_TASK = insert(HumanTask).returning(HumanTask.id)
_CANCEL_TASK = update(HumanTask).where(HumanTask.id == bindparam("task_id")).values(
    status=TaskStatus.DIBATALKAN, completed_at=bindparam("at"))
_SAVED_COLUMNS = ("state", "serializer_version", "revision", "status", "next_timer_at", "updated_at")
_SAVE_STATE = update(ProcessInstance).where(
    ProcessInstance.id == bindparam("instance_id"), ProcessInstance.revision == bindparam("seen_revision")
).values({name: bindparam(f"new_{name}") for name in _SAVED_COLUMNS})


def _sync_inbox(running: Running) -> list[NewTask]:
    """Write a row for each new ready human task; cancel rows whose task is gone."""
    session, row = running.context.session, running.row
    connection = session.connection()
    open_ids = {} if row.revision == 1 else {  # a new instance has no rows yet
        spiff_id: task_id for task_id, spiff_id in connection.execute(_OPEN_TASKS, {"instance_id": row.id})}
    ready = {str(t.id): t for t in running.workflow.get_tasks(state=TaskState.READY, manual=True)}
    submission_id = running.context.submission_id
    if submission_id is None and ready.keys() - open_ids.keys():
        submission_id = session.scalar(select(Submission.id).where(Submission.instance_id == row.id))
    now = clock.now()
    for spiff_id, task_id in open_ids.items():
        if spiff_id not in ready:
            connection.execute(_CANCEL_TASK, {"task_id": task_id, "at": now})
    created = []
    for spiff_id, task in ready.items():
        if spiff_id in open_ids:
            continue
        tier = Tier(task.task_spec.lane)
        values = {
            "instance_id": row.id, "spiff_task_id": spiff_id, "bpmn_id": task.task_spec.bpmn_id,
            "nama": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "tingkat": tier,
            "region_kode": ancestor_code(row.region_kode, tier), "kode_desa": row.region_kode,
            "periode": row.periode, "business_key": row.business_key, "submission_id": submission_id,
            "due_at": _due_of(task), "created_at": now, "status": TaskStatus.TERBUKA, "data": {},
        }
        task_id = connection.execute(_INSERT_TASK, values).scalar_one()
        created.append(NewTask(task_id, tier, values["region_kode"]))
        events.publish(session, events.TASK_CREATED, {
            "task_id": task_id, "nama": values["nama"], "tingkat": tier.value, "region_kode": values["region_kode"],
            "periode": row.periode, "due_at": values["due_at"].isoformat() if values["due_at"] else None,
            "submission_id": submission_id}, human_task_id=task_id)
    return created


def save(running: Running) -> list[NewTask]:
    """Persist the workflow with a revision check; returns the human tasks it created."""
    session, row, workflow = running.context.session, running.row, running.workflow
    values = {
        "state": dump_state(workflow), "serializer_version": SERIALIZER_VERSION, "revision": row.revision + 1,
        "status": InstanceStatus.SELESAI if workflow.completed else InstanceStatus.BERJALAN,
        "next_timer_at": _next_timer(workflow), "updated_at": clock.now(),
    }
    session.flush()  # what the step's handlers changed through the ORM goes first
    result = session.connection().execute(_SAVE_STATE, {
        "instance_id": row.id, "seen_revision": row.revision, **{f"new_{k}": v for k, v in values.items()}})
    if result.rowcount != 1:
        raise Conflict("Instans proses telah diubah oleh tindakan lain; muat ulang dan coba lagi")
    for name, value in values.items():
        set_committed_value(row, name, value)
    return _sync_inbox(running)
