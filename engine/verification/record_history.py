"""A person's record history for an auditor on the command line (`sijosku records history`): every
version of every record that carries, or carried, a NIK, with who verified it at each tier."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality.nik import is_sixteen_digits
from engine.verification import trail
from models import HumanTask, Record, RecordVersion, TaskStatus, User, ids_by_nik


def history(session: Session, actor: Actor, nik: str, reason: str) -> list[dict[str, Any]]:
    """Every version of every record with this NIK in the auditor's regions, oldest first, with the
    tiers that verified it; none when no such record is there. The versions hold the whole person
    (NIK, KK, name, address), so the lookup needs a stated reason; like the auditor's search by NIK
    it is bounded per hour and on the trail, found or not, with a row per record shown."""
    scope = Scope.auditing(actor).require_any()
    stated = privacy.require_reason(reason)
    if not is_sixteen_digits(nik):  # a number of another shape is on no register, and is kept off the trail
        raise Invalid("NIK dicari utuh", [Problem("NIK dicari utuh: 16 angka", column="nik")])
    trail.allow_nik_search(session, actor)
    records = session.scalars(
        select(Record)
        .where(
            Record.id.in_(ids_by_nik(nik)),  # also a record that carried this NIK before a correction
            scope.where(Record.kode_desa),
        )
        .order_by(Record.id)
    ).all()
    trail.nik_searched(session, actor, nik, len(records))
    result = []
    for record in records:
        audit.record(session, actor, AuditAction.NIK_VIEWED, "ppks_record", record.id, reason=stated)
        versions = session.scalars(
            select(RecordVersion).where(RecordVersion.record_id == record.id).order_by(RecordVersion.versi)
        ).all()
        for v in versions:
            task = session.get(HumanTask, v.human_task_id) if v.human_task_id else None
            result.append(
                {
                    "record_id": record.id,
                    "kategori": record.kategori,
                    "kode_desa": record.kode_desa,
                    "versi": v.versi,
                    "status": v.status.value,
                    "nilai": v.nilai,
                    "perubahan": v.perubahan,
                    "actor": v.actor,
                    "tingkat": task.tingkat.value if task else None,
                    "task_id": v.human_task_id,
                    "tugas": task.nama if task else None,
                    "sumber": v.source.value,
                    "submission_id": v.submission_id,
                    "waktu": v.created_at.isoformat(),
                    "verifikasi": _verified_by(session, v.submission_id),
                }
            )
    return result


def _verified_by(session: Session, submission_id: int | None) -> list[dict[str, Any]]:
    """Who acted at each tier on the submission that produced a version."""
    if submission_id is None:
        return []
    rows = session.scalars(
        select(HumanTask)
        .where(HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.SELESAI)
        .order_by(HumanTask.completed_at, HumanTask.id)
    ).all()
    ids = {t.completed_by_id for t in rows if t.completed_by_id}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    return [
        {
            "tingkat": t.tingkat.value,
            "tugas": t.nama,
            "task_id": t.id,
            "oleh": names.get(t.completed_by_id),
            "keputusan": t.keputusan,
            "alasan": t.alasan,
            "waktu": t.completed_at.isoformat() if t.completed_at else None,
        }
        for t in rows
    ]
