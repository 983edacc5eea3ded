"""Update cycles in the web: status per region with drill-down, and the rhythm for admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core.errors import Invalid
from engine.verification import cycles, late_tasks
from web.access import actor, admin_only, db, overseers, reading, settings
from web.errors import field_problems
from web.forms import CycleStatusForm, RhythmForm, parse

bp = Blueprint("cycle", __name__, url_prefix="/siklus")


@bp.get("/")
@overseers
def index() -> Any:
    return _status_page(parse(CycleStatusForm, request.args))


def _status_page(
    args: dict[str, Any], typed: dict[str, str] | None = None, problems: dict[str, str] | None = None
) -> str:
    """The cycle's status; after a refused rhythm, the rhythm form as it was typed, its faults marked."""
    with reading() as s:
        page = cycles.status_page(s, actor(), args["periode"], args["induk"], settings().province)
        late, late_total = late_tasks.late_tasks(s, actor(), page.periode, page.induk)
    return render_template(
        "cycle/index.html",
        rows=page.rows,
        total=page.total,
        periode=page.periode,
        parent=page.induk,
        known=page.known,
        rhythm=page.rhythm,
        notes=page.notes,
        late=late,
        late_total=late_total,
        late_counted=late_tasks.COUNTED,
        may_set_rhythm=page.may_set_rhythm,
        typed=typed or {},
        problems=problems or {},
    )


@bp.post("/ritme")
@admin_only
def set_rhythm() -> Any:
    try:
        form = parse(RhythmForm, request.form)
        days = {tier.value: form[f"batas_{tier.value}"] for tier in cycles.TIERS}
        with db().transaction() as s:
            cycles.set_rhythm(s, actor(), form["ritme"], form["hari_buka"], days, form["pengingat_hari"])
    except Invalid as exc:  # the page again, with what was typed and the field at fault marked
        status = parse(CycleStatusForm, {})
        return _status_page(status, request.form.to_dict(), field_problems(exc)), 400
    flash(_("Ritme pemutakhiran tersimpan."), "ok")
    return redirect(url_for("cycle.index"))
