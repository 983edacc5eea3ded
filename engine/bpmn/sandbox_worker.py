"""The process in which administrators' BPMN expressions and scripts run (started by
`engine.bpmn.sandbox_process`, which also reads its answers).

The sandbox's guards bound the work they can see; one call into C that they do not foresee (comparing
two structures that share their parts, hashing a tuple nested 200,000 deep) can still run for ever or
crash the interpreter. Here such a call ends this process, not a server worker holding a submission's
lock: its address space and CPU time per evaluation are limited by the kernel, and the server waits
for it only so long.

Each message is a 4-byte length and its body. A request is a pickle of `(kind, source, data)` from
the server. An answer is JSON, written as the engine stores task data (SpiffWorkflow's data
registry: datetimes, durations, UUIDs): `{"ok": value}`, or `{"error": class name, "args": …,
"message": …}`. A script answers with what it wrote: new names, and names whose value it changed,
each bounded in size and depth; the server checks them again, trusting nothing from here.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import struct
import sys
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry

from engine.bpmn import sandbox
from engine.bpmn.sandbox_guards import LIMITS, OverBudget, deep_size

# The whole process (an idle worker maps about 30 MB); a server may hold one per core evaluating.
MEMORY_BYTES = 512 << 20
CPU_SECONDS = 2  # per evaluation (a CPU timer, `RLIMIT_CPU` behind); the guards stop Python after LIMITS.seconds
DEEPEST = 64  # nesting of what is written back; JSON of task data is a few levels deep
OUT_OF_MEMORY = "ekspresi atau skrip kehabisan memori: nilai yang dibuat terlalu besar"
HEADER = struct.Struct("!i")
DATA = DefaultRegistry()  # the types task data may hold besides JSON's own, as the state stores them


def depth_of(value: Any, cap: int = DEEPEST) -> int:
    """How deeply lists, tuples, sets and dicts nest in `value`, stopping past `cap`."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= cap:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = [*item.keys(), *item.values()]
        if isinstance(item, list | tuple | set | frozenset):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def check_written(value: Any, was: Any = None) -> None:
    """What an evaluation hands back, shared parts counted each time as the stored JSON holds them:
    within the limits, or, for a value it changed, the limits beyond what it was (task data a
    handler left may be larger than one script may build) and no deeper."""
    most = LIMITS.items + (deep_size(was, sys.maxsize) if was is not None else 0)
    if deep_size(value, most) > most:
        raise OverBudget(f"nilai yang dihasilkan terlalu besar: lebih dari {most} unsur atau karakter")
    deepest = max(DEEPEST, depth_of(was, sys.maxsize)) if was is not None else DEEPEST
    if depth_of(value, deepest) > deepest:
        raise OverBudget(f"nilai yang dihasilkan terlalu bersarang: lebih dari {deepest} tingkat")


_MISSING = object()


def written(data: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The names a script bound anew or changed (a list it appended to as well)."""
    changed = {}
    for key, value in data.items():
        was = before.get(key, _MISSING)
        check_written(value, None if was is _MISSING else was)
        if was is _MISSING or type(value) is not type(was) or value != was:
            changed[key] = value
    return changed


def _limit_cpu() -> None:
    """The CPU budget of the next evaluation: the kernel ends the process past it. A timer of the
    process's CPU from now (SIGPROF, whose default ends the process) does it after `CPU_SECONDS`;
    `RLIMIT_CPU` (SIGXCPU), counted from the process's start, stands behind it: its count is the
    kernel's ticks, which can lag the time `getrusage` reports after many short evaluations."""
    signal.setitimer(signal.ITIMER_PROF, CPU_SECONDS)
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + 1 + CPU_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def _cpu_unlimited() -> None:
    """Between evaluations the timer stops: waiting for the next request costs nothing."""
    signal.setitimer(signal.ITIMER_PROF, 0)


def _plain_args(exc: BaseException) -> list[Any] | None:
    args = list(exc.args)
    return args if all(isinstance(a, str | int | float | type(None)) for a in args) else None


def answer(request: bytes) -> dict[str, Any]:
    kind, source, data = pickle.loads(request)
    try:
        if kind == "evaluate":
            value = sandbox.evaluate(source, data)
            check_written(value)
        else:
            sandbox.execute(source, data)
            value = written(data, pickle.loads(request)[2])
        return {"ok": value}
    except MemoryError:
        return {"error": "OverBudget", "args": [OUT_OF_MEMORY], "message": OUT_OF_MEMORY}
    except Exception as exc:  # the server raises it again there, by its class's name
        return {"error": type(exc).__name__, "args": _plain_args(exc), "message": str(exc)[:2000]}


def encoded(result: dict[str, Any]) -> bytes:
    try:
        return json.dumps(DATA.convert(result), ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        message = f"nilai yang dihasilkan tidak dapat disimpan: {exc}"[:2000]
        return json.dumps({"error": "SandboxError", "args": [message], "message": message}).encode()


def _read(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None  # the server is gone
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write(fd: int, payload: bytes) -> None:
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _first_to_go_when_memory_runs_out() -> None:
    """Short of memory, the kernel ends this process before the server or its database."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass  # not Linux, or a kernel that refuses: the limits above still hold


def main() -> None:
    sys.stdout = sys.stderr  # nothing but answers on the answers' pipe
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # ended by the kernel, it leaves no core file behind
    _first_to_go_when_memory_runs_out()
    while (header := _read(0, HEADER.size)) is not None:
        request = _read(0, HEADER.unpack(header)[0])
        if request is None:
            return
        _limit_cpu()
        result = answer(request)
        _write(1, encoded(result))
        _cpu_unlimited()
        if result.get("message") == OUT_OF_MEMORY:
            return  # after a MemoryError the interpreter is not trusted further: the next request starts anew


__all__ = ["answer", "check_written", "depth_of", "main", "written"]
