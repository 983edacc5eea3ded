"""NIK matching against the Dukcapil simulator over real HTTP: statuses, flags, failures that lose
nothing, idempotent reruns and the circuit breaker."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.config import DukcapilSettings
from engine.setup import dukcapil_sim
from engine.verification import linkage, nik_matching
from models import NikCheck, NikStatus, QualityFlag, Record
from tests.factories import DESA, person_row, register_record

PEOPLE = 40


def _records(db) -> dict[str, NikStatus]:
    """PEOPLE records of Gunung Putih and the population Dukcapil holds; returns NIK → expected status."""
    expected, population = {}, {}
    with db.transaction() as s:
        for n in range(PEOPLE):
            row = person_row(100 + n)
            s.add(register_record(100 + n, updated_at=clock.now() - timedelta(days=1)))
            entry = {**{c: row.get(c, "") for c in dukcapil_sim.COLUMNS}, "kode_wilayah": DESA, "status_hidup": "hidup"}
            if n % 10 == 1:
                entry["nama"] = "Orang Lain"
            if n % 10 == 2:
                entry["status_hidup"] = "meninggal"
            if n % 10 != 3:  # the fourth of every ten is unknown to Dukcapil
                population[row["nik"]] = entry
            expected[row["nik"]] = {1: NikStatus.TIDAK_PADAN, 2: NikStatus.MENINGGAL, 3: NikStatus.TIDAK_PADAN}.get(
                n % 10, NikStatus.PADAN
            )
    return expected, population


@pytest.fixture
def registry(db):
    expected, population = _records(db)
    servers, clients = [], []

    def start(**behaviour) -> tuple[nik_matching.HttpDukcapil, dukcapil_sim.Behaviour]:
        kw = {k: behaviour.pop(k) for k in list(behaviour) if k in DukcapilSettings.__dataclass_fields__}
        sim = dukcapil_sim.Behaviour(user="sijosku", password="rahasia", **behaviour)
        server = dukcapil_sim.start_in_thread(population, sim)
        servers.append(server)
        settings = DukcapilSettings(
            base_url=f"http://127.0.0.1:{server.server_port}",
            user="sijosku",
            password="rahasia",
            **{"timeout": 2.0, "retries": 1, "backoff": 0.0, "breaker_failures": 1000, **kw},
        )
        client = nik_matching.HttpDukcapil(settings)
        clients.append(client)
        return client, sim

    yield expected, start
    for client in clients:
        client.close()
    for server in servers:
        server.shutdown()
        server.server_close()


def _statuses(db) -> dict[str, str]:
    with db.read() as s:
        ids = dict(s.execute(select(Record.id, Record.nik)).all())
        return {ids[i]: v.status for i, v in linkage.nik_statuses(s, list(ids)).items()}


def test_each_record_gets_dukcapils_status_with_its_time_and_mismatches_are_flags(db, registry):
    expected, start = registry
    client, _ = start()
    report = nik_matching.sync(db, client, limit=1000)
    assert report.asked == PEOPLE and report.failed == 0
    assert _statuses(db) == {nik: status.value for nik, status in expected.items()}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(NikCheck).where(NikCheck.checked_at.is_(None))) == 0
        flags = s.scalars(select(QualityFlag).where(QualityFlag.rule == "dukcapil")).all()
        messages = {f.message for f in flags}
    assert len(flags) == 12 and all(f.record_id and f.severity == "warning" for f in flags)
    assert messages == {
        "Dukcapil: tidak padan pada nama",
        "Dukcapil mencatat orang dengan NIK ini telah meninggal dunia",
        "Dukcapil: NIK tidak ditemukan",
    }
    again = nik_matching.sync(db, client, limit=1000)
    assert again.asked == 0  # a rerun asks only about what has no current answer
    with db.transaction() as s:
        changed = s.scalar(select(Record).order_by(Record.id).limit(1))
        changed.nama, changed.updated_at = "Nama Baru", clock.now() + timedelta(seconds=1)
    assert _statuses(db)[changed.nik] == "belum_dicek"  # an answer about older values is not shown
    assert nik_matching.sync(db, client, limit=1000).asked == 1


@pytest.mark.parametrize("failures", [{"fail_rate": 0.5}, {"fail_rate": 0.25, "drop_rate": 0.25}])
def test_a_registry_failing_half_its_calls_loses_nothing(db, registry, monkeypatch, failures):
    monkeypatch.setattr(nik_matching, "CHUNK", 4)
    expected, start = registry
    client, sim = start(seed=7, **failures)
    answered_before = 0
    for _ in range(30):
        nik_matching.sync(db, client, limit=1000)
        statuses = _statuses(db)
        # every record shows either the right answer or belum_dicek, never a wrong or lost one
        assert all(
            statuses.get(nik, "belum_dicek") in (status.value, "belum_dicek") for nik, status in expected.items()
        )
        answered = sum(v != "belum_dicek" for v in statuses.values())
        assert answered >= answered_before
        answered_before = answered
        if answered == PEOPLE:
            break
    assert answered_before == PEOPLE
    assert sim.failures > 0
    with db.read() as s:  # failed attempts were noted on the check rows
        assert s.scalar(select(func.max(NikCheck.attempts))) > 1


def test_the_circuit_breaker_opens_stops_calling_and_closes_after_a_good_trial(db, registry, monkeypatch):
    monkeypatch.setattr(nik_matching, "CHUNK", 4)
    expected, start = registry
    client, sim = start(fail_rate=1.0, breaker_failures=2, breaker_reset=60)
    first = nik_matching.sync(db, client, limit=1000)
    # the first chunk of 4 fails, then its first half: the breaker opens; the other half and the rest wait
    assert (sim.calls, first.failed, first.skipped) == (2, 4, PEOPLE - 4)
    assert "pemutus sirkuit terbuka" in first.message
    second = nik_matching.sync(db, client, limit=1000)
    assert sim.calls == 2 and second.asked == 0 and second.skipped == PEOPLE  # open: no call made
    assert set(_statuses(db).values()) == {"belum_dicek"}
    client.breaker.monotonic = lambda: time.monotonic() + 61  # the breaker's wait is over
    sim.fail_rate = 0.0
    third = nik_matching.sync(db, client, limit=1000)
    assert third.failed == 0 and sum(third.answered.values()) == PEOPLE
    assert client.breaker.state == "tertutup"


def test_a_slow_registry_times_out_and_the_record_stays_unchecked(db, registry):
    _, start = registry
    client, _ = start(delay=0.5, timeout=0.1)
    report = nik_matching.sync(db, client, limit=3)
    assert report.failed == 3
    with db.read() as s:
        rows = s.scalars(select(NikCheck)).all()
    assert {r.status for r in rows} == {NikStatus.BELUM_DICEK} and "Timeout" in rows[0].last_error


def test_without_a_configured_registry_nothing_is_checked(db):
    assert "belum dikonfigurasi" in nik_matching.sync(db, None, limit=10).message


def test_the_demo_writes_a_population_the_simulator_answers_for_its_people(cli, db, tmp_path):
    population = tmp_path / "penduduk.csv"
    args = ["demo", "--desa", "1", "--records-per-desa", "5", "--population-out", str(population), "--json"]
    result = json.loads(cli(*args).output)
    assert result["populasi"]["penduduk"] == 5
    written = population.read_text()
    again = json.loads(cli(*args).output)  # the demo made before: the same people, not an empty file
    assert again["populasi"]["penduduk"] == 5 and population.read_text() == written
    sid = str(result["pengajuan"][0]["submission_id"])
    assert cli("submission", "submit", sid, "--user", "operator.6501011001").exit_code == 0
    people = dukcapil_sim.read_population(population.read_text())
    server = dukcapil_sim.start_in_thread(people, dukcapil_sim.Behaviour())
    client = nik_matching.HttpDukcapil(DukcapilSettings(base_url=f"http://127.0.0.1:{server.server_port}"))
    try:
        assert nik_matching.sync(db, client, limit=100).asked == 5  # the submitted items
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    with db.read() as s:
        found = Counter(s.scalars(select(NikCheck.status).where(NikCheck.item_id.is_not(None))))
    assert found == {NikStatus.PADAN: 3, NikStatus.TIDAK_PADAN: 1, NikStatus.MENINGGAL: 1}


@pytest.mark.parametrize(
    "answer",
    [
        lambda niks: [],  # the people asked left out of the answer
        lambda niks: [{"nik": "1" * 16, "ditemukan": False}],  # a NIK nobody asked about
        lambda niks: [{"nik": n, "ditemukan": True} for n in niks],  # found, with nothing to compare
        lambda niks: [{"nik": n, "ditemukan": "false", "nama": "X"} for n in niks],  # a word, not true or false
    ],
    ids=["left-out", "not-asked", "no-fields", "word"],
)
def test_an_answer_that_says_nothing_of_a_person_leaves_them_unchecked(db, registry, answer):
    """Only "found, with values" or "not found" is a verdict: a person missing from an answer, or
    found with nothing to compare, is neither a mismatch for good nor a match."""

    def dukcapil(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hasil": answer(json.loads(request.content)["nik"])})

    settings = DukcapilSettings(base_url="http://dukcapil", retries=1, backoff=0.0, breaker_failures=1000)
    client = nik_matching.HttpDukcapil(settings, transport=httpx.MockTransport(dukcapil))
    report = nik_matching.sync(db, client, limit=5)
    assert report.failed == 5 and sum(report.answered.values()) == 0, report
    assert set(_statuses(db).values()) == {"belum_dicek"}
    with db.read() as s:
        assert not s.scalar(select(func.count()).select_from(QualityFlag).where(QualityFlag.rule == "dukcapil"))


def test_a_record_corrected_while_dukcapil_answers_is_asked_again_not_judged_on_its_old_values(db, registry):
    expected, start = registry
    client, _ = start()
    with db.read() as s:
        first = s.scalar(select(Record).order_by(Record.id).limit(1))
    real_lookup = client.lookup

    def slow_lookup(niks):
        answers = real_lookup(niks)
        with db.transaction() as s:  # approved meanwhile: the values Dukcapil was asked about are gone
            record = s.get(Record, first.id)
            record.nama, record.updated_at = "Nama Menurut Dukcapil", clock.now()
        return answers

    client.lookup = slow_lookup
    nik_matching.sync(db, client, limit=1000)
    assert _statuses(db)[first.nik] == "belum_dicek"  # the answer is about the old name: not shown
    client.lookup = real_lookup
    assert nik_matching.sync(db, client, limit=1000).asked == 1  # and it is asked again


def _dripping(request: httpx.Request) -> httpx.Response:
    def drip():
        for part in (b'{"hasil"', b": [", b"]", b"}"):
            time.sleep(0.15)
            yield part

    return httpx.Response(200, content=drip())


def _huge(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"hasil": [' + b" " * 4096 + b"]}")


@pytest.mark.parametrize(("answer", "said"), [(_dripping, "belum selesai"), (_huge, "melebihi")], ids=["drip", "huge"])
def test_an_answer_past_its_time_or_size_is_a_failed_attempt(db, registry, monkeypatch, answer, said):
    """The timeout bounds the whole answer, not each read; a body past its size is not read on."""
    from engine.core import resilience

    monkeypatch.setattr(resilience, "MAX_ANSWER_BYTES", 1024)
    settings = DukcapilSettings(base_url="http://dukcapil", timeout=0.3, retries=1, backoff=0.0)
    client = nik_matching.HttpDukcapil(settings, transport=httpx.MockTransport(answer))
    report = nik_matching.sync(db, client, limit=3)
    assert report.failed == 3
    with db.read() as s:
        assert said in s.scalar(select(NikCheck.last_error).limit(1))


@pytest.mark.parametrize("at", [0, 3, 31])
def test_one_nik_the_registry_cannot_answer_holds_back_only_itself(db, registry, monkeypatch, at):
    """Its 500 for that one record fails every call that asks it: the chunk is asked again in halves,
    with the circuit breaker as configured (5 failures in a row open it)."""
    monkeypatch.setattr(nik_matching, "CHUNK", 32)
    expected, _ = registry
    with db.read() as s:
        poison = s.scalars(select(Record.nik).order_by(Record.id)).all()[at]

    def dukcapil(request: httpx.Request) -> httpx.Response:
        niks = json.loads(request.content)["nik"]
        if poison in niks:
            return httpx.Response(500, json={"pesan": "galat internal"})
        return httpx.Response(200, json={"hasil": [{"nik": n, "ditemukan": False} for n in niks]})

    settings = DukcapilSettings(base_url="http://dukcapil", retries=1, backoff=0.0)
    client = nik_matching.HttpDukcapil(settings, transport=httpx.MockTransport(dukcapil))
    report = nik_matching.sync(db, client, limit=32)
    assert (report.asked, report.failed, sum(report.answered.values())) == (32, 1, 31), report
    assert _statuses(db).get(poison, "belum_dicek") == "belum_dicek"


def test_a_compressed_answer_is_read_as_any_other(db, registry):
    """A registry behind a proxy that compresses its answers (gzip), as many do."""
    import gzip

    def dukcapil(request: httpx.Request) -> httpx.Response:
        rows = [{"nik": n, "ditemukan": False} for n in json.loads(request.content)["nik"]]
        body = gzip.compress(json.dumps({"hasil": rows}).encode())
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return httpx.Response(200, headers=headers, content=body)

    settings = DukcapilSettings(base_url="http://dukcapil", retries=1, backoff=0.0)
    client = nik_matching.HttpDukcapil(settings, transport=httpx.MockTransport(dukcapil))
    report = nik_matching.sync(db, client, limit=3)
    assert (report.failed, report.answered["tidak_padan"]) == (0, 3), report
