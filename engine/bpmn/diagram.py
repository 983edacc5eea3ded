"""Reading a BPMN diagram's XML: its namespaces, its elements, the flows between elements, and
what changed between two versions. Pure functions of the XML text."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from lxml import etree

from engine.core.errors import phrase

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


def _root(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def nodes(root: etree._Element, xpath: str) -> list[etree._Element]:
    """The elements an XPath in the BPMN namespaces finds."""
    found = root.xpath(xpath, namespaces=NS)
    return [n for n in found if isinstance(n, etree._Element)] if isinstance(found, list) else []


def attribute(node: etree._Element, name: str) -> str:
    return str(node.get(name) or "")


KIND_WORDS = {
    "sequenceFlow": "alur",
    "boundaryEvent": "peristiwa batas",
    "startEvent": "peristiwa awal",
    "endEvent": "peristiwa akhir",
    "intermediateCatchEvent": "peristiwa antara",
    "intermediateThrowEvent": "peristiwa antara",
    "exclusiveGateway": "gerbang",
    "inclusiveGateway": "gerbang",
    "parallelGateway": "gerbang",
    "eventBasedGateway": "gerbang",
    "complexGateway": "gerbang",
    "scriptTask": "tugas skrip",
    "serviceTask": "tugas layanan",
    "userTask": "tugas",
}


def kind(node: etree._Element) -> str:
    return etree.QName(node).localname


def label(node: etree._Element) -> str:
    """How a person knows the element: its name, else its kind and id."""
    name = attribute(node, "name").strip()
    return f"«{name}»" if name else f"{KIND_WORDS.get(kind(node), kind(node))} {attribute(node, 'id')}"


def elements(xml: str) -> dict[str, str]:
    """Each BPMN element of the process by id, as canonical text without its diagram layout."""
    return {
        attribute(node, "id"): etree.tostring(node, method="c14n").decode()
        for node in nodes(_root(xml), ".//bpmn:process//*[@id]")
    }


@dataclass(frozen=True)
class Flow:
    """A sequence flow: its id and the elements it joins."""

    id: str
    source: str
    target: str


def sequence_flows(root: etree._Element) -> tuple[Flow, ...]:
    return tuple(
        Flow(attribute(f, "id"), attribute(f, "sourceRef"), attribute(f, "targetRef"))
        for f in nodes(root, ".//bpmn:sequenceFlow")
    )


def flows_between(flows: tuple[Flow, ...], done: set[str], reached: set[str]) -> list[str]:
    """Sequence flows that leave a completed element towards a reached one: the path taken."""
    return [f.id for f in flows if f.source in done and f.target in reached]


@dataclass(frozen=True)
class Change:
    """One difference a person reads: which step, which property, what it was and what it is."""

    kind: str  # "tambah", "hapus" or "ubah"
    element: str  # BPMN id
    label: str  # the element's name, or its kind and id
    prop: str = ""  # "Batas waktu", "Lane", "Kondisi", ...
    before: str = ""
    after: str = ""

    def __str__(self) -> str:
        if self.kind == "tambah":
            return phrase(f"Langkah baru: {self.label}")
        if self.kind == "hapus":
            return phrase(f"Langkah dihapus: {self.label}")
        return f"{self.label} · {self.prop}: {self.before or '-'} → {self.after or '-'}"


@dataclass
class Changes:
    diff_html: str  # empty when too many lines changed to show side by side
    added: list[str]
    removed: list[str]
    changed: list[str]
    readable: list[Change] = field(default_factory=list)
    lines_changed: int = 0


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def duration_words(text: str) -> str:
    """An ISO 8601 duration in words ("P14D" is "14 hari"); any other text as it is."""
    bare = text.strip().strip("\"'")
    found = _DURATION.match(bare)
    if not found or not any(found.groups()):
        return text.strip()
    names = ["tahun", "bulan", "minggu", "hari", "jam", "menit", "detik"]
    return " ".join(f"{n} {names[i]}" for i, n in enumerate(found.groups()) if n)


def _text(node: etree._Element, xpath: str) -> str:
    found = nodes(node, xpath)
    return " ".join((f.text or "").strip() for f in found)


def _lanes(root: etree._Element) -> dict[str, str]:
    return {
        (ref.text or "").strip(): attribute(lane, "name")
        for lane in nodes(root, ".//bpmn:lane")
        for ref in nodes(lane, "./bpmn:flowNodeRef")
    }


def _properties(node: etree._Element, lanes: dict[str, str]) -> dict[str, str]:
    """What a person may care about in an element, in words."""
    key = attribute(node, "id")
    timer = _text(node, "./bpmn:timerEventDefinition/*")
    operator = nodes(node, "./bpmn:extensionElements/spiffworkflow:serviceTaskOperator")
    return {
        phrase("Nama"): attribute(node, "name"),
        phrase("Lane"): lanes.get(key, ""),
        phrase("Batas waktu"): duration_words(timer) if timer else "",
        phrase("Kondisi"): _text(node, "./bpmn:conditionExpression"),
        phrase("Alur bawaan"): attribute(node, "default"),
        phrase("Dari"): attribute(node, "sourceRef"),
        phrase("Ke"): attribute(node, "targetRef"),
        phrase("Layanan"): attribute(operator[0], "id") if operator else "",
        phrase("Parameter"): ", ".join(
            f"{attribute(p, 'id')}={attribute(p, 'value')}" for p in nodes(node, ".//spiffworkflow:parameter")
        ),
        phrase("Skrip"): _text(node, "./bpmn:script"),
        phrase("Dokumentasi"): _text(node, "./bpmn:documentation"),
        phrase("Pengulangan"): _text(
            node, "./bpmn:standardLoopCharacteristics/*|./bpmn:multiInstanceLoopCharacteristics/*"
        ),
    }


def readable_changes(left_xml: str, right_xml: str) -> list[Change]:
    """What changed between two versions, by element name and property, steps first."""
    left, right = _root(left_xml), _root(right_xml)
    path = ".//bpmn:process/*[@id][not(self::bpmn:laneSet)]"
    a = {attribute(n, "id"): n for n in nodes(left, path)}
    b = {attribute(n, "id"): n for n in nodes(right, path)}
    lanes_a, lanes_b = _lanes(left), _lanes(right)
    found = [Change("tambah", k, label(b[k])) for k in b if k not in a]
    found += [Change("hapus", k, label(a[k])) for k in a if k not in b]
    for key in (k for k in a if k in b):
        before, after = _properties(a[key], lanes_a), _properties(b[key], lanes_b)
        found += [
            Change("ubah", key, label(b[key]), prop, before[prop], after[prop])
            for prop in before
            if before[prop] != after[prop]
        ]
    order = {"tambah": 0, "hapus": 1, "ubah": 2}
    both = {**a, **b}
    return sorted(found, key=lambda c: (order[c.kind], kind(both[c.element]) == "sequenceFlow"))


DIFF_LINE_CHARS = 400  # difflib wraps a long line recursively: a minified export would overflow the stack
DIFF_CHANGED_LINES = 2000
# difflib pairs the lines of a replaced block by similarity, in time growing with the cube of its
# size (50 lines against 50: 0.7 s; 300 against 300: two minutes): the product of each block's sides, summed
DIFF_PAIRING = 2500


def _xml_lines(xml: str) -> list[str]:
    return [line if len(line) <= DIFF_LINE_CHARS else line[:DIFF_LINE_CHARS] + " …" for line in xml.splitlines()]


def xml_diff(left_xml: str, right_xml: str, left_label: str, right_label: str) -> tuple[str, int]:
    """The XML side by side, changed lines only, and how many lines changed; when too many changed to
    pair them quickly, no table (the readable changes say what changed)."""
    left, right = _xml_lines(left_xml), _xml_lines(right_xml)
    blocks = [
        (tag, i2 - i1, j2 - j1)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes()
        if tag != "equal"
    ]
    changed = sum(max(a, b) for _, a, b in blocks)
    pairing = sum(a * b for tag, a, b in blocks if tag == "replace")
    if changed > DIFF_CHANGED_LINES or pairing > DIFF_PAIRING:
        return "", changed
    table = difflib.HtmlDiff(wrapcolumn=90).make_table(left, right, left_label, right_label, context=True, numlines=2)
    return table, changed


def compare(left_xml: str, right_xml: str, left_label: str, right_label: str) -> Changes:
    """Elements added, removed and changed, in words, and the XML side by side (changed lines only)."""
    a, b = elements(left_xml), elements(right_xml)
    table, lines = xml_diff(left_xml, right_xml, left_label, right_label)
    return Changes(
        table,
        lines_changed=lines,
        added=sorted(b.keys() - a.keys()),
        removed=sorted(a.keys() - b.keys()),
        changed=sorted(k for k in a.keys() & b.keys() if a[k] != b[k]),
        readable=readable_changes(left_xml, right_xml),
    )
