"""The REST API for other agencies (`/api/v1`): flask-smorest builds it and its OpenAPI 3 document
(`/api/v1/openapi.json`) from the marshmallow schemas; `/api/v1/docs` shows that document with
Swagger UI installed from npm. Tokens, rate limits and problem details: see `auth` and `problems`."""

from __future__ import annotations

import http
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, render_template
from flask_limiter import Limiter
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from engine.core.config import Settings
from web.api import auth, problems, resources
from web.api.schemas import ProblemOut

DESCRIPTION = """API SIJOSKU untuk pertukaran data antarinstansi (Satu Data Indonesia).

Setiap permintaan membawa token instansi: `Authorization: Bearer sjk_...`. Token dibuat oleh admin
SIJOSKU, terikat pada satu instansi, satu wilayah, sumber daya tertentu dan hak baca/tulis, serta
batas laju. Penolakan dijawab sebagai *problem details* (RFC 9457, `application/problem+json`)
dalam bahasa Indonesia. Lihat docs/api.md."""


class SijoskuApi(Api):
    """flask-smorest's Api, with errors documented and rendered as problem details."""

    ERROR_SCHEMA = ProblemOut

    def _register_error_handlers(self) -> None:
        """Not app-wide: the pages keep their own error pages (`web.errors` renders API problems)."""

    def _register_responses(self) -> None:
        """flask-smorest's responses for each status code, as application/problem+json."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": problems.TITLES.get(status, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Penolakan (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def _configure(app: Flask) -> None:
    app.config.update(
        API_TITLE="SIJOSKU API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=resources.PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/"}],
            "security": [{"token": []}],
            "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        },
    )


def _docs_page() -> FlaskBlueprint:
    bp = FlaskBlueprint("api_docs_page", __name__)

    @bp.get(f"{resources.PREFIX}/docs")
    def docs() -> Any:
        return render_template("api/docs.html")

    return bp


def init_api(app: Flask, settings: Settings) -> list[resources.Blueprint]:
    """The API on the app; returns its resource blueprints."""
    _configure(app)
    app.url_map.converters.update(resources.CONVERTERS)
    api = SijoskuApi(app)
    api.register_converter(resources.DesaConverter, _pattern(resources.DesaConverter))
    api.register_converter(resources.PeriodConverter, _pattern(resources.PeriodConverter))
    app.after_request(_retry_after_only_when_refused)  # registered first, so it runs after the limiter's
    limiter = Limiter(
        key_func=auth.rate_key,
        storage_uri=settings.ratelimit_storage,
        headers_enabled=True,
        strategy="fixed-window",
    )
    limiter.init_app(app)
    app.extensions["sijosku_limiter"] = limiter
    found = resources.blueprints()
    for blp in found:
        limiter.shared_limit(auth.rate_limit, scope="api", key_func=auth.rate_key)(blp)
        api.register_blueprint(blp)
    app.register_blueprint(_docs_page())
    return found


def _retry_after_only_when_refused(response: Any) -> Any:
    """Flask-Limiter puts `Retry-After` on every answer; a client must meet it only on a refusal."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _pattern(converter: type[Any]) -> Any:
    return lambda _c: {"type": "string", "pattern": f"^{converter.regex}$"}
