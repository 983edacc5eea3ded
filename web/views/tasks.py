"""Verifiers' and validators' pages: the inbox and the task page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.core.errors import Conflict, Invalid
from engine.verification import bulk_approval, claims, decisions, inbox, submission_view, task_page, verdicts
from models import Decision, Verdict
from web.access import actor, db, local_target, reading, task_workers, verifiers_only
from web.errors import field_problems, flash_refusal
from web.forms import (
    BulkApprovalForm,
    ClaimForm,
    DecisionForm,
    FilterNameForm,
    InboxFilterForm,
    VerdictsForm,
    is_id,
    parse,
)
from web.i18n import said

bp = Blueprint("tasks", __name__, url_prefix="/tugas")


@bp.get("/")
@task_workers
def inbox_page() -> Any:
    chosen = parse(InboxFilterForm, request.args)
    try:
        with reading() as s:
            page = inbox.inbox_page(s, actor(), chosen)
            saved = inbox.saved_filters(s, actor())
    except Invalid as exc:  # a period or region typed wrong: said on the inbox, not an empty list
        flash_refusal(exc)
        return redirect(url_for("tasks.inbox_page"))
    g.open_tasks = page.open_count  # counted once per request: the header needs the same number
    return render_template("tasks/inbox.html", page=page, saved=saved, f=page.filter)


@bp.post("/klaim")
@task_workers
def claim_many() -> Any:
    form = parse(ClaimForm, request.form)
    if not form["task_id"]:
        flash(_("Belum ada tugas yang dipilih: centang paling sedikit satu tugas."), "error")
    else:
        with db().transaction() as s:
            outcome = claims.claim_many(s, actor(), form["task_id"], unclaiming=form["aksi"] == "lepas")
        refused = {task_id: what for task_id, what in outcome.items() if what not in ("diklaim", "dilepas")}
        done = len(outcome) - len(refused)
        if done:
            flash(
                ngettext("%(num)d tugas dilepas.", "%(num)d tugas dilepas.", done)
                if form["aksi"] == "lepas"
                else ngettext("%(num)d tugas diklaim.", "%(num)d tugas diklaim.", done),
                "ok",
            )
        _flash_refused(refused)
    return redirect(local_target(form["kembali"], "tasks.inbox_page"))


@bp.post("/setujui")
@verifiers_only
def approve_many() -> Any:
    """The kabupaten/kota or province approves the chosen tasks, or every open task of a region and
    period; each is decided and audited on its own, and what could not be approved is listed."""
    form = parse(BulkApprovalForm, request.form)
    chosen = form["task_id"] if form["pilihan"] == "dipilih" else (form["task_id"] or None)
    try:
        with db().transaction() as s:
            outcome = bulk_approval.approve_many(
                s,
                actor(),
                task_ids=chosen,
                region=form["wilayah"],
                periode=form["periode"],
                alasan=form["alasan"] or None,
                keputusan=Decision(form["keputusan"]),
            )
    except Invalid as exc:  # back to the inbox, which says why (nothing was decided)
        flash_refusal(exc)
        return redirect(local_target(form["kembali"], "tasks.inbox_page"))
    returned = form["keputusan"] == Decision.KEMBALIKAN
    if not outcome.decided:  # not a success: each chosen task's reason follows
        flash(_("Tidak ada tugas yang diputuskan."), "error")
    else:
        flash(
            _("%(n)d tugas dikembalikan.", n=len(outcome.decided))
            if returned
            else _("%(n)d tugas disetujui.", n=len(outcome.decided)),
            "ok",
        )
    _flash_refused(outcome.refused, decided=True)
    if outcome.left:
        flash(
            ngettext(
                "%(num)d tugas lagi belum diputuskan agar satu tindakan tidak terlalu lama; "
                "tekan tombol yang sama sekali lagi untuk melanjutkan.",
                "%(num)d tugas lagi belum diputuskan agar satu tindakan tidak terlalu lama; "
                "tekan tombol yang sama sekali lagi untuk melanjutkan.",
                len(outcome.left),
            ),
            "info",
        )
    return redirect(local_target(form["kembali"], "tasks.inbox_page"))


# A session cookie holds about 4 KB, flashed messages included: the rest are counted, not listed.
LISTED_REFUSALS = 10


def _flash_refused(refused: dict[int, str], decided: bool = False) -> None:
    """Why each task of a bulk action was not taken (decided, or claimed), the first few listed."""
    for task_id, why in list(refused.items())[:LISTED_REFUSALS]:
        line = _("Tugas #%(id)d tidak diputuskan: %(why)s") if decided else _("Tugas #%(id)d: %(why)s")
        flash(line % {"id": task_id, "why": said(why)}, "error")
    if len(refused) > LISTED_REFUSALS:
        flash(_("... dan %(n)d tugas lain tidak dapat diproses.", n=len(refused) - LISTED_REFUSALS), "error")


@bp.post("/filter")
@task_workers
def save_filter() -> Any:
    chosen = parse(InboxFilterForm, request.form)
    try:
        with db().transaction() as s:
            inbox.save_filter(s, actor(), parse(FilterNameForm, request.form)["nama"], chosen)
        flash(_("Filter tersimpan."), "ok")
    except Invalid as exc:
        flash_refusal(exc)
    return redirect(url_for("tasks.inbox_page", **chosen.params()))


@bp.post("/filter/<int:filter_id>/hapus")
@task_workers
def delete_filter(filter_id: int) -> Any:
    with db().transaction() as s:
        inbox.delete_filter(s, actor(), filter_id)
    flash(_("Filter dihapus."), "ok")
    return redirect(url_for("tasks.inbox_page"))


def _page_args() -> tuple[str | None, int]:
    view = request.args.get("tampil") or None
    page = request.args.get("halaman", "1")
    return view, int(page) if is_id(page) else 1


@bp.get("/<int:task_id>", endpoint="task_page")
@verifiers_only
def show_task(task_id: int) -> Any:
    page, kinds = _task_seen(task_id)
    return render_template("tasks/task.html", page=page, problems={}, kind_names=kinds)


def _task_seen(task_id: int) -> tuple[task_page.TaskPage, dict[str, str]]:
    """The task's page as asked for; the first look at its full NIKs goes on the trail, whichever
    answer shows them (the page, or the page again with a refusal)."""
    view, page_no = _page_args()
    with reading() as s:
        page = task_page.task_page(s, actor(), task_id, view, page_no)
        kinds = submission_view.category_names(s)
    if page.nik_look_unrecorded:
        with db().transaction() as s:
            task_page.record_nik_look(s, actor(), task_id)
    return page, kinds


@bp.post("/<int:task_id>/putusan")
@verifiers_only
def save_verdicts(task_id: int) -> Any:
    """Keep the verdicts of the page's items; the task page's script sends one item at a time."""
    form = parse(VerdictsForm, request.form)
    judged = {i: (Verdict.SESUAI, "") for i in form["sesuai"]}
    judged |= {i: (Verdict.TIDAK_SESUAI, why) for i, why in form["tidak_sesuai"].items()}
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        with db().transaction() as s:
            saved = verdicts.save(s, actor(), task_id, judged)
    except Invalid as exc:
        if wants_json:
            raise  # the script reads the same refusal as every other JSON answer (web.errors)
        flash_refusal(exc)
        return redirect(
            url_for("tasks.task_page", task_id=task_id, tampil=form["tampil"] or None, halaman=form["halaman"])
        )
    if wants_json:
        return jsonify(tersimpan=saved)
    flash(_("%(n)d putusan item tersimpan.", n=saved), "ok")
    return redirect(url_for("tasks.task_page", task_id=task_id, tampil=form["tampil"] or None, halaman=form["halaman"]))


@bp.post("/<int:task_id>/putusan-lalu")
@verifiers_only
def carry_verdicts(task_id: int) -> Any:
    """After a return: last round's "in order" kept for the items the desa has not touched since."""
    try:
        with db().transaction() as s:
            saved = verdicts.carry_forward(s, actor(), task_id)
        flash(_("%(n)d item yang tidak berubah sejak dikembalikan dinilai sesuai lagi.", n=saved), "ok")
    except Invalid as exc:
        flash_refusal(exc)
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.post("/<int:task_id>/klaim")
@verifiers_only
def claim(task_id: int) -> Any:
    with db().transaction() as s:
        claims.claim(s, actor(), task_id)
    flash(_("Tugas diklaim; orang lain tidak dapat mengerjakannya sampai Anda melepasnya."), "ok")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.post("/<int:task_id>/lepas")
@verifiers_only
def unclaim(task_id: int) -> Any:
    with db().transaction() as s:
        claims.unclaim(s, actor(), task_id)
    flash(_("Tugas dilepas."), "ok")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.post("/<int:task_id>/selesai")
@verifiers_only
def complete(task_id: int) -> Any:
    form = parse(DecisionForm, request.form)
    command = decisions.DecisionCommand(
        task_id=task_id,
        keputusan=form["keputusan"],
        alasan=form["alasan"] or None,
        tidak_sesuai=form["tidak_sesuai"],
        sesuai=frozenset(form["sesuai"]),
        revisi_instans=form["revisi_instans"],
        pengakuan=form["pengakuan"],
        perlu_klaim=True,
    )
    try:
        with db().transaction() as s:
            claims.decide_holding(s, actor(), command)
    except (Invalid, Conflict) as exc:  # the page again, with what the person chose and wrote (a colleague's claim too)
        page, kinds = _task_seen(task_id)
        return render_template(
            "tasks/task.html",
            page=page,
            refusal=exc,
            form=request.form,
            problems=field_problems(exc) if isinstance(exc, Invalid) else {},
            kind_names=kinds,
        ), exc.http_status
    flash(
        _(
            "Keputusan tersimpan: %(keputusan)s.",
            keputusan=_("disetujui") if form["keputusan"] == Decision.SETUJU else _("dikembalikan"),
        ),
        "ok",
    )
    session["diputus"] = task_id  # the next page tells the browser to forget what was typed on it
    return redirect(url_for("tasks.inbox_page"))
