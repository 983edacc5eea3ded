"""Writing a few columns of an already-loaded row without the ORM's flush machinery.

Used on the paths that run for every step of every instance; the loaded object is updated in
place so that the rest of the transaction sees the new values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


def write(session: Session, obj: Any, **values: Any) -> None:
    model = type(obj)
    session.connection().execute(update(model).where(model.id == obj.id).values(**values))
    for name, value in values.items():
        set_committed_value(obj, name, value)


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (what a guarded write checks)."""
    return result.rowcount if isinstance(result, CursorResult) else 0
