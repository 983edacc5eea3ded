"""The composition root: what the application is made of, registered in one place.

The app factory, the command line and the tests call `bootstrap(db, *plugins)`; importing a module
never registers anything. It registers in the database's registry:
- the service-task handlers BPMN processes may name;
- the scheduled jobs (BPMN timers and a batch of Dukcapil NIK checks every minute, the cycle
  calendar, our figures of each closed cycle's period and the opening of each closed year's
  reconciliation every day);
- the clients of other systems (Dukcapil, when its URL is configured);
- whatever the plugins add: the notifications package subscribes to domain events and adds its
  email jobs (`notifications.install`), and is passed in by its callers, since the engine never
  imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.bpmn import timers
from engine.core import clock, jobs
from engine.core.actors import Actor
from engine.core.errors import phrase
from engine.core.registry import Job, Registry
from engine.core.uow import Database
from engine.people import sign_in
from engine.verification import (
    cycles,
    dtsen,
    imports,
    nik_matching,
    period_figures,
    reconciliation,
    service_tasks,
    stale_imports,
)

Plugin = Callable[[Registry], None]


def fire_timers(db: Database, now: datetime) -> str:
    return phrase(f"{timers.fire_due_timers(db, now)} instans maju")


def cycle_calendar(db: Database, now: datetime) -> str:
    """Open the period that starts today; remind before deadlines; close cycles past the last one."""
    return cycles.calendar_day(db, Actor.system("penjadwal"), now)


def reconciliation_calendar(db: Database, now: datetime) -> str:
    """Open the reconciliation of each year whose last update cycle has closed."""
    with db.transaction() as session:
        opened, waiting = reconciliation.open_due_years(
            session, Actor.system("penjadwal"), db.settings.province, now.astimezone(db.settings.tz).date()
        )
    return "; ".join([f"{len(opened)} rekonsiliasi dibuka" + "".join(f" {o.tahun}" for o in opened), *waiting])


def period_figures_calendar(db: Database, now: datetime) -> str:
    """Our figures of each closed cycle's period, stored if never taken or changed since."""
    return period_figures.keep_all_current(db, Actor.system("penjadwal"))


def dukcapil_sync(db: Database, now: datetime) -> str:
    """A batch of NIK checks with Dukcapil (records without a current answer)."""
    return nik_matching.sync(db, nik_matching.adapter(db), db.settings.dukcapil.batch).summary()


def bootstrap(db: Database, *plugins: Plugin) -> Database:
    """Register everything in `db.registry` (from scratch: calling it twice registers once)."""
    registry = db.registry
    registry.clear()
    clock.use_zone(db.settings.tz)
    timers.follow_engine_clock()
    service_tasks.register(registry)
    registry.add_job(Job("timer_bpmn", "minute", fire_timers))
    registry.add_job(Job("siklus", "day", cycle_calendar))
    registry.add_job(Job("rekonsiliasi", "day", reconciliation_calendar))
    registry.add_job(Job("angka_periode", "day", period_figures_calendar))
    registry.add_job(Job("dukcapil", "minute", dukcapil_sync))
    registry.add_job(Job("percobaan_masuk", "day", sign_in.purge_attempts))
    registry.add_job(Job("riwayat_tugas", "day", jobs.purge_runs))
    registry.add_job(Job(imports.IMPORT_JOB, "minute", imports.run_waiting_jobs))
    registry.add_job(Job("impor_macet", "minute", stale_imports.fail_stale_jobs))
    if db.settings.dukcapil.base_url:
        registry.adapters[nik_matching.ADAPTER] = nik_matching.HttpDukcapil(db.settings.dukcapil)
    if db.settings.dtsen.base_url:
        registry.adapters[dtsen.ADAPTER] = dtsen.HttpDtsen(db.settings.dtsen)
    for plugin in plugins:
        plugin(registry)
    return db
