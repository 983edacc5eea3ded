"""Moving running instances between process versions, and the diagram lint, in one run.

N submissions are opened on version 1 of the default process (each waits at the desa task), a
version 2 with a renamed kecamatan step and a 10-day SLA is deployed, and then:
- the dry run of moving them all (load, re-point, serialize and load again, nothing written);
- the move itself (each instance its own transaction: lock, revision check, state, inbox rows, audit);
- the move back to version 1;
- the lint of the default diagram, repeated.
Figures are instances per second in one run, and the move's cost as a ratio of opening a submission
(the same machine, the same run).

Usage: python bench/process_versions.py [--instances N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from lxml import etree
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.bpmn import lint
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR, load_settings
from engine.core.uow import Database
from engine.setup.initialise import initialise
from engine.verification import processes, submissions
from engine.verification.service_tasks import PROCESS_VARIABLES
from models import Region, Tier

SYSTEM = Actor.system("bench")
XML = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
V2 = (
    XML.replace('id="verifikasi_kecamatan"', 'id="verifikasi_kec"')
    .replace('attachedToRef="verifikasi_kecamatan"', 'attachedToRef="verifikasi_kec"')
    .replace("<bpmn:flowNodeRef>verifikasi_kecamatan<", "<bpmn:flowNodeRef>verifikasi_kec<")
    .replace('targetRef="verifikasi_kecamatan"', 'targetRef="verifikasi_kec"')
    .replace('sourceRef="verifikasi_kecamatan"', 'sourceRef="verifikasi_kec"')
    .replace('bpmnElement="verifikasi_kecamatan"', 'bpmnElement="verifikasi_kec"')
    .replace("&quot;verifikasi_kecamatan&quot;", "&quot;verifikasi_kec&quot;")
    .replace("sla_durasi</bpmn:timeDuration>", '"P10D"</bpmn:timeDuration>', 1)
)


def run(db: Database, n: int) -> dict[str, float]:
    with db.read() as s:
        desa = list(
            s.scalars(
                select(Region.kode)
                .where(Region.tingkat == Tier.DESA, Region.kode.like("65.%"))
                .order_by(Region.kode)
                .limit(n)
            )
        )
    assert len(desa) == n, f"only {len(desa)} desa in the reference data"
    started = time.perf_counter()
    for kode in desa:
        with db.transaction() as s:
            submissions.open_submission(s, SYSTEM, kode, "2026-Q4", "65")
    opened = time.perf_counter() - started
    with db.transaction() as s:
        processes.deploy(s, SYSTEM, V2)
    timings = {"open": opened}
    for name, args in (("dry run", (1, 2, None, True)), ("move", (1, 2, None, False)), ("back", (2, 1, None, False))):
        started = time.perf_counter()
        report = processes.migrate_instances(db, SYSTEM, "verifikasi_berjenjang", *args)
        timings[name] = time.perf_counter() - started
        assert report.moved == n and report.refused == 0, (name, report.refused)
    root = etree.fromstring(XML.encode())
    started = time.perf_counter()
    for _ in range(50):
        lint.lint(root, PROCESS_VARIABLES)
    timings["lint"] = (time.perf_counter() - started) / 50
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        db = bootstrap(
            Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "b"}))
        )
        initialise(db)
        t = run(db, args.instances)
        db.dispose()
    n = args.instances
    print(f"machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}")
    print(f"database: {url.split(':')[0]}; instances: {n}")
    print(f"open submissions: {n / t['open']:.1f} instances/s")
    for name in ("dry run", "move", "back"):
        print(f"{name}: {n / t[name]:.1f} instances/s (cost vs opening: {t[name] / t['open']:.2f})")
    print(f"lint of the default diagram: {t['lint'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
