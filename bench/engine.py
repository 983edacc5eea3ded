"""Engine throughput: raw SpiffWorkflow against the product's service functions, in one run.

Both run the default four-user-task process (operator, kecamatan, kabupaten, provinsi):
- raw: the spec is parsed once; each instance starts, and between tasks the workflow is
  serialized to JSON and deserialized again with SpiffWorkflow's own serializer;
- product: `open_submission`, `submit` and three approvals through the service functions, with
  state, revision checks, inbox rows, audit chain and outbox written in each transaction.

Usage: python bench/engine.py [--instances N] [--database-url URL]
The default database is a fresh SQLite file (the embedded default); --database-url must name an
empty database that may be filled. The target ratio is >= 0.5 on SQLite.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

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

from engine import submissions, tasks, users
from engine.actors import Actor
from engine.config import DEFAULT_BPMN_DIR, load_settings
from engine.setup import initialise
from engine.uow import Database
from models import HumanTask, Submission, TaskStatus

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


def make_team(db: Database) -> dict[str, Actor]:
    system = Actor.system("bench")
    team = {"desa": "op.bench", "kecamatan": "kec.bench", "kabupaten": "kab.bench", "provinsi": "prov.bench"}
    with db.transaction() as session:
        for (tier, name), region in zip(team.items(), [DESA, DESA[:8], DESA[:5], DESA[:2]], strict=True):
            users.add_user(session, system, name, "operator" if tier == "desa" else
                           "validator" if tier == "provinsi" else "verifier", region)
    # The caller (a web request, a CLI command) loads the acting user; the services take it as given.
    with db.read() as session:
        return {tier: Actor.of(users.find_user(session, name)) for tier, name in team.items()}


OPEN_TASK = select(HumanTask.id).where(HumanTask.submission_id == bindparam("sid"),
                                       HumanTask.status == TaskStatus.TERBUKA)


def product(db: Database, actors: dict[str, Actor], periods: list[str]) -> float:
    """Seconds for one instance per period, through the service functions."""
    system = Actor.system("bench")
    start = time.perf_counter()
    for period in periods:
        with db.transaction() as session:
            submission_id = submissions.open_submission(session, system, DESA, period, "65").submission.id
        with db.transaction() as session:
            submissions.submit(session, actors["desa"], submission_id)
        for tier in ("kecamatan", "kabupaten", "provinsi"):
            with db.transaction() as session:
                task_id = session.scalar(OPEN_TASK, {"sid": submission_id})  # what the inbox shows
                tasks.complete_task(session, actors[tier], task_id, "approve")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6, help="raw and product alternate, to share the noise")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    per_round = max(1, args.instances // args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "b"}))
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
        db.dispose()
    raw, ours = per_round / statistics.median(raw_times), per_round / statistics.median(product_times)
    print(f"{args.rounds} rounds of {per_round} instances each; medians")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"database: {db.engine.dialect.name}")
    print(f"raw SpiffWorkflow (parse once, serialize between tasks): {raw:8.1f} instances/s")
    print(f"SIJOSKU services (state, inbox, audit, outbox, commits):   {ours:8.1f} instances/s")
    print(f"ratio product/raw: {ours / raw:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
