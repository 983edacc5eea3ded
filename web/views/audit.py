"""Auditors' pages: records and their timelines, instances, the trail's integrity and export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from engine import audit as chain
from engine import trail
from web.access import actor, auditor_only, db, reading

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _province() -> str:
    return current_app.extensions["sijosku_settings"].province


@bp.route("/", methods=["GET", "POST"])
@auditor_only
def index() -> Any:
    # Posted, not in the URL: a NIK in a query string ends up in logs and browser history.
    args = {k: request.form.get(k, "").strip() for k in ("nik", "nama", "wilayah", "kategori")}
    with reading() as s:
        found = trail.search_records(s, actor(), **args) if any(args.values()) else []
    return render_template("audit/search.html", found=found, args=args, searched=any(args.values()))


@bp.get("/catatan/<int:record_id>")
@auditor_only
def record(record_id: int) -> Any:
    with reading() as s:
        found, versions = trail.record_timeline(s, actor(), record_id)
    return render_template("audit/record.html", record=found, versions=versions, revealed=None)


@bp.post("/catatan/<int:record_id>/nik")
@auditor_only
def reveal(record_id: int) -> Any:
    with db().transaction() as s:
        nik = trail.reveal_nik(s, actor(), record_id, request.form.get("alasan", ""))
    with reading() as s:
        found, versions = trail.record_timeline(s, actor(), record_id)
    return render_template("audit/record.html", record=found, versions=versions, revealed=nik)


@bp.get("/instans/<int:instance_id>")
@auditor_only
def instance(instance_id: int) -> Any:
    with reading() as s:
        data = trail.instance_timeline(s, actor(), instance_id)
    return render_template("audit/instance.html", **data)


@bp.post("/verifikasi")
@auditor_only
def verify() -> Any:
    trail.require_province_auditor(actor(), _province())
    with reading() as s:
        report = chain.verify_chain(s)
    return render_template("audit/verify.html", report=report)


@bp.get("/ekspor.csv")
@auditor_only
def export() -> Any:
    me, province, database = actor(), _province(), db()
    trail.require_province_auditor(me, province)

    def rows() -> Any:  # streamed: the trail can be long; it needs no request context
        with database.read() as s:
            yield from trail.export_csv(s, me, province)

    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=jejak-audit.csv"})
