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
from sqlalchemy import select, update
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
    ProcessDefinition,
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


def _workflow_for(definition: ProcessDefinition, context: StepContext) -> BpmnWorkflow:
    parsed = definitions.parsed(definition)
    return BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SandboxScriptEngine(context))


def start(session: Session, actor: Actor, definition: ProcessDefinition, business_key: str,
          region_kode: str, periode: str, data: dict[str, Any], submission_id: int | None = None) -> Running:
    row = ProcessInstance(definition_id=definition.id, business_key=business_key, region_kode=region_kode,
                          periode=periode, state="", serializer_version=SERIALIZER_VERSION, revision=0,
                          created_at=clock.now(), updated_at=clock.now())
    session.add(row)
    session.flush()
    context = StepContext(session, actor, row, submission_id=submission_id)
    workflow = _workflow_for(definition, context)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)  # the start event's data
    running = Running(row, workflow, context)
    workflow.do_engine_steps()
    return running


def load(session: Session, actor: Actor, instance_id: int, human_task_id: int | None = None,
         submission_id: int | None = None) -> Running:
    row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                         .with_for_update().execution_options(populate_existing=True))
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


def _sync_inbox(running: Running) -> list[HumanTask]:
    """Write a row for each new ready human task; cancel rows whose task is gone."""
    session, row = running.context.session, running.row
    open_rows = {t.spiff_task_id: t for t in session.scalars(select(HumanTask).where(
        HumanTask.instance_id == row.id, HumanTask.status == TaskStatus.TERBUKA))}
    ready = {str(t.id): t for t in running.workflow.get_tasks(state=TaskState.READY, manual=True)}
    submission_id = running.context.submission_id
    if submission_id is None and ready.keys() - open_rows.keys():
        submission_id = session.scalar(select(Submission.id).where(Submission.instance_id == row.id))
    created = []
    for spiff_id, task in ready.items():
        if spiff_id in open_rows:
            continue
        tier = Tier(task.task_spec.lane)
        human = HumanTask(
            instance_id=row.id, spiff_task_id=spiff_id, bpmn_id=task.task_spec.bpmn_id,
            nama=task.task_spec.bpmn_name or task.task_spec.bpmn_id, tingkat=tier,
            region_kode=ancestor_code(row.region_kode, tier), kode_desa=row.region_kode,
            periode=row.periode, business_key=row.business_key, submission_id=submission_id,
            due_at=_due_of(task), created_at=clock.now(), status=TaskStatus.TERBUKA, data={},
        )
        session.add(human)
        created.append(human)
    for spiff_id, stale in open_rows.items():
        if spiff_id not in ready:
            stale.status = TaskStatus.DIBATALKAN
            stale.completed_at = clock.now()
    session.flush()
    for human in created:
        events.publish(session, events.TASK_CREATED, {
            "task_id": human.id, "nama": human.nama, "tingkat": human.tingkat.value,
            "region_kode": human.region_kode, "periode": human.periode,
            "due_at": human.due_at.isoformat() if human.due_at else None,
            "submission_id": submission_id}, human_task_id=human.id)
    return created


def save(running: Running) -> list[HumanTask]:
    """Persist the workflow with a revision check; returns the human tasks it created."""
    session, row, workflow = running.context.session, running.row, running.workflow
    values = {
        "state": dump_state(workflow), "serializer_version": SERIALIZER_VERSION, "revision": row.revision + 1,
        "status": InstanceStatus.SELESAI if workflow.completed else InstanceStatus.BERJALAN,
        "next_timer_at": _next_timer(workflow), "updated_at": clock.now(),
    }
    result = session.connection().execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == row.id, ProcessInstance.revision == row.revision)
        .values(**values)
    )
    if result.rowcount != 1:
        raise Conflict("Instans proses telah diubah oleh tindakan lain; muat ulang dan coba lagi")
    for name, value in values.items():
        set_committed_value(row, name, value)
    return _sync_inbox(running)
