"""The API's resources under /api/v1: thin views that parse with marshmallow, call one use case and
dump the answer. Reads carry an ETag (a repeated read with If-None-Match gets 304)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.exceptions import NotModified
from sqlalchemy.orm import Session
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType
from werkzeug.http import quote_etag
from werkzeug.routing import BaseConverter

from engine.core.errors import SijoskuError
from engine.verification import determination_exports, determinations, exchange
from web.access import db, reading, written_if_sent
from web.api import auth, problems
from web.api.schemas import (
    AgencyFiguresIn,
    AgencyFiguresOut,
    DeterminationDetail,
    DeterminationList,
    FigureArgs,
    FigurePage,
    ItemsIn,
    ItemsOut,
    RecordArgs,
    RecordOut,
    RecordPage,
    RecordSearch,
    StatusArgs,
    StatusList,
)

PREFIX = "/api/v1"
MAX_BODY = 2 * 1024 * 1024  # a POST of 5,000 rows fits; anything larger is refused before it is read


class _Parser(FlaskParser):
    """A bad query or body is a 400 (not webargs' 422), and unknown query parameters are refused too."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            raise UnsupportedMediaType()  # a form or a file is not read as an empty body ("baris: wajib diisi")
        # the document is named: webargs reads a decode error of an empty one as "no body", and would
        # answer "baris: wajib diisi" to a body that was sent
        try:
            body = super()._raw_load_json(req)
        except RecursionError as exc:  # nested beyond Python's stack: malformed as far as this API is concerned
            raise json.JSONDecodeError("terlalu dalam bersarang", "(isi)", 0) from exc
        if body is missing:  # no body: each field says it is required
            return body
        try:  # "\ud83d" alone (an emoji cut in half) decodes, then fails every page and file that shows it
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise json.JSONDecodeError("teks berisi separuh karakter (surrogate tunggal)", "(isi)", 0) from exc
        return body


class _NotModified(NotModified):
    """A 304 that knows its ETag: RFC 9110 has a 304 carry the tag a 200 would have carried."""

    def __init__(self, etag: str) -> None:
        super().__init__()
        self.etag = etag

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        return Response(status=304, headers={"ETag": quote_etag(self.etag)})


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = _Parser()

    def _check_not_modified(self, etag: str) -> None:
        # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x"
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and request.if_none_match.contains_weak(etag):
            raise _NotModified(etag)


class DesaConverter(BaseConverter):
    """A desa/kelurahan code in a path: anything else is not an address of the API (404)."""

    regex = r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}"


class PeriodConverter(BaseConverter):
    regex = r"[0-9]{4}(?:-(?:Q[1-4]|S[12]))?"


CONVERTERS = {"desa": DesaConverter, "periode": PeriodConverter}


def _guarded(blp: Blueprint) -> Blueprint:
    """Every resource: a token first, bodies bounded, refusals as problem details."""

    @blp.before_request
    def _token() -> None:
        request.max_content_length = MAX_BODY
        auth.require_token()

    @blp.after_request
    def _no_shared_cache(response: Any) -> Any:
        response.headers.setdefault("Cache-Control", "private, no-cache")
        return response

    blp.register_error_handler(_NotModified, lambda exc: exc.get_response())  # not a problem: nothing to say
    blp.register_error_handler(SijoskuError, problems.refused)
    blp.register_error_handler(HTTPException, problems.http_error)
    blp.register_error_handler(Exception, problems.crashed)
    return blp


def _page(page: exchange.Page[Any]) -> dict[str, Any]:
    return {
        "data": [asdict(item) for item in page.items],
        "halaman": {"page": page.page, "page_size": page.page_size, "total": page.total, "pages": page.pages},
    }


def _paging(args: dict[str, Any]) -> exchange.PageRequest:
    return exchange.PageRequest(args.pop("page"), args.pop("page_size"))


def figures_blueprint() -> Blueprint:
    blp = _guarded(Blueprint("agregat", __name__, url_prefix=PREFIX, description="Angka agregat (Satu Data)"))

    @blp.get("/aggregates")
    @blp.etag
    @blp.arguments(FigureArgs, location="query")
    @blp.response(200, FigurePage)
    def aggregates(args: dict[str, Any]) -> Any:
        """Angka PPKS/PSKS per wilayah, kategori dan periode, dalam bentuk Satu Data."""
        paging = _paging(args)
        with reading() as s:
            return _page(exchange.figures(s, auth.actor(), exchange.FigureFilter(**args), paging))

    @blp.post("/agency-figures")
    @blp.arguments(AgencyFiguresIn)
    @blp.response(201, AgencyFiguresOut)
    @blp.alt_response(409, response="CONFLICT")
    def agency_figures(body: dict[str, Any]) -> Any:
        """Angka instansi ini untuk padu padan: semua baris sah, atau tidak ada yang disimpan."""
        with db().transaction() as s:
            report = exchange.post_agency_figures(s, auth.actor(), body["baris"])
            return {"instansi": report.instansi, "baris": report.rows, "baru": report.added, "tanda": report.flags}

    return blp


def status_blueprint() -> Blueprint:
    blp = _guarded(Blueprint("status-verifikasi", __name__, url_prefix=PREFIX, description="Status verifikasi"))

    @blp.get("/verification-status")
    @blp.etag
    @blp.arguments(StatusArgs, location="query")
    @blp.response(200, StatusList)
    def verification_status(args: dict[str, Any]) -> Any:
        """Per wilayah di bawahnya: wajib melapor, mengajukan, tepat waktu, terverifikasi per tingkat."""
        with reading() as s:
            rows = exchange.verification_status(s, auth.actor(), args["periode"], args["wilayah"])
        token = auth.actor().token
        parent = args["wilayah"] or (token.region_kode if token is not None else "")
        return {"periode": args["periode"], "wilayah": parent, "data": [r.to_dict() for r in rows]}

    return blp


def _disclosed(blp: Blueprint, schema: Any, read: Callable[[Session], Any]) -> Any:
    """People's records read and their disclosure written to the audit trail, only when the body goes
    out: a 304 (the agency holds this answer already) or a HEAD rolls the trail's rows back."""
    return written_if_sent(read, lambda answer: blp.set_etag(answer, schema))  # set_etag raises the 304


def records_blueprint() -> Blueprint:
    blp = _guarded(Blueprint("catatan", __name__, url_prefix=PREFIX, description="Catatan PPKS (terbatas)"))

    @blp.after_request
    def _personal(response: Any) -> Any:
        response.headers["Cache-Control"] = "no-store"  # personal data stays off every cache
        return response

    @blp.get("/records")
    @blp.etag
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, RecordPage)
    def records(args: dict[str, Any]) -> Any:
        """Catatan PPKS di wilayah token; NIK disamarkan kecuali token boleh melihatnya (tercatat di jejak audit)."""
        paging = _paging(args)
        found = exchange.RecordFilter(**args)
        return _disclosed(blp, RecordPage, lambda s: _page(exchange.records(s, auth.actor(), found, paging)))

    @blp.post("/records/search")
    @blp.arguments(RecordSearch, location="json")
    @blp.response(200, RecordPage)
    def record_search(args: dict[str, Any]) -> Any:
        """Catatan PPKS dengan NIK tertentu; NIK dikirim di badan permintaan, bukan di alamat (tercatat
        di log proxy). Hanya token NIK lengkap; setiap pencarian, ketemu atau tidak, tercatat."""
        paging = _paging(args)
        with db().transaction() as s:
            return _page(exchange.records(s, auth.actor(), exchange.RecordFilter(**args), paging))

    @blp.get("/records/<int(min=1, max=2147483647):record_id>")
    @blp.etag
    @blp.response(200, RecordOut)
    def record(record_id: int) -> Any:
        """Satu catatan PPKS."""
        return _disclosed(blp, RecordOut, lambda s: asdict(exchange.record(s, auth.actor(), record_id)))

    return blp


def submissions_blueprint() -> Blueprint:
    blp = _guarded(Blueprint("pengajuan", __name__, url_prefix=PREFIX, description="Pengajuan desa"))

    @blp.post("/submissions/<desa:kode_desa>/<periode:periode>/items")
    @blp.arguments(ItemsIn)
    @blp.response(201, ItemsOut)
    @blp.alt_response(409, response="CONFLICT")
    def items(body: dict[str, Any], kode_desa: str, periode: str) -> Any:
        """Item untuk draf pengajuan desa, dengan pemeriksaan yang sama seperti impor: semua baris sah,
        atau tidak ada yang disimpan."""
        with db().transaction() as s:
            report = exchange.post_items(s, auth.actor(), kode_desa, periode, body["baris"])
            return {
                "pengajuan": report.submission_id,
                "baris": report.rows,
                "baru": report.added,
                "diperbarui": report.updated,
                "tidak_berubah": report.unchanged,
            }

    return blp


YEAR = "int(min=2000, max=2100)"
EXPORT_TYPES = {
    "csv": "text/csv",  # Flask adds the charset
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def determinations_blueprint() -> Blueprint:
    blp = _guarded(Blueprint("penetapan", __name__, url_prefix=PREFIX, description="Penetapan angka resmi"))

    @blp.get("/determinations")
    @blp.etag
    @blp.response(200, DeterminationList)
    def determination_list() -> Any:
        """Semua penetapan, yang terbaru dahulu: hash, surat keputusan, yang menyetujui, total."""
        with reading() as s:
            return {"data": determinations.published(s, auth.actor())}

    @blp.get(f"/determinations/<{YEAR}:tahun>")
    @blp.etag
    @blp.response(200, DeterminationDetail)
    def determination(tahun: int) -> Any:
        """Penetapan satu tahun (revisi terakhir) dengan angkanya di wilayah token."""
        with reading() as s:
            return determinations.published_year(s, auth.actor(), tahun)

    @blp.get(f"/determinations/<{YEAR}:tahun>/export/<any(csv, xlsx, pdf):fmt>")
    @blp.response(200, description="Berkas CSV, XLSX (dengan metadata) atau PDF (lampiran)")
    def determination_export(tahun: int, fmt: str) -> Any:
        """Ekspor penetapan untuk Satu Data Indonesia; untuk token tingkat provinsi."""
        content, name = written_if_sent(
            lambda s: determination_exports.export(s, auth.actor(), tahun, fmt, db().settings, by_token=True)
        )
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, mimetype=EXPORT_TYPES[fmt], headers=headers)

    return blp


def blueprints() -> list[Blueprint]:
    return [
        figures_blueprint(),
        status_blueprint(),
        records_blueprint(),
        submissions_blueprint(),
        determinations_blueprint(),
    ]
