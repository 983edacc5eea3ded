"""How SIJOSKU is set up for the people who use it and run it: a person keeps their session while their phone
moves between networks, and loses it when their account is switched off however that was done; behind its
proxy a sign-in is recorded from the address the proxy saw; a page gives back its database connection; days
left before a deadline are WITA days; only the built files of the front-end packages are served, cacheable
for a day; the manual's anchors, tables and printed links are as a reader needs them; the scheduler's jobs
keep their rhythms and other systems are called only once configured; and the production server takes its
settings from the environment as docs/deployment.md says."""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace

import pytest
from sqlalchemy import select, update

from engine.bootstrap import bootstrap
from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.uow import Database
from models import AuditEvent, User
from notifications.plugin import plugin as notifications_plugin
from tests.factories import PASSWORD
from tests.web.conftest import Browser
from web import gunicorn_conf
from web import manual_chapters as chapters
from web.app import create_app

SERVER_SETTINGS = (
    "SIJOSKU_BIND",
    "SIJOSKU_WEB_WORKERS",
    "SIJOSKU_WEB_THREADS",
    "SIJOSKU_WEB_TIMEOUT",
    "SIJOSKU_WEB_MAX_REQUESTS",
    "SIJOSKU_TRUSTED_PROXIES",
    "SIJOSKU_LOG_JSON",
    "SIJOSKU_RATELIMIT_STORAGE",
    "PROMETHEUS_MULTIPROC_DIR",
)


def test_a_phone_that_moves_to_another_network_stays_signed_in(signed_in, people):
    """A phone's address changes as it moves between networks: the operator's session goes on."""
    operator = signed_in("op.desa")
    moved = operator.client.get("/desa/", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert moved.status_code == 200
    assert operator.client.get("/desa/", environ_base={"REMOTE_ADDR": "10.1.1.2"}).status_code == 200


def test_an_account_switched_off_in_the_database_ends_its_open_session(signed_in, db, people):
    """However the account came to be switched off, its open session no longer opens a page."""
    verifier = signed_in("verif.kab")
    assert verifier.get("/tugas/").status_code == 200
    with db.transaction() as session:
        session.execute(update(User).where(User.username == "verif.kab").values(aktif=False))
    refused = verifier.get("/tugas/")
    assert refused.status_code == 302 and "/masuk" in refused.headers["Location"]


def test_a_front_end_package_file_is_cached_a_day_even_for_a_signed_in_person(signed_in, people):
    """The built script a page loads holds nobody's data: a phone on a weak line keeps it for a day."""
    with signed_in("op.desa").get("/vendor/htmx.org/dist/htmx.min.js") as script:
        kept = script.headers["Cache-Control"]
    assert script.status_code == 200 and "max-age=86400" in kept and "no-store" not in kept


def test_only_the_built_files_of_the_packages_the_pages_use_are_served(browser):
    """A package's own page for signing in elsewhere, its manifest, or a package no page uses is not served."""
    for path in (
        "swagger-ui-dist/oauth2-redirect.html",
        "swagger-ui-dist/package.json",
        "htmx.org/package.json",
        "bpmn-js/lib/Viewer.js",
        ".package-lock.json",
    ):
        assert browser.get(f"/vendor/{path}").status_code == 404, path
    with browser.get("/vendor/swagger-ui-dist/swagger-ui.css") as styles:
        assert styles.status_code == 200


@pytest.fixture
def server_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The server's settings read afresh from an environment holding only what the test sets."""
    for name in SERVER_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def read(**environment: str) -> ModuleType:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(gunicorn_conf)

    yield read
    monkeypatch.undo()
    importlib.reload(gunicorn_conf)


def test_the_server_listens_only_on_this_machine_and_believes_only_its_own_proxy_by_default(server_settings):
    conf = server_settings()
    assert (conf.bind, conf.forwarded_allow_ips) == ("127.0.0.1:8000", "127.0.0.1")
    assert (conf.threads, conf.worker_connections, conf.keepalive) == (1, 1, 0)
    assert (conf.timeout, conf.graceful_timeout, conf.max_requests, conf.max_requests_jitter) == (60, 30, 0, 0)


def test_the_servers_numbers_are_taken_from_the_environment(server_settings):
    conf = server_settings(
        SIJOSKU_WEB_WORKERS="3",
        SIJOSKU_WEB_THREADS="4",
        SIJOSKU_WEB_TIMEOUT=" 90 ",
        SIJOSKU_WEB_MAX_REQUESTS="2000",
        SIJOSKU_BIND="10.0.0.5:8000",
        SIJOSKU_TRUSTED_PROXIES="10.0.0.1",
    )
    assert (conf.workers, conf.threads, conf.worker_connections, conf.timeout) == (3, 4, 4, 90)
    assert (conf.max_requests, conf.max_requests_jitter) == (2000, 200)  # recycled with 10 % jitter
    assert (conf.bind, conf.forwarded_allow_ips) == ("10.0.0.5:8000", "10.0.0.1")


@pytest.mark.parametrize("written", ["60s", "dua", "-1", "\u0663", "1.5"])
def test_a_server_number_that_is_not_plain_digits_stops_the_start_naming_its_setting(server_settings, written):
    with pytest.raises(SystemExit, match="SIJOSKU_WEB_TIMEOUT harus bilangan bulat"):
        server_settings(SIJOSKU_WEB_TIMEOUT=written)


@pytest.mark.parametrize(("said", "as_json"), [("1", True), ("ya", True), ("YES", True), ("true", True), ("0", False)])
def test_the_access_log_is_json_when_asked_in_any_of_the_usual_words(server_settings, said, as_json):
    conf = server_settings(SIJOSKU_LOG_JSON=said)
    if as_json:
        assert json.loads(conf.access_log_format) == {
            "remote": "%(h)s",
            "request": "%(m)s %(U)s",
            "status": "%(s)s",
            "bytes": "%(b)s",
            "ms": "%(M)s",
        }
    else:
        assert conf.access_log_format == '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class _Told:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, text: str, *args: object) -> None:
        self.warnings.append(text % args)


@pytest.mark.parametrize(
    ("workers", "storage", "warned"),
    [("2", "memory://", True), ("1", "memory://", False), ("4", "redis://cache:6379", False)],
)
def test_the_start_warns_when_several_workers_count_the_apis_limits_apart(server_settings, workers, storage, warned):
    conf = server_settings(SIJOSKU_WEB_WORKERS=workers, SIJOSKU_RATELIMIT_STORAGE=storage)
    log = _Told()
    conf.when_ready(SimpleNamespace(log=log))
    assert bool(log.warnings) is warned
    if warned:
        assert f"each of the {workers} workers" in log.warnings[0] and "redis://" in log.warnings[0]


def test_the_start_empties_last_runs_shared_metrics_and_a_worker_leaving_takes_its_own(
    server_settings, tmp_path, monkeypatch
):
    folder = tmp_path / "metrik"
    folder.mkdir()
    (folder / "counter_17.db").write_bytes(b"lama")
    (folder / "catatan.txt").write_text("bukan metrik")
    conf = server_settings(PROMETHEUS_MULTIPROC_DIR=str(folder))
    monkeypatch.setattr(logging.Formatter, "converter", time.localtime)
    conf.on_starting(SimpleNamespace())
    assert sorted(p.name for p in folder.iterdir()) == ["catatan.txt"]
    assert logging.Formatter.converter is time.gmtime  # the server's own log lines are in UTC
    gone: list[int] = []
    monkeypatch.setattr(conf.multiprocess, "mark_process_dead", gone.append)
    conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))
    assert gone == [4242]


def test_behind_the_configured_proxy_a_sign_in_is_recorded_from_the_address_the_proxy_saw(db, people):
    """One proxy in front: the address it reports is the person's, whatever the client put before it."""
    proxied = create_app(dataclasses.replace(db.settings, proxy_hops=1), db, testing=True)
    browser = Browser(proxied.test_client())
    form = {"username": "verif.kab", "password": PASSWORD, "csrf_token": browser.token()}
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # the first written by the client itself
    assert browser.client.post("/masuk", data=form, headers=forwarded).status_code == 302
    with db.read() as session:
        signed = session.scalar(select(AuditEvent.after).where(AuditEvent.action == AuditAction.USER_LOGGED_IN))
    assert signed["address"] == "203.0.113.9"


ENGINE_JOBS = {
    "timer_bpmn": "minute",
    "dukcapil": "minute",
    "impor": "minute",
    "impor_macet": "minute",
    "siklus": "day",
    "rekonsiliasi": "day",
    "angka_periode": "day",
    "percobaan_masuk": "day",
    "riwayat_tugas": "day",
}


def test_the_scheduler_runs_each_job_at_its_own_rhythm(db):
    """Deadlines, Dukcapil checks and uploads every minute; calendars, our figures and clean-ups once a day."""
    every = {job.job_id: job.every for job in bootstrap(db).registry.jobs.values()}
    assert every == ENGINE_JOBS


def test_another_system_is_called_only_once_its_address_is_configured(db):
    unset = bootstrap(Database(db.engine, db.sessions, db.settings)).registry.adapters
    assert "dukcapil" not in unset and "dtsen" not in unset
    dukcapil = dataclasses.replace(db.settings.dukcapil, base_url="http://dukcapil.example")
    dtsen = dataclasses.replace(db.settings.dtsen, base_url="http://dtsen.example")
    for settings, called in (
        (dataclasses.replace(db.settings, dukcapil=dukcapil), {"dukcapil"}),
        (dataclasses.replace(db.settings, dtsen=dtsen), {"dtsen"}),
    ):
        adapters = bootstrap(Database(db.engine, db.sessions, settings)).registry.adapters
        assert {"dukcapil", "dtsen"} & set(adapters) == called


def test_a_headings_anchor_is_its_words_in_lower_case_joined_by_hyphens():
    assert chapters.slugify("Apa itu NIK?") == "apa-itu-nik"
    assert chapters.slugify("(Baru) Unggah Berita Acara") == "baru-unggah-berita-acara"


def test_a_chapter_in_the_app_offers_its_wide_tables_to_the_keyboard_and_loads_screenshots_when_reached(browser):
    page = browser.get("/bantuan/operator-desa").get_data(as_text=True)
    boxes = re.findall(r'<div class="table-wrap" tabindex="0" role="region" aria-label="([^"]+)">', page)
    assert boxes[:2] == ["Tabel 1, dapat digeser ke samping", "Tabel 2, dapat digeser ke samping"]
    shown = re.search(r'<img src="/bantuan/gambar/operator-pengajuan\.png"[^>]*>', page).group(0)
    assert 'loading="lazy"' in shown


def test_the_printed_manual_links_its_chapters_inside_itself_and_shows_screenshots_from_files(app):
    """`sijosku manual` prints one document: a chapter's link goes to its part, a screenshot is the file."""
    with app.test_request_context("/"):
        printed = chapters.printable()
    assert 'href="#bab-operator-desa"' in printed and 'href="operator-desa.md"' not in printed
    assert "/bantuan/" not in printed and "srcset" not in printed
    screenshot = (chapters.SCREENSHOTS / "operator-pengajuan.png").as_uri()
    assert f'src="{screenshot}"' in printed


def test_the_application_composed_again_hears_each_event_once_with_the_notifications_it_was_given(db):
    """The app, the command line and the scheduler each compose the registry; doing it again adds nothing."""

    def heard() -> dict[str, int]:
        registry = bootstrap(db, notifications_plugin(db.settings)).registry
        return {event: len(subscribers) for event, subscribers in registry.subscribers.items() if subscribers}

    once = heard()
    assert once and heard() == once
    assert not any(bootstrap(db).registry.subscribers.values())  # without the package, nobody is told


def test_the_days_left_before_a_deadline_are_counted_in_wita_days(app):
    """On 28 October (WITA) a deadline at 06:00 WITA on the 30th, still the 29th in UTC, is two days away;
    one at midnight starting the 31st leaves the 30th as its last day, two days away too."""
    days_left = app.jinja_env.filters["time_left"]
    morning = datetime(2026, 10, 29, 22, 0, tzinfo=UTC)  # 30-10-2026 06:00 WITA
    midnight = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 31-10-2026 00:00 WITA
    with app.test_request_context(), clock.frozen_at(datetime(2026, 10, 28, 9, 0, tzinfo=UTC)):
        assert (days_left(morning), days_left(midnight)) == ((False, 2), (False, 2))


def test_a_page_gives_back_its_database_connection_when_it_is_answered(signed_in, db, people):
    """A signed-in page reads its person, header and figures on one connection, returned when the page is
    sent: a busy office's pages never wait for connections earlier pages kept."""
    verifier = signed_in("verif.kab")
    for _ in range(3):
        assert verifier.get("/tugas/").status_code == 200
        assert db.engine.pool.checkedout() == 0
