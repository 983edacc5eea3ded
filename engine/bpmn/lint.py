"""Checking a diagram before it is deployed, in words an administrator understands.

Each finding names its BPMN element (but for a diagram with no start event) and has a severity: an
error refuses the deploy, a warning is shown and must be confirmed. The checks read the XML only
(structure, diagram geometry, expressions); `definitions.validate` runs them before SpiffWorkflow
parses the diagram.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn import limits, sandbox
from engine.bpmn.diagram import NS, attribute, label, nodes
from engine.bpmn.diagram import kind as _kind
from engine.bpmn.sandbox import SandboxError
from engine.core.errors import Problem, phrase
from models import Severity

FLOW_NODES = (
    "task userTask serviceTask scriptTask manualTask businessRuleTask sendTask receiveTask subProcess callActivity "
    "startEvent endEvent intermediateCatchEvent intermediateThrowEvent boundaryEvent "
    "exclusiveGateway parallelGateway inclusiveGateway eventBasedGateway complexGateway"
).split()
LIKE_DURATION = re.compile(r"PT?\d", re.IGNORECASE)  # how an ISO 8601 duration starts
TASKS = {n for n in FLOW_NODES if n.endswith("Task") or n in ("task", "subProcess", "callActivity")}
# Expression-bearing elements: what they are called for a person, and how they are compiled.
EXPRESSIONS = (
    (".//bpmn:conditionExpression", phrase("Kondisi"), "eval"),
    (".//bpmn:loopCondition", phrase("Kondisi pengulangan"), "eval"),
    (".//bpmn:loopCardinality", phrase("Jumlah pengulangan"), "eval"),
    (".//bpmn:completionCondition", phrase("Kondisi selesai pengulangan"), "eval"),
    (".//bpmn:timeDuration|.//bpmn:timeDate|.//bpmn:timeCycle", phrase("Batas waktu"), "timer"),
    (".//bpmn:scriptTask/bpmn:script", phrase("Skrip"), "exec"),
    (".//spiffworkflow:preScript|.//spiffworkflow:postScript", phrase("Skrip"), "exec"),
    (".//spiffworkflow:parameter", phrase("Parameter layanan"), "parameter"),  # its value attribute
)
ERROR, WARNING = Severity.ERROR.value, Severity.WARNING.value


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlap(self, other: Rect) -> float:
        dx = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        dy = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return dx * dy if dx > 0 and dy > 0 else 0.0


def _owner(node: etree._Element | None) -> etree._Element | None:
    """The nearest BPMN element that holds `node` (the flow, task or event)."""
    while node is not None:
        qname = etree.QName(node)
        if node.get("id") and qname.namespace == NS["bpmn"] and not qname.localname.endswith("EventDefinition"):
            return node
        node = node.getparent()
    return None


def _problem(message: str, node: etree._Element | None, severity: str) -> Problem:
    return Problem(message, element=attribute(node, "id") if node is not None else None, severity=severity)


def _flow_nodes(root: etree._Element) -> dict[str, etree._Element]:
    xpath = "|".join(f".//bpmn:process//bpmn:{kind}" for kind in FLOW_NODES)
    return {attribute(n, "id"): n for n in nodes(root, xpath)}


def connection_problems(root: etree._Element) -> list[Problem]:
    """Elements with no flow at all, and elements no start event leads to."""
    found = _flow_nodes(root)
    edges: dict[str, set[str]] = {key: set() for key in found}
    touched: set[str] = set()
    problems = []
    for flow in nodes(root, ".//bpmn:sequenceFlow"):
        source, target = attribute(flow, "sourceRef"), attribute(flow, "targetRef")
        missing = [ref for ref in (source, target) if ref not in found]
        if missing:  # SpiffWorkflow would drop such a flow silently
            names = ", ".join(repr(m) for m in missing)
            problems.append(_problem(f"{label(flow)} menunjuk elemen {names} yang tidak ada di diagram", flow, ERROR))
        edges.setdefault(source, set()).add(target)
        touched |= {source, target}
    for key, node in found.items():
        if _kind(node) == "boundaryEvent":
            edges.setdefault(attribute(node, "attachedToRef"), set()).add(key)
            touched.add(key)
    reached, todo = set(), [k for k, n in found.items() if _kind(n) == "startEvent"]
    if not todo and found:  # said once, rather than every element "not reachable"
        problems.append(_problem("diagram tidak punya peristiwa awal (start event)", None, ERROR))
        reached = set(found)
    while todo:
        key = todo.pop()
        if key not in reached:
            reached.add(key)
            todo.extend(edges.get(key, ()))
    for key, node in found.items():
        if key not in touched:
            problems.append(_problem(f"{label(node)} tidak terhubung dengan alur mana pun", node, ERROR))
        elif key not in reached:
            problems.append(_problem(f"{label(node)} tidak dapat dicapai dari peristiwa awal mana pun", node, ERROR))
        elif not edges.get(key) and _kind(node) != "endEvent":
            # BPMN lets a path end at any element, but a tier's work that leads nowhere is nearly always a
            # flow forgotten: the instance ends there, silently, and the next tier never receives it.
            problems.append(_problem(f"{label(node)} tidak punya alur keluar; proses berakhir di sini", node, WARNING))
    return problems


# Where an instance stops and waits (a person, a message, a timer); a sub-process may hold one.
WAITS = {"task", "userTask", "manualTask", "receiveTask", "subProcess", "callActivity"} | {
    "intermediateCatchEvent",
    "boundaryEvent",
    "eventBasedGateway",
}


def empty_script_problems(root: etree._Element) -> list[Problem]:
    """A script task with no script does nothing: where it replaced a service task (marking a task
    late, say) that work silently stops."""
    return [
        _problem(f"{label(task)} adalah tugas skrip tanpa skrip: tugas ini tidak melakukan apa pun", task, WARNING)
        for task in nodes(root, ".//bpmn:process//bpmn:scriptTask")
        if not "".join(script.text or "" for script in nodes(task, "./bpmn:script")).strip()
    ]


NAME_CHARS = 120  # a step's name heads inbox rows and e-mail subjects (200 characters with the place)


def name_problems(root: etree._Element) -> list[Problem]:
    """A name within bounds, and without control or hidden characters (a line break is a label's own)."""
    found = []
    for node in nodes(root, ".//bpmn:process[@name] | .//bpmn:process//*[@name]"):
        name, which = attribute(node, "name"), attribute(node, "id")
        if len(name) > NAME_CHARS:
            found.append(_problem(f"Nama elemen {which} {len(name)} karakter; paling banyak {NAME_CHARS}", node, ERROR))
        elif not "".join(name.split()).isprintable():
            found.append(_problem(f"Nama elemen {which} berisi karakter kendali atau tersembunyi", node, ERROR))
    return found


def loop_problems(root: etree._Element) -> list[Problem]:
    """A cycle of automatic steps (gateways, service or script tasks) with no person or wait on it:
    an instance that enters it runs round without end and never reaches anyone."""
    found = _flow_nodes(root)
    automatic = {key for key, node in found.items() if _kind(node) not in WAITS}
    ahead: dict[str, set[str]] = {key: set() for key in automatic}
    for flow in nodes(root, ".//bpmn:sequenceFlow"):
        source, target = attribute(flow, "sourceRef"), attribute(flow, "targetRef")
        if source in automatic and target in automatic:
            ahead[source].add(target)
    problems = []
    for cycle in sorted(_cycles(ahead)):
        marked = next((k for k in cycle if _kind(found[k]).endswith("Gateway")), cycle[0])
        steps = ", ".join(label(found[k]) for k in cycle[:5])
        problems.append(
            _problem(
                f"{label(found[marked])} ada di putaran langkah otomatis tanpa tugas orang atau penantian "
                f"({steps}); instans yang masuk berputar tanpa henti: arahkan salah satu alurnya ke tugas orang",
                found[marked],
                ERROR,
            )
        )
    return problems


def _cycles(ahead: dict[str, set[str]]) -> list[list[str]]:
    """The steps that lie on a cycle, one sorted list per group that reach each other (Tarjan's
    strongly connected components, without recursion: linear in steps and flows, where asking each
    step what it reaches took two minutes for a diagram of 20,000 steps)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(ahead):
        if start in order:
            continue
        walk = [(start, iter(sorted(ahead[start])))]
        order[start] = low[start] = len(order)
        stack.append(start)
        on_stack.add(start)
        while walk:
            key, rest = walk[-1]
            following = next(rest, None)
            if following is None:
                walk.pop()
                if walk:
                    low[walk[-1][0]] = min(low[walk[-1][0]], low[key])
                if low[key] == order[key]:
                    group = _pop_group(stack, on_stack, key)
                    if len(group) > 1 or key in ahead[key]:
                        cycles.append(sorted(group))
            elif following not in order:
                order[following] = low[following] = len(order)
                stack.append(following)
                on_stack.add(following)
                walk.append((following, iter(sorted(ahead[following]))))
            elif following in on_stack:
                low[key] = min(low[key], order[following])
    return cycles


def _pop_group(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    group = []
    while True:
        key = stack.pop()
        on_stack.discard(key)
        group.append(key)
        if key == root:
            return group


def _bounds(root: etree._Element) -> dict[str, Rect]:
    dc = "http://www.omg.org/spec/DD/20100524/DC"
    shapes = {}
    for shape in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape"):
        box = shape.find(f"{{{dc}}}Bounds")
        if box is not None:
            try:
                shapes[attribute(shape, "bpmnElement")] = Rect(
                    *(float(box.get(k) or 0) for k in ("x", "y", "width", "height"))
                )
            except ValueError:
                continue
    return shapes


def lane_problems(root: etree._Element) -> list[Problem]:
    """A task drawn across two lanes: its tier is not what a reader of the diagram sees."""
    shapes, found = _bounds(root), _flow_nodes(root)
    lanes = [
        (attribute(lane, "name"), shapes[attribute(lane, "id")])
        for lane in nodes(root, ".//bpmn:lane")
        if attribute(lane, "id") in shapes and not nodes(lane, "./bpmn:childLaneSet")
    ]
    problems = []
    for key, node in found.items():
        if _kind(node) not in TASKS or key not in shapes:
            continue
        crossed = [name for name, rect in lanes if rect.overlap(shapes[key]) > 0]
        if len(crossed) > 1:
            problems.append(
                _problem(
                    f"{label(node)} melintasi lane {' dan '.join(crossed)}; letakkan seluruhnya di dalam satu lane",
                    node,
                    ERROR,
                )
            )
    return problems


def gateway_problems(root: etree._Element) -> list[Problem]:
    """Exclusive and inclusive gateways with several ways out and no default: a case no condition fits stops."""
    problems = []
    ways_out = Counter(attribute(flow, "sourceRef") for flow in nodes(root, ".//bpmn:sequenceFlow"))  # read once
    for gateway in nodes(root, ".//bpmn:exclusiveGateway|.//bpmn:inclusiveGateway"):
        if ways_out[attribute(gateway, "id")] > 1 and not attribute(gateway, "default"):
            problems.append(
                _problem(
                    f"{label(gateway)} tidak punya alur bawaan; bila tidak ada kondisi yang terpenuhi, proses berhenti",
                    gateway,
                    WARNING,
                )
            )
    return problems


def _plain(exc: Exception) -> str:
    """A sandbox refusal in words for a person who does not program."""
    text = str(exc)
    if "sintaks" in text or isinstance(exc, SyntaxError):
        return phrase(
            "penulisannya tidak dapat dibaca; periksa tanda kutip, tanda kurung dan pembanding (==, !=, <, >)"
        )
    if "tidak diizinkan" in text:
        return phrase(f"memakai sesuatu yang tidak diizinkan demi keamanan ({text})")
    return text


def _unreadable_timer(where: str, source: str) -> str:
    """A timer written in words ("tiga hari"): what a duration looks like, not how expressions are written."""
    return phrase(
        f'{where}: "{source}" tidak dapat dibaca sebagai batas waktu; tulis durasi ISO 8601 di antara tanda kutip, '
        'mis. "P3D" untuk 3 hari, "PT12H" untuk 12 jam, atau tanggal "2026-12-31T17:00:00+08:00"'
    )


def _timer_text(source: str) -> str | None:
    """The timer's literal text when it is one ("P14D"), else None (a variable or an expression)."""
    tree = ast.parse(source, mode="eval").body
    return tree.value if isinstance(tree, ast.Constant) and isinstance(tree.value, str) else None


def _written_as_number(source: str) -> bool:
    """A timer written as a bare constant that is not a text (14 meant as days): SpiffWorkflow reads only
    ISO 8601 texts, so every instance would fail when the timer starts."""
    tree = ast.parse(source, mode="eval").body
    return isinstance(tree, ast.Constant) and not isinstance(tree.value, str)


def _unquoted_duration(source: str) -> str | None:
    """A bare name written like a duration (P14D, or the typo P14X): meant as a text, it would be read as a
    variable nothing defines, only warned about, and the instance would fail when its timer starts."""
    tree = ast.parse(source, mode="eval").body
    return tree.id if isinstance(tree, ast.Name) and LIKE_DURATION.match(tree.id) else None


def _timer_problem(where: str, text: str, quoted: bool) -> str | None:
    """What is wrong with a timer's text, or None when it reads as ISO 8601 and is written as a text."""
    try:
        TimerEventDefinition.parse_time_or_duration(text)
    except Exception:  # SpiffWorkflow raises bare exceptions on unreadable texts
        return phrase(
            f'{where}: "{text}" bukan durasi atau tanggal ISO 8601; tulis mis. "P14D" untuk 14 hari, "PT12H" untuk '
            '12 jam, atau "2026-12-31T17:00:00+08:00"'
        )
    try:
        limits.check_timer(text)
    except SandboxError as exc:
        return phrase(f"{where}: {exc}")
    if limits.written_without_zone(text):
        return phrase(f'{where}: waktu "{text}" harus menyebut zonanya, mis. "2026-12-31T17:00:00+08:00" (WITA)')
    return None if quoted else phrase(f'{where}: {text} harus ditulis di antara tanda kutip: "{text}"')


def _names_read(source: str, mode: str) -> tuple[set[str], set[str]]:
    """Names an expression or script reads, and names a script assigns."""
    tree = ast.parse(source, mode=mode)
    read: set[str] = set()
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.comprehension):
            written |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            written |= {a.arg for a in node.args.args}
    return read, written


def _defined_in_diagram(root: etree._Element) -> set[str]:
    names = {attribute(n, "resultVariable") for n in nodes(root, ".//spiffworkflow:serviceTaskOperator")}
    names |= {attribute(n, "name") for n in nodes(root, ".//bpmn:dataObject|.//bpmn:dataObjectReference")}
    names |= {attribute(n, "id") for n in nodes(root, ".//bpmn:dataObject")}
    for kind in ("loopDataInputRef", "loopDataOutputRef", "inputDataItem", "outputDataItem"):
        names |= {(n.text or "").strip() or attribute(n, "name") for n in nodes(root, f".//bpmn:{kind}")}
    for node in nodes(root, ".//bpmn:script|.//spiffworkflow:preScript|.//spiffworkflow:postScript"):
        try:
            names |= _names_read(node.text or "", "exec")[1]
        except SyntaxError:
            continue
    return {n for n in names if n}


def expression_problems(root: etree._Element, known: Iterable[str]) -> list[Problem]:
    """Every expression compiled in the sandbox; timer texts read as ISO 8601; unknown names warned."""
    defined = set(known) | _defined_in_diagram(root) | set(sandbox.SAFE_BUILTINS) | {"True", "False", "None"}
    problems = []
    for xpath, what, mode in EXPRESSIONS:
        for node in nodes(root, xpath):
            owner = _owner(node)
            source = ((node.get("value") if mode == "parameter" else node.text) or "").strip()
            place = label(owner) if owner is not None else "diagram"
            where = phrase(f"{what} pada {place}")
            if not source:
                problems.append(_problem(f"{where} kosong", owner, ERROR))
                continue
            try:
                if mode == "exec":
                    sandbox.compile_script(source)
                else:
                    sandbox.compile_expression(source)
            except (sandbox.SandboxError, SyntaxError, ValueError) as exc:
                if mode == "timer" and (isinstance(exc, SyntaxError) or "sintaks" in str(exc)):  # "tiga hari"
                    problems.append(_problem(_unreadable_timer(where, source), owner, ERROR))
                else:
                    problems.append(_problem(phrase(f"{what} pada {place}: {_plain(exc)}"), owner, ERROR))
                continue
            if mode == "timer":
                if _written_as_number(source):
                    problems.append(_problem(_unreadable_timer(where, source), owner, ERROR))
                    continue
                quoted = _timer_text(source)
                text = quoted if quoted is not None else _unquoted_duration(source)
                if text is not None:
                    if said := _timer_problem(where, text, quoted=quoted is not None):
                        problems.append(_problem(said, owner, ERROR))
                    continue
            read, bound = _names_read(source, "exec" if mode == "exec" else "eval")
            unknown = sorted(read - defined - bound)  # a script's own variables, a comprehension's names
            if unknown:
                problems.append(
                    _problem(
                        f"{where} memakai {', '.join(repr(n) for n in unknown)} yang tidak ditetapkan oleh variabel "
                        "proses atau isian formulir mana pun; periksa ejaannya",
                        owner,
                        WARNING,
                    )
                )
    return problems


def lint(root: etree._Element, known_names: Iterable[str]) -> list[Problem]:
    """Every finding on the diagram, errors first."""
    found = (
        connection_problems(root)
        + loop_problems(root)
        + empty_script_problems(root)
        + lane_problems(root)
        + expression_problems(root, known_names)
        + gateway_problems(root)
        + name_problems(root)
    )
    return sorted(found, key=lambda p: p.severity != ERROR)


def summary(problems: list[Problem]) -> str:
    errors = sum(p.severity == ERROR for p in problems)
    warnings = sum(p.severity == WARNING for p in problems)
    return f"Pemeriksaan diagram: {errors} kesalahan, {warnings} peringatan"
