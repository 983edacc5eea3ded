"""Approval of many submissions at once, by the kabupaten/kota and the province.

A province with hundreds of desa cannot open each one; like DHIS2's approval by region and period,
the higher tiers approve every open task of a region and period, or a chosen list, in one action.
Each task is still decided on its own (four-eyes, acknowledged warnings, stale forms, claims held by
others), in its own savepoint and audit row; those that cannot be approved are listed with the
reason and stay in the inbox.

The work of one action is bounded twice: by tasks, and by the items they carry. A province approving
a city of large kelurahan (20 of 2,000-6,000 people each) would otherwise write 100,000 record
versions in one web request, past the server's timeout, with nothing kept; instead the tasks are taken
by desa code, then id, until the item budget is spent, the rest are reported as left, and the same
action again continues with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import Forbidden, Invalid, Problem, SijoskuError, phrase
from engine.people.scope import Scope
from engine.verification import decisions
from models import Decision, HumanTask, SubmissionItem, TaskStatus, Tier

BULK_LIMIT = 500  # tasks per action: bounded work, and a result list a person can still read
# Items per action: about 5-10 s of a province's approval (bench/approval.py --kelurahan), well
# inside the server's 60 s; one task larger than this is still taken alone.
ITEM_BUDGET = 15_000
BULK_TIERS = (Tier.KABUPATEN, Tier.PROVINSI)  # the kecamatan judges each item itself


@dataclass
class BulkOutcome:
    decided: list[int] = field(default_factory=list)  # approved, or returned when the action returns
    refused: dict[int, str] = field(default_factory=dict)  # task id -> why it was not decided
    left: list[int] = field(
        default_factory=list
    )  # not tried this time: over the item budget; the same action continues


def may_approve_many(actor: Actor) -> bool:
    """A working role of the tier's own lane at a tier whose tasks are approved many at once."""
    return any(g.tier in BULK_TIERS and g.peran is None for g in Scope.working(actor).grants)


def _bulk_tasks(actor: Actor) -> list[Any]:
    """The tasks a bulk action of this person may take, whatever their status: its tiers, its region."""
    return [
        Scope.working(actor).where_tasks(HumanTask.tingkat, HumanTask.region_kode, HumanTask.peran),
        HumanTask.tingkat.in_(BULK_TIERS),
    ]


def _chosen(session: Session, actor: Actor, task_ids: list[int] | None, region: str, periode: str) -> list[int]:
    """The open tasks to approve, by desa and then id: an approval holds its desa's register
    (`register.hold_registers`), so two bulk actions take the desa they share in one order and never
    wait on each other in a circle."""
    query = select(HumanTask.id).where(*_bulk_tasks(actor), HumanTask.status == TaskStatus.TERBUKA)
    if task_ids is not None:
        if not task_ids:
            raise Invalid("Belum ada tugas yang dipilih", [Problem("centang paling sedikit satu tugas")])
        if len(set(task_ids)) > BULK_LIMIT:
            raise Invalid(f"Paling banyak {BULK_LIMIT} tugas sekali setuju", [Problem("pilih lebih sedikit tugas")])
        query = query.where(HumanTask.id.in_(sorted(set(task_ids)) or [0]))
    else:
        if not (region and periode):
            raise Invalid("Pilih wilayah dan periode", [Problem("wajib diisi", column="wilayah")])
        working = Scope.working(actor)
        if not working.contains(region):
            raise Invalid(
                f"Wilayah {region[:20]} di luar wilayah kerja Anda ({', '.join(working.regions)})",
                [Problem("pilih wilayah di dalam wilayah kerja Anda", column="wilayah")],
            )
        query = query.where(
            HumanTask.periode == periode, or_(HumanTask.kode_desa == region, HumanTask.kode_desa.like(f"{region}.%"))
        )
    found = list(session.scalars(query.order_by(HumanTask.kode_desa, HumanTask.id).limit(BULK_LIMIT + 1)))
    if task_ids is None and not found:  # a region outside the person's, a code mistyped, another period
        raise Invalid(
            f"Tidak ada tugas terbuka yang dapat Anda setujui di wilayah {region[:20]} periode {periode[:10]}",
            [Problem("periksa kode wilayah (mis. 65.01.01) dan periode (mis. 2026-Q4)", column="wilayah")],
        )
    if len(found) > BULK_LIMIT:
        raise Invalid(
            f"Lebih dari {BULK_LIMIT} tugas terbuka di pilihan ini",
            [Problem("pilih wilayah yang lebih kecil, lalu ulangi", column="wilayah")],
        )
    return found


def approve_many(
    session: Session,
    actor: Actor,
    *,
    task_ids: list[int] | None = None,
    region: str = "",
    periode: str = "",
    alasan: str | None = None,
    keputusan: Decision = Decision.SETUJU,
) -> BulkOutcome:
    """Approve (or, with `keputusan` KEMBALIKAN, return with one reason for all) the chosen open
    tasks, a list or a region and period, at the person's kabupaten or province tier; on approval
    every item not judged otherwise is taken as in order."""
    actor.require_person("Persetujuan massal hanya oleh pengguna (--user)")
    if not may_approve_many(actor):
        raise Forbidden("Persetujuan massal hanya untuk verifikator kabupaten/kota dan provinsi")
    if keputusan not in (Decision.SETUJU, Decision.KEMBALIKAN):
        raise Invalid("Keputusan massal hanya setuju atau kembalikan")
    if keputusan == Decision.KEMBALIKAN and not (alasan or "").strip():
        raise Invalid("Alasan pengembalian wajib diisi", [Problem("satu alasan untuk semua tugas", column="alasan")])
    found = _chosen(session, actor, task_ids, region.strip(), periode.strip())
    chosen = set(_within_budget(session, found))
    outcome = BulkOutcome(left=[t for t in found if t not in chosen])
    missing = sorted(set(task_ids or []) - set(found))
    closed = _closed_meanwhile(session, actor, missing)
    for task_id in missing:
        outcome.refused[task_id] = _why_not_open(closed.get(task_id))
    for task_id in (t for t in found if t in chosen):
        command = decisions.DecisionCommand(
            task_id, keputusan.value, alasan=alasan, semua_sesuai=keputusan == Decision.SETUJU, massal=True
        )
        try:
            with session.begin_nested():
                decisions.decide(session, actor, command)
            outcome.decided.append(task_id)
        except SijoskuError as exc:  # the summary: the points themselves are on the task's page
            outcome.refused[task_id] = exc.summary if isinstance(exc, Invalid) else str(exc)
    return outcome


def _closed_meanwhile(session: Session, actor: Actor, task_ids: list[int]) -> dict[int, TaskStatus]:
    """Chosen tasks of the person's tiers and region that are no longer open, with their status:
    decided from another tab or by a colleague, or cancelled by their process (an interrupting
    event of an edited process) since the list was shown; said so, not as outside their region."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(HumanTask.id, HumanTask.status).where(
            HumanTask.id.in_(task_ids), *_bulk_tasks(actor), HumanTask.status != TaskStatus.TERBUKA
        )
    )
    return {task_id: status for task_id, status in rows}


def _why_not_open(status: TaskStatus | None) -> str:
    if status == TaskStatus.SELESAI:
        return phrase("sudah diputuskan sebelumnya (halaman Anda sudah lama dibuka); tidak ada yang diubah")
    if status == TaskStatus.DIBATALKAN:
        return phrase("sudah dibatalkan oleh prosesnya sejak halaman Anda dibuka; tidak ada yang diubah")
    return phrase("bukan tugas terbuka tingkat kabupaten/kota atau provinsi di wilayah Anda")


def _within_budget(session: Session, task_ids: list[int]) -> list[int]:
    """The first tasks, in the order chosen (by desa, then id), whose submissions' items together
    stay within ITEM_BUDGET (the first task always, however large: deciding it alone is what its own
    page does)."""
    counts = dict(
        session.execute(
            select(HumanTask.id, func.count(SubmissionItem.id))
            .join(SubmissionItem, SubmissionItem.submission_id == HumanTask.submission_id)
            .where(HumanTask.id.in_(task_ids or [0]), SubmissionItem.dibuang.is_(False))
            .group_by(HumanTask.id)
        ).all()
    )
    taken: list[int] = []
    spent = 0
    for task_id in task_ids:
        spent += counts.get(task_id, 0)
        if taken and spent > ITEM_BUDGET:
            break
        taken.append(task_id)
    return taken
