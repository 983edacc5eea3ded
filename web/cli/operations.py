"""`sijosku` commands for operations: data quality, update cycles, the scheduler and its jobs."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path
from typing import Any

import click

from engine.core import backup, jobs
from engine.core.audit import AuditAction
from engine.core.config import load_settings
from engine.core.errors import Invalid
from engine.core.uow import Database
from engine.people import administration
from engine.quality import aggregates, completeness, figure_files, thresholds
from engine.setup.initialise import require_current_schema, schema_mismatch
from engine.verification import agency_figures, consistency, cycles
from notifications import email as mail
from web.cli.common import (
    CLI_ACTOR,
    database,
    emit,
    json_option,
    local_time,
    read_file,
    refusals,
    rehearsal_moment,
    rehearsal_option,
)
from web.i18n import RULE_LABELS, SEVERITY_LABELS


@click.group(name="quality")
def quality_group() -> None:
    """Mutu data: angka agregat, data historis, padu padan antarinstansi."""


def _flag_line(row: dict[str, Any]) -> str:
    """A flag in the words the pages use; the ids stay in --json, for scripts."""
    severity = SEVERITY_LABELS.get(row["severity"], row["severity"])
    return f"[{severity}] {RULE_LABELS.get(row['rule'], row['rule'])}: {row['message']}"


def _print_flags(as_json: bool, flags: list[Any]) -> None:
    rows = [f.to_dict() for f in flags]
    emit(
        as_json,
        rows,
        lambda: "\n".join(_flag_line(r) for r in rows) or "Tidak ada yang ditandai",
    )


@quality_group.command("scan")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", is_flag=True, help="simpan angka dan tandanya; periksa bersama riwayat yang tersimpan")
@json_option
@click.pass_context
def quality_scan(ctx: click.Context, file: Path, store: bool, as_json: bool) -> None:
    """Periksa angka agregat historis (kode_wilayah,kategori,periode,nilai,sumber)."""
    with refusals(as_json):
        content = read_file(file)
        with database(ctx).transaction() as session:
            values = figure_files.read_baseline(session, file.name, content, database(ctx).settings.province)
            if store:  # an agency's figures of a determined year change no more, whichever way they come
                agency_figures.refuse_determined_years(session, [v for v in values if v.sumber != aggregates.OURS])
                about = {"berkas": file.name[:255], "sha256": hashlib.sha256(content).hexdigest()}
                aggregates.store(session, CLI_ACTOR, values, AuditAction.BASELINE_IMPORTED, about)
                flags = aggregates.rescan(session, CLI_ACTOR, values)
            else:
                context = aggregates.Context.load(session)
                flags = aggregates.scan_values(values, context) + aggregates.compare_agencies(values, context)
    _print_flags(as_json, flags)


@quality_group.command("agency")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--agency", help="nama instansi bila berkas tidak punya kolom instansi, mis. DP3AP2KB")
@json_option
@click.pass_context
def quality_agency(ctx: click.Context, file: Path, agency: str | None, as_json: bool) -> None:
    """Impor angka instansi lain (instansi,kategori,kode_wilayah,periode,nilai) dan bandingkan."""
    with refusals(as_json):
        content = read_file(file)
        with database(ctx).transaction() as session:
            values = figure_files.read_agency(session, file.name, content, agency, database(ctx).settings.province)
            agency_figures.refuse_determined_years(session, values)
            about = {"berkas": file.name[:255], "sha256": hashlib.sha256(content).hexdigest()}
            aggregates.store(session, CLI_ACTOR, values, AuditAction.AGENCY_FIGURES_IMPORTED, about)
            flags = [f for f in aggregates.rescan(session, CLI_ACTOR, values) if f.rule in aggregates.AGENCY_RULES]
    _print_flags(as_json, flags)


@quality_group.command("snapshot")
@click.argument("period")
@json_option
@click.pass_context
def quality_snapshot(ctx: click.Context, period: str, as_json: bool) -> None:
    """Hitung angka Dinas Sosial untuk PERIODE dari catatan terverifikasi, lalu periksa."""
    db = database(ctx)
    with refusals(as_json), db.transaction() as session:
        try:
            count = aggregates.snapshot_records(session, CLI_ACTOR, period, db.settings.province)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    emit(as_json, {"angka": count}, f"{count} angka wilayah × kategori disimpan untuk {period}")


@quality_group.command("set")
@click.argument("rule")
@click.argument("name")
@click.argument("value", type=float)
@click.option("--category", "kategori", default="", help="hanya untuk kategori ini (bawaan: semua)")
@click.pass_context
def quality_set(ctx: click.Context, rule: str, name: str, value: float, kategori: str) -> None:
    """Ubah ambang aturan agregat, mis. `sijosku quality set lonjakan alpha 0.01 --category ODHA`."""
    with refusals(), database(ctx).transaction() as session:
        thresholds.set_threshold(session, CLI_ACTOR, rule, name, value, kategori)
    click.echo(f"{rule}.{name} = {value:g} untuk {kategori or 'semua kategori'}")


@click.group(name="cycle")
def cycle_group() -> None:
    """Siklus pemutakhiran: buka, tutup, status."""


@cycle_group.command("open")
@click.argument("period")
@click.option("--region", help="hanya wilayah ini (bawaan: seluruh provinsi)")
@json_option
@click.pass_context
def cycle_open(ctx: click.Context, period: str, region: str | None, as_json: bool) -> None:
    """Buka siklus PERIOD bagi setiap desa dan kelurahan (aman diulang atau dilanjutkan)."""
    with refusals(as_json):
        result = cycles.open_cycle(database(ctx), CLI_ACTOR, period, region)
    emit(
        as_json,
        result.to_dict(),
        f"Siklus {period}: {result.opened} desa dibuka, {result.already} sudah ada (dari {result.expected})",
    )


@cycle_group.command("close")
@click.argument("period")
@click.option(
    "--lebih-awal",
    "early",
    is_flag=True,
    help="tutup sebelum batas pengajuan desa (desa yang belum mengajukan dicatat tidak melapor)",
)
@json_option
@click.pass_context
def cycle_close(ctx: click.Context, period: str, early: bool, as_json: bool) -> None:
    """Tutup siklus PERIOD: desa yang belum mengajukan dicatat tidak melapor, tugas terlambat dieskalasi.
    Angka Dinas Sosial periode itu dihitung oleh tugas harian angka_periode (atau sekarang: `sijosku
    quality snapshot PERIOD`)."""
    with refusals(as_json):
        result = cycles.close_cycle(database(ctx), CLI_ACTOR, period, early=early)
    emit(
        as_json,
        result,
        f"Siklus {period} ditutup: {result['tidak_melapor']} desa tidak melapor, "
        f"{result['eskalasi']} tugas terlambat dieskalasi"
        + (
            f"; {result['tidak_dibuka']} desa provinsi tidak pernah dibuka dalam siklus ini"
            if result["tidak_dibuka"]
            else ""
        )
        + f". Angka periode ini dihitung oleh tugas harian angka_periode (sekarang: sijosku quality snapshot {period})",
    )


def _status_line(r: dict[str, Any]) -> str:
    share = "-" if r["reverified_percent"] is None else f"{r['reverified_percent']}%"
    return (
        f"{r['kode']} {r['nama']}: {r['submitted']}/{r['expected']} mengajukan ({r['on_time']} tepat waktu, "
        f"{r['late']} terlambat; {r['nihil']} nihil, {r['unchecked_statement']} register tidak diperiksa), "
        f"register diverval {share}, disetujui kecamatan {r['verified']['kecamatan']}, "
        f"kabupaten/kota {r['verified']['kabupaten']}, provinsi {r['verified']['provinsi']}, "
        f"tidak melapor {r['not_reported']}"
    )


@cycle_group.command("status")
@click.argument("period")
@click.option("--region", help="wilayah induk (bawaan: provinsi)")
@json_option
@click.pass_context
def cycle_status(ctx: click.Context, period: str, region: str | None, as_json: bool) -> None:
    """Kelengkapan dan ketepatan waktu per wilayah, dengan jumlah wilayah induk."""
    db = database(ctx)
    parent = region or db.settings.province
    with refusals(as_json), db.read() as session:
        rows = cycles.status(session, CLI_ACTOR, period, parent)
        whole = completeness.total(session, rows, parent).to_dict()
    listed = [r.to_dict() for r in rows]
    emit(
        as_json,
        {"wilayah": listed, "jumlah": whole},
        lambda: "\n".join([*map(_status_line, listed), "Jumlah " + _status_line(whole)]),
    )


@cycle_group.command("rhythm")
@click.option("--ritme", type=click.Choice(["triwulan", "semester"]), required=True)
@click.option("--opening-day", type=int, default=1, show_default=True, help="hari pembukaan di bulan pertama")
@click.option(
    "--deadlines",
    default="30,45,60,75",
    show_default=True,
    help="batas desa,kecamatan,kabupaten,provinsi dalam hari setelah pembukaan",
)
@click.option("--reminder", type=int, default=3, show_default=True, help="pengingat, hari sebelum batas")
@click.pass_context
def cycle_rhythm(ctx: click.Context, ritme: str, opening_day: int, deadlines: str, reminder: int) -> None:
    """Atur ritme pemutakhiran provinsi."""
    with refusals():
        try:
            days = {t.value: int(d) for t, d in zip(cycles.TIERS, deadlines.split(","), strict=True)}
        except ValueError as exc:
            raise Invalid("--deadlines harus empat bilangan: desa,kecamatan,kabupaten,provinsi") from exc
        with database(ctx).transaction() as session:
            cycles.set_rhythm(session, CLI_ACTOR, ritme, opening_day, days, reminder)
    click.echo(f"Ritme {ritme}, dibuka hari ke-{opening_day}, batas {deadlines} hari, pengingat {reminder} hari")


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Menjalankan penjadwal (siklus, timer BPMN, surel, ringkasan) sebagai proses sendiri."""
    with refusals():
        require_current_schema(database(ctx))
    running = jobs.build(database(ctx))

    def stop(*_: Any) -> None:  # SIGTERM, as systemctl stop and restart send it
        jobs.STOPPING.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    click.echo("Penjadwal SIJOSKU berjalan; hentikan dengan Ctrl+C")
    try:
        running.start()
    except BaseException as exc:
        # SIGTERM's SystemExit can land inside a statement of the scheduler's own loop (its job store
        # is the database), and the driver then raises a database error instead: still the stop asked for
        if not (isinstance(exc, KeyboardInterrupt | SystemExit) or jobs.STOPPING.is_set()):
            raise
        jobs.STOPPING.set()
        if running.running:
            running.shutdown(wait=True)  # the runs in hand finish and are recorded as finished
        click.echo("Penjadwal berhenti")


@click.group(name="jobs")
def jobs_group() -> None:
    """Tugas terjadwal."""


@jobs_group.command("run")
@click.argument("job_id")
@click.option("--now", "now_text", help="waktu ISO 8601, mis. 2027-01-01T00:05:00+08:00")
@rehearsal_option
@json_option
@click.pass_context
def jobs_run(ctx: click.Context, job_id: str, now_text: str | None, rehearsal: bool, as_json: bool) -> None:
    """Jalankan satu tugas terjadwal sekarang (sekali per kunci jalannya, seperti penjadwal)."""
    db = database(ctx)
    with refusals(as_json):
        report = jobs.run_job_reporting(db, job_id, rehearsal_moment(now_text, db, rehearsal))
    if report.outcome == jobs.Outcome.DILEWATI:
        started = local_time(report.started_at) if report.started_at else "?"
        text = f"{job_id} dilewati: jalan {report.run_key} sudah dijalankan oleh {report.holder} sejak {started}"
        if report.message:
            text += f" ({report.message})"
    else:
        verb = "dijalankan dan selesai" if report.outcome == jobs.Outcome.SELESAI else "dijalankan tetapi gagal"
        text = f"{job_id} {verb} (jalan {report.run_key}): {report.message or '-'}"
    emit(as_json, {"job_id": job_id, **report.to_dict()}, text)
    if report.outcome == jobs.Outcome.GAGAL:
        raise SystemExit(1)


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--allow-missing-minutes",
    is_flag=True,
    help="cadangkan walau berita acara yang dirujuk hilang untuk selamanya (dicatat di manifest; keluar 1)",
)
@json_option
@click.pass_context
def backup_command(ctx: click.Context, directory: Path, allow_missing_minutes: bool, as_json: bool) -> None:
    """Cadangkan basis data (salinan konsisten), berkas unggahan dan kunci rahasia ke DIRECTORY."""
    db = database(ctx)
    with refusals(as_json):
        taken = backup.backup(db, directory, allow_missing_minutes)
    emit(as_json, taken.to_dict(), f"Cadangan {taken.database} tersimpan di {directory} ({len(taken.files)} berkas)")
    if taken.missing_minutes:  # taken, but not whole: the timer's run shows as failed until it is put right
        click.echo(f"Peringatan: {len(taken.missing_minutes)} berita acara tidak ada (lihat manifest.json)", err=True)
        raise SystemExit(1)


@click.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))  # a missing one: said below
@json_option
@click.pass_context
def restore_command(ctx: click.Context, directory: Path, as_json: bool) -> None:
    """Pulihkan cadangan DIRECTORY ke basis data DATABASE_URL yang kosong, lalu periksa hasilnya."""
    with refusals(as_json):
        settings = load_settings()
        target = Database.connect(settings)
        try:
            missing = backup.restore(target, directory)
            behind = schema_mismatch(target)
        finally:
            target.dispose()
    db = database(ctx)
    with refusals(as_json), db.read() as session:
        report = consistency.check(session)
    told = {**report.to_dict(), "berita_acara_hilang": missing}
    emit(as_json, told, lambda: _consistency_text(report, f"Cadangan {directory} dipulihkan"))
    if behind:  # a backup of an earlier release: said, not refused (the release's own init upgrades it)
        click.echo(f"Catatan: {behind}", err=True)
    if missing:  # taken without them: the submissions that name them show no minutes until they are uploaded again
        click.echo(
            f"Peringatan: cadangan ini diambil tanpa {len(missing)} berita acara (lihat manifest.json)", err=True
        )
    if not report.ok:
        raise SystemExit(1)


@click.command("check")
@json_option
@click.pass_context
def check_command(ctx: click.Context, as_json: bool) -> None:
    """Periksa keutuhan data: status proses dan kotak tugas, penyelesaian, versi catatan, rantai audit."""
    db = database(ctx)
    with refusals(as_json), db.read() as session:
        report = consistency.check(session)
    emit(as_json, report.to_dict(), lambda: _consistency_text(report, "Pemeriksaan keutuhan"))
    if not report.ok:
        raise SystemExit(1)


def _consistency_text(report: consistency.Report, title: str) -> str:
    if report.ok:
        return f"{title}: utuh ({report.instances} instans berjalan diperiksa, rantai audit utuh)"
    return "\n".join([f"{title}: {len(report.problems)} masalah", *(f"  - {p}" for p in report.problems[:50])])


@click.group(name="email")
def email_group() -> None:
    """Surel keluar: yang gagal, dan mengirimnya lagi."""


@email_group.command("failed")
@json_option
@click.pass_context
def email_failed(ctx: click.Context, as_json: bool) -> None:
    """Surel yang belum terkirim karena percobaan terakhirnya gagal (terbaru dulu, paling banyak 100)."""
    with database(ctx).read() as session:
        failed = administration.schedule_status(session, CLI_ACTOR).failed_emails
    rows = [
        {"id": m.id, "ke": m.to_address, "judul": m.subject, "percobaan": m.attempts, "galat": m.last_error}
        for m in failed
    ]
    lines = [f"{r['id']}: {r['ke']}, {r['percobaan']}x, {r['judul']}: {r['galat']}" for r in rows]
    emit(as_json, rows, "\n".join(lines) or "tidak ada surel yang gagal")


@email_group.command("resend")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="semua surel yang gagal")
@json_option
@click.pass_context
def email_resend(ctx: click.Context, ids: tuple[int, ...], everything: bool, as_json: bool) -> None:
    """Antre ulang surel yang gagal (setelah server surel lama mati, atau alamat diperbaiki); surel
    untuk akun yang sudah dinonaktifkan tidak dikirim."""
    if not ids and not everything:
        raise click.UsageError("sebut nomor surel, atau --all untuk semua yang gagal")
    queued = mail.resend(database(ctx), None if everything else list(ids))
    emit(as_json, {"diantre": queued}, f"{queued} surel diantre ulang")


COMMANDS = [
    quality_group,
    cycle_group,
    scheduler,
    jobs_group,
    email_group,
    backup_command,
    restore_command,
    check_command,
]
