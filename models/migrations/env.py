"""Alembic environment: the engine comes from the caller (models.schema), never from a file.

On SQLite a migration that alters a table rebuilds it (batch mode: a copy, the old table dropped,
the copy renamed). With foreign keys enforced, dropping a table that others refer to deletes their
rows (`ON DELETE CASCADE`: every role of every person when `app_user` is rebuilt), empties their
references (`SET NULL`) or fails half-way. So SQLite migrates with foreign keys off, in one
transaction, checks every reference before committing, and turns them back on. PostgreSQL alters
tables in place, inside one transaction.
"""

from alembic import context

from models import Base

config = context.config
engine = config.attributes["engine"]


class BrokenReferences(RuntimeError):
    """Rows that refer to rows no longer there after a migration: nothing of it is kept."""


def _foreign_keys(connection, on: bool) -> None:  # type: ignore[no-untyped-def]
    # outside any transaction (SQLite ignores this pragma inside one), on the driver's own connection
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_references(connection) -> None:  # type: ignore[no-untyped-def]
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise BrokenReferences(
            f"{len(broken)} baris merujuk baris yang tidak ada ({', '.join(tables)}); migrasi dibatalkan"
        )


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,  # all of an upgrade or none of it, on both databases
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_references(connection)
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            _foreign_keys(connection, on=True)
