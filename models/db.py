"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production, several nodes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from models.pg_cursor import LazyDescriptionCursor


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLAlchemy would otherwise pick psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


READ_ONLY_OPTION = "sijosku_read_only"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction takes the write lock up front: a deferred transaction that reads and then
        # writes can fail with "database is locked" instead of waiting its turn. Sessions opened
        # for reading only say so and start deferred, so they never hold writers back.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def postgresql_timeouts(connect_timeout: int, statement_timeout: int) -> dict[str, Any]:
    """libpq settings so that an unreachable or silent server fails a request instead of hanging it.

    `connect_timeout` bounds connecting; `statement_timeout` makes the server cancel a long
    statement; when packets are dropped the server's answer never arrives, so TCP itself gives up:
    on data not acknowledged (`tcp_user_timeout`) and on a silent peer (keepalives).
    """
    return {
        "connect_timeout": connect_timeout,
        "options": f"-c statement_timeout={statement_timeout * 1000}",
        "tcp_user_timeout": (statement_timeout + 5) * 1000,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def _keep_rows_out_of_errors(engine: Engine) -> None:
    """PostgreSQL's DETAIL line repeats a refused row's values ("Failing row contains (...)", "Key
    (nik)=(...) already exists"); `hide_parameters` hides only the bound values, so the line is
    dropped from the error text too. It stays readable, for code, in the driver's `diag`."""

    @event.listens_for(engine, "handle_error")
    def _without_detail(context: Any) -> None:
        refused = context.original_exception
        diagnosis = getattr(refused, "diag", None)
        if diagnosis is None or not diagnosis.message_detail:
            return
        refused.args = (diagnosis.message_primary or "",)
        if context.sqlalchemy_exception is not None:
            kind = type(refused)
            context.sqlalchemy_exception.args = (f"({kind.__module__}.{kind.__name__}) {refused.args[0]}",)


def make_engine(url: str, connect_timeout: int = 5, statement_timeout: int = 30, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    # A failed statement's values (NIKs, family card numbers) stay out of the error text, and so out of
    # logs, tracebacks and the job history admins read.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # a connection broken by an outage is replaced, not used
    kwargs.setdefault("pool_timeout", connect_timeout * 2)
    kwargs.setdefault(
        "connect_args",
        {**postgresql_timeouts(connect_timeout, statement_timeout), "cursor_factory": LazyDescriptionCursor},
    )
    engine = create_engine(url, **kwargs)
    _keep_rows_out_of_errors(engine)
    return engine
