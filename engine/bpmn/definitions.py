"""Deploying BPMN process definitions: validation, versions, and the parsed-spec cache.

A definition is validated before anything is stored, and every problem in a readable BPMN file names
its BPMN element.
Stored versions never change; a version's parsed spec is cached by its content hash and shared by
every instance on it.
"""

from __future__ import annotations

import ast
import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from engine.bpmn import diagram, limits, lint, parsed_specs, sandbox
from engine.bpmn.diagram import NS, attribute, nodes
from engine.bpmn.handlers import handler_names
from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NeedsConfirmation, NotFound, Problem, phrase
from engine.core.registry import registry_of
from models import (
    LANE_ROLES,
    ROLE_TIERS,
    AuditEvent,
    ProcessDefinition,
    Severity,
    Tier,
    parse_lane,
)

_validator = BpmnValidator()


@dataclass
class ParsedDefinition:
    process_key: str
    nama: str
    spec: Any
    subprocess_specs: dict[str, Any]
    # Its sequence flows, read once with the spec: a task page draws the path taken on every request.
    flows: tuple[diagram.Flow, ...]


def _owner_id(node: etree._Element | None) -> str | None:
    """The id of the nearest BPMN element that holds `node` (the flow, task or event)."""
    while node is not None:
        qname = etree.QName(node)
        if node.get("id") and qname.namespace == NS["bpmn"] and not qname.localname.endswith("EventDefinition"):
            return attribute(node, "id")
        node = node.getparent()
    return None


def _literal(expression: str) -> Any:
    """The value of an expression written as a plain constant, else None (computed when it runs)."""
    node = ast.parse(expression, mode="eval").body
    return node.value if isinstance(node, ast.Constant) else None


def _check_timer(expression: str) -> None:
    sandbox.compile_expression(expression)
    value = _literal(expression)
    if isinstance(value, str):
        limits.check_timer(value)


def _check_cardinality(expression: str) -> None:
    sandbox.compile_expression(expression)
    value = _literal(expression)
    if value is not None:
        limits.check_cardinality(value)


def _expression_problems(root: etree._Element) -> list[Problem]:
    """Compile every condition, timer, script and parameter in the sandbox."""
    checks: list[tuple[str, Any]] = [
        (".//bpmn:conditionExpression", sandbox.compile_expression),
        (".//bpmn:timeDuration|.//bpmn:timeDate|.//bpmn:timeCycle", _check_timer),
        (".//bpmn:scriptTask/bpmn:script", sandbox.compile_script),
        (".//spiffworkflow:preScript|.//spiffworkflow:postScript", sandbox.compile_script),
        (".//bpmn:loopCardinality", _check_cardinality),
        (".//bpmn:completionCondition", sandbox.compile_expression),
    ]
    problems = []
    for xpath, check in checks:
        for node in nodes(root, xpath):
            source = (node.text or "").strip()
            try:
                if not source:
                    raise sandbox.SandboxError("ekspresi kosong")
                check(source)
            except Exception as exc:  # every failure here is a fault in the diagram
                problems.append(Problem(f"{etree.QName(node).localname}: {exc}", element=_owner_id(node)))
    for node in nodes(root, ".//spiffworkflow:parameter"):
        try:
            sandbox.compile_expression(node.get("value") or "None")
        except sandbox.SandboxError as exc:
            problems.append(Problem(f"parameter {node.get('id')}: {exc}", element=_owner_id(node)))
    return problems


LANE_HINT = phrase(
    f"gunakan tingkat ({', '.join(t.value for t in Tier)}) atau peran di tingkat "
    f"({', '.join(f'{tier.value}:{role.value}' for role in sorted(LANE_ROLES) for tier in sorted(ROLE_TIERS[role]))})"
)


def known_lane(name: str | None) -> bool:
    try:
        parse_lane(name)
    except ValueError:
        return False
    return True


def _lane_problem(name: str | None) -> str | None:
    try:
        parse_lane(name)
    except ValueError as exc:
        return phrase(f"lane {name!r} tidak dikenal ({exc}); {LANE_HINT}")
    return None


def _lane_problems(root: etree._Element) -> list[Problem]:
    found = ((lane, _lane_problem(attribute(lane, "name"))) for lane in nodes(root, ".//bpmn:lane"))
    return [Problem(problem, element=attribute(lane, "id")) for lane, problem in found if problem]


def _task_specs(parsed: ParsedDefinition) -> list[Any]:
    return [t for spec in (parsed.spec, *parsed.subprocess_specs.values()) for t in spec.task_specs.values()]


def _lane_of_tasks(parsed: ParsedDefinition) -> list[Problem]:
    return [
        Problem(f"tugas manusia harus berada di lane yang dikenal: {LANE_HINT}", element=t.bpmn_id)
        for t in _task_specs(parsed)
        if isinstance(t, UserTask) and not known_lane(t.lane)
    ]


def handler_problems(parsed: ParsedDefinition, handlers: list[str]) -> list[Problem]:
    """Service tasks that name no registered handler."""
    return [
        Problem(
            f"handler layanan {t.operation_name!r} tidak terdaftar; yang tersedia: {', '.join(handlers)}",
            element=t.bpmn_id,
        )
        for t in _task_specs(parsed)
        if isinstance(t, ServiceTask) and t.operation_name not in handlers
    ]


_DECLARED_ENCODING = re.compile(r"""\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']*)["']""")


def _parse_xml(xml: str) -> etree._Element:
    declared = _DECLARED_ENCODING.match(xml[:500])
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        # the text arrives as Unicode and is parsed as UTF-8: another declared encoding garbles its names
        raise Invalid(
            "Berkas BPMN harus ditulis dalam UTF-8",
            [Problem(f"deklarasi encoding={declared.group(1)[:20]!r}; simpan berkas sebagai UTF-8")],
        )
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise Invalid("Berkas BPMN bukan XML yang sah", [Problem(str(exc))]) from exc
    try:
        _validator.validate(root)
    except ValidationException as exc:
        raise Invalid("Berkas BPMN tidak sesuai skema BPMN 2.0", [Problem(f"baris {exc.line_number}: {exc}")]) from exc
    return root


def parse_definition(xml: str) -> ParsedDefinition:
    """Parse and validate the diagram on its own; raise `Invalid` naming every faulty element."""
    root = _parse_xml(xml)
    problems = _lane_problems(root) + _expression_problems(root)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root)
        executable = [attribute(p, "id") for p in nodes(root, "./bpmn:process[@isExecutable='true']")]
        if len(executable) != 1:
            raise Invalid(
                "Berkas BPMN harus memuat tepat satu proses yang dapat dijalankan "
                f"(isExecutable=true); ditemukan {len(executable)}"
            )
        key = executable[0]
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        said = parsed_specs.parser_words(str(exc).split("\n")[0])
        problems.append(Problem(said, element=exc.id or None, severity=Severity.ERROR.value))
        # the file was read: what SpiffWorkflow refuses is the diagram, said as the other checks say it
        raise Invalid(f"Definisi BPMN ditolak: {len(problems)} masalah", problems) from exc
    parsed_specs.tie_loop_children(spec, *subprocess_specs.values())
    parsed = ParsedDefinition(key, spec.description or key, spec, subprocess_specs, diagram.sequence_flows(root))
    problems += _lane_of_tasks(parsed)
    if problems:
        raise Invalid(f"Definisi BPMN ditolak: {len(problems)} masalah", problems)
    return parsed


_cache: dict[str, ParsedDefinition] = {}  # by content hash: the same content parses the same
_cache_lock = threading.Lock()


def _digest(xml: str) -> str:
    return hashlib.sha256(xml.encode("utf-8")).hexdigest()


def parsed(definition: ProcessDefinition) -> ParsedDefinition:
    """The parsed spec of a stored version; parsed once per content, then shared."""
    with _cache_lock:
        hit = _cache.get(definition.sha256)
        if hit is None:
            hit = _cache[definition.sha256] = parse_definition(definition.bpmn_xml)
        return hit


_XML_BY_SHA = select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.sha256 == bindparam("sha")).limit(1)
_SHA_OF = select(ProcessDefinition.sha256).where(ProcessDefinition.id == bindparam("definition_id"))


def forget_parsed() -> None:
    """Drop every parsed spec, as a process that has just started holds none."""
    with _cache_lock:
        _cache.clear()


def parsed_by_sha(session: Session, sha: str) -> ParsedDefinition:
    """The parsed spec of the stored content with this hash (the hot path: no query when cached)."""
    hit = _cache.get(sha)
    if hit is not None:
        return hit
    xml = session.scalar(_XML_BY_SHA, {"sha": sha})
    if xml is None:
        raise NotFound(f"Definisi proses dengan isi {sha[:12]} tidak ada")
    with _cache_lock:
        return _cache.setdefault(sha, parse_definition(xml))


def parsed_by_id(session: Session, definition_id: int) -> ParsedDefinition:
    sha = session.scalar(_SHA_OF, {"definition_id": definition_id})
    if sha is None:
        raise NotFound(f"Definisi proses {definition_id} tidak ada")
    return parsed_by_sha(session, sha)


@dataclass
class DeployResult:
    definition: ProcessDefinition
    created: bool
    reactivated: bool = False  # the content was an earlier version's, which is current again
    previous_version: int | None = None  # the version that was current before
    warnings: list[Problem] = field(default_factory=list)


def validate(session: Session, xml: str, known_names: Iterable[str] = ()) -> tuple[ParsedDefinition, list[Problem]]:
    """The diagram linted, parsed and checked against this application's registered handlers.

    Errors refuse it (`Invalid`); the warnings are returned for the person to confirm.
    """
    findings = lint.lint(_parse_xml(xml), {*known_names, *registry_of(session).variables})
    if any(p.severity == lint.ERROR for p in findings):
        raise Invalid(f"Definisi BPMN ditolak. {lint.summary(findings)}", findings)
    result = parse_definition(xml)
    problems = handler_problems(result, handler_names(session))
    if problems:
        raise Invalid(f"Definisi BPMN ditolak: {len(problems)} masalah", problems)
    return result, findings


def _current_version(session: Session, process_key: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.is_current.is_(True)
        )
    )


def _make_current(session: Session, actor: Actor, definition: ProcessDefinition, how: str) -> int | None:
    """Point new instances at `definition`; audited with the version it replaces."""
    before = _current_version(session, definition.process_key)
    previous = before.version if before is not None else None
    session.execute(
        update(ProcessDefinition)
        .where(ProcessDefinition.process_key == definition.process_key)
        .values(is_current=ProcessDefinition.id == definition.id)
    )
    session.refresh(definition)
    audit.record(
        session,
        actor,
        AuditAction.DEFINITION_ACTIVATED,
        "process_definition",
        definition.id,
        before={"version": previous},
        after={"process_key": definition.process_key, "version": definition.version, "cara": how},
    )
    return previous


def _chosen_by(session: Session, definition: ProcessDefinition) -> str:
    """Who made `definition` the current version: the last deploy or activation of it on the audit
    chain (its deployer, where the chain holds neither)."""
    chosen = session.scalar(
        select(AuditEvent.actor)
        .where(
            AuditEvent.subject_type == "process_definition",
            AuditEvent.subject_id == str(definition.id),
            AuditEvent.action.in_([AuditAction.DEFINITION_DEPLOYED, AuditAction.DEFINITION_ACTIVATED]),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return chosen or definition.deployed_by


def _lock_versions(session: Session, process_key: str) -> None:
    """The process's stored versions, locked in id order: a deploy and an activation of one process
    take turns, so each reads which version is current and the next number as the other left them
    (two deploys at once gave one version number twice, a deploy and a rollback two current versions)."""
    session.execute(
        select(ProcessDefinition.id)
        .where(ProcessDefinition.process_key == process_key)
        .order_by(ProcessDefinition.id)
        .with_for_update()
    ).all()


def activate(session: Session, actor: Actor, process_key: str, version: int) -> DeployResult:
    """Make a stored version the one new instances use: a rollback, or forward again."""
    _lock_versions(session, process_key)
    found = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.version == version
        )
    )
    if found is None:
        raise NotFound(f"Proses {process_key!r} tidak punya versi {version}")
    if found.is_current:
        return DeployResult(found, created=False, previous_version=version)
    previous = _make_current(session, actor, found, "aktifkan")
    return DeployResult(found, created=False, reactivated=True, previous_version=previous)


def _overtaken(current: ProcessDefinition | None, based_on: int | None) -> list[Problem]:
    """The diagram was edited from a version that is no longer the current one: deploying it would undo
    what the current version changed (another admin's deploy meanwhile, or an old version reopened)."""
    if based_on is None or current is None or current.version == based_on:
        return []
    return [
        Problem(
            f"Diagram ini diubah dari versi {based_on}, sedangkan yang dipakai sekarang versi {current.version} "
            f"(dipasang oleh {current.deployed_by or '-'}); memasangnya membatalkan perubahan versi "
            f"{current.version}. Buka versi {current.version} di editor bila perubahan itu harus tetap ada.",
            severity=lint.WARNING,
        )
    ]


def deploy(
    session: Session,
    actor: Actor,
    xml: str,
    known_names: Iterable[str] = (),
    confirmed: bool = False,
    based_on: int | None = None,
    for_process: str | None = None,
    shipped: bool = False,
) -> DeployResult:
    """Store a new version; content identical to a stored version makes that version current.

    A `shipped` diagram (`sijosku init`, as every node starts) leaves an administrator's choice alone:
    it moves the current version only where `init` made that one current (a new release's diagram, or
    the release rolled back to); beside a version an administrator deployed or activated, new content
    waits in the list to be chosen and stored content changes nothing.

    Warnings from the lint, and a diagram edited from a version that is no longer current (`based_on`),
    refuse the deploy with `NeedsConfirmation` unless `confirmed`; content already stored was
    confirmed when it was first deployed, and its warnings are not asked about again. A diagram
    edited as one process (`for_process`) is refused when its XML names another: it would replace
    that one unasked.
    """
    result, warnings = validate(session, xml, known_names)
    if for_process is not None and result.process_key != for_process:
        raise Invalid(
            f"Diagram ini memasang proses {result.process_key}, bukan {for_process} yang dibuka di editor; "
            "tidak ada yang dipasang",
            [Problem(f"id proses harus tetap {for_process}", element=result.process_key)],
        )
    digest = _digest(xml)
    _lock_versions(session, result.process_key)
    existing = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == result.process_key, ProcessDefinition.sha256 == digest
        )
    )
    before = _current_version(session, result.process_key)
    # a shipped diagram moves the current version only where `init` chose it (a release, or the release
    # rolled back to); never where an administrator deployed or activated one
    moves_current = not shipped or before is None or _chosen_by(session, before) == actor.name
    if existing is not None and (existing.is_current or not moves_current):
        previous = before.version if before is not None else None
        return DeployResult(existing, created=False, previous_version=previous, warnings=warnings)
    overtaken = _overtaken(before, based_on)
    if overtaken and not confirmed:  # a stale tab, edited or not, would undo the newer version
        newer = f"Ada versi yang lebih baru dari yang Anda ubah. {lint.summary(overtaken + warnings)}"
        raise NeedsConfirmation(newer, overtaken + warnings)
    if existing is not None:
        previous = _make_current(session, actor, existing, "isi sama")
        return DeployResult(existing, created=False, reactivated=True, previous_version=previous, warnings=warnings)
    if warnings and not confirmed:
        raise NeedsConfirmation(f"{lint.summary(warnings)}. Periksa, lalu pasang juga bila memang benar.", warnings)
    latest = (
        session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_key == result.process_key)
        )
        or 0
    )
    if moves_current:
        session.execute(
            update(ProcessDefinition)
            .where(ProcessDefinition.process_key == result.process_key)
            .values(is_current=False)
        )
    definition = ProcessDefinition(
        process_key=result.process_key,
        nama=result.nama,
        version=latest + 1,
        bpmn_xml=xml,
        sha256=digest,
        is_current=moves_current,
        deployed_by=actor.name,
    )
    session.add(definition)
    session.flush()
    with _cache_lock:
        _cache.setdefault(digest, result)
    audit.record(
        session,
        actor,
        AuditAction.DEFINITION_DEPLOYED,
        "process_definition",
        definition.id,
        before={"version": before.version} if before is not None else None,  # the version it replaces as current
        after={
            "process_key": definition.process_key,
            "version": definition.version,
            "sha256": digest,
            "peringatan_dikonfirmasi": [str(w) for w in overtaken + warnings],
            **({} if moves_current else {"dipakai": False}),  # an administrator's version stays current
        },
    )
    return DeployResult(
        definition, created=True, previous_version=before.version if before else None, warnings=warnings
    )


@dataclass(frozen=True)
class VersionRef:
    id: int
    version: int
    sha256: str


_CURRENT = select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.sha256).where(
    ProcessDefinition.process_key == bindparam("key"), ProcessDefinition.is_current.is_(True)
)


def current(session: Session, process_key: str) -> VersionRef:
    """The version new instances use."""
    definition = session.execute(_CURRENT, {"key": process_key}).first()
    if definition is None:
        raise NotFound(f"Definisi proses {process_key!r} belum dipasang; jalankan `sijosku init`")
    return VersionRef(definition.id, definition.version, definition.sha256)
