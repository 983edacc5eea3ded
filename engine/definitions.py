"""Deploying BPMN process definitions: validation, versions, and the parsed-spec cache."""

from __future__ import annotations

import ast
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from engine import audit, sandbox
from engine.actors import Actor
from engine.errors import Invalid, NotFound, Problem
from engine.handlers import registered_names
from models import ProcessDefinition, ProcessInstance, Tier

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
TIERS = {t.value for t in Tier}
_validator = BpmnValidator()


@dataclass
class ParsedDefinition:
    process_key: str
    nama: str
    spec: Any
    subprocess_specs: dict[str, Any]


def _owner_id(node: etree._Element) -> str | None:
    """The id of the nearest BPMN element that holds `node` (the flow, task or event)."""
    while node is not None:
        qname = etree.QName(node)
        if node.get("id") and qname.namespace == NS["bpmn"] and not qname.localname.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None


def _check_timer(expression: str) -> None:
    sandbox.compile_expression(expression)
    literal = ast.parse(expression, mode="eval").body
    if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
        try:
            TimerEventDefinition.parse_time_or_duration(literal.value)
        except Exception as exc:
            raise sandbox.SandboxError(f"{literal.value!r} bukan durasi atau waktu ISO 8601 "
                                       "(mis. \"P14D\" untuk 14 hari)") from exc


def _expression_problems(root: etree._Element) -> list[Problem]:
    """Compile every condition, timer, script and parameter in the sandbox."""
    checks: list[tuple[str, Any]] = [
        (".//bpmn:conditionExpression", sandbox.compile_expression),
        (".//bpmn:timeDuration|.//bpmn:timeDate|.//bpmn:timeCycle", _check_timer),
        (".//bpmn:scriptTask/bpmn:script", sandbox.compile_script),
        (".//spiffworkflow:preScript|.//spiffworkflow:postScript", sandbox.compile_script),
        (".//bpmn:loopCardinality|.//bpmn:completionCondition", sandbox.compile_expression),
    ]
    problems = []
    for xpath, check in checks:
        for node in root.xpath(xpath, namespaces=NS):
            source = (node.text or "").strip()
            try:
                if not source:
                    raise sandbox.SandboxError("ekspresi kosong")
                check(source)
            except Exception as exc:  # every failure here is a fault in the diagram
                problems.append(Problem(f"{etree.QName(node).localname}: {exc}", element=_owner_id(node)))
    for node in root.xpath(".//spiffworkflow:parameter", namespaces=NS):
        try:
            sandbox.compile_expression(node.get("value") or "None")
        except sandbox.SandboxError as exc:
            problems.append(Problem(f"parameter {node.get('id')}: {exc}", element=_owner_id(node)))
    return problems


def _lane_problems(root: etree._Element) -> list[Problem]:
    return [
        Problem(f"lane {lane.get('name')!r} bukan tingkat; gunakan salah satu dari "
                f"{', '.join(t.value for t in Tier)}", element=lane.get("id"))
        for lane in root.xpath(".//bpmn:lane", namespaces=NS)
        if lane.get("name") not in TIERS
    ]


def _spec_problems(specs: list[Any]) -> list[Problem]:
    handlers = set(registered_names())
    problems = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, UserTask) and task_spec.lane not in TIERS:
                problems.append(Problem("tugas manusia harus berada di lane tingkat "
                                        "(desa, kecamatan, kabupaten, provinsi)", element=task_spec.bpmn_id))
            name = getattr(task_spec, "operation_name", None)
            if isinstance(task_spec, ServiceTask) and name not in handlers:
                problems.append(Problem(f"handler layanan {name!r} tidak terdaftar; yang tersedia: "
                                        f"{', '.join(sorted(handlers))}", element=task_spec.bpmn_id))
    return problems


def _parse_xml(xml: str) -> etree._Element:
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise Invalid("Berkas BPMN bukan XML yang sah", [Problem(str(exc))]) from exc
    try:
        _validator.validate(root)
    except ValidationException as exc:
        raise Invalid("Berkas BPMN tidak sesuai skema BPMN 2.0",
                      [Problem(f"baris {exc.line_number}: {exc}")]) from exc
    return root


def parse_definition(xml: str) -> ParsedDefinition:
    """Parse and validate; raise `Invalid` naming every faulty element."""
    root = _parse_xml(xml)
    problems = _lane_problems(root) + _expression_problems(root)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root)
        executable = [p.get("id") for p in root.xpath("./bpmn:process[@isExecutable='true']", namespaces=NS)]
        if len(executable) != 1:
            raise Invalid("Berkas BPMN harus memuat tepat satu proses yang dapat dijalankan "
                          f"(isExecutable=true); ditemukan {len(executable)}")
        key = executable[0]
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        problems.append(Problem(str(exc).split("\n")[0], element=exc.id or None))
        raise Invalid("Berkas BPMN tidak dapat diurai", problems) from exc
    problems += _spec_problems([spec, *subprocess_specs.values()])
    if problems:
        raise Invalid(f"Definisi BPMN ditolak: {len(problems)} masalah", problems)
    return ParsedDefinition(key, spec.description or key, spec, subprocess_specs)


# Stored versions never change, so a version's parsed spec is shared by every instance on it.
_cache: dict[int, ParsedDefinition] = {}
_cache_lock = threading.Lock()


def parsed(definition: ProcessDefinition) -> ParsedDefinition:
    """The parsed spec of a stored version; parsed once per process, then shared."""
    with _cache_lock:
        hit = _cache.get(definition.id)
        if hit is None:
            hit = _cache[definition.id] = parse_definition(definition.bpmn_xml)
        return hit


def parsed_by_id(session: Session, definition_id: int) -> ParsedDefinition:
    hit = _cache.get(definition_id)
    if hit is not None:
        return hit
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"Definisi proses {definition_id} tidak ada")
    return parsed(definition)


def forget_parsed() -> None:
    """Drop the cache; for a database whose definitions were deleted (tests only)."""
    with _cache_lock:
        _cache.clear()


@dataclass
class DeployResult:
    definition: ProcessDefinition
    created: bool


def deploy(session: Session, actor: Actor, xml: str) -> DeployResult:
    """Store a new version, or return the existing one when the content is unchanged."""
    result = parse_definition(xml)
    digest = hashlib.sha256(xml.encode("utf-8")).hexdigest()
    existing = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_key == result.process_key, ProcessDefinition.sha256 == digest))
    if existing is not None:
        return DeployResult(existing, created=False)
    latest = session.scalar(select(func.max(ProcessDefinition.version))
                            .where(ProcessDefinition.process_key == result.process_key)) or 0
    session.execute(update(ProcessDefinition).where(ProcessDefinition.process_key == result.process_key)
                    .values(is_current=False))
    definition = ProcessDefinition(
        process_key=result.process_key, nama=result.nama, version=latest + 1, bpmn_xml=xml,
        sha256=digest, is_current=True, deployed_by=actor.name,
    )
    session.add(definition)
    session.flush()
    audit.record(session, actor, "DEFINITION_DEPLOYED", "process_definition", definition.id,
                 after={"process_key": definition.process_key, "version": definition.version,
                        "sha256": digest})
    return DeployResult(definition, created=True)


@dataclass(frozen=True)
class VersionRef:
    id: int
    version: int


_CURRENT = select(ProcessDefinition.id, ProcessDefinition.version).where(
    ProcessDefinition.process_key == bindparam("key"), ProcessDefinition.is_current.is_(True))


def current(session: Session, process_key: str) -> VersionRef:
    """The version new instances use."""
    definition = session.execute(_CURRENT, {"key": process_key}).first()
    if definition is None:
        raise NotFound(f"Definisi proses {process_key!r} belum dipasang; jalankan `sijosku init`")
    return VersionRef(definition.id, definition.version)


def list_definitions(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(
        select(ProcessInstance.definition_id, func.count()).where(ProcessInstance.status == "berjalan")
        .group_by(ProcessInstance.definition_id)).all())
    rows = session.scalars(select(ProcessDefinition)
                           .order_by(ProcessDefinition.process_key, ProcessDefinition.version))
    return [{"id": d.id, "process_key": d.process_key, "nama": d.nama, "version": d.version,
             "sha256": d.sha256, "is_current": d.is_current, "deployed_by": d.deployed_by,
             "deployed_at": d.deployed_at.isoformat(), "instances_running": counts.get(d.id, 0)}
            for d in rows]


def xml_of(session: Session, definition_id: int) -> str:
    xml = session.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id))
    if xml is None:
        raise NotFound(f"Definisi proses {definition_id} tidak ada")
    return xml
