"""Other agencies' figures for a year: what each agency sent, one agency's figures beside ours, and
the province's data steward uploading a file (preview, then save) or taking a year's figures back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.core.errors import Conflict, Invalid, NotFound
from engine.people.scope import Scope
from engine.verification import agency_figures, agency_listing, agency_uploads
from web.access import actor, db, overseers, reading, settings, uploaded
from web.forms import parse
from web.i18n import said
from web.reconciliation_forms import AgencyFiguresForm, AgencyListForm, AgencyUndoForm, AgencyWithdrawForm

bp = Blueprint("agency_figures", __name__, url_prefix="/rekonsiliasi/<int:tahun>/instansi")


def _page(tahun: int, plan: Any = None, values: Any = None, refusal: Any = None, status: int = 200) -> Any:
    """The year's agencies, one agency's figures when asked, the upload form (with a refusal's
    problems listed by row) and a preview."""
    chosen = parse(AgencyListForm, request.args)
    found = refusal.problems if isinstance(refusal, Invalid) else []
    with reading() as s:
        agencies = agency_listing.overview(s, actor(), tahun)
        uploads = agency_uploads.uploads(s, actor(), tahun)
        listed = (
            agency_listing.figures_of(s, actor(), tahun, chosen["lihat"], chosen["halaman"])
            if chosen["lihat"]
            else None
        )
    page = render_template(
        "reconciliation/agencies.html",
        tahun=tahun,
        agencies=agencies,
        uploads=uploads,
        chosen=chosen,
        listed=listed,
        may_receive=Scope.reconciling(actor()).whole_province,
        plan=plan,
        carried=agency_figures.carried(plan) if plan else "",
        values=values or {},
        refusal=said(str(refusal).split("\n")[0]) if refusal is not None else "",
        refusal_problems=found,
    )
    return page, status


def _refused(tahun: int, exc: Exception) -> Any:
    status = 400 if isinstance(exc, Invalid) else 404 if isinstance(exc, NotFound) else 409
    return _page(tahun, values=request.form, refusal=exc, status=status)  # the reason typed stays


@bp.get("/")
@overseers
def index(tahun: int) -> Any:
    return _page(tahun)


@bp.post("/")
@overseers
def preview(tahun: int) -> Any:
    """What the uploaded file would change, to confirm; nothing is written yet."""
    try:
        values = parse(AgencyFiguresForm, request.form)
        filename, content = uploaded("berkas", _("Pilih berkas angka instansi (XLSX, CSV atau TSV)"))
        upload = agency_figures.Upload(tahun, filename, content, values["instansi"])
        with reading() as s:
            plan = agency_figures.preview(s, actor(), upload, settings().province, settings().secret_key)
    except Invalid as exc:
        return _page(tahun, values=request.form, refusal=exc, status=400)
    return _page(tahun, plan, values)


@bp.post("/simpan")
@overseers
def save(tahun: int) -> Any:
    try:
        values = parse(AgencyFiguresForm, request.form)
        sent = agency_figures.Confirmation(
            tahun,
            agency_figures.from_carried(values["baris"]),
            values["kunci"],  # the preview's key: without it, or with another, nothing is saved
            (values["nama_berkas"], values["sha256"]),
        )
        with db().transaction() as s:
            received = agency_figures.receive(s, actor(), sent, settings().province, settings().secret_key)
    except (Invalid, Conflict) as exc:
        return _refused(tahun, exc)
    plan = received.plan
    if not received.saved:
        flash(_("Angka ini sudah tersimpan: tidak ada yang diubah."), "ok")
    else:
        flash(
            _(
                "Angka instansi tersimpan: %(baru)d baru, %(ubah)d berubah, %(sama)d sama; %(tanda)d tanda terbuka "
                "pada angka instansi ini.",
                baru=plan.count(agency_figures.NEW),
                ubah=plan.count(agency_figures.CHANGED),
                sama=plan.count(agency_figures.SAME),
                tanda=len(plan.flags),
            ),
            "ok",
        )
    return redirect(url_for("agency_figures.index", tahun=tahun))


@bp.post("/tarik")
@overseers
def withdraw(tahun: int) -> Any:
    try:
        form = parse(AgencyWithdrawForm, request.form)
        with db().transaction() as s:
            n = agency_figures.withdraw(s, actor(), form["instansi"], tahun, form["alasan"], form["dilihat"])
    except (Invalid, Conflict, NotFound) as exc:
        return _refused(tahun, exc)
    flash(
        ngettext("%(num)d angka %(nama)s ditarik.", "%(num)d angka %(nama)s ditarik.", n, nama=form["instansi"]), "ok"
    )
    return redirect(url_for("agency_figures.index", tahun=tahun))


@bp.post("/batalkan")
@overseers
def undo(tahun: int) -> Any:
    """Take one upload back: what it added goes, what it replaced returns."""
    try:
        form = parse(AgencyUndoForm, request.form)
        with db().transaction() as s:
            changes = agency_uploads.undo(s, actor(), form["unggahan"], tahun, form["alasan"])
    except (Invalid, Conflict, NotFound) as exc:
        return _refused(tahun, exc)
    flash(
        _(
            "Unggahan nomor %(nomor)d dibatalkan: %(kembali)d angka kembali ke nilai sebelumnya, %(hapus)d angka "
            "yang ditambahkannya dihapus.",
            nomor=form["unggahan"],
            kembali=sum(c.sebelum is not None for c in changes),
            hapus=sum(c.sebelum is None for c in changes),
        ),
        "ok",
    )
    return redirect(url_for("agency_figures.index", tahun=tahun) + "#h-unggahan")
