"""The limits of a BPMN expression or script and the guards that keep it within them at run time:
the operations that build big values in one C call (`**`, `<<`, `*`, `+`, `%`, `range`, `str`, an
f-string, a copy by `list`, `sorted` and the like or by `*`, padding, `replace`, `expandtabs`, `join`,
`translate`, a list's `extend`) check the size of what they would build first, and what one
evaluation builds is counted all told. Used by `engine.bpmn.sandbox`.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import GeneratorType
from typing import Any

from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)


@dataclass(frozen=True)
class Limits:
    """The work one evaluation may do; see docs/security.md."""

    steps: int = 500_000  # lines run, each pass of a loop counted (comprehensions included)
    seconds: float = 1.0  # CPU time of the evaluating thread
    items: int = 100_000  # characters of a string, elements of a list, tuple, range (counted deep)
    int_bits: int = 4_096  # bits of an integer built by `**`, `<<` or `*`
    made: int = 2_000_000  # characters and elements built by those operations in one evaluation, all told


LIMITS = Limits()


class SandboxError(ValueError):
    """The expression or script is not allowed; the message says why, in Indonesian."""


class OverBudget(SandboxError):
    """An evaluation would do more work than `LIMITS` allows."""


def _builtin(name: str) -> Any:
    return __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)


FORBIDDEN_NAMES = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "help",
        "input",
        "locals",
        "memoryview",
        "object",
        "open",
        "quit",
        "setattr",
        "super",
        "type",
        "vars",
        "classmethod",
        "staticmethod",
        "property",
        "bytearray",
    }
)

# ---------------------------------------------------------------- sizes


_TEXT = (str, bytes)
_COLLECTIONS = (list, tuple, set, frozenset)
_NESTED = frozenset({str, bytes, list, tuple, set, frozenset, dict, range})


def deep_size(value: Any, cap: int) -> int:
    """Characters and elements reachable from `value`, shared ones counted each time, stopping past `cap`."""
    total, pending = 0, [value]
    while pending and total <= cap:
        item = pending.pop()
        kind = type(item)
        if kind in _TEXT:
            total += len(item)
        elif kind is dict:
            total += len(item)
            pending.extend([v for v in (*item.keys(), *item.values()) if type(v) in _NESTED])
        elif kind in _COLLECTIONS:
            total += len(item)
            pending.extend([v for v in item if type(v) in _NESTED])
        elif kind is range:
            total += range_length(item)
        else:
            total += 1
    return total


def range_length(r: range) -> int:
    try:
        return len(r)
    except OverflowError:
        return sys.maxsize


# What the running evaluation has built so far: each value within `items` is allowed, but a
# comprehension of many such values would fill the memory one allowed value at a time.
_made: ContextVar[list[int] | None] = ContextVar("sandbox_made", default=None)


@contextmanager
def counting_made() -> Iterator[None]:
    token = _made.set([0])
    try:
        yield
    finally:
        _made.reset(token)


def refuse_size(size: int) -> None:
    if size > LIMITS.items:
        raise OverBudget(f"nilai terlalu besar: lebih dari {LIMITS.items} unsur atau karakter")
    made = _made.get()
    if made is not None:
        made[0] += size
        if made[0] > LIMITS.made:
            raise OverBudget(f"terlalu banyak nilai dibuat: lebih dari {LIMITS.made} unsur atau karakter seluruhnya")


def _refuse_bits(bits: int) -> None:
    if bits > LIMITS.int_bits:
        raise OverBudget(f"bilangan terlalu besar: lebih dari {LIMITS.int_bits} bit")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _refuse_bits(base.bit_length() * min(exponent, sys.maxsize))


def _check_shift(value: Any, count: Any) -> None:
    if _is_int(value) and _is_int(count) and count > 0 and value:
        _refuse_bits(value.bit_length() + count)


def _check_repeat(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        _refuse_bits(left.bit_length() + right.bit_length())
        return
    sequence, count = (left, right) if _is_sequence(left) else (right, left)
    if _is_sequence(sequence) and _is_int(count) and count > 1:
        refuse_size(deep_size(sequence, LIMITS.items) * count)


def _check_concat(left: Any, right: Any) -> None:
    if _is_sequence(left) and _is_sequence(right):
        refuse_size(deep_size(left, LIMITS.items) + deep_size(right, LIMITS.items))


def _check_union(left: Any, right: Any) -> None:
    """`s | t` and `d | e` build a set or dictionary as big as both in one C call."""
    if isinstance(left, set | frozenset | dict) and isinstance(right, set | frozenset | dict):
        refuse_size(len(left) + len(right))


# `%(name)` may stand between the `%` and its width: `"%(a)999999999s" % d` pads as `"%999999999s"` does.
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_format(template: Any, args: Any) -> None:
    if isinstance(template, str | bytes):  # `b"%r" % (a,)` renders as `"%r" % (a,)` does
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        for match in _PERCENT_WIDTH.finditer(text):
            for part in match.groups():
                if part == "*" or (part and int(part) > LIMITS.items):
                    raise OverBudget("lebar format terlalu besar")
        _rendered(args)  # `"%s" % (a,)` renders `a` whole, as `str(a)` does


def _rendered(value: Any) -> Any:
    """A value about to be rendered as text in one C call: refused when its text would be too long."""
    refuse_size(deep_size(value, LIMITS.items))
    return value


CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "**": _check_power,
    "<<": _check_shift,
    "*": _check_repeat,
    "+": _check_concat,
    "%": check_format,
    "|": _check_union,
}
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow,
    "<<": operator.lshift,
    "*": operator.mul,
    "+": operator.add,
    "%": operator.mod,
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    ">>": operator.rshift,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "@": operator.matmul,
}
AST_OPERATORS = {
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mult: "*",
    ast.Add: "+",
    ast.Mod: "%",
    ast.BitOr: "|",
}


def _binop(symbol: str, left: Any, right: Any) -> Any:
    CHECKS[symbol](left, right)
    if symbol == "|":  # `list | tuple`: the guarded builtins stand for their types in a union too
        left, right = _TYPE_OF.get(id(left), left), _TYPE_OF.get(id(right), right)
    return OPERATORS[symbol](left, right)


def _inplacevar(symbol: str, left: Any, right: Any) -> Any:
    """`x += y` and friends, compiled by RestrictedPython to `x = _inplacevar_("+=", x, y)`."""
    plain = symbol[:-1]
    if plain in CHECKS:
        CHECKS[plain](left, right)
    if plain not in OPERATORS:
        raise SandboxError(f"operator {symbol} tidak diizinkan")
    return OPERATORS[plain](left, right)


def _range(*args: int) -> range:
    result = range(*args)
    refuse_size(range_length(result))
    return result


def _str(*args: Any) -> str:
    if args:
        refuse_size(deep_size(args[0], LIMITS.items))
    return str(*args)


def _sum(values: Any, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        raise SandboxError("sum() hanya untuk angka")
    return sum(values, start)


_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def _sized_method(method: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any) -> Any:
        for arg in args:
            if _is_int(arg):
                refuse_size(arg)
        return method(*args)

    return bounded


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    value = safer_getattr(obj, name, default)
    if isinstance(obj, str | bytes):
        if name in _PADDING_METHODS:
            return _sized_method(value)
        if name in _GROWING_TEXT:
            return _GROWING_TEXT[name](obj)
    if isinstance(obj, list) and name == "extend":
        return _sized_extend(obj)
    if isinstance(obj, list | dict | set | frozenset) and name in _COPYING_METHODS:
        return _copying_method(obj, value)
    return value


# Methods of a collection that build or fill one as big as their owner and arguments in one C call.
_COPYING_METHODS = frozenset({"copy", "update", "union", "intersection", "difference", "symmetric_difference"})


def _copying_method(items: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        refuse_size(len(items))  # the owner; each argument is counted as it is copied
        return method(*(copied(a) for a in args), **kwargs)

    return counted


# Text methods whose result can be far longer than their arguments: each checks the size it would make.
def _sized_replace(text: Any) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        hits = text.count(old) if count < 0 else min(count, text.count(old))
        refuse_size(len(text) + hits * max(0, len(new) - len(old)))
        return text.replace(old, new, count)

    return replace


def _sized_expandtabs(text: Any) -> Callable[..., Any]:
    def expandtabs(tabsize: int = 8) -> Any:
        refuse_size(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * max(0, tabsize))
        return text.expandtabs(tabsize)

    return expandtabs


def _sized_join(separator: Any) -> Callable[..., Any]:
    def join(parts: Any) -> Any:
        parts = list(parts)
        refuse_size(len(parts))
        refuse_size(sum(len(p) for p in parts if isinstance(p, str | bytes)) + len(separator) * len(parts))
        return separator.join(parts)

    return join


def _sized_translate(text: Any) -> Callable[..., Any]:
    def translate(table: Any, *rest: Any) -> Any:
        values = table.values() if isinstance(table, dict) else ()
        longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=1)
        refuse_size(len(text) * max(1, longest))
        return text.translate(table, *rest)

    return translate


def _sized_extend(items: list[Any]) -> Callable[..., Any]:
    def extend(more: Any) -> None:
        more = list(more)
        refuse_size(len(items) + len(more))
        items.extend(more)

    return extend


_GROWING_TEXT: dict[str, Callable[[Any], Callable[..., Any]]] = {
    "replace": _sized_replace,
    "expandtabs": _sized_expandtabs,
    "join": _sized_join,
    "translate": _sized_translate,
}


def copied(value: Any) -> Any:
    """An iterable about to be copied whole in one C call (`list(r)`, `sorted(r)`, `[*r]`): its length
    is counted in what the evaluation builds. A generator's items are made by traced steps instead;
    an iterator run in C (`zip`, `enumerate`) is taken whole first and counted."""
    if isinstance(value, range):
        refuse_size(range_length(value))
    elif isinstance(value, Sized):
        refuse_size(len(value))
    elif not isinstance(value, GeneratorType):
        value = list(value)
        refuse_size(len(value))
    return value


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`f(*xs)` and `f(**d)`, compiled by RestrictedPython to `_apply_(f, *xs, **d)`: what was
    unpacked is counted (`*xs` already by `_copied_`), then the call is made."""
    refuse_size(len(kwargs))
    return function(*args, **kwargs)


def _round(number: Any, *ndigits: Any) -> Any:
    """`round(1, -n)` computes `10**n` in one C call: more digits than an allowed integer has are refused."""
    if ndigits and _is_int(ndigits[0]) and abs(ndigits[0]) > LIMITS.int_bits:
        raise OverBudget(f"pembulatan terlalu jauh: lebih dari {LIMITS.int_bits} angka")
    return round(number, *ndigits)


def _getitem(obj: Any, index: Any) -> Any:
    """`x[:]` copies as `list(x)` does: a slice is counted in what the evaluation builds."""
    found = default_guarded_getitem(obj, index)
    if isinstance(index, slice) and isinstance(found, Sized):
        refuse_size(len(found))
    return found


class _Copier:
    """`list`, `dict`, `set`, `tuple` as a script sees them: calling one counts the copy, and the
    type's own methods (`dict.fromkeys`) are still there."""

    def __init__(self, kind: type) -> None:
        self._kind = kind

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            args = (copied(args[0]), *args[1:])
        return self._kind(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kind, name)


def _sorted(values: Any, *args: Any, **kwargs: Any) -> list[Any]:
    return sorted(copied(values), *args, **kwargs)


_COPIERS: dict[str, Any] = {name: _Copier(_builtin(name)) for name in ("dict", "list", "set", "tuple")}
_COPIERS["sorted"] = _sorted
# The guarded builtins stand for their types where a script asks `isinstance(x, list)`.
_TYPE_OF: dict[int, type] = {
    id(guard): _builtin(name) for name, guard in (*_COPIERS.items(), ("str", _str)) if name != "sorted"
}


def _isinstance(value: Any, kinds: Any) -> bool:
    listed = kinds if isinstance(kinds, tuple) else (kinds,)
    types: tuple[Any, ...] = tuple(_TYPE_OF.get(id(k), k) for k in listed)
    return isinstance(value, types)


SAFE_BUILTINS: dict[str, Any] = (
    {
        name: _builtin(name)
        for name in ("abs", "all", "any", "bool", "enumerate", "float", "int", "len", "max", "min", "zip")
    }
    | _COPIERS
    | {"range": _range, "str": _str, "sum": _sum, "round": _round, "isinstance": _isinstance}
    | {"True": True, "False": False}
    | {"None": None}
)

GUARDS: dict[str, Any] = {
    "_getattr_": _getattr,
    "_getitem_": _getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,  # items of lists and dicts only: the guards and types are shared
    "_binop_": _binop,
    "_inplacevar_": _inplacevar,
    "_rendered_": _rendered,
    "_apply_": _apply,
    "_copied_": copied,
}
