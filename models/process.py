"""Process definitions, running instances and the inbox of human tasks."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .region import Tier


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_key", "version", name="uq_definition_version"),
        UniqueConstraint("process_key", "sha256", name="uq_definition_content"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)  # the BPMN process id
    nama: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)  # used by new instances
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceStatus(enum.StrEnum):
    BERJALAN = "berjalan"
    SELESAI = "selesai"
    DIBATALKAN = "dibatalkan"


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_timer", "status", "next_timer_at"),
        # a year's reconciliation and its revisions by the prefix of their key (`rekonsiliasi:2026:r%`)
        Index(
            "ix_process_instance_key_pola", "business_key", postgresql_ops={"business_key": "varchar_pattern_ops"}
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100), unique=True)
    region_kode: Mapped[str] = mapped_column(String(13), index=True)  # the region the process is about
    periode: Mapped[str] = mapped_column(String(10))
    status: Mapped[InstanceStatus] = mapped_column(
        Enum(InstanceStatus, native_enum=False, length=10), default=InstanceStatus.BERJALAN
    )
    state: Mapped[str] = mapped_column(Text)  # SpiffWorkflow's serialized workflow, without the spec
    serializer_version: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    next_timer_at: Mapped[datetime | None] = mapped_column()  # earliest waiting timer
    # why its last step failed (a timer's service task, say): the admin's list of stuck instances;
    # cleared by the next step that saves
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(enum.StrEnum):
    """What a person decides on a human task."""

    AJUKAN = "ajukan"  # the desa submits
    SETUJU = "setuju"  # a verifier approves
    KEMBALIKAN = "kembalikan"  # a verifier returns it to the desa, with a reason


class TaskStatus(enum.StrEnum):
    TERBUKA = "terbuka"
    SELESAI = "selesai"
    DIBATALKAN = "dibatalkan"


class HumanTask(Base):
    """One row per human task, written with the instance state in one transaction.

    Inbox queries read only these indexed columns; they never deserialize a workflow.
    """

    __tablename__ = "human_task"
    __table_args__ = (
        # The inbox reads a region's open tasks in due order (or priority order), 50 at a time: these
        # indexes give them in that order, so no query sorts a region's thousands of tasks.
        Index("ix_human_task_inbox", "tingkat", "region_kode", "status", "due_at", "id"),
        Index(
            "ix_human_task_inbox_priority", "tingkat", "region_kode", "status", text("priority DESC"), "due_at", "id"
        ),
        # a region's late tasks in a period, oldest deadline first (the cycle status an escalation leads to)
        Index("ix_human_task_late", "periode", "status", "due_at", "id"),
        Index("ix_human_task_instance", "instance_id", "status"),
        Index("ix_human_task_assignee", "assignee_id", "status"),
        # a region's tasks by the prefix of their desa's code (late tasks, the inbox's region filter)
        Index("ix_human_task_desa_pola", "kode_desa", postgresql_ops={"kode_desa": "varchar_pattern_ops"}).ddl_if(
            dialect="postgresql"
        ),
        UniqueConstraint("spiff_task_id", name="uq_human_task_spiff_task"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    nama: Mapped[str] = mapped_column(String(200))
    tingkat: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=10))
    # the role a `tier:role` lane names (a Role value); none: the tier's working role
    peran: Mapped[str | None] = mapped_column(String(12))
    region_kode: Mapped[str] = mapped_column(String(13))
    kode_desa: Mapped[str] = mapped_column(String(13), index=True)
    periode: Mapped[str] = mapped_column(String(10), index=True)
    business_key: Mapped[str] = mapped_column(String(100))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=10), default=TaskStatus.TERBUKA
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column()
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    keputusan: Mapped[str | None] = mapped_column(String(12))  # a Decision
    alasan: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the person entered
