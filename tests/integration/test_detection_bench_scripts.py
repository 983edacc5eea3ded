"""The detection and data benchmarks (bench/flags.py, tiers.py, synthetic.py, names.py, records.py,
register_duplicates.py, quality.py, cycles.py, national.py) compute what docs/benchmarks.md says
they print: recall over planted anomalies, false alarms over clean data, shares of series rather
than of cells, rates of rows per second of the phase named, a percentile of every request.

Each runs here at a tiny size, on the test database where it needs one; where a figure's meaning
hangs on counting, the rules are replaced by a known judge so that the expected figure is exact.
Timings are never asserted."""

from __future__ import annotations

import random
import re
import statistics
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from bench import cycles as cycles_bench
from bench import flags, names, national, quality, records, register_duplicates, synthetic, tiers
from engine.quality.series import Flag
from engine.verification import cycle_batches
from models import Record, RecordStatus, Severity

CELL = ("65.01", "AT", "2024")
PERCENT = re.compile(r"(\d+\.\d)%")


class Kept:
    """The test database handed to a bench as a fresh one, and left open after it."""

    def __init__(self, db) -> None:
        self._db = db

    def __getattr__(self, name: str):
        return getattr(self._db, name)

    def dispose(self) -> None:
        pass


def run_main(monkeypatch, capsys, module, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", [module.__file__, *args])
    module.main()
    return capsys.readouterr().out


def table(series: dict[tuple[str, str], list[int]]) -> synthetic.Table:
    return synthetic.Table(
        {(r, k, y): n for (r, k), ns in series.items() for y, n in zip(synthetic.YEARS, ns, strict=True)}
    )


def flag(region: str, year: str, severity: Severity = Severity.WARNING, rule: str = "lonjakan") -> Flag:
    return Flag(rule, severity, region, "AT", year, 0, 0, "")


# bench/flags.py and bench/synthetic.py


def test_dhis2s_outlier_methods_judge_a_series_as_the_benchmark_describes_them():
    jump = table({("65.01", "AT"): [10, 12, 10, 12, 100], ("65.02", "AT"): [5, 5, 5, 5, 9]})
    assert flags.dhis2_z(jump) == set()  # five values: a z-score cannot pass √(n−1) = 2
    assert flags.dhis2_modified_z(jump) == {CELL}  # 65.02: MAD = 0, no flag
    assert flags.dhis2_min_max(jump) == {CELL, ("65.02", "AT", "2024")}  # mean ± 2 SD of the earlier values


def test_sijosku_counts_warnings_and_errors_not_notes(monkeypatch):
    found = [flag("65.01", "2024"), flag("65.02", "2023", Severity.ERROR), flag("65.03", "2024", Severity.INFO)]
    monkeypatch.setattr(flags, "scan", lambda values, ctx: found)
    assert flags.sijosku(synthetic.clean_table(random.Random(1), False)) == {CELL, ("65.02", "AT", "2023")}


def test_the_false_alarm_rate_is_the_share_of_clean_series_with_an_alarm(monkeypatch):
    def one_series(t: synthetic.Table) -> set[flags.Cell]:
        return {("65.01", "AT", y) for y in synthetic.YEARS} | {("99", "AT", "2024")}  # 5 cells, 1 series

    methods = {
        "SIJOSKU": one_series,
        "every cell": lambda t: set(t.figures),
        "planted cells": lambda t: set(t.planted),
        "none": lambda t: set(),
    }
    monkeypatch.setattr(flags, "METHODS", methods)
    rates = flags.false_alarms(random.Random(2), 2, (False, True))
    assert rates == {"SIJOSKU": 1 / 156, "every cell": 1.0, "planted cells": 0.0, "none": 0.0}


def test_recall_is_the_share_of_changed_plantings_with_an_alarm_on_a_planted_cell(monkeypatch):
    cleans: list[synthetic.Table] = []
    drawn = synthetic.clean_table
    monkeypatch.setattr(synthetic, "clean_table", lambda *a: cleans.append(drawn(*a)) or cleans[-1])

    def changed_cells(t: synthetic.Table) -> set[flags.Cell]:
        return {c for c in t.planted if t.figures[c] != cleans[-1].figures[c]}

    methods = {
        "SIJOSKU": changed_cells,
        "planted series, first year": lambda t: {(r, k, synthetic.YEARS[0]) for r, k, _ in t.planted},
        "everything else": lambda t: set(t.figures) - t.planted,
    }
    monkeypatch.setattr(flags, "METHODS", methods)
    found = flags.recall(random.Random(1), 1, (False, False))  # seed 1: the regency left out was 0 already
    tried = [k for k in synthetic.KINDS if k != "total_kurang_1"]
    assert found["SIJOSKU"] == dict.fromkeys(tried, 1.0)
    assert found["planted series, first year"] == found["everything else"] == dict.fromkeys(tried, 0.0)


def _rows_of(out: str, title: str) -> dict[str, list[float]]:
    block = out.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {line[:40].strip(): [float(p) / 100 for p in PERCENT.findall(line[40:])] for line in block}


def test_flags_prints_each_kind_of_count_and_judges_every_target(monkeypatch, capsys):
    alarms = dict.fromkeys(flags.METHODS, 0.0) | {"SIJOSKU": 0.06}
    found = {name: dict.fromkeys(synthetic.KINDS, 1.0) for name in flags.METHODS}
    found["SIJOSKU"] = found["SIJOSKU"] | {"x4": 0.5, "x2": 0.25}
    monkeypatch.setattr(flags, "false_alarms", lambda rng, tables, counted: alarms)
    monkeypatch.setattr(flags, "recall", lambda rng, tables, counted: found)
    out = run_main(monkeypatch, capsys, flags, "--tables", "1")
    for title in flags.COUNTS:
        rows = _rows_of(out, title)
        assert rows["clean series with an alarm"] == [0.06, 0.0, 0.0, 0.0]
        assert rows["×4 (target ≥ 80%)"] == [0.5, 1.0, 1.0, 1.0] and rows["×2"] == [0.25, 1.0, 1.0, 1.0]
    missed = out.rsplit("targets missed: ", 1)[1].strip().split("; ")
    assert sorted(missed) == sorted(
        [f"{t}: clean alarms 6.0%" for t in flags.COUNTS] + [f"{t}: ×4 50.0%" for t in flags.COUNTS]
    )


def test_a_kind_no_planting_changed_is_not_a_missed_target(monkeypatch, capsys):
    found = {name: {k: 1.0 for k in synthetic.KINDS if k != "nol"} for name in flags.METHODS}
    monkeypatch.setattr(flags, "false_alarms", lambda rng, tables, counted: dict.fromkeys(flags.METHODS, 0.0))
    monkeypatch.setattr(flags, "recall", lambda rng, tables, counted: found)
    out = run_main(monkeypatch, capsys, flags, "--tables", "1")
    assert out.rstrip().endswith("targets met")
    assert not any(line.startswith("drop to zero") and "0.0%" in line for line in out.splitlines())


def test_clean_tables_hold_their_province_as_the_sum_and_nothing_planted():
    for counted in flags.COUNTS.values():
        clean = synthetic.clean_table(random.Random(4), *counted)
        assert len(clean.series_keys()) == 156 and not clean.planted
        for kategori in synthetic.CATEGORIES:
            sums = [sum(clean.figures[(r, kategori, y)] for r in synthetic.REGENCIES) for y in synthetic.YEARS]
            assert sums == [clean.figures[(synthetic.PROVINCE, kategori, y)] for y in synthetic.YEARS]
        assert all(len({clean.figures[(r, "KAT", y)] for y in synthetic.YEARS}) == 1 for r in synthetic.REGENCIES)


def test_each_planting_changes_the_newest_year_and_names_the_cells_it_changed():
    rng = random.Random(8)
    clean = synthetic.clean_table(rng, True)
    province = synthetic.PROVINCE
    for kind in synthetic.KINDS * 3:
        planted = synthetic.plant(clean, kind, rng)
        moved = {c for c in clean.figures if clean.figures[c] != planted.figures[c]}
        assert synthetic.changed(clean, planted) == bool(moved & planted.planted), kind
        assert {p for _, _, p in planted.planted} <= {synthetic.LAST, synthetic.YEARS[-2]}
        if kind.startswith("total"):
            [(region, kategori, year)] = planted.planted
            assert region == province and year == synthetic.LAST and moved <= planted.planted, kind
            parts = sum(planted.figures[(r, kategori, year)] for r in synthetic.REGENCIES)
            assert planted.figures[(region, kategori, year)] != parts or not moved, kind
            continue
        assert {c for c in moved if c[0] != province} <= planted.planted, kind  # the rest is the province's sum
        for region, kategori, year in planted.planted:
            parts = sum(planted.figures[(r, kategori, year)] for r in synthetic.REGENCIES)
            assert planted.figures[(province, kategori, year)] == parts, kind
            was, now = clean.figures[(region, kategori, year)], planted.figures[(region, kategori, year)]
            if kind in ("x2", "x4", "x10"):
                assert now == max(1, was) * int(kind[1:])
            elif kind == "nol":
                assert now == 0
            elif kind.startswith("salin_maju"):
                assert now == planted.figures[(region, kategori, synthetic.YEARS[-2 if kind.endswith("1") else -3])]


# bench/tiers.py


def test_tiers_count_series_with_an_alarm_per_tier_not_flags(monkeypatch):
    figures = {
        (r, "AT", y): 1 for r in ("65", "65.01", "65.01.01", "65.01.01.2005", "65.01.01.2006") for y in ("2023", "2024")
    }
    found = [
        flag("65.01.01.2005", "2023"),
        flag("65.01.01.2005", "2024", Severity.ERROR, "salin"),
        flag("65.01.01", "2023", Severity.INFO),
        flag("65", "2024"),
    ]
    monkeypatch.setattr(tiers, "scan", lambda values, ctx: found)
    series, alarmed, rules = tiers.alarmed_by_tier(figures)
    assert series == Counter(provinsi=1, kabupaten=1, kecamatan=1, desa=2)
    assert alarmed == Counter(provinsi=1, desa=1)
    assert rules == Counter(lonjakan=2, salin=1)


def test_the_interval_is_of_the_pooled_share_resampling_whole_tables():
    assert tiers.bootstrap([(3, 10)] * 4, random.Random(0)) == (0.3, 0.3)
    low, high = tiers.bootstrap([(1, 1)] + [(0, 99)] * 9, random.Random(0))  # a share of tables would reach 0.3
    assert low == 0.0 and 0.0 < high < 0.01


def test_tiers_prints_each_tiers_share_of_its_series(monkeypatch, capsys):
    counts = (Counter(provinsi=4, kabupaten=20, kecamatan=40, desa=400), Counter(provinsi=1, desa=2), Counter(x=4))
    monkeypatch.setattr(tiers, "clean_table", lambda rng, stock, periods: {})
    monkeypatch.setattr(tiers, "alarmed_by_tier", lambda figures: counts)
    out = run_main(monkeypatch, capsys, tiers, "--tables", "2")
    assert "provinsi   clean series with an alarm  25.0% [25.0%, 25.0%] (2 of 8)" in out
    assert "kabupaten  clean series with an alarm   0.0% [0.0%, 0.0%] (0 of 40)" in out
    assert "desa       clean series with an alarm   0.5% [0.5%, 0.5%] (4 of 800)" in out
    assert "alarms by rule: {'x': 8}" in out


# bench/names.py


def _matched(out: str, label: str) -> tuple[float, float, dict[str, tuple[float, int]]]:
    block = out.split(f"\n{label}: ", 1)[1].split("\n\n", 1)[0].splitlines()
    recall, false = (float(p) / 100 for p in PERCENT.findall(block[0]))
    kinds = {}
    for line in block[1:]:
        kind, share, pairs = re.fullmatch(r"\s+(\w+)\s+(\d+\.\d)%\s+\((\d+) pairs\)", line).groups()
        kinds[kind] = (float(share) / 100, int(pairs))
    return recall, false, kinds


def test_name_recall_is_over_variant_pairs_and_false_matches_over_different_people(monkeypatch, capsys):
    monkeypatch.setattr(names, "same_person", lambda a, b: a != b)  # different people are never written alike
    names.measure(200, 7)
    recall, false, kinds = _matched(capsys.readouterr().out, "SIJOSKU")
    assert false == 1.0 and 0.9 < recall < 1.0
    assert sum(n for _, n in kinds.values()) == 200
    assert recall == pytest.approx(sum(s * n for s, n in kinds.values()) / 200, abs=0.0015)


def test_names_prints_the_products_matcher_and_the_plain_ratio(capsys):
    names.measure(200, 7)
    out = capsys.readouterr().out
    ours, plain = _matched(out, "SIJOSKU"), _matched(out, "fuzzy 90 (rilis 1)")
    assert ours[2].keys() == plain[2].keys() and ours[0] >= 0.95 and ours[1] <= 0.05
    assert plain[2]["huruf"][0] == 1.0 and plain[2]["bin_binti"][0] == 0.0  # capitals alike; a father's name not


# bench/records.py and bench/register_duplicates.py


def test_wilson_intervals_and_shares_as_printed():
    assert records.wilson(0, 20) == (0.0, pytest.approx(0.16113, abs=1e-5))
    assert records.wilson(5, 5) == (pytest.approx(0.56551, abs=1e-5), 1.0)
    assert records.wilson(8, 10) == (pytest.approx(0.49016, abs=1e-5), pytest.approx(0.94332, abs=1e-5))
    assert records.share(1, 4) == " 25.00 % (1/4; 95 %: 4.56–69.94)"


def test_a_tally_counts_rows_and_files_with_an_alarm_and_plantings_told():
    tally = records.Tally()
    tally.clean([set(), {"a"}, {"a", "b"}, set()])
    tally.clean([set(), set()])
    tally.plantings("k", 5, 4)
    tally.plantings("k", 5, 5)
    assert (tally.files, tally.rows, tally.flagged_rows, tally.flagged_files) == (2, 6, 2, 1)
    assert tally.per_rule == Counter(a=2, b=1) and (tally.planted["k"], tally.found["k"]) == (10, 9)


SHARE = re.compile(r"^\s+(.+?)\s+\d+\.\d\d % \((\d+)/(\d+);", re.M)


def _shares(out: str) -> dict[str, tuple[int, int]]:
    return {label: (int(k), int(n)) for label, k, n in SHARE.findall(out)}


def test_records_recall_counts_a_second_entry_told_on_either_row(db, monkeypatch, capsys):
    cleans: list[list[dict[str, str]]] = []
    drawn = records.clean_file
    monkeypatch.setattr(records, "clean_file", lambda *a: cleans.append(drawn(*a)) or cleans[-1])
    monkeypatch.setattr(records, "empty_database", lambda url, tmp, name: Kept(db))
    every = set().union(*(rules for _, rules in records.PLANTS.values()))

    def judge(session, rows):  # only a row left as it was, whose NIK another row now holds too
        twice = Counter(r["nik"] for r in rows)
        return [every if r == c and twice[r["nik"]] > 1 else set() for r, c in zip(rows, cleans[-1], strict=True)]

    monkeypatch.setattr(records, "alarms", judge)
    records.measure(2, 20, 11, 0.25)
    shares = _shares(capsys.readouterr().out)
    assert shares.pop("rows with an alarm") == (0, 40) and shares.pop("files with an alarm") == (0, 2)
    told = {"a row entered twice", "one NIK a child and an elder"}
    assert shares == {kind: (10 if kind in told else 0, 10) for kind in records.PLANTS}


def test_records_runs_the_products_rules_on_a_tiny_desa(db, monkeypatch, capsys):
    monkeypatch.setattr(records, "empty_database", lambda url, tmp, name: Kept(db))
    records.measure(1, 20, 11, 0.25)
    shares = _shares(capsys.readouterr().out)
    assert shares["rows with an alarm"][1] == 20 and shares["files with an alarm"][1] == 1
    assert all(shares[kind][1] == records.PLANTS_PER_FILE for kind in records.PLANTS)
    assert shares["NIK date impossible"] == shares["a row entered twice"] == (5, 5)


def test_a_rounds_register_and_file(db):
    with db.read() as session:
        desa = records.places(session)
    round_ = register_duplicates.Round(desa, random.Random(3), 40, 0.25)
    assert all(r in round_.file for r in round_.moved_in) and not any(r in round_.file for r in round_.staying)
    rows = round_.records("65.01.01.2005", "65.01.01.2006")
    assert len(rows) == len(round_.register) + len(round_.theirs)
    assert [r["status"] for r in rows].count(RecordStatus.DIHAPUS) == len(round_.moved_in)
    slipped = register_duplicates._slipped(round_.register[0], random.Random(1))
    apart = [i for i, (a, b) in enumerate(zip(slipped["nik"], round_.register[0]["nik"], strict=True)) if a != b]
    assert len(apart) == 1 and 12 <= apart[0] <= 15


def test_register_recall_is_over_planted_rows_and_alarms_over_the_clean_file(db, monkeypatch, capsys):
    files: list[list[dict[str, str]]] = []

    class Round(register_duplicates.Round):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            files.append(self.file)

    monkeypatch.setattr(register_duplicates, "Round", Round)
    monkeypatch.setattr(register_duplicates, "empty_database", lambda url, tmp, name: Kept(db))
    every = set().union(*(rules for _, rules in register_duplicates.PLANTS.values()))
    monkeypatch.setattr(
        register_duplicates, "alarms", lambda s, rows: [set() if r in files[-1] else every for r in rows]
    )
    register_duplicates.measure(2, 20, 30, 11, 0.25)
    shares = _shares(capsys.readouterr().out)
    assert shares.pop("rows with an alarm") == (0, sum(map(len, files)))
    assert shares.pop("files with an alarm") == (0, 2)
    assert shares == dict.fromkeys(register_duplicates.PLANTS, (10, 10))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 30  # each round's registers rolled back


def test_register_duplicates_runs_the_products_rules_on_a_tiny_round(db, monkeypatch, capsys):
    monkeypatch.setattr(register_duplicates, "empty_database", lambda url, tmp, name: Kept(db))
    register_duplicates.measure(1, 20, 30, 11, 0.25)
    shares = _shares(capsys.readouterr().out)
    assert shares["files with an alarm"][1] == 1 and shares["rows with an alarm"][1] >= 20
    assert all(shares[kind][1] == records.PLANTS_PER_FILE for kind in register_duplicates.PLANTS)
    assert shares["on another desa's register, still there"] == (5, 5)


# bench/quality.py


def test_one_row_in_a_hundred_reuses_a_recorded_nik():
    existing = ["6501010101100001", "6502031806210102", "6501014512800003"]
    content = quality.make_file(201, existing, random.Random(1)).decode()
    rows = [line.split(",") for line in content.splitlines()[1:]]
    assert len(rows) == 201 and [i for i, r in enumerate(rows) if r[0] in existing] == [0, 100, 200]
    assert len({r[0] for r in rows}) == 201 and all(len(r[0]) == 16 and r[0].isdigit() for r in rows)


def test_an_import_writes_every_row_of_the_file(db, capsys):
    from bench.fixtures import fill_records, province_desa

    fill_records(db, 300, province_desa(db), random.Random(2))
    with db.read() as s:
        here = s.scalar(select(func.count()).select_from(Record).where(Record.kode_desa == quality.DESA))
    figures = quality.import_once(db, 120, random.Random(3))
    assert figures["added"] == 120 and figures["stored"] == 120 + here  # the desa's records are in it too
    assert figures["total"] == pytest.approx(figures["parse"] + figures["validate"] + figures["write"])


def test_quality_prints_rows_per_second_of_the_phase_named(db, monkeypatch, capsys):
    timed = {"parse": 0.5, "validate": 2.0, "write": 1.5, "total": 4.0, "errors": 3, "warnings": 2}
    monkeypatch.setattr(quality, "empty_database", lambda url, tmp, name: Kept(db))
    monkeypatch.setattr(quality, "fill_records", lambda *a: None)
    monkeypatch.setattr(quality, "import_once", lambda db, rows, rng: timed | {"added": rows, "stored": rows})
    out = run_main(monkeypatch, capsys, quality, "--records", "0", "--rows", "100")
    assert "validate   2.00 s  (50 rows/s; 3 errors, 2 warnings)" in out
    assert "end to end: 4.00 s, 25 rows/s" in out and "0 existing records, 100 rows imported" in out


# bench/cycles.py and bench/national.py


def test_cycles_opens_every_desa_of_the_province_and_counts_the_periods_submissions(db, monkeypatch, capsys):
    opened = cycle_batches.open_desa
    monkeypatch.setattr(cycles_bench, "empty_database", lambda url, tmp, name: Kept(db))
    monkeypatch.setattr(cycle_batches, "open_desa", lambda d, a, period, desa, t: opened(d, a, period, desa[:30], t))
    # (the province's cycle is opened through engine.verification.cycles, which holds its own name for it)
    out = run_main(monkeypatch, capsys, cycles_bench, "--national")
    assert out.startswith("Kalimantan Utara: 482 desa in ")
    assert re.search(r"Indonesia: 30 desa in .* \(.* desa/s; 30 submissions stored; audit chain intact\)", out)


def test_national_plans_its_tasks_and_records():
    desa = [f"65.01.01.{2000 + i}" for i in range(5)] + [f"65.02.01.{2000 + i}" for i in range(20)]
    plan = national.task_plan(desa, 4, 12)
    assert len(plan) == 12 and plan[:4] == [(d, national.Tier.KECAMATAN) for d in desa[:4]]
    rows = list(national.records(desa, ["LUT", "PD"], 30, random.Random(1), offset=10))
    assert len(rows) == 30 and len({r[2] for r in rows}) == 30 and rows[0][0] == desa[10]


def test_national_reports_the_percentiles_of_every_request_and_the_import_end_to_end(db, monkeypatch, capsys):
    from bench.fixtures import fill_records, province_desa

    fill_records(db, 10, province_desa(db), random.Random(1))
    timings = {"a": [float(t) for t in range(1, 21)], "b": [float(t) for t in range(21, 41)]}
    monkeypatch.setattr(national, "empty_database", lambda url, tmp, name: Kept(db))
    monkeypatch.setattr(national, "load", lambda db, args, rng: {"records": 2.0, "tasks": 1.0, "analyse": 0.0})
    monkeypatch.setattr(national, "measure", lambda db, requests: timings)
    figures = {"validate": 1.0, "write": 2.0, "total": 4.0}
    monkeypatch.setattr(national, "import_once", lambda db, rows, rng, desa: figures)
    out = run_main(monkeypatch, capsys, national, "--database-url", "postgresql://unused", "--rows", "200")
    everything = timings["a"] + timings["b"]
    assert f"p95 {statistics.quantiles(everything, n=20)[18]:.1f} ms" in out  # of every request, not one view's
    assert "inbox, all requests (40): median 20.5 ms" in out
    assert "10 records in 2 s (5 rows/s)" in out and "end to end 50 rows/s" in out


def test_national_loads_and_measures_a_tiny_country(db, is_postgresql, monkeypatch, capsys):
    if not is_postgresql:
        pytest.skip("COPY: PostgreSQL only, as bench/national.py")
    monkeypatch.setattr(national, "empty_database", lambda url, tmp, name: Kept(db))
    url = "postgresql://unused"
    args = ("--records", "40", "--tasks", "12", "--local", "4", "--requests", "6", "--rows", "20")
    out = run_main(monkeypatch, capsys, national, "--database-url", url, *args)
    assert re.search(r"loaded with COPY: 8\d,\d{3} desa, 40 records in .* 12 open tasks", out)
    assert "inbox, all requests (6)" in out and "import of 20 rows against 40 records" in out
