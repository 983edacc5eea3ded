"""Administrators' use cases on process definitions: list, open in the editor, deploy, make a
version current again, compare, move running instances between versions, retry stuck instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import definitions, diagram, migration, runtime, versions
from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem, SijoskuError, phrase
from engine.core.uow import Database
from engine.people.scope import Scope
from models import InstanceStatus, ProcessDefinition, ProcessInstance


def _changing(actor: Actor) -> Scope:
    """The process is the province's: only an admin of the whole province changes or runs it."""
    return Scope.administering(actor).require_any().require_province()


def _reading(actor: Actor) -> None:
    """Administrators, and auditors, who trace what the process was when a decision was made: every
    stored version, its diagram and what changed between two (no personal data is in them)."""
    if Scope.administering(actor).empty and Scope.auditing(actor).empty:
        raise Forbidden("Definisi proses dibaca oleh admin dan auditor")


def list_definitions(session: Session, actor: Actor) -> list[dict[str, Any]]:
    _reading(actor)
    return versions.list_definitions(session)


def definition(session: Session, actor: Actor, definition_id: int) -> ProcessDefinition:
    _reading(actor)
    found = session.get(ProcessDefinition, definition_id)
    if found is None:
        raise NotFound(f"Definisi {definition_id} tidak ada")
    return found


def deploy(
    session: Session,
    actor: Actor,
    xml: str,
    confirmed: bool = False,
    based_on: int | None = None,
    for_process: str | None = None,
) -> definitions.DeployResult:
    """A new version from the editor or a file; refused with a problem per element when invalid or
    when the editor opened another process (`for_process`), held for confirmation when the lint only
    warns or when the diagram was edited from a version that is no longer current (`based_on`), and an
    earlier version made current again when the content is identical to it."""
    _changing(actor)
    return definitions.deploy(session, actor, xml, confirmed=confirmed, based_on=based_on, for_process=for_process)


def activate(session: Session, actor: Actor, process_key: str, version: int) -> definitions.DeployResult:
    """Make a stored version the one new instances use (a rollback); audited."""
    _changing(actor)
    return definitions.activate(session, actor, process_key, version)


def outcome(result: definitions.DeployResult) -> str:
    """What a deploy or an activation did, said to the administrator (the page and the CLI alike)."""
    d = result.definition
    if result.created:
        return phrase(f"{d.nama}: versi {d.version} dipasang; instans baru memakainya.")
    if result.reactivated:
        return phrase(
            f"{d.nama}: versi {d.version} kini dipakai instans baru lagi (sebelumnya versi {result.previous_version}). "
            "Instans yang berjalan tetap pada versinya; pindahkan lewat migrasi instans bila perlu."
        )
    return phrase(f"{d.nama}: isi tidak berubah; tetap versi {d.version}.")


@dataclass
class Comparison:
    left: ProcessDefinition
    right: ProcessDefinition
    changes: diagram.Changes


def compare(session: Session, actor: Actor, left_id: int, right_id: int) -> Comparison:
    left, right = definition(session, actor, left_id), definition(session, actor, right_id)
    if left.process_key != right.process_key:  # every element would read as added: say why instead
        raise Invalid(
            f"Versi yang dibandingkan harus dari proses yang sama: {left.process_key} dan {right.process_key} berbeda",
            [Problem("pilih dua versi dari satu proses", column="kanan")],
        )
    return Comparison(
        left, right, diagram.compare(left.bpmn_xml, right.bpmn_xml, f"versi {left.version}", f"versi {right.version}")
    )


def diagram_xml(session: Session, actor: Actor, definition_id: int) -> str:
    """The diagram of a deployed version, for the viewers on task, instance and compare pages."""
    actor.require_person("Diagram dibuka oleh pengguna")
    workers_only = Scope.administering(actor).empty and Scope.auditing(actor).empty
    if workers_only and not _used_in_scope(session, actor, definition_id):
        raise NotFound(f"Definisi proses {definition_id} tidak ada")
    return versions.xml_of(session, definition_id)


@dataclass
class MigrationPlan:
    """The page's view of moving instances from one version to another."""

    source: ProcessDefinition
    target: ProcessDefinition
    proposal: migration.Mapping
    old_elements: list[tuple[str, str]]  # (id, name) of the source version's elements
    new_elements: list[tuple[str, str]]
    instances: int


def _version(session: Session, process_key: str, version: int) -> ProcessDefinition:
    found = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.version == version
        )
    )
    if found is None:
        raise NotFound(f"Proses {process_key!r} tidak punya versi {version}")
    return found


def _named(parsed: definitions.ParsedDefinition) -> list[tuple[str, str]]:
    return sorted((key, spec.bpmn_name or "") for key, spec in migration.elements(parsed).items())


def migration_plan(session: Session, actor: Actor, process_key: str, source: int, target: int) -> MigrationPlan:
    """The proposed mapping between two versions and how many instances run on the source."""
    _changing(actor)
    if source == target:
        raise Invalid("Versi asal dan tujuan sama; pilih dua versi yang berbeda")
    old, new = _version(session, process_key, source), _version(session, process_key, target)
    old_parsed, new_parsed = definitions.parsed_by_id(session, old.id), definitions.parsed_by_id(session, new.id)
    running = session.scalar(
        select(func.count()).where(
            ProcessInstance.definition_id == old.id, ProcessInstance.status == InstanceStatus.BERJALAN
        )
    )
    return MigrationPlan(
        old, new, migration.propose(old_parsed, new_parsed), _named(old_parsed), _named(new_parsed), running or 0
    )


@dataclass
class MigrationReport:
    dry_run: bool
    results: list[migration.InstanceResult] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def refused(self) -> int:
        return sum(not r.ok for r in self.results)


def migrate_instances(
    db: Database,
    actor: Actor,
    process_key: str,
    source: int,
    target: int,
    mapping: migration.Mapping | None = None,
    dry_run: bool = False,
) -> MigrationReport:
    """Move every running instance of version `source` to version `target` (forward or back).

    A job in form: each instance is its own transaction under its lock, all or nothing, audited;
    a dry run writes nothing and reports the same per-instance results. Without a mapping the
    proposal (same ids, then alignment, then names) is used.
    """
    with db.transaction() as session:
        chosen = migration_plan(session, actor, process_key, source, target)
        source_id, target_id = chosen.source.id, chosen.target.id
        proposal = chosen.proposal
        ids = session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.definition_id == source_id, ProcessInstance.status == InstanceStatus.BERJALAN)
            .order_by(ProcessInstance.id)
        ).all()
    # an empty target unmaps a step (the page's "not mapped"): an instance that needs it is refused
    full = {**proposal, **(mapping or {})}
    unknown = [
        Problem(f"langkah {k!r} tidak ada di versi {source}", element=k)
        for k in (mapping or {})
        if k not in dict(chosen.old_elements)
    ]
    unknown += [
        Problem(f"langkah {v!r} tidak ada di versi {target}", element=v)
        for v in (mapping or {}).values()
        if v and v not in dict(chosen.new_elements)
    ]
    if unknown:
        raise Invalid("Peta langkah menyebut langkah yang tidak ada", unknown)
    report = MigrationReport(dry_run)
    for instance_id in ids:
        try:
            with db.transaction() as session:
                report.results.append(
                    migration.move_instance(session, actor, instance_id, (source_id, target_id), full, dry_run)
                )
        except (Invalid, Conflict) as exc:
            problems = exc.problems if isinstance(exc, Invalid) else [Problem(str(exc))]
            with db.read() as session:
                key = session.scalar(select(ProcessInstance.business_key).where(ProcessInstance.id == instance_id))
            report.results.append(migration.InstanceResult(instance_id, key or "", False, problems=list(problems)))
    return report


def stuck_instances(session: Session, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Running instances whose last step failed, newest failure first, with the error."""
    _changing(actor)
    rows = session.execute(
        select(ProcessInstance, ProcessDefinition.process_key, ProcessDefinition.version)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.failed_at.is_not(None), ProcessInstance.status == InstanceStatus.BERJALAN)
        .order_by(ProcessInstance.failed_at.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": i.id,
            "business_key": i.business_key,
            "definition_id": i.definition_id,
            "process_key": key,
            "version": version,
            "failed_at": i.failed_at,
            "last_error": i.last_error,
        }
        for i, key, version in rows
    ]


def retry_instance(session: Session, actor: Actor, instance_id: int) -> None:
    """Run a stuck instance's due steps again, on its (possibly migrated or fixed) version; audited.

    A failure again is a refusal: nothing is written, and the instance stays listed.
    """
    _changing(actor)
    try:
        with session.begin_nested():
            running = runtime.load(session, actor, instance_id)
            runtime.merge_missed_children(running)
            runtime.fire_timers(running)
            runtime.save(running)
    except SijoskuError:
        raise
    except Exception as exc:  # the diagram's fault, told to the admin rather than a 500
        raise Invalid(
            "Langkah instans masih gagal; perbaiki definisinya, kembalikan ke versi sebelumnya, "
            "atau pindahkan instansnya",
            [Problem(f"{type(exc).__name__}: {exc}"[:500])],
        ) from exc
    audit.record(session, actor, AuditAction.INSTANCE_RETRIED, "process_instance", instance_id, instance_id=instance_id)


def _used_in_scope(session: Session, actor: Actor, definition_id: int) -> bool:
    """Some instance of this version runs in a region the person works in (administrators and auditors
    read every version's diagram without asking)."""
    working = Scope.working(actor)
    if working.empty:
        return False
    query = select(ProcessInstance.id).where(
        ProcessInstance.definition_id == definition_id, working.where(ProcessInstance.region_kode)
    )
    return session.scalar(query.limit(1)) is not None
