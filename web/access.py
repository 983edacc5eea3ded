"""Who may open which page: the one place where web routes are tied to roles.

Region and tier checks on the data itself live in the engine's use cases, which refuse with
NotFound or Forbidden; `web/errors.py` turns those into 404 and 403 pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app
from flask_login import current_user, login_required

from engine.actors import Actor
from engine.uow import Database
from models import Role

F = TypeVar("F", bound=Callable[..., Any])


def db() -> Database:
    return current_app.extensions["sijosku_db"]


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
