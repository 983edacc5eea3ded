"""The bell: a person's notifications and their preferences."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from notifications import delivery, inapp
from web.access import actor, anyone_signed_in, db, reading

bp = Blueprint("notify", __name__, url_prefix="/notifikasi")


@bp.get("/")
@anyone_signed_in
def index() -> Any:
    with reading() as s:
        items = inapp.latest(s, actor().user_id)
    return render_template("notify/index.html", items=items)


@bp.post("/baca")
@anyone_signed_in
def read() -> Any:
    target = request.form.get("id", "")
    with db().transaction() as s:
        inapp.mark_read(s, actor().user_id, int(target) if target.isdigit() else None)
    return redirect(request.form.get("ke") or url_for("notify.index"))


@bp.route("/preferensi", methods=["GET", "POST"])
@anyone_signed_in
def preferences() -> Any:
    me = actor().user
    if request.method == "POST":
        chosen = {(event, channel): request.form.get(f"{event}:{channel}") == "1"
                  for event in delivery.DEFAULTS for channel in delivery.CHANNELS}
        with db().transaction() as s:
            delivery.set_preferences(s, me, chosen)
        flash(_("Preferensi pemberitahuan tersimpan."), "ok")
        return redirect(url_for("notify.preferences"))
    with reading() as s:
        current = delivery.preferences(s, me)
    return render_template("notify/preferences.html", current=current, channels=delivery.CHANNELS)
