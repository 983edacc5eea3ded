"""Reading the task inbox: a person's tasks by tier and region, filtered, sorted and paged.

Every query here reads the indexed columns of `human_task` only; none deserializes a workflow.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from engine.core import audit, clock, rows
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NotFound, Problem
from engine.people.scope import Scope
from engine.verification import bulk_approval, submission_view
from models import FlagStatus, HumanTask, QualityFlag, Region, SavedFilter, Severity, Submission, TaskStatus

ALL = "semua"
DESA_DOTS = 3  # 65.01.01.2005
STATUSES = (*(s.value for s in TaskStatus), ALL)
SORTS = ("tenggat", "prioritas", "terbaru")


PERIOD = re.compile(r"[0-9]{4}(-(Q[1-4]|S[12]))?")
REGION = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")  # Kemendagri's code of a region, at any tier


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
        """The filter with its words checked (an unknown status or order is refused, not guessed)."""
        problems = []
        if self.status not in STATUSES:
            problems.append(
                Problem(f"status {self.status!r} tidak dikenal; gunakan {', '.join(STATUSES)}", column="status")
            )
        if self.urut not in SORTS:
            problems.append(Problem(f"urutan {self.urut!r} tidak dikenal; gunakan {', '.join(SORTS)}", column="urut"))
        periode, wilayah = self.periode.strip().upper(), self.wilayah.strip()  # "2026-q4" is 2026-Q4
        if periode and not PERIOD.fullmatch(periode):
            problems.append(
                Problem(f"periode {periode[:20]!r} tidak sah; tulis seperti 2026-Q4 atau 2026-S2", column="periode")
            )
        if wilayah and not REGION.fullmatch(wilayah):
            problems.append(
                Problem(f"kode wilayah {wilayah[:20]!r} tidak sah; tulis seperti 65.01 atau 65.01.01", column="wilayah")
            )
        if problems:
            raise Invalid("Filter kotak tugas tidak sah", problems)
        return InboxFilter(
            periode=periode,
            wilayah=wilayah,
            status=self.status,
            terlambat=bool(self.terlambat),
            urut=self.urut,
            halaman=max(1, int(self.halaman or 1)),
            per_halaman=min(200, max(10, int(self.per_halaman or 50))),
        )

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("halaman", "per_halaman")}


@dataclass(frozen=True)
class About:
    """What a verifier weighs before opening a task: the round (a resubmission after a return), the
    desa's statement, and the data-quality warnings still without a note."""

    putaran: int
    nihil: bool
    tidak_diperiksa: bool
    peringatan: int


@dataclass
class InboxPage:
    tasks: list[HumanTask]
    total: int
    filter: InboxFilter
    claimants: dict[int, str] = field(default_factory=dict)  # user id -> name, of those holding a claim
    bulk: bool = False  # the person may approve many tasks at once (kabupaten/kota, province)
    # task id -> (its place's code, "Desa, Kecamatan" or the regency's name): names beside codes
    places: dict[int, tuple[str, str]] = field(default_factory=dict)
    # `open_count` of the same person when the page counted it on the way (a view of open tasks):
    # the page header shows it, and at national scale counting is the dearest part of the page
    open_count: int | None = None
    about: dict[int, About] = field(default_factory=dict)  # task id -> what its submission says

    @property
    def pages(self) -> int:
        return _page_count(self.total, self.filter.per_halaman)


def _page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _in_scope(actor: Actor) -> Any:
    """Rows of the tiers and regions where the person holds a working role (nothing for others)."""
    return Scope.working(actor).where_tasks(HumanTask.tingkat, HumanTask.region_kode, HumanTask.peran)


def _narrowing(f: InboxFilter) -> list[Any]:
    """The filter's conditions beyond the person's scope and the status."""
    found = []
    if f.periode:
        found.append(HumanTask.periode == f.periode)
    if f.wilayah:  # a desa by its own code (its index), a larger region by the prefix of its desa
        below = HumanTask.kode_desa.like(f"{f.wilayah}.%")
        found.append(HumanTask.kode_desa == f.wilayah if f.wilayah.count(".") == DESA_DOTS else below)
    if f.terlambat:
        found.append(or_(HumanTask.overdue.is_(True), HumanTask.due_at < clock.now()))
    return found


def _shown(actor: Actor, f: InboxFilter) -> list[Any]:
    """The person's scope and the view's status."""
    found = [_in_scope(actor)]
    if f.status != ALL:
        found.append(HumanTask.status == TaskStatus(f.status))
    return found


def _counts(session: Session, shown: list[Any], narrowing: list[Any], f: InboxFilter) -> tuple[int, int | None]:
    """The tasks the view shows in all, and the person's open tasks when the same scan finds both."""
    if f.status != TaskStatus.TERBUKA.value:
        return session.scalar(select(func.count()).select_from(HumanTask).where(*shown, *narrowing)) or 0, None
    total = func.count().filter(and_(*narrowing)) if narrowing else func.count()
    everything, in_view = session.execute(select(func.count(), total).select_from(HumanTask).where(*shown)).one()
    return in_view or 0, everything or 0


# Built once: every inbox page asks them (the view's own query depends on the person and the filter).
_REGION_NAMES = select(Region.kode, Region.nama).where(Region.kode.in_(bindparam("codes", expanding=True)))
_SUBMISSIONS = select(Submission.id, Submission.putaran, Submission.nihil, Submission.tidak_diperiksa).where(
    Submission.id.in_(bindparam("ids", expanding=True))
)
_OPEN_WARNINGS = (
    select(QualityFlag.submission_id, func.count())
    .where(
        QualityFlag.submission_id.in_(bindparam("ids", expanding=True)),
        QualityFlag.severity == Severity.WARNING,
        QualityFlag.status == FlagStatus.TERBUKA,
    )
    .group_by(QualityFlag.submission_id)
)
_SAVED_FILTERS = select(SavedFilter).where(SavedFilter.user_id == bindparam("user_id")).order_by(SavedFilter.nama)


def inbox_page(session: Session, actor: Actor, f: InboxFilter | None = None) -> InboxPage:
    f = (f or InboxFilter()).normalised()
    shown, narrowing = _shown(actor, f), _narrowing(f)
    total, open_tasks = _counts(session, shown, narrowing, f)
    # A page beyond the last (a link kept while the tasks on it were decided) shows the last page,
    # not an empty list that reads as "nothing left", and the database never skips past the end
    f = replace(f, halaman=min(f.halaman, _page_count(total, f.per_halaman)))
    query = select(HumanTask).where(*shown, *narrowing)
    order = {
        "tenggat": (HumanTask.due_at.asc().nulls_last(), HumanTask.id),
        "prioritas": (HumanTask.priority.desc(), HumanTask.due_at.asc().nulls_last(), HumanTask.id),
        "terbaru": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    }[f.urut]
    rows = list(session.scalars(query.order_by(*order).offset((f.halaman - 1) * f.per_halaman).limit(f.per_halaman)))
    holders = {t.assignee_id for t in rows if t.assignee_id}
    claimants = submission_view.user_names(session, holders)
    may_bulk = bulk_approval.may_approve_many(actor)
    return InboxPage(rows, total, f, claimants, may_bulk, _places(session, rows), open_tasks, _about(session, rows))


def _about(session: Session, tasks: list[HumanTask]) -> dict[int, About]:
    """Each page task's submission in two queries (its round and statement; its open warnings)."""
    ids = {t.submission_id for t in tasks if t.submission_id}
    if not ids:
        return {}
    subs = {row[0]: row[1:] for row in session.execute(_SUBMISSIONS, {"ids": list(ids)}).all()}
    warnings = dict(session.execute(_OPEN_WARNINGS, {"ids": list(ids)}).all())
    return {
        t.id: About(
            subs[t.submission_id][0],
            bool(subs[t.submission_id][1]),
            bool(subs[t.submission_id][2]),
            warnings.get(t.submission_id, 0),
        )
        for t in tasks
        if t.submission_id in subs
    }


def place_of(task: HumanTask) -> str:
    """Where a task is about: a tier's task, its desa; a reconciliation step, its region (a regency,
    or the province)."""
    return task.region_kode if task.peran else task.kode_desa


def _places(session: Session, tasks: list[HumanTask]) -> dict[int, tuple[str, str]]:
    """The names of a page's tasks' places with their parents' (desa, kecamatan), in one query."""
    codes = {place_of(t) for t in tasks if place_of(t)}
    parents = {code.rsplit(".", 1)[0] for code in codes if "." in code}
    if not codes:
        return {}
    names = dict(session.execute(_REGION_NAMES, {"codes": list(codes | parents)}).all())

    def named(code: str) -> str:
        parent = code.rsplit(".", 1)[0] if "." in code else None
        return ", ".join(n for n in (names.get(code), names.get(parent) if parent else None) if n)

    return {t.id: (place_of(t), named(place_of(t))) for t in tasks if place_of(t)}


def open_query(actor: Actor) -> Select[int]:
    """How many open tasks the person's inbox holds, as a query (the page header asks it together
    with other figures)."""
    return select(func.count()).select_from(HumanTask).where(_in_scope(actor), HumanTask.status == TaskStatus.TERBUKA)


def open_count(session: Session, actor: Actor) -> int:
    return session.scalar(open_query(actor)) or 0


def task_view(task: HumanTask, tz: Any) -> dict[str, Any]:
    def local(value: Any) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "id": task.id,
        "nama": task.nama,
        "bpmn_id": task.bpmn_id,
        "tingkat": task.tingkat.value,
        "region_kode": task.region_kode,
        "kode_desa": task.kode_desa,
        "periode": task.periode,
        "status": task.status.value,
        "due_at": local(task.due_at),
        "overdue": task.overdue,
        "assignee_id": task.assignee_id,
        "submission_id": task.submission_id,
        "created_at": local(task.created_at),
        "keputusan": task.keputusan,
        "alasan": task.alasan,
    }


def save_filter(session: Session, actor: Actor, nama: str, f: InboxFilter) -> SavedFilter:
    nama = (nama or "").strip()
    if not nama or len(nama) > 80:
        raise Invalid("Nama filter wajib diisi (paling banyak 80 karakter)")
    user = actor.require_person("Filter hanya dapat disimpan oleh pengguna")
    saved = SavedFilter(user_id=user.id, nama=nama, params=f.normalised().params())
    session.add(saved)
    session.flush()
    audit.record(
        session, actor, AuditAction.FILTER_SAVED, "saved_filter", saved.id, after={"nama": nama, **saved.params}
    )
    return saved


def saved_filters(session: Session, actor: Actor) -> list[SavedFilter]:
    if actor.is_system:
        return []
    return list(session.scalars(_SAVED_FILTERS, {"user_id": actor.user_id}))


def delete_filter(session: Session, actor: Actor, filter_id: int) -> None:
    result = session.execute(
        delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.user_id == actor.user_id)
    )
    if rows.affected(result) != 1:
        raise NotFound(f"Filter {filter_id} tidak ada")
