"""For load balancers, orchestrators and monitoring: is the process up, can it reach the database,
and the figures Prometheus scrapes. None of these needs a signed-in person; `/metrics` should be
reachable only from the monitoring network (see docs/deployment.md)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from sqlalchemy import text

from engine.verification import gauges
from web.access import db, reading
from web.metrics import DatabaseCollector, registry_for_scrape

bp = Blueprint("health", __name__)
REQUEST_SECONDS = Histogram(
    "sijosku_http_request_duration_seconds",
    "Waktu layanan permintaan HTTP",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers (it does not ask the database: a database outage is not a reason to
    restart the web process)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Any:
    """The database answers; a load balancer stops sending requests to a node that says no."""
    with db().engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@bp.get("/metrics")
def metrics() -> Any:
    registry: CollectorRegistry = registry_for_scrape()
    with reading() as s:
        registry.register(DatabaseCollector(gauges.read(s)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.before_app_request
def _start_clock() -> None:
    g.request_started = time.perf_counter()


@bp.after_app_request
def _observe(response: Any) -> Any:
    started = g.get("request_started")
    if started is not None and request.endpoint not in ("static", "health.metrics"):
        REQUEST_SECONDS.labels(request.method, request.endpoint or "-", str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response
