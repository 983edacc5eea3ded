"""The invariants of stored work, checked after a crash, a restore or a chaos run.

- each running instance's ready human tasks are exactly its open inbox rows;
- each task was completed once (one `TASK_COMPLETED` row for each closed task, none twice);
- each record's versions run 1, 2, ... up to the record's own number, without a gap;
- one process instance per desa and period;
- the audit chain verifies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.core import audit
from engine.core.audit import AuditAction
from models import (
    AuditEvent,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Record,
    RecordVersion,
    Region,
    TaskStatus,
    Tier,
)


@dataclass
class Report:
    instances: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "instances": self.instances, "problems": self.problems}


def check(session: Session) -> Report:
    report = Report()
    _instances_agree_with_inbox(session, report)
    _tasks_completed_once(session, report)
    _record_versions_contiguous(session, report)
    _one_instance_per_desa_and_period(session, report)
    chain = audit.verify_chain(session)
    if not chain.ok:
        report.problems.append(chain.message)
    return report


def _instances_agree_with_inbox(session: Session, report: Report) -> None:
    open_rows: dict[int, set[str]] = defaultdict(set)
    for instance_id, spiff_id in session.execute(
        select(HumanTask.instance_id, HumanTask.spiff_task_id).where(HumanTask.status == TaskStatus.TERBUKA)
    ):
        open_rows[instance_id].add(spiff_id)
    running = session.execute(
        select(
            ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.state, ProcessInstance.serializer_version
        )
        .where(ProcessInstance.status == InstanceStatus.BERJALAN)
        .order_by(ProcessInstance.id)
    )
    for instance_id, definition_id, state, version in running:
        report.instances += 1
        ready = runtime.ready_human_task_ids(session, definition_id, state, version)
        if ready != open_rows.pop(instance_id, set()):
            report.problems.append(f"instans {instance_id}: tugas siap di status proses tidak sama dengan kotak tugas")
    for instance_id in sorted(open_rows):
        report.problems.append(f"instans {instance_id}: kotak tugas terbuka, tetapi instansnya tidak berjalan")


def _tasks_completed_once(session: Session, report: Report) -> None:
    completions = dict(
        session.execute(
            select(AuditEvent.human_task_id, func.count())
            .where(AuditEvent.action == AuditAction.TASK_COMPLETED)
            .group_by(AuditEvent.human_task_id)
        ).all()
    )
    for task_id, count in completions.items():
        if count > 1:
            report.problems.append(f"tugas {task_id} diselesaikan {count} kali")
    closed = session.scalars(select(HumanTask.id).where(HumanTask.status == TaskStatus.SELESAI))
    for task_id in closed:
        if task_id not in completions:
            report.problems.append(f"tugas {task_id} selesai tanpa catatan audit penyelesaiannya")


def _record_versions_contiguous(session: Session, report: Report) -> None:
    rows = session.execute(
        select(
            Record.id,
            Record.versi,
            func.count(RecordVersion.id),
            func.min(RecordVersion.versi),
            func.max(RecordVersion.versi),
        )
        .outerjoin(RecordVersion, RecordVersion.record_id == Record.id)
        .group_by(Record.id, Record.versi)
    )
    for record_id, versi, count, lowest, highest in rows:
        if (count, lowest or 0, highest or 0) != (versi, 1 if versi else 0, versi):
            report.problems.append(
                f"catatan {record_id}: versi {lowest}..{highest} ({count} baris) untuk versi {versi}"
            )


def _one_instance_per_desa_and_period(session: Session, report: Report) -> None:
    # a desa's verification, once a period; a province's year may be reconciled again in numbered
    # revisions, each an instance of its own, and is not a desa's
    doubles = session.execute(
        select(ProcessInstance.region_kode, ProcessInstance.periode, func.count())
        .join(Region, Region.kode == ProcessInstance.region_kode)
        .where(Region.tingkat == Tier.DESA)
        .group_by(ProcessInstance.region_kode, ProcessInstance.periode)
        .having(func.count() > 1)
    )
    for region, periode, count in doubles:
        report.problems.append(f"desa {region} periode {periode}: {count} instans proses")
