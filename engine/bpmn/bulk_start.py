"""Starting many instances of one process at once (a whole update cycle's desa).

Starting one instance runs the process to its first human task. For thousands of instances that
work is identical but for a few start variables and the task ids, so it is done once: the started
workflow is serialized as a template with placeholders, and each instance gets a copy with its own
values and fresh task ids, written with bulk inserts. A process whose start runs service tasks
(which need the real instance) or waits on a timer is refused here; such instances are started one
by one with `runtime.start`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.bpmn import definitions
from engine.bpmn.runtime import BUSINESS_LINK, engine_steps
from engine.bpmn.script_engine import SandboxScriptEngine
from engine.bpmn.state import SERIALIZER_VERSION, dump_state
from engine.core import clock, events
from models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus, Tier, ancestor_code


def _placeholder(name: str) -> str:
    return f"__SIJOSKU_{name.upper()}__"


@dataclass
class Template:
    definition_id: int
    state: str
    task_ids: list[str]
    ready: list[tuple[str, str, str, Tier]]  # spiff id, bpmn id, name, tier of each ready human task
    variables: list[str]  # the start variables each instance sets


@dataclass
class Start:
    """One instance to start: where it is, its key, and its own values of the template's variables."""

    region_kode: str
    periode: str
    business_key: str
    values: dict[str, str | int] = field(default_factory=dict)
    announced: bool = False  # its people are told by an announcement of their own: no notice of its first task


class NotBulkable(RuntimeError):
    """The process does domain work before its first human task; start instances one by one."""


def template(
    session: Session, definition: definitions.VersionRef, constants: dict[str, Any], variables: list[str]
) -> Template:
    parsed = definitions.parsed_by_sha(session, definition.sha256)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SandboxScriptEngine(None))
    start_data = {**constants, **{name: _placeholder(name) for name in variables}}
    workflow.get_tasks(state=TaskState.READY)[0].data.update(start_data)
    try:
        engine_steps(workflow)()
    except WorkflowTaskException as exc:  # a service task needs the real instance
        raise NotBulkable(str(exc)) from exc
    if any(isinstance(t.task_spec, ServiceTask) for t in workflow.get_tasks(state=TaskState.COMPLETED)):
        raise NotBulkable("proses menjalankan tugas layanan sebelum tugas manusia pertama")
    if workflow.waiting_events():
        raise NotBulkable("proses menunggu timer sebelum tugas manusia pertama")
    ready = [
        (str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id, Tier(t.task_spec.lane))
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    ]
    return Template(definition.id, dump_state(workflow), [str(i) for i in workflow.tasks], ready, variables)


def _copy(t: Template, values: dict[str, str | int]) -> tuple[str, dict[str, str]]:
    fresh = {old: str(uuid.uuid4()) for old in t.task_ids}
    text = t.state
    for old, new in fresh.items():
        text = text.replace(old, new)
    for name in t.variables:
        value = values[name]
        if isinstance(value, int):  # a number replaces the quoted placeholder string
            text = text.replace(json.dumps(_placeholder(name)), str(value))
        else:
            text = text.replace(_placeholder(name), value)
    return text, fresh


def start_many(session: Session, t: Template, starts: list[Start]) -> list[int]:
    """Insert each instance waiting at its first human task, with its inbox rows; returns instance ids."""
    if not starts:
        return []
    now = clock.now()
    connection = session.connection()
    copies = [_copy(t, s.values) for s in starts]
    instance_ids = (
        connection.execute(
            insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True),
            [
                {
                    "definition_id": t.definition_id,
                    "business_key": s.business_key,
                    "region_kode": s.region_kode,
                    "periode": s.periode,
                    "status": InstanceStatus.BERJALAN,
                    "state": state,
                    "serializer_version": SERIALIZER_VERSION,
                    "revision": 1,
                    "next_timer_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for s, (state, _) in zip(starts, copies, strict=True)
            ],
        )
        .scalars()
        .all()
    )
    rows: list[dict[str, Any]] = []
    announcements: list[bool] = []  # per row: whether its people hear of it by the start's announcement
    for s, iid, (_, fresh) in zip(starts, instance_ids, copies, strict=True):
        for spiff_id, bpmn_id, name, tier in t.ready:
            announcements.append(s.announced)
            rows.append(
                {
                    "instance_id": iid,
                    "spiff_task_id": fresh[spiff_id],
                    "bpmn_id": bpmn_id,
                    "nama": name,
                    "tingkat": tier,
                    "region_kode": ancestor_code(s.region_kode, tier),
                    "kode_desa": s.region_kode,
                    "periode": s.periode,
                    "business_key": s.business_key,
                    "submission_id": s.values.get(BUSINESS_LINK),
                    "status": TaskStatus.TERBUKA,
                    "priority": 0,
                    "overdue": False,
                    "due_at": None,
                    "created_at": now,
                    "data": {},
                }
            )
    task_ids = (
        connection.execute(insert(HumanTask).returning(HumanTask.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    events.publish_many(
        session,
        [
            events.TaskCreated(
                task_id=task_id,
                nama=row["nama"],
                tingkat=row["tingkat"].value,
                region_kode=row["region_kode"],
                kode_desa=row["kode_desa"],
                periode=row["periode"],
                submission_id=row["submission_id"],
                diumumkan=announced,
            )
            for row, task_id, announced in zip(rows, task_ids, announcements, strict=True)
        ],
    )
    return list(instance_ids)
