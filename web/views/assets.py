"""Front-end packages installed from the npm registry (node_modules), served read-only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_from_directory

from web.access import settings

bp = Blueprint("assets", __name__)
# Only the built files of the packages the pages use.
ALLOWED = ("bpmn-js/dist/", "htmx.org/dist/", "chart.js/dist/", "swagger-ui-dist/swagger-ui")


@bp.get("/vendor/<path:filename>")
def vendor(filename: str) -> Any:
    if not filename.startswith(ALLOWED) or ".." in filename:
        abort(404)
    return send_from_directory(settings().assets_dir, filename, max_age=86400)
