"""How an official figure was reached, for an auditor: the records behind it, the flags raised on it
and what was said of them, and the decisions of the year's reconciliation that bear on it.

Like every other read, it is kept to the auditor's regions: the decisions shown are those of the
figure's own region, of the regions inside it and of those above it (the Forum's, the head's); a
decision's reason is read only where the auditor's regions cover its task's (the Forum's reason may
gather every regency's). The free texts (notes, reasons, messages) are masked as on the auditor's
other pages: a NIK pasted in a note is not read in full there either.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import NotFound
from engine.people import privacy
from engine.people.scope import Scope
from engine.verification.determinations import figure_of, get, summary
from models import AuditEvent, Category, HumanTask, QualityFlag, Region, contains


def figure_trail(session: Session, actor: Actor, tahun: int, wilayah: str, kategori: str) -> dict[str, Any]:
    """The records behind one official figure, its flags with their explanations, and the decisions
    of the year's reconciliation on it."""
    scope = Scope.auditing(actor).require_any()
    scope.require(wilayah, f"Wilayah {wilayah}")
    d = get(session, Actor.system("audit"), tahun)
    nama = session.scalar(select(Category.nama).where(Category.kode == kategori))
    own = {(code, k): n for code, k, n in d.content["angka"] if code == wilayah}
    value = figure_of(own, {wilayah} if own else set(), (wilayah, kategori)) if nama is not None else None
    if value is None:
        raise NotFound(f"Penetapan {tahun} tidak memuat angka {kategori} untuk {wilayah}")
    shown = privacy.shown_to(privacy.sees_full_nik(actor, wilayah))
    records = [
        {"id": rid, "versi": versi, "kode_desa": desa}
        for rid, versi, desa, k in d.content["catatan"]
        if k == kategori and contains(wilayah, desa)
    ]
    flag_rows = _flags(session, tahun, wilayah, kategori, shown)
    region = session.scalar(select(Region.nama).where(Region.kode == wilayah)) or wilayah
    return {
        "penetapan": summary(d),
        "wilayah": wilayah,
        "nama_wilayah": region,
        "kategori": kategori,
        "nama_kategori": nama or kategori,
        "nilai": value,
        "catatan": records,
        "tanda": flag_rows,
        "riwayat_tanda": _flag_history(session, [int(str(f["id"])) for f in flag_rows], shown),
        "keputusan": _decisions(session, scope, d.instance_id, wilayah, shown),
    }


def _flags(session: Session, tahun: int, wilayah: str, kategori: str, shown: Any) -> list[dict[str, Any]]:
    flags = session.scalars(
        select(QualityFlag)
        .where(
            QualityFlag.periode == str(tahun),
            QualityFlag.region_kode == wilayah,
            QualityFlag.kategori == kategori,
            QualityFlag.item_id.is_(None),
        )
        .order_by(QualityFlag.id)
    )
    return [
        {
            "id": f.id,
            "aturan": f.rule,
            "tingkat": f.severity,
            "status": f.status,
            "pesan": shown(f.message),
            "catatan": shown(f.ack_note),
            "oleh": f.ack_by,
        }
        for f in flags
    ]


def _decisions(
    session: Session, scope: Scope, instance_id: int | None, wilayah: str, shown: Any
) -> list[dict[str, Any]]:
    """The reconciliation's decisions on the figure's region: its own, those inside it and those
    above it, each reason only where the auditor's regions cover the task's."""
    tasks = session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.completed_at.is_not(None))
        .order_by(HumanTask.completed_at, HumanTask.id)
    )
    return [
        {
            "tugas": t.nama,
            "wilayah": t.region_kode,
            "keputusan": t.keputusan,
            "alasan": shown(t.alasan) if scope.contains(t.region_kode) else None,
            "waktu": t.completed_at.isoformat() if t.completed_at else None,
            "status": t.status.value,
        }
        for t in tasks
        if contains(t.region_kode, wilayah) or contains(wilayah, t.region_kode)
    ]


def _flag_history(session: Session, flag_ids: list[int], shown: Any) -> list[dict[str, Any]]:
    if not flag_ids:
        return []
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == "quality_flag", AuditEvent.subject_id.in_([str(i) for i in flag_ids]))
        .order_by(AuditEvent.seq)
    )
    return [
        {"tanda": e.subject_id, "aksi": e.action, "oleh": e.actor, "alasan": shown(e.reason), "waktu": e.at.isoformat()}
        for e in rows
    ]
