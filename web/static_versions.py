"""Static files under an address that names their content.

Each `url_for("static", ...)` carries a hash of the file (`?v=...`), and a file asked for under its
hash is kept by the browser for a year: a phone on a weak line asks for the styles and scripts once,
not again on every page (two round trips less per page at 400 ms each), and a release that changes
a file changes its address. A file asked for without its hash is checked again each time, as before.
"""

from __future__ import annotations

import hashlib
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.security import safe_join

A_YEAR = 365 * 24 * 3600


def version_static_files(app: Flask) -> None:
    folder = Path(app.static_folder or "static")

    @app.url_defaults
    def named_by_content(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            values["v"] = content_version(folder, values["filename"])

    def max_age(filename: str | None) -> int | None:
        asked = request.args.get("v")
        return A_YEAR if asked and asked == content_version(folder, filename or "") else None

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]


def content_version(folder: Path, filename: str) -> str:
    """A short hash of the file's bytes, read again only when its size or time changes; "" for a
    name that leaves the folder or is no plain file there (an address anyone may type)."""
    joined = safe_join(str(folder), filename)
    try:
        found = os.stat(joined) if joined else None
    except (OSError, ValueError):  # ValueError: a NUL in the name, which no file has
        found = None
    if found is None or not stat.S_ISREG(found.st_mode):
        return ""
    return _hash_of(joined, found.st_mtime_ns, found.st_size)


@lru_cache(maxsize=256)
def _hash_of(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
