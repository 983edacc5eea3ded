"""What keeps an administrator's BPMN from running code or unbounded work, beyond the cases the
sandbox's own tests name: each guard is shown to stop what it exists for, and to let through what
it must not stop (a count written on the left, a padding or joining method, a budget of steps and
of CPU time that each work alone, a cardinality computed at run time, versions counted right)."""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from engine.bpmn import limits, lint, sandbox, sandbox_guards, versions
from engine.bpmn.sandbox_guards import Limits
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import NotFound
from models import ProcessDefinition
from tests.factories import approved_everywhere, make_team, open_with_items, refused_when_run, submit

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DEFAULT = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")


# ---------------------------------------------------------------- run-time size guards


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ("n * s", {"n": 200_000, "s": "a"}),  # the count on the left of a text
        ("n * xs", {"n": 200_000, "xs": [0]}),  # and of a list
        ("x ** n", {"x": -10, "n": 100_000}),  # a negative base grows as fast as a positive one
        ("range(n)", {"n": 10**20}),  # a length too big for len() is too big, not nothing
        ("str(x)", {"x": {"k": [[0] * 1000] * 1000}}),  # a dictionary's values are counted deep
        ("'x'.center(n)", {"n": 200_000}),  # every padding method checks its width
        ("b'x'.ljust(n)", {"n": 200_000}),  # bytes as well as text
        ("s.join(parts)", {"s": "a" * 1000, "parts": [""] * 200}),  # the separator, once per part
    ],
)
def test_values_beyond_the_size_limit_are_refused_however_they_are_built(source, context):
    with pytest.raises(sandbox.OverBudget):
        sandbox.evaluate(source, context)


def test_the_same_operations_within_the_limit_give_their_values():
    assert sandbox.evaluate("n * s", {"n": 3, "s": "ab"}) == "ababab"
    assert sandbox.evaluate("x ** n", {"x": -2, "n": 3}) == -8
    assert sandbox.evaluate("'x'.center(5)", {}) == "  x  "
    assert sandbox.evaluate("s.join(parts)", {"s": "-", "parts": ["a", "b"]}) == "a-b"


def test_a_list_extended_beyond_the_limit_is_refused_counting_what_it_held():
    data = {"x": [0] * 60_000, "y": [0] * 60_000}  # each within the limit, together not
    with pytest.raises(sandbox.OverBudget):
        sandbox.execute("x.extend(y)", data)
    small = {"x": [1], "y": [2]}
    sandbox.execute("x.extend(y)", small)
    assert small["x"] == [1, 2]


@pytest.mark.parametrize("render", ["b = f'{a}'", "b = '%s' % (a,)"])
def test_rendering_a_value_counts_its_size_as_str_does(render):
    built = "a = [0]\nfor i in range(n):\n    a = [a, a]\n"
    with pytest.raises(sandbox.OverBudget):
        sandbox.execute(built + "b = str(a)", {"n": 18})  # what str() already does
    with pytest.raises(sandbox.OverBudget):  # 1.8 million characters, 18 times the limit
        sandbox.execute(built + render, {"n": 18})
    small = {"n": 3}
    sandbox.execute(built + render, small)  # a value of ordinary size renders as before
    assert small["b"] == str(small["a"])


# ---------------------------------------------------------------- the budget of steps and of time


def test_the_step_budget_alone_stops_a_long_loop(monkeypatch):
    monkeypatch.setattr(sandbox, "LIMITS", Limits(steps=1_000, seconds=1_000.0))
    with pytest.raises(sandbox.OverBudget, match="langkah"):
        sandbox.execute("t = 0\nfor i in range(n):\n    t += 1", {"n": 5_000})
    data = {"n": 100}
    sandbox.execute("t = 0\nfor i in range(n):\n    t += 1", data)
    assert data["t"] == 100


def test_the_cpu_budget_alone_stops_a_long_loop(monkeypatch):
    monkeypatch.setattr(sandbox, "LIMITS", Limits(steps=10**9, seconds=-1.0))  # already spent
    with pytest.raises(sandbox.OverBudget, match="detik"):
        sandbox.execute("t = 0\nfor i in range(n):\n    t += 1", {"n": 5_000})


def test_a_script_writes_back_data_not_the_functions_it_defined():
    data: dict = {}
    sandbox.execute("f = lambda v: v + 1\ny = f(1)", data)
    assert data == {"y": 2}  # a function in the task data could not be stored


# ---------------------------------------------------------------- limits


def test_a_task_may_start_up_to_a_thousand_instances_and_no_more():
    limits.check_cardinality(0)
    limits.check_cardinality(limits.MOST_INSTANCES)
    for wrong in (limits.MOST_INSTANCES + 1, -1, True, 2.0, "3"):
        with pytest.raises(sandbox.SandboxError, match="sampai 1000"):
            limits.check_cardinality(wrong)


def test_a_cardinality_computed_at_run_time_beyond_the_limit_stops_the_step(db):
    outgoing = "<bpmn:outgoing>f_ke_gw_kecamatan</bpmn:outgoing>"
    many = (
        f"{outgoing}<bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:loopCardinality>1000 + 1</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    )
    assert outgoing in DEFAULT
    refused_when_run(db, DEFAULT.replace(outgoing, many, 1), "sampai 1000")  # not a constant: only the run can tell


# ---------------------------------------------------------------- the diagram check


def _diagram(body: str, process_name: str = "Proses") -> etree._Element:
    return etree.fromstring(
        (
            f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d"><bpmn:process id="p" name="{process_name}" '
            'isExecutable="true"><bpmn:startEvent id="mulai" />'
            '<bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="tugas" />'
            f'{body}<bpmn:sequenceFlow id="f2" sourceRef="tugas" targetRef="selesai" />'
            '<bpmn:endEvent id="selesai" /></bpmn:process></bpmn:definitions>'
        ).encode()
    )


def test_the_check_before_a_deploy_includes_names_and_empty_scripts():
    long_name = _diagram(f'<bpmn:userTask id="tugas" name="{"A" * 121}" />')
    assert [(p.element, p.severity) for p in lint.lint(long_name, set())] == [("tugas", lint.ERROR)]
    assert lint.lint(_diagram(f'<bpmn:userTask id="tugas" name="{"A" * 120}" />'), set()) == []
    empty = _diagram('<bpmn:scriptTask id="tugas" name="Hitung" />')
    assert [(p.element, p.severity) for p in lint.lint(empty, set())] == [("tugas", lint.WARNING)]


def test_the_process_s_own_name_is_bounded_too():
    root = _diagram('<bpmn:userTask id="tugas" name="Periksa" />', process_name="P" * 300)
    assert [(p.element, p.severity) for p in lint.name_problems(root)] == [("p", lint.ERROR)]


def test_a_loop_that_waits_on_a_timer_is_not_an_endless_automatic_loop():
    """A reminder: wait three days, remind, ask again; the wait is what stops it spinning."""
    xml = (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}"><bpmn:process id="p">'
        '<bpmn:exclusiveGateway id="g" name="Sudah dijawab?" />'
        '<bpmn:intermediateCatchEvent id="tunggu" name="Tunggu"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        '<bpmn:serviceTask id="ingatkan" name="Ingatkan" />'
        '<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="tunggu" />'
        '<bpmn:sequenceFlow id="b" sourceRef="tunggu" targetRef="ingatkan" />'
        '<bpmn:sequenceFlow id="c" sourceRef="ingatkan" targetRef="g" />'
        "</bpmn:process></bpmn:definitions>"
    )
    assert lint.loop_problems(etree.fromstring(xml.encode())) == []
    spinning = xml.replace('sourceRef="g" targetRef="tunggu"', 'sourceRef="g" targetRef="ingatkan"')
    assert [p.element for p in lint.loop_problems(etree.fromstring(spinning.encode()))] == ["g"]
    refused = [p for p in lint.lint(etree.fromstring(spinning.encode()), set()) if p.element == "g"]
    assert any("berputar tanpa henti" in p.message and p.severity == lint.ERROR for p in refused)  # at deploy


# ---------------------------------------------------------------- stored versions


def test_a_version_s_running_instances_do_not_count_finished_ones(db):
    team = make_team(db)
    finished = open_with_items(db)
    submit(db, team.operator, finished)
    approved_everywhere(db, team, finished)
    open_with_items(db, desa="65.01.01.2006")  # still running
    with db.read() as session:
        listed = [d for d in versions.list_definitions(session) if d["process_key"] == "verifikasi_berjenjang"]
    assert [(d["version"], d["instances_running"]) for d in listed] == [(1, 1)]


def test_the_diagram_of_a_version_that_does_not_exist_is_not_found(db):
    with db.read() as session:
        first = session.scalar(select(ProcessDefinition.id).order_by(ProcessDefinition.id))
        assert versions.xml_of(session, first).startswith("<?xml")
        with pytest.raises(NotFound):
            versions.xml_of(session, 99_999)


@pytest.mark.parametrize("copy", ["list(r)", "sorted(r)", "tuple(r)", "set(r)", "[*r]"])
def test_a_copy_made_in_one_call_counts_in_what_an_evaluation_builds(copy):
    """Each copy of an allowed range is within the bound, but copied again and again in a
    comprehension they would fill the memory before the CPU budget is spent."""
    with pytest.raises(sandbox.OverBudget, match="terlalu banyak nilai dibuat"):
        sandbox.execute(f"r = range(100000)\nx = [{copy} for i in r]", {})
    data: dict = {}
    sandbox.execute(f"r = range(3)\nx = {copy}", data)
    assert sorted(data["x"]) == [0, 1, 2]


def test_a_script_asks_whether_a_value_is_a_list_or_a_text():
    data = {"a": "teks", "b": [1]}
    sandbox.execute(
        "c = isinstance(a, str) and isinstance(b, (list, dict)) and not isinstance(a, list)\nfirst, *rest = [1, 2, 3]",
        data,
    )
    assert data["c"] is True and data["rest"] == [2, 3]


DOUBLED = "a = [0]\nfor i in range(18):\n    a = [a, a]\n"  # 2**18 leaves: small in memory, huge as text


@pytest.mark.parametrize("render", ["b = b'%r' % (a,)", "b = b'%a' % (a,)", "b = b'%999999d' % (1,)"])
def test_a_bytes_percent_format_is_sized_as_a_text_one_is(render):
    """`b'%r' % (a,)` renders a structure whole in one C call, as `'%r' % (a,)` does (at depth 40
    it would hang the worker past the CPU budget, which cannot interrupt a C call)."""
    with pytest.raises(sandbox.OverBudget):
        sandbox.execute(DOUBLED + render, {})


COPY_LOOP = (
    "x = list(range(100000))\nd = dict(zip(x, x))\ns = set(x)\nys = []\nfor i in range(25):\n    ys.append({copy})\n"
)


@pytest.mark.parametrize(
    "copy",
    [
        "x[:]",
        "x[::-1]",
        "x.copy()",
        "list(zip(x))",
        "[*enumerate(x)]",
        "dict(zip(x, x))",
        "{**d}",
        "d.copy()",
        "s | s",
        "d | d",
        "s.union(x)",
    ],
)
def test_every_whole_copy_counts_in_what_an_evaluation_builds(copy):
    """`ys.append(list(x))` 25 times (2.5 million elements) is refused by the `made` budget; so is
    the same copy by a slice, a method, `zip`, `**` or `|`, which would fill ~1 GB in a CPU second."""
    sandbox.execute(COPY_LOOP.format(copy="list(x)").replace("range(25)", "range(1)"), {})
    with pytest.raises(sandbox.OverBudget):
        sandbox.execute(COPY_LOOP.format(copy="list(x)"), {})  # the bound as it stands
    with pytest.raises(sandbox.OverBudget):
        sandbox.execute(COPY_LOOP.format(copy=copy), {})


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("b = dict.fromkeys(['x', 'y'], 0)", {"x": 0, "y": 0}),
        ("b = list.copy([1])", [1]),
        ("b = set.union({1}, {2})", {1, 2}),
        ("b = isinstance([], list | tuple)", True),
        ("b = isinstance({}, dict | None)", True),
    ],
)
def test_a_script_that_used_the_types_methods_still_runs(script, expected):
    """The guarded names still stand for their types: their own methods, and unions of types."""
    data: dict = {}
    sandbox.execute(script, data)
    assert data["b"] == expected


def test_a_script_calls_with_what_it_unpacks_and_the_unpacking_counts(monkeypatch):
    data: dict = {"xs": [3, 9, 4], "d": {"a": 1}}
    sandbox.execute("top = max(*xs)\ne = dict(**d, b=2)", data)
    assert data["top"] == 9 and data["e"] == {"a": 1, "b": 2}
    # A smaller total keeps the loops short: the CPU second must not be what stops them.
    monkeypatch.setattr(sandbox_guards, "LIMITS", Limits(made=300_000))
    with pytest.raises(sandbox.OverBudget, match="terlalu banyak nilai dibuat"):
        sandbox.execute("r = list(range(100000))\nx = [max(*r) for i in range(5)]", {})
    with pytest.raises(sandbox.OverBudget, match="terlalu banyak nilai dibuat"):
        keyed = "d = dict.fromkeys(str(list(range(15000))).split(', '), 0)\n"  # 15,000 keys in one line
        sandbox.execute(keyed + "x = [dict(**d) for i in range(25)]", {})
