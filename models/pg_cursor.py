"""A psycopg cursor whose `description` is built only when it is read.

psycopg builds a `Column` for every column of every result when `description` is asked for, and
SQLAlchemy asks after every statement, only to see whether rows came back: once a statement's
compiled form is cached, so is what its columns are, and the columns themselves are not read again.
Building them was about a quarter of the client's time for a statement that loads an ORM row of
twenty-odd columns (docs/benchmarks.md). Here `description` is a sequence of the right length whose
columns are psycopg's own, each made the first time it is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import psycopg
from psycopg import pq

_ROWS = {pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK}


class Description(Sequence[psycopg.Column]):
    """The columns of one result, each described the first time it is asked for."""

    __slots__ = ("_columns", "_cursor", "_result")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult) -> None:
        self._cursor, self._result = cursor, result
        self._columns: list[psycopg.Column | None] = [None] * result.nfields

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> psycopg.Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[psycopg.Column]: ...

    def __getitem__(self, index: int | slice) -> psycopg.Column | list[psycopg.Column]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        position = range(len(self))[index]
        column = self._columns[position]
        if column is None:
            if self._cursor.pgresult is not self._result:  # psycopg's Column reads the cursor's result
                raise RuntimeError("the cursor has moved on to another result; read its description before")
            column = self._columns[position] = psycopg.Column(self._cursor, position)
        return column


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    """psycopg's cursor, with the description above (`connect_args={"cursor_factory": ...}`)."""

    @property
    def description(self) -> Description | None:  # type: ignore[override]
        result = self.pgresult
        if result is not None and (result.nfields or result.status in _ROWS):
            return Description(self, result)
        return None
