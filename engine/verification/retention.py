"""Retention of finished instances' serialized state, per process definition.

A finished or cancelled instance keeps its SpiffWorkflow state only so that the auditor's diagram
can draw the path it took; its history lives on in the audit trail, the inbox rows and the record
versions, which are never touched here. After a definition's retention period the state is cleared
(set to `PRUNED`), a batch at a time, each batch one transaction with one audit row, so that a run
over years of instances neither holds long locks nor loses its place when interrupted.

The periods come from the setting `SIJOSKU_INSTANCE_RETENTION` (`process_key=days,...`); a
definition without a period keeps its finished states for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NotFound
from engine.people.scope import Scope
from models import InstanceStatus, ProcessDefinition, ProcessInstance

PRUNED = ""  # the state of a finished instance after its retention period
BATCH = 2000  # instances cleared per transaction
MAX_DAYS = 36_500
FINISHED = (InstanceStatus.SELESAI, InstanceStatus.DIBATALKAN)


@dataclass
class PruneReport:
    """Instances whose state was (or, in a dry run, would be) cleared, per process key."""

    cleared: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"dibersihkan": self.cleared, "batas": self.cutoffs, "uji_coba": self.dry_run}


def check_rule(process_key: str, days: int) -> None:
    if not process_key or len(process_key) > 100:
        raise Invalid("kunci proses harus diisi (paling banyak 100 karakter)")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"masa simpan harus 1 sampai {MAX_DAYS} hari, bukan {days}")


def _require_known(session: Session, process_key: str) -> None:
    """A mistyped key would clear nothing and say so as if all were well."""
    known = sorted(session.scalars(select(ProcessDefinition.process_key).distinct()))
    if process_key not in known:
        raise NotFound(f"Proses {process_key!r} tidak dikenal; yang ada: {', '.join(known)}")


def _due(process_key: str, cutoff: datetime) -> Any:
    """Finished instances of this process key, finished before the cutoff, whose state is still kept."""
    return (
        select(ProcessInstance.id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(
            ProcessDefinition.process_key == process_key,
            ProcessInstance.status.in_(FINISHED),
            ProcessInstance.updated_at < cutoff,
            ProcessInstance.state != PRUNED,
        )
    )


def count_due(session: Session, actor: Actor, process_key: str, days: int, now: datetime) -> int:
    """How many instances a prune would clear (the dry run)."""
    Scope.administering(actor).require_any().require_province()
    check_rule(process_key, days)
    _require_known(session, process_key)
    due = _due(process_key, now - timedelta(days=days)).subquery()
    return session.scalar(select(func.count()).select_from(due)) or 0


def prune_batch(session: Session, actor: Actor, process_key: str, days: int, now: datetime) -> int:
    """Clear the state of up to `BATCH` instances past retention; the number cleared (0 when done:
    a batch whose instances were all reopened meanwhile also clears none)."""
    Scope.administering(actor).require_any().require_province()
    check_rule(process_key, days)
    _require_known(session, process_key)
    cutoff = now - timedelta(days=days)
    ids = list(session.scalars(_due(process_key, cutoff).order_by(ProcessInstance.id).limit(BATCH)))
    if not ids:
        return 0
    # The status and cutoff are checked again in the UPDATE: an instance reopened in between keeps its
    # state, and the trail counts the instances cleared, not the ones found.
    cleared = sorted(
        session.scalars(
            update(ProcessInstance)
            .where(ProcessInstance.id.in_(ids), ProcessInstance.status.in_(FINISHED))
            .where(ProcessInstance.updated_at < cutoff)
            .values(state=PRUNED)
            .returning(ProcessInstance.id)
            .execution_options(synchronize_session=False)
        )
    )
    if cleared:
        audit.record(
            session,
            actor,
            AuditAction.INSTANCE_STATE_PRUNED,
            "process_definition",
            process_key,
            after={
                "instans": len(cleared),
                "id_pertama": cleared[0],
                "id_terakhir": cleared[-1],
                "selesai_sebelum": cutoff.isoformat(),
            },
            reason=f"masa simpan {days} hari",
        )
    return len(cleared)
