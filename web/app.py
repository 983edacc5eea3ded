"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from sqlalchemy import func, select

from engine import definitions
from engine.config import Settings, load_settings
from engine.uow import Database
from models import HumanTask, Submission, TaskStatus


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    database = db or Database.connect(settings)
    app.extensions["sijosku_db"] = database

    @app.get("/")
    def home() -> Any:
        with database.read() as session:
            summary = {
                "definisi": definitions.list_definitions(session),
                "tugas_terbuka": session.scalar(select(func.count()).select_from(HumanTask)
                                                .where(HumanTask.status == TaskStatus.TERBUKA)),
                "pengajuan": session.scalar(select(func.count()).select_from(Submission)),
            }
        return render_template("home.html", **summary)

    @app.get("/healthz")
    def health() -> Any:
        return {"status": "ok"}

    return app
