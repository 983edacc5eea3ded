"""Conditions and scripts from BPMN, compiled and run under restriction.

SpiffWorkflow would `eval`/`exec` them with full builtins, so whoever edits a diagram could run
code on the server. Here every expression and script is compiled by RestrictedPython (no names
or attributes beginning with `_`, guarded attribute and item access) after an extra check that
refuses imports and the builtins that reach the interpreter. Only a short list of builtins is
available. Domain work belongs in service tasks bound to registered handlers, not in scripts.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr

SAFE_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "len", "list", "max",
        "min", "range", "round", "set", "sorted", "str", "sum", "tuple", "zip", "isinstance",
    )
} | {"True": True, "False": False, "None": None}

# Names that reach the interpreter, the file system or other objects' internals.
FORBIDDEN_NAMES = frozenset({
    "__import__", "breakpoint", "compile", "delattr", "dir", "eval", "exec", "exit", "getattr",
    "globals", "help", "input", "locals", "memoryview", "object", "open", "quit", "setattr",
    "super", "type", "vars", "classmethod", "staticmethod", "property", "bytearray",
})

_GUARDS: dict[str, Any] = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": lambda obj: obj,
}


class SandboxError(ValueError):
    """The expression or script is not allowed; the message says why, in Indonesian."""


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


def _restricted(result: Any) -> CodeType:
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    _check_ast(expression, "eval")
    return _restricted(compile_restricted_eval(expression))


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    _check_ast(script, "exec")
    return _restricted(compile_restricted_exec(script))


def _globals(context: dict[str, Any]) -> dict[str, Any]:
    return {"__builtins__": SAFE_BUILTINS, **_GUARDS, **context}


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    return eval(compile_expression(expression), _globals(context))  # noqa: S307 - restricted code


def execute(script: str, data: dict[str, Any]) -> None:
    """Run a script; the variables it assigns are written back to `data`."""
    namespace = _globals(data)
    exec(compile_script(script), namespace)  # noqa: S102 - restricted code
    for key, value in namespace.items():
        if key == "__builtins__" or key in _GUARDS or callable(value):
            continue
        data[key] = value
