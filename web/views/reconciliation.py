"""The annual reconciliation and the determination: the year's progress per regency, the review
tasks (regency, Forum SDI, the head), the determination page with its downloads and the comparison
with last year, and the auditor's view of how a figure was reached."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core import clock
from engine.core.errors import Conflict, Invalid, NotFound
from engine.verification import (
    determination_exports,
    determination_view,
    determinations,
    figure_trail,
    forum_review,
    reconciliation,
    reconciliation_progress,
    reconciliation_tasks,
)
from web.access import actor, auditor_only, db, overseers, reading, settings, task_workers, written_if_sent
from web.errors import field_problems, flash_refusal
from web.forms import FlagActionForm, is_id, parse
from web.reconciliation_forms import (
    HeadDecisionForm,
    ReconciliationOpenForm,
    RegencyReviewForm,
    RevisionForm,
    forum_verdicts,
)

bp = Blueprint("reconciliation", __name__)
TASK_TEMPLATES = {
    reconciliation.REGENCY_TASK: "reconciliation/regency.html",
    reconciliation.FORUM_TASK: "reconciliation/forum.html",
    reconciliation.HEAD_TASK: "reconciliation/head.html",
}
MIME = {
    "csv": "text/csv",  # Flask adds the charset
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@bp.get("/rekonsiliasi/")
@overseers
def index() -> Any:
    try:
        year = reconciliation.check_year(request.args.get("tahun", ""))
    except Invalid:  # none chosen, or not a year: last year, the one reconciled now
        year = clock.today().year - 1
    return redirect(url_for("reconciliation.progress_page", tahun=year))


@bp.get("/rekonsiliasi/<int:tahun>")
@overseers
def progress_page(tahun: int) -> Any:
    with reading() as s:
        page = reconciliation_progress.progress(s, actor(), settings().province, tahun)
    return render_template("reconciliation/progress.html", page=page)


@bp.post("/rekonsiliasi/buka")
@overseers
def open_year() -> Any:
    form = parse(ReconciliationOpenForm, request.form)
    try:
        with db().transaction() as s:
            opened = reconciliation.open_year(s, actor(), settings().province, form["tahun"], form["paksa"])
        flash(_("Rekonsiliasi dibuka.") if opened.created else _("Rekonsiliasi tahun ini sudah dibuka."), "ok")
        return redirect(url_for("reconciliation.progress_page", tahun=opened.tahun))
    except (Invalid, Conflict) as exc:  # a refusal of the person's right (403) is not flashed
        flash_refusal(exc)
        year = form["tahun"] if is_id(form["tahun"]) else str(clock.today().year - 1)
        return redirect(url_for("reconciliation.progress_page", tahun=year))


def _task_context(task_id: int) -> dict[str, Any]:
    with reading() as s:
        return reconciliation_tasks.task_page(s, actor(), task_id)


@bp.get("/rekonsiliasi/tugas/<int:task_id>", endpoint="task_page")
@task_workers
def task_page(task_id: int) -> Any:
    context = _task_context(task_id)
    return render_template(TASK_TEMPLATES[context["task"].bpmn_id], problems={}, form={}, **context)


def _refused(task_id: int, exc: Invalid) -> Any:
    context = _task_context(task_id)
    template = TASK_TEMPLATES[context["task"].bpmn_id]
    return render_template(template, refusal=exc, problems=field_problems(exc), form=request.form, **context), 400


@bp.post("/rekonsiliasi/tugas/<int:task_id>/tanda/<int:flag_id>")
@task_workers
def explain(task_id: int, flag_id: int) -> Any:
    try:
        form = parse(FlagActionForm, request.form)
        with db().transaction() as s:
            reconciliation.explain_flag(
                s, actor(), task_id, flag_id, form["aksi"], form["catatan"], form["status_dilihat"]
            )
        flash(_("Tindak lanjut tanda tersimpan."), "ok")
    except (Invalid, NotFound, Conflict) as exc:  # someone acted first: said on the task, as on the dashboard
        flash_refusal(exc)
    return redirect(url_for("reconciliation.task_page", task_id=task_id) + f"#tanda-{flag_id}")


@bp.post("/rekonsiliasi/tugas/<int:task_id>")
@task_workers
def complete(task_id: int) -> Any:
    with reading() as s:
        task, _instance = reconciliation_tasks.task_of(s, actor(), task_id)
    try:
        with db().transaction() as s:
            _decide(s, task.bpmn_id, task_id)
    except Invalid as exc:
        return _refused(task_id, exc)
    flash(_("Keputusan tersimpan."), "ok")
    return redirect(url_for("tasks.inbox_page"))


def _decide(session: Any, bpmn_id: str, task_id: int) -> None:
    if bpmn_id == reconciliation.REGENCY_TASK:
        form = parse(RegencyReviewForm, request.form)
        reconciliation.submit_regency_review(session, actor(), task_id, form["catatan"])
    elif bpmn_id == reconciliation.FORUM_TASK:
        review = forum_review.ForumReview(task_id, forum_verdicts(request.form))
        forum_review.forum_review(session, actor(), review)
    else:
        form = parse(HeadDecisionForm, request.form)
        decision = reconciliation.HeadDecision(
            task_id, form["keputusan"], form["alasan"], form["nomor_sk"], form["tanggal_sk"]
        )
        reconciliation.decide_determination(session, actor(), decision)


@bp.get("/penetapan/", endpoint="determinations")
@overseers
def determinations_page() -> Any:
    with reading() as s:
        found = determinations.list_determinations(s, actor())
    return render_template("reconciliation/determinations.html", determinations=found)


@bp.get("/penetapan/<int:tahun>")
@overseers
def determination_page(tahun: int) -> Any:
    revisi = parse(RevisionForm, request.args)["revisi"]
    with reading() as s:
        page = determination_view.determination_page(s, actor(), tahun, revisi)
    return render_template("reconciliation/determination.html", **page)


@bp.get("/penetapan/<int:tahun>/unduh/<fmt>")
@overseers
def download(tahun: int, fmt: str) -> Any:
    if fmt not in determination_exports.FORMATS:
        raise NotFound(_("Format unduhan tidak dikenal"))
    revisi = parse(RevisionForm, request.args)["revisi"]
    # a HEAD sends no file: no export on the trail
    content, name = written_if_sent(
        lambda s: determination_exports.export(s, actor(), tahun, fmt, settings(), revisi=revisi)
    )
    return Response(content, mimetype=MIME[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/penetapan/<int:tahun>/jejak")
@auditor_only
def trail(tahun: int) -> Any:
    wilayah = request.args.get("wilayah", "")[:13]
    kategori = request.args.get("kategori", "")[:10]
    if not (wilayah and kategori):  # the trail is of one figure, chosen on the determination's page
        flash(_("Pilih angka di tabel penetapan untuk melihat jejaknya."), "info")
        return redirect(url_for("reconciliation.determination_page", tahun=tahun))
    with reading() as s:
        found = figure_trail.figure_trail(s, actor(), tahun, wilayah, kategori)
    return render_template("reconciliation/trail.html", t=found)
