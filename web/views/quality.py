"""The quality dashboard: trends with their flags, the flags ranked and settled, completeness per region;
and one region's figures of a period."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core.errors import SijoskuError
from engine.quality import dashboard, review
from engine.verification import period_figures
from web.access import actor, db, local_target, overseers, reading, settings
from web.errors import flash_refusal
from web.forms import DashboardForm, FlagActionForm, RegionForm, parse
from web.i18n import said

bp = Blueprint("quality", __name__, url_prefix="/mutu")


@bp.get("/")
@overseers
def index() -> Any:
    chosen = parse(DashboardForm, request.args)
    with reading() as s:
        page = dashboard.dashboard(s, actor(), chosen, settings().province)
    return render_template("quality/index.html", page=page, chosen=chosen, rules=review.RULES)


@bp.post("/tanda/<int:flag_id>")
@overseers
def settle(flag_id: int) -> Any:
    back = url_for("quality.index")
    try:
        form = parse(FlagActionForm, request.form)
        back = local_target(form["kembali"], "quality.index")
        with db().transaction() as s:
            review.settle(s, actor(), flag_id, form["aksi"], form["catatan"], form["status_dilihat"])
        flash(_("Tindak lanjut tanda tersimpan."), "ok")
    except SijoskuError as exc:
        flash_refusal(exc)
    return redirect(back if "#" in back else f"{back}#tanda-{flag_id}")  # back at the flag's row, not the top


@bp.get("/angka")
@overseers
def figures() -> Any:
    chosen = parse(RegionForm, request.args)
    with reading() as s:
        page = period_figures.region_figures(s, actor(), chosen["wilayah"], chosen["periode"], settings().province)
    return render_template("quality/figures.html", page=page)


@bp.get("/seri")
@overseers
def series() -> Any:
    args = parse(RegionForm, request.args)
    with reading() as s:
        found = dashboard.series_for(s, actor(), args["wilayah"], args["kategori"])
    # the flags' explanations, shown in the chart's tooltip and table, in the page's language
    return {**found, "flags": {period: [said(m) for m in messages] for period, messages in found["flags"].items()}}
