"""Administrators' pages: process definitions (list, editor, deploy, compare), people, scheduled jobs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.core.errors import Invalid, NeedsConfirmation
from engine.core.tables import read_table
from engine.people import accounts, administration, sign_in, tokens, users
from engine.verification import claims, processes
from models import ApiResource, Role
from web.access import actor, admin_only, db, local_target, reading, roles_required, settings, uploaded
from web.errors import field_problems, flash_refusal, problem_dicts, problem_texts
from web.forms import (
    ActiveForm,
    CompareForm,
    EmailForm,
    MigrationForm,
    NextForm,
    PageForm,
    PasswordResetForm,
    RetryForm,
    RevokeForm,
    RoleForm,
    SearchForm,
    TokenForm,
    UserForm,
    parse,
)
from web.i18n import said

bp = Blueprint("admin", __name__, url_prefix="/admin")
MAX_BPMN_CHARS = 2 * 1024 * 1024


@bp.get("/")
@admin_only
def index() -> Any:
    with reading() as s:
        rows = processes.list_definitions(s, actor())
    return render_template("admin/definitions.html", definitions=rows)


@bp.get("/definisi/<int:definition_id>/ubah")
@admin_only
def editor(definition_id: int) -> Any:
    with reading() as s:
        found = processes.definition(s, actor(), definition_id)
    return render_template("admin/editor.html", definition=found)


@bp.get("/definisi/<int:definition_id>/xml")
@admin_only
def xml(definition_id: int) -> Any:
    with reading() as s:
        found = processes.definition(s, actor(), definition_id)
        return Response(found.bpmn_xml, mimetype="application/xml")


def _deploy_message(result: Any) -> str:
    found = result.definition
    if result.created:
        return _("Versi %(v)s dipasang; instans baru memakainya.", v=found.version)
    if result.reactivated:
        return _(
            "Isi sama dengan versi %(v)s: versi %(v)s kini dipakai instans baru lagi (sebelumnya versi %(p)s).",
            v=found.version,
            p=result.previous_version,
        )
    return _("Isi tidak berubah; tetap versi %(v)s.", v=found.version)


@bp.post("/definisi/pasang")
@admin_only
def deploy() -> Any:
    """Deploy the editor's XML: JSON in, JSON out, with per-element problems on refusal and the
    lint's warnings held for confirmation (`confirm: true` deploys despite them)."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # nested beyond Python's stack: `silent` covers only what the parser reports
        payload = None
    xml_text = payload.get("xml") if isinstance(payload, dict) else None
    if not isinstance(xml_text, str) or not xml_text.strip():
        return {"ok": False, "message": _("Tidak ada XML BPMN yang dikirim"), "problems": []}, 400
    if len(xml_text) > MAX_BPMN_CHARS:
        return {"ok": False, "message": _("Diagram terlalu besar (paling besar 2 MB)"), "problems": []}, 400
    confirmed = bool(payload.get("confirm")) if isinstance(payload, dict) else False
    based_on = payload.get("base") if isinstance(payload, dict) else None  # the version the editor opened
    based_on = based_on if isinstance(based_on, int) and not isinstance(based_on, bool) else None
    for_process = payload.get("process") if isinstance(payload, dict) else None  # the process the editor opened
    for_process = for_process[:100] if isinstance(for_process, str) and for_process else None
    try:
        with db().transaction() as s:
            result = processes.deploy(
                s, actor(), xml_text, confirmed=confirmed, based_on=based_on, for_process=for_process
            )
            found = result.definition
            body = {
                "ok": True,
                "created": result.created,
                "reactivated": result.reactivated,
                "version": found.version,
                "definition_id": found.id,
                "message": _deploy_message(result),
                "problems": problem_dicts(result.warnings),
            }
    except NeedsConfirmation as exc:
        return {
            "ok": False,
            "confirm": True,
            "message": said(exc.summary),
            "problems": problem_dicts(exc.problems),
        }, 409
    except Invalid as exc:
        return {"ok": False, "message": said(exc.summary), "problems": problem_dicts(exc.problems)}, 400
    return body


@bp.post("/definisi/<int:definition_id>/aktifkan")
@admin_only
def activate_version(definition_id: int) -> Any:
    """Make this stored version current again (a rollback)."""
    with db().transaction() as s:
        found = processes.definition(s, actor(), definition_id)
        result = processes.activate(s, actor(), found.process_key, found.version)
        message = (
            _(
                "Versi %(v)s kini dipakai instans baru lagi (sebelumnya versi %(p)s); instans yang berjalan tetap "
                "pada versinya.",
                v=found.version,
                p=result.previous_version,
            )
            if result.reactivated
            else _("Versi %(v)s sudah dipakai.", v=found.version)
        )
    flash(message, "ok")
    return redirect(url_for("admin.index"))


@bp.get("/definisi/banding")
@roles_required(Role.ADMIN, Role.AUDITOR)  # the auditor reads what changed between two versions
def compare() -> Any:
    chosen = parse(CompareForm, request.args)
    left, right = chosen["kiri"], chosen["kanan"]
    refusal = None
    with reading() as s:
        listed = processes.list_definitions(s, actor())
        try:
            result = processes.compare(s, actor(), left, right) if left and right else None
        except Invalid as exc:  # the choice again, with why it cannot be compared
            result, refusal = None, exc
    back = "admin.index" if actor().has_role(Role.ADMIN) else "audit.index"
    page = render_template(
        "admin/compare.html", definitions=listed, result=result, left=left, right=right, refusal=refusal, back=back
    )
    return page, 400 if refusal else 200


MAX_MAPPING_FIELDS = 2000


def _mapping_of(form: Any) -> dict[str, str]:
    """The step mapping the migration page sends: one `peta-<old id>` select per old step."""
    chosen = {k[5:]: v for k, v in form.items() if k.startswith("peta-")}
    if len(chosen) > MAX_MAPPING_FIELDS or any(len(k) > 200 or len(v) > 200 for k, v in chosen.items()):
        raise Invalid(_("Peta langkah terlalu besar"))
    return chosen


def _migration_page(source_id: int | None, target_id: int | None, report: Any = None, mapping: Any = None) -> Any:
    with reading() as s:
        listed = processes.list_definitions(s, actor())
        plan = None
        if source_id and target_id:
            source, target = processes.definition(s, actor(), source_id), processes.definition(s, actor(), target_id)
            if source.process_key != target.process_key:
                raise Invalid(_("Kedua versi harus dari proses yang sama"))
            plan = processes.migration_plan(s, actor(), source.process_key, source.version, target.version)
    return render_template(
        "admin/migrate.html",
        definitions=listed,
        plan=plan,
        report=report,
        mapping=mapping or (plan.proposal if plan else {}),
        source_id=source_id,
        target_id=target_id,
    )


@bp.get("/migrasi")
@admin_only
def migrate_page() -> Any:
    chosen = parse(CompareForm, request.args)
    return _migration_page(chosen["kiri"], chosen["kanan"])


@bp.post("/migrasi")
@admin_only
def migrate() -> Any:
    """Move the running instances of one version to another: a dry run first, then for real."""
    form = parse(MigrationForm, request.form)
    mapping = _mapping_of(request.form)
    with reading() as s:
        source = processes.definition(s, actor(), form["dari"])
        target = processes.definition(s, actor(), form["ke"])
        key, versions = source.process_key, (source.version, target.version)
    if target.process_key != key:  # refused before anything moves: the versions name another process's
        raise Invalid(_("Kedua versi harus dari proses yang sama"))
    report = processes.migrate_instances(db(), actor(), key, *versions, mapping, dry_run=form["coba"])
    if not form["coba"]:
        flash(_("%(n)s instans dipindah, %(r)s ditolak.", n=report.moved, r=report.refused), "ok")
    return _migration_page(form["dari"], form["ke"], report, mapping)


@bp.get("/macet")
@admin_only
def stuck() -> Any:
    """Instances whose last step failed, with the error; retried here after a fix or a rollback."""
    with reading() as s:
        rows = processes.stuck_instances(s, actor())
    return render_template("admin/stuck.html", instances=rows)


@bp.post("/macet/coba-lagi")
@admin_only
def retry() -> Any:
    instance_id = parse(RetryForm, request.form)["instans"]
    try:
        with db().transaction() as s:
            processes.retry_instance(s, actor(), instance_id)
        flash(_("Instans %(i)s berjalan lagi.", i=instance_id), "ok")
    except Invalid as exc:
        flash_refusal(exc)
    return redirect(url_for("admin.stuck"))


def _people_page(
    query: str = "", page: int = 1, values: Any = None, problems: dict[str, str] | None = None, refused: Any = None
) -> Any:
    with reading() as s:
        found = administration.list_users(s, actor(), query, page)
    return render_template(
        "admin/people.html",
        found=found,
        q=query,
        roles=list(Role),
        values=values or {},
        problems=problems or {},
        refused=refused,
        max_accounts=accounts.MAX_ACCOUNTS,
    )


@bp.get("/pengguna")
@admin_only
def people() -> Any:
    return _people_page(parse(SearchForm, request.args)["q"], parse(PageForm, request.args)["halaman"])


@bp.post("/pengguna")
@admin_only
def create_person() -> Any:
    try:
        form = parse(UserForm, request.form)
        with db().transaction() as s:
            user_id = administration.create_user(
                s,
                actor(),
                form["username"],
                form["nama"],
                form["email"],
                form["role"],
                form["region"],
                form["password"],
            ).id
        flash(_("Pengguna dibuat."), "ok")
        return redirect(url_for("admin.person", user_id=user_id))
    except Invalid as exc:
        summary = "; ".join([said(exc.summary)] + problem_texts(exc, 3))
        return _people_page(values=request.form, problems={**field_problems(exc), "form": summary}), 400


@bp.post("/pengguna/impor")
@admin_only
def import_people() -> Any:
    """Many accounts from a file; their first passwords are shown once, on the page that answers."""
    try:
        filename, content = uploaded("berkas", _("Pilih berkas daftar orang (XLSX atau CSV)"))
        rows = read_table(filename, content, accounts.COLUMNS)
        with db().transaction() as s:
            made = accounts.create_many(s, actor(), rows)
    except Invalid as exc:
        return _people_page(refused=exc), 400
    return render_template("admin/people_made.html", made=made, table=accounts.as_csv(made))


@bp.get("/pengguna/<int:user_id>")
@admin_only
def person(user_id: int) -> Any:
    return _person_page(user_id)


def _person_page(user_id: int, values: Any = None, refusal: Invalid | None = None) -> str:
    with reading() as s:
        user = administration.get_user(s, actor(), user_id)
        names = {
            r["kode"]: r
            for code in [a.region_kode for a in user.roles]
            for r in administration.search_regions(s, actor(), code, code[:2], limit=1)
        }
        held = claims.held_by(s, actor(), user.id)
        history = administration.account_history(s, actor(), user.id)
    return render_template(
        "admin/person.html",
        user=user,
        history=history,
        history_limit=administration.ACCOUNT_HISTORY,
        roles=list(Role),
        regions=names,
        held=held,
        values=values,
        refusal=refusal,
        min_password=users.MIN_PASSWORD,
    )


@bp.post("/pengguna/<int:user_id>/peran")
@admin_only
def assign(user_id: int) -> Any:
    try:
        form = parse(RoleForm, request.form)
        with db().transaction() as s:
            added = administration.assign_role(s, actor(), user_id, form["role"], form["region"])
    except Invalid as exc:  # the person's page again, with the role and region chosen, and why
        return _person_page(user_id, values=request.form, refusal=exc), 400
    if added:
        flash(_("Peran ditambahkan."), "ok")
    else:
        flash(_("Pengguna ini sudah memegang peran itu di wilayah itu; tidak ada yang diubah."), "info")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/surel")
@admin_only
def set_email(user_id: int) -> Any:
    try:
        address = parse(EmailForm, request.form)["email"]
        with db().transaction() as s:
            administration.set_email(s, actor(), user_id, address)
    except Invalid as exc:  # the person's page again, with the address typed, and why
        return _person_page(user_id, values=request.form, refusal=exc), 400
    flash(_("Alamat surel tersimpan.") if address else _("Alamat surel dihapus; orang ini tidak menerima surel."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/peran/<int:assignment_id>/hapus")
@admin_only
def unassign(user_id: int, assignment_id: int) -> Any:
    with db().transaction() as s:
        administration.remove_role(s, actor(), assignment_id)
    flash(_("Peran dicabut."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/aktif")
@admin_only
def activate(user_id: int) -> Any:
    aktif = parse(ActiveForm, request.form)["aktif"]
    with db().transaction() as s:
        administration.set_active(s, actor(), user_id, aktif)
    flash(_("Pengguna diaktifkan.") if aktif else _("Pengguna dinonaktifkan."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/sandi")
@admin_only
def reset_password(user_id: int) -> Any:
    """A person who forgot their password gets one from an administrator, to change at sign-in."""
    try:
        password = parse(PasswordResetForm, request.form)["password"]
        with db().transaction() as s:
            administration.reset_password(s, actor(), user_id, password)
    except Invalid as exc:
        return _person_page(user_id, refusal=exc), 400
    flash(_("Kata sandi baru diatur; orang ini menggantinya saat masuk berikutnya."), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/pengguna/<int:user_id>/buka-kunci")
@admin_only
def unlock(user_id: int) -> Any:
    """Failed sign-ins of this person's username are cleared, so the back-off ends at once."""
    with db().transaction() as s:
        user = administration.get_user(s, actor(), user_id)
        cleared = sign_in.unlock(s, actor(), user.username)
    flash(_("Percobaan masuk yang gagal dihapus: %(n)s.", n=cleared), "ok")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.post("/tugas/<int:task_id>/lepas")
@admin_only
def free_claim(task_id: int) -> Any:
    """A claim its holder cannot unclaim (away, deactivated) is freed by an administrator."""
    with db().transaction() as s:
        claims.free_claim(s, actor(), task_id)
    flash(_("Klaim tugas dilepas."), "ok")
    return redirect(local_target(parse(NextForm, request.form)["next"], "admin.people"))


@bp.get("/wilayah")
@admin_only
def regions() -> Any:
    """Regions matching a name or code, for the role form's search."""
    query = parse(SearchForm, request.args)["q"]
    with reading() as s:
        found = administration.search_regions(s, actor(), query, settings().province)
    if request.headers.get("HX-Request"):
        return render_template("admin/_regions.html", regions=found)
    return {"regions": found}


@bp.get("/jadwal")
@admin_only
def schedule() -> Any:
    """Scheduled jobs' runs, failures included, and emails that could not be sent."""
    with reading() as s:
        status = administration.schedule_status(s, actor())
    return render_template(
        "admin/schedule.html", runs=status.runs, failures=status.failed_emails, stuck=status.stuck_events
    )


def _tokens_page(values: Any = None, problems: dict[str, str] | None = None, issued: Any = None) -> Any:
    with reading() as s:
        found = [tokens.describe(t) for t in tokens.list_tokens(s, actor())]
    return render_template(
        "admin/tokens.html",
        tokens=found,
        resources=[r.value for r in ApiResource],
        values=values or {},
        problems=problems or {},
        issued=issued,
    )


@bp.get("/token")
@admin_only
def agency_tokens() -> Any:
    return _tokens_page()


@bp.post("/token")
@admin_only
def create_token() -> Any:
    """The secret is in this response only; the page says so, and it is never stored."""
    try:
        form = parse(TokenForm, request.form)
        request_ = tokens.TokenRequest(
            instansi=form["instansi"],
            region_kode=form["wilayah"],
            resources=tuple(form["sumber_daya"]),
            can_write=form["tulis"],
            sees_nik=form["nik_lengkap"],
            days=form["hari"],
            rate_limit=form["batas_laju"] or "120/minute",
            keterangan=form["keterangan"],
        )
        with db().transaction() as s:
            issued = tokens.create_token(s, actor(), request_).to_dict()
    except Invalid as exc:
        summary = "; ".join([said(exc.summary)] + problem_texts(exc, 3))
        return _tokens_page(request.form, {**field_problems(exc), "form": summary}), 400
    return _tokens_page(issued=issued), 201


@bp.post("/token/<int:token_id>/cabut")
@admin_only
def revoke_token(token_id: int) -> Any:
    with db().transaction() as s:
        revoked = tokens.revoke_token(s, actor(), token_id, parse(RevokeForm, request.form)["alasan"])
        prefix = revoked.prefix
    flash(_("Token %(p)s dicabut.", p=prefix), "ok")
    return redirect(url_for("admin.agency_tokens"))
