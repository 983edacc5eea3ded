"""The process in which administrators' BPMN expressions and scripts run: `python -m engine.bpmn.sandbox_worker`.

The sandbox's guards bound the work they can see; one call into C that they do not foresee (comparing
two structures that share their parts, hashing a tuple nested 200,000 deep) can still run for ever or
crash the interpreter. Here such a call ends this process, not a server worker holding a submission's
lock: its address space and CPU time per evaluation are limited by the kernel, and the server waits
for it only so long (`engine.bpmn.sandbox_process`).

Requests come on standard input and answers go to standard output, each a length-prefixed pickle
(`multiprocessing.connection`). A request is `(kind, source, data)`; an answer is `("ok", value)` or
`("error", exception's class name, message)`. What a script writes back must be plain data (the
engine stores it as JSON) of bounded size and depth: the server unpickles only such data.
"""

from __future__ import annotations

import io
import pickle
import resource
import sys
from multiprocessing.connection import Connection
from typing import Any

from engine.bpmn import sandbox
from engine.bpmn.sandbox_guards import LIMITS, OverBudget, SandboxError, deep_size

MEMORY_BYTES = 1 << 30  # the whole process; the guards keep one evaluation far below it
CPU_SECONDS = 2  # per evaluation, whole seconds of the kernel's count; the guards stop Python work after LIMITS.seconds
DEEPEST = 64  # nesting of what is written back; JSON of task data is a few levels deep
OUT_OF_MEMORY = "ekspresi atau skrip kehabisan memori: nilai yang dibuat terlalu besar"


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


def check_written(value: Any) -> None:
    """What an evaluation hands back: shared parts count each time, as the JSON stored will hold them."""
    if deep_size(value, LIMITS.items) > LIMITS.items:
        raise OverBudget(f"nilai yang dihasilkan terlalu besar: lebih dari {LIMITS.items} unsur atau karakter")
    if depth_of(value) > DEEPEST:
        raise OverBudget(f"nilai yang dihasilkan terlalu bersarang: lebih dari {DEEPEST} tingkat")


def _limit_cpu() -> None:
    """The CPU budget of the next evaluation: the kernel ends the process (SIGXCPU) past it."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + 1 + CPU_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def answer(kind: str, source: str, data: dict[str, Any]) -> tuple[Any, ...]:
    try:
        if kind == "evaluate":
            value = sandbox.evaluate(source, data)
            check_written(value)
        else:
            sandbox.execute(source, data)
            value = {key: data[key] for key in data}
            check_written(list(value.values()))
        return ("ok", value)
    except MemoryError:
        return ("error", "OverBudget", OUT_OF_MEMORY)
    except Exception as exc:  # the server raises it again there, by its class's name
        return ("error", type(exc).__name__, str(exc)[:2000])


class _Plain(pickle.Pickler):
    """A text or number of a subclass (the engine's `Decision` is a `StrEnum`) goes back as plain
    text or number, as the JSON the engine stores would hold it."""

    def reducer_override(self, obj: Any) -> Any:
        for kind in (str, int, float):
            if isinstance(obj, kind) and not isinstance(obj, bool):
                return kind, (kind(obj),)
        return NotImplemented


def _reply(result: tuple[Any, ...]) -> bytes:
    try:
        buffer = io.BytesIO()
        _Plain(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
        return buffer.getvalue()
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        return pickle.dumps(("error", "SandboxError", f"nilai yang dihasilkan tidak dapat disimpan: {exc}"[:2000]))


def main() -> None:
    requests, answers = Connection(0, writable=False), Connection(1, readable=False)
    sys.stdout = sys.stderr  # nothing but answers on the answers' pipe
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    while True:
        try:
            kind, source, data = pickle.loads(requests.recv_bytes())
        except EOFError:
            return  # the server is gone
        _limit_cpu()
        result = answer(kind, source, data)
        answers.send_bytes(_reply(result))
        if result[-1] == OUT_OF_MEMORY:
            return  # after a MemoryError the interpreter is not trusted further: the next request starts anew


if __name__ == "__main__":
    main()


__all__ = ["SandboxError", "answer", "check_written", "depth_of", "main"]
