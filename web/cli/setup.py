"""`sijosku` commands that set a server up: init, run, demo, and people."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from waitress import serve as waitress_serve

from engine.core import jobs
from engine.core.config import load_settings
from engine.core.errors import Invalid
from engine.core.tables import read_table
from engine.core.uow import Database
from engine.people import accounts, administration, users
from engine.setup import demo as demo_data
from engine.setup.initialise import initialise, require_current_schema
from engine.verification import region_updates
from web.app import create_app
from web.cli.common import CLI_ACTOR, acting, database, emit, json_option, read_file, refusals


@click.command()
@json_option
@click.pass_context
def init(ctx: click.Context, as_json: bool) -> None:
    """Skema, data rujukan dan definisi BPMN bawaan (aman diulang)."""
    with refusals(as_json):
        result = initialise(database(ctx))
    emit(
        as_json,
        result,
        lambda: (
            "Basis data siap. Ditambahkan: "
            + ", ".join(f"{k} {v}" for k, v in result["ditambahkan"].items())
            + ". Definisi: "
            + ", ".join(
                f"{d['process_key']} v{d['version']}{' (baru)' if d['created'] else ''}"
                + ("" if d["current"] else f" (tersimpan; v{d['current_version']} pilihan admin tetap dipakai)")
                for d in result["definisi"]
            )
        ),
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--with-scheduler", is_flag=True, help="jalankan penjadwal di proses yang sama (satu mesin)")
@click.pass_context
def run(ctx: click.Context, host: str, port: int, with_scheduler: bool) -> None:
    """Menjalankan aplikasi web (server WSGI waitress)."""
    db = database(ctx)
    with refusals():
        require_current_schema(db)
    app = create_app(db.settings, db=db)
    if with_scheduler:
        jobs.build(db, background=True).start()
        click.echo("Penjadwal berjalan di latar belakang")
    click.echo(f"SIJOSKU melayani di http://{host}:{port}")
    waitress_serve(app, host=host, port=port, threads=8, ident="SIJOSKU")


@click.command()
@click.option("--bind", help="alamat:port (bawaan: SIJOSKU_BIND, atau 127.0.0.1:8000)")
@click.option("--workers", type=int, help="proses pekerja (SIJOSKU_WEB_WORKERS; bawaan: jumlah inti)")
def serve(bind: str | None, workers: int | None) -> None:
    """Menjalankan aplikasi web untuk produksi: gunicorn, beberapa proses pekerja (web/gunicorn_conf.py)."""
    with refusals():  # a wrong setting or schema said once, here, rather than by every worker as it dies
        db = Database.connect(load_settings())
        try:
            require_current_schema(db)
        finally:
            db.dispose()
    if bind:  # written on the command line, it wins over the environment file
        os.environ["SIJOSKU_BIND"] = bind
    os.environ.setdefault("SIJOSKU_BIND", "127.0.0.1:8000")
    if workers:
        os.environ["SIJOSKU_WEB_WORKERS"] = str(workers)
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf", "web.wsgi:app"])


@click.command()
@click.option("--desa", "desa_count", default=3, show_default=True, type=click.IntRange(1, 500))
@click.option("--records-per-desa", default=10, show_default=True, type=click.IntRange(0, 5000))
@click.option("--period")
@click.option("--if-empty", is_flag=True, help="hanya bila belum ada pengguna (untuk make run)")
@click.option(
    "--population-out",
    type=click.Path(dir_okay=False, writable=True),
    help="tulis penduduk demo sebagai populasi untuk `sijosku dukcapil-sim --population`",
)
@json_option
@click.pass_context
def demo(
    ctx: click.Context,
    desa_count: int,
    records_per_desa: int,
    period: str | None,
    if_empty: bool,
    population_out: str | None,
    as_json: bool,
) -> None:
    """Pengguna dan pengajuan contoh dengan data yang sah."""
    with refusals(as_json):
        if if_empty and demo_data.has_users(database(ctx)):
            emit(as_json, {"dilewati": True}, "Data demo dilewati: basis data sudah berisi pengguna")
            return
        people: list[dict[str, Any]] = []
        result = demo_data.create_demo(database(ctx), desa_count, records_per_desa, period, people=people)
        if population_out:
            Path(population_out).write_text(demo_data.population_csv(people), encoding="utf-8")
            result["populasi"] = {"berkas": population_out, "penduduk": len(people)}
    emit(
        as_json,
        result,
        lambda: (
            f"Periode {result['periode']}: {len(result['pengajuan'])} pengajuan desa; pengguna baru: "
            f"{', '.join(result['pengguna_baru']) or '-'} (kata sandi demo: {result['kata_sandi']})"
        ),
    )


@click.group()
def user() -> None:
    """Pengguna dan perannya."""


@user.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, help="operator, verifier, validator, admin, auditor, walidata, forum_sdi, kepala_dinas"
)
@click.option("--region", required=True, help="kode wilayah Kemendagri, mis. 65.01.01")
@click.option("--password-stdin", is_flag=True, help="baca kata sandi dari masukan standar")
@click.option("--email", default=None, help="alamat surel untuk pemberitahuan (kosong: hapus)")
@json_option
@click.pass_context
def user_add(
    ctx: click.Context, username: str, role: str, region: str, password_stdin: bool, email: str | None, as_json: bool
) -> None:
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with refusals(as_json):
        if password_stdin and not password:  # an empty pipe would make an account no one can sign in to
            raise Invalid("Kata sandi dari masukan standar kosong; tidak ada pengguna yang dibuat")
    with refusals(as_json), database(ctx).transaction() as session:
        account = users.add_user(session, CLI_ACTOR, username, role, region, password=password, chosen_for_them=True)
        if account.password_hash is None:  # said, not refused: a role can be given before the password
            click.echo(f"Peringatan: {username} belum punya kata sandi dan belum dapat masuk", err=True)
        if email is not None:
            administration.set_email(session, CLI_ACTOR, account.id, email)
        data = {
            "id": account.id,
            "username": account.username,
            "email": account.email,
            "roles": [
                {"role": a.role.value, "region": a.region_kode, "tingkat": a.tingkat.value} for a in account.roles
            ],
        }
    emit(as_json, data, f"Pengguna {username}: {role} di {region}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="baca kata sandi baru dari masukan standar")
@json_option
@click.pass_context
def user_password(ctx: click.Context, username: str, password_stdin: bool, as_json: bool) -> None:
    """Atur kata sandi baru bagi orang yang lupa: semua sesinya berakhir, dan ia wajib menggantinya
    saat masuk. Perannya tidak berubah."""
    password = sys.stdin.readline().rstrip("\n")
    with refusals(as_json), database(ctx).transaction() as session:
        account = users.find_user(session, username)
        administration.reset_password(session, CLI_ACTOR, account.id, password)
    emit(
        as_json,
        {"username": username, "wajib_diganti": True},
        f"Kata sandi {username} diatur; wajib diganti saat masuk",
    )


@user.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", help="admin yang membuat akun (tercatat di jejak audit; bawaan: baris perintah)")
@json_option
@click.pass_context
def user_import(ctx: click.Context, file: Path, username: str | None, as_json: bool) -> None:
    """Buat banyak akun dari berkas (username,nama,peran,wilayah[,email]); mencetak CSV kata sandi
    awalnya, yang wajib diganti saat masuk pertama. Satu baris salah: tidak ada akun yang dibuat."""
    db = database(ctx)
    with refusals(as_json):
        rows = read_table(file.name, read_file(file), accounts.COLUMNS)
        with db.transaction() as session:
            made = accounts.create_many(session, acting(session, username), rows)
    # the terminal's lines: without the file's signature and its CRLF ends
    emit(
        as_json,
        [m.__dict__ for m in made],
        lambda: accounts.as_csv(made).lstrip("\ufeff").replace("\r\n", "\n").rstrip("\n"),
    )


@click.group("regions")
def regions() -> None:
    """Daftar wilayah provinsi menurut keputusan Kemendagri."""


@regions.command("update")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--basis", required=True, help='dasar hukum, mis. "Kepmendagri No. 100.1.1-6117 Tahun 2026"')
@click.option("--effective", required=True, type=click.DateTime(["%Y-%m-%d"]), help="tanggal berlaku, TTTT-BB-HH")
@click.option("--dry-run", is_flag=True, help="tampilkan perubahannya saja, tanpa menerapkan")
@click.option("--user", "username", help="admin provinsi yang menerapkan (tercatat di riwayat; bawaan: baris perintah)")
@json_option
@click.pass_context
def regions_update(
    ctx: click.Context, file: Path, basis: str, effective: datetime, dry_run: bool, username: str | None, as_json: bool
) -> None:
    """Perbarui daftar wilayah dari berkas (kode,nama[,kode_lama]): daftar lengkap provinsi; wilayah
    yang tidak tercantum berakhir, kode_lama memindahkan register dan peran ke penerusnya."""
    db = database(ctx)
    with refusals(as_json):
        rows = read_table(file.name, read_file(file), region_updates.COLUMNS)
        with db.read() as session:
            who = acting(session, username)
        if dry_run:
            plan = region_updates.preview(db, who, rows, (basis, effective.date()))
            opened: dict[str, int] = {}
        else:
            updated = region_updates.update_regions(db, who, rows, (basis, effective.date()), None)
            plan, opened = updated.plan, updated.opened
    data = {
        "diterapkan": not dry_run,
        **plan.counts,
        "catatan_pindah": plan.moved_records,
        "perubahan": [c.__dict__ for c in plan.changes],
        "peran": [r.__dict__ for r in plan.roles],
        "token": [t.__dict__ for t in plan.tokens],
        "pengajuan_dibuka": opened,
    }
    emit(as_json, data, lambda: _plan_lines(plan, dry_run, opened))


def _plan_lines(plan: region_updates.RegionPlan, dry_run: bool, opened: dict[str, int]) -> str:
    lines = [
        f"{c.kode} {c.perubahan.replace('_', ' ')}: {c.nama}" + (f" (penerus/asal {c.terkait})" if c.terkait else "")
        for c in plan.changes
    ]
    lines += [
        f"peran {r.username} {r.role} di {r.kode}: " + (f"pindah ke {r.penerus}" if r.penerus else "berakhir")
        for r in plan.roles
    ]
    lines += [
        f"token {t.prefix} {t.instansi} di {t.kode}: " + (f"pindah ke {t.penerus}" if t.penerus else "tetap")
        for t in plan.tokens
    ]
    lines += [f"register {kode}: {n} catatan pindah" for kode, n in sorted(plan.moved_records.items())]
    lines += [f"siklus {p}: pengajuan dibuka untuk {n} desa baru" for p, n in sorted(opened.items())]
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in plan.counts.items())
    lines.append(("Pratinjau (tidak ada yang diubah): " if dry_run else "Diterapkan: ") + counts)
    return "\n".join(lines)


COMMANDS = [init, run, serve, demo, user, regions]
