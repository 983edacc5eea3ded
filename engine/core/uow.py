"""The unit of work: one transaction per use case, events delivered after it commits.

A `Database` owns its engine, its session factory and its `Registry`; every session it makes
carries the registry, so that handlers and subscribers are those of this application.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from engine.core import audit, commit_writes, deferred, events, transaction_cache
from engine.core.config import Settings, load_settings
from engine.core.registry import REGISTRY_KEY, Registry
from models.db import READ_ONLY_OPTION, make_engine


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings
    registry: Registry = field(default_factory=Registry)

    @classmethod
    def connect(cls, settings: Settings | None = None, url: str | None = None) -> Database:
        settings = settings or load_settings()
        engine = make_engine(
            url or settings.database_url,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
        )
        registry = Registry()
        sessions = sessionmaker(engine, expire_on_commit=False, info={REGISTRY_KEY: registry})
        event.listen(sessions, "after_transaction_end", transaction_cache.forget)
        # Events first, the audit chain's head last: the head is the last lock a transaction takes.
        deferred.install(
            sessions,
            [(events.PENDING, events.write_pending), (audit.PENDING, audit.write_pending)],
            commit_writes.write_postgresql if engine.dialect.name == "postgresql" else None,
        )
        return cls(engine, sessions, settings, registry)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any error; then deliver the events it published."""
        with self.sessions() as session:
            with session.begin():
                yield session
            published = session.info.pop(events.PUBLISHED_KEY, False)
        if published:
            events.deliver_pending(self.sessions)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only; on SQLite it does not take the write lock."""
        with self.sessions() as session:
            session.connection(execution_options={READ_ONLY_OPTION: True})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
