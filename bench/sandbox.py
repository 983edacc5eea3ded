"""What the budget costs a BPMN condition: the bounded evaluator against plain `eval` of the same
compiled code, and the engine's path (in the worker process when the condition calls anything), in
one run; and how fast a runaway expression is stopped, and one call into C that never returns.

Usage: python bench/sandbox.py [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.bpmn import sandbox, sandbox_process  # noqa: E402

CONDITIONS = {
    "the default process's condition": ('keputusan == "kembalikan"', {"keputusan": "setuju"}),
    "a condition that calls a builtin": ("len(daftar) > 0", {"daftar": ["a", "b", "c"]}),
    "a loop over 1,000 items": ("sum([x * 2 for x in items]) > 0", {"items": list(range(1000))}),
}


def _per_call(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20_000)
    repeat = parser.parse_args().repeat
    print(f"Python {platform.python_version()} on {platform.machine()}, {repeat} evaluations each")
    for name, (source, context) in CONDITIONS.items():
        code = sandbox.compile_expression(source)
        plain = _per_call(lambda c=code, d=context: eval(c, sandbox._globals(d)), repeat)  # noqa: S307
        bounded = _per_call(lambda s=source, d=context: sandbox.evaluate(s, d), repeat)
        engine = _per_call(lambda s=source, d=context: sandbox_process.evaluate(s, d), repeat)
        where = "this process" if sandbox_process._plain(source) else "the worker"
        print(
            f"{name}: plain {plain:.1f} µs, bounded {bounded:.1f} µs, ratio {bounded / plain:.1f}; "
            f"the engine's path ({where}) {engine:.1f} µs"
        )
    for name, source, context in (
        ("nested loops (step budget)", "len([1 for i in range(n) for j in range(n)])", {"n": 100_000}),
        ("10 ** n (size check)", "x ** n", {"x": 10, "n": 10**10}),
    ):
        start = time.perf_counter()
        try:
            sandbox.evaluate(source, context)
        except sandbox.OverBudget as exc:
            print(f"{name}: stopped after {time.perf_counter() - start:.3f} s ({exc})")
    start = time.perf_counter()
    doubled = "a = [0]\nb = [0]\nfor i in range(60):\n    a = [a, a]\n    b = [b, b]\nc = a == b"
    try:
        sandbox_process.execute(doubled, {})
    except sandbox.OverBudget as exc:
        print(f"comparing 2**60 shared paths (one C call): stopped after {time.perf_counter() - start:.3f} s ({exc})")


if __name__ == "__main__":
    main()
