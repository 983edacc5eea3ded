"""The worker processes that run administrators' BPMN conditions and scripts, as an operator sees
them, and the circuit breaker in front of the civil registry under threads.

The rules pinned here:
- many evaluations, refusals, a worker that ran out of memory and a worker killed from outside
  leave behind no descriptor, no process and no zombie of the server: every worker still there is
  idle in its pool, its two pipes the only descriptors it costs;
- an evaluation reuses an idle worker; threads evaluating at once each get their own answer, and
  afterwards the pool holds at most one idle worker per thread, and never more workers than may
  evaluate at once; a thread beyond that bound waits, then is told why;
- a worker is the first process the kernel ends when memory runs out;
- an idle worker that ended is reaped when the pool next looks at it, and does not refuse a step:
  only a worker that ended in the middle of an evaluation refuses it, naming the signal;
- a worker that stops answering without using CPU is killed and reaped at the server's wait;
- a process forked from the server starts its own workers, keeps none of its parent's pipes, and
  its pool's closing at exit leaves the parent's workers serving;
- a server that ends (normally, by SIGTERM or by SIGKILL) leaves no worker running;
- a half-open breaker lets exactly one trial call through, whatever the threads; a trial that
  never answered lapses after the breaker's period, and its late answer counts for nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.bpmn import sandbox, sandbox_process
from engine.core.resilience import BreakerState, CircuitBreaker, CircuitOpen

ROOT = Path(sandbox_process.__file__).resolve().parents[2]
CPU_HOG = "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\nc = a == b"


def state(pid: int) -> str | None:
    """A process's state letter (`S`, `R`, `T`, `Z`), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def cpu_ticks(pid: int) -> int:
    """The CPU time a process has used, in the kernel's ticks (user and system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def alive(pid: int) -> bool:
    return state(pid) not in (None, "Z")


def children() -> dict[int, str]:
    """This process's children, each with its state."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == os.getpid():
                found[int(entry.name)] = fields[0]
    return found


def descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def until(condition: Callable[[], bool], seconds: float = 4.0) -> bool:
    """Whether `condition` came true, looked at every 10 ms for at most `seconds`."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def pool(monkeypatch) -> Iterator[sandbox_process._Pool]:
    """A pool of this test's own: the server's pool, and its workers, are left as they are."""
    own = sandbox_process._Pool()
    monkeypatch.setattr(sandbox_process, "_POOL", own)
    yield own
    own.close()


def idle_pids(pool: sandbox_process._Pool) -> list[int]:
    return [worker.process.pid for worker in pool.idle]


def killed_idle(pool: sandbox_process._Pool, index: int = -1) -> int:
    """Kill an idle worker from outside (the OOM killer, an operator) and wait until it has ended."""
    pid = pool.idle[index].process.pid
    os.kill(pid, signal.SIGKILL)
    assert until(lambda: state(pid) == "Z")
    return pid


# ---------------------------------------------------------------- what the server is left holding


def test_evaluations_refusals_and_replaced_workers_leave_no_descriptor_or_process_behind(pool):
    before_fds, before_children = descriptors(), set(children())

    def held() -> tuple[int, dict[int, str]]:
        new = {pid: s for pid, s in children().items() if pid not in before_children}
        return descriptors() - before_fds, new

    assert sandbox_process.evaluate("len(x) + 1", {"x": [1]}) == 2  # the first starts one worker
    first = idle_pids(pool)
    for n in range(30):
        assert sandbox_process.evaluate("len(x) * 2", {"x": [0] * n}) == 2 * n
    for _ in range(5):
        with pytest.raises(NameError):
            sandbox_process.evaluate("len(tidak_ada)", {})
    assert idle_pids(pool) == first and held()[0] == 2 and list(held()[1]) == first  # reused all along
    assert alive(first[0])

    with pytest.raises(sandbox.OverBudget, match="memori"):  # the worker ends itself
        sandbox_process.execute("b = (0).to_bytes(2000000000, 'big')", {})
    assert pool.idle == [] and held() == (0, {})
    assert sandbox_process.evaluate("len([1, 2])", {}) == 2
    killed_idle(pool)
    assert sandbox_process.evaluate("len([1, 2, 3])", {}) == 3
    fds, new = held()
    assert list(new) == idle_pids(pool) and "Z" not in new.values() and fds == 2
    pool.close()
    assert held() == (0, {})


def test_threads_evaluating_at_once_each_get_their_own_answer_and_keep_at_most_a_worker_each(pool):
    threads, rounds = 6, 10
    start, wrong = threading.Barrier(threads), []

    def evaluate(k: int) -> None:
        start.wait()
        for n in range(rounds):
            found = sandbox_process.evaluate("len(x) * 1000 + k", {"x": [0] * n, "k": k})
            if found != n * 1000 + k:
                wrong.append((k, n, found))

    running = [threading.Thread(target=evaluate, args=(k,)) for k in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert wrong == []
    kept = idle_pids(pool)
    assert 1 <= len(kept) <= threads and all(alive(pid) for pid in kept)
    for _ in range(len(kept) + 3):  # one at a time: no worker is started anew
        assert sandbox_process.evaluate("len([1])", {}) == 1
    assert sorted(idle_pids(pool)) == sorted(kept)


# ---------------------------------------------------------------- a worker that ended or stopped


def test_an_idle_worker_killed_from_outside_is_replaced_without_refusing_the_step(pool):
    sandbox_process.evaluate("len([1])", {})
    killed = killed_idle(pool)
    assert sandbox_process.evaluate("len([1, 2])", {}) == 2
    assert state(killed) is None  # reaped
    assert killed not in idle_pids(pool) and len(pool.idle) == 1


def test_an_idle_worker_that_ended_is_reaped_even_below_a_live_one(pool):
    pool.idle.extend(sandbox_process._Worker() for _ in range(3))
    killed = killed_idle(pool, index=0)
    for _ in range(5):
        assert sandbox_process.evaluate("len([1])", {}) == 1
    assert state(killed) is None


def test_a_worker_killed_just_before_the_request_does_not_refuse_the_step(pool, monkeypatch):
    """Killed a moment before an evaluation, a worker is not yet seen dead by the pool: here the
    moment is made certain by killing it just after the pool handed it out."""
    taken, killed = pool.take, []

    def take_then_killed() -> sandbox_process._Worker:
        worker = taken()
        if not killed:  # the first only: a new worker asked again is left alone
            killed.append(worker.process.pid)
            worker.process.send_signal(signal.SIGKILL)
            assert until(lambda: state(worker.process.pid) == "Z")
        return worker

    sandbox_process.evaluate("len([])", {})
    monkeypatch.setattr(pool, "take", take_then_killed)
    try:
        found = sandbox_process.evaluate("len([1, 2])", {})
    except sandbox.SandboxError as exc:
        found = str(exc)
    assert found == 2 and len(killed) == 1


def test_a_worker_killed_in_the_middle_of_an_evaluation_refuses_the_step_naming_its_end(pool):
    sandbox_process.evaluate("len([1])", {})
    pid = pool.idle[-1].process.pid
    idle_for = cpu_ticks(pid)

    def kill_once_running() -> None:
        # Killed once the hog has used CPU: a worker killed before it read the request is replaced instead.
        if until(lambda: cpu_ticks(pid) >= idle_for + 20):
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_running)
    killer.start()
    with pytest.raises(sandbox.SandboxError, match=r"menghentikan proses yang menjalankannya \(kode -9\)"):
        sandbox_process.execute(CPU_HOG, {})
    killer.join()
    assert state(pid) is None and pool.idle == []
    assert sandbox_process.evaluate("len([1, 2])", {}) == 2


def test_a_worker_that_stops_answering_without_cpu_is_killed_and_reaped_at_the_wait(pool, monkeypatch):
    monkeypatch.setattr(sandbox_process, "WAIT_SECONDS", 1)
    sandbox_process.evaluate("len([1])", {})
    before_fds = descriptors()
    pid = pool.idle[-1].process.pid
    os.kill(pid, signal.SIGSTOP)  # blocked, as a worker swapped out or frozen would be
    with pytest.raises(sandbox.OverBudget, match="tidak selesai dalam 1 detik"):
        sandbox_process.evaluate("len([1])", {})
    assert state(pid) is None and pool.idle == [] and descriptors() == before_fds - 2
    assert sandbox_process.evaluate("len([1, 2])", {}) == 2


# ---------------------------------------------------------------- forked processes


def in_child(work: Callable[[], str]) -> str:
    """`work()` run in a forked child, its text read back here; the child never returns to pytest."""
    reads, writes = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reads)
        try:
            said = work()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            said = f"{type(exc).__name__}: {exc}"
        os.write(writes, said.encode())
        os._exit(0)
    os.close(writes)
    chunks = []
    while chunk := os.read(reads, 4096):
        chunks.append(chunk)
    os.close(reads)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_a_forked_process_starts_its_own_worker_and_its_exit_leaves_the_parents_serving(pool):
    assert sandbox_process.evaluate("len([1])", {}) == 1
    parents = idle_pids(pool)

    def evaluate_then_exit() -> str:
        found = sandbox_process.evaluate("len([1, 2])", {})
        mine = idle_pids(sandbox_process._POOL)
        sandbox_process._POOL.close()  # what `atexit` runs as the child exits
        return f"{found} {mine}"

    found, mine = in_child(evaluate_then_exit).split(" ", 1)
    assert found == "2" and str(parents[0]) not in mine
    assert in_child(lambda: str(sandbox_process._POOL.close())) == "None"  # a child that never evaluated
    assert alive(parents[0])
    assert sandbox_process.evaluate("len([1, 2, 3])", {}) == 3 and idle_pids(pool) == parents


def test_a_forked_process_keeps_none_of_its_parents_worker_pipes(pool):
    sandbox_process.evaluate("len([1])", {})
    worker = pool.idle[-1]
    pipes = {(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (worker.requests, worker.answers)}

    def parents_pipes_held() -> str:
        sandbox_process.evaluate("len([1, 2])", {})
        held = set()
        for name in os.listdir("/proc/self/fd"):
            try:
                found = os.fstat(int(name))
            except OSError:
                continue
            held.add((found.st_dev, found.st_ino))
        return str(len(pipes & held))

    assert in_child(parents_pipes_held) == "0"


# ---------------------------------------------------------------- the server's end


SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from engine.bpmn import sandbox_process
assert sandbox_process.evaluate("len([1])", {{}}) == 1
print(sandbox_process._POOL.idle[0].process.pid, flush=True)
if {exit_normally}:
    sys.exit(0)
time.sleep(30)
"""


@pytest.mark.parametrize("end", ["exit", "SIGTERM", "SIGKILL"])
def test_a_server_that_ends_leaves_no_worker_running(end):
    server = subprocess.Popen(  # noqa: S603 - this interpreter, a script of this test
        [sys.executable, "-c", SERVER.format(root=str(ROOT), exit_normally=end == "exit")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        worker = int(server.stdout.readline())
        if end != "exit":
            server.send_signal(getattr(signal, end))
        server.wait(timeout=5)
        assert until(lambda: state(worker) in (None, "Z"))  # a zombie only until its new parent reaps it
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


# ---------------------------------------------------------------- the breaker under threads


def opened_breaker(clock: list[float]) -> CircuitBreaker:
    breaker = CircuitBreaker(failures_to_open=2, reset_after=60.0, monotonic=lambda: clock[0])
    for _ in range(2):
        with pytest.raises(RuntimeError):
            breaker.call(lambda: (_ for _ in ()).throw(RuntimeError("turun")))
    assert breaker.state == BreakerState.TERBUKA
    return breaker


def test_a_half_open_breaker_lets_one_trial_through_whatever_the_threads():
    clock = [0.0]
    breaker = opened_breaker(clock)
    clock[0] = 61.0
    threads, trials, answers = 8, [], []
    start, release = threading.Barrier(threads), threading.Event()

    def trial() -> str:
        trials.append(1)
        release.wait(5)
        return "ok"

    def call() -> None:
        start.wait()
        try:
            answers.append(breaker.call(trial))
        except CircuitOpen:
            answers.append("terbuka")

    running = [threading.Thread(target=call) for _ in range(threads)]
    for thread in running:
        thread.start()
    assert until(lambda: len(answers) == threads - 1)  # every other call refused at once
    assert breaker.state == BreakerState.SETENGAH_TERBUKA and len(trials) == 1
    release.set()
    for thread in running:
        thread.join()
    assert sorted(answers) == ["ok"] + ["terbuka"] * (threads - 1) and len(trials) == 1
    assert breaker.state == BreakerState.TERTUTUP and breaker.failures == 0


def test_a_trial_that_never_answered_lapses_after_the_period_and_a_failed_one_opens_again():
    clock = [0.0]
    breaker = opened_breaker(clock)
    clock[0] = 61.0
    release = threading.Event()
    hanging = threading.Thread(target=lambda: breaker.call(lambda: release.wait(5)))
    hanging.start()
    assert until(lambda: breaker.state == BreakerState.SETENGAH_TERBUKA)
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "belum")
    clock[0] = 122.0  # the first trial's period has passed: a second trial goes
    with pytest.raises(RuntimeError):
        breaker.call(lambda: (_ for _ in ()).throw(RuntimeError("masih turun")))
    assert breaker.state == BreakerState.TERBUKA and breaker.opened_at == 122.0
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "belum")
    release.set()
    hanging.join()  # the lapsed first trial answers at last: what the later trial found stands
    assert breaker.state == BreakerState.TERBUKA and breaker.opened_at == 122.0


# ---------------------------------------------------------------- bounded in number and first to go


def test_no_more_workers_evaluate_at_once_than_the_bound_and_a_thread_beyond_it_waits_then_is_told(monkeypatch):
    monkeypatch.setattr(sandbox_process, "MOST_AT_ONCE", 2)
    monkeypatch.setattr(sandbox_process, "WAIT_SECONDS", 1)
    own = sandbox_process._Pool()
    monkeypatch.setattr(sandbox_process, "_POOL", own)
    try:
        threads, wrong = 6, []
        start = threading.Barrier(threads)

        def evaluate(k: int) -> None:
            start.wait()
            for n in range(5):
                if sandbox_process.evaluate("len(x) + k", {"x": [0] * n, "k": k}) != n + k:
                    wrong.append(k)

        running = [threading.Thread(target=evaluate, args=(k,)) for k in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        assert wrong == [] and 1 <= len(own.started) <= 2  # six threads, two workers at most

        held = [own.take(), own.take()]  # both slots taken, as two long evaluations would
        with pytest.raises(sandbox.OverBudget, match="menunggu lebih dari 1 detik: 2 lainnya sedang berjalan"):
            sandbox_process.evaluate("len([1])", {})
        for worker in held:
            own.give_back(worker)
        assert sandbox_process.evaluate("len([1, 2])", {}) == 2
    finally:
        own.close()


def test_a_worker_is_the_first_the_kernel_ends_when_memory_runs_out(pool):
    sandbox_process.evaluate("len([1])", {})
    assert Path(f"/proc/{pool.idle[-1].process.pid}/oom_score_adj").read_text().strip() == "1000"


def test_the_cpu_budget_counts_from_each_evaluation_not_from_the_worker_s_start():
    """The kernel's count for `RLIMIT_CPU` can lag after many short evaluations, so a long-lived
    worker's runaway would run past it: a timer of the CPU used since the request ends it first."""
    worker = sandbox_process._Worker()
    try:
        assert worker.ask("evaluate", "len([1])", {}) == b'{"ok": 1}'
        with pytest.raises(sandbox.OverBudget, match="lebih dari 2 detik CPU"):
            worker.ask("execute", CPU_HOG, {})
        assert worker.process.returncode == -signal.SIGPROF
    finally:
        worker.stop()
