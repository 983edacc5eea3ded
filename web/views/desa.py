"""The village operator's pages: the period's submission, items, import, minutes, submitting."""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _

from engine import desa, imports, submissions
from engine.errors import Invalid
from engine.inbox import sub_region_allowed
from web.access import actor, anyone_signed_in, db, operator_only, reading

bp = Blueprint("desa", __name__, url_prefix="/desa")


@bp.get("/")
@operator_only
def index() -> Any:
    with reading() as s:
        rows = desa.my_submissions(s, actor())
    return render_template("desa/index.html", submissions=rows)


@bp.get("/pengajuan/<int:submission_id>")
@operator_only
def submission(submission_id: int) -> Any:
    with reading() as s:
        page = desa.submission_page(s, actor(), submission_id)
        kinds = desa.categories(s)
    return render_template("desa/submission.html", page=page, categories=kinds)


def _item_form(submission_id: int, item_id: int | None) -> Any:
    kode = request.values.get("kategori", "")
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    with reading() as s:
        page = desa.submission_page(s, actor(), submission_id)
        if item_id:
            row = next((r for r in page.items if r.item.id == item_id), None)
            if row is None:
                return render_template("error.html", status=404, title=_("Tidak ditemukan"),
                                       message=_("Item ini tidak ada."), problems=[]), 404
            values = {**row.item.data, **{f"atribut_{k}": v for k, v in row.item.data.get("atribut", {}).items()}}
            kode = kode or row.item.kategori
        kind = desa.category(s, kode) if kode else None
        kinds = desa.categories(s)
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            with db().transaction() as s:
                desa.save_item(s, actor(), submission_id, values, item_id)
            flash(_("Data tersimpan."), "ok")
            return redirect(url_for("desa.submission", submission_id=submission_id))
        except Invalid as exc:
            problems = {p.column or "": p.message for p in exc.problems}
    return render_template("desa/item.html", page=page, kind=kind, categories=kinds, values=values,
                           problems=problems, item_id=item_id), 400 if problems else 200


@bp.route("/pengajuan/<int:submission_id>/item/baru", methods=["GET", "POST"])
@operator_only
def new_item(submission_id: int) -> Any:
    return _item_form(submission_id, None)


@bp.route("/pengajuan/<int:submission_id>/item/<int:item_id>", methods=["GET", "POST"])
@operator_only
def edit_item(submission_id: int, item_id: int) -> Any:
    return _item_form(submission_id, item_id)


@bp.post("/pengajuan/<int:submission_id>/item/<int:item_id>/hapus")
@operator_only
def delete_item(submission_id: int, item_id: int) -> Any:
    with db().transaction() as s:
        desa.delete_item(s, actor(), submission_id, item_id)
    flash(_("Item dihapus dari pengajuan."), "ok")
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.get("/pengajuan/<int:submission_id>/catatan")
@operator_only
def records(submission_id: int) -> Any:
    query = request.args.get("q", "")
    with reading() as s:
        page = desa.submission_page(s, actor(), submission_id)
        found = desa.desa_records(s, actor(), submission_id, query)
    return render_template("desa/records.html", page=page, records=found, q=query)


@bp.post("/pengajuan/<int:submission_id>/catatan/<int:record_id>/hapus")
@operator_only
def propose_removal(submission_id: int, record_id: int) -> Any:
    try:
        with db().transaction() as s:
            desa.propose_removal(s, actor(), submission_id, record_id, request.form.get("alasan", ""))
        flash(_("Usulan penghapusan ditambahkan ke pengajuan."), "ok")
    except Invalid as exc:
        flash(str(exc.problems[0] if exc.problems else exc.summary), "error")
        return redirect(url_for("desa.records", submission_id=submission_id))
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.route("/pengajuan/<int:submission_id>/impor", methods=["GET", "POST"])
@operator_only
def import_file(submission_id: int) -> Any:
    with reading() as s:
        page = desa.submission_page(s, actor(), submission_id)
    if request.method == "GET":
        return render_template("desa/import.html", page=page, error=None)
    upload = request.files.get("berkas")
    try:
        if upload is None or not upload.filename:
            raise Invalid(_("Pilih berkas XLSX atau CSV"))
        rows = imports.read_table(upload.filename, upload.read())
        with db().transaction() as s:
            job = imports.create_job(s, actor(), submission_id, upload.filename, len(rows))
            job_id = job.id
    except Invalid as exc:
        return render_template("desa/import.html", page=page, error=exc), 400
    runner = threading.Thread(target=imports.run_job, args=(db(), job_id, rows), daemon=True,
                              name=f"impor-{job_id}")
    runner.start()
    if current_app.testing:
        runner.join()  # tests read the outcome straight after the request
    return redirect(url_for("desa.import_status", job_id=job_id))


@bp.get("/impor/<int:job_id>")
@operator_only
def import_status(job_id: int) -> Any:
    with reading() as s:
        job = imports.get_job(s, actor(), job_id)
    template = "desa/_import_progress.html" if request.headers.get("HX-Request") else "desa/import_status.html"
    return render_template(template, job=job)


@bp.post("/pengajuan/<int:submission_id>/berita-acara")
@operator_only
def minutes(submission_id: int) -> Any:
    upload = request.files.get("berkas")
    try:
        with db().transaction() as s:
            desa.operator_submission(s, actor(), submission_id)
            desa.attach_minutes(s, actor(), submission_id, upload.filename if upload else "",
                                upload.read() if upload else b"", current_app.config["UPLOAD_DIR"])
        flash(_("Berita acara tersimpan."), "ok")
    except Invalid as exc:
        flash(exc.summary, "error")
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.post("/pengajuan/<int:submission_id>/ajukan")
@operator_only
def submit(submission_id: int) -> Any:
    try:
        with db().transaction() as s:
            desa.operator_submission(s, actor(), submission_id)
            done = submissions.submit(s, actor(), submission_id)
            tahap = done.tahap.label
        flash(_("Pengajuan diajukan; sekarang menunggu verifikasi %(tahap)s.", tahap=tahap), "ok")
    except Invalid as exc:
        with reading() as s:
            page = desa.submission_page(s, actor(), submission_id)
            kinds = desa.categories(s)
        return render_template("desa/submission.html", page=page, categories=kinds, refusal=exc), 400
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.get("/berita-acara/<int:submission_id>")
@anyone_signed_in
def minutes_file(submission_id: int) -> Any:
    """The signed minutes, for the desa's operator and for the people who verify or audit it."""
    with reading() as s:
        found = submissions.get_submission(s, submission_id)
        if not found.berita_acara or not sub_region_allowed(actor(), found.kode_desa):
            return render_template("error.html", status=404, title=_("Tidak ditemukan"),
                                   message=_("Berita acara tidak ada."), problems=[]), 404
        name = found.berita_acara
    return send_from_directory(current_app.config["UPLOAD_DIR"], name, mimetype="application/pdf",
                               download_name=f"berita-acara-{submission_id}.pdf")
