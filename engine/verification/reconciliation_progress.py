"""Where a year's reconciliation stands, per regency: its review task, flags and what is still open,
the Forum's and the head's tasks, and the determination once made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.people.scope import Scope
from engine.verification import determinations, reconciliation
from models import HumanTask, Region, TaskStatus, contains


@dataclass
class RegencyProgress:
    kode: str
    nama: str
    tugas_id: int | None
    status: str  # the review task's status, or "-" when the regency has none this round
    tanda: int
    belum: int  # errors and warnings still open

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Progress:
    tahun: int
    instance_id: int | None
    status: str
    tahap: list[str]  # where the process waits
    kabupaten: list[RegencyProgress]
    forum_tugas_id: int | None
    kepala_tugas_id: int | None
    penetapan: dict[str, Any] | None
    may_open: bool = False  # the person may open the year (the province's walidata, validator or admin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tahun": self.tahun,
            "instance_id": self.instance_id,
            "status": self.status,
            "tahap": self.tahap,
            "kabupaten": [r.to_dict() for r in self.kabupaten],
            "forum_tugas_id": self.forum_tugas_id,
            "kepala_tugas_id": self.kepala_tugas_id,
            "penetapan": self.penetapan,
        }


def _open_task(tasks: list[HumanTask], bpmn_id: str, region: str | None = None) -> HumanTask | None:
    fitting = [t for t in tasks if t.bpmn_id == bpmn_id and (region is None or t.region_kode == region)]
    waiting = [t for t in fitting if t.status == TaskStatus.TERBUKA]
    chosen = waiting or fitting
    return chosen[-1] if chosen else None


def progress(session: Session, actor: Actor, province: str, tahun: Any) -> Progress:
    """Where the year's reconciliation stands, per regency (those within the person's scope)."""
    scope = Scope.overseeing(actor).require_any()
    year = reconciliation.check_year(tahun)
    instance = reconciliation.instance_of(session, year)
    frozen = determinations.latest(session, year)
    summary = determinations.summary(frozen, whole=False) if frozen else None
    if instance is None:
        may_open = Scope.reconciling(actor).contains(province)
        return Progress(year, None, "belum dibuka", [], [], None, None, summary, may_open)
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)))
    flags = reconciliation.year_flags(session, province, year)
    names = {
        code: name for code, name in session.execute(select(Region.kode, Region.nama).where(Region.induk == province))
    }
    rows = []
    for code in reconciliation.regencies(session, province):
        if not scope.contains(code):
            continue
        task = _open_task(tasks, reconciliation.REGENCY_TASK, code)
        own = [f for f in flags if contains(code, f.region_kode)]
        rows.append(
            RegencyProgress(
                code,
                names.get(code, code),
                task.id if task else None,
                task.status.value if task else "-",
                len(own),
                sum(1 for f in own if reconciliation.unsettled(f)),
            )
        )
    forum, head = _open_task(tasks, reconciliation.FORUM_TASK), _open_task(tasks, reconciliation.HEAD_TASK)
    waiting = sorted({t.nama for t in tasks if t.status == TaskStatus.TERBUKA})
    return Progress(
        year,
        instance.id,
        instance.status.value,
        waiting,
        rows,
        forum.id if forum else None,
        head.id if head else None,
        summary,
    )
