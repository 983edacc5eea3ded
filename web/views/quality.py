"""The quality dashboard: trends with their flags, open flags, completeness per region."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from engine.quality import aggregates, dashboard
from models import Role
from web.access import actor, reading, roles_required

bp = Blueprint("quality", __name__, url_prefix="/mutu")
overseers = roles_required(Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR)


@bp.get("/")
@overseers
def index() -> Any:
    me = actor()
    regions = dashboard.quality_regions(me)
    args = {k: request.args.get(k, "").strip() for k in ("wilayah", "kategori", "rule", "severity", "periode")}
    scope = [args["wilayah"]] if args["wilayah"] and any(args["wilayah"].startswith(r) for r in regions) else regions
    parent = request.args.get("induk", "").strip() or regions[0] or current_app.extensions["sijosku_settings"].province
    with reading() as s:
        periode = request.args.get("periode_lengkap", "").strip() or dashboard.latest_period(s)
        flags = aggregates.open_flags(s, scope, args["rule"], args["kategori"], args["periode"], args["severity"])
        rows = dashboard.completeness(s, me, parent, periode) if periode else []
    return render_template("quality/index.html", flags=flags, args=args, regions=regions, rows=rows, parent=parent,
                           periode=periode)


@bp.get("/seri")
@overseers
def series() -> Any:
    with reading() as s:
        return dashboard.series_for(s, actor(), request.args.get("wilayah", ""), request.args.get("kategori", ""))
