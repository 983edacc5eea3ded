"""Who calls the API: an agency token in `Authorization: Bearer ...`, nothing else.

A browser's signed-in session is ignored here (the API never reads the session cookie), and a token
opens no page (pages read only the session). The token is looked up once per request and also keys
the per-token rate limit.
"""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import Unauthorized

from engine.core.actors import Actor
from engine.people import tokens
from web.access import db, reading

ANONYMOUS_RATE = "30/minute"  # requests without a valid token, per address: guessing is slow


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def presented() -> tokens.Presented:
    if "api_token" not in g:
        value = _bearer()
        if value is None:
            g.api_token = tokens.Presented(None, "Kirim token instansi di kepala Authorization: Bearer <token>")
        else:
            with reading() as session:
                g.api_token = tokens.authenticate(session, value)
    found: tokens.Presented = g.api_token
    return found


def rate_key() -> str:
    token = presented().token
    return f"token:{token.prefix}" if token is not None else f"anonim:{request.remote_addr}"


def rate_limit() -> str:
    token = presented().token
    return token.rate_limit if token is not None else ANONYMOUS_RATE


def require_token() -> None:
    """Before every API view: a valid token, or 401 with the reason."""
    found = presented()
    if found.token is None:
        refusal = Unauthorized()
        refusal.sijosku_detail = found.refusal  # type: ignore[attr-defined]
        raise refusal
    with db().transaction() as session:
        tokens.touch(session, found.token)
    g.api_actor = Actor.of_token(found.token)


def actor() -> Actor:
    found: Actor = g.api_actor
    return found
