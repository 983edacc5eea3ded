"""Test databases: every integration test runs once on SQLite and once on PostgreSQL.

Each backend's database is migrated and seeded once per run; before each test the tables that
tests write to are emptied, the registry is built afresh by the composition root, and the default
process is deployed again. PostgreSQL is not optional: when it cannot be reached the run fails
with a message (set SIJOSKU_TEST_BACKENDS=sqlite to choose SQLite alone on a machine without it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from sqlalchemy import delete, event, text, update
from sqlalchemy.engine import make_url

from engine.bootstrap import bootstrap
from engine.bpmn import definitions
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR, load_settings
from engine.core.uow import Database
from engine.people import users
from engine.setup.initialise import initialise
from models import AuditHead, Base, CycleRhythm
from models.db import make_engine, normalise_url
from notifications.plugin import plugin as notifications_plugin
from tests.factories import PASSWORD, RECONCILIATION_PEOPLE, new_person

# Property tests check what is computed, not how fast: a shared machine's pause of a few hundred
# milliseconds must not fail an example that normally takes microseconds.
hypothesis_settings.register_profile("sijosku", deadline=None)
hypothesis_settings.load_profile("sijosku")

SEEDED = {"region", "population", "category", "region_former_code", "alembic_version"}
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = [b.strip() for b in os.environ.get("SIJOSKU_TEST_BACKENDS", "sqlite,postgresql").split(",")]
# Cheap argon2 parameters for test passwords: verification reads them from the hash, so signing in
# costs microseconds instead of the production hash's tens of milliseconds.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def pg_url() -> str:
    """The PostgreSQL test database; with several test workers (pytest -n), one database each."""
    url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    base = make_url(normalise_url(url))
    name = f"{base.database}_{worker}"
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.exit(f"PostgreSQL tidak dapat dihubungi di {url}: {exc}", returncode=3)
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgresql(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        pytest.exit(
            f"PostgreSQL tidak dapat dihubungi di {url}: {exc}\n"
            "Jalankan server PostgreSQL atau setel TEST_DATABASE_URL "
            "(SIJOSKU_TEST_BACKENDS=sqlite hanya untuk mesin tanpa PostgreSQL).",
            returncode=3,
        )
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    url = pg_url()
    _reset_postgresql(url)
    return url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def seeded(backend_url: str, instance_dir: Path) -> Iterator[Database]:
    settings = load_settings(
        {
            "DATABASE_URL": backend_url,
            "SIJOSKU_INSTANCE_DIR": str(instance_dir),
            "SECRET_KEY": "test",
            "SIJOSKU_IMPORT_POLL": "0",  # the scheduled import job runs what waits, then returns
        }
    )
    db = bootstrap(Database.connect(settings))
    initialise(db)
    yield db
    db.dispose()


def _empty_written_tables(db: Database) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in SEEDED | {"audit_head"}]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(delete(table))
        conn.execute(update(AuditHead).values(last_seq=0, last_hash="0" * 64, last_at=None))


@pytest.fixture
def db(seeded: Database) -> Iterator[Database]:
    _empty_written_tables(seeded)
    bootstrap(seeded)  # the registry afresh: no subscriber or job left over from another test
    with seeded.transaction() as session:
        # every default process, as `sijosku init` deploys them; the tiered verification first (id 1)
        for path in sorted(DEFAULT_BPMN_DIR.glob("*.bpmn"), key=lambda p: p.name != "verifikasi_berjenjang.bpmn"):
            definitions.deploy(session, Actor.system("test"), path.read_text(encoding="utf-8"))
        # The product requires the signed minutes before a submission goes up; tests of other
        # features submit without them, and tests of the minutes rule turn it on (`minutes_required`).
        session.add(CycleRhythm(berita_acara_wajib=False))
    yield seeded


@pytest.fixture
def minutes_required(db: Database) -> Database:
    with db.transaction() as session:
        session.execute(update(CycleRhythm).values(berita_acara_wajib=True))
    return db


@pytest.fixture
def is_postgresql(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The test password, hashed once per run with cheap parameters."""
    return CHEAP_HASHER.hash(PASSWORD)


@pytest.fixture
def with_notifications(db: Database) -> Callable[[], Database]:
    """Register the notifications package too, as the app and the command line do."""
    return lambda: bootstrap(db, notifications_plugin(db.settings))


# One person per role around Desa Gunung Putih (65.01.01.2005), plus one of a neighbouring region each.
PEOPLE = [
    ("op.desa", "operator", "65.01.01.2005"),
    ("op.lain", "operator", "65.01.01.2006"),
    ("verif.kec", "verifier", "65.01.01"),
    ("verif.kec.lain", "verifier", "65.01.02"),
    ("verif.kab", "verifier", "65.01"),
    ("verif.kab.lain", "verifier", "65.02"),
    ("valid.prov", "validator", "65"),
    ("admin.prov", "admin", "65"),
    ("auditor.prov", "auditor", "65"),
    ("auditor.kab.lain", "auditor", "65.02"),
]


@pytest.fixture
def people(db: Database, password_hash: str) -> dict[str, str]:
    """The people above, each signing in with PASSWORD; returns username -> region."""
    with db.transaction() as session:
        for username, role, region in PEOPLE:
            users.add_user(session, Actor.system("test"), username, role, region).password_hash = password_hash
    return {username: region for username, _, region in PEOPLE}


@pytest.fixture
def stewards(db: Database, people: dict[str, str], password_hash: str) -> dict[str, str]:
    """The people above and the reconciliation's (walidata, Forum SDI, the head), each with PASSWORD."""
    with db.transaction() as session:
        for username, role, region in RECONCILIATION_PEOPLE:
            users.add_user(session, Actor.system("test"), username, role, region).password_hash = password_hash
    return {**people, **{username: region for username, _, region in RECONCILIATION_PEOPLE}}


@pytest.fixture
def our_figures(db: Database) -> None:
    """Dinas Sosial's own AKTK figures of 2024 for two regencies, which an agency's are compared with."""
    from engine.core.audit import AuditAction
    from engine.quality import aggregates, series

    with db.transaction() as session:
        values = [
            series.Value("65.01", "AKTK", "2024", 68, "dinsos"),
            series.Value("65.02", "AKTK", "2024", 20, "dinsos"),
        ]
        aggregates.store(session, Actor.system("test"), values, AuditAction.BASELINE_IMPORTED)


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the test runs, whitespace folded."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def regency_admin(db) -> Actor:
    """Bulungan's admin (65.01)."""
    return new_person(db, "admin.kab")


@pytest.fixture
def province_admin(db) -> Actor:
    return new_person(db, "admin.prov", region="65")
