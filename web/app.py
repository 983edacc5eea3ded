"""The Flask application factory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_login import UserMixin, current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from engine import inbox
from engine.actors import Actor
from engine.config import PROJECT_ROOT, Settings, load_settings
from engine.uow import Database
from models import WORK_ROLES, Region, User
from notifications import inapp
from web import errors, i18n
from web.access import close_reading, reading
from web.extensions import babel, csrf, login_manager

LANGUAGES = ("id", "en")
NODE_MODULES = PROJECT_ROOT / "node_modules"


class SessionUser(UserMixin):
    """The signed-in person, reloaded from the database on every request (a deactivation bites at once)."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = str(user.id)


def _load_user(user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    with reading() as s:
        user = s.scalar(select(User).where(User.id == int(user_id)).options(joinedload(User.roles)))
    return SessionUser(user) if user is not None and user.aktif else None


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
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="id",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        TESTING=testing,
        UPLOAD_DIR=settings.instance_dir / "uploads",
    )


def _template_helpers(app: Flask, settings: Settings) -> None:
    tz = settings.tz

    @app.template_filter("wita")
    def wita(value: datetime | None, with_time: bool = True) -> str:
        if value is None:
            return "-"
        local = value.astimezone(tz)
        return local.strftime("%d-%m-%Y %H:%M WITA" if with_time else "%d-%m-%Y")

    app.jinja_env.globals["status_word"] = i18n.status_label

    @app.context_processor
    def who() -> dict[str, Any]:
        if not current_user.is_authenticated:
            return {"lang": _locale()}
        actor = Actor.of(current_user.user)
        with reading() as s:
            names = dict(s.execute(select(Region.kode, Region.nama).where(
                Region.kode.in_([a.region_kode for a in actor.user.roles]))).all())
            open_tasks = inbox.open_count(s, actor) if any(a.role in WORK_ROLES for a in actor.user.roles) else 0
            unread = inapp.unread_count(s, actor.user.id)
        return {"lang": _locale(), "me": actor.user, "my_roles": [
            {"role": a.role.value, "tingkat": a.tingkat.label, "kode": a.region_kode,
             "wilayah": names.get(a.region_kode, a.region_kode)} for a in actor.user.roles],
            "open_tasks": open_tasks, "unread": unread}


def _security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith(("/tugas", "/desa", "/audit", "/admin")):
            response.headers.setdefault("Cache-Control", "no-store")  # personal data stays off shared caches
        return response


def create_app(settings: Settings | None = None, db: Database | None = None, testing: bool = False) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    _configure(app, settings, testing)
    app.extensions["sijosku_db"] = db or Database.connect(settings)
    app.extensions["sijosku_settings"] = settings
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale, timezone_selector=lambda: settings.timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    app.teardown_appcontext(close_reading)
    i18n.compile_catalogs(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    _template_helpers(app, settings)
    _security_headers(app)
    errors.register(app)
    import notifications
    from web.views import admin, assets, audit, auth, cycle, desa, home, notify, quality, tasks

    notifications.register(app.extensions["sijosku_db"])
    for module in (assets, auth, home, desa, tasks, admin, audit, quality, notify, cycle):
        app.register_blueprint(module.bp)
    return app
