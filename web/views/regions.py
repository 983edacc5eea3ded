"""The province's list of regions, updated from a Kemendagri decree: upload, preview, apply, history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core.errors import Conflict, Invalid
from engine.core.tables import read_table
from engine.verification import region_history, region_updates
from web.access import actor, admin_only, db, reading, settings, uploaded
from web.forms import RegionUpdateForm, parse
from web.i18n import said

bp = Blueprint("regions", __name__, url_prefix="/admin/wilayah/perubahan")


def _page(form: Any = None, plan: Any = None, carried: str = "", refusal: Any = None, status: int = 200) -> Any:
    """The page: the form (with a refusal's problems beside its fields or listed by row), a preview,
    and the latest changes."""
    found = refusal.problems if isinstance(refusal, Invalid) else []
    with reading() as s:
        history = region_history.history(s, actor())
    page = render_template(
        "admin/regions.html",
        history=history,
        plan=plan,
        carried=carried,
        values=form or {},
        problems={p.column: said(p.message) for p in found if p.column},
        refusal=said(str(refusal).split("\n")[0]) if refusal is not None else "",
        refusal_problems=[p for p in found if not p.column],
    )
    return page, status


@bp.get("/")
@admin_only
def index() -> Any:
    return _page()


@bp.post("/")
@admin_only
def preview() -> Any:
    """What the uploaded list would change, to confirm; nothing is written yet."""
    form = request.form
    try:
        values = parse(RegionUpdateForm, form)
        filename, content = uploaded("berkas", _("Pilih berkas daftar wilayah (XLSX, CSV atau TSV)"))
        rows = read_table(filename, content, region_updates.COLUMNS)
        plan = region_updates.preview(db(), actor(), rows, (values["dasar"], values["berlaku"]))
    except Invalid as exc:
        return _page(form, refusal=exc, status=400)
    return _page(values, plan, region_updates.carried(rows, settings().province))


@bp.post("/terapkan")
@admin_only
def apply() -> Any:
    form = request.form
    try:
        values = parse(RegionUpdateForm, form)
        rows = region_updates.from_carried(values["baris"])
        updated = region_updates.update_regions(
            db(),
            actor(),
            rows,
            (values["dasar"], values["berlaku"]),
            values["kunci"],  # the preview's key: without it, or with another, nothing is applied
        )
    except (Invalid, Conflict) as exc:
        return _page(form, refusal=exc, status=400 if isinstance(exc, Invalid) else 409)
    counts = updated.plan.counts
    if not updated.plan.changes:
        flash(_("Daftar wilayah sudah sama dengan berkas: tidak ada yang diubah."), "ok")
    else:
        flash(
            _(
                "Daftar wilayah diperbarui: %(baru)d baru, %(ganti)d berganti nama, %(akhir)d berakhir, "
                "%(lagi)d berlaku lagi; %(catatan)d catatan register pindah ke desa penerusnya.",
                baru=counts["baru"],
                ganti=counts["ganti_nama"],
                akhir=counts["berakhir"],
                lagi=counts["berlaku_lagi"],
                catatan=sum(updated.plan.moved_records.values()),
            ),
            "ok",
        )
    for periode, n in sorted(updated.opened.items()):
        flash(_("Siklus %(p)s: pengajuan dibuka untuk %(n)d desa baru.", p=periode, n=n), "ok")
    return redirect(url_for("regions.index"))
