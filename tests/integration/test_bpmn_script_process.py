"""Administrators' BPMN conditions and scripts run in a process of their own: what the guards do not
foresee (one call into C that runs for ever, eats the memory or crashes the interpreter) ends that
process, never the server's; the step is refused and the next evaluation gets a new process. Also
the guards a review found open: a `%` width after a mapping key, `round` to a huge negative number
of digits, writes to the shared guards, and the CPU clock read on every line.
"""

from __future__ import annotations

import datetime
import stat
import struct
import sys
import tracemalloc
import uuid
from pathlib import Path

import pytest

from engine.bpmn import sandbox, sandbox_guards, sandbox_process, sandbox_worker
from engine.bpmn.sandbox_guards import Limits
from engine.core.config import DEFAULT_BPMN_DIR
from tests.factories import refused_when_run

DEFAULT = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
CONDITION = 'hasil_pemeriksaan["lolos"]'


def doubled(depth: int) -> str:
    """Two lists sharing their parts, 2**depth leaves each in `depth` cheap lines."""
    return f"a = [0]\nb = [0]\nfor i in range({depth}):\n    a = [a, a]\n    b = [b, b]\n"


def still_serving() -> None:
    assert sandbox_process.evaluate("len([1, 2, 3]) + 1", {}) == 4


# ---------------------------------------------------------------- the process and its limits


def test_a_condition_and_a_script_run_in_the_process_and_hand_back_plain_data():
    when = datetime.datetime(2026, 12, 5, 9, tzinfo=datetime.UTC)
    data = {"n": 2, "daftar": [1], "waktu": when}
    sandbox_process.execute("m = n * 3\nd = {'k': [1, 2]}\nsesudah = waktu\ndaftar.append(2)", data)
    assert data == {"n": 2, "daftar": [1, 2], "waktu": when, "m": 6, "d": {"k": [1, 2]}, "sesudah": when}
    assert sandbox_process.evaluate("max(n, 5) > 4", {"n": 1}) is True


def test_a_condition_that_only_reads_and_compares_runs_here_and_any_call_runs_there():
    assert sandbox_process._plain('keputusan == "kembalikan"') and sandbox_process._plain(CONDITION)
    assert not sandbox_process._plain("len(x) > 0") and not sandbox_process._plain("x[0:1] == y")
    assert not sandbox_process._plain("[i for i in x]") and not sandbox_process._plain("a + b > 1")


def test_a_mistake_in_a_condition_comes_back_as_the_same_error():
    with pytest.raises(NameError, match="tidak_ada"):
        sandbox_process.evaluate("len(tidak_ada)", {})
    with pytest.raises(ZeroDivisionError):
        sandbox_process.evaluate("len([1]) / 0", {})
    with pytest.raises(sandbox.OverBudget, match="lebar format"):
        sandbox_process.evaluate("len('%(a)200000s' % {'a': 1})", {})
    still_serving()


@pytest.mark.parametrize(
    "script",
    [doubled(60) + "c = a == b", "t = (0,)\nfor i in range(60):\n    t = (t, t)\nc = {t: 1}"],
    ids=["comparing", "hashing"],
)
def test_one_call_into_c_that_never_returns_is_ended_by_the_cpu_limit(script):
    """60 doublings are 60 cheap lines; comparing or hashing them walks 2**60 paths in one C call."""
    with pytest.raises(sandbox.OverBudget, match="detik"):
        sandbox_process.execute(script, {})
    still_serving()


def test_a_script_that_crashes_the_interpreter_does_not_end_the_server():
    """A tuple nested 200,000 deep is hashed by a C recursion with no depth check (SIGSEGV)."""
    nested = "t = (0,)\nfor i in range(100000):\n    t = (t,)\nfor i in range(100000):\n    t = (t,)\nc = {t: 1}"
    with pytest.raises(sandbox.SandboxError, match="menghentikan proses"):
        sandbox_process.execute(nested, {})
    still_serving()


def test_a_value_beyond_the_memory_is_refused_and_the_next_evaluation_starts_anew():
    with pytest.raises(sandbox.OverBudget, match="memori"):
        sandbox_process.execute("b = (0).to_bytes(2000000000, 'big')", {})
    still_serving()


def test_a_script_does_not_hand_back_a_value_beyond_the_size_or_depth_limit():
    """Written to the task data, a doubled structure would be expanded by the state's JSON outside
    every budget, holding the submission's lock; a deep one would exhaust the serializer's stack."""
    data = {"awal": 1}
    with pytest.raises(sandbox.OverBudget, match="terlalu besar"):
        sandbox_process.execute(doubled(18), data)
    with pytest.raises(sandbox.OverBudget, match="terlalu bersarang"):
        sandbox_process.execute("t = [0]\nfor i in range(100):\n    t = [t]", data)
    assert data == {"awal": 1}  # nothing written back


def test_what_cannot_be_stored_is_refused_with_its_kind():
    with pytest.raises(sandbox.SandboxError, match="generator"):
        sandbox_process.execute("g = (x for x in [1])", {})


def test_an_error_comes_back_with_the_type_and_arguments_it_was_raised_with():
    with pytest.raises(KeyError) as missing:
        sandbox_process.execute("x = {}['k']", {})
    assert missing.value.args == ("k",)  # SpiffWorkflow shows `KeyError:k`, as before
    with pytest.raises(sandbox.SandboxError, match="UnicodeDecodeError: 'utf-8' codec"):
        sandbox_process.execute("x = b'\\xff'.decode('utf-8')", {})


def test_a_script_hands_back_only_what_it_wrote_whatever_else_the_task_holds():
    """3,000 rows a handler left in the data are more than one script may build, and a UUID is
    not what a script may write: neither stops a script that leaves them alone."""
    rows = [{"nik": "6501011705500001", "nama": "x" * 20} for _ in range(3000)]
    data = {"rows": rows, "id_pengajuan": uuid.UUID(int=1)}
    sandbox_process.execute("x = 1", data)
    assert data == {"rows": rows, "id_pengajuan": uuid.UUID(int=1), "x": 1}
    sandbox_process.execute("rows.append({'nik': '1'})", data)
    assert len(data["rows"]) == 3001 and data["rows"] is not rows  # changed in place: handed back


def test_the_worker_does_not_inherit_the_servers_environment(monkeypatch):
    """The worker exists for a script that got past the guards: it must not find the database's
    address or the secret key there; ended by the kernel, it leaves no core file."""
    monkeypatch.setenv("SIJOSKU_DATABASE_URL", "postgresql://rahasia")
    worker = sandbox_process._Worker()
    try:
        assert b"rahasia" not in Path(f"/proc/{worker.process.pid}/environ").read_bytes()
        assert Path(f"/proc/{worker.process.pid}/cwd").resolve() == Path("/")
        assert worker.ask("evaluate", "len([1])", {}) == b'{"ok": 1}'  # started, it has limited itself
        limits = Path(f"/proc/{worker.process.pid}/limits").read_text().splitlines()
        assert [line.split()[-3:-1] for line in limits if line.startswith("Max core file size")] == [["0", "0"]]
        most = str(sandbox_worker.MEMORY_BYTES)
        assert [line.split()[-3:-1] for line in limits if line.startswith("Max address space")] == [[most, most]]
    finally:
        worker.stop()


# ---------------------------------------------------------------- a worker that does not play fair


FAKE_WORKER = """#!{python}
import os, struct, sys, time
size = struct.unpack("!i", os.read(0, 4))[0]
while size > 0:
    size -= len(os.read(0, size))
os.write(1, {raw!r})
time.sleep({sleep})
"""


@pytest.fixture
def compromised(monkeypatch, tmp_path):
    """`compromised(raw, sleep)`: the next worker answers with the bytes `raw`, then sleeps: what a
    script that took over its worker could write."""
    pool = sandbox_process._Pool()
    monkeypatch.setattr(sandbox_process, "_POOL", pool)

    def make(raw: bytes, sleep: float = 0.0) -> None:
        program = tmp_path / "pekerja_palsu.py"
        program.write_text(FAKE_WORKER.format(python=sys.executable, raw=raw, sleep=sleep), encoding="utf-8")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setattr(sys, "executable", str(program))

    yield make
    pool.close()


def framed(payload: bytes) -> bytes:
    return struct.pack("!i", len(payload)) + payload


MEMO_BOMB = b"\x80\x05X\x02\x00\x00\x00okr" + struct.pack("<I", 2**30) + b"N\x86."  # a pickle: 1 GB of memo


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (framed(MEMO_BOMB), "tidak terbaca"),
        (framed(b"5"), "tidak terbaca"),
        (framed(b'{"ok": ' + b"[" * 300_000 + b"]" * 300_000 + b"}"), "tidak terbaca"),
        (framed(b'{"ok": ' + b"[" * 100 + b"]" * 100 + b"}"), "terlalu bersarang"),
        (framed(b'{"ok": [' + b",".join([b"0"] * 200_000) + b"]}"), "terlalu besar"),
        (framed(b'{"ok": {"typename": "BpmnWorkflow", "x": 1}}'), "tidak terbaca"),
        (struct.pack("!i", 2**30), "terlalu besar"),
    ],
    ids=["pickle", "not-an-answer", "300000-deep", "100-deep", "200000-long", "not-data", "1-GB"],
)
def test_the_server_reads_an_answer_as_data_and_checks_it_again(compromised, answer, refusal):
    compromised(answer)
    tracemalloc.start()
    try:
        with pytest.raises(sandbox.SandboxError, match=refusal):
            sandbox_process.evaluate("len(x) > 0", {"x": [1]})  # calls: it runs in the worker
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak >> 20} MB allocated to read one answer"


def test_a_worker_that_stops_half_way_through_its_answer_is_bounded_by_the_wait(compromised, monkeypatch):
    monkeypatch.setattr(sandbox_process, "WAIT_SECONDS", 1)
    compromised(struct.pack("!i", 1000) + b'{"ok": ', sleep=30)
    with pytest.raises(sandbox.OverBudget, match="tidak selesai dalam 1 detik"):  # not the worker's 30 s
        sandbox_process.evaluate("len(x) > 0", {"x": [1]})


def test_a_gateway_condition_that_crashes_its_process_refuses_the_step(db):
    nest = "[(t := (t,)) for i in range(100000)]"
    crash = f"{CONDITION} and [(t := (0,))] and {nest} and {nest} and len({{t: 1}}) > 0"
    assert CONDITION in DEFAULT
    refused_when_run(db, DEFAULT.replace(CONDITION, crash, 1), "menghentikan proses")


# ---------------------------------------------------------------- the guards the review found open


@pytest.mark.parametrize(
    "source",
    ["'%(a)200000s' % {'a': 1}", "b'%(a)200000s' % {b'a': b'1'}", "'%(a).200000f' % {'a': 1.0}"],
)
def test_a_percent_width_after_a_mapping_key_is_sized(source):
    with pytest.raises(sandbox.OverBudget, match="lebar format"):
        sandbox.evaluate(source, {})


def test_a_constant_percent_width_after_a_mapping_key_is_refused_at_deploy():
    with pytest.raises(sandbox.OverBudget):
        sandbox.compile_expression("'%(a)200000s' % d")


def test_a_gateway_condition_with_a_keyed_percent_width_stops_the_step(db):
    wide = CONDITION + " and len(('%(a)2' + '00000s') % {'a': 1}) > 0"  # not a constant: only the run can tell
    refused_when_run(db, DEFAULT.replace(CONDITION, wide, 1), "terlalu besar")


def test_rounding_to_a_huge_negative_number_of_digits_is_refused():
    with pytest.raises(sandbox.OverBudget, match="pembulatan"):
        sandbox.evaluate("round(1, -n)", {"n": 200_000})
    assert sandbox.evaluate("round(1234, -2) + round(2.567, 2)", {}) == 1202.57


def test_a_script_cannot_replace_a_type_method_for_later_evaluations():
    shared = sandbox_guards._COPIERS["dict"]
    try:
        with pytest.raises(TypeError):
            sandbox.execute("dict.fromkeys = lambda *a, **k: {'dicurangi': True}", {})
        data: dict = {}
        sandbox.execute("b = dict.fromkeys(['x'], 0)", data)  # another diagram's script, later
        assert data["b"] == {"x": 0}
    finally:
        vars(shared).pop("fromkeys", None)


def test_an_evaluation_leaves_nothing_on_the_guards_for_the_next_to_read():
    with pytest.raises(TypeError):
        sandbox.execute("range.simpan = [nik]", {"nik": "6501011705500001"})
    assert "simpan" not in vars(sandbox_guards._range)
    data: dict = {"x": [1], "d": {}}
    sandbox.execute("x[0] = 2\nd['k'] = 1", data)  # a list's and a dict's items are still written
    assert data == {"x": [2], "d": {"k": 1}}


def test_the_first_line_after_the_cpu_budget_is_spent_is_stopped():
    budget = sandbox._StepBudget(Limits(seconds=-1.0))  # already spent
    with pytest.raises(sandbox.OverBudget, match="detik"):
        budget.on_step(None, "line", None)  # type: ignore[arg-type]
