"""Reading and writing many rows without the ORM's machinery.

`write` sets a few columns of an already-loaded row, on the paths that run for every step of every
instance; the loaded object is updated in place so that the rest of the transaction sees the new
values. `among` selects the rows matching many values, `chunks` bounds a list for them;
`insert_many` writes many new rows at once (an import's items), by COPY on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Result,
    Table,
    Update,
    any_,
    bindparam,
    insert,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")


def chunks(values: list[T], size: int) -> Iterable[list[T]]:
    """`values` in lists of at most `size`: every IN list and batch bounded."""
    return (values[i : i + size] for i in range(0, len(values), size))


@lru_cache(maxsize=128)
def _update_of(model: Any, names: tuple[str, ...]) -> Update:
    """UPDATE of these columns of one row, built once per model and columns: building a statement
    costs the client more time than the database takes to run it."""
    return update(model).where(model.id == bindparam("row_id")).values({n: bindparam(f"new_{n}") for n in names})


def write(session: Session, obj: Any, **values: Any) -> None:
    statement = _update_of(obj.__class__, tuple(sorted(values)))
    session.connection().execute(statement, {"row_id": obj.id, **{f"new_{k}": v for k, v in values.items()}})
    for name, value in values.items():
        set_committed_value(obj, name, value)


def among(session: Session, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL one array parameter (`= ANY(…)`): the statement is the
    same whatever the values, so it is compiled and prepared once, where an IN list of a thousand
    parameters was compiled again for every batch of an import's duplicate checks."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (what a guarded write checks)."""
    return result.rowcount if isinstance(result, CursorResult) else 0


BATCH = 5000  # rows per multi-row INSERT where COPY is not available


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) in the session's transaction: PostgreSQL's COPY,
    which writes an import's 50,000 items in a third of the time of batched INSERTs; elsewhere
    batched multi-row INSERTs. Either way each value goes through its column's own conversion."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        copy_rows(connection, table, columns, ([row[name] for name in columns] for row in rows))
        return
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start : start + BATCH])


def copy_rows(connection: Connection, table: Table, columns: list[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY `rows` into `table` on PostgreSQL, each value as the ORM would have written it (enum
    names, JSON text); the connection's transaction holds them."""
    convert = [_converter(table.c[name].type, connection.dialect) for name in columns]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([f(v) if f is not None and v is not None else v for f, v in zip(convert, row, strict=True)])
            count += 1
    return count


def _converter(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    # psycopg's dialect leaves JSON to the driver, whose COPY needs it as text
    if isinstance(column_type, JSON):
        return json.dumps
    return column_type.bind_processor(dialect)
