"""Administrators' pages: process definitions (list, editor, deploy, compare) and people."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import admin, definitions
from engine.errors import Invalid
from models import Role
from web.access import actor, admin_only, db, reading

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_only
def index() -> Any:
    with reading() as s:
        rows = definitions.list_definitions(s)
    return render_template("admin/definitions.html", definitions=rows)


@bp.get("/definisi/<int:definition_id>/ubah")
@admin_only
def editor(definition_id: int) -> Any:
    with reading() as s:
        found = admin.definition(s, actor(), definition_id)
    return render_template("admin/editor.html", definition=found)


@bp.get("/definisi/<int:definition_id>/xml")
@admin_only
def xml(definition_id: int) -> Any:
    with reading() as s:
        found = admin.definition(s, actor(), definition_id)
        return Response(found.bpmn_xml, mimetype="application/xml")


@bp.post("/definisi/pasang")
@admin_only
def deploy() -> Any:
    """Deploy the editor's XML: JSON in, JSON out, with per-element problems on refusal."""
    payload = request.get_json(silent=True) or {}
    xml_text = payload.get("xml") if isinstance(payload, dict) else None
    if not isinstance(xml_text, str) or not xml_text.strip():
        return {"ok": False, "message": _("Tidak ada XML BPMN yang dikirim"), "problems": []}, 400
    try:
        with db().transaction() as s:
            admin.require_admin(actor())
            result = definitions.deploy(s, actor(), xml_text)
            found = result.definition
            body = {"ok": True, "created": result.created, "version": found.version, "definition_id": found.id,
                    "message": _("Versi %(v)s dipasang; instans baru memakainya.", v=found.version) if result.created
                    else _("Isi tidak berubah; tetap versi %(v)s.", v=found.version)}
    except Invalid as exc:
        return {"ok": False, "message": exc.summary, "problems": [p.to_dict() for p in exc.problems]}, 400
    return body


@bp.get("/definisi/banding")
@admin_only
def compare() -> Any:
    left, right = request.args.get("kiri", type=int), request.args.get("kanan", type=int)
    with reading() as s:
        listed = definitions.list_definitions(s)
        result = admin.compare(s, actor(), left, right) if left and right else None
    return render_template("admin/compare.html", definitions=listed, result=result, left=left, right=right)


@bp.get("/pengguna")
@admin_only
def people() -> Any:
    with reading() as s:
        found = admin.list_users(s, actor(), request.args.get("q", ""))
    return render_template("admin/people.html", users=found, q=request.args.get("q", ""), roles=list(Role),
                           problems={}, values={})


@bp.post("/pengguna")
@admin_only
def create_person() -> Any:
    form = request.form
    try:
        with db().transaction() as s:
            user = admin.create_user(s, actor(), form.get("username", ""), form.get("nama", ""),
                                     form.get("email", ""), form.get("role", ""), form.get("region", ""),
                                     form.get("password", ""))
            user_id = user.id
        flash(_("Pengguna dibuat."), "ok")
        return redirect(url_for("admin.person", user_id=user_id))
    except Invalid as exc:
        with reading() as s:
            found = admin.list_users(s, actor())
        return render_template("admin/people.html", users=found, q="", roles=list(Role), values=form,
                               problems={"form": exc.summary}), 400


@bp.get("/pengguna/<int:user_id>")
@admin_only
def person(user_id: int) -> Any:
    with reading() as s:
        user = admin.get_user(s, actor(), user_id)
        names = {r["kode"]: r for code in [a.region_kode for a in user.roles]
                 for r in admin.search_regions(s, code, code[:2], limit=1)}
    return render_template("admin/person.html", user=user, roles=list(Role), regions=names)


@bp.post("/pengguna/<int:user_id>/peran")
@admin_only
def assign(user_id: int) -> Any:
    try:
        with db().transaction() as s:
            admin.assign_role(s, actor(), user_id, request.form.get("role", ""), request.form.get("region", ""))
        flash(_("Peran ditambahkan."), "ok")
    except Invalid as exc:
        flash(exc.summary, "error")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/peran/<int:assignment_id>/hapus")
@admin_only
def unassign(user_id: int, assignment_id: int) -> Any:
    with db().transaction() as s:
        admin.remove_role(s, actor(), assignment_id)
    flash(_("Peran dicabut."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/aktif")
@admin_only
def activate(user_id: int) -> Any:
    aktif = request.form.get("aktif") == "1"
    with db().transaction() as s:
        admin.set_active(s, actor(), user_id, aktif)
    flash(_("Pengguna diaktifkan.") if aktif else _("Pengguna dinonaktifkan."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.get("/wilayah")
@admin_only
def regions() -> Any:
    """Regions matching a name or code, for the role form's search."""
    province = current_app.extensions["sijosku_settings"].province
    with reading() as s:
        found = admin.search_regions(s, request.args.get("q", ""), province)
    if request.headers.get("HX-Request"):
        return render_template("admin/_regions.html", regions=found)
    return {"regions": found}


@bp.get("/jadwal")
@admin_only
def schedule() -> Any:
    """Scheduled jobs' runs, failures included, and emails that could not be sent."""
    from engine import events
    from engine import scheduler as jobs
    from notifications import email

    with reading() as s:
        stuck = events.failures(s)
    return render_template("admin/schedule.html", runs=jobs.history(db()), failures=email.failures(db()),
                           stuck=stuck)
