"""How the product sets itself up and writes its changes: `sijosku init` run again on a database in use,
the reference data it loads, the Dukcapil simulator, the rows a transaction writes as it commits (and
drops when a savepoint rolls back), and the breaker and retries around another system."""

from __future__ import annotations

import csv
import json
import sqlite3

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from engine.bootstrap import bootstrap
from engine.core import audit, events, transaction_cache
from engine.core.audit import AuditAction
from engine.core.config import DEFAULT_BPMN_DIR, ServiceSettings, load_settings
from engine.core.resilience import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ServiceBreakerOpen,
    ServiceClient,
    ServiceUnavailable,
)
from engine.core.uow import Database
from engine.setup import dukcapil_sim
from engine.setup.initialise import initialise, schema_mismatch
from engine.setup.reference import SEED_DIR
from models import AuditEvent, Category, CycleRhythm, FormerRegionCode, HumanTask, OutboxEvent, Population, Region, Tier
from tests.factories import DESA, SYSTEM, make_team, open_with_items, submit


def _seed(name: str) -> list[dict[str, str]]:
    with open(SEED_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _trail(db) -> list[tuple[str, str]]:
    """The trail rows of the test's own use cases and subscribers, in the chain's order."""
    mine = AuditEvent.subject_type.in_(["use_case", "subscriber"])
    query = select(AuditEvent.action, AuditEvent.subject_id).where(mine).order_by(AuditEvent.seq)
    with db.read() as s:
        return [(str(action), str(subject)) for action, subject in s.execute(query)]


# --- sijosku init on a database in use ---------------------------------------------------------------


def test_init_run_again_adds_no_reference_data_and_keeps_an_administrators_category_edit(db):
    """A second `init` (every node runs it as it starts) adds nothing and leaves edited categories as edited."""
    with db.read() as s:
        original = s.get(Category, "LUT").nama
    with db.transaction() as s:
        s.execute(update(Category).where(Category.kode == "LUT").values(nama="Lanjut Usia (disunting)"))
    try:
        result = initialise(db)
        with db.read() as s:
            assert s.get(Category, "LUT").nama == "Lanjut Usia (disunting)"
            assert s.scalar(select(func.count()).select_from(Category)) == len(_seed("ppks_kategori.tsv"))
    finally:
        with db.transaction() as s:
            s.execute(update(Category).where(Category.kode == "LUT").values(nama=original))
    assert result["ditambahkan"] == {"wilayah": 0, "penduduk": 0, "kategori": 0, "kode_lama": 0}
    assert result["definisi"] and all(d["current"] for d in result["definisi"])


def test_init_of_a_new_database_counts_every_row_it_adds_and_deploys_each_shipped_process(tmp_path):
    """The first `init` reports how much reference data it loaded and which processes it made current."""
    url = f"sqlite:///{tmp_path / 'baru.db'}"
    settings = load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x"})
    db = bootstrap(Database.connect(settings))
    try:
        assert "sijosku init" in schema_mismatch(db)
        first = initialise(db)
        assert schema_mismatch(db) == ""
        again = initialise(db)
    finally:
        db.dispose()
    files = ("wilayah.tsv", "penduduk.tsv", "ppks_kategori.tsv", "kode_lama.tsv")
    assert first["ditambahkan"] == dict(zip(again["ditambahkan"], (len(_seed(f)) for f in files), strict=True))
    assert again["ditambahkan"] == {"wilayah": 0, "penduduk": 0, "kategori": 0, "kode_lama": 0}
    shipped = sorted(p.name for p in DEFAULT_BPMN_DIR.glob("*.bpmn"))
    assert [d["file"] for d in first["definisi"]] == shipped
    assert all(d["created"] and d["current"] and d["current_version"] == d["version"] for d in first["definisi"])
    assert not any(d["created"] for d in again["definisi"])


# --- the reference data init loads ---------------------------------------------------------------------


def test_every_seeded_region_hangs_under_its_parent_tier_by_tier(db):
    """A desa belongs to its kecamatan, which belongs to its kabupaten and province: what region scopes rest on."""
    with db.read() as s:
        chain, kode = [], DESA
        while kode is not None:
            region = s.get(Region, kode)
            chain.append((region.kode, region.tingkat))
            kode = region.induk
    assert chain == [
        (DESA, Tier.DESA),
        ("65.01.01", Tier.KECAMATAN),
        ("65.01", Tier.KABUPATEN),
        ("65", Tier.PROVINSI),
    ]


def test_the_shipped_categories_keep_their_sex_ages_stability_attributes_and_uncertain_ages(db):
    """Each category arrives as the seed file says: the record checks judge entries by these."""
    rows = {r["kode"]: r for r in _seed("ppks_kategori.tsv")}
    with db.read() as s:
        stored = {c.kode: c for c in s.scalars(select(Category))}
    assert set(stored) == set(rows)
    for kode, row in rows.items():
        category = stored[kode]
        assert category.jenis_kelamin == (row["jenis_kelamin"] or None), kode
        assert category.usia_min == (int(row["usia_min"]) if row["usia_min"].strip() else None), kode
        assert category.usia_max == (int(row["usia_max"]) if row["usia_max"].strip() else None), kode
        assert category.stabil is (row["stabil"] == "1"), kode
        assert list(category.atribut_wajib or []) == [a for a in row["atribut_wajib"].split(",") if a], kode
    assert stored["KAT"].stabil and stored["KAT"].atribut_wajib == ["jumlah_anggota", "nama_ketua"]
    assert stored["PRSE"].jenis_kelamin == "P" and stored["AT"].jenis_kelamin is None
    # "debated" and "not yet verified" age limits are both uncertain; a plain one is not
    assert {k for k, c in stored.items() if c.usia_tidak_pasti} == {"ABT", "AJ", "ODHA"}


def test_the_former_kalimantan_timur_codes_lead_to_their_regencies_with_their_last_year(db):
    """An old 64.xx code a NIK carries leads to the regency that carries on from it."""
    with db.read() as s:
        stored = {f.kode_lama: (f.region_kode, f.sampai) for f in s.scalars(select(FormerRegionCode))}
    assert stored == {r["kode_lama"]: (r["region_kode"], int(r["sampai"])) for r in _seed("kode_lama.tsv")}
    assert stored["64.04"] == ("65.01", 2012)


def test_the_population_of_each_region_is_stored_by_sex_for_the_second_half_of_2024(db):
    """The population table holds the seed's men, women and total per region, of 2024-S2."""
    seed = {r["kode"]: r for r in _seed("penduduk.tsv")}
    with db.read() as s:
        stored = {p.kode: p for p in s.scalars(select(Population).where(Population.kode.like("65%")))}
    assert stored and set(stored) == {k for k in seed if k.startswith("65")}
    for kode, p in stored.items():
        assert (p.laki_laki, p.perempuan, p.total) == tuple(
            int(seed[kode][c]) for c in ("laki_laki", "perempuan", "total")
        )
        assert p.periode == "2024-S2"


# --- rows written as the transaction commits ------------------------------------------------------------


def _deliver_with_a_subscriber_that_fails_for(db, failing: set[str]) -> None:
    """Three cycle openings; the subscriber writes a trail row for each, then fails for those in `failing`."""

    def subscriber(session, event) -> None:
        audit.record(session, SYSTEM, AuditAction.CYCLE_OPENED, "subscriber", event.region_kode)
        events.publish(session, events.CycleClosed(periode="2026-Q4", region_kode=event.region_kode))
        if event.region_kode in failing:
            raise RuntimeError("layanan mati")

    db.registry.subscribe("cycle.opened", subscriber)
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", "2026-Q4", after={"dibuka": 3}, reason="uji")
        for region in ("65.01", "65.02", "65.03"):
            events.publish(s, events.CycleOpened(periode="2026-Q4", region_kode=region))


def test_a_subscriber_that_fails_leaves_none_of_its_trail_rows_or_events_and_the_others_stand(db):
    """A savepoint that rolls back drops what it buffered, and nothing buffered before it or after it."""
    _deliver_with_a_subscriber_that_fails_for(db, failing={"65.01", "65.03"})
    assert _trail(db) == [("CYCLE_OPENED", "2026-Q4"), ("CYCLE_OPENED", "65.02")]
    with db.read() as s:
        closed = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "cycle.closed")).all()
        opened = select(OutboxEvent).where(OutboxEvent.event_type == "cycle.opened")
        stuck = s.scalars(opened.where(OutboxEvent.delivered_at.is_(None))).all()
        assert audit.verify_chain(s).ok
    assert [p["region_kode"] for p in closed] == ["65.02"]
    assert sorted(e.payload["region_kode"] for e in stuck) == ["65.01", "65.03"]
    assert all("layanan mati" in e.last_error and e.attempts == 1 for e in stuck)


def test_every_subscriber_that_succeeds_has_its_trail_rows_written_in_order(db):
    """Subscribers that all succeed: each one's trail row is written after the use case's, in delivery order."""
    _deliver_with_a_subscriber_that_fails_for(db, failing=set())
    assert _trail(db) == [("CYCLE_OPENED", "2026-Q4")] + [("CYCLE_OPENED", r) for r in ("65.01", "65.02", "65.03")]
    with db.read() as s:
        closed = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "cycle.closed")).all()
        assert s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))) == 0
        use_case = s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "use_case")).one()
        assert audit.verify_chain(s).ok
    assert [p["region_kode"] for p in closed] == ["65.01", "65.02", "65.03"]
    assert (use_case.reason, use_case.after["dibuka"], use_case.actor) == ("uji", 3, SYSTEM.name)


def test_a_task_event_names_its_task_on_every_database(db):
    """A submission's new task is announced by an event that names the task (its notifications lead to it)."""
    team = make_team(db)
    submit(db, team.operator, open_with_items(db))
    with db.read() as s:
        tasks = set(s.scalars(select(HumanTask.id)))
        created = s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "task.created")).all()
    assert created and all(e.human_task_id in tasks and e.human_task_id == e.payload["task_id"] for e in created)


def test_a_use_case_that_fails_writes_no_trail_row_and_delivers_no_event(db):
    """A transaction that raises rolls back its trail rows and events with everything else."""
    delivered = []
    db.registry.subscribe("cycle.opened", lambda session, event: delivered.append(event))
    with pytest.raises(RuntimeError), db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", "2026-Q4")
        events.publish(s, events.CycleOpened(periode="2026-Q4", region_kode="65"))
        raise RuntimeError("gagal")
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_CLOSED, "use_case", "2026-Q4")
    assert _trail(db) == [("CYCLE_CLOSED", "2026-Q4")] and delivered == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_an_event_published_with_no_trail_row_is_still_delivered(db):
    """A change that publishes an event but writes no trail row still reaches its subscribers."""
    delivered = []
    db.registry.subscribe("cycle.opened", lambda session, event: delivered.append(event.region_kode))
    with db.transaction() as s:
        events.publish(s, events.CycleOpened(periode="2026-Q4", region_kode="65.01"))
    assert delivered == ["65.01"] and _trail(db) == []


def test_a_duplicate_caught_in_a_savepoint_keeps_the_trail_rows_written_before_it(db):
    """As when two runs open one period: the refused insert's savepoint drops nothing buffered before it."""
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", "sebelum")
        with pytest.raises(IntegrityError), s.begin_nested():
            audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", "ditolak")
            s.add(Region(kode=DESA, nama="Desa Kembar", tingkat=Tier.DESA, induk="65.01.01"))
        audit.record(s, SYSTEM, AuditAction.CYCLE_CLOSED, "use_case", "sesudah")
    assert _trail(db) == [("CYCLE_OPENED", "sebelum"), ("CYCLE_CLOSED", "sesudah")]


def test_the_trail_head_is_written_once_after_the_changes_own_rows_not_at_each_savepoint(db, statements):
    """Savepoints keep their trail rows for the commit, and the use case's own rows go first: the head is
    the last lock a change takes (two bulk actions never deadlock on it)."""
    with db.transaction() as s:
        for n in range(3):
            with s.begin_nested():
                audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", f"langkah {n}")
        s.scalars(select(CycleRhythm)).one().berita_acara_wajib = True
    head = [i for i, sql in enumerate(statements) if "audit_head" in sql and sql.startswith(("UPDATE", "WITH"))]
    own = [i for i, sql in enumerate(statements) if sql.startswith("UPDATE cycle_rhythm")]
    assert len(head) == 1 and len(own) == 1 and own[0] < head[0]
    assert _trail(db) == [("CYCLE_OPENED", f"langkah {n}") for n in range(3)]


def test_a_page_reading_sqlite_never_holds_back_a_change(db, is_postgresql):
    """On SQLite a read session does not take the write lock: another node can write while a page reads."""
    if is_postgresql:
        pytest.skip("PostgreSQL readers never block writers")
    with db.read() as s:
        assert s.get(Region, DESA).nama
        writer = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # fails at once with "database is locked" if the reader held it
            writer.execute("ROLLBACK")
        finally:
            writer.close()


def test_what_a_transaction_keeps_for_itself_is_forgotten_when_it_or_its_savepoint_ends(db):
    """Kept values never outlive the transaction or savepoint whose rows they describe."""
    with db.transaction() as s:
        transaction_cache.put(s, "dicek", {"sebelum": 1})
        with s.begin_nested():
            assert transaction_cache.get(s, "dicek") == {"sebelum": 1}
            transaction_cache.put(s, "dicek", {"di_savepoint": 2})
        assert transaction_cache.get(s, "dicek") is None
        transaction_cache.put(s, "dicek", {"sesudah": 3})
        assert transaction_cache.get(s, "dicek") == {"sesudah": 3}
    with db.sessions() as s:
        with s.begin():
            transaction_cache.put(s, "dicek", {"pertama": 1})
        with s.begin():
            assert transaction_cache.get(s, "dicek") is None


# --- the Dukcapil simulator -------------------------------------------------------------------------------


@pytest.fixture
def simulator():
    started, clients = [], []

    def start(population, **behaviour):
        sim = dukcapil_sim.Behaviour(**behaviour)
        server = dukcapil_sim.start_in_thread(population, sim)
        started.append(server)
        clients.append(httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=5))
        return clients[-1], sim

    yield start
    for client in clients:
        client.close()
    for server in started:
        server.shutdown()
        server.server_close()


def _person(nik: str) -> dict[str, str]:
    values = {"nik": nik, "nama": "Maria", "tanggal_lahir": "1950-05-17", "jenis_kelamin": "P"}
    return {**values, "no_kk": "6501011705500001", "kode_wilayah": DESA, "status_hidup": "hidup"}


def test_the_simulator_answers_found_and_not_found_for_at_most_a_hundred_niks(simulator):
    """Known NIKs come back found with their data, others not found; a batch past 100 is cut at 100."""
    population = {f"65010157055{n:05d}": _person(f"65010157055{n:05d}") for n in range(3)}
    client, sim = simulator(population, user="sijosku", password="rahasia")
    asked = list(population) + [f"65010157055{n:05d}" for n in range(3, 150)]
    answer = client.post("/nik/batch", json={"nik": asked}, auth=("sijosku", "rahasia"))
    assert answer.status_code == 200
    hasil = answer.json()["hasil"]
    assert len(hasil) == dukcapil_sim.MAX_NIKS == 100
    assert [h["ditemukan"] for h in hasil[:4]] == [True, True, True, False]
    assert hasil[0]["nama"] == "Maria" and hasil[3] == {"nik": asked[3], "ditemukan": False}
    assert client.get("/health").json() == {"status": "ok", "penduduk": 3}


def test_the_simulator_refuses_wrong_credentials_and_unknown_paths(simulator):
    """Wrong credentials are a 401 and another path a 404, neither counted as a call."""
    client, sim = simulator({}, user="sijosku", password="rahasia")
    assert client.post("/nik/batch", json={"nik": []}, auth=("sijosku", "salah")).status_code == 401
    assert client.post("/nik/lain", json={"nik": []}, auth=("sijosku", "rahasia")).status_code == 404
    assert client.post("/nik/batch", content=b"bukan json", auth=("sijosku", "rahasia")).status_code == 400
    assert sim.calls == 1


def test_the_simulators_failures_repeat_with_their_seed_and_are_counted():
    """One seed draws the same drops and failures in the same order, at the rates asked, and counts them."""

    def outcomes(seed: int) -> list[str]:
        sim = dukcapil_sim.Behaviour(fail_rate=0.3, drop_rate=0.2, seed=seed)
        drawn = [sim.draw() for _ in range(400)]
        assert sim.calls == 400 and sim.failures == sum(o != "answer" for o in drawn)
        return drawn

    first = outcomes(7)
    assert first == outcomes(7)
    assert 40 <= first.count("drop") <= 120 and 80 <= first.count("fail") <= 160
    assert dukcapil_sim.Behaviour(seed=7).draw() == "answer"
    assert dukcapil_sim.Behaviour(drop_rate=1.0).draw() == "drop"
    assert dukcapil_sim.Behaviour(fail_rate=1.0).draw() == "fail"


# --- calls to another system ----------------------------------------------------------------------------


def _client(answers: list[int], **settings) -> tuple[ServiceClient, list[str], list[float]]:
    calls, waits = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        status = answers[min(len(calls), len(answers)) - 1]
        return httpx.Response(status, json={"ok": status})

    config = {"base_url": "http://layanan.test", "retries": 3, "backoff": 0.5, **settings}
    client = ServiceClient(ServiceSettings(**config), "Layanan", httpx.MockTransport(handler), waits.append)
    return client, calls, waits


def _read(answer: httpx.Response) -> int:
    return json.loads(answer.content)["ok"]


def test_too_many_requests_is_retried_after_waiting_like_a_server_error():
    """A 429 or a 5xx is worth retrying: the call waits 0.5 s, then 1 s, and the answer is read."""
    client, calls, waits = _client([429, 503, 200])
    assert client.call("GET", "/data", _read) == 200
    assert len(calls) == 3 and waits == [0.5, 1.0]


def test_a_refusal_is_not_retried_and_a_server_that_keeps_failing_gives_up_after_its_attempts():
    """A 4xx refusal is said at once; three 500s are three attempts, then the service is unavailable."""
    client, calls, waits = _client([403])
    with pytest.raises(ServiceUnavailable, match="menolak permintaan: HTTP 403"):
        client.call("GET", "/data", _read)
    assert len(calls) == 1 and waits == []
    client, calls, waits = _client([500], retries=4)
    with pytest.raises(ServiceUnavailable, match="tidak menjawab setelah 4 percobaan"):
        client.call("GET", "/data", _read)
    assert len(calls) == 4 and waits == [0.5, 1.0, 2.0]  # each wait doubles the one before


def test_after_repeated_failures_the_breaker_refuses_without_calling_until_a_good_trial():
    """Two calls failing after their retries open the breaker: the next is refused unsent, as breaker-open."""
    clock = [0.0]
    client, calls, waits = _client([500, 500, 500, 500, 200], retries=2, breaker_failures=2, breaker_reset=30)
    client.breaker.monotonic = lambda: clock[0]
    for _ in range(2):
        with pytest.raises(ServiceUnavailable, match="tidak menjawab"):
            client.call("GET", "/data", _read)
    with pytest.raises(ServiceBreakerOpen):
        client.call("GET", "/data", _read)
    assert len(calls) == 4
    clock[0] = 30.0
    assert client.call("GET", "/data", _read) == 200 and len(calls) == 5


def _a_lapsed_trial() -> tuple[list[float], CircuitBreaker, int | None]:
    """A breaker opened by one failure whose first trial, let through at 10 s, is still out at 20 s."""
    clock = [0.0]
    breaker = CircuitBreaker(failures_to_open=1, reset_after=10, monotonic=lambda: clock[0])
    breaker.failed()
    clock[0] = 10.0
    lapsed = breaker.before_call()
    clock[0] = 20.0
    return clock, breaker, lapsed


def test_a_late_answer_of_a_lapsed_trial_does_not_close_a_breaker_a_later_trial_opened():
    """A trial call that never answered in time is replaced; its answer, when it comes, changes nothing."""
    clock, breaker, lapsed = _a_lapsed_trial()
    later = breaker.before_call()
    breaker.failed(later)  # the service is still down
    breaker.succeeded(lapsed)  # the first trial's answer comes at last
    clock[0] = 25.0
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    assert breaker.state == BreakerState.TERBUKA
