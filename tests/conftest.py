"""Test databases: every integration test runs once on SQLite and once on PostgreSQL.

Each backend's database is migrated and seeded once per run; after each test the tables that
tests write to are emptied and the default process is deployed again. PostgreSQL is not
optional: when it cannot be reached the run fails with a message (set SIJOSKU_TEST_BACKENDS=sqlite
to choose SQLite alone on a machine without it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

from engine import definitions
from engine.actors import Actor
from engine.config import DEFAULT_BPMN_DIR, load_settings
from engine.setup import initialise
from engine.uow import Database
from models import AuditHead, Base
from models.db import make_engine

SEEDED = {"region", "population", "category", "alembic_version"}
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = [b.strip() for b in os.environ.get("SIJOSKU_TEST_BACKENDS", "sqlite,postgresql").split(",")]


def pg_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)


def _reset_postgresql(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        pytest.exit(f"PostgreSQL tidak dapat dihubungi di {url}: {exc}\n"
                    "Jalankan server PostgreSQL atau setel TEST_DATABASE_URL "
                    "(SIJOSKU_TEST_BACKENDS=sqlite hanya untuk mesin tanpa PostgreSQL).", returncode=3)
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
    settings = load_settings({"DATABASE_URL": backend_url, "SIJOSKU_INSTANCE_DIR": str(instance_dir),
                              "SECRET_KEY": "test"})
    db = Database.connect(settings)
    initialise(db)
    yield db
    db.dispose()


def _empty_written_tables(db: Database) -> None:
    definitions.forget_parsed()  # ids are reused once the rows are gone
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in SEEDED | {"audit_head"}]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(delete(table))
        conn.execute(update(AuditHead).values(last_seq=0, last_hash="0" * 64))


@pytest.fixture
def db(seeded: Database) -> Iterator[Database]:
    _empty_written_tables(seeded)
    with seeded.transaction() as session:
        definitions.deploy(session, Actor.system("test"),
                           (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8"))
    yield seeded


@pytest.fixture
def is_postgresql(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"
