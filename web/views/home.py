"""The start page sends each person to where their work is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import login_required

from engine.verification import processes
from models import LANE_ROLES, Role
from web.access import actor, anyone_signed_in, reading

bp = Blueprint("home", __name__)
START_PAGE = (
    (Role.VERIFIER, "tasks.inbox_page"),
    (Role.VALIDATOR, "tasks.inbox_page"),
    (Role.OPERATOR, "desa.index"),
    (Role.ADMIN, "admin.index"),
    (Role.AUDITOR, "audit.index"),
    # the reconciliation's people: their steps wait in the inbox like the tiers' tasks
    *((role, "tasks.inbox_page") for role in LANE_ROLES),
)


@bp.get("/")
@login_required
def index() -> Any:
    me = actor()
    for role, endpoint in START_PAGE:
        if me.has_role(role):
            return redirect(url_for(endpoint))
    return render_template("home.html")


@bp.get("/definisi/<int:definition_id>/xml")
@anyone_signed_in
def definition_xml(definition_id: int) -> Any:
    """The diagram of a deployed version, for the viewers on task, instance and compare pages."""
    with reading() as s:
        xml = processes.diagram_xml(s, actor(), definition_id)
    return Response(xml, mimetype="application/xml")
