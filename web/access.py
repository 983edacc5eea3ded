"""What every view uses: the database and settings, the request's read session, the signed-in
person as an actor, who may open which page, and reading an uploaded file.

Region and tier checks on the data itself live in the engine's use cases (one `Scope`), which
refuse with NotFound or Forbidden; `web/errors.py` turns those into 404 and 403 pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from engine.core.actors import Actor
from engine.core.config import Settings
from engine.core.errors import Invalid
from engine.core.uow import Database
from models import LANE_ROLES, Role, User
from models.db import READ_ONLY_OPTION

F = TypeVar("F", bound=Callable[..., Any])
MAX_ID = 2**31 - 1  # the largest id PostgreSQL's integer columns hold


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only (`²` is a digit to Python), at most the columns'
    largest id; anything else is a 404, the same on SQLite and PostgreSQL, never a database error."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


LANGUAGES = ("id", "en")


class SessionUser(UserMixin):
    """The signed-in person, reloaded from the database on every request (a deactivation bites at once)."""

    def __init__(self, user: User) -> None:
        self.user = user
        # The cookie names the person and their session version: raising the version in the
        # database (sign-out, new password, deactivation, roles) ends every copy of the cookie.
        self.id = f"{user.id}.{user.session_version or 0}"


def db() -> Database:
    return current_app.extensions["sijosku_db"]


def settings() -> Settings:
    return db().settings


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


class _Unsent(Exception):
    """The answer of work whose body no one receives (HEAD): its trail is rolled back."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer


def written_if_sent(work: Callable[[Session], Any], check: Callable[[Any], None] = lambda _answer: None) -> Any:
    """Work whose audit rows (a disclosure, an export) stand only when its body goes out: `check`
    raising (a 304: the caller holds the answer already) or a HEAD rolls them back."""
    try:
        with db().transaction() as session:
            answer = work(session)
            check(answer)
            if request.method == "HEAD":
                raise _Unsent(answer)
    except _Unsent as unsent:
        return unsent.answer
    return answer


def actor() -> Actor:
    """The signed-in person as the engine's actor (built per call: cheap, and never stale), with the
    address the request came from, which changes to accounts and tokens keep on the trail."""
    return Actor.of(current_user.user, request.remote_addr or "")


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
overseers = roles_required(Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR, *LANE_ROLES)
# The inbox: the tiers' verifiers and validators, and the reconciliation's lane roles.
task_workers = roles_required(Role.VERIFIER, Role.VALIDATOR, *LANE_ROLES)
anyone_signed_in = roles_required(*Role)


def local_target(target: str | None, fallback: str = "home.index", **values: Any) -> str:
    """`target` when it is a path of this site; otherwise the fallback page, with its `values` (never another site)."""
    parts = urlsplit(target or "")
    # Browsers read `/\host` as `//host`, and drop tabs and newlines inside a URL: neither is a local path.
    odd = any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target or "")
    if target and not odd and not parts.netloc and not parts.scheme and target.startswith("/") and "//" not in target:
        return target
    return url_for(fallback, **values)


def referring_path() -> str:
    """The path (and query) of the page this request came from, when it is a page of this site."""
    parts = urlsplit(request.referrer or "")
    if not parts.path or parts.netloc != request.host:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def to_sign_in() -> Any:
    """A session that ended: sign in, then back to the page the person was on (a form's own address
    takes posts only, so after a post it is the page the form was on)."""
    back = request.full_path.rstrip("?") if request.method == "GET" else referring_path()
    return redirect(url_for("auth.login", next=back or None))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def refuse_nul_characters() -> None:
    """Refuse a request whose query, form or uploaded file name carries a NUL character.

    No page or link of SIJOSKU sends one, and PostgreSQL's text cannot hold one: a value that
    reached a query would fail there as a database error. Checked once, before any view reads the
    request. The API's JSON bodies are checked by their schemas, and are not parsed here, before
    the API has bounded their size."""
    pairs = list(request.args.items(multi=True))
    if not is_api_request():
        pairs += request.form.items(multi=True)
        pairs += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise Invalid(_("Isian berisi karakter NUL (kode 0), yang tidak dapat disimpan; hapus lalu kirim lagi"))


def uploaded(field: str, missing: str) -> tuple[str, bytes]:
    """The name and content of an uploaded file; `Invalid` with `missing` when none was chosen.
    Its size is bounded by the app's MAX_CONTENT_LENGTH before it reaches here."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Invalid(missing, [])
    upload.stream.seek(0)  # a view run again after a lost race reads the file again
    return upload.filename, upload.read()
