"""Opening many desa's submissions at once, for a whole update cycle.

Opening one submission runs the process to the operator's first task. For thousands of desa that
work is identical but for the desa, the period, the submission id and the task ids, so it is done
once: the started workflow is serialized as a template with placeholders, and each desa gets a copy
with its own values and fresh task ids, written with bulk inserts. A process whose start runs
service tasks (which need the real instance) is refused here; `open_submission` still opens it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import audit, clock, definitions, events
from engine.actors import Actor
from engine.script_engine import SandboxScriptEngine
from engine.state import SERIALIZER_VERSION, dump_state
from models import HumanTask, ProcessInstance, Submission, SubmissionStatus, TaskStatus, Tier, ancestor_code

_DESA, _PERIODE, _SUBMISSION = "__SIJOSKU_DESA__", "__SIJOSKU_PERIODE__", "__SIJOSKU_SUBMISSION__"


@dataclass
class Template:
    definition_id: int
    state: str
    task_ids: list[str]
    ready: list[tuple[str, str, str, Tier]]  # spiff id, bpmn id, name, tier of each ready human task


class NotBulkable(RuntimeError):
    """The process does domain work before its first human task; open desa one by one."""


def template(session: Session, definition_id: int, sla: str) -> Template:
    parsed = definitions.parsed_by_id(session, definition_id)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SandboxScriptEngine(None))
    workflow.get_tasks(state=TaskState.READY)[0].data.update({
        "kode_desa": _DESA, "periode": _PERIODE, "submission_id": _SUBMISSION, "sla_durasi": sla})
    try:
        workflow.do_engine_steps()
    except WorkflowTaskException as exc:  # a service task needs the real instance
        raise NotBulkable(str(exc)) from exc
    if any(isinstance(t.task_spec, ServiceTask) for t in workflow.get_tasks(state=TaskState.COMPLETED)):
        raise NotBulkable("proses menjalankan tugas layanan sebelum tugas desa")
    ready = [(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id, Tier(t.task_spec.lane))
             for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    if workflow.waiting_events():
        raise NotBulkable("proses menunggu timer sebelum tugas desa")
    return Template(definition_id, dump_state(workflow), [str(i) for i in workflow.tasks], ready)


def _copy(t: Template, desa: str, periode: str, submission_id: int) -> tuple[str, dict[str, str]]:
    fresh = {old: str(uuid.uuid4()) for old in t.task_ids}
    text = t.state
    for old, new in fresh.items():
        text = text.replace(old, new)
    text = (text.replace(json.dumps(_SUBMISSION), str(submission_id)).replace(_DESA, desa)
            .replace(_PERIODE, periode))
    return text, fresh


def open_many(session: Session, actor: Actor, t: Template, desa_codes: list[str], periode: str) -> int:
    """Open a submission and start its process for each desa; returns how many were opened."""
    if not desa_codes:
        return 0
    now = clock.now()
    connection = session.connection()
    submission_ids = connection.execute(insert(Submission).returning(Submission.id, sort_by_parameter_order=True), [
        {"kode_desa": code, "periode": periode, "status": SubmissionStatus.DRAF, "tahap": Tier.DESA, "putaran": 0,
         "created_at": now} for code in desa_codes]).scalars().all()
    copies = [_copy(t, code, periode, sid) for code, sid in zip(desa_codes, submission_ids, strict=True)]
    instance_ids = connection.execute(
        insert(ProcessInstance).returning(ProcessInstance.id, sort_by_parameter_order=True), [
            {"definition_id": t.definition_id, "business_key": f"{code}/{periode}", "region_kode": code,
             "periode": periode, "status": "berjalan", "state": state, "serializer_version": SERIALIZER_VERSION,
             "revision": 1, "next_timer_at": None, "created_at": now, "updated_at": now}
            for code, (state, _) in zip(desa_codes, copies, strict=True)]).scalars().all()
    connection.execute(update(Submission).where(Submission.id == bindparam("sid"))
                       .values(instance_id=bindparam("iid")).execution_options(synchronize_session=False),
                       [{"sid": s, "iid": i} for s, i in zip(submission_ids, instance_ids, strict=True)])
    task_rows: list[dict[str, Any]] = []
    for code, sid, iid, (_, fresh) in zip(desa_codes, submission_ids, instance_ids, copies, strict=True):
        for spiff_id, bpmn_id, name, tier in t.ready:
            task_rows.append({
                "instance_id": iid, "spiff_task_id": fresh[spiff_id], "bpmn_id": bpmn_id, "nama": name,
                "tingkat": tier, "region_kode": ancestor_code(code, tier), "kode_desa": code, "periode": periode,
                "business_key": f"{code}/{periode}", "submission_id": sid, "status": TaskStatus.TERBUKA,
                "priority": 0, "overdue": False, "due_at": None, "created_at": now, "data": {}})
    task_ids = connection.execute(insert(HumanTask).returning(HumanTask.id, sort_by_parameter_order=True),
                                  task_rows).scalars().all()
    events.publish_many(session, events.TASK_CREATED, [
        ({"task_id": task_id, "nama": row["nama"], "tingkat": row["tingkat"].value, "region_kode": row["region_kode"],
          "periode": periode, "due_at": None, "submission_id": row["submission_id"]}, task_id)
        for row, task_id in zip(task_rows, task_ids, strict=True)])
    audit.record_many(session, actor, [
        {"action": "SUBMISSION_OPENED", "subject_type": "submission", "subject_id": sid, "instance_id": iid,
         "after": {"kode_desa": code, "periode": periode, "massal": True}}
        for code, sid, iid in zip(desa_codes, submission_ids, instance_ids, strict=True)])
    return len(desa_codes)


def existing_desa(session: Session, periode: str, prefix: str) -> set[str]:
    return set(session.scalars(select(Submission.kode_desa).where(
        Submission.periode == periode, Submission.kode_desa.like(f"{prefix}.%"))))
