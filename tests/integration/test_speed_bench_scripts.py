"""The workflow-speed benchmarks of docs/benchmarks.md: each script runs at a tiny size on both
databases, and each figure it prints is what the document says it is (a ratio the right way round,
a rate over the right count, a median or percentile of the right list), checked on known inputs.
No timing is asserted: the clocks the figures are read from are replaced by clocks that tick by
known amounts."""

from __future__ import annotations

import itertools
import random
import re
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import bench.api as api_bench
import bench.approval as approval_bench
import bench.crowded_day as crowded_bench
import bench.engine as engine_bench
import bench.http as http_bench
import bench.inbox as inbox_bench
import bench.pages as pages_bench
import bench.process_versions as versions_bench
import bench.sandbox as sandbox_bench
import bench.statements as statements_bench
import bench.timers as timers_bench
from bench.fixtures import fill_records, province_desa, python_calls, statements_sent
from engine.core.actors import Actor
from engine.people import users
from engine.quality.names import earlier_alikes
from engine.quality.namesakes import MOST_ALIKE
from engine.verification import bulk_approval
from models import (
    AggregateValue,
    Category,
    HumanTask,
    ItemAction,
    ItemSource,
    ProcessInstance,
    Record,
    RecordVersion,
    Region,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    TaskStatus,
    VervalStatus,
)
from web.app import create_app


def ticking(step: float):  # noqa: ANN201
    """A clock that moves `step` seconds each time it is read."""
    return itertools.count(0.0, step).__next__


def run_main(module, monkeypatch, capsys, *args: str) -> list[str]:  # noqa: ANN001
    monkeypatch.setattr(sys, "argv", [module.__name__, *args])
    module.main()
    return capsys.readouterr().out.splitlines()


def number(line: str, pattern: str) -> float:
    found = re.search(pattern, line)
    assert found, (pattern, line)
    return float(found.group(1).replace(",", ""))


def hey_output(codes: dict[int, int], p99: bool = True, errors: int = 0) -> str:
    """What `hey` prints: summary, latency distribution, status codes and requests with no answer."""
    tail = "  99% in 0.2345 secs\n" if p99 else ""
    lines = "".join(f"  [{code}]\t{n} responses\n" for code, n in codes.items())
    return (
        "\nSummary:\n  Total:\t6.0123 secs\n  Slowest:\t0.9000 secs\n  Requests/sec:\t123.4567\n\n"
        "Latency distribution:\n  10% in 0.0100 secs\n  50% in 0.0500 secs\n  95% in 0.1500 secs\n"
        f"{tail}\nStatus code distribution:\n{lines}\n"
        + (f"Error distribution:\n  [{errors}]\tGet: context deadline exceeded\n" if errors else "")
    )


def fake_run(monkeypatch, module, out: str) -> list[list[str]]:  # noqa: ANN001
    commands: list[list[str]] = []

    def run(command, **_):  # noqa: ANN001, ANN202
        commands.append(command)
        return SimpleNamespace(stdout=out)

    monkeypatch.setattr(module, "subprocess", SimpleNamespace(run=run))
    return commands


def test_python_calls_are_counted_per_unit_of_work():
    def leaf() -> None:
        pass

    def work(n: int) -> None:
        for _ in range(n * 5):
            leaf()

    # 50 calls of leaf, one of work, one of the profiler's own disable: 52 over 10 units
    assert python_calls(work, 10) == pytest.approx(5.2)


def test_statements_sent_counts_what_the_block_sends_only(db):
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # the connection's own set-up is sent before
        with statements_sent(db.engine) as sent:
            for _ in range(3):
                conn.exec_driver_sql("SELECT 1")
        conn.exec_driver_sql("SELECT 1")
    assert sent == [3]


def test_engine_instances_go_through_every_tier_and_statements_are_per_instance(db):
    assert len(set(engine_bench._periods(0, 12))) == 12  # a submission is unique per desa and period
    assert engine_bench.raw_spiff(1) > 0  # the raw loop asserts each instance completed
    actors = engine_bench.make_team(db)
    engine_bench.product(db, actors, engine_bench._periods(0, 2))
    with db.read() as s:
        statuses = list(s.scalars(select(Submission.status).where(Submission.kode_desa == engine_bench.DESA)))
    assert statuses == [SubmissionStatus.TERVERIFIKASI] * 2
    with statements_sent(db.engine) as sent:
        engine_bench.product(db, actors, engine_bench._periods(2, 1))
    statements, wall, cpu = engine_bench.breakdown(db, actors, engine_bench._periods(3, 2))
    assert statements == sent[0] and wall > 0 and cpu >= 0


def test_engine_report_compares_median_rates_of_the_measured_rounds(db, monkeypatch, capsys):
    raw_rounds, product_rounds, periods = iter([0.04, 0.4, 0.04]), iter([0.16, 0.016, 0.16, 0.16]), []

    def raw(n: int) -> float:
        return 100.0 if n == 10 else next(raw_rounds)  # the warm-up of 10 is slow and not counted

    def product(db, actors, chosen, desa=engine_bench.DESA):  # noqa: ANN001, ANN202
        periods.extend(chosen)
        return 100.0 if len(chosen) == 10 else next(product_rounds)

    class Scale:
        def __init__(self, db, url, tmp, workers) -> None:  # noqa: ANN001
            self.rates = {1: iter([8.0, 12.0]), workers: iter([20.0, 40.0])}

        def run(self, workers: int, per_worker: int) -> float:
            assert per_worker == 5
            return next(self.rates[workers])

    monkeypatch.setattr(engine_bench, "_connect", lambda url, tmp: db)
    monkeypatch.setattr(engine_bench, "initialise", lambda db: None)
    monkeypatch.setattr(engine_bench, "raw_spiff", raw)
    monkeypatch.setattr(engine_bench, "product", product)
    monkeypatch.setattr(engine_bench, "python_calls", lambda run, n: 43_000.0)
    monkeypatch.setattr(engine_bench, "ScaleOut", Scale)
    monkeypatch.setattr(engine_bench, "open_national", lambda db: (1000, 4.0, 1000, True))
    argv = ["--instances", "12", "--rounds", "3", "--workers", "4", "--per-worker", "5", "--national"]
    lines = run_main(engine_bench, monkeypatch, capsys, *argv)
    assert lines[0] == "3 rounds of 4 instances each; medians"
    assert number(lines[2], r"raw SpiffWorkflow.*:\s+([\d.]+) instances/s") == 100.0  # 4 / 0.04
    assert number(lines[3], r"SIJOSKU services.*:\s+([\d.]+) instances/s") == 25.0  # 4 / 0.16
    assert number(lines[4], r"ratio product/raw: ([\d.]+)") == 0.25
    assert number(lines[5], r"per instance: \d+ statements, ([\d.]+) ms") == 40.0  # 0.16 s over 4
    assert number(lines[6], r"raw ([\d,]+)") == 43_000
    assert number(lines[7], r"1 process ([\d.]+)") == 10.0 and number(lines[7], r"4 processes ([\d.]+)") == 30.0
    assert number(lines[7], r"([\d.]+)x") == 3.0
    assert number(lines[8], r"\(([\d,]+) desa/s") == 250 and "audit chain intact" in lines[8]
    assert len(periods) == len(set(periods))  # no period used twice for the one desa


def test_statement_cost_is_the_median_round_per_statement(monkeypatch):
    clock = {"cpu": 0.0, "wall": 0.0}
    monkeypatch.setattr(
        statements_bench, "time", SimpleNamespace(process_time=lambda: clock["cpu"], perf_counter=lambda: clock["wall"])
    )
    calls = {"a": 0, "b": 0}

    def statement(name: str, cpu: float, wall: float):  # noqa: ANN202
        def run() -> None:
            calls[name] += 1
            slow = 1000 if 10 < calls[name] <= 30 else 1  # the first measured round of 20: an outlier
            clock["cpu"] += cpu * slow * 1e-6
            clock["wall"] += wall * slow * 1e-6

        return run

    found = statements_bench._measure({"a": statement("a", 3, 7), "b": statement("b", 10, 12)}, 100, rounds=5)
    assert calls == {"a": 110, "b": 110}  # a warm-up of a tenth, then five rounds of 20
    assert found["a"] == (pytest.approx(3.0), pytest.approx(7.0))
    assert found["b"] == (pytest.approx(10.0), pytest.approx(12.0))


def test_statements_script_prints_each_statement_on_either_database(db, monkeypatch, capsys, is_postgresql):
    assert len(HumanTask.__table__.columns) == 23  # "one ORM row of 23 columns"
    monkeypatch.setattr(statements_bench, "empty_database", lambda url, tmp, name: db)
    lines = run_main(statements_bench, monkeypatch, capsys, "--runs", "20")
    rows = [line for line in lines if re.search(r"\d+ us CPU +\d+ us wall$", line)]
    expected = ["SELECT 1 through the driver alone", "SELECT 1 through SQLAlchemy (text)", "one column of one row"]
    expected += ["one ORM row of 23 columns"] + (["the same, psycopg's own description"] if is_postgresql else [])
    assert [row[:38].rstrip() for row in rows] == expected


def test_one_kelurahan_approval_is_timed_per_item_and_writes_new_versions(db, monkeypatch, capsys):
    monkeypatch.setattr(approval_bench, "time", SimpleNamespace(perf_counter=ticking(1.0)))
    approval_bench.one_kelurahan(db, 4)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["2026-Q1 (new records)", "2026-Q2 (register re-verified)"]
    for line in lines:
        assert number(line, r"approval ([\d.]+) s") == 1.0
        assert number(line, r"\(([\d.]+) ms an item\)") == 250.0  # one second over four items
        assert number(line, r"s, ([\d,]+) statements") > 0
    with db.read() as s:
        records = list(s.scalars(select(Record.id).where(Record.kode_desa == approval_bench.DESA)))
        versions = s.scalar(select(func.count()).select_from(RecordVersion).where(RecordVersion.record_id.in_(records)))
        statuses = set(s.scalars(select(Submission.status).where(Submission.kode_desa == approval_bench.DESA)))
        second = select(SubmissionItem.source).join(Submission).where(Submission.periode == "2026-Q2")
        sources = list(s.scalars(second.where(Submission.kode_desa == approval_bench.DESA)))
    assert len(records) == 4 and versions == 8  # four new records, then a new version of each
    assert sources == [ItemSource.REGISTER] * 4  # the second period re-verifies the register's people
    assert statuses == {SubmissionStatus.TERVERIFIKASI}


def test_second_period_approves_the_register_re_verified_unchanged(db):
    actors = approval_bench.make_team(db, approval_bench.DESA)
    approval_bench.decide(db, actors["provinsi"], approval_bench.prepared(db, actors, "2026-Q1", 3))
    second = approval_bench.prepared(db, actors, "2026-Q2", 3)
    with db.read() as s:
        columns = select(SubmissionItem.aksi, SubmissionItem.verval)
        items = s.execute(columns.where(SubmissionItem.submission_id == second)).all()
    assert [tuple(item) for item in items] == [(ItemAction.PERIKSA, VervalStatus.LAYAK)] * 3


def test_whole_city_is_approved_in_turns_within_the_item_budget(db, monkeypatch, capsys):
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", 4)
    monkeypatch.setattr(approval_bench, "time", SimpleNamespace(perf_counter=ticking(1.0)))
    places = approval_bench.kelurahan(db, 2)
    assert len(places) == 2 and all(re.fullmatch(r"65\.71\.\d\d\.\d{4}", p) for p in places)
    approval_bench.whole_city(db, 2, 3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line in lines:  # three items each: the second kelurahan would pass 4, so it waits for a second action
        assert "approves 2 kelurahan of 6 items in 2 action(s) of at most 4 items" in line
        assert number(line, r"longest ([\d.]+) s") == 1.0 and number(line, r"all ([\d.]+) s") == 2.0
        assert number(line, r"\(([\d.]+) ms an item\)") == 333.33


def test_approval_options_choose_the_budget_and_the_run(monkeypatch, capsys):
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", bulk_approval.ITEM_BUDGET)
    fake = SimpleNamespace(engine=SimpleNamespace(dialect=SimpleNamespace(name="sqlite")), dispose=lambda: None)
    monkeypatch.setattr(approval_bench, "empty_database", lambda url, tmp, name: fake)
    runs = []
    budget = bulk_approval  # read when the run starts, as the bulk action reads it
    monkeypatch.setattr(approval_bench, "whole_city", lambda db, k, n: runs.append(("city", k, n, budget.ITEM_BUDGET)))
    monkeypatch.setattr(approval_bench, "one_kelurahan", lambda db, n: runs.append(("one", n)))
    run_main(approval_bench, monkeypatch, capsys, "--items", "3", "--kelurahan", "2", "--item-budget", "7")
    run_main(approval_bench, monkeypatch, capsys, "--items", "5")
    assert runs == [("city", 2, 3, 7), ("one", 5)]


def test_p95_is_the_95th_percentile_of_the_list():
    values = [float(v) for v in range(1, 101)]
    assert inbox_bench.p95(values) == pytest.approx(95.95) == inbox_bench.p95(list(reversed(values)))
    assert inbox_bench.p95([3.0, 9.0, 1.0]) == 9.0  # fewer than 20: the slowest


def test_inbox_tasks_are_placed_in_and_outside_the_verifiers_kecamatan(db):
    with db.transaction() as s:
        users.add_user(s, Actor.system("bench"), "verif.bench", "verifier", inbox_bench.KECAMATAN, inbox_bench.PASSWORD)
    desa = province_desa(db)
    assert len(desa) == 482  # "spread over the province's 482 desa"
    fill_records(db, 30, desa, random.Random(1))
    inbox_bench.fill_tasks(db, 5, 7, desa, random.Random(2))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 30
        regions = list(s.scalars(select(HumanTask.region_kode).where(HumanTask.status == TaskStatus.TERBUKA)))
    assert sorted(r == inbox_bench.KECAMATAN for r in regions) == [False] * 7 + [True] * 5
    timings = inbox_bench.measure(db, 12)
    assert list(timings) == [name for name, _ in inbox_bench.SCENARIOS] and len(timings) == 6
    assert all(len(values) == 2 for values in timings.values())


def test_inbox_report_gives_each_views_and_all_requests_median_and_p95(db, monkeypatch, capsys):
    low = [float(i * i) for i in range(1, 21)]
    timings = {name: list(low) for name, _ in inbox_bench.SCENARIOS}
    timings["prioritas"] = [1000 + v for v in low]
    monkeypatch.setattr(inbox_bench, "empty_database", lambda url, tmp, name: db)
    monkeypatch.setattr(inbox_bench, "fill_records", lambda *args: None)
    monkeypatch.setattr(inbox_bench, "fill_tasks", lambda *args: None)
    monkeypatch.setattr(inbox_bench, "measure", lambda db, requests: timings)
    lines = run_main(inbox_bench, monkeypatch, capsys, "--records", "0", "--tasks", "0", "--elsewhere", "0")
    views = {line[2:22].strip(): line for line in lines if line.startswith("  ") and " p95 " in line}
    assert list(views) == [name for name, _ in inbox_bench.SCENARIOS]
    for name, line in views.items():
        base = 1000 if name == "prioritas" else 0
        assert number(line, r"median +([\d.]+) ms") == pytest.approx(base + 110.5)
        assert number(line, r"p95 +([\d.]+) ms") == pytest.approx(base + 398.05, abs=0.051)
    summary = lines[-1]  # 100 requests of the low list and 20 of the high one
    assert number(summary, r"all requests \((\d+)\)") == 120
    assert number(summary, r"median ([\d.]+) ms") == pytest.approx(156.5)
    assert number(summary, r"p95 ([\d.]+) ms") == pytest.approx(1223.55, abs=0.051)


def test_hey_answers_are_read_as_rate_p99_and_non_200(monkeypatch):
    commands = fake_run(monkeypatch, http_bench, hey_output({200: 50, 302: 3, 500: 2}))
    assert http_bench.hey("http://127.0.0.1:1/tugas/", "s=1", 32, 6) == (123.4567, pytest.approx(234.5), 5)
    assert commands[0][:5] == ["hey", "-z", "6s", "-c", "32"] and "Cookie: s=1" in commands[0]
    fake_run(monkeypatch, http_bench, hey_output({200: 7}, p99=False))
    assert http_bench.hey("http://127.0.0.1:1/tugas/", "s=1", 8, 6) == (123.4567, float("inf"), 0)
    fake_run(monkeypatch, http_bench, hey_output({200: 7, 500: 1}, errors=4))  # timeouts fail as a 500 does
    assert http_bench.hey("http://127.0.0.1:1/tugas/", "s=1", 8, 6)[2] == 5


def test_http_and_api_say_when_hey_is_missing(monkeypatch):
    for module in (http_bench, api_bench):
        monkeypatch.setattr(module.shutil, "which", lambda name: None)
        monkeypatch.setattr(sys, "argv", [module.__name__])
        with pytest.raises(SystemExit, match="hey"):
            module.main()


def test_http_table_has_a_row_per_server_page_and_connections(monkeypatch, capsys):
    fake = SimpleNamespace(
        engine=SimpleNamespace(
            url=SimpleNamespace(render_as_string=lambda hide_password: "sqlite:///x.db"),
            dialect=SimpleNamespace(name="sqlite"),
        ),
        dispose=lambda: None,
    )
    servers: dict[int, str] = {}
    monkeypatch.setattr(http_bench.shutil, "which", lambda name: "/usr/bin/hey")
    monkeypatch.setattr(http_bench, "empty_database", lambda url, tmp, name: fake)
    monkeypatch.setattr(http_bench, "prepare", lambda db, tasks: 77)
    monkeypatch.setattr(http_bench, "start_server", lambda kind, port, env, workers: servers.setdefault(port, kind))
    monkeypatch.setattr(http_bench, "stop", lambda server: None)
    monkeypatch.setattr(http_bench, "sign_in", lambda port: "s=1")

    def hey(url: str, cookie: str, connections: int, seconds: int) -> tuple[float, float, int]:
        port, path = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)", url).groups()
        page = 1 if path == "/tugas/" else 2 if path == "/tugas/77" else 0
        kind = 1 if servers[int(port)] == "waitress" else 2
        return (-1.0, -1.0, -1) if seconds == 4 else (100.0 * kind + page, 10.0 * connections, page - 1)

    monkeypatch.setattr(http_bench, "hey", hey)
    argv = ["--seconds", "6", "--connections", "8,32", "--workers", "3"]
    lines = run_main(http_bench, monkeypatch, capsys, *argv)
    rows = [line.rsplit(maxsplit=5) for line in lines[2:]]
    assert len(servers) == 4 and len(rows) == 8
    for label, page, conns, rps, p99, bad in rows:
        kind, number_of_page = (1 if label == "waitress" else 2), (1 if page == "inbox" else 2)
        assert label in ("waitress", "gunicorn x3")
        assert float(rps) == 100.0 * kind + number_of_page and float(p99) == 10.0 * int(conns)
        assert int(bad) == number_of_page - 1
    assert {row[2] for row in rows} == {"8", "32"}


def test_http_data_is_a_submitted_task_in_the_kecamatan(db):
    task_id = http_bench.prepare(db, 5)
    with db.read() as s:
        task = s.get(HumanTask, task_id)
        open_here = s.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.region_kode == inbox_bench.KECAMATAN, HumanTask.status == TaskStatus.TERBUKA)
        )
        assert task.status == TaskStatus.TERBUKA and task.submission_id is not None
        assert s.get(Submission, task.submission_id).status == SubmissionStatus.DIAJUKAN
    assert task.region_kode == inbox_bench.KECAMATAN and open_here == 6  # the 5 filled and the real one


def test_page_cost_is_per_request_user_and_system_cpu(db, monkeypatch):
    task_id = http_bench.prepare(db, 3)
    client = create_app(db.settings, db, testing=True).test_client()
    pages_bench.signed_in(client)
    times = itertools.count()
    monkeypatch.setattr(
        pages_bench, "os", SimpleNamespace(times=lambda: SimpleNamespace(user=0.2 * (n := next(times)), system=0.1 * n))
    )
    monkeypatch.setattr(pages_bench, "time", SimpleNamespace(perf_counter=ticking(0.6)))
    path = f"/tugas/{task_id}"
    found = pages_bench.measure(client, path, 3, 2, db.engine)
    assert found["cpu"] == pytest.approx(100.0)  # 0.2 s user + 0.1 s system over 3 requests
    assert found["wall"] == pytest.approx(200.0)
    with statements_sent(db.engine) as sent:
        assert client.get(path).status_code == 200
    assert found["statements"] == sent[0] > 0
    assert found["calls"] > 1000


def test_api_load_reads_rate_and_percentiles_and_refuses_other_answers(monkeypatch):
    commands = fake_run(monkeypatch, api_bench, hey_output({200: 50}))
    found = api_bench.load("http://127.0.0.1:1/api/v1/records", "tok", 10, 8)
    assert found == {"rps": "123.4567", "p50": "0.0500", "p95": "0.1500", "n": "50"}
    assert commands[0][:5] == ["hey", "-z", "10s", "-c", "8"] and "Authorization: Bearer tok" in commands[0]
    fake_run(monkeypatch, api_bench, hey_output({200: 50, 429: 1}))
    with pytest.raises(SystemExit, match="bukan 200"):
        api_bench.load("http://127.0.0.1:1/api/v1/records", "tok", 10, 8)
    fake_run(monkeypatch, api_bench, hey_output({200: 50}, errors=2))
    with pytest.raises(SystemExit, match="2 gagal"):
        api_bench.load("http://127.0.0.1:1/api/v1/records", "tok", 10, 8)


def test_api_figures_cover_every_region_category_and_period(db, monkeypatch):
    with db.read() as s:
        regions = s.scalar(select(func.count()).select_from(Region).where(Region.kode.like("65%")))
        kinds = s.scalar(select(func.count()).select_from(Category))
    assert regions * kinds * len(api_bench.PERIODS) == 82_536  # the document's count of figures
    monkeypatch.setattr(api_bench, "PERIODS", ["2024"])
    stored = api_bench.fill_figures(db, random.Random(12))
    with db.read() as s:
        assert stored == regions * kinds == s.scalar(select(func.count()).select_from(AggregateValue))
    assert api_bench.make_token(db, False) != api_bench.make_token(db, True)


def test_sandbox_report_gives_bounded_over_plain_and_stops_each_runaway(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(sandbox_bench, "time", SimpleNamespace(perf_counter=ticking(1.0)))
    assert sandbox_bench._per_call(lambda: calls.append(1), 4) == pytest.approx(250_000.0) and len(calls) == 4
    monkeypatch.undo()
    costs = iter([2.0, 30.0, 25.0, 1.0, 20.0, 200.0, 800.0, 8000.0, 9000.0])  # plain, bounded, engine
    monkeypatch.setattr(sandbox_bench, "_per_call", lambda fn, repeat: next(costs))
    lines = run_main(sandbox_bench, monkeypatch, capsys, "--repeat", "5")
    assert number(lines[1], r"ratio ([\d.]+)") == 15.0 and "(this process) 25.0 µs" in lines[1]
    assert number(lines[2], r"ratio ([\d.]+)") == 20.0 and "(the worker) 200.0 µs" in lines[2]
    assert number(lines[3], r"ratio ([\d.]+)") == 10.0
    stopped = [line.split(":")[0] for line in lines[4:] if "stopped after" in line]
    assert stopped == [
        "nested loops (step budget)",
        "10 ** n (size check)",
        "comparing 2**60 shared paths (one C call)",
    ]


def test_instances_move_to_the_second_version_and_back(db, monkeypatch):
    monkeypatch.setattr(versions_bench, "time", SimpleNamespace(perf_counter=ticking(1.0)))
    assert versions_bench.V2.count('id="verifikasi_kec"') == 1 and '"P10D"' in versions_bench.V2
    assert 'id="verifikasi_kecamatan"' not in versions_bench.V2
    found = versions_bench.run(db, 2)  # asserts inside that every instance moved each time
    assert found == {"open": 1.0, "dry run": 1.0, "move": 1.0, "back": 1.0, "lint": 0.02}  # lint: one of 50 runs
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 2


def test_versions_report_rates_and_cost_against_opening(monkeypatch, capsys):
    timings = {"open": 2.0, "dry run": 0.5, "move": 1.0, "back": 4.0, "lint": 0.0069}
    monkeypatch.setattr(versions_bench, "initialise", lambda db: None)
    monkeypatch.setattr(versions_bench, "run", lambda db, n: timings)
    lines = run_main(versions_bench, monkeypatch, capsys, "--instances", "4")
    assert lines[1] == "database: sqlite; instances: 4"
    assert number(lines[2], r"open submissions: ([\d.]+) instances/s") == 2.0
    for line, (rate, cost) in zip(lines[3:6], [(8.0, 0.25), (4.0, 0.5), (1.0, 2.0)], strict=True):
        assert number(line, r": ([\d.]+) instances/s") == rate and number(line, r"opening: ([\d.]+)\)") == cost
    assert number(lines[6], r"([\d.]+) ms") == 6.9


def test_timers_fire_every_copy_with_its_own_deadline(db):
    instance, task = timers_bench.one_waiting(db)
    timers_bench.copy_waiting(db, instance, task, 4)
    with db.read() as s:
        deadlines = list(s.scalars(select(ProcessInstance.next_timer_at)))
    assert len(set(deadlines)) == 5
    gaps = timers_bench.fire_all(db, task.due_at, 5)
    assert len(gaps) == 5 and min(gaps) >= 0  # one per instance: the last one's runs to the run's end
    with db.read() as s:
        due = select(func.count()).where(ProcessInstance.next_timer_at <= task.due_at + timedelta(minutes=1))
        assert s.scalar(due.select_from(ProcessInstance)) == 0
    with pytest.raises(SystemExit):  # nothing left to fire: the count is checked
        timers_bench.fire_all(db, task.due_at, 1)


def test_timers_report_compares_the_last_tenth_with_the_first(monkeypatch, capsys):
    fake = SimpleNamespace(engine=SimpleNamespace(dialect=SimpleNamespace(name="sqlite")))
    copies = []
    gaps = [0.010, 0.011, 0.050] + [0.020] * 25 + [0.030, 0.036, 0.033]
    monkeypatch.setattr(timers_bench, "empty_database", lambda url, tmp, name: fake)
    monkeypatch.setattr(timers_bench, "one_waiting", lambda db: (None, SimpleNamespace(due_at=None)))
    monkeypatch.setattr(timers_bench, "copy_waiting", lambda db, instance, task, n: copies.append(n))
    monkeypatch.setattr(timers_bench, "fire_all", lambda db, due, expected: gaps)
    monkeypatch.setattr(timers_bench, "time", SimpleNamespace(perf_counter=ticking(3.0)))
    lines = run_main(timers_bench, monkeypatch, capsys, "--instances", "31")
    assert copies == [30]
    assert number(lines[1], r"\(([\d.]+) ms per instans\)") == 96.8  # 3 s over 31
    assert number(lines[2], r"pertama: ([\d.]+) ms") == 11.0 and number(lines[2], r"terakhir: ([\d.]+) ms") == 33.0
    assert number(lines[3], r"([\d.]+)$") == 3.0


def test_crowded_day_finds_the_same_people_both_ways(monkeypatch, capsys):
    assert crowded_bench.pair_by_pair(["Maria Ingan", "Budi Santoso", "Maria Ingan"]) == [[], [], [0]]
    assert all(len(crowded_bench.names_of_one_day(n, random.Random(5))) == n for n in range(1, 30))
    written = crowded_bench.names_of_one_day(120, random.Random(5))
    assert written == crowded_bench.names_of_one_day(120, random.Random(5))
    assert crowded_bench.through_the_index(written) == crowded_bench.pair_by_pair(written)
    same = ["Maria Ingan"] * 25  # each row keeps the first MOST_ALIKE named alike before it
    assert crowded_bench.pair_by_pair(same)[-1] == list(range(MOST_ALIKE)) == crowded_bench.through_the_index(same)[-1]
    monkeypatch.setattr(crowded_bench, "PAIR_BY_PAIR_UP_TO", 100)
    monkeypatch.setattr(crowded_bench, "time", SimpleNamespace(perf_counter=iter([0, 1, 10, 30, 100, 102]).__next__))
    lines = run_main(crowded_bench, monkeypatch, capsys, "--rows", "60,150")
    assert lines[2].split() == ["60", "20.00", "1.000", "20×", "True"]  # pair by pair 20 s, the index 1 s
    alike = sum(map(len, earlier_alikes(crowded_bench.names_of_one_day(150, random.Random(5)), MOST_ALIKE)))
    assert lines[3].split() == ["150", "-", "2.000", "-", f"{alike:,}", "named", "alike"]
