"""The village operator's pages: the period's submission, items, import, minutes, submitting."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.core import clock
from engine.core.errors import Conflict, Invalid
from engine.verification import (
    dtsen,
    imports,
    instruments,
    items,
    minutes,
    register,
    register_view,
    submission_view,
    submissions,
)
from models import VervalStatus
from web.access import actor, anyone_signed_in, db, local_target, operator_only, reading, settings, uploaded
from web.errors import field_problems, flash_refusal, said_problem
from web.forms import (
    CategoryChoiceForm,
    DeclareForm,
    ItemForm,
    RegisterFilterForm,
    SubmissionPageForm,
    VervalForm,
    parse,
)
from web.i18n import said
from web.i18n import verval_label as verval_word

bp = Blueprint("desa", __name__, url_prefix="/desa")


@bp.get("/")
@operator_only
def index() -> Any:
    with reading() as s:
        rows = submissions.my_submissions(s, actor())
    return render_template("desa/index.html", submissions=rows)


def _submission_page(submission_id: int, refusal: Invalid | None = None) -> Any:
    asked = parse(SubmissionPageForm, request.args)
    with reading() as s:
        page = submissions.submission_page(s, actor(), submission_id, asked["halaman"], asked["tampil"])
        kinds = items.categories(s)
        poor = dtsen.desa_information(s, actor(), page.submission.kode_desa)
    return render_template(
        "desa/submission.html",
        page=page,
        categories=kinds,
        kind_names={c.kode: c.nama for c in kinds},
        refusal=refusal,
        dtsen_poor=poor,
    )


@bp.get("/pengajuan/<int:submission_id>")
@operator_only
def submission(submission_id: int) -> Any:
    return _submission_page(submission_id)


def values_of(row: Any) -> dict[str, Any]:
    """An entry's stored values as its form names them (attributes as `atribut_<name>`)."""
    data = row.item.data
    return {**data, **{f"atribut_{k}": v for k, v in data.get("atribut", {}).items()}}


def _entry_fields(values: dict[str, Any]) -> dict[str, Any]:
    """An entry's own fields, as its form names them (not the form's bookkeeping)."""
    return {k: v for k, v in values.items() if k in items.ITEM_COLUMNS or k.startswith("atribut_")}


def _typed_here(name: str, value: str, posted: dict[str, str], stored: dict[str, Any]) -> bool:
    """A value the person changed on this form and is not stored: against what the form showed when
    it was opened (`awal_<name>`), so a value changed meanwhile elsewhere (another tab, another
    period's approval) is not offered back to copy over it; against what is stored for older forms."""
    shown = posted.get(f"awal_{name}")
    return value.strip() != str(stored.get(name, "")) and (shown is None or value.strip() != shown.strip())


def _item_form(submission_id: int, item_id: int | None) -> Any:
    chosen = parse(CategoryChoiceForm, request.values)
    kode = chosen["kategori"]
    back = local_target(chosen["kembali"], "desa.submission", submission_id=submission_id)
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    unsaved: dict[str, str] = {}
    row = None
    opened: dict[str, Any] = {}  # the values the form showed when it was opened
    with reading() as s:
        page = submissions.submission_page(s, actor(), submission_id)
        if item_id:
            row = items.item_row(s, actor(), submission_id, item_id)
            values = values_of(row)
            opened = _entry_fields(values)
            kode = kode or row.item.kategori
        kind = items.category(s, kode) if kode else None
        kinds = items.categories(s)
    if request.method == "POST":
        values = request.form.to_dict()
        opened = {k[5:]: v for k, v in values.items() if k.startswith("awal_")} or opened
        try:
            with db().transaction() as s:
                saved = items.save_item(s, actor(), submission_id, parse(ItemForm, request.form), item_id)
            flash(_("Data tersimpan."), "ok")
            if saved.replaced:  # a correction means the person was found: say what it replaced
                said_status = verval_word(saved.replaced.value)
                flash(
                    _(
                        'Status register "%(status)s" diganti: data yang diperbaiki berarti orangnya ditemukan '
                        "dan masih layak. Bila tidak, beri lagi statusnya di halaman register.",
                        status=said_status,
                    ),
                    "info",
                )
            return redirect(back)
        except Invalid as exc:
            problems = field_problems(exc)
        except Conflict as exc:  # changed in another tab meanwhile: nothing written
            # the form again with what is stored now (and its time), and what was typed beside it to copy
            stored = values_of(row) if row is not None else {}
            typed = _entry_fields(values)
            unsaved = {k: v for k, v in typed.items() if k != "kategori" and _typed_here(k, v, values, stored)}
            values, opened, problems = stored, _entry_fields(stored), {"": said(str(exc))}
    return render_template(
        "desa/item.html",
        page=page,
        kind=kind,
        categories=kinds,
        values=values,
        problems=problems,
        item_id=item_id,
        row=row,
        unsaved=unsaved,
        opened=opened,
        back=back,
        kembali=chosen["kembali"],
    ), 400 if problems else 200


@bp.route("/pengajuan/<int:submission_id>/item/baru", methods=["GET", "POST"])
@operator_only
def new_item(submission_id: int) -> Any:
    return _item_form(submission_id, None)


@bp.route("/pengajuan/<int:submission_id>/item/<int:item_id>", methods=["GET", "POST"])
@operator_only
def edit_item(submission_id: int, item_id: int) -> Any:
    return _item_form(submission_id, item_id)


@bp.post("/pengajuan/<int:submission_id>/item/<int:item_id>/buang")
@operator_only
def discard_item(submission_id: int, item_id: int) -> Any:
    try:
        with db().transaction() as s:
            items.discard_item(s, actor(), submission_id, item_id)
        flash(_("Item disisihkan. Anda dapat mengembalikannya selama pengajuan belum diajukan."), "ok")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(url_for("desa.submission", submission_id=submission_id, _anchor="disisihkan"))


@bp.post("/pengajuan/<int:submission_id>/item/<int:item_id>/kembalikan")
@operator_only
def restore_item(submission_id: int, item_id: int) -> Any:
    try:
        with db().transaction() as s:
            restored = items.restore_item(s, actor(), submission_id, item_id)
        if restored:
            flash(_("Item dikembalikan ke pengajuan."), "ok")
        else:
            flash(_("Item ini tidak sedang disisihkan; tidak ada yang diubah."), "info")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.get("/pengajuan/<int:submission_id>/register")
@operator_only
def register_page(submission_id: int) -> Any:
    chosen = parse(RegisterFilterForm, request.args)
    return _register(submission_id, chosen["status"], "", chosen["halaman"])


@bp.post("/pengajuan/<int:submission_id>/register/cari")
@operator_only
def register_search(submission_id: int) -> Any:
    """A search travels in the form, not the address: a NIK or KK typed here would otherwise stay in
    the phone's history and in every proxy's access log. Without a search the filter is an address."""
    chosen = parse(RegisterFilterForm, request.form)
    if not chosen["q"].strip():
        return redirect(url_for("desa.register_page", submission_id=submission_id, status=chosen["status"]))
    return _register(submission_id, chosen["status"], chosen["q"], chosen["halaman"])


def _register(submission_id: int, status_filter: str, query: str, page_number: int) -> str:
    with reading() as s:
        page = register_view.register_page(s, actor(), submission_id, status_filter, query, page_number)
        kinds = submission_view.category_names(s)
    # Where marking or correcting a record returns to: the listing, never the search itself.
    back = url_for("desa.register_page", submission_id=submission_id, status=page.status_filter, halaman=page.page)
    return render_template("desa/register.html", page=page, statuses=list(VervalStatus), kind_names=kinds, back=back)


@bp.post("/pengajuan/<int:submission_id>/register")
@operator_only
def set_verval(submission_id: int) -> Any:
    back = url_for("desa.register_page", submission_id=submission_id)
    try:
        form = parse(VervalForm, request.form)
        back = local_target(form["kembali"], "desa.register_page", submission_id=submission_id)
        with db().transaction() as s:
            changed = register.set_status(
                s, actor(), submission_id, form["item_id"], VervalStatus(form["status"]), form["alasan"], form["tujuan"]
            )
        flash(_("%(n)d catatan diberi status: %(status)s.", n=changed, status=verval_word(form["status"])), "ok")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(back)


@bp.post("/pengajuan/<int:submission_id>/pernyataan")
@operator_only
def declare(submission_id: int) -> Any:
    try:
        form = parse(DeclareForm, request.form)
        nihil = {"nihil": True, "bukan_nihil": False}.get(form["aksi"])
        unchecked = {"tidak_diperiksa": form["alasan"], "tarik": ""}.get(form["aksi"])
        if form["aksi"] == "tidak_diperiksa" and not form["alasan"]:
            raise Invalid(_("Tuliskan mengapa register tidak dapat diperiksa periode ini"))
        with db().transaction() as s:
            register.declare(s, actor(), submission_id, nihil, unchecked)
        flash(_("Pernyataan tersimpan."), "ok")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.post("/pengajuan/<int:submission_id>/periksa")
@operator_only
def check_now(submission_id: int) -> Any:
    try:
        with db().transaction() as s:
            errors = submissions.check_draft(s, actor(), submission_id)
        if errors:
            flash(
                ngettext(
                    "Pemeriksaan selesai: %(num)d kesalahan harus diperbaiki sebelum diajukan.",
                    "Pemeriksaan selesai: %(num)d kesalahan harus diperbaiki sebelum diajukan.",
                    len(errors),
                ),
                "error",
            )
            for problem in errors[:3]:
                flash(said_problem(problem), "error")
        else:
            flash(_("Pemeriksaan selesai: tidak ada kesalahan. Peringatan (bila ada) tampil di setiap item."), "ok")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.get("/templat")
@operator_only
def template_for() -> Any:
    """The XLSX template of one category: its columns, their formats and a filled example."""
    kode = parse(CategoryChoiceForm, request.args)["kategori"]
    if not kode:
        raise Invalid(_("Pilih kategori templat yang akan diunduh"))
    with reading() as s:
        content = instruments.template(s, kode)
    return send_file(
        io.BytesIO(content),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"templat-{kode}.xlsx",
    )


@bp.route("/pengajuan/<int:submission_id>/impor", methods=["GET", "POST"])
@operator_only
def import_file(submission_id: int) -> Any:
    with reading() as s:
        page = submissions.submission_page(s, actor(), submission_id)
        kinds = items.categories(s)
    if request.method == "GET":
        return render_template("desa/import.html", page=page, error=None, categories=kinds)
    try:
        filename, content = uploaded("berkas", _("Pilih berkas XLSX atau CSV"))
        rows = imports.read_file(filename, content)
        with db().transaction() as s:
            job_id = imports.create_job(s, actor(), submission_id, filename, rows).id
    except (Invalid, Conflict) as exc:  # a submission gone up meanwhile is said on the import page too
        status = 400 if isinstance(exc, Invalid) else 409
        return render_template("desa/import.html", page=page, error=exc, categories=kinds), status
    if current_app.testing:  # no scheduler in tests: they read the outcome straight after the request
        imports.run_waiting_jobs(db(), clock.now(), poll=0)
    return redirect(url_for("desa.import_status", job_id=job_id))


@bp.get("/impor/<int:job_id>")
@operator_only
def import_status(job_id: int) -> Any:
    with reading() as s:
        job = imports.get_job(s, actor(), job_id)
    template = "desa/_import_progress.html" if request.headers.get("HX-Request") else "desa/import_status.html"
    return render_template(template, job=job)


@bp.get("/impor/<int:job_id>/masalah.csv")
@operator_only
def import_problems(job_id: int) -> Any:
    """Every problem a refused file had (as many as were kept), to fix the file in one go."""
    with reading() as s:
        text, name = imports.problems_csv(s, actor(), job_id)
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/pengajuan/<int:submission_id>/berita-acara", endpoint="minutes")
@operator_only
def attach_minutes(submission_id: int) -> Any:
    try:
        filename, content = uploaded("berkas", _("Pilih berkas PDF berita acara"))
        with db().transaction() as s:
            minutes.attach_minutes(s, actor(), submission_id, filename, content, settings().upload_dir)
        flash(_("Berita acara tersimpan."), "ok")
    except (Invalid, Conflict) as exc:
        flash_refusal(exc)
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.post("/pengajuan/<int:submission_id>/ajukan")
@operator_only
def submit(submission_id: int) -> Any:
    try:
        with db().transaction() as s:
            tingkat = submissions.submit(s, actor(), submission_id).tingkat.label
        flash(_("Pengajuan diajukan; sekarang menunggu verifikasi %(tahap)s.", tahap=tingkat), "ok")
    except Invalid as exc:
        return _submission_page(submission_id, refusal=exc), 400
    return redirect(url_for("desa.submission", submission_id=submission_id))


@bp.get("/berita-acara/<int:submission_id>")
@anyone_signed_in
def minutes_file(submission_id: int) -> Any:
    """The signed minutes, for the desa's operator and for the people who verify or audit it."""
    with reading() as s:
        name, download_name = minutes.minutes_file(s, actor(), submission_id)
    response = send_from_directory(settings().upload_dir, name, mimetype="application/pdf", download_name=download_name)
    response.headers["Cache-Control"] = "no-store"  # signatures and names stay off every cache
    return response
