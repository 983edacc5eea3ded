"""The BPMN sandbox: what may run, and what is refused before it can."""

from __future__ import annotations

import pytest

from engine.bpmn import sandbox


def test_conditions_see_task_data():
    assert sandbox.evaluate('keputusan == "kembalikan"', {"keputusan": "kembalikan"}) is True
    assert sandbox.evaluate('hasil["lolos"] and len(items) > 1', {"hasil": {"lolos": True}, "items": [1, 2]})


def test_scripts_write_their_variables_back():
    data = {"a": 2}
    sandbox.execute("b = a * 3\nc = sorted([3, 1, 2])\nfor x in range(2):\n    a = a + x", data)
    assert data == {"a": 3, "b": 6, "c": [1, 2, 3], "x": 1}


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "().__class__",
        "x.__dict__",
        "getattr(x, 'y')",
        "eval('1')",
        "exec('1')",
        "open('/etc/passwd')",
        "globals()",
        "vars()",
        "type(x)",
        "'{0.__class__}'.format(x)",
        "_x",
        "compile('1', 'f', 'eval')",
        "breakpoint()",
    ],
)
def test_escapes_are_refused_at_compile_time(source):
    with pytest.raises(sandbox.SandboxError):
        sandbox.compile_expression(source)


@pytest.mark.parametrize("script", ["import os", "from os import path", "import importlib as i"])
def test_imports_are_refused(script):
    with pytest.raises(sandbox.SandboxError, match="impor"):
        sandbox.compile_script(script)


def test_str_format_is_refused_at_run_time():
    with pytest.raises(NotImplementedError):
        sandbox.evaluate("'{}'.format(x)", {"x": 1})


def test_builtins_outside_the_list_are_not_there():
    with pytest.raises(NameError):
        sandbox.evaluate("hash(1)", {})


def test_syntax_errors_name_the_line():
    with pytest.raises(sandbox.SandboxError, match="baris 2"):
        sandbox.compile_script("a = 1\nb = (")
