"""The unit of work: one transaction per use case, events delivered after it commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import events
from engine.config import Settings, load_settings
from models.db import READ_ONLY_OPTION, make_engine, make_session_factory


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings

    @classmethod
    def connect(cls, settings: Settings | None = None, url: str | None = None) -> Database:
        settings = settings or load_settings()
        engine = make_engine(url or settings.database_url)
        return cls(engine, make_session_factory(engine), settings)

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
