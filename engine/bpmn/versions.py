"""The stored versions of each process, as administrators and auditors list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.errors import NotFound
from models import InstanceStatus, ProcessDefinition, ProcessInstance


def list_definitions(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(ProcessInstance.definition_id, func.count())
            .where(ProcessInstance.status == InstanceStatus.BERJALAN)
            .group_by(ProcessInstance.definition_id)
        ).all()
    )
    rows = session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version))
    return [
        {
            "id": d.id,
            "process_key": d.process_key,
            "nama": d.nama,
            "version": d.version,
            "sha256": d.sha256,
            "is_current": d.is_current,
            "deployed_by": d.deployed_by,
            "deployed_at": d.deployed_at.isoformat(),
            "instances_running": counts.get(d.id, 0),
        }
        for d in rows
    ]


def xml_of(session: Session, definition_id: int) -> str:
    xml = session.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id))
    if xml is None:
        raise NotFound(f"Definisi proses {definition_id} tidak ada")
    return xml
