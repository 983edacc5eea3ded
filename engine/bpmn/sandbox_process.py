"""Administrators' BPMN expressions and scripts, run in a separate process (`engine.bpmn.sandbox_worker`).

The engine calls `evaluate` and `execute` here instead of running the sandbox in its own thread:
whatever a script does, the server's worker keeps its memory and its interpreter, and waits at
most `WAIT_SECONDS`. A process that ran over its limits or crashed is replaced by a new one at the
next evaluation, and the step is refused with `SandboxError`, as the guards refuse one.

Each server process keeps idle workers for the threads that evaluate; a process forked from it
starts its own. What comes back is unpickled only as plain data (`_PlainData`).
"""

from __future__ import annotations

import ast
import atexit
import builtins
import datetime
import decimal
import io
import os
import pickle
import signal
import subprocess
import sys
import threading
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any

from engine.bpmn import sandbox
from engine.bpmn.sandbox_guards import OverBudget, SandboxError
from engine.bpmn.sandbox_worker import CPU_SECONDS, OUT_OF_MEMORY

WAIT_SECONDS = 30  # a busy machine may delay the worker; its CPU is limited to CPU_SECONDS meanwhile
MOST_ANSWER_BYTES = 32 << 20  # bounded by the worker's size check long before this
_PLAIN: dict[tuple[str, str], Any] = {
    ("builtins", "complex"): complex,
    ("builtins", "float"): float,
    ("builtins", "int"): int,
    ("builtins", "str"): str,
    ("builtins", "range"): range,
    ("datetime", "date"): datetime.date,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("decimal", "Decimal"): decimal.Decimal,
}


class _PlainData(pickle.Unpickler):
    """Only data comes back from the worker: no class outside `_PLAIN` is looked up, so no code runs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return _PLAIN[module, name]
        raise pickle.UnpicklingError(f"{module}.{name} bukan data")


class _Worker:
    def __init__(self) -> None:
        child_reads, we_write = os.pipe()
        we_read, child_writes = os.pipe()
        self.process = subprocess.Popen(  # noqa: S603 - our own module, with this interpreter
            [sys.executable, "-m", "engine.bpmn.sandbox_worker"],
            stdin=child_reads,
            stdout=child_writes,
            close_fds=True,
        )
        os.close(child_reads)
        os.close(child_writes)
        self.requests = Connection(we_write, readable=False)
        self.answers = Connection(we_read, writable=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, kind: str, source: str, data: dict[str, Any]) -> tuple[Any, ...]:
        try:
            self.requests.send_bytes(pickle.dumps((kind, source, data), protocol=pickle.HIGHEST_PROTOCOL))
            if not self.answers.poll(WAIT_SECONDS):
                self.stop()
                raise OverBudget(f"ekspresi atau skrip tidak selesai dalam {WAIT_SECONDS} detik")
            answer = self.answers.recv_bytes(MOST_ANSWER_BYTES)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise self._ended() from None
        except OSError as exc:  # an answer longer than allowed: the pipe is out of step
            self.stop()
            raise OverBudget("hasil ekspresi atau skrip terlalu besar") from exc
        return _PlainData(io.BytesIO(answer)).load()

    def _ended(self) -> SandboxError:
        code = self.process.wait()
        self.stop()
        if code == -signal.SIGXCPU:
            return OverBudget(f"ekspresi atau skrip memakai lebih dari {CPU_SECONDS} detik CPU")
        return SandboxError(f"ekspresi atau skrip menghentikan proses yang menjalankannya (kode {code})")

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self.requests.close()
        self.answers.close()


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.pid = os.getpid()

    def take(self) -> _Worker:
        with self.lock:
            if self.pid != os.getpid():  # forked: the pipes belong to the parent's workers
                self.idle, self.pid = [], os.getpid()
            while self.idle:
                worker = self.idle.pop()
                if worker.alive():
                    return worker
                worker.stop()
        return _Worker()

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            if self.pid == os.getpid() and worker.alive():
                self.idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        if self.pid == os.getpid():
            for worker in idle:
                worker.stop()


_POOL = _Pool()
atexit.register(_POOL.close)


def _run(kind: str, source: str, data: dict[str, Any]) -> Any:
    worker = _POOL.take()
    try:
        answer = worker.ask(kind, source, data)
    except BaseException:
        worker.stop()
        raise
    if answer[-1] == OUT_OF_MEMORY:
        worker.stop()  # it ends itself: its interpreter is not trusted after a MemoryError
    else:
        _POOL.give_back(worker)
    if answer[0] == "ok":
        return answer[1]
    raise _error(answer[1], answer[2])


def _error(name: str, message: str) -> Exception:
    """The worker's exception, raised here: the sandbox's own, or a builtin one (a condition's
    `NameError` or `ZeroDivisionError`) that SpiffWorkflow reports with the task."""
    if name == "OverBudget":
        return OverBudget(message)
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return SandboxError(message)


# A condition made only of these reads and compares what the process holds (bounded data, see
# `sandbox_worker.check_written`) and calls nothing: it runs in this process, the sandbox still around it.
_PLAIN_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Subscript,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.IfExp,
)


@lru_cache(maxsize=1024)
def _plain(expression: str) -> bool:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(isinstance(node, _PLAIN_NODES) for node in ast.walk(tree))


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    if len(expression) <= 1000 and _plain(expression):
        return sandbox.evaluate(expression, context)
    return _run("evaluate", expression, context)


def execute(script: str, data: dict[str, Any]) -> None:
    """Run a script; the variables it assigns are written back to `data`."""
    data.update(_run("execute", script, data))
