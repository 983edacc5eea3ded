"""Update cycles in the web: status per region with drill-down, and the rhythm for admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cycles
from engine.errors import Invalid
from engine.quality import dashboard
from models import Role
from web.access import actor, admin_only, db, reading, roles_required

bp = Blueprint("cycle", __name__, url_prefix="/siklus")
overseers = roles_required(Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR)


@bp.get("/")
@overseers
def index() -> Any:
    regions = dashboard.quality_regions(actor())
    province = current_app.extensions["sijosku_settings"].province
    parent = request.args.get("induk", "").strip() or (regions[0] or province)
    if not any(r == "" or parent == r or parent.startswith(r + ".") for r in regions):
        parent = regions[0] or province
    with reading() as s:
        known = cycles.known_periods(s)
        periode = request.args.get("periode", "").strip() or (known[0] if known else "")
        rows = cycles.status(s, periode, parent) if periode else []
        rhythm = cycles.rhythm(s)
    return render_template("cycle/index.html", rows=rows, periode=periode, parent=parent, known=known,
                           rhythm=rhythm, is_admin=actor().has_role(Role.ADMIN))


@bp.post("/ritme")
@admin_only
def set_rhythm() -> Any:
    form = request.form
    try:
        days = {tier: int(form.get(f"batas_{tier}", "0") or 0) for tier in cycles.TIERS}
        with db().transaction() as s:
            cycles.set_rhythm(s, actor(), form.get("ritme", ""), int(form.get("hari_buka", "0") or 0), days,
                              int(form.get("pengingat_hari", "3") or 3))
        flash(_("Ritme pemutakhiran tersimpan."), "ok")
    except (Invalid, ValueError) as exc:
        flash(str(exc).split("\n")[0], "error")
    return redirect(url_for("cycle.index"))
