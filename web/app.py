"""The Flask application factory."""

from __future__ import annotations

from datetime import datetime, time
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.bootstrap import bootstrap
from engine.core import clock, retry
from engine.core.actors import Actor
from engine.core.config import Settings, load_settings
from engine.core.uow import Database
from engine.quality import flags
from engine.verification import decisions, inbox
from models import TASK_ROLES, User
from notifications import inapp
from notifications.plugin import plugin as notifications_plugin
from web import errors, i18n
from web.access import (
    LANGUAGES,
    IdConverter,
    SessionUser,
    close_reading,
    reading,
    refuse_nul_characters,
    to_sign_in,
)
from web.api import init_api
from web.extensions import babel, csrf, login_manager
from web.static_versions import version_static_files
from web.views import (
    admin,
    agency_figures,
    assets,
    audit,
    auth,
    cycle,
    desa,
    health,
    help,
    home,
    notify,
    quality,
    reconciliation,
    regions,
    tasks,
)

BLUEPRINTS = (
    agency_figures,
    assets,
    health,
    auth,
    home,
    desa,
    tasks,
    admin,
    regions,
    audit,
    quality,
    notify,
    cycle,
    reconciliation,
    help,
)


# Built once: every signed-in request loads its person.
_USER_WITH_ROLES = select(User).where(User.id == bindparam("id")).options(joinedload(User.roles))


def _load_user(session_id: str) -> SessionUser | None:
    """The person of a session cookie (`<user id>.<session version>`), if that session is still theirs."""
    user_id, _, version = session_id.partition(".")
    if g.get("database_down"):  # the error page must not ask the database again
        return None
    if not all(part.isascii() and part.isdigit() and len(part) < 10 for part in (user_id, version)):
        return None
    with reading() as s:
        user = s.scalar(_USER_WITH_ROLES, {"id": int(user_id)})
    if user is None or not user.aktif or (user.session_version or 0) != int(version):
        return None
    return SessionUser(user)


def _locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "id"


def _configure(app: Flask, settings: Settings, testing: bool) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        REMEMBER_COOKIE_SECURE=settings.https,
        # Sessions are permanent and refreshed by every request: this is how long one lasts unused.
        PERMANENT_SESSION_LIFETIME=settings.session_idle_minutes * 60,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="id",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        TESTING=testing,
    )


def _template_helpers(app: Flask, settings: Settings) -> None:
    tz, zone = settings.tz, settings.zone_name

    @app.template_filter("wita")
    def wita(value: datetime | str | None, with_time: bool = True) -> str:
        if value is None:
            return "-"
        local = clock.instant(value).astimezone(tz)
        return local.strftime("%d-%m-%Y %H:%M " + zone if with_time else "%d-%m-%Y")

    @app.template_filter("tenggat")
    def deadline_time(value: datetime | str | None) -> str:
        """A deadline as notices and e-mails say it: one at midnight is the end of the day before
        ("30-01-2027 24:00 WITA"), not the first minute of a day people read as one more."""
        if value is None:
            return "-"
        local = clock.instant(value).astimezone(tz)
        if local.time() != time(0):
            return wita(value)
        return clock.last_day(local).strftime("%d-%m-%Y 24:00 " + zone)

    app.jinja_env.filters["said"] = i18n.said  # an engine message in the page's language

    @app.template_filter("time_left")
    def time_left(value: datetime) -> tuple[bool, int]:
        """(past, days): whole days past a deadline, or whole days before its last day, in the office's
        time zone. A deadline at midnight ends the day before: that day is its last."""
        now = clock.now()
        if now >= value:
            return True, (now - value).days
        return False, (clock.last_day(value) - clock.today()).days

    app.jinja_env.globals.update(
        status_word=i18n.status_label,
        rule_word=i18n.rule_label,
        severity_word=i18n.severity_label,
        figure=i18n.figure,
        unit_word=i18n.unit_label,
        verval_word=i18n.verval_label,
        action_word=i18n.action_label,
        audit_action_word=i18n.audit_action_label,
        role_word=i18n.role_label,
        tier_word=i18n.tier_label,
        field_word=i18n.field_label,
        attribute_word=i18n.attribute_label,
        field_help=help.field_help,
        flag_action_word=lambda action: str(i18n.FLAG_ACTION_LABELS[action]),
        script_words=i18n.script_words,
        job_word=i18n.job_label,
        zone_name=zone,
        zone_key=settings.timezone,
        # a field's bound on the page is the rule's own, so a phone never cuts what the rule would keep
        limits={"note": flags.NOTE_LIMIT, "verdict_reason": decisions.VERDICT_REASON_LIMIT},
    )

    @app.context_processor
    def who() -> dict[str, Any]:
        if g.get("database_down") or not current_user.is_authenticated:
            return {"lang": _locale(), "help_link": help.help_url(request.endpoint, ())}
        actor = Actor.of(current_user.user)
        names = {role.region_kode: role.region.nama for role in current_user.user.roles}
        open_tasks, unread = _header_counts(actor, current_user.user.id)
        return {
            "lang": _locale(),
            "me": current_user.user,
            "my_roles": [
                {
                    "role": a.role.value,
                    "tingkat": a.tingkat.label,
                    "kode": a.region_kode,
                    "wilayah": names.get(a.region_kode, a.region_kode),
                }
                for a in actor.roles
            ],
            "open_tasks": open_tasks,
            "unread": unread,
            "help_link": help.help_url(request.endpoint, [f"{a.role.value}:{a.tingkat.value}" for a in actor.roles]),
        }


def _header_counts(actor: Actor, user_id: int) -> tuple[int, int]:
    """The header's open tasks and unread notifications in one read; the open tasks only when the
    page has not counted them already (an inbox view of open tasks has)."""
    asked = [inapp.unread_query(user_id)]
    open_tasks = g.get("open_tasks")
    if open_tasks is None and any(a.role in TASK_ROLES for a in actor.roles):
        asked.append(inbox.open_query(actor))
    with reading() as s:
        unread, *counted = s.execute(select(*(q.scalar_subquery() for q in asked))).one()
    if open_tasks is None:
        open_tasks = counted[0] if counted else 0
    return open_tasks, unread or 0


def _security_headers(app: Flask, https: bool) -> None:
    @app.after_request
    def headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith(("/static/", "/vendor/")) and current_user.is_authenticated:
            # A signed-in page (reasons, names, figures) stays off shared caches, and Back after
            # signing out on a shared PC does not show it again.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(settings: Settings | None = None, db: Database | None = None, testing: bool = False) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter
    _configure(app, settings, testing)
    database = db or Database.connect(settings)
    bootstrap(database, notifications_plugin(settings))
    app.extensions["sijosku_db"] = database
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale, timezone_selector=lambda: settings.timezone)
    i18n.install_fast_gettext(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # Not tied to the browser's address: a phone's changes as it moves between networks, and for a
    # permanent session Flask-Login would only mark it "not fresh", which nothing reads. A session
    # ends after `session_idle_minutes` unused, at sign-out, when the account is deactivated, and when
    # an administrator sets a new password or changes its roles (`session_version`).
    login_manager.session_protection = None
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(to_sign_in)
    app.teardown_appcontext(close_reading)
    i18n.compile_catalogs(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    _template_helpers(app, settings)
    _security_headers(app, settings.https)
    version_static_files(app)
    if settings.proxy_hops:
        # The client's address and scheme as the configured number of proxies report them.
        n = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    errors.register(app)
    app.before_request(refuse_nul_characters)
    app.before_request(auth.password_first)
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    for blueprint in init_api(app, settings):
        csrf.exempt(blueprint)  # the API reads no session cookie, so it needs no CSRF token
    _retry_lost_races(app)
    return app


def _retry_lost_races(app: Flask) -> None:
    """A view whose transaction lost a race at the database (a deadlock) runs again, a few times;
    then the person gets a 409 page. Views own their transactions, so a rerun repeats nothing."""
    for name, view in list(app.view_functions.items()):
        if name != "static":
            app.view_functions[name] = _retried(view)


def _retried(view: Any) -> Any:
    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        return retry.retrying(lambda: view(*args, **kwargs))

    return run
