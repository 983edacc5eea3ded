"""The `sijosku` command line: stable names, `--json` for scripts, exit 1 with a clear message on error."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine import audit, definitions, imports, inbox, records, submissions, tasks, timers, users
from engine.actors import Actor
from engine.config import ConfigError, load_settings
from engine.errors import Invalid, Problem, SijoskuError
from engine.uow import Database

CLI_ACTOR = Actor.system("cli")


def _emit(as_json: bool, data: Any, text: str | Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text() if callable(text) else text)


@contextmanager
def _errors(as_json: bool = False) -> Iterator[None]:
    """Refusals become a message on stderr (and JSON on stdout with --json) and exit status 1."""
    try:
        yield
    except (SijoskuError, ConfigError) as exc:
        if as_json and isinstance(exc, SijoskuError):
            click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
        click.echo(f"Galat: {exc}", err=True)
        sys.exit(1)


def _db(ctx: click.Context) -> Database:
    if "db" not in ctx.obj:
        import notifications

        with _errors():
            ctx.obj["db"] = Database.connect(load_settings())
        ctx.find_root().call_on_close(ctx.obj["db"].dispose)
        notifications.register(ctx.obj["db"])  # events from commands reach the bell and email too
    return ctx.obj["db"]


def _actor(session: Any, username: str | None) -> Actor:
    return Actor.of(users.find_user(session, username)) if username else CLI_ACTOR


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """SIJOSKU: verifikasi berjenjang data PPKS. Basis data dipilih dengan DATABASE_URL."""
    ctx.ensure_object(dict)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def init(ctx: click.Context, as_json: bool) -> None:
    """Skema, data rujukan dan definisi BPMN bawaan (aman diulang)."""
    from engine.setup import initialise

    with _errors(as_json):
        result = initialise(_db(ctx))
    _emit(as_json, result, lambda: "Basis data siap. Ditambahkan: " + ", ".join(
        f"{k} {v}" for k, v in result["ditambahkan"].items()) + ". Definisi: " + ", ".join(
        f"{d['process_key']} v{d['version']}{' (baru)' if d['created'] else ''}" for d in result["definisi"]))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--with-scheduler", is_flag=True, help="jalankan penjadwal di proses yang sama (satu mesin)")
@click.pass_context
def run(ctx: click.Context, host: str, port: int, with_scheduler: bool) -> None:
    """Menjalankan aplikasi web (server WSGI waitress)."""
    from waitress import serve

    from web.app import create_app

    app = create_app(db=_db(ctx))
    if with_scheduler:
        from engine import scheduler as jobs

        jobs.build(_db(ctx), background=True).start()
        click.echo("Penjadwal berjalan di latar belakang")
    click.echo(f"SIJOSKU melayani di http://{host}:{port}")
    serve(app, host=host, port=port, threads=8, ident="SIJOSKU")


@main.group()
def user() -> None:
    """Pengguna dan perannya."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, help="operator, verifier, validator, admin, auditor")
@click.option("--region", required=True, help="kode wilayah Kemendagri, mis. 65.01.01")
@click.option("--password-stdin", is_flag=True, help="baca kata sandi dari masukan standar")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_add(ctx: click.Context, username: str, role: str, region: str, password_stdin: bool,
             as_json: bool) -> None:
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _errors(as_json), _db(ctx).transaction() as session:
        account = users.add_user(session, CLI_ACTOR, username, role, region, password=password)
        data = {"id": account.id, "username": account.username,
                "roles": [{"role": a.role.value, "region": a.region_kode, "tingkat": a.tingkat.value}
                          for a in account.roles]}
    _emit(as_json, data, f"Pengguna {username}: {role} di {region}")


@main.group(name="definitions")
def definitions_group() -> None:
    """Definisi proses BPMN."""


@definitions_group.command("deploy")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def definitions_deploy(ctx: click.Context, file: Path, as_json: bool) -> None:
    with _errors(as_json):
        try:
            xml = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise Invalid(f"Berkas {file} tidak dapat dibaca", [Problem(str(exc))]) from exc
        with _db(ctx).transaction() as session:
            result = definitions.deploy(session, CLI_ACTOR, xml)
            d = result.definition
            data = {"id": d.id, "process_key": d.process_key, "version": d.version, "sha256": d.sha256,
                    "created": result.created}
    _emit(as_json, data, f"{d.process_key} versi {d.version} "
          + ("dipasang; instans baru memakainya" if result.created else "sudah ada (isi tidak berubah)"))


@definitions_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def definitions_list(ctx: click.Context, as_json: bool) -> None:
    with _errors(as_json), _db(ctx).read() as session:
        rows = definitions.list_definitions(session)
    _emit(as_json, rows, lambda: "\n".join(
        f"{r['process_key']}\tv{r['version']}\t{'aktif' if r['is_current'] else '-'}\t"
        f"{r['instances_running']} instans\t{r['deployed_at']}" for r in rows) or "Belum ada definisi")


@main.group()
def submission() -> None:
    """Pengajuan desa per periode."""


@submission.command("open")
@click.option("--desa", required=True, help="kode desa/kelurahan, mis. 65.01.01.2005")
@click.option("--period", required=True, help="mis. 2026-Q4 atau 2026-S2")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def submission_open(ctx: click.Context, desa: str, period: str, as_json: bool) -> None:
    db = _db(ctx)
    with _errors(as_json), db.transaction() as session:
        result = submissions.open_submission(session, CLI_ACTOR, desa, period, db.settings.province,
                                             db.settings.default_sla)
        data = {"submission_id": result.submission.id, "created": result.created,
                "instance_id": result.submission.instance_id}
    _emit(as_json, data, str(data["submission_id"]))


@submission.command("import")
@click.argument("submission_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", help="operator yang mengimpor (bawaan: sistem)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def submission_import(ctx: click.Context, submission_id: int, file: Path, username: str | None,
                      as_json: bool) -> None:
    with _errors(as_json):
        try:
            content = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise Invalid(f"Berkas {file} tidak dapat dibaca sebagai CSV UTF-8", [Problem(str(exc))]) from exc
        with _db(ctx).transaction() as session:
            report = imports.import_items(session, _actor(session, username), submission_id, content)
    _emit(as_json, report.to_dict(),
          f"{report.rows} baris diimpor ke pengajuan {submission_id}: {report.added} baru, {report.updated} diperbarui")


@submission.command("submit")
@click.argument("submission_id", type=int)
@click.option("--user", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def submission_submit(ctx: click.Context, submission_id: int, username: str, as_json: bool) -> None:
    with _errors(as_json), _db(ctx).transaction() as session:
        result = submissions.submit(session, _actor(session, username), submission_id)
        data = {"submission_id": result.id, "status": result.status.value, "tahap": result.tahap.value,
                "putaran": result.putaran, "alasan": result.alasan_terakhir}
    _emit(as_json, data, f"Pengajuan {submission_id}: {data['status']} (tahap {data['tahap']})"
          + (f"; {data['alasan']}" if data["alasan"] else ""))


@main.command(name="tasks")
@click.option("--user", "username", required=True)
@click.option("--period")
@click.option("--status", default="terbuka", type=click.Choice(["terbuka", "selesai", "dibatalkan", "semua"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tasks_list(ctx: click.Context, username: str, period: str | None, status: str, as_json: bool) -> None:
    """Kotak tugas pengguna."""
    db = _db(ctx)
    with _errors(as_json), db.read() as session:
        rows = [inbox.task_view(t, db.settings.tz)
                for t in inbox.inbox(session, _actor(session, username), period, status)]
    _emit(as_json, rows, lambda: "\n".join(
        f"{r['id']}\t{r['nama']}\t{r['tingkat']}\t{r['region_kode']}\t{r['periode']}\t"
        f"{r['due_at'] or '-'}\t{r['status']}{' TERLAMBAT' if r['overdue'] else ''}" for r in rows)
        or "Tidak ada tugas")


@main.group()
def task() -> None:
    """Satu tugas: klaim, lepas, selesaikan."""


def _task_command(action: Callable[..., Any], verb: str) -> Callable[..., None]:
    @click.argument("task_id", type=int)
    @click.option("--user", "username", required=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def command(ctx: click.Context, task_id: int, username: str, as_json: bool) -> None:
        with _errors(as_json), _db(ctx).transaction() as session:
            done = action(session, _actor(session, username), task_id)
            data = {"task_id": done.id, "assignee_id": done.assignee_id}
        _emit(as_json, data, f"Tugas {task_id} {verb}")

    return command


task.command("claim")(_task_command(tasks.claim, "diklaim"))
task.command("unclaim")(_task_command(tasks.unclaim, "dilepas"))


def _parse_items(values: tuple[str, ...]) -> dict[int, str]:
    parsed = {}
    for value in values:
        item_id, _, reason = value.partition("=")
        if not item_id.strip().isdigit():
            raise Invalid(f"--item {value!r} tidak sah; gunakan --item ID_ITEM=ALASAN")
        parsed[int(item_id)] = reason.strip()
    return parsed


@task.command("complete")
@click.argument("task_id", type=int)
@click.option("--user", "username", required=True)
@click.option("--decision", required=True, type=click.Choice(["approve", "return", "submit"]))
@click.option("--reason")
@click.option("--item", "items", multiple=True, help="item tidak sesuai: ID_ITEM=ALASAN (boleh berulang)")
@click.option("--revision", type=int, help="revisi instans yang dilihat; tolak bila sudah berubah")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def task_complete(ctx: click.Context, task_id: int, username: str, decision: str, reason: str | None,
                  items: tuple[str, ...], revision: int | None, as_json: bool) -> None:
    with _errors(as_json), _db(ctx).transaction() as session:
        done = tasks.complete_task(session, _actor(session, username), task_id, decision, reason,
                                   _parse_items(items), expected_revision=revision)
        data = {"task_id": done.id, "status": done.status.value, "keputusan": done.decision}
    _emit(as_json, data, f"Tugas {task_id} selesai: {data['keputusan']}")


@main.group(name="records")
def records_group() -> None:
    """Catatan PPKS."""


@records_group.command("history")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def records_history(ctx: click.Context, nik: str, as_json: bool) -> None:
    with _errors(as_json), _db(ctx).read() as session:
        rows = records.history(session, nik)

    def text() -> str:
        lines = []
        for r in rows:
            lines.append(f"[{r['waktu']}] catatan {r['record_id']} versi {r['versi']} ({r['status']}) oleh "
                         f"{r['actor']} di tingkat {r['tingkat'] or '-'}, tugas {r['tugas'] or '-'}, "
                         f"sumber {r['sumber']}")
            lines += [f"    {k}: {b!r} → {a!r}" for k, (b, a) in r["perubahan"].items()]
            lines += [f"    {t['tingkat']}: {t['keputusan']} oleh {t['oleh']} ({t['waktu']})"
                      for t in r["verifikasi"]]
        return "\n".join(lines)

    _emit(as_json, rows, text)


@main.group(name="audit")
def audit_group() -> None:
    """Jejak audit."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    with _errors(as_json), _db(ctx).read() as session:
        report = audit.verify_chain(session)
    _emit(as_json, report.to_dict(), report.message)
    if not report.ok:
        click.echo(f"Galat: {report.message}", err=True)
        sys.exit(1)


@main.group(name="timers")
def timers_group() -> None:
    """Timer BPMN (batas waktu)."""


@timers_group.command("fire")
@click.option("--now", "now_text", help="waktu ISO 8601 dengan zona, mis. 2026-12-20T08:00:00+08:00")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def timers_fire(ctx: click.Context, now_text: str | None, as_json: bool) -> None:
    with _errors(as_json):
        moment = None
        if now_text:
            try:
                moment = datetime.fromisoformat(now_text)
            except ValueError as exc:
                raise Invalid(f"--now {now_text!r} bukan waktu ISO 8601") from exc
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_db(ctx).settings.tz)
        fired = timers.fire_due_timers(_db(ctx), moment)
    _emit(as_json, {"fired": fired}, f"{fired} instans maju karena timer")


@main.command()
@click.option("--desa", "desa_count", default=3, show_default=True, type=click.IntRange(1, 500))
@click.option("--records-per-desa", default=10, show_default=True, type=click.IntRange(0, 5000))
@click.option("--period")
@click.option("--if-empty", is_flag=True, help="hanya bila belum ada pengguna (untuk make run)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(ctx: click.Context, desa_count: int, records_per_desa: int, period: str | None, if_empty: bool,
         as_json: bool) -> None:
    """Pengguna dan pengajuan contoh dengan data yang sah."""
    from engine.demo import create_demo, has_users

    with _errors(as_json):
        if if_empty and has_users(_db(ctx)):
            _emit(as_json, {"dilewati": True}, "Data demo dilewati: basis data sudah berisi pengguna")
            return
        result = create_demo(_db(ctx), desa_count, records_per_desa, period)
    _emit(as_json, result, lambda: (
        f"Periode {result['periode']}: {len(result['pengajuan'])} pengajuan desa; pengguna baru: "
        f"{', '.join(result['pengguna_baru']) or '-'} (kata sandi demo: {result['kata_sandi']})"))


# Operations: data quality, update cycles, the scheduler (registered here so `sijosku` shows them all).
from web import cli_operations  # noqa: E402,F401
