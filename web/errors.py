"""Refusals from the engine as pages (or JSON for the editor and scripts), and the two ways a view
shows a refusal on its own page: beside the fields, or as a flashed message."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, flash, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.core import retry
from engine.core.errors import Invalid, Problem, SijoskuError
from web.access import is_api_request, to_sign_in
from web.api import problems as api_problems
from web.i18n import field_label, said

log = logging.getLogger(__name__)
# The database is down, unreachable or too slow: the request can be tried again later.
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def _wants_json() -> bool:
    return is_api_request() or request.accept_mimetypes.best == "application/json"


def _page(status: int, title: str, message: str, problems: list[Any] | None = None) -> Any:
    if _wants_json():
        return {"ok": False, "message": said(message), "problems": problem_dicts(problems or [])}, status
    return render_template("error.html", status=status, title=title, message=message, problems=problems or []), status


def _problem(status: int, title: str, detail: str) -> Any:
    """SIJOSKU's own page, or an RFC 9457 problem body for the API, rendered without the database
    (the header would ask it who is signed in)."""
    g.database_down = True
    headers = {"Retry-After": "30"} if status == 503 else {}  # a client's script waits as a person would
    if _wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "ok": False}
        body["message"] = detail
        return body, status, {**headers, "Content-Type": "application/problem+json"}
    page = render_template("unavailable.html", status=status, title=title, message=detail)
    return page, status, headers


def field_problems(exc: Invalid) -> dict[str, str]:
    """Each problem by the field it belongs to ("" for the form as a whole)."""
    found = {p.column or "": said(p.message) for p in exc.problems}
    return found or {"": said(exc.summary)}


def flash_refusal(exc: SijoskuError) -> None:
    """The refusal and its first problem, flashed on the page the person returns to."""
    if isinstance(exc, Invalid) and exc.problems:
        flash(f"{said(exc.summary)}: {said(exc.problems[0].message)}", "error")
    else:
        flash(said(str(exc).split("\n")[0]), "error")


def problem_texts(exc: SijoskuError, limit: int = 20) -> list[str]:
    """The first problems of a refusal, as the person reads them."""
    return [said_problem(p) for p in exc.problems[:limit]] if isinstance(exc, Invalid) else []


def said_problem(problem: Problem) -> str:
    """A problem with where it is, in the page's language: a file's row and column by the file's own
    header (`baris 3, kolom nik`), a form's field by its label (`Nama pengguna`)."""
    if problem.row is None and problem.column and not problem.element:
        return f"{field_label(problem.column)}: {said(problem.message)}"
    labels = ((_("elemen"), problem.element), (_("baris"), problem.row), (_("kolom"), problem.column))
    where = [f"{label} {value}" for label, value in labels if value not in (None, "")]
    text = said(problem.message)
    return f"{', '.join(where)}: {text}" if where else text


def problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems for a JSON answer to the pages' scripts, their messages in the page's language."""
    return [{**p.to_dict(), "message": said(p.message)} for p in problems]


def register(app: Flask) -> None:
    @app.errorhandler(SijoskuError)
    def refused(exc: SijoskuError) -> Any:
        if is_api_request():
            return api_problems.refused(exc)
        titles = {
            400: _("Data belum benar"),
            403: _("Tidak diizinkan"),
            404: _("Tidak ditemukan"),
            409: _("Sudah berubah"),
            429: _("Terlalu banyak percobaan"),
        }
        return _page(
            exc.http_status,
            titles.get(exc.http_status, _("Ditolak")),
            said(str(exc).split("\n")[0]),
            getattr(exc, "problems", None),
        )

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        if not current_user.is_authenticated and request.endpoint != "auth.login" and not _wants_json():
            # The session ended (signed out in another tab, or unused too long) and its form token
            # with it: sign in again and come back to the form, not a dead end. (The sign-in form
            # itself, left open too long, is simply to be loaded again.)
            flash(_("Sesi Anda sudah berakhir. Masuk lagi untuk melanjutkan."), "info")
            return to_sign_in()
        return _page(
            400,
            _("Formulir kedaluwarsa"),
            _("Formulir ini sudah kedaluwarsa atau tidak berasal dari SIJOSKU. Muat ulang halaman lalu coba lagi."),
        )

    @app.errorhandler(403)
    def forbidden(exc: Any) -> Any:
        if is_api_request():
            return api_problems.http_error(exc)
        return _page(403, _("Tidak diizinkan"), _("Peran Anda tidak membuka halaman ini."))

    @app.errorhandler(404)
    def not_found(exc: Any) -> Any:
        if is_api_request():
            return api_problems.http_error(exc)
        return _page(404, _("Tidak ditemukan"), _("Halaman atau data ini tidak ada di wilayah Anda."))

    @app.errorhandler(DBAPIError)
    def database_failed(exc: DBAPIError) -> Any:
        if retry.is_lost_race(exc):
            return _problem(
                409,
                _("Sudah berubah"),
                _("Data ini sedang diubah oleh tindakan lain pada saat yang sama; tidak ada yang diubah. Coba lagi."),
            )
        if _schema_missing(exc):  # reachable, but never set up: saying "unreachable" would send people astray
            log.error("basis data belum disiapkan (jalankan `sijosku init`): %s", exc.orig)
            return _problem(
                503,
                _("SIJOSKU belum disiapkan"),
                _(
                    "Tabel basis data SIJOSKU belum ada. Administrator menjalankan `sijosku init` sekali, lalu "
                    "halaman ini dapat dimuat ulang."
                ),
            )
        if isinstance(exc, UNAVAILABLE):
            log.error("basis data tidak dapat dihubungi: %s", exc.orig)
            return _database_unavailable()
        raise exc

    for unavailable in (DisconnectionError, PoolTimeout):
        app.register_error_handler(unavailable, lambda exc: _database_unavailable())

    @app.errorhandler(500)
    def failed(exc: Any) -> Any:
        cause = getattr(exc, "original_exception", None)
        if isinstance(cause, UNAVAILABLE):
            return _database_unavailable()
        return _problem(
            500,
            _("Terjadi kesalahan"),
            _("Terjadi kesalahan di server SIJOSKU dan sudah dicatat. Tidak ada yang diubah; coba lagi nanti."),
        )

    @app.errorhandler(405)
    def post_only(exc: Any) -> Any:
        if is_api_request():
            return api_problems.http_error(exc)
        body, status = _page(
            405,
            _("Alamat ini untuk mengirim formulir"),
            _("Halaman ini tidak dapat dibuka langsung; kembali ke halaman sebelumnya dan pakai tombolnya."),
        )
        return body, status, {"Allow": exc.get_response().headers.get("Allow", "POST")}  # as HTTP asks of a 405

    @app.errorhandler(413)
    def too_large(exc: Any) -> Any:
        if is_api_request():
            return api_problems.http_error(exc)
        return _page(413, _("Berkas terlalu besar"), _("Berkas melebihi batas unggahan (20 MB)."))

    @app.errorhandler(HTTPException)
    def other_http(exc: HTTPException) -> Any:
        """The API answers every refusal as problem details; pages keep werkzeug's own."""
        if is_api_request() and (exc.code or 500) >= 400:
            return api_problems.http_error(exc)
        return exc


def _schema_missing(exc: DBAPIError) -> bool:
    """A table that does not exist: SQLite's "no such table", PostgreSQL's undefined_table (42P01)."""
    return getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in str(exc.orig)


def _database_unavailable() -> Any:
    return _problem(
        503,
        _("Layanan sedang tidak tersedia"),
        _("Basis data SIJOSKU sedang tidak dapat dihubungi. Tidak ada yang diubah; coba lagi beberapa saat lagi."),
    )
