"""The database goes away: people get SIJOSKU's own 503 page in their language (or a JSON problem), never a
hang and never Flask's English "Internal Server Error"; health checks tell the two apart."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.core import jobs, retry
from engine.core.config import load_settings
from engine.core.uow import Database
from models.db import make_engine
from tests import databases
from tests.factories import open_with_items, submit
from web.app import _retried


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _database_at(db: Database, url: str) -> Iterator[None]:
    """Point the app's database at `url` for a while (as if the server went away), then back."""
    engine = db.engine
    db.engine = make_engine(url, connect_timeout=1, statement_timeout=2)
    db.sessions.configure(bind=db.engine)
    try:
        yield
    finally:
        db.engine.dispose()
        db.engine = engine
        db.sessions.configure(bind=engine)


@contextmanager
def _silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: packets dropped on the way."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def _refused_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{_free_port()}/sijosku"


def test_a_refused_database_gives_the_indonesian_503_page(db, people, signed_in):
    verifier = signed_in("verif.kec")
    with _database_at(db, _refused_url()):
        page = verifier.get("/tugas/")
        body = page.get_data(as_text=True)
        assert page.status_code == 503
        assert "Basis data SIJOSKU sedang tidak dapat dihubungi" in body
        assert "Internal Server Error" not in body and "Traceback" not in body
        assert page.headers["Retry-After"] == "30"
        problem = verifier.get("/tugas/", headers={"Accept": "application/json"})
        assert problem.status_code == 503 and problem.headers["Content-Type"] == "application/problem+json"
        assert problem.headers["Retry-After"] == "30"
        assert problem.get_json()["status"] == 503 and "tidak dapat dihubungi" in problem.get_json()["detail"]
    assert verifier.get("/tugas/").status_code == 200  # and it recovers by itself


def test_health_is_the_process_readiness_is_the_database(db, browser):
    assert browser.get("/healthz").get_json() == {"status": "ok"}
    assert browser.get("/readyz").status_code == 200
    with _database_at(db, _refused_url()):
        assert browser.get("/healthz").status_code == 200
        assert browser.get("/readyz").status_code == 503
    assert browser.get("/readyz").status_code == 200


def test_an_unreachable_database_fails_a_request_in_seconds_not_for_the_outage(db, people, signed_in, is_postgresql):
    if not is_postgresql:
        pytest.skip("SQLite is a file, not a server that can become unreachable")
    verifier = signed_in("verif.kec")
    answers: list[int] = []
    with _silent_server() as port, _database_at(db, f"postgresql://postgres@127.0.0.1:{port}/sijosku"):
        request = threading.Thread(target=lambda: answers.append(verifier.get("/tugas/").status_code), daemon=True)
        request.start()
        request.join(60)  # the outage lasts until this block ends: an answer within it did not wait for its end
        assert answers == [503], "the request must end with 503 instead of hanging"


def test_connections_the_server_ended_are_replaced_unseen(db, people, signed_in, is_postgresql):
    """A restart of PostgreSQL, a failover or an idle timeout ends the pool's connections; the pool
    tests each one as it lends it (pool_pre_ping), so the next request opens a new one instead of
    failing on the dead one."""
    if not is_postgresql:
        pytest.skip("SQLite is a file: no server ends its connections")
    verifier = signed_in("verif.kec")
    assert verifier.get("/tugas/").status_code == 200  # the pool now holds connections
    killer = make_engine(db.engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert ended >= 1
    for _ in range(3):  # every pooled connection was ended: each is replaced in turn
        assert verifier.get("/tugas/").status_code == 200


def test_a_statement_that_runs_too_long_is_cancelled(db, is_postgresql, tmp_path):
    if not is_postgresql:
        pytest.skip("statement_timeout is PostgreSQL's")
    settings = load_settings(
        {
            "DATABASE_URL": db.settings.database_url,
            "SIJOSKU_INSTANCE_DIR": str(tmp_path),
            "SECRET_KEY": "x",
            "SIJOSKU_DB_STATEMENT_TIMEOUT": "1",
        }
    )
    short = Database.connect(settings)
    try:
        # without the timeout pg_sleep would return normally after its minute
        with pytest.raises(OperationalError, match="statement timeout"), short.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(60)"))
    finally:
        short.dispose()


def test_an_unexpected_failure_is_our_own_page_not_flasks(app, browser):
    @app.get("/_uji_gagal")
    def broken() -> str:
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the test client would re-raise it
    page = browser.get("/_uji_gagal")
    assert page.status_code == 500
    assert "Terjadi kesalahan di server SIJOSKU" in page.get_data(as_text=True)


def test_metrics_report_tasks_per_tier_jobs_and_the_outbox(db, people, browser, signed_in):
    submit(db, "op.desa", open_with_items(db))
    jobs.run_once(db, "surel", "2027-01-01T00:00", lambda: "0 surel")
    signed_in("verif.kec").get("/tugas/")
    text = browser.get("/metrics").get_data(as_text=True)
    assert 'sijosku_open_tasks{tingkat="kecamatan"} 1.0' in text
    assert 'sijosku_job_runs{job="surel",status="selesai"} 1.0' in text
    assert "sijosku_outbox_backlog" in text
    assert 'sijosku_http_request_duration_seconds_count{endpoint="tasks.inbox_page",method="GET",status="200"}' in text


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg reports when PostgreSQL breaks a deadlock


def _lost_race() -> OperationalError:
    return OperationalError("UPDATE audit_head SET ...", {}, _Deadlock("deadlock detected"))


def test_a_lost_race_is_tried_again_and_the_second_try_answers(app, browser):
    tries: list[int] = []

    def once_deadlocked() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise _lost_race()
        return "berhasil"

    app.add_url_rule("/_uji_kalah_sekali", "uji_kalah_sekali", _retried(once_deadlocked))
    page = browser.get("/_uji_kalah_sekali")
    assert page.status_code == 200 and page.get_data(as_text=True) == "berhasil"
    assert len(tries) == 2


def test_a_race_lost_every_time_is_a_409_in_indonesian_never_a_500(app, browser):
    tries: list[int] = []

    def always_deadlocked() -> str:
        tries.append(1)
        raise _lost_race()

    app.add_url_rule("/_uji_kalah", "uji_kalah", _retried(always_deadlocked))
    app.add_url_rule("/api/v1/_uji_kalah", "api_uji_kalah", _retried(always_deadlocked))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = browser.get("/_uji_kalah")
    assert page.status_code == 409
    assert "sedang diubah oleh tindakan lain" in page.get_data(as_text=True)
    assert len(tries) == retry.ATTEMPTS
    problem = browser.get("/api/v1/_uji_kalah")
    assert problem.status_code == 409
    assert "sedang diubah oleh tindakan lain" in problem.get_json()["detail"]


def test_a_database_never_set_up_says_so_not_unreachable(db, browser, tmp_path, is_postgresql):
    """Started without `sijosku init`: the database answers, but has no tables. "Cannot be reached"
    would send the administrator to the network; the page says what to run."""
    with _empty_database(db, tmp_path, is_postgresql) as url, _database_at(db, url):
        page = browser.login("admin.prov", "sandi-apa-saja")  # a sign-in reads the attempts table first
        body = page.get_data(as_text=True)
        assert page.status_code == 503 and "SIJOSKU belum disiapkan" in body and "sijosku init" in body
        assert "tidak dapat dihubungi" not in body


@contextmanager
def _empty_database(db: Database, tmp_path, is_postgresql: bool) -> Iterator[str]:
    if not is_postgresql:
        yield f"sqlite:///{tmp_path / 'kosong.db'}"
        return
    with databases.empty_database(db, f"kosong_{tmp_path.name[-20:].lower().replace('-', '_')}") as url:
        yield url
