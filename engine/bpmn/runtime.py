"""Running BPMN instances: start, load under lock, advance, and save with the inbox table.

Every save checks and bumps the instance's `revision` (`UPDATE ... WHERE revision = ?`), and on
PostgreSQL the instance row is locked (`SELECT ... FOR UPDATE`) from load to commit, so two
nodes never advance one instance at once; a lost race is a `Conflict`, never a double step.

Each ready human task is written to the inbox table (`human_task`) in the same transaction as the
state. A task's business link (`submission_id`) is the workflow variable of that name, set when the
instance starts; this package knows nothing else of submissions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import String, bindparam, cast, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.bpmn import definitions, diagram, sandbox
from engine.bpmn.handlers import StepContext
from engine.bpmn.script_engine import SandboxScriptEngine
from engine.bpmn.state import SERIALIZER_VERSION, dump_state, load_state
from engine.core import clock, events, rows
from engine.core.actors import Actor
from engine.core.errors import Conflict, Invalid, NotFound, Problem, SijoskuError
from models import (
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    Tier,
    ancestor_code,
    contains,
    parse_lane,
)

BUSINESS_LINK = "submission_id"
# A task whose data names its region (a multi-instance task, one per regency) is that region's task.
TASK_REGION = "wilayah_tugas"
# Deadlines per tier (ISO times) in an instance's data, an update cycle's: a task is due by its
# tier's deadline when that is nearer than its own boundary timer.
TIER_DEADLINES = "batas_tingkat"


@dataclass
class Running:
    """An instance loaded for one step: its row (locked on PostgreSQL) and live workflow."""

    row: ProcessInstance
    workflow: BpmnWorkflow
    context: StepContext
    # Its open inbox rows (spiff task id -> row id), read with the lock: one round trip less per step.
    open_rows: dict[str, int] = field(default_factory=dict)


def start(
    session: Session,
    actor: Actor,
    definition: definitions.VersionRef,
    business_key: str,
    region_kode: str,
    periode: str,
    data: dict[str, Any],
) -> Running:
    """A new instance of `definition`, run to its first wait state (not yet saved)."""
    now = clock.now()
    row = ProcessInstance(
        definition_id=definition.id,
        business_key=business_key,
        region_kode=region_kode,
        periode=periode,
        state="",
        serializer_version=SERIALIZER_VERSION,
        revision=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    context = StepContext(session, actor, row, submission_id=data.get(BUSINESS_LINK))
    parsed = definitions.parsed_by_sha(session, definition.sha256)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SandboxScriptEngine(context))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)  # the start event's data
    running = Running(row, workflow, context)
    _advance(engine_steps(workflow))
    return running


_SHA_OF_INSTANCE = (
    select(ProcessDefinition.sha256).where(ProcessDefinition.id == ProcessInstance.definition_id).scalar_subquery()
)
# Prebuilt statements: these run on every step of every instance.
_OPEN_ROWS_OF_INSTANCE = (
    select(func.aggregate_strings(cast(HumanTask.id, String) + ":" + HumanTask.spiff_task_id, ","))
    .where(HumanTask.instance_id == ProcessInstance.id, HumanTask.status == TaskStatus.TERBUKA)
    .scalar_subquery()
)
_LOCK_INSTANCE = (
    select(ProcessInstance, _SHA_OF_INSTANCE, _OPEN_ROWS_OF_INSTANCE)
    .where(ProcessInstance.id == bindparam("instance_id"))
    .with_for_update(of=ProcessInstance)
    .execution_options(populate_existing=True)
)


def load(
    session: Session, actor: Actor, instance_id: int, human_task_id: int | None = None, submission_id: int | None = None
) -> Running:
    """The instance, locked for the rest of the transaction, with its live workflow."""
    found = session.execute(_LOCK_INSTANCE, {"instance_id": instance_id}).first()
    if found is None:
        raise NotFound(f"Instans proses {instance_id} tidak ada")
    row, sha, open_rows = found
    if not row.state:
        raise Conflict(f"Instans proses {instance_id} sudah selesai dan statusnya tidak disimpan lagi")
    context = StepContext(session, actor, row, human_task_id=human_task_id, submission_id=submission_id)
    parsed = definitions.parsed_by_sha(session, sha)
    workflow = load_state(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs)
    workflow.script_engine = SandboxScriptEngine(context)
    return Running(row, workflow, context, _open_rows(open_rows))


def _open_rows(text: str | None) -> dict[str, int]:
    """`id:spiff_id,...` as aggregated by the lock query."""
    pairs = (part.split(":", 1) for part in (text or "").split(",") if part)
    return {spiff_id: int(task_id) for task_id, spiff_id in pairs}


def ready_task(running: Running, spiff_task_id: str) -> Task:
    task = running.workflow.get_task_from_id(UUID(spiff_task_id))
    if task is None or task.state != TaskState.READY:
        raise Conflict("Tugas ini sudah tidak menunggu tindakan; muat ulang kotak tugas")
    return task


def complete(running: Running, spiff_task: Task, data: dict[str, Any]) -> None:
    spiff_task.data.update(data)
    with _diagram_faults():
        _advance(spiff_task.run, engine_steps(running.workflow))


@contextmanager
def _diagram_faults() -> Iterator[None]:
    """A fault of the deployed diagram (a misspelt name in a condition, say) told in plain words;
    the caller's transaction is rolled back, so nothing of the step is kept."""
    try:
        yield
    except (SijoskuError, SQLAlchemyError):
        raise
    except Exception as exc:
        spec = getattr(exc, "task_spec", None)
        where = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)
        raise Invalid(
            "Proses tidak dapat melanjutkan langkah ini karena definisinya bermasalah; tidak ada yang diubah. "
            "Beri tahu admin: definisi dapat dikembalikan ke versi sebelumnya dan instansnya dipindahkan.",
            [Problem(f"{where}: {exc}" if where else str(exc), element=getattr(spec, "bpmn_id", None))],
        ) from exc


def fire_timers(running: Running) -> None:
    _advance(running.workflow.refresh_timers, engine_steps(running.workflow))


def merge_missed_children(running: Running) -> int:
    """Replay the merges a loop or multi-instance task missed: children finished in a process whose
    parse had not tied them to their parent (before `parsed_specs.tie_loop_children`) left the parent
    waiting for ever. Run by an administrator's retry; the next engine steps then go on. How many."""
    replayed = 0
    for task in running.workflow.get_tasks(state=TaskState.STARTED):
        spec = task.task_spec
        if not isinstance(spec, LoopTask):
            continue
        merged = set(task.internal_data.get("merged", []))
        for child in list(spec._instances(task)):
            if child.state == TaskState.COMPLETED and str(child.id) not in merged:
                spec.merge_child(task.workflow, child)
                replayed += 1
    return replayed


def _sandbox_fault(exc: BaseException) -> sandbox.SandboxError | None:
    """The sandbox's refusal behind SpiffWorkflow's wrapping, if that is what stopped the step."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sandbox.SandboxError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def _refusing_sandbox_faults() -> Iterator[None]:
    try:
        yield
    except SpiffWorkflowException as exc:
        fault = _sandbox_fault(exc)
        if fault is None:
            raise
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
        # The caller's transaction rolls back, which frees the instance's row lock.
        raise Invalid(
            "Langkah proses gagal: ekspresi atau skrip di diagram melampaui batas; tidak ada yang disimpan",
            [Problem(str(fault), element=element)],
        ) from exc


STEP_BUDGET = 500  # automatic steps between two waits: the default process takes about ten


def engine_steps(workflow: BpmnWorkflow) -> Callable[[], object]:
    """The workflow's automatic steps up to the next wait, refused past `STEP_BUDGET`: a loop of
    automatic steps the diagram check did not see (one through a sub-process, say) stops with a
    message instead of running on without end; the caller's transaction rolls back."""
    taken = 0

    def counted(task: Task) -> None:
        nonlocal taken
        taken += 1
        if taken > STEP_BUDGET:
            raise Invalid(
                f"Langkah proses gagal: lebih dari {STEP_BUDGET} langkah otomatis tanpa tugas orang; diagram "
                "berputar tanpa henti, tidak ada yang disimpan. Beri tahu admin: definisi dapat dikembalikan "
                "ke versi sebelumnya",
                [Problem("putaran tanpa tugas orang", element=task.task_spec.bpmn_id)],
            )

    return lambda: workflow.do_engine_steps(did_complete_task=counted)


def _advance(*steps: Callable[[], object]) -> None:
    """Run engine steps; a condition or script over its budget fails the step with a clear message."""
    with _refusing_sandbox_faults():
        for step in steps:
            step()


def _timer_due(task: Task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, str):
        return TimerEventDefinition.get_datetime(value)
    return None


def _due_of(task: Task) -> datetime | None:
    """The earliest waiting boundary timer attached to a ready human task: its deadline."""
    dues = [
        _timer_due(sibling)
        for sibling in (task.parent.children if task.parent else [])
        if isinstance(sibling.task_spec, BoundaryEvent) and sibling.state == TaskState.WAITING
    ]
    dues = [d for d in dues if d is not None]
    return min(dues) if dues else None


def _tier_deadline(task: Task, tier: Tier) -> datetime | None:
    deadlines = task.data.get(TIER_DEADLINES)
    written = deadlines.get(tier.value) if isinstance(deadlines, dict) else None
    try:
        when = datetime.fromisoformat(written) if isinstance(written, str) else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _due(task: Task, tier: Tier, now: datetime) -> datetime | None:
    """A task's deadline: its boundary timer's, or its tier's deadline when that is nearer. A tier
    deadline already past when the task arrives is not its own: the task came late from below, and
    the process's time applies (the cycle's page counts the lateness)."""
    due, cap = _due_of(task), _tier_deadline(task, tier)
    if cap is not None and cap > now and (due is None or cap < due):
        return cap
    return due


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


_INSERT_TASK = insert(HumanTask).returning(HumanTask.id)
_CANCEL_TASK = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"))
    .values(status=TaskStatus.DIBATALKAN, completed_at=bindparam("at"))
)
_SAVED_COLUMNS = (
    "state",
    "serializer_version",
    "revision",
    "status",
    "next_timer_at",
    "updated_at",
    "last_error",
    "failed_at",
)
_SAVE_STATE = (
    update(ProcessInstance)
    .where(ProcessInstance.id == bindparam("instance_id"), ProcessInstance.revision == bindparam("seen_revision"))
    .values({name: bindparam(f"new_{name}") for name in _SAVED_COLUMNS})
)


def _task_region(row: ProcessInstance, task: Task, tier: Tier) -> str:
    """The region of the task's tier: the one containing the instance's region, or, for a task that
    names its region (one per regency), that region when it lies within the instance's."""
    named = task.data.get(TASK_REGION)
    region = named if isinstance(named, str) and contains(row.region_kode, named) else row.region_kode
    if region.count(".") < tier.depth:  # a lane below the region the process runs for: no one region fits
        name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
        problem = Problem(
            f"lane tingkat {tier.value} berada di bawah wilayah {region} tempat proses ini berjalan; "
            "ubah lane tugas ini di editor",
            element=task.task_spec.bpmn_id,
        )
        raise Invalid(f"Tugas «{name}» tidak dapat ditempatkan di kotak tugas mana pun", [problem])
    return ancestor_code(region, tier)


def _inbox_row(running: Running, spiff_id: str, task: Task, now: datetime) -> dict[str, Any]:
    row = running.row
    tier, role = parse_lane(task.task_spec.lane)
    link = running.context.submission_id or task.data.get(BUSINESS_LINK)
    return {
        "instance_id": row.id,
        "spiff_task_id": spiff_id,
        "bpmn_id": task.task_spec.bpmn_id,
        "nama": task.task_spec.bpmn_name or task.task_spec.bpmn_id,
        "tingkat": tier,
        "peran": role.value if role else None,
        "region_kode": _task_region(row, task, tier),
        "kode_desa": row.region_kode,
        "periode": row.periode,
        "business_key": row.business_key,
        "submission_id": link,
        "due_at": _due(task, tier, now),
        "created_at": now,
        "status": TaskStatus.TERBUKA,
        "data": {},
    }


def _sync_inbox(running: Running) -> list[NewTask]:
    """Write a row for each new ready human task; cancel rows whose task is gone."""
    session, row = running.context.session, running.row
    connection = session.connection()
    open_ids = {} if row.revision == 1 else running.open_rows  # a new instance has no rows yet
    ready = {str(t.id): t for t in running.workflow.get_tasks(state=TaskState.READY, manual=True)}
    now = clock.now()
    for spiff_id, task_id in open_ids.items():
        if spiff_id not in ready:
            connection.execute(_CANCEL_TASK, {"task_id": task_id, "at": now})
    created = []
    for spiff_id, task in ready.items():
        if spiff_id in open_ids:
            continue
        values = _inbox_row(running, spiff_id, task, now)
        task_id = connection.execute(_INSERT_TASK, values).scalar_one()
        created.append(NewTask(task_id, values["tingkat"], values["region_kode"]))
        events.publish(
            session,
            events.TaskCreated(
                task_id=task_id,
                nama=values["nama"],
                tingkat=values["tingkat"].value,
                region_kode=values["region_kode"],
                kode_desa=row.region_kode,
                periode=row.periode,
                due_at=values["due_at"].isoformat() if values["due_at"] else None,
                submission_id=values["submission_id"],
                peran=values["peran"],
            ),
        )
    return created


def save(running: Running) -> list[NewTask]:
    """Persist the workflow with a revision check; returns the human tasks it created."""
    session, row, workflow = running.context.session, running.row, running.workflow
    values = {
        "state": dump_state(workflow),
        "serializer_version": SERIALIZER_VERSION,
        "revision": row.revision + 1,
        "status": InstanceStatus.SELESAI if workflow.completed else InstanceStatus.BERJALAN,
        "next_timer_at": _next_timer(workflow),
        "updated_at": clock.now(),
        "last_error": None,  # a step that saves is no longer stuck
        "failed_at": None,
    }
    session.flush()  # what the step's handlers changed through the ORM goes first
    result = session.connection().execute(
        _SAVE_STATE,
        {"instance_id": row.id, "seen_revision": row.revision, **{f"new_{k}": v for k, v in values.items()}},
    )
    if rows.affected(result) != 1:
        raise Conflict("Instans proses telah diubah oleh tindakan lain; muat ulang dan coba lagi")
    for name, value in values.items():
        set_committed_value(row, name, value)
    return _sync_inbox(running)


def ready_human_task_ids(session: Session, definition_id: int, state: str, serializer_version: str) -> set[str]:
    """The ids of the human tasks a stored instance waits on (what its inbox rows must be)."""
    parsed = definitions.parsed_by_id(session, definition_id)
    workflow = load_state(state, serializer_version, parsed.spec, parsed.subprocess_specs)
    return {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


_READ_INSTANCE = select(ProcessInstance, _SHA_OF_INSTANCE).where(ProcessInstance.id == bindparam("instance_id"))


def read(session: Session, instance_id: int) -> tuple[ProcessInstance, str] | None:
    """An instance as shown (not locked) and the content hash of its definition, in one read: what
    drawing the path it has taken needs."""
    found = session.execute(_READ_INSTANCE, {"instance_id": instance_id}).first()
    return (found[0], found[1]) if found else None


def path_taken(session: Session, instance: ProcessInstance, sha: str) -> tuple[list[str], list[str]]:
    """BPMN element ids the instance has passed (nodes and the flows between them), and where it
    waits; `sha` is its definition's content hash (`read`)."""
    if not instance.state:  # cleared after its definition's retention period: the diagram without the path
        return [], []
    parsed = definitions.parsed_by_sha(session, sha)
    workflow = load_state(instance.state, instance.serializer_version, parsed.spec, parsed.subprocess_specs)
    done = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}
    current = sorted(
        {
            t.task_spec.bpmn_id
            for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
            if t.task_spec.bpmn_id
        }
    )
    return sorted(done) + diagram.flows_between(parsed.flows, done, done | set(current)), current
