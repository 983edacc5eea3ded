"""Reading the task inbox: a person's tasks by tier and region, filtered, sorted and paged.

Every query here reads the indexed columns of `human_task` only; none deserializes a workflow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from engine import audit, clock, tasks
from engine.actors import Actor
from engine.errors import Conflict, Invalid, NotFound, SijoskuError
from models import WORK_ROLES, HumanTask, SavedFilter, TaskStatus, contains

STATUSES = ("terbuka", "selesai", "semua")
SORTS = ("tenggat", "prioritas", "terbaru")


@dataclass
class InboxFilter:
    periode: str = ""
    wilayah: str = ""  # a sub-region: kecamatan or desa code within the person's region
    status: str = "terbuka"
    terlambat: bool = False
    urut: str = "tenggat"
    halaman: int = 1
    per_halaman: int = 50

    def normalised(self) -> InboxFilter:
        return InboxFilter(
            periode=self.periode.strip(), wilayah=self.wilayah.strip(),
            status=self.status if self.status in STATUSES else "terbuka", terlambat=bool(self.terlambat),
            urut=self.urut if self.urut in SORTS else "tenggat", halaman=max(1, int(self.halaman or 1)),
            per_halaman=min(200, max(10, int(self.per_halaman or 50))),
        )

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("halaman", "per_halaman")}


@dataclass
class InboxPage:
    tasks: list[HumanTask]
    total: int
    filter: InboxFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_halaman))


def scope(actor: Actor) -> Any:
    """Rows of the tiers and regions where the actor holds a working role (nothing for others)."""
    if actor.user is None:
        return HumanTask.id.is_(None)
    clauses = [and_(HumanTask.tingkat == a.tingkat, HumanTask.region_kode == a.region_kode)
               for a in actor.user.roles if a.role in WORK_ROLES]
    return or_(*clauses) if clauses else HumanTask.id.is_(None)


def _filtered(actor: Actor, f: InboxFilter) -> Any:
    query = select(HumanTask).where(scope(actor))
    if f.status == "terbuka":
        query = query.where(HumanTask.status == TaskStatus.TERBUKA)
    elif f.status == "selesai":
        query = query.where(HumanTask.status == TaskStatus.SELESAI)
    if f.periode:
        query = query.where(HumanTask.periode == f.periode)
    if f.wilayah:
        query = query.where(or_(HumanTask.kode_desa == f.wilayah, HumanTask.kode_desa.like(f"{f.wilayah}.%")))
    if f.terlambat:
        query = query.where(or_(HumanTask.overdue.is_(True), HumanTask.due_at < clock.now()))
    return query


def inbox_page(session: Session, actor: Actor, f: InboxFilter | None = None) -> InboxPage:
    f = (f or InboxFilter()).normalised()
    query = _filtered(actor, f)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    order = {
        "tenggat": (HumanTask.due_at.asc().nulls_last(), HumanTask.id),
        "prioritas": (HumanTask.priority.desc(), HumanTask.due_at.asc().nulls_last(), HumanTask.id),
        "terbaru": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    }[f.urut]
    rows = session.scalars(query.order_by(*order).offset((f.halaman - 1) * f.per_halaman).limit(f.per_halaman))
    return InboxPage(list(rows), total, f)


def inbox(session: Session, actor: Actor, periode: str | None = None, status: str = "terbuka",
          limit: int = 200) -> list[HumanTask]:
    return inbox_page(session, actor, InboxFilter(periode=periode or "", status=status,
                                                  per_halaman=limit)).tasks


def open_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(HumanTask).where(
        scope(actor), HumanTask.status == TaskStatus.TERBUKA)) or 0


def task_in_scope(session: Session, actor: Actor, task_id: int) -> HumanTask:
    """The task when it lies in the actor's tiers and regions; otherwise it does not exist for them."""
    task = session.scalar(select(HumanTask).where(HumanTask.id == task_id, scope(actor)))
    if task is None:
        raise NotFound(f"Tugas {task_id} tidak ada di kotak tugas Anda")
    return task


def task_view(task: HumanTask, tz: Any) -> dict[str, Any]:
    def local(value: Any) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {"id": task.id, "nama": task.nama, "bpmn_id": task.bpmn_id, "tingkat": task.tingkat.value,
            "region_kode": task.region_kode, "kode_desa": task.kode_desa, "periode": task.periode,
            "status": task.status.value, "due_at": local(task.due_at), "overdue": task.overdue,
            "assignee_id": task.assignee_id, "submission_id": task.submission_id,
            "created_at": local(task.created_at), "keputusan": task.decision, "alasan": task.reason}


def claim_many(session: Session, actor: Actor, task_ids: list[int], release: bool = False) -> dict[int, str]:
    """Claim (or release) each task on its own; returns what happened to each, in Indonesian."""
    outcome = {}
    for task_id in task_ids:
        try:
            with session.begin_nested():
                (tasks.unclaim if release else tasks.claim)(session, actor, task_id)
            outcome[task_id] = "dilepas" if release else "diklaim"
        except SijoskuError as exc:
            outcome[task_id] = str(exc)
    return outcome


def save_filter(session: Session, actor: Actor, nama: str, f: InboxFilter) -> SavedFilter:
    nama = (nama or "").strip()
    if not nama or len(nama) > 80:
        raise Invalid("Nama filter wajib diisi (paling banyak 80 karakter)")
    if actor.user is None:
        raise Conflict("Filter hanya dapat disimpan oleh pengguna")
    saved = SavedFilter(user_id=actor.user.id, nama=nama, params=f.normalised().params())
    session.add(saved)
    session.flush()
    audit.record(session, actor, "FILTER_SAVED", "saved_filter", saved.id, after={"nama": nama, **saved.params})
    return saved


def saved_filters(session: Session, actor: Actor) -> list[SavedFilter]:
    if actor.user is None:
        return []
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == actor.user.id)
                                .order_by(SavedFilter.nama)))


def delete_filter(session: Session, actor: Actor, filter_id: int) -> None:
    result = session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id,
                                                       SavedFilter.user_id == actor.user_id))
    if result.rowcount != 1:
        raise NotFound(f"Filter {filter_id} tidak ada")


def sub_region_allowed(actor: Actor, code: str) -> bool:
    return actor.user is not None and any(contains(a.region_kode, code) for a in actor.user.roles)
