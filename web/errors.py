"""Refusals from the engine as pages (or JSON for the API and the editor)."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from engine.errors import SijoskuError


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def _page(status: int, title: str, message: str, problems: list[Any] | None = None) -> Any:
    if _wants_json():
        return {"ok": False, "message": message, "problems": [p.to_dict() for p in problems or []]}, status
    return render_template("error.html", status=status, title=title, message=message, problems=problems or []), status


def register(app: Flask) -> None:
    @app.errorhandler(SijoskuError)
    def refused(exc: SijoskuError) -> Any:
        titles = {400: _("Data belum benar"), 403: _("Tidak diizinkan"), 404: _("Tidak ditemukan"),
                  409: _("Sudah berubah"), 429: _("Terlalu banyak percobaan")}
        return _page(exc.http_status, titles.get(exc.http_status, _("Ditolak")), str(exc).split("\n")[0],
                     getattr(exc, "problems", None))

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        return _page(400, _("Formulir kedaluwarsa"),
                     _("Formulir ini sudah kedaluwarsa atau tidak berasal dari SIJOSKU. Muat ulang halaman lalu "
                       "coba lagi."))

    @app.errorhandler(403)
    def forbidden(exc: Any) -> Any:
        return _page(403, _("Tidak diizinkan"), _("Peran Anda tidak membuka halaman ini."))

    @app.errorhandler(404)
    def not_found(exc: Any) -> Any:
        return _page(404, _("Tidak ditemukan"), _("Halaman atau data ini tidak ada di wilayah Anda."))

    @app.errorhandler(413)
    def too_large(exc: Any) -> Any:
        return _page(413, _("Berkas terlalu besar"), _("Berkas melebihi batas unggahan (20 MB)."))
