"""Engine throughput: raw SpiffWorkflow against the product's service functions, in one run.

Both run the default four-user-task process (operator, kecamatan, kabupaten, provinsi):
- raw: the spec is parsed once; each instance starts, and between tasks the workflow is
  serialized to JSON and deserialized again with SpiffWorkflow's own serializer;
- product: `open_submission`, `submit` and three approvals through the service functions, with
  state, revision checks, inbox rows, audit chain and outbox written in each transaction.

Usage: python bench/engine.py [--instances N] [--database-url URL] [--workers 4] [--national]
The default database is a fresh SQLite file (the embedded default); --database-url must name an
empty database that may be filled. Targets: ratio >= 0.5 on both databases; on PostgreSQL, 4 worker
processes >= 3x one (`--workers 4`), and a cycle opened for all 83,762 desa in <= 60 s (`--national`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `engine` package; the project root takes its place.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select

from bench.cycles import open_national
from bench.fixtures import python_calls, statements_sent
from engine.bootstrap import bootstrap
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR, load_settings
from engine.core.uow import Database
from engine.people import users
from engine.setup.initialise import initialise
from engine.verification import decisions, submissions
from models import CycleRhythm, HumanTask, Region, Submission, TaskStatus, Tier

BPMN = DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn"
DESA = "65.01.01.2005"
DECISIONS = ["ajukan", "setuju", "setuju", "setuju"]


class _StubServices(PythonScriptEngine):
    def call_service(self, task, operation_name="", operation_params=None, **_):  # noqa: ANN001
        return json.dumps({"lolos": True} if operation_name == "run_quality_checks" else {})


def raw_spiff(n: int) -> float:
    """Seconds for `n` instances."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("verifikasi_berjenjang")
    subprocess_specs = parser.get_subprocess_specs("verifikasi_berjenjang")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    engine = _StubServices()
    start = time.perf_counter()
    for _ in range(n):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update({"sla_durasi": "P14D"})
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        for decision in DECISIONS:
            workflow = serializer.deserialize_json(state)
            workflow.script_engine = engine
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update({"keputusan": decision})
            task.run()
            workflow.do_engine_steps()
            state = serializer.serialize_json(workflow)
        assert workflow.completed
    return time.perf_counter() - start


def _periods(start: int, n: int) -> list[str]:
    """Distinct periods for one desa (a submission is unique per desa and period)."""
    return [f"{2000 + i // 6}-{['Q1', 'Q2', 'Q3', 'Q4', 'S1', 'S2'][i % 6]}" for i in range(start, start + n)]


def make_team(db: Database, desa: str = DESA, suffix: str = "") -> dict[str, Actor]:
    system = Actor.system("bench")
    team = {
        "desa": f"op.bench{suffix}",
        "kecamatan": f"kec.bench{suffix}",
        "kabupaten": f"kab.bench{suffix}",
        "provinsi": f"prov.bench{suffix}",
    }
    with db.transaction() as session:
        if session.scalar(select(CycleRhythm.id).limit(1)) is None:
            # The signed minutes are a setting (required by default); this measures the engine, not uploads.
            session.add(CycleRhythm(berita_acara_wajib=False))
        for (tier, name), region in zip(team.items(), [desa, desa[:8], desa[:5], desa[:2]], strict=True):
            users.add_user(
                session,
                system,
                name,
                "operator" if tier == "desa" else "validator" if tier == "provinsi" else "verifier",
                region,
            )
    # The caller (a web request, a CLI command) loads the acting user; the services take it as given.
    with db.read() as session:
        return {tier: Actor.of(users.find_user(session, name)) for tier, name in team.items()}


OPEN_TASK = select(HumanTask.id).where(
    HumanTask.submission_id == bindparam("sid"), HumanTask.status == TaskStatus.TERBUKA
)


def product(db: Database, actors: dict[str, Actor], periods: list[str], desa: str = DESA) -> float:
    """Seconds for one instance per period, through the service functions."""
    system = Actor.system("bench")
    start = time.perf_counter()
    for period in periods:
        with db.transaction() as session:
            opened = submissions.open_submission(session, system, desa, period, "65").submission
            opened.nihil = True  # an empty submission goes up only as a nil report; items are not measured here
            submission_id = opened.id
        with db.transaction() as session:
            submissions.submit(session, actors["desa"], submission_id)
        for tier in ("kecamatan", "kabupaten", "provinsi"):
            with db.transaction() as session:
                task_id = session.scalar(OPEN_TASK, {"sid": submission_id})  # what the inbox shows
                decisions.decide(
                    session,
                    actors[tier],
                    decisions.DecisionCommand(task_id=task_id, keputusan="setuju", semua_sesuai=True),
                )
    return time.perf_counter() - start


def breakdown(db: Database, actors: dict[str, Actor], periods: list[str]) -> tuple[float, float, float]:
    """Per instance of `product`: statements sent, wall ms and this process's user CPU ms (the rest
    of the wall time waits for the database)."""
    before = os.times()
    with statements_sent(db.engine) as sent:
        wall = product(db, actors, periods)
    n = len(periods)
    return sent[0] / n, wall / n * 1000, (os.times().user - before.user) / n * 1000


def _connect(url: str, tmp: str) -> Database:
    return bootstrap(
        Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "b"}))
    )


def _worker(url: str, tmp: str, desa: str, suffix: str, periods: list[str], go: Any, results: Any) -> None:
    """One process of the scale-out run: its own desa, team and connection; waits for the start signal."""
    db = _connect(url, tmp)
    with db.read() as session:
        names = {"desa": "op", "kecamatan": "kec", "kabupaten": "kab", "provinsi": "prov"}
        actors = {tier: Actor.of(users.find_user(session, f"{n}.bench{suffix}")) for tier, n in names.items()}
    product(db, actors, periods[:2], desa)  # warm-up: imports, parsed definition, connection
    results.put(("ready", 0.0))
    go.wait()
    results.put(("done", product(db, actors, periods[2:], desa)))
    db.dispose()


class ScaleOut:
    """Instances per second with 1 and with N worker processes, each its own desa and connection."""

    def __init__(self, db: Database, url: str, tmp: str, workers: int) -> None:
        with db.read() as session:
            self.desa = sorted(
                session.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like("65.%")))
            )[:workers]
        for number, desa in enumerate(self.desa):
            make_team(db, desa, f".w{number}")
        self.url, self.tmp, self.used = url, tmp, 0

    def run(self, workers: int, per_worker: int) -> float:
        context = multiprocessing.get_context("spawn")
        go, results = context.Event(), context.Queue()
        periods = _periods(self.used, per_worker + 2)
        self.used += per_worker + 2
        processes = [
            context.Process(target=_worker, args=(self.url, self.tmp, desa, f".w{n}", periods, go, results))
            for n, desa in enumerate(self.desa[:workers])
        ]
        for process in processes:
            process.start()
        for _ in processes:
            results.get(timeout=600)
        start = time.perf_counter()
        go.set()
        for _ in processes:
            results.get(timeout=3600)
        wall = time.perf_counter() - start
        for process in processes:
            process.join()
        return workers * per_worker / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6, help="raw and product alternate, to share the noise")
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=0, help="also measure N worker processes against one")
    parser.add_argument("--per-worker", type=int, default=40, help="instances per worker process and round")
    parser.add_argument("--national", action="store_true", help="also open a cycle for all 83,762 desa")
    args = parser.parse_args()
    per_round = max(1, args.instances // args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = _connect(url, tmp)
        initialise(db)
        with db.read() as session:
            if session.scalar(select(Submission.id).limit(1)) is not None:
                sys.exit(f"{url} sudah berisi pengajuan; beri basis data kosong yang boleh diisi")
        actors = make_team(db)
        raw_spiff(10), product(db, actors, _periods(0, 10))  # warm-up: imports, caches
        raw_times, product_times = [], []
        for round_no in range(args.rounds):
            raw_times.append(raw_spiff(per_round))
            product_times.append(product(db, actors, _periods(10 + round_no * per_round, per_round)))
        raw, ours = per_round / statistics.median(raw_times), per_round / statistics.median(product_times)
        print(f"{args.rounds} rounds of {per_round} instances each; medians")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
            f"{platform.python_implementation()} {platform.python_version()}, database: {db.engine.dialect.name}"
        )
        print(f"raw SpiffWorkflow (parse once, serialize between tasks): {raw:8.1f} instances/s")
        print(f"SIJOSKU services (state, inbox, audit, outbox, commits):   {ours:8.1f} instances/s")
        print(f"ratio product/raw: {ours / raw:.2f} (target >= 0.5)")
        next_period = 10 + args.rounds * per_round
        statements, wall, cpu = breakdown(db, actors, _periods(next_period, per_round))
        print(f"per instance: {statements:.0f} statements, {wall:.1f} ms, of which {cpu:.1f} ms this process's CPU")
        raw_calls = python_calls(raw_spiff, 10)
        our_calls = python_calls(lambda n: product(db, actors, _periods(next_period + per_round, n)), 10)
        print(f"Python function calls per instance: raw {raw_calls:,.0f}, SIJOSKU {our_calls:,.0f}")
        if args.workers > 1:
            scale = ScaleOut(db, url, tmp, args.workers)
            one, many = [], []
            for _ in range(2):  # alternating, so that the machine's noise hits both
                one.append(scale.run(1, args.per_worker))
                many.append(scale.run(args.workers, args.per_worker))
            single, several = statistics.median(one), statistics.median(many)
            print(
                f"scale-out: 1 process {single:.1f} instances/s, {args.workers} processes {several:.1f} instances/s: "
                f"{several / single:.2f}x (target >= 3x with 4)"
            )
        if args.national:
            opened, seconds, count, intact = open_national(db)
            print(
                f"national cycle: {opened:,} desa in {seconds:.1f} s ({opened / seconds:,.0f} desa/s; {count:,} "
                f"submissions; audit chain {'intact' if intact else 'BROKEN'}) (target <= 60 s)"
            )
        db.dispose()


if __name__ == "__main__":
    main()
