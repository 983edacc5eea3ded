"""The bell: a person's notifications and their preferences."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from models import Channel
from notifications import delivery, inapp
from web.access import actor, anyone_signed_in, db, local_target, reading
from web.forms import PreferencesForm, ReadForm, parse

bp = Blueprint("notify", __name__, url_prefix="/notifikasi")


@bp.get("/")
@anyone_signed_in
def index() -> Any:
    me = actor().require_person("Pemberitahuan untuk pengguna")
    with reading() as s:
        items = inapp.latest(s, me.id)
    return render_template("notify/index.html", items=items)


@bp.post("/baca")
@anyone_signed_in
def read() -> Any:
    form = parse(ReadForm, request.form)
    me = actor().require_person("Pemberitahuan untuk pengguna")
    with db().transaction() as s:
        inapp.mark_read(s, me.id, form["id"])
    return redirect(local_target(form["ke"], "notify.index"))


@bp.route("/preferensi", methods=["GET", "POST"])
@anyone_signed_in
def preferences() -> Any:
    me = actor().require_person("Pemberitahuan untuk pengguna")
    if request.method == "POST":
        ticked = parse(PreferencesForm, request.form)["chosen"]
        chosen = {
            (event, channel.value): ticked.get(f"{event}:{channel.value}", False)
            for event in delivery.DEFAULTS
            for channel in Channel
        }
        with db().transaction() as s:
            kept = delivery.set_preferences(s, me, chosen)
        flash(_("Preferensi pemberitahuan tersimpan."), "ok")
        if kept:
            flash(
                _(
                    "Pengajuan yang dikembalikan dan tugas yang terlambat tetap tampil di aplikasi: "
                    "setidaknya satu cara pemberitahuan untuk keduanya tidak dapat dimatikan."
                ),
                "info",
            )
        return redirect(url_for("notify.preferences"))
    with reading() as s:
        current = delivery.preferences(s, me)
    return render_template(
        "notify/preferences.html", current=current, channels=[c.value for c in Channel], has_email=bool(me.email)
    )
