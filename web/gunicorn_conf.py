"""gunicorn settings for SIJOSKU (`sijosku serve` uses them; docs/deployment.md explains them).

The pages are CPU-bound Python: one worker process per core does the work in parallel. One thread
per worker by default: a page waits on the database for a small part of its time, and more threads
in one process only contend for its interpreter lock (measured in docs/benchmarks.md: with four,
fewer pages a second and a longer tail). Slow clients (a phone uploading over a weak connection) are
absorbed by the reverse proxy, which buffers requests and answers (docs/deployment.md). The address,
workers, threads, timeout, recycling, trusted proxies and access log come from the environment; the
worker class and keep-alive are fixed for the reasons beside them, and a stopping worker has 30 s.

A worker takes a connection only when one of its threads is free to serve it, and serves one
request per connection: waiting requests stay in the listening socket's queue, oldest first, for
whichever worker frees up next. A worker that took connections while busy (gthread's default) kept
them behind its current page while the other worker idled, which doubled the tail at 32
connections. Workers are not recycled by default: a new worker imports the whole application for
a second or two, and the requests waiting meanwhile took that as their latency.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from gunicorn import glogging
from prometheus_client import multiprocess


def _whole(name: str, default: int) -> int:
    """A whole-number setting, refused by its name when it is not one (`60s`, `dua`)."""
    text = os.environ.get(name, str(default)).strip()
    if not (text.isascii() and text.isdigit()):
        raise SystemExit(f"{name} harus bilangan bulat, bukan {text[:20]!r}")
    return int(text)


bind = os.environ.get("SIJOSKU_BIND", "127.0.0.1:8000")
workers = _whole("SIJOSKU_WEB_WORKERS", os.cpu_count() or 2)
# gthread, even with one thread: its main thread tells the master it is alive while a long answer
# (the audit export) streams, where a sync worker would be killed as silent.
worker_class = "gthread"
threads = _whole("SIJOSKU_WEB_THREADS", 1)
# A connection is accepted only when a thread can serve it (see above). Threads are set here, from
# the environment, and never on gunicorn's command line, so the two stay equal.
worker_connections = threads
# One request per connection; the reverse proxy keeps the clients' connections alive. A connection
# that has sent nothing after gunicorn's 5 s wait is closed at once rather than kept 5 s more.
keepalive = 0
timeout = _whole("SIJOSKU_WEB_TIMEOUT", 60)  # a worker silent this long is restarted
graceful_timeout = 30
max_requests = _whole("SIJOSKU_WEB_MAX_REQUESTS", 0)  # 0: never recycled (see above)
max_requests_jitter = max_requests // 10
# The reverse proxy that terminates TLS: only its X-Forwarded-* headers are believed.
forwarded_allow_ips = os.environ.get("SIJOSKU_TRUSTED_PROXIES", "127.0.0.1")
accesslog = os.environ.get("SIJOSKU_ACCESS_LOG", "-")
# The path without its query: a search by NIK (the register's, the API's `?nik=`) stays out of the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
if os.environ.get("SIJOSKU_LOG_JSON", "0").lower() in ("1", "true", "ya", "yes"):
    access_log_format = json.dumps(
        {"remote": "%(h)s", "request": "%(m)s %(U)s", "status": "%(s)s", "bytes": "%(b)s", "ms": "%(M)s"}
    )


class _EscapedAtoms(glogging.SafeAtoms):
    """gunicorn's atoms, each text JSON-escaped as the format reads it (quotes included): a line break
    in a requested path (`/x%0D%0A…`) would otherwise start a forged line of the log, and a backslash
    would break a line as JSON. Only the few atoms the format names are escaped, not every header."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self, atoms)  # as they came: each is escaped once, when read

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return json.dumps(value)[1:-1] if isinstance(value, str) else value


class AccessLog(glogging.Logger):
    """gunicorn's logger, writing every text of a request escaped."""

    atoms_wrapper_class = _EscapedAtoms


logger_class = AccessLog


def when_ready(server: Any) -> None:
    """Per-process rate-limit counters multiply a token's limit by the number of workers."""
    storage = os.environ.get("SIJOSKU_RATELIMIT_STORAGE", "memory://")
    if workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "SIJOSKU_RATELIMIT_STORAGE is memory://: each of the %d workers counts the API's limits apart; "
            "set a shared store (redis://...) to hold tokens to their limit",
            workers,
        )


def child_exit(server: Any, worker: Any) -> None:
    """A worker's Prometheus figures leave with it (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def on_starting(server: Any) -> None:
    logging.Formatter.converter = time.gmtime
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:  # made, and emptied of the last run's figures: a missing folder fails every request
        Path(metrics_dir).mkdir(parents=True, exist_ok=True)
        for stale in Path(metrics_dir).glob("*.db"):
            stale.unlink()


def post_worker_init(worker: Any) -> None:
    """What a worker has just loaded (about 230,000 objects: modules, the application, its
    configuration) lives as long as the worker: frozen, the collector's full passes no longer walk
    it. One such pass took 62 ms, which a request caught behind it added to its latency. Templates
    and parsed definitions, made on first use, are not frozen."""
    gc.collect()  # what loading left behind is freed, not frozen for good
    gc.freeze()
