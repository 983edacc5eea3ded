"""Scheduled jobs and their leases, the delivery of domain events, the demo data and the Dukcapil
simulator: rules no other test held.

- a run that finished is never run again because its lease has passed; a lease holds up to its last
  moment and lapses after it, both for a take-over and for the sweep that fails dead runs;
- a run taken over starts afresh: started now, under a full lease (a third node is skipped while it
  runs), showing neither the finish nor the message of the run before it; a minute that finished at
  this very moment is not run again after a clock correction;
- a failure is recorded with the kind of error, cut to 2000 characters; a run asked for by hand
  reports when it started; a rehearsal runs the job and records its run by the clock it was given;
- a node whose clock is behind the database's by more than the skew allowed fires no deadline, and
  says by how much;
- runs that started together are listed the latest taken first; the purge of the job history goes
  through it batch by batch and keeps ninety days to the moment;
- minute jobs fire every minute, daily ones at 00:05 WITA; a jump of the wall clock by exactly the
  threshold is noticed;
- events published together are each written and delivered; an event whose subscriber fails does
  not end the delivery of the events after it; it is tried five times, then left for the admins with
  its error (with the kind of error, cut to 2000 characters); the failures list only the events still
  undelivered after an error, newest first;
- the demo fills this quarter when no period is named; its users work at the tier and in the region
  their names say, and a run again makes none; people of two desa of one kecamatan get NIK serials
  of their own; a category for one sex only gets people of that sex; a submission already sent up is
  left as it is; a run again writes to the population only the people with a NIK; the population
  lets the first of every five die and names the second otherwise; a value holding a comma keeps the
  columns in place; the youngest person drawn is old enough for the category (it is not, yet);
- the simulator refuses a population file without one of its columns, naming it, and keeps only its
  own columns; given a user it asks for credentials even with an empty password; told to fail it
  answers 500; it reads no more of a request than its bound.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from engine.core import clock, events, jobs
from engine.core.jobs import Outcome
from engine.core.periods import reference_date
from engine.core.registry import Job
from engine.quality.row_rules import age
from engine.setup import demo, dukcapil_sim
from engine.verification import imports, register
from engine.verification.items import ITEM_COLUMNS
from models import (
    Category,
    JobRun,
    JobStatus,
    OutboxEvent,
    Region,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    Tier,
    User,
)
from tests.factories import DESA, PERIOD, SYSTEM, actor, csv_of, make_team, open_with_items, person_row, submit
from tests.integration.test_audit_jobs_backup_rules import _held, _run
from tests.integration.test_clock_jumps import _run_at

T = datetime.fromisoformat("2027-01-01T10:30:02+08:00")


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware one (SQLite gives it back without its zone)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


# --- scheduled jobs and their leases -------------------------------------------------------------------


def test_a_finished_run_is_not_run_again_once_its_lease_has_passed(db):
    """The lease guards a run in progress; a run that finished stays done, however late another node asks."""
    calls: list[str] = []
    assert _run_at(db, "10:30", T, calls, "A") == Outcome.SELESAI
    assert _run_at(db, "10:30", T + jobs.LEASE + timedelta(hours=1), calls, "B") == Outcome.DILEWATI
    assert calls == ["A"] and _run(db, "timer", "10:30").status == JobStatus.SELESAI


def test_a_lease_is_held_up_to_its_last_moment_and_lapses_after_it(db):
    until = T + timedelta(minutes=1)
    _held(db, "uji", "k", until, until - jobs.LEASE)
    assert jobs.run_once(db, "uji", "k", lambda: "ambil alih", until) == Outcome.DILEWATI
    assert jobs.expire_lapsed(db, until) == 0 and _run(db, "uji", "k").status == JobStatus.BERJALAN
    assert jobs.run_once(db, "uji", "k", lambda: "ambil alih", until + timedelta(seconds=1)) == Outcome.SELESAI
    assert _run(db, "uji", "k").message == "ambil alih"


def test_a_lapsed_run_taken_over_is_held_afresh_and_not_taken_again_while_it_runs(db):
    """The run taken over starts now under a full lease: a third node a minute later is skipped."""
    _held(db, "uji", "k", T - timedelta(minutes=1), T - timedelta(minutes=11))
    seen: dict[str, object] = {}

    def work() -> str:
        run = _run(db, "uji", "k")
        seen.update(started=_utc(run.started_at), lease=_utc(run.lease_until), holder=run.holder)
        seen["third"] = jobs.run_once(db, "uji", "k", lambda: "lagi", T + timedelta(minutes=1))
        return "diambil alih"

    assert jobs.run_once(db, "uji", "k", work, T) == Outcome.SELESAI
    assert seen == {"started": T, "lease": T + jobs.LEASE, "holder": jobs.HOLDER, "third": Outcome.DILEWATI}
    assert _run(db, "uji", "k").message == "diambil alih"


def test_a_minute_run_again_after_a_clock_correction_shows_no_finish_of_its_earlier_run(db):
    """While the minute runs again, it is running: neither the earlier run's finish nor its message shows."""
    calls: list[str] = []
    ahead = T + timedelta(minutes=30)  # the clock ran 30 minutes ahead
    for minute in range(2):
        assert _run_at(db, f"10:3{minute}", ahead + timedelta(minutes=minute), calls, "ahead") == Outcome.SELESAI
    seen = []

    def again() -> str:
        run = _run(db, "timer", "10:30")
        seen.append((run.status, run.finished_at, run.message, _utc(run.started_at)))
        return "lagi"

    with clock.frozen_at(T):
        assert jobs.run_once(db, "timer", "10:30", again, T) == Outcome.SELESAI
    assert seen == [(JobStatus.BERJALAN, None, None, T)]


def test_a_minute_that_finished_at_this_very_moment_is_not_run_again(db):
    calls: list[str] = []
    assert _run_at(db, "10:30", T, calls, "A") == Outcome.SELESAI
    assert _run_at(db, "11:30", T + timedelta(hours=1), calls, "A") == Outcome.SELESAI  # its runs far ahead
    assert _run_at(db, "10:30", T, calls, "B") == Outcome.DILEWATI
    assert calls == ["A", "A"]


def test_a_failure_is_recorded_with_the_kind_of_error_and_cut_to_2000_characters(db):
    def broken() -> str:
        raise ValueError("x" * 5000)

    assert jobs.run_once(db, "uji", "k", broken, T) == Outcome.GAGAL
    run = _run(db, "uji", "k")
    assert run.status == JobStatus.GAGAL and run.finished_at is not None
    assert run.message == "ValueError: " + "x" * (2000 - len("ValueError: "))


def test_a_node_whose_clock_is_behind_the_databases_fires_no_deadline(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("the shared clock is the database server's")
    with clock.frozen_at(datetime.now(UTC) - timedelta(minutes=30)):
        assert jobs.run_job(db, "timer_bpmn") == Outcome.GAGAL
    with db.read() as s:
        said = s.scalar(select(JobRun.message).where(JobRun.job_id == "timer_bpmn"))
    assert re.search(r"berbeda -1[78]\d\d detik", said), said


def test_a_rehearsal_runs_the_job_and_records_its_run_with_the_clock_at_the_time_asked(db, monkeypatch):
    monkeypatch.setitem(db.registry.jobs, "uji_hari", Job("uji_hari", "day", lambda _db, _now: clock.now().isoformat()))
    assert jobs.run_job(db, "uji_hari", T) == Outcome.SELESAI
    run = _run(db, "uji_hari", "2027-01-01")
    assert run.message == T.astimezone(UTC).isoformat() and _utc(run.finished_at) == _utc(run.started_at) == T


def test_runs_started_at_one_moment_are_listed_the_latest_taken_first(db):
    for key in ("pertama", "kedua", "ketiga"):
        _held(db, "uji", key, T, T)
    with db.read() as s:
        assert [r.run_key for r in jobs.history(s)] == ["ketiga", "kedua", "pertama"]


def test_minute_jobs_fire_every_minute_and_daily_jobs_at_five_past_midnight_wita(db):
    scheduler = jobs.build(db, background=True)
    scheduler.start(paused=True)
    try:
        triggers = {job.id: job.trigger for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=True)
    noon = datetime.fromisoformat("2027-01-01T12:00:00+08:00")
    every = {job.job_id: job.every for job in db.registry.jobs.values()}
    assert set(triggers) == set(every) and {"minute", "day"} <= set(every.values())
    for job_id, trigger in triggers.items():
        after = noon + timedelta(minutes=1) if every[job_id] == "minute" else noon + timedelta(hours=12, minutes=5)
        assert trigger.get_next_fire_time(noon, noon) == after, job_id


def test_the_purge_goes_through_a_long_history_batch_by_batch_and_keeps_ninety_days_to_the_moment(db, monkeypatch):
    monkeypatch.setattr(jobs, "PURGE_BATCH", 2)
    ages = [timedelta(days=90, seconds=1)] * 5 + [timedelta(days=90), timedelta(days=1)]
    for n, old in enumerate(ages):
        _held(db, "uji", f"k{n}", T - old, T - old)
    with db.transaction() as s:
        s.execute(update(JobRun).values(status=JobStatus.SELESAI))
    assert jobs.purge_runs(db, T) == "5 jalan tugas lama dihapus"
    with db.read() as s:
        assert sorted(s.scalars(select(JobRun.run_key))) == ["k5", "k6"]


def test_a_jump_of_the_wall_clock_by_exactly_the_threshold_is_noticed():
    watch = jobs.ClockWatch(threshold=30)
    watch.offset = 0.0
    assert watch.jumped(1030.0, 1000.0) == 30 and watch.jumped(1059.5, 1030.0) == 0


def test_a_run_asked_for_by_hand_reports_when_it_started(db, monkeypatch):
    monkeypatch.setitem(db.registry.jobs, "uji_hari", Job("uji_hari", "day", lambda _db, _now: "selesai"))
    report = jobs.run_job_reporting(db, "uji_hari", T)
    assert (report.outcome, _utc(report.started_at), report.message) == (Outcome.SELESAI, T, "selesai")
    assert report.to_dict()["mulai"] == _utc(report.started_at).isoformat()


# --- domain events ---------------------------------------------------------------------------------------


def _openings_delivered_to(db, failing: set[str], regions=("65.01", "65.02", "65.03")) -> list[str]:
    """Openings published for `regions`; their subscriber fails for the regions in `failing` (which the
    test may change later) and notes the others it took."""
    taken: list[str] = []

    def subscriber(session, event) -> None:
        if event.region_kode in failing:
            raise RuntimeError("layanan mati " + "x" * 3000)
        taken.append(event.region_kode)

    db.registry.subscribe("cycle.opened", subscriber)
    with db.transaction() as s:
        for region in regions:
            events.publish(s, events.CycleOpened(periode=PERIOD, region_kode=region))
    return taken


def test_events_published_together_are_each_written_and_delivered(db):
    taken: list[str] = []
    db.registry.subscribe("cycle.opened", lambda session, event: taken.append(event.region_kode))
    with db.transaction() as s:
        events.publish_many(s, [events.CycleOpened(periode=PERIOD, region_kode=r) for r in ("65.01", "65.02")])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_not(None))) == 2
    assert taken == ["65.01", "65.02"]


def test_a_batch_with_a_failure_in_it_does_not_end_the_delivery_of_the_events_after_it(db):
    failing = {"65.01", "65.02", "65.03"}
    taken = _openings_delivered_to(db, failing)
    failing.difference_update({"65.02", "65.03"})
    assert events.deliver_pending(db.sessions, limit=2) == 2 and taken == ["65.02", "65.03"]


def test_an_event_is_tried_five_times_then_left_for_the_admins_with_its_error(db):
    _openings_delivered_to(db, {"65.01"}, regions=("65.01",))  # the first try, as the change commits
    for _ in range(6):
        events.deliver_pending(db.sessions)
    with db.read() as s:
        (failed,) = events.failures(s)
    assert failed.attempts == events.MAX_ATTEMPTS == 5 and failed.delivered_at is None
    assert failed.last_error.startswith("RuntimeError: layanan mati x") and len(failed.last_error) == 2000


def test_the_failures_list_only_events_still_undelivered_after_an_error_newest_first(db):
    failing = {"65.01", "65.02", "65.03"}
    _openings_delivered_to(db, failing)
    failing.discard("65.02")
    events.deliver_pending(db.sessions)  # 65.02 goes through on its second try
    with db.transaction() as s:  # an event written but not yet tried
        s.add(OutboxEvent(event_type="cycle.opened", payload={"periode": PERIOD, "region_kode": "65.04"}, attempts=0))
    with db.read() as s:
        assert [e.payload["region_kode"] for e in events.failures(s)] == ["65.03", "65.01"]


# --- the demo data -------------------------------------------------------------------------------------


def _first_desa(db) -> str:
    with db.read() as s:
        return s.scalar(select(func.min(Region.kode)).where(Region.tingkat == Tier.DESA, Region.kode.like("65.%")))


@pytest.mark.parametrize(("today", "period"), [("2027-03-31T12:00", "2027-Q1"), ("2027-10-01T12:00", "2027-Q4")])
def test_the_demo_fills_the_quarter_of_today_when_no_period_is_named(db, today, period):
    with clock.frozen_at(datetime.fromisoformat(today + "+08:00")):
        made = demo.create_demo(db, desa_count=1, records_per_desa=1)
    with db.read() as s:
        assert made["periode"] == period == s.get(Submission, made["pengajuan"][0]["submission_id"]).periode


def test_each_demo_user_works_at_the_tier_and_in_the_region_its_name_says(db):
    desa = _first_desa(db)
    made = demo.create_demo(db, desa_count=1, records_per_desa=1)
    with db.read() as s:
        found = {u.username: [(r.role.value, r.region_kode) for r in u.roles] for u in s.scalars(select(User))}
    kab, kec = desa[:5], desa[:8]
    assert found == {
        "admin": [("admin", "65")],
        "auditor": [("auditor", "65")],
        "validator.prov": [("validator", "65")],
        "walidata.prov": [("walidata", "65")],
        "forum.sdi": [("forum_sdi", "65")],
        "kepala.dinas": [("kepala_dinas", "65")],
        f"walidata.kab.{kab.replace('.', '')}": [("walidata", kab)],
        f"verif.kab.{kab.replace('.', '')}": [("verifier", kab)],
        f"verif.kec.{kec.replace('.', '')}": [("verifier", kec)],
        f"operator.{desa.replace('.', '')}": [("operator", desa)],
    }
    assert sorted(made["pengguna_baru"]) == sorted(found)
    assert demo.create_demo(db, desa_count=1, records_per_desa=1)["pengguna_baru"] == []  # none new the second time


def test_the_demo_gives_people_of_two_desa_of_one_kecamatan_serials_of_their_own(db):
    """The NIK's serial is unique within the kecamatan that issued it: the second desa's run on."""
    people: list[dict] = []
    demo.create_demo(db, desa_count=2, records_per_desa=3, periode=PERIOD, people=people)
    assert len({p["kode_desa"][:8] for p in people}) == 1 and len({p["kode_desa"] for p in people}) == 2
    assert sorted(p["nik"][-4:] for p in people) == [f"{n:04d}" for n in range(1, 7)]


def test_the_demo_draws_a_category_for_one_sex_only_people_of_that_sex(db):
    on, rng = reference_date(PERIOD), random.Random(65)
    with db.read() as s:
        for_one_sex = s.scalars(select(Category).where(Category.jenis_kelamin.is_not(None))).all()
    drawn = {
        (k.jenis_kelamin, demo.person(rng, DESA, k, on, n)["jenis_kelamin"]) for k in for_one_sex for n in range(20)
    }
    assert for_one_sex and drawn == {(k.jenis_kelamin, k.jenis_kelamin) for k in for_one_sex}


def test_a_demo_run_again_writes_only_the_people_with_a_nik_of_its_earlier_submission(db):
    """A family entered since without a NIK is not a person the civil registry can be asked about."""
    first: list[dict] = []
    made = demo.create_demo(db, desa_count=1, records_per_desa=2, periode=PERIOD, people=first)
    family = person_row(1, kategori="FM", nik="", nama="Keluarga Ingan", no_kk="6501011705500009")
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, made["pengajuan"][0]["submission_id"], csv_of([family]))
    again: list[dict] = []
    demo.create_demo(db, desa_count=1, records_per_desa=2, periode=PERIOD, people=again)
    assert [p["nik"] for p in again] == [p["nik"] for p in first] and len(again) == 2


class _Youngest(random.Random):
    """Draws the lowest value every time: the youngest person the demo can make."""

    def randint(self, a: int, b: int) -> int:
        return a

    def choice(self, seq):  # type: ignore[no-untyped-def]
        return seq[0]


def test_the_youngest_person_the_demo_makes_is_old_enough_for_the_category(db):
    on = reference_date(PERIOD)
    with db.read() as s:
        bounded = s.scalars(select(Category).where(Category.usia_min > 0, Category.satuan == "individu")).all()
    years = {
        k.kode: age(date.fromisoformat(demo.person(_Youngest(), DESA, k, on, 1)["tanggal_lahir"]), on) for k in bounded
    }
    assert bounded and {k.kode: years[k.kode] for k in bounded if years[k.kode] < k.usia_min} == {}


def test_the_demo_leaves_a_submission_already_sent_up_as_it_is(db):
    """A desa that reported nil for the period before the demo ran keeps its report: no demo people in it."""
    desa = _first_desa(db)
    team = make_team(db, desa)
    sid = open_with_items(db, [], desa=desa)
    with db.transaction() as s:
        register.declare(s, actor(db, team.operator), sid, nihil=True)
    submit(db, team.operator, sid)
    people: list[dict] = []
    made = demo.create_demo(db, desa_count=1, records_per_desa=3, periode=PERIOD, people=people)
    assert made["pengajuan"] == [{"submission_id": sid, "kode_desa": desa, "created": False}] and people == []
    with db.read() as s:
        assert s.get(Submission, sid).status != SubmissionStatus.DRAF
        assert s.scalar(select(func.count()).select_from(SubmissionItem)) == 0


def test_the_demo_population_lets_the_first_of_every_five_die_and_names_the_second_otherwise():
    rows = [
        {"nik": f"650101570550{n:04d}", "nama": f"Orang {n}", "tanggal_lahir": "1950-05-17", "jenis_kelamin": "P"}
        | {"no_kk": "6501011705500001", "kode_desa": "65.01.01.2005"}
        for n in range(7)
    ]
    written = list(csv.DictReader(io.StringIO(demo.population_csv(rows))))
    assert [(r["status_hidup"], r["nama"]) for r in written] == [
        ("meninggal", "Orang 0"),
        ("hidup", "Nama Menurut Dukcapil"),
        ("hidup", "Orang 2"),
        ("hidup", "Orang 3"),
        ("hidup", "Orang 4"),
        ("meninggal", "Orang 5"),
        ("hidup", "Nama Menurut Dukcapil"),
    ]
    assert all(
        r["kode_wilayah"] == "65.01.01.2005" and r["nik"] == row["nik"] for r, row in zip(written, rows, strict=True)
    )


def test_a_demo_value_holding_a_comma_keeps_the_columns_in_place():
    row = {c: "" for c in ITEM_COLUMNS} | {"nama": "Maria", "alamat": "Jl. Pelabuhan, RT 03", "kategori": "LUT"}
    (read,) = list(csv.DictReader(io.StringIO(demo.demo_csv([row]))))
    assert (read["nama"], read["alamat"], read["kategori"]) == ("Maria", "Jl. Pelabuhan  RT 03", "LUT")


# --- the Dukcapil simulator ------------------------------------------------------------------------------


def test_a_population_file_without_a_column_the_simulator_answers_with_is_refused_naming_it():
    header = ",".join(c for c in dukcapil_sim.COLUMNS if c not in ("no_kk", "status_hidup"))
    with pytest.raises(ValueError, match="no_kk, status_hidup"):
        dukcapil_sim.read_population(header + "\n")


def _ask_simulator(behaviour: dukcapil_sim.Behaviour, **request) -> list[httpx.Response]:
    server = dukcapil_sim.start_in_thread({}, behaviour)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=5) as client:
            return [client.post("/nik/batch", **({"json": {"nik": []}} | kwargs)) for kwargs in ({}, request)]
    finally:
        server.shutdown()
        server.server_close()


def test_a_simulator_given_a_user_asks_for_credentials_even_with_an_empty_password():
    without, given = _ask_simulator(dukcapil_sim.Behaviour(user="sijosku"), auth=("sijosku", ""))
    assert (without.status_code, given.status_code) == (401, 200)


def test_a_simulator_told_to_fail_answers_with_a_server_error():
    answers = _ask_simulator(dukcapil_sim.Behaviour(fail_rate=1.0))
    assert [(a.status_code, a.json()) for a in answers] == [(500, {"pesan": "galat simulasi"})] * 2


def test_the_simulator_keeps_only_its_own_columns_of_a_population_file():
    header = ",".join([*dukcapil_sim.COLUMNS, "catatan"])
    (person,) = dukcapil_sim.read_population(
        header + "\n6501015705500001,Maria,1950-05-17,P,1,65,hidup,rahasia\n"
    ).values()
    assert list(person) == dukcapil_sim.COLUMNS


def test_the_simulator_reads_no_more_of_a_request_than_its_bound():
    niks = ["6501015705500001"] * (dukcapil_sim.MAX_BODY // 16)
    (answer,) = _ask_simulator(dukcapil_sim.Behaviour(), json={"nik": niks})[1:]
    assert answer.status_code == 400
