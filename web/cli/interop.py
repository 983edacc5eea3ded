"""`sijosku` commands for exchange with other systems: agency API tokens, Dukcapil NIK matching
(and its simulator), the DTSEN extract."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.core import clock, jobs
from engine.core.errors import Invalid
from engine.people import tokens
from engine.setup import dukcapil_sim as dukcapil_sim_server
from engine.verification import dtsen, nik_matching
from models import ApiResource
from web.cli.common import CLI_ACTOR, database, emit, json_option, local_time, read_file, read_text, refusals

RESOURCES = ", ".join(r.value for r in ApiResource)


@click.group(name="token")
def token_group() -> None:
    """Token API untuk instansi lain (dibuat, didaftar, dicabut)."""


@token_group.command("create")
@click.option("--agency", "instansi", required=True, help="nama instansi, mis. DP3AP2KB")
@click.option("--region", required=True, help="wilayah yang dibuka token, mis. 65.01")
@click.option("--resources", required=True, help=f"dipisah koma: {RESOURCES}")
@click.option("--write", "can_write", is_flag=True, help="boleh mengirim (angka-instansi, pengajuan)")
@click.option("--full-nik", "sees_nik", is_flag=True, help="catatan dengan NIK lengkap (setiap baca tercatat)")
@click.option("--days", default=365, show_default=True, type=int, help="masa berlaku dalam hari")
@click.option("--rate", "rate_limit", default="120/minute", show_default=True, help="batas laju, mis. 60/minute")
@click.option("--note", "keterangan", default="", help="keterangan, mis. nama sistem pemakai")
@json_option
@click.pass_context
def token_create(
    ctx: click.Context,
    instansi: str,
    region: str,
    resources: str,
    can_write: bool,
    sees_nik: bool,
    days: int,
    rate_limit: str,
    keterangan: str,
    as_json: bool,
) -> None:
    """Membuat token; rahasianya ditampilkan sekali ini saja."""
    request = tokens.TokenRequest(
        instansi=instansi,
        region_kode=region,
        resources=tuple(r.strip() for r in resources.split(",") if r.strip()),
        can_write=can_write,
        sees_nik=sees_nik,
        days=days,
        rate_limit=rate_limit,
        keterangan=keterangan,
    )
    with refusals(as_json), database(ctx).transaction() as session:
        issued = tokens.create_token(session, CLI_ACTOR, request)
        data = issued.to_dict()
    emit(
        as_json,
        data,
        lambda: (
            f"Token {data['prefix']} untuk {data['instansi']} ({data['wilayah']}; {', '.join(data['sumber_daya'])}"
            f"{'; tulis' if data['tulis'] else ''}{'; NIK lengkap' if data['nik_lengkap'] else ''}), berlaku "
            f"sampai {local_time(data['kedaluwarsa'])}.\nSimpan sekarang; token ini tidak dapat ditampilkan lagi:\n"
            f"{data['token']}"
        ),
    )


@token_group.command("list")
@json_option
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """Token yang ada, dengan status dan pemakaian terakhir (tanpa rahasianya)."""
    with refusals(as_json), database(ctx).read() as session:
        rows = [tokens.describe(t) for t in tokens.list_tokens(session, CLI_ACTOR)]
    emit(
        as_json,
        rows,
        lambda: (
            "\n".join(
                f"{r['id']:>4} {r['prefix']} {r['status']:<11} {r['instansi']:<20} {r['wilayah']:<13} "
                f"{','.join(r['sumber_daya'])} {'tulis ' if r['tulis'] else ''}"
                f"{'NIK-lengkap ' if r['nik_lengkap'] else ''}"
                f"berlaku s.d. {local_time(r['kedaluwarsa'])} terakhir dipakai: {local_time(r['terakhir_dipakai'])}"
                for r in rows
            )
            or "Belum ada token"
        ),
    )


@token_group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--reason", default="", help="alasan pencabutan")
@json_option
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int, reason: str, as_json: bool) -> None:
    """Mencabut token; permintaan berikutnya dengan token itu ditolak."""
    with refusals(as_json), database(ctx).transaction() as session:
        data = tokens.describe(tokens.revoke_token(session, CLI_ACTOR, token_id, reason))
    emit(as_json, data, f"Token {data['prefix']} ({data['instansi']}) dicabut")


@click.group(name="dukcapil")
def dukcapil_group() -> None:
    """Pemadanan NIK dengan Dukcapil."""


@dukcapil_group.command("sync")
@click.option("--limit", type=click.IntRange(1, 100_000), help="paling banyak sekian catatan (bawaan: batch setelan)")
@json_option
@click.pass_context
def dukcapil_sync(ctx: click.Context, limit: int | None, as_json: bool) -> None:
    """Satu putaran pemadanan, di bawah sewa penjadwal (tidak berjalan dua kali pada menit yang sama)."""
    db = database(ctx)
    found: dict[str, nik_matching.SyncReport] = {}

    def work() -> str:
        found["report"] = nik_matching.sync(db, nik_matching.adapter(db), limit or db.settings.dukcapil.batch)
        return found["report"].summary()

    with refusals(as_json):
        now = clock.now()
        outcome = jobs.run_once(db, "dukcapil", jobs.run_key("minute", now, db.settings.tz), work, now)
    report = found.get("report")
    data = {"hasil": outcome.value, **(report.to_dict() if report else {})}
    if report is None:
        text = f"Putaran menit ini {outcome.value}: sudah atau sedang dijalankan penjadwal"
    else:
        text = report.summary()
    emit(as_json, data, text)
    if outcome == jobs.Outcome.GAGAL:
        sys.exit(1)


@click.command(name="dukcapil-sim")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--population", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV penduduk")
@click.option("--delay", default=0.0, type=click.FloatRange(0, 600), help="detik sebelum setiap jawaban")
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), help="bagian panggilan dijawab 500")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), help="bagian panggilan diputus tanpa jawaban")
@click.option("--seed", default=0, type=int, help="benih acak (kegagalan dapat diulang)")
@click.option("--user", default="", help="nama pengguna HTTP basic yang diminta")
@click.option("--password", default="", help="kata sandi HTTP basic yang diminta")
def dukcapil_sim(
    port: int,
    host: str,
    population: Path,
    delay: float,
    fail_rate: float,
    drop_rate: float,
    seed: int,
    user: str,
    password: str,
) -> None:
    """Simulator layanan NIK Dukcapil untuk uji dan demo (POST /nik/batch)."""
    with refusals():
        try:
            people = dukcapil_sim_server.read_population(read_text(population, "CSV"))
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    behaviour = dukcapil_sim_server.Behaviour(delay, fail_rate, drop_rate, seed, user, password)
    server = dukcapil_sim_server.make_server(people, behaviour, host, port)
    click.echo(f"Simulator Dukcapil ({len(people)} penduduk) di http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.group(name="dtsen")
def dtsen_group() -> None:
    """Keterkaitan dengan DTSEN (desil kesejahteraan, program yang diterima)."""


@dtsen_group.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from-endpoint", is_flag=True, help="ambil ekstrak dari alamat DTSEN (SIJOSKU_DTSEN_URL)")
@json_option
@click.pass_context
def dtsen_import(ctx: click.Context, file: Path | None, from_endpoint: bool, as_json: bool) -> None:
    """Ganti ekstrak DTSEN dengan berkas ini (nik,no_kk,desil,program[,kode_wilayah]) atau dengan ekstrak dari
    alamat DTSEN (--from-endpoint), lalu tandai."""
    db = database(ctx)
    with refusals(as_json):
        if from_endpoint == (file is not None):
            raise Invalid("Sebutkan berkas ekstrak, atau --from-endpoint, salah satu saja")
        if file is not None:
            rows, source = dtsen.read_extract(file.name, read_file(file)), "berkas"
        else:
            rows = dtsen.fetch_extract(CLI_ACTOR, db.registry.adapters.get(dtsen.ADAPTER), db.settings.province)
            source = db.settings.dtsen.base_url
        with db.transaction() as session:
            report = dtsen.import_extract(session, CLI_ACTOR, rows, db.settings.province, source)
    data = report.to_dict()
    emit(
        as_json,
        data,
        lambda: (
            f"{data['rows']} baris DTSEN disimpan; catatan tertaut lewat NIK {data['linked_nik']}, lewat KK "
            f"{data['linked_kk']}; tanda: " + (", ".join(f"{k} {v}" for k, v in data["flags"].items()) or "tidak ada")
        ),
    )


COMMANDS = [token_group, dukcapil_group, dukcapil_sim, dtsen_group]
