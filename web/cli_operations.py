"""`sijosku` commands for operations: data quality, update cycles, the scheduler and its jobs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.errors import Invalid, Problem
from web.cli import CLI_ACTOR, _db, _emit, _errors, main


@main.group(name="quality")
def quality_group() -> None:
    """Mutu data: angka agregat, data historis, padu padan antarinstansi."""


def _read_file(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise Invalid(f"Berkas {file} tidak dapat dibaca", [Problem(str(exc))]) from exc


def _print_flags(as_json: bool, flags: list[Any]) -> None:
    rows = [f.to_dict() for f in flags]
    _emit(as_json, rows, lambda: "\n".join(
        f"[{r['severity']}] {r['rule']}: {r['message']}" for r in rows) or "Tidak ada yang ditandai")


@quality_group.command("scan")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", is_flag=True, help="simpan angka dan tandanya; periksa bersama riwayat yang tersimpan")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quality_scan(ctx: click.Context, file: Path, store: bool, as_json: bool) -> None:
    """Periksa angka agregat historis (kode_wilayah,kategori,periode,nilai,sumber)."""
    from engine.quality import aggregates

    with _errors(as_json):
        content = _read_file(file)
        with _db(ctx).transaction() as session:
            values = aggregates.read_baseline(session, file.name, content)
            if store:
                aggregates.store(session, CLI_ACTOR, values, "BASELINE_IMPORTED")
                flags = aggregates.rescan(session, CLI_ACTOR, values)
            else:
                context = aggregates.Context.load(session)
                flags = aggregates.scan_values(values, context) + aggregates.compare_agencies(values, context)
    _print_flags(as_json, flags)


@quality_group.command("agency")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--agency", help="nama instansi bila berkas tidak punya kolom instansi, mis. DP3AP2KB")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quality_agency(ctx: click.Context, file: Path, agency: str | None, as_json: bool) -> None:
    """Impor angka instansi lain (instansi,kategori,kode_wilayah,periode,nilai) dan bandingkan."""
    from engine.quality import aggregates

    with _errors(as_json):
        content = _read_file(file)
        with _db(ctx).transaction() as session:
            values = aggregates.read_agency(session, file.name, content, agency)
            aggregates.store(session, CLI_ACTOR, values, "AGENCY_FIGURES_IMPORTED")
            flags = [f for f in aggregates.rescan(session, CLI_ACTOR, values) if f.rule == "instansi"]
    _print_flags(as_json, flags)


@quality_group.command("snapshot")
@click.argument("period")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quality_snapshot(ctx: click.Context, period: str, as_json: bool) -> None:
    """Hitung angka Dinas Sosial untuk PERIODE dari catatan terverifikasi, lalu periksa."""
    from engine.quality import aggregates

    db = _db(ctx)
    with _errors(as_json), db.transaction() as session:
        try:
            count = aggregates.snapshot_records(session, CLI_ACTOR, period, db.settings.province)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    _emit(as_json, {"angka": count}, f"{count} angka wilayah × kategori disimpan untuk {period}")


@quality_group.command("set")
@click.argument("rule")
@click.argument("name")
@click.argument("value", type=float)
@click.option("--category", "kategori", default="", help="hanya untuk kategori ini (bawaan: semua)")
@click.pass_context
def quality_set(ctx: click.Context, rule: str, name: str, value: float, kategori: str) -> None:
    """Ubah ambang aturan agregat, mis. `sijosku quality set rasio high 3 --category ODHA`."""
    from engine.quality.settings import set_threshold

    with _errors(), _db(ctx).transaction() as session:
        set_threshold(session, CLI_ACTOR, rule, name, value, kategori)
    click.echo(f"{rule}.{name} = {value:g} untuk {kategori or 'semua kategori'}")


@main.group(name="cycle")
def cycle_group() -> None:
    """Siklus pemutakhiran: buka, tutup, status."""


@cycle_group.command("open")
@click.argument("period")
@click.option("--region", help="hanya wilayah ini (bawaan: seluruh provinsi)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cycle_open(ctx: click.Context, period: str, region: str | None, as_json: bool) -> None:
    from engine import cycles

    with _errors(as_json):
        result = cycles.open_cycle(_db(ctx), CLI_ACTOR, period, region)
    _emit(as_json, result.to_dict(), f"Siklus {period}: {result.opened} desa dibuka, {result.already} sudah ada "
          f"(dari {result.expected})")


@cycle_group.command("close")
@click.argument("period")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cycle_close(ctx: click.Context, period: str, as_json: bool) -> None:
    from engine import cycles

    with _errors(as_json):
        result = cycles.close_cycle(_db(ctx), CLI_ACTOR, period)
    _emit(as_json, result, f"Siklus {period} ditutup: {result['tidak_melapor']} desa tidak melapor, "
          f"{result['eskalasi']} tugas terlambat dieskalasi")


@cycle_group.command("status")
@click.argument("period")
@click.option("--region", help="wilayah induk (bawaan: provinsi)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cycle_status(ctx: click.Context, period: str, region: str | None, as_json: bool) -> None:
    from engine import cycles

    db = _db(ctx)
    with _errors(as_json), db.read() as session:
        rows = [r.to_dict() for r in cycles.status(session, period, region or db.settings.province)]
    _emit(as_json, rows, lambda: "\n".join(
        f"{r['kode']} {r['nama']}: {r['submitted']}/{r['expected']} mengajukan ({r['on_time']} tepat waktu, "
        f"{r['late']} terlambat), terverifikasi kec {r['verified']['kecamatan']}, kab {r['verified']['kabupaten']}, "
        f"prov {r['verified']['provinsi']}, tidak melapor {r['not_reported']}" for r in rows))


@main.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Menjalankan penjadwal (siklus, timer BPMN, surel, ringkasan) sebagai proses sendiri."""
    from engine import scheduler as jobs

    click.echo("Penjadwal SIJOSKU berjalan; hentikan dengan Ctrl+C")
    try:
        jobs.build(_db(ctx)).start()
    except (KeyboardInterrupt, SystemExit):
        pass


@main.group(name="jobs")
def jobs_group() -> None:
    """Riwayat tugas terjadwal."""


@jobs_group.command("run")
@click.argument("job_id")
@click.option("--now", "now_text", help="waktu ISO 8601, mis. 2027-01-01T00:05:00+08:00")
@click.pass_context
def jobs_run(ctx: click.Context, job_id: str, now_text: str | None) -> None:
    """Jalankan satu tugas terjadwal sekarang (sekali per kunci jalannya, seperti penjadwal)."""
    from engine import clock
    from engine import scheduler as jobs

    with _errors():
        jobs.use(_db(ctx))
        if job_id not in jobs.job_ids():
            raise Invalid(f"Tugas {job_id!r} tidak dikenal; yang ada: {', '.join(jobs.job_ids())}")
        moment = datetime.fromisoformat(now_text) if now_text else clock.now()
        with clock.frozen_at(moment):
            jobs.trigger(job_id)
    click.echo(f"{job_id} dijalankan")


@cycle_group.command("rhythm")
@click.option("--ritme", type=click.Choice(["triwulan", "semester"]), required=True)
@click.option("--opening-day", type=int, default=1, show_default=True, help="hari pembukaan di bulan pertama")
@click.option("--deadlines", default="30,45,60,75", show_default=True,
              help="batas desa,kecamatan,kabupaten,provinsi dalam hari setelah pembukaan")
@click.option("--reminder", type=int, default=3, show_default=True, help="pengingat, hari sebelum batas")
@click.pass_context
def cycle_rhythm(ctx: click.Context, ritme: str, opening_day: int, deadlines: str, reminder: int) -> None:
    """Atur ritme pemutakhiran provinsi."""
    from engine import cycles

    with _errors():
        try:
            days = dict(zip(cycles.TIERS, [int(d) for d in deadlines.split(",")], strict=True))
        except ValueError as exc:
            raise Invalid("--deadlines harus empat bilangan: desa,kecamatan,kabupaten,provinsi") from exc
        with _db(ctx).transaction() as session:
            cycles.set_rhythm(session, CLI_ACTOR, ritme, opening_day, days, reminder)
    click.echo(f"Ritme {ritme}, dibuka hari ke-{opening_day}, batas {deadlines} hari, pengingat {reminder} hari")

