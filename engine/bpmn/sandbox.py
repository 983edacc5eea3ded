"""Conditions and scripts from BPMN, compiled and run under restriction and under a budget.

SpiffWorkflow would `eval`/`exec` them with full builtins, so whoever edits a diagram could run
code on the server. Here every expression and script is compiled by RestrictedPython (no names
or attributes beginning with `_`, guarded attribute and item access) after an extra check that
refuses imports and the builtins that reach the interpreter. Only a short list of builtins is
available. Domain work belongs in service tasks bound to registered handlers, not in scripts.

One bad expression must not hold a row lock or a server worker, so work is bounded twice:
- at deploy, what can be seen in the text is refused: `while` and `try` (a loop the budget must be
  able to stop, and nothing may catch the stop), constant powers, shifts, repetitions and ranges
  beyond the limits, nested loops over constant ranges whose product is beyond the step budget,
  f-string widths beyond the size limit;
- at run time, every evaluation counts its steps (lines run, each loop pass one) and its CPU time
  (a trace hook on the sandboxed frames only), and the operations that build big values in one C call (`**`, `<<`,
  `*`, `+`, `%`, `range`, `str`, padding methods) check the size of what they would build first.
Over budget, `OverBudget` is raised; the step fails and its transaction rolls back.
What no guard foresees, one call into C that runs for ever or crashes, is bounded by the process
the engine runs the sandbox in (`engine.bpmn.sandbox_process`).
"""

from __future__ import annotations

import ast
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec

from engine.bpmn.sandbox_guards import (  # noqa: F401  # the errors and limits are the sandbox's to name
    AST_OPERATORS,
    CHECKS,
    FORBIDDEN_NAMES,
    GUARDS,
    LIMITS,
    OPERATORS,
    SAFE_BUILTINS,
    Limits,
    OverBudget,
    SandboxError,
    check_format,
    counting_made,
    range_length,
    refuse_size,
)

FILENAME = "<bpmn>"  # marks the frames the step budget counts


# ---------------------------------------------------------------- compile-time checks


def _constant_int(node: ast.AST) -> int | None:
    """The value of an integer constant, literal or a bounded sum of them, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant_int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow | ast.Mult | ast.LShift | ast.Add | ast.Sub):
        left, right = _constant_int(node.left), _constant_int(node.right)
        if left is None or right is None:
            return None
        symbol = AST_OPERATORS.get(type(node.op), "-")
        if symbol in CHECKS:
            CHECKS[symbol](left, right)
        return int(OPERATORS[symbol](left, right))
    return None


def _constant_range_length(node: ast.AST) -> int | None:
    """How many values `range(<constants>)` yields, when its arguments are constants."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"):
        return None
    values = [_constant_int(arg) for arg in node.args]
    if not values or None in values or len(values) > 3:
        return None
    try:
        return range_length(range(*values))  # type: ignore[arg-type]
    except ValueError:
        return None


def _loop_work(node: ast.AST) -> int:
    """Iterations of the deepest nest of loops over constant ranges in `node`."""
    own = 1
    iterables: list[ast.AST] = []
    if isinstance(node, ast.For):
        iterables = [node.iter]
    elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        iterables = [generator.iter for generator in node.generators]
    for iterable in iterables:
        own *= _constant_range_length(iterable) or 1
    inner = max((_loop_work(child) for child in ast.iter_child_nodes(node)), default=1)
    return own * inner


def _check_budget_statically(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.While):
            raise SandboxError("perulangan while tidak diizinkan; gunakan for atas data yang terbatas")
        if isinstance(node, ast.Try | ast.TryStar):
            raise SandboxError("try/except tidak diizinkan")
        if isinstance(node, ast.BinOp):
            _constant_int(node)  # raises OverBudget on a huge constant power, shift or repetition
            if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
                check_format(node.left.value, None)
            if isinstance(node.op, ast.Mult):
                _check_constant_repeat(node.left, node.right)
                _check_constant_repeat(node.right, node.left)
        length = _constant_range_length(node)
        if length is not None:
            refuse_size(length)
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            _check_format_spec(node.format_spec)
    if _loop_work(tree) > LIMITS.steps:
        raise OverBudget(f"perulangan bersarang melebihi {LIMITS.steps} langkah")


def _check_constant_repeat(sequence: ast.AST, count: ast.AST) -> None:
    """`"ab" * 10**9` and `[0] * 10**9`, seen in the text."""
    times = _constant_int(count)
    if times is None or times <= 1:
        return
    if isinstance(sequence, ast.Constant) and isinstance(sequence.value, str | bytes):
        refuse_size(len(sequence.value) * times)
    elif isinstance(sequence, ast.List | ast.Tuple):
        refuse_size(max(1, len(sequence.elts)) * times)


def _check_format_spec(spec: ast.AST) -> None:
    for part in ast.walk(spec):
        if isinstance(part, ast.FormattedValue):
            raise SandboxError("format f-string yang dihitung tidak diizinkan")
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            for digits in re.findall(r"\d+", part.value):
                refuse_size(int(digits))


def _check_ast(source: str, mode: str) -> None:
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise SandboxError(f"sintaks Python tidak sah: {exc.msg} (baris {exc.lineno})") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise SandboxError("impor modul tidak diizinkan")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise SandboxError(f"nama {node.id!r} tidak diizinkan")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise SandboxError(f"atribut {node.attr!r} tidak diizinkan")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise SandboxError(f"nama {node.id!r} tidak diizinkan")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            # Blocks format-string and getattr-by-name tricks that reach dunder attributes.
            raise SandboxError("teks yang berisi '__' tidak diizinkan")
    _check_budget_statically(tree)


class _BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with the operators that can build huge values sent through `_binop_`."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = AST_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name(id="_binop_", ctx=ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """`f"{a}"` renders `a` in one C call the step budget cannot interrupt: sized first, as `str(a)`."""
        node = self.node_contents_visit(node)
        node.value = _guarded("_rendered_", node.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> Any:
        """`{**d}` copies `d` whole in one C call: counted first, as `dict(d)` is."""
        node = self.node_contents_visit(node)
        node.values = [
            value if key is not None else _guarded("_copied_", value)
            for key, value in zip(node.keys, node.values, strict=True)
        ]
        return node

    def visit_Starred(self, node: ast.Starred) -> Any:
        """`[*r]` copies `r` whole in one C call: counted first, as `list(r)` is."""
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _guarded("_copied_", node.value)
        return node


def _guarded(guard: str, value: ast.expr) -> ast.expr:
    """`value` passed through the guard `guard` (one of `sandbox_guards.GUARDS`) before it is used."""
    call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[value], keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, value))


def _restricted(result: Any) -> CodeType:
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    with _not_too_deep():
        _check_ast(expression, "eval")
        return _restricted(compile_restricted_eval(expression, FILENAME, policy=_BoundedPolicy))


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    with _not_too_deep():
        _check_ast(script, "exec")
        return _restricted(compile_restricted_exec(script, FILENAME, policy=_BoundedPolicy))


@contextmanager
def _not_too_deep() -> Iterator[None]:
    """Python's parser and compiler recurse on a nested expression: `1+1+…` of a hundred thousand
    terms (200 KB, within a diagram's size) exhausts the stack. It is refused as any bad script is."""
    try:
        yield
    except (RecursionError, MemoryError) as exc:
        raise SandboxError(
            "ekspresi atau skrip terlalu panjang atau terlalu bersarang: pecah menjadi beberapa baris"
        ) from exc


# ---------------------------------------------------------------- run-time budget


class _StepBudget:
    """Counts the lines run by sandboxed frames (a loop's every pass is one, even on one line) and
    watches the CPU time of this thread: time spent waiting for the processor is not charged."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.deadline = time.thread_time() + limits.seconds

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None
        return self.on_step

    def on_step(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.steps += 1
            if self.steps > self.limits.steps:
                raise OverBudget(f"ekspresi melebihi {self.limits.steps} langkah")
            # The clock is read on every line: one line may be a second of work in C.
            if time.thread_time() > self.deadline:
                raise OverBudget(f"ekspresi memakai lebih dari {self.limits.seconds} detik CPU")
        return self.on_step


def _run_bounded(code: CodeType, namespace: dict[str, Any]) -> Any:
    previous = sys.gettrace()
    sys.settrace(_StepBudget(LIMITS).on_call)
    try:
        with counting_made():
            return eval(code, namespace)  # noqa: S307 - restricted, bounded code
    finally:
        sys.settrace(previous)


def _globals(context: dict[str, Any]) -> dict[str, Any]:
    return {"__builtins__": SAFE_BUILTINS, **GUARDS, **context}


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    return _run_bounded(compile_expression(expression), _globals(context))


def execute(script: str, data: dict[str, Any]) -> None:
    """Run a script; the variables it assigns are written back to `data`."""
    namespace = _globals(data)
    _run_bounded(compile_script(script), namespace)
    for key, value in namespace.items():
        if key == "__builtins__" or key in GUARDS or callable(value):
            continue
        data[key] = value
