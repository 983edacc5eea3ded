"""Verifiers' and validators' pages: the inbox and the task page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate

from engine import inbox, review, tasks
from engine.errors import Invalid
from web.access import actor, db, reading, verifiers_only

bp = Blueprint("tasks", __name__, url_prefix="/tugas")


class FilterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    periode = fields.Str(load_default="", validate=validate.Length(max=10))
    wilayah = fields.Str(load_default="", validate=validate.Length(max=13))
    status = fields.Str(load_default="terbuka", validate=validate.OneOf(inbox.STATUSES))
    terlambat = fields.Bool(load_default=False)
    urut = fields.Str(load_default="tenggat", validate=validate.OneOf(inbox.SORTS))
    halaman = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000))


def _filter() -> inbox.InboxFilter:
    errors = FilterSchema().validate(request.args)
    args = {k: v for k, v in request.args.items() if k not in errors}
    return inbox.InboxFilter(**FilterSchema().load(args))


@bp.get("/")
@verifiers_only
def inbox_page() -> Any:
    chosen = _filter()
    with reading() as s:
        page = inbox.inbox_page(s, actor(), chosen)
        saved = inbox.saved_filters(s, actor())
    return render_template("tasks/inbox.html", page=page, saved=saved, f=page.filter)


@bp.post("/klaim")
@verifiers_only
def claim_many() -> Any:
    ids = [int(i) for i in request.form.getlist("task_id") if i.isdigit()]
    if not ids:
        flash(_("Pilih setidaknya satu tugas."), "error")
    else:
        with db().transaction() as s:
            outcome = inbox.claim_many(s, actor(), ids, release=request.form.get("aksi") == "lepas")
        for task_id, what in outcome.items():
            flash(f"#{task_id}: {what}", "ok" if what in ("diklaim", "dilepas") else "error")
    return redirect(request.form.get("kembali") or url_for("tasks.inbox_page"))


@bp.post("/filter")
@verifiers_only
def save_filter() -> Any:
    chosen = inbox.InboxFilter(**FilterSchema().load({k: v for k, v in request.form.items()
                                                      if k in FilterSchema().fields}))
    try:
        with db().transaction() as s:
            inbox.save_filter(s, actor(), request.form.get("nama", ""), chosen)
        flash(_("Filter tersimpan."), "ok")
    except Invalid as exc:
        flash(exc.summary, "error")
    return redirect(url_for("tasks.inbox_page", **chosen.params()))


@bp.post("/filter/<int:filter_id>/hapus")
@verifiers_only
def delete_filter(filter_id: int) -> Any:
    with db().transaction() as s:
        inbox.delete_filter(s, actor(), filter_id)
    flash(_("Filter dihapus."), "ok")
    return redirect(url_for("tasks.inbox_page"))


@bp.get("/<int:task_id>")
@verifiers_only
def task_page(task_id: int) -> Any:
    with reading() as s:
        page = review.task_page(s, actor(), task_id)
    return render_template("tasks/task.html", page=page, problems={})


@bp.post("/<int:task_id>/klaim")
@verifiers_only
def claim(task_id: int) -> Any:
    with db().transaction() as s:
        inbox.task_in_scope(s, actor(), task_id)
        tasks.claim(s, actor(), task_id)
    flash(_("Tugas diklaim; orang lain tidak dapat mengerjakannya sampai Anda melepasnya."), "ok")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.post("/<int:task_id>/lepas")
@verifiers_only
def unclaim(task_id: int) -> Any:
    with db().transaction() as s:
        inbox.task_in_scope(s, actor(), task_id)
        tasks.unclaim(s, actor(), task_id)
    flash(_("Tugas dilepas."), "ok")
    return redirect(url_for("tasks.task_page", task_id=task_id))


def _acknowledgements(form: Any) -> dict[int, str]:
    """Notes typed beside flagged values: each one accepts its warning, on the record."""
    return {int(key[4:]): value.strip() for key, value in form.items()
            if key.startswith("ack_") and key[4:].isdigit() and value.strip()}


def _verdicts(form: Any) -> dict[int, str]:
    """Items marked `tidak sesuai`, with the reason typed beside each."""
    marked = {}
    for key, value in form.items():
        if key.startswith("verdict_") and value == "tidak_sesuai" and key[8:].isdigit():
            item_id = int(key[8:])
            marked[item_id] = form.get(f"alasan_{item_id}", "").strip()
    return marked


@bp.post("/<int:task_id>/selesai")
@verifiers_only
def complete(task_id: int) -> Any:
    decision = request.form.get("keputusan", "")
    revision = request.form.get("revisi", "")
    try:
        with db().transaction() as s:
            inbox.task_in_scope(s, actor(), task_id)
            tasks.complete_task(s, actor(), task_id, decision, request.form.get("alasan", "").strip() or None,
                                _verdicts(request.form), int(revision) if revision.isdigit() else None,
                                _acknowledgements(request.form))
    except Invalid as exc:
        with reading() as s:
            page = review.task_page(s, actor(), task_id)
        return render_template("tasks/task.html", page=page, refusal=exc, form=request.form,
                               problems={p.column: p.message for p in exc.problems if p.column}), 400
    flash(_("Keputusan tersimpan: %(keputusan)s.", keputusan=_("disetujui") if decision == "setuju"
            else _("dikembalikan")), "ok")
    return redirect(url_for("tasks.inbox_page"))
