"""The WSGI application for production servers: `gunicorn -c python:web.gunicorn_conf web.wsgi:app`.

Each worker process builds its own application (and its own connection pool) after the fork."""

from __future__ import annotations

from web.app import create_app

app = create_app()
