"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from engine.core.errors import Invalid
from engine.people import sign_in
from web.access import SessionUser, actor, db, local_target, referring_path
from web.errors import field_problems, said
from web.forms import LanguageForm, LoginForm, NextForm, PasswordForm, parse

bp = Blueprint("auth", __name__)


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    error, username = None, ""
    if request.method == "POST":
        form = parse(LoginForm, request.form)
        username = form["username"]  # kept on a wrong password: a phone's user types only the password again
        with db().transaction() as s:
            user = sign_in.authenticate(s, form["username"], form["password"], request.remote_addr or "-")
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in; only the chosen language carries over
            if lang:
                session["lang"] = lang
            login_user(SessionUser(user))
            session.permanent = True  # refreshed by every request: it ends only after a while unused
            return redirect(local_target(parse(NextForm, request.args)["next"]))
        error = _("Nama pengguna atau kata sandi salah")
    return render_template("auth/login.html", error=error, username=username), 200 if error is None else 401


@bp.post("/keluar")
@login_required
def logout() -> Any:
    with db().transaction() as s:
        sign_in.sign_out_everywhere(s, actor())  # a copy of this cookie stops working too
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def password() -> Any:
    problems: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = parse(PasswordForm, request.form)
        try:
            with db().transaction() as s:
                address = request.remote_addr or "-"
                user = sign_in.change_password(s, actor(), form["current"], form["new"], form["repeat"], address)
                if user is not None:
                    s.flush()
                    login_user(SessionUser(user))  # this session goes on under the new version; others end
            if user is not None:
                flash(_("Kata sandi sudah diganti."), "ok")
                return redirect(url_for("home.index"))
            problems, status = {"current": _("kata sandi sekarang salah")}, 400
        except Invalid as exc:
            problems, status = field_problems(exc), 400
        except sign_in.Throttled as exc:
            problems, status = {"current": said(str(exc))}, 429
    page = render_template("auth/password.html", problems=problems, required=current_user.user.ganti_sandi)
    return page, status


# What a person whose password an administrator chose may still reach before changing it.
BEFORE_NEW_PASSWORD = {"auth.password", "auth.logout", "auth.language", "auth.login", "static", "assets.vendor"}


def password_first() -> Any:
    """A person whose password an administrator chose (a new account, a reset) changes it before
    anything else: every page leads to the password form until then."""
    endpoint = request.endpoint or ""
    if endpoint in BEFORE_NEW_PASSWORD or endpoint.startswith(("health.", "help.")):
        return None
    if current_user.is_authenticated and current_user.user.ganti_sandi:
        return redirect(url_for("auth.password"))
    return None


@bp.post("/bahasa")
def language() -> Any:
    form = parse(LanguageForm, request.form)
    session["lang"] = form["lang"]
    # a page answering a form has no address to show again (it takes posts only): the page before it
    return redirect(local_target(form["next"] or referring_path()))
