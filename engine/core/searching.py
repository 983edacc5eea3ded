"""What a person types into a search box, matched as written: `%` and `_` are letters of a name
or a code there, not LIKE's wildcards (a search for "%" found everyone)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func

ESCAPE = "\\"


def as_written(text: str) -> str:
    """`text` for a LIKE pattern, its wildcards and the escape character taken literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", f"{ESCAPE}%").replace("_", f"{ESCAPE}_")


def containing(column: Any, text: str) -> ColumnElement[bool]:
    """The column holds `text`, whatever the case."""
    return func.lower(column).like(f"%{as_written(text.lower())}%", escape=ESCAPE)


def starting_with(column: Any, text: str) -> ColumnElement[bool]:
    """The column begins with `text` (a code, a NIK: compared as written)."""
    return column.like(f"{as_written(text)}%", escape=ESCAPE)
