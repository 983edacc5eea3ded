"""A BPMN condition or script cannot freeze the server: refused at deploy, or stopped by its budget."""

from __future__ import annotations

import pytest
from RestrictedPython import compile_restricted_exec

from engine.bpmn import sandbox


@pytest.mark.parametrize(
    "source",
    [
        "sum(range(10**15))",
        "10**10**10",
        "2 << 10**9",
        "'a' * 10**9",
        "[0] * 10**9",
        "10**9 * (1,)",
        "[[i for i in range(2000)] for j in range(1000)]",
        "max(x for x in range(10**12))",
        "f'{1:>1000000000}'",
        "f'{1:>{n}}'",
        "'%1000000000d' % 1",
        "'%*d' % (n, 1)",
    ],
)
def test_expressions_over_budget_are_refused_at_deploy(source):
    with pytest.raises(sandbox.SandboxError):
        sandbox.compile_expression(source)


@pytest.mark.parametrize(
    "script",
    [
        "while True:\n    pass",
        "x = 0\nwhile x < 10:\n    x += 1",
        "try:\n    a = 1\nexcept Exception:\n    a = 2",
        "t = 0\nfor i in range(10000):\n    for j in range(10000):\n        t += 1",
    ],
)
def test_scripts_over_budget_are_refused_at_deploy(script):
    with pytest.raises(sandbox.SandboxError):
        sandbox.compile_script(script)


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ("sum(range(n))", {"n": 10**15}),  # CPU in one C call
        ("x ** n", {"x": 10, "n": 10**10}),  # memory: a huge integer
        ("x << n", {"x": 1, "n": 10**10}),
        ("x * x", {"x": 2**3000}),
        ("'a' * n", {"n": 10**9}),  # memory: a huge string
        ("[0] * n", {"n": 10**9}),
        ("[[0] * 1000] * n", {"n": 1000}),  # counted deep, not by the outer length
        ("s + s", {"s": "a" * 60_000}),
        ("'x'.ljust(n)", {"n": 10**9}),
        ("'x'.zfill(n)", {"n": 10**9}),
        ("s.replace('a', s)", {"s": "a" * 1000}),
        ("str(x)", {"x": [[0] * 1000] * 1000}),
        ("len([1 for i in range(n) for j in range(n)])", {"n": 100_000}),  # CPU in bytecode
        ("sorted(range(n), key=lambda v: [w for w in range(n)])", {"n": 100_000}),
        ("sum(xs, [])", {"xs": [[1]] * 10}),
        ("len(s.expandtabs(n))", {"s": "\t" * 5000, "n": 99_999}),  # tabs times the tab's width
        ("len(','.join(['a' * n for i in range(3)]))", {"n": 60_000}),
        ("len(s.translate({97: 'b' * n}))", {"s": "a" * 5000, "n": 99_999}),
        ("len(['a' * n for i in range(5000)])", {"n": 99_999}),  # each allowed, all together not
    ],
)
def test_evaluations_over_budget_are_stopped_at_run_time(source, context):
    with pytest.raises(sandbox.SandboxError):
        sandbox.evaluate(source, context)


@pytest.mark.parametrize(
    "script",
    [
        "s = 'ab'\nfor i in range(n):\n    s = s + s",  # doubling
        "s = 'ab'\nfor i in range(n):\n    s += s",
        "a = [0]\nfor i in range(n):\n    a = [a, a]\nb = str(a)",  # shared references
        "t = 0\nfor i in range(n * 1000):\n    for j in range(n * 1000):\n        t += 1",
        "x = [1] * 1000\nfor i in range(n):\n    x.extend(x)",  # doubling a list in place
    ],
)
def test_scripts_over_budget_are_stopped_at_run_time(script):
    with pytest.raises(sandbox.SandboxError):
        sandbox.execute(script, {"n": 80})


def test_a_loop_stored_before_the_deploy_checks_is_stopped_by_the_step_budget():
    """Definitions deployed before the static checks may hold `while True`; the trace hook stops it."""
    code = compile_restricted_exec("while True:\n    pass", sandbox.FILENAME, policy=sandbox._BoundedPolicy).code
    with pytest.raises(sandbox.OverBudget, match="langkah|detik"):
        sandbox._run_bounded(code, sandbox._globals({}))


def test_the_budget_is_per_evaluation_and_ordinary_work_fits():
    data = {"items": list(range(1000))}
    sandbox.execute("total = 0\nfor i in items:\n    total += i\nlabel = 'n=' + str(total)", data)
    assert data["total"] == sum(range(1000)) and data["label"] == "n=499500"
    for _ in range(20):  # budgets do not accumulate across evaluations
        assert sandbox.evaluate("len([i for i in range(20000)])", {}) == 20000


def test_the_tracer_in_place_before_an_evaluation_is_put_back():
    import sys

    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        sandbox.evaluate("1 + 1", {})
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
