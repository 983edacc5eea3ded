"""Inbox page server time with 10,000 open tasks in one verifier's region and 1,000,000 records.

Fills an empty database (regions, a kecamatan verifier, records spread over the province's desa,
tasks in the verifier's kecamatan and elsewhere), then requests the inbox page through the Flask
test client (server time only, no network) with the filters people use, and prints the median
and the 95th percentile. Target: p95 <= 50 ms.

Usage: python bench/inbox.py [--database-url URL] [--records N] [--tasks N] [--requests N]
The default database is a fresh SQLite file; --database-url must name an empty database.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, select

from bench.fixtures import empty_database, fill_records, province_desa
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.people import users
from models import HumanTask, ProcessDefinition, ProcessInstance, Tier
from web.app import create_app

KECAMATAN = "65.01.01"
PASSWORD = "sandi-bench-123"
BATCH = 20_000


def fill_tasks(db: Database, in_region: int, elsewhere: int, desa: list[str], rng: random.Random) -> None:
    """Open kecamatan tasks: `in_region` in the verifier's kecamatan, `elsewhere` in other kecamatan."""
    local = [d for d in desa if d.startswith(KECAMATAN + ".")]
    other = [d for d in desa if not d.startswith(KECAMATAN + ".")]
    now = datetime.now(UTC)
    with db.read() as s:
        definition_id = s.scalar(select(ProcessDefinition.id))
    plan = [local[i % len(local)] for i in range(in_region)] + [other[i % len(other)] for i in range(elsewhere)]
    for start in range(0, len(plan), 5_000):
        chunk = plan[start : start + 5_000]
        with db.transaction() as s:
            instances = [
                {
                    "definition_id": definition_id,
                    "business_key": f"bench/{start + i}",
                    "region_kode": code,
                    "periode": f"2026-Q{(start + i) % 4 + 1}",
                    "status": "berjalan",
                    "state": "{}",
                    "serializer_version": "1.5",
                    "revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, code in enumerate(chunk)
            ]
            ids = s.scalars(insert(ProcessInstance).returning(ProcessInstance.id), instances).all()
            s.execute(
                insert(HumanTask),
                [
                    {
                        "instance_id": instance_id,
                        "spiff_task_id": f"bench-{instance_id}",
                        "bpmn_id": "verifikasi_kecamatan",
                        "nama": "Verifikasi kecamatan",
                        "tingkat": Tier.KECAMATAN,
                        "region_kode": code[:8],
                        "kode_desa": code,
                        "periode": f"2026-Q{(start + i) % 4 + 1}",
                        "business_key": f"bench/{start + i}",
                        "submission_id": None,
                        "status": "terbuka",
                        "priority": rng.randint(0, 3),
                        "overdue": rng.random() < 0.1,
                        "due_at": now + timedelta(hours=rng.randint(-200, 600)),
                        "created_at": now,
                        "data": {},
                    }
                    for i, (instance_id, code) in enumerate(zip(ids, chunk, strict=True))
                ],
            )
        print(f"  tugas {start + len(chunk):>9,}", end="\r", flush=True)
    print()


SCENARIOS = [
    ("default (tenggat)", "/tugas/"),
    ("periode", "/tugas/?periode=2026-Q3"),
    ("sub-wilayah desa", "/tugas/?wilayah=65.01.01.2005"),
    ("terlambat", "/tugas/?terlambat=true"),
    ("prioritas", "/tugas/?urut=prioritas"),
    ("halaman 50", "/tugas/?halaman=50"),
]


def measure(db: Database, requests: int) -> dict[str, list[float]]:
    app = create_app(db.settings, db, testing=True)
    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert (
        client.post("/masuk", data={"username": "verif.bench", "password": PASSWORD, "csrf_token": token}).status_code
        == 302
    )
    timings: dict[str, list[float]] = {name: [] for name, _ in SCENARIOS}
    for name, path in SCENARIOS:  # warm-up
        assert client.get(path).status_code == 200, name
    for _ in range(max(1, requests // len(SCENARIOS))):
        for name, path in SCENARIOS:
            start = time.perf_counter()
            response = client.get(path)
            timings[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=10_000, help="open tasks in the verifier's region")
    parser.add_argument("--elsewhere", type=int, default=40_000, help="open tasks in other regions")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(65)
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "inbox")
        with db.transaction() as s:
            users.add_user(s, Actor.system("bench"), "verif.bench", "verifier", KECAMATAN, password=PASSWORD)
        desa = province_desa(db)
        started = time.perf_counter()
        fill_records(db, args.records, desa, rng)
        fill_tasks(db, args.tasks, args.elsewhere, desa, rng)
        with db.engine.begin() as conn:  # fresh planner statistics, as autovacuum would gather
            conn.exec_driver_sql("ANALYZE")
        print(f"filled in {time.perf_counter() - started:.0f} s")
        timings = measure(db, args.requests)
        db.dispose()
    everything = [t for values in timings.values() for t in values]
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"database: {db.engine.dialect.name}; {args.records:,} records, {args.tasks:,} open tasks in "
        f"{KECAMATAN}, {args.elsewhere:,} elsewhere"
    )
    for name, values in timings.items():
        print(f"  {name:20s} median {statistics.median(values):6.1f} ms   p95 {p95(values):6.1f} ms")
    print(
        f"all requests ({len(everything)}): median {statistics.median(everything):.1f} ms, "
        f"p95 {p95(everything):.1f} ms (target p95 <= 50 ms)"
    )


if __name__ == "__main__":
    main()
