"""Every API refusal in one shape: RFC 9457 problem details, in Indonesian.

The engine's refusals keep their status (400, 403, 404, 409); webargs' validation errors become 400
with a problem per field and row; everything else Flask and werkzeug raise keeps its code with an
Indonesian title and detail.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from engine.core.errors import Invalid, Problem, SijoskuError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Permintaan tidak sah",
    401: "Perlu token yang sah",
    403: "Tidak diizinkan",
    404: "Tidak ditemukan",
    405: "Metode tidak didukung",
    406: "Format jawaban tidak tersedia",
    409: "Konflik",
    411: "Panjang isi wajib disebutkan",
    412: "Prasyarat tidak terpenuhi",
    413: "Isi permintaan terlalu besar",
    415: "Jenis isi tidak didukung",
    422: "Isian tidak dapat diproses",
    428: "Prasyarat wajib",
    429: "Terlalu banyak permintaan",
    500: "Galat pada server",
    503: "Layanan tidak tersedia",
}
DETAILS = {
    400: "Permintaan ini tidak dapat dibaca.",
    401: "Kirim token instansi di kepala Authorization: Bearer <token>.",
    403: "Token ini tidak membuka sumber daya ini.",
    404: "Alamat atau data ini tidak ada di wilayah token ini.",
    405: "Metode HTTP ini tidak tersedia untuk alamat ini.",
    406: "Jawaban hanya tersedia sebagai JSON.",
    413: "Isi permintaan melebihi batas API.",
    415: "Kirim isi sebagai application/json.",
    429: "Batas laju terlampaui (per token, atau per alamat bila tanpa token); coba lagi sebentar lagi.",
    500: "Terjadi galat pada server; tidak ada yang diubah. Laporkan waktu permintaan ini kepada admin.",
}
# marshmallow's and webargs' own words, as the API says them
WORDS = {
    "Missing data for required field.": "wajib diisi",
    "Unknown field.": "kolom tidak dikenal",
    "Not a valid integer.": "harus bilangan bulat",
    "Not a valid string.": "harus teks",
    "Not a valid boolean.": "harus true atau false",
    "Not a valid list.": "harus daftar (array)",
    "Not a valid datetime.": "harus waktu ISO 8601, mis. 2026-10-01T00:00:00+08:00",
    "Not a valid aware datetime.": "harus waktu ISO 8601 dengan zona waktu, mis. 2026-10-01T00:00:00+08:00",
    "Field may not be null.": "tidak boleh null",
    "Invalid input type.": "jenis isian tidak sah",
    "Invalid type.": "jenis isian tidak sah",
    "Invalid JSON body.": "isi bukan JSON yang sah",
    "Not a valid mapping type.": "harus objek JSON",
    "Must be one of: ": "pilih salah satu dari: ",
    "Invalid value.": "nilai tidak sah",
}


def _word(message: Any) -> str:
    text = str(message)
    for english, indonesian in WORDS.items():
        if text.startswith(english):
            return indonesian + text[len(english) :]
    return text


def _flatten(messages: Any, location: str, path: list[int | str]) -> list[dict[str, Any]]:
    """webargs' nested messages ({"json": {"baris": {0: {"nilai": [...]}}}}) as one list. A row is
    a list position (an int key); any text key is a field's name, even one like "2" or "²" that a
    client sent as an unknown field."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            found += _flatten(value, location, [*path, key])
        return found
    entries = messages if isinstance(messages, list) else [messages]
    row = next((p + 1 for p in path if isinstance(p, int)), None)
    column = ".".join(p for p in path if isinstance(p, str) and p != "_schema") or None
    return [
        {k: v for k, v in {"pesan": _word(m), "lokasi": location, "kolom": column, "baris": row}.items() if v}
        for m in entries
    ]


def problem(
    status: int, detail: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Permintaan ditolak"),
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if details:
        body["masalah"] = details[:200]
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_problem(p: Problem) -> dict[str, Any]:
    found = {"pesan": p.message, "kolom": p.column or p.element, "baris": p.row}
    return {k: v for k, v in found.items() if v is not None}


def refused(exc: SijoskuError) -> Response:
    if isinstance(exc, Invalid):
        return problem(400, exc.summary, [_from_problem(p) for p in exc.problems])
    return problem(exc.http_status, str(exc).split("\n")[0])


def _window(exc: HTTPException) -> int:
    """The seconds of the limit refused (RateLimitExceeded's `limit`), a minute when it is not known."""
    limit = getattr(getattr(exc, "limit", None), "limit", None)
    return int(limit.get_expiry()) if limit is not None else 60


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    headers = dict(data.get("headers") or {}) if isinstance(data, dict) else {}
    if messages:  # webargs: a query or body that does not fit its schema
        details = [d for location, found in messages.items() for d in _flatten(found, location, [])]
        return problem(status, "Isian permintaan belum benar", details, headers)
    if status == 429:  # the limit's own window at most; the limiter narrows it to the limit's reset
        headers.setdefault("Retry-After", str(_window(exc)))
    if status == 405 and exc.get_response().headers.get("Allow"):
        headers["Allow"] = exc.get_response().headers["Allow"]
    detail = getattr(exc, "sijosku_detail", None) or DETAILS.get(status) or TITLES.get(status, "Permintaan ditolak")
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="sijosku"'
    return problem(status, detail, None, headers)


def crashed(exc: Exception) -> Response:
    log.exception("galat API pada %s %s", request.method, request.path)
    return problem(500, DETAILS[500])
