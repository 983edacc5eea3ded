"""Administrators' BPMN expressions and scripts, run in a separate process (`engine.bpmn.sandbox_worker`).

The engine calls `evaluate` and `execute` here instead of running the sandbox in its own thread:
whatever a script does, the server's worker keeps its memory and its interpreter, and waits at
most `WAIT_SECONDS` for the whole answer. A process that ran over its limits or crashed is replaced
by a new one at the next evaluation, and the step is refused with `SandboxError`, as the guards
refuse one.

The worker is trusted with nothing: it starts isolated from the server's environment (no database
address, no secret key; `python -I`, an empty environment, `/` as its directory), and its answer is
JSON, read only as task data is (no class is looked up but a datetime, a duration or a UUID) and
checked again for size and depth. Each server process keeps idle workers for the threads that
evaluate, at most `MOST_AT_ONCE` evaluating at once; a worker found ended is reaped, and one that
ended before it read a request is replaced without refusing the step (nothing ran). A process
forked from the server closes its copies of the parent's pipes and starts its own workers.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import contextlib
import json
import os
import pickle  # requests only: what the server sends the worker, never what comes back
import select
import signal
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.bpmn import sandbox
from engine.bpmn.sandbox_guards import OverBudget, SandboxError
from engine.bpmn.sandbox_worker import CPU_SECONDS, DATA, HEADER, OUT_OF_MEMORY, check_written

WAIT_SECONDS = 30  # a busy machine may delay the worker; its CPU is limited to CPU_SECONDS meanwhile
MOST_ANSWER_BYTES = 16 << 20  # bounded by the worker's size check long before this
MOST_AT_ONCE = max(2, os.cpu_count() or 2)  # workers evaluating at once in one server process
_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the `engine` package


def _command() -> list[str]:
    """This interpreter, isolated (`-I`: no PYTHON* variables, no user site), finding `engine` where
    the server found it, installed or not."""
    start = f"import sys; sys.path.insert(0, {_ROOT!r}); from engine.bpmn.sandbox_worker import main; main()"
    return [sys.executable, "-I", "-c", start]


class _NotAsked(Exception):
    """The worker had ended before it read the whole request: nothing was evaluated there."""


class _Worker:
    def __init__(self) -> None:
        child_reads, self.requests = os.pipe()
        self.answers, child_writes = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
                _command(),
                stdin=child_reads,
                stdout=child_writes,
                close_fds=True,
                env={},
                cwd="/",
            )
        except OSError:
            for fd in (self.requests, self.answers):
                os.close(fd)
            raise
        finally:
            os.close(child_reads)
            os.close(child_writes)
        os.set_blocking(self.requests, False)
        os.set_blocking(self.answers, False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, kind: str, source: str, data: dict[str, Any]) -> bytes:
        deadline = time.monotonic() + WAIT_SECONDS
        payload = pickle.dumps((kind, source, data), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._send(HEADER.pack(len(payload)) + payload, deadline)
        except (BrokenPipeError, ConnectionResetError):
            raise _NotAsked from None  # it reads the whole request before evaluating any of it
        try:
            size = HEADER.unpack(self._receive(HEADER.size, deadline))[0]
            if not 0 <= size <= MOST_ANSWER_BYTES:
                raise OverBudget("hasil ekspresi atau skrip terlalu besar")
            return self._receive(size, deadline)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise self._ended() from None

    def _send(self, message: bytes, deadline: float) -> None:
        view = memoryview(message)
        while view:
            self._wait(select.select([], [self.requests], [], self._left(deadline))[1])
            view = view[os.write(self.requests, view) :]

    def _receive(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            self._wait(select.select([self.answers], [], [], self._left(deadline))[0])
            chunk = os.read(self.answers, left)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _left(self, deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())

    def _wait(self, ready: list[int]) -> None:
        if not ready:
            raise OverBudget(f"ekspresi atau skrip tidak selesai dalam {WAIT_SECONDS} detik")

    def _ended(self) -> SandboxError:
        self.process.kill()  # a worker that closed its pipe but lingers
        code = self.process.wait()
        if code in (-signal.SIGPROF, -signal.SIGXCPU):
            return OverBudget(f"ekspresi atau skrip memakai lebih dari {CPU_SECONDS} detik CPU")
        return SandboxError(f"ekspresi atau skrip menghentikan proses yang menjalankannya (kode {code})")

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self.let_go()

    def let_go(self) -> None:
        """Close this process's ends of the pipes (a forked child's copies, or after the worker ended)."""
        for fd in (self.requests, self.answers):
            with contextlib.suppress(OSError):  # closed already
                os.close(fd)


class _Pool:
    """Idle workers, and a bound on how many evaluate at once in this process (each may use up to
    `sandbox_worker.MEMORY_BYTES`); a thread beyond it waits for a free one within `WAIT_SECONDS`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.started: set[_Worker] = set()  # idle or evaluating: their pipes, which a forked child closes
        self.slots = threading.BoundedSemaphore(MOST_AT_ONCE)

    def take(self) -> _Worker:
        if not self.slots.acquire(timeout=WAIT_SECONDS):
            raise OverBudget(
                f"ekspresi atau skrip menunggu lebih dari {WAIT_SECONDS} detik: "
                f"{MOST_AT_ONCE} lainnya sedang berjalan; coba lagi sebentar lagi"
            )
        with self.lock:
            ended = [worker for worker in self.idle if not worker.alive()]  # reaped now, wherever they wait
            self.idle = [worker for worker in self.idle if worker not in ended]
            worker = self.idle.pop() if self.idle else None
        for gone in ended:
            self.stop(gone)
        if worker is not None:
            return worker
        try:
            worker = _Worker()
        except OSError as exc:  # out of processes or descriptors, or an interpreter that is gone
            self.slots.release()
            raise SandboxError(f"proses yang menjalankan ekspresi atau skrip tidak dapat dimulai: {exc}") from exc
        except BaseException:
            self.slots.release()
            raise
        with self.lock:
            self.started.add(worker)
        return worker

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            kept = worker in self.started and worker.alive()
            if kept:
                self.idle.append(worker)
        if not kept:
            self.stop(worker)
        self.slots.release()

    def discard(self, worker: _Worker) -> None:
        """A worker taken that is not to be used again."""
        self.stop(worker)
        self.slots.release()

    def stop(self, worker: _Worker) -> None:
        with self.lock:
            self.started.discard(worker)
        worker.stop()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            self.stop(worker)

    def forked(self) -> None:
        """In a process forked from this one: the workers stay the parent's, only the copies of their
        pipes are closed here, and this process starts its own."""
        for worker in self.started:
            worker.let_go()
        self.inherited = list(self.started)  # kept: collected, they would warn of a running process
        self.lock, self.idle, self.started = threading.Lock(), [], set()
        self.slots = threading.BoundedSemaphore(MOST_AT_ONCE)


_POOL = _Pool()
atexit.register(lambda: _POOL.close())
os.register_at_fork(after_in_child=lambda: _POOL.forked())


def _asked(kind: str, source: str, data: dict[str, Any], again: bool = True) -> tuple[_Worker, bytes]:
    """A worker and its answer; a worker that had ended before it read the request is replaced once."""
    worker = _POOL.take()
    try:
        return worker, worker.ask(kind, source, data)
    except _NotAsked:
        _POOL.discard(worker)
        if again:
            return _asked(kind, source, data, again=False)
        raise SandboxError("proses yang menjalankan ekspresi atau skrip tidak dapat dimulai") from None
    except BaseException:
        _POOL.discard(worker)
        raise


def _run(kind: str, source: str, data: dict[str, Any]) -> Any:
    worker, answer = _asked(kind, source, data)
    try:
        found = _read_answer(answer)
    except BaseException:
        _POOL.discard(worker)
        raise
    if found.get("message") == OUT_OF_MEMORY:
        _POOL.discard(worker)  # it ends itself: its interpreter is not trusted after a MemoryError
    else:
        _POOL.give_back(worker)
    if "ok" in found:
        return found["ok"]
    raise _error(found)


def _read_answer(answer: bytes) -> dict[str, Any]:
    """The worker's answer, read as task data and checked as if a script had just built it."""
    try:
        found = json.loads(answer)
        if not isinstance(found, dict) or not ("ok" in found or isinstance(found.get("error"), str)):
            raise ValueError("bukan jawaban")
        if "ok" in found:
            found["ok"] = DATA.restore(found["ok"])
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise SandboxError("jawaban proses yang menjalankan ekspresi atau skrip tidak terbaca") from exc
    return found


def _error(found: dict[str, Any]) -> Exception:
    """The worker's exception, raised here: the sandbox's own, or a builtin one (a condition's
    `NameError` or `KeyError`) that SpiffWorkflow reports with the task, as it was raised there."""
    name, message = found["error"], str(found.get("message", ""))[:2000]
    if name == "OverBudget":
        return OverBudget(message)
    kind = getattr(builtins, name, None)
    args = found.get("args")
    if isinstance(kind, type) and issubclass(kind, Exception) and isinstance(args, list):
        with contextlib.suppress(Exception):  # a class whose arguments were not plain: named below
            return kind(*args)
    return SandboxError(f"{name}: {message}" if name != "SandboxError" else message)


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
    value = _run("evaluate", expression, context)
    check_written(value)  # again here: the worker is not trusted
    return value


def execute(script: str, data: dict[str, Any]) -> None:
    """Run a script; the variables it assigns, or changes, are written back to `data`."""
    changed = _run("execute", script, data)
    if not isinstance(changed, dict) or not all(isinstance(key, str) for key in changed):
        raise SandboxError("jawaban proses yang menjalankan ekspresi atau skrip tidak terbaca")
    for key, value in changed.items():
        check_written(value, data.get(key))  # again here: the worker is not trusted
    data.update(changed)
