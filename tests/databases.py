"""Empty databases beside the test database: for a restore, a first start, two new nodes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from engine.core.config import load_settings
from engine.core.uow import Database
from models.db import make_engine


def make_empty(db: Database, name: str) -> str:
    """Create `name` on the test database's server, dropping one a stopped run left; its URL."""
    _run(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return db.engine.url.set(database=name).render_as_string(hide_password=False)


def drop(db: Database, name: str) -> None:
    _run(db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore_target(db: Database, tmp_path: Path) -> Database:
    """An empty database of the test database's kind, with its own instance folder."""
    if db.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'pulih.db'}"
    else:
        url = make_empty(db, f"{db.engine.url.database}_pulih")
    env = {"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path / "pulih"), "SECRET_KEY": "x"}
    return Database.connect(load_settings(env))


@contextmanager
def empty_database(db: Database, name: str) -> Iterator[str]:
    """An empty database's URL for the block, dropped afterwards whatever happens."""
    url = make_empty(db, name)
    try:
        yield url
    finally:
        drop(db, name)


def _run(db: Database, *statements: str) -> None:
    # CREATE and DROP DATABASE wait for a checkpoint, which can outlast the request timeout on a busy
    # server, and cannot run inside a transaction: their own engine, a longer timeout, autocommit.
    admin = make_engine(db.settings.database_url, statement_timeout=600, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()
