"""A WSGI application that says which worker process answered, served by `web/gunicorn_conf.py` in
tests of the production server's settings. `/tahan` holds its worker until the file named by
PROBE_RELEASE exists (at most 120 s), after writing the file named by PROBE_HELD; `/beku` says how
many objects the worker keeps out of the garbage collector's passes."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/tahan":
        Path(os.environ["PROBE_HELD"]).write_text(str(os.getpid()))
        deadline = time.monotonic() + 120
        while not Path(os.environ["PROBE_RELEASE"]).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/beku":
        return [str(gc.get_freeze_count()).encode()]
    return [str(os.getpid()).encode()]
