"""Auditors' use cases: find records, read a record's or an instance's whole history, verify and
export the trail. Auditors read everything in their region and change nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import privacy, review
from engine.actors import Actor
from engine.errors import Forbidden, NotFound
from models import (
    AuditEvent,
    HumanTask,
    ProcessInstance,
    Record,
    RecordVersion,
    Role,
    Tier,
    User,
    contains,
)

ROLE_OF_TIER = {Tier.DESA: "operator", Tier.KECAMATAN: "verifier", Tier.KABUPATEN: "verifier",
                Tier.PROVINSI: "validator"}


def auditor_regions(actor: Actor) -> list[str]:
    if actor.user is None:
        return [""]
    regions = [a.region_kode for a in actor.user.roles if a.role == Role.AUDITOR]
    if not regions:
        raise Forbidden("Halaman ini untuk auditor")
    return regions


def _in_regions(column: Any, regions: list[str]) -> Any:
    return or_(*[column.like(f"{r}%") if r else column.is_not(None) for r in regions])


@dataclass
class Found:
    record: Record
    nik: str


def search_records(session: Session, actor: Actor, nik: str = "", nama: str = "", wilayah: str = "",
                   kategori: str = "", limit: int = 100) -> list[Found]:
    regions = auditor_regions(actor)
    q = select(Record).where(_in_regions(Record.kode_desa, regions))
    if nik.strip():
        q = q.where(Record.nik == nik.strip())
    if nama.strip():
        q = q.where(func.lower(Record.nama).like(f"%{nama.strip().lower()}%"))
    if wilayah.strip():
        q = q.where(Record.kode_desa.like(f"{wilayah.strip()}%"))
    if kategori.strip():
        q = q.where(Record.kategori == kategori.strip())
    return [Found(r, r.nik if privacy.sees_full_nik(actor, r.kode_desa) else privacy.mask_nik(r.nik))
            for r in session.scalars(q.order_by(Record.nama, Record.id).limit(limit))]


def _record(session: Session, actor: Actor, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None or not any(r == "" or contains(r, record.kode_desa) for r in auditor_regions(actor)):
        raise NotFound(f"Catatan {record_id} tidak ada")
    return record


@dataclass
class Version:
    version: RecordVersion
    changes: list[tuple[str, Any, Any]]
    role: str
    tier: str | None
    task: str | None
    trail: list[dict[str, Any]]
    instance_id: int | None


def record_timeline(session: Session, actor: Actor, record_id: int) -> tuple[Record, list[Version]]:
    record = _record(session, actor, record_id)
    masked = not privacy.sees_full_nik(actor, record.kode_desa)
    versions = session.scalars(select(RecordVersion).where(RecordVersion.record_id == record.id)
                               .order_by(RecordVersion.versi)).all()
    result = []
    for v in versions:
        task = session.get(HumanTask, v.human_task_id) if v.human_task_id else None
        changes = [(name, *_shown(name, before, after, masked)) for name, (before, after) in v.perubahan.items()]
        result.append(Version(v, changes, ROLE_OF_TIER.get(task.tingkat, "-") if task else v.source.value,
                              task.tingkat.value if task else None, task.nama if task else None,
                              review.decisions(session, task.instance_id) if task else [],
                              task.instance_id if task else None))
    return record, result


def _shown(name: str, before: Any, after: Any, masked: bool) -> tuple[Any, Any]:
    if masked and name == "nik":
        return privacy.mask_nik(before), privacy.mask_nik(after)
    return before, after


def reveal_nik(session: Session, actor: Actor, record_id: int, reason: str) -> str:
    record = _record(session, actor, record_id)
    return privacy.reveal_nik(session, actor, record.id, record.nik or "", reason)


def instance_timeline(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    regions = auditor_regions(actor)
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not any(r == "" or contains(r, instance.region_kode) for r in regions):
        raise NotFound(f"Instans {instance_id} tidak ada")
    events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id)
                             .order_by(AuditEvent.seq)).all()
    path, current = review.process_path(session, instance)
    return {"instance": instance, "events": events, "path": path, "current": current,
            "decisions": review.decisions(session, instance.id)}


EXPORT_COLUMNS = ["seq", "at", "actor", "action", "subject_type", "subject_id", "before", "after", "reason",
                  "instance_id", "human_task_id", "prev_hash", "hash"]


def require_province_auditor(actor: Actor, province: str) -> None:
    """The whole trail spans every region: only an auditor of the province reads or checks all of it."""
    if province not in auditor_regions(actor) and "" not in auditor_regions(actor):
        raise Forbidden("Seluruh jejak audit hanya untuk auditor tingkat provinsi")


def export_csv(session: Session, actor: Actor, province: str) -> Iterator[str]:
    """The whole trail as CSV, streamed in sequence order, with the hashes to check it elsewhere."""
    require_province_auditor(actor, province)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    try:
        for row in rows:
            writer.writerow([getattr(row, c).isoformat() if c == "at" else getattr(row, c) for c in EXPORT_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        rows.close()


def actor_names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
