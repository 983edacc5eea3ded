"""Auditors' pages: records and their timelines, instances, the trail's integrity and export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from engine.core import clock
from engine.core.errors import Invalid
from engine.verification import processes, region_history, trail
from web.access import actor, auditor_only, db, reading, settings
from web.forms import InstancePageForm, PublishedHeadForm, ReasonForm, RecordSearchForm, parse

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/", methods=["GET", "POST"])
@auditor_only
def index() -> Any:
    # Posted, not in the URL: a NIK in a query string ends up in logs and browser history.
    args = parse(RecordSearchForm, request.form)
    try:
        with db().transaction() as s:  # a search by NIK is recorded on the trail
            found = trail.search_records(s, actor(), **args) if any(args.values()) else trail.Search([], 0)
    except Invalid as exc:  # the search kept as written, saying what cannot match
        return _search_page(args=args, search_refusal=exc), 400
    return _search_page(found=found, args=args, searched=any(args.values()))


def _search_page(**shown: Any) -> str:
    with reading() as s:
        versions = processes.list_definitions(s, actor())
    shown.setdefault("args", {})
    return render_template("audit/search.html", versions=versions, **shown)


@bp.get("/wilayah")
@auditor_only
def regions() -> Any:
    """Every change to the list of regions: which decree, from when, applied by whom and when."""
    with reading() as s:
        history = region_history.history(s, actor(), limit=region_history.HISTORY_LIMIT)
    return render_template("audit/regions.html", history=history)


@bp.get("/catatan/<int:record_id>")
@auditor_only
def record(record_id: int) -> Any:
    return _record_page(record_id)


@bp.post("/catatan/<int:record_id>/nik")
@auditor_only
def reveal(record_id: int) -> Any:
    reason = parse(ReasonForm, request.form)["alasan"]
    try:
        with db().transaction() as s:
            nik = trail.reveal_nik(s, actor(), record_id, reason)
    except Invalid as exc:  # the record again, saying what the reason lacks, with what was written
        return _record_page(record_id, refusal=exc, reason=reason), 400
    return _record_page(record_id, revealed=nik)


def _record_page(record_id: int, **shown: Any) -> str:
    with db().transaction() as s:  # the look is recorded on the trail
        found, versions = trail.record_timeline(s, actor(), record_id, nik_revealed=bool(shown.get("revealed")))
        links = trail.record_links(s, actor(), record_id)
    return render_template("audit/record.html", record=found, versions=versions, row=links, **shown)


@bp.get("/instans/<int:instance_id>")
@auditor_only
def instance(instance_id: int) -> Any:
    asked = parse(InstancePageForm, request.args)
    with db().transaction() as s:  # the look is recorded on the trail
        data = trail.instance_timeline(s, actor(), instance_id, asked["halaman"], asked["halaman_item"])
    return render_template("audit/instance.html", **data)


@bp.post("/verifikasi")
@auditor_only
def verify() -> Any:
    """The chain checked a slice per request: a page not yet at the head goes on by itself (or by
    its button) from the row where the last slice stopped, carried in a signed form field that
    lasts minutes and belongs to the check this session started last."""
    form = parse(PublishedHeadForm, request.form)
    published, token = form["kepala"], form["lanjut"]
    if not token:
        session[_CHECK] = trail.ChainCheck.start().stored()
    check = trail.ChainCheck.restored(session.get(_CHECK))
    try:
        with reading() as s:
            province = settings().province
            report = trail.verify_trail(s, actor(), province, published, _opened(token), check, trail.VERIFY_SLICE)
    except Invalid as refusal:
        return render_template("audit/verify.html", report=None, refusal=refusal, published=published), 400
    assert check is not None  # started above, or refused as not carried for it
    goes_on = "" if report.done else _carried().dumps(trail.carried_on(actor(), published, check, report))
    started = check.started if token else None  # a check in slices says since when it read the chain
    return render_template("audit/verify.html", report=report, published=published, goes_on=goes_on, started=started)


_CHECK = "pemeriksaan_rantai"
_SLICE_LASTS = 600  # seconds a page may wait before its next slice (without scripts, its button)


def _carried() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="audit-chain-check")


def _opened(token: str) -> Any:
    """What the last slice's page carried, if its signature holds and is recent (else nothing valid)."""
    if not token:
        return None
    try:
        return _carried().loads(token, max_age=_SLICE_LASTS)
    except BadSignature:  # SignatureExpired too
        return False


@bp.post("/ekspor.csv")
@auditor_only
def export() -> Any:
    me, province, database, settings_tz = actor(), settings().province, db(), settings().tz
    reason = parse(ReasonForm, request.form)["alasan"]
    try:
        with database.transaction() as s:  # refused, or recorded with its reason, before the download starts
            trail.record_export(s, me, province, reason)
    except Invalid as exc:  # the search page again, saying what the reason lacks, with what was written
        return _search_page(export_refusal=exc, export_reason=reason), 400

    def rows() -> Any:  # streamed: the trail can be long; it needs no request context
        with database.read() as s:
            yield from trail.export_csv(s, me, province, settings_tz)

    name = f"jejak-audit-{province}-{clock.now().astimezone(settings_tz):%Y%m%d-%H%M}.csv"
    return Response(rows(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})
