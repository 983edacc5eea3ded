"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from engine import auth
from engine.errors import Invalid
from web.access import actor, db
from web.app import LANGUAGES, SessionUser

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    parts = urlsplit(target or "")
    local = target and not parts.netloc and not parts.scheme and target.startswith("/") and "//" not in target
    return target if local else url_for("home.index")


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        with db().transaction() as s:
            user = auth.authenticate(s, request.form.get("username", ""), request.form.get("password", ""),
                                     request.remote_addr or "-")
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in; only the chosen language carries over
            if lang:
                session["lang"] = lang
            login_user(SessionUser(user))
            return redirect(_safe_next(request.args.get("next")))
        error = _("Nama pengguna atau kata sandi salah")
    return render_template("auth/login.html", error=error), 200 if error is None else 401


@bp.post("/keluar")
@login_required
def logout() -> Any:
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def password() -> Any:
    problems: list[Any] = []
    if request.method == "POST":
        try:
            with db().transaction() as s:
                auth.change_password(s, actor(), request.form.get("current", ""), request.form.get("new", ""),
                                     request.form.get("repeat", ""))
            flash(_("Kata sandi sudah diganti."), "ok")
            return redirect(url_for("home.index"))
        except Invalid as exc:
            problems = exc.problems
    return render_template("auth/password.html", problems={p.column: p.message for p in problems})


@bp.post("/bahasa")
def language() -> Any:
    chosen = request.form.get("lang", "id")
    session["lang"] = chosen if chosen in LANGUAGES else "id"
    return redirect(_safe_next(request.form.get("next")))
