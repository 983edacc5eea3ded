"""Who may open which page: the one place where web routes are tied to roles.

Region and tier checks on the data itself live in the engine's use cases, which refuse with
NotFound or Forbidden; `web/errors.py` turns those into 404 and 403 pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.uow import Database
from models import Role
from models.db import READ_ONLY_OPTION

F = TypeVar("F", bound=Callable[..., Any])


def db() -> Database:
    return current_app.extensions["sijosku_db"]


@contextmanager
def reading() -> Iterator[Session]:
    """The request's read-only session: the user loader, the page header and the view share one
    connection and one transaction, instead of one each. Closed when the request ends."""
    session = g.get("_read_session")
    if session is None:
        session = g._read_session = db().sessions()
        session.connection(execution_options={READ_ONLY_OPTION: True})
    yield session


def close_reading(_exc: BaseException | None = None) -> None:
    session = g.pop("_read_session", None)
    if session is not None:
        session.close()


def actor() -> Actor:
    """The signed-in person as the engine's actor (built per call: cheap, and never stale)."""
    return Actor.of(current_user.user)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Only people holding one of `roles` reach the view; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(actor().has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


operator_only = roles_required(Role.OPERATOR)
verifiers_only = roles_required(Role.VERIFIER, Role.VALIDATOR)
admin_only = roles_required(Role.ADMIN)
auditor_only = roles_required(Role.AUDITOR)
anyone_signed_in = roles_required(*Role)
