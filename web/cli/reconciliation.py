"""`sijosku reconciliation` and `sijosku determination`: the year's reconciliation and its frozen
official figures."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from engine.quality import agency_indicators
from engine.verification import (
    agency_figures,
    agency_listing,
    agency_uploads,
    determination_exports,
    determinations,
    reconciliation,
    reconciliation_progress,
)
from web.access import MAX_ID
from web.cli.common import acting, database, emit, json_option, local_time, refusals

user_option = click.option("--user", "username", help="bertindak sebagai pengguna ini (bawaan: baris perintah)")


@click.group(name="reconciliation")
def reconciliation_group() -> None:
    """Rekonsiliasi tahunan dengan instansi lain dan Forum Satu Data."""


@reconciliation_group.command("open")
@click.argument("year")
@click.option("--force", is_flag=True, help="buka walau masih ada tugas verifikasi tahun itu yang terbuka")
@click.option("--revision", "alasan", help="tahun yang sudah ditetapkan: buka revisi bernomor dengan alasan ini")
@user_option
@json_option
@click.pass_context
def reconciliation_open(
    ctx: click.Context, year: str, force: bool, alasan: str | None, username: str | None, as_json: bool
) -> None:
    """Buka rekonsiliasi TAHUN; membuka lagi tidak membuat apa pun yang baru."""
    db = database(ctx)
    with refusals(as_json), db.transaction() as session:
        who = acting(session, username)
        opened = reconciliation.open_year(session, who, db.settings.province, year, force, alasan)
        determined = None if opened.created else determinations.latest(session, opened.tahun)
    if opened.created:
        said = f"Rekonsiliasi {opened.tahun} dibuka (instans {opened.instance_id})"
    elif determined is not None:  # done: what would change the year is a numbered revision
        said = f"Tahun {opened.tahun} sudah ditetapkan (revisi {determined.revisi}); perbaikan: --revision ALASAN"
    else:
        said = f"Rekonsiliasi {opened.tahun} sudah dibuka (instans {opened.instance_id}); tidak ada yang baru"
    emit(as_json, opened.to_dict(), said)


def _progress_text(p: reconciliation_progress.Progress) -> str:
    lines = [f"Rekonsiliasi {p.tahun}: {p.status}" + (f" (menunggu: {', '.join(p.tahap)})" if p.tahap else "")]
    for r in p.kabupaten:
        lines.append(f"  {r.kode} {r.nama}: tugas {r.status}, {r.tanda} tanda, {r.belum} belum dijelaskan")
    if p.penetapan:
        lines.append(f"Ditetapkan: SK {p.penetapan['decree']['nomor']} hash {p.penetapan['hash']}")
    return "\n".join(lines)


@reconciliation_group.command("status")
@click.argument("year")
@user_option
@json_option
@click.pass_context
def reconciliation_status(ctx: click.Context, year: str, username: str | None, as_json: bool) -> None:
    """Kemajuan rekonsiliasi TAHUN per kabupaten/kota."""
    db = database(ctx)
    with refusals(as_json), db.read() as session:
        found = reconciliation_progress.progress(session, acting(session, username), db.settings.province, year)
    emit(as_json, found.to_dict(), lambda: _progress_text(found))


@click.group(name="determination")
def determination_group() -> None:
    """Penetapan: angka resmi yang dibekukan."""


def _summary_text(d: dict[str, Any]) -> str:
    lines = [
        f"Penetapan {d['tahun']} revisi {d['revisi']}: SK {d['decree']['nomor']} tanggal {d['decree']['tanggal']}",
        f"  disetujui oleh {d['approved_by']} pada {local_time(d['approved_at'])}",
        f"  hash {d['hash']} ({'sah' if d['hash_sah'] else 'TIDAK SAH'})",
        f"  jumlah {d['totals']['jumlah']} dari {d['jumlah_catatan']} catatan",
    ]
    return "\n".join(lines)


@determination_group.command("list")
@user_option
@json_option
@click.pass_context
def determination_list(ctx: click.Context, username: str | None, as_json: bool) -> None:
    """Semua penetapan, yang terbaru dahulu."""
    with refusals(as_json), database(ctx).read() as session:
        found = determinations.list_determinations(session, acting(session, username), whole=True)
    emit(as_json, found, lambda: "\n".join(_summary_text(d) for d in found) or "Belum ada penetapan")


@determination_group.command("show")
@click.argument("year", type=int)
@user_option
@json_option
@click.pass_context
def determination_show(ctx: click.Context, year: int, username: str | None, as_json: bool) -> None:
    """Penetapan TAHUN: hash, SK, yang menyetujui, waktunya dan totalnya."""
    with refusals(as_json), database(ctx).read() as session:
        found = determinations.show(session, acting(session, username), year)
    emit(as_json, found, lambda: _summary_text(found))


@determination_group.command("export")
@click.argument("year", type=int)
@click.option("--format", "fmt", type=click.Choice(determination_exports.FORMATS), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--revision", "revisi", type=int, default=None, help="revisi tertentu (bawaan: yang terakhir)")
@user_option
@click.pass_context
def determination_export(
    ctx: click.Context, year: int, fmt: str, out: Path, revisi: int | None, username: str | None
) -> None:
    """Ekspor penetapan TAHUN untuk Satu Data Indonesia (CSV, XLSX dengan metadata; PDF lampiran)."""
    db = database(ctx)
    with refusals(), db.transaction() as session:
        actor = acting(session, username)
        content, _name = determination_exports.export(session, actor, year, fmt, db.settings, revisi=revisi)
    out.write_bytes(content)
    click.echo(f"{out} ditulis ({len(content)} bita)")


def _diff_text(found: dict[str, Any]) -> str:
    lines = [f"Penetapan {found['dari']['tahun']} → {found['ke']['tahun']}"]
    for c in found["perubahan"]:
        change = "baru" if c["sebelum"] is None else ("hilang" if c["sesudah"] is None else f"{c['selisih']:+d}")
        flags = f" [{', '.join(f['aturan'] for f in c['tanda'])}]" if c["tanda"] else ""
        lines.append(f"  {c['wilayah']} {c['kategori']}: {c['sebelum']} → {c['sesudah']} ({change}){flags}")
    return "\n".join(lines)


@determination_group.command("diff")
@click.argument("year_a", type=int)
@click.argument("year_b", type=int)
@user_option
@json_option
@click.pass_context
def determination_diff(ctx: click.Context, year_a: int, year_b: int, username: str | None, as_json: bool) -> None:
    """Perbandingan penetapan TAHUN_A dengan TAHUN_B per wilayah dan kategori."""
    with refusals(as_json), database(ctx).read() as session:
        found = determinations.diff(session, acting(session, username), year_a, year_b)
    emit(as_json, found, lambda: _diff_text(found))


@click.group(name="agency")
def agency_group() -> None:
    """Indikator instansi lain dan kategori padanannya."""


@agency_group.command("map")
@click.argument("instansi")
@click.argument("indikator")
@click.argument("kategori")
@click.option("--different", is_flag=True, help="indikator ini menghitung hal yang berbeda dari kategori kita")
@click.option("--note", "keterangan", default="", help="keterangan, mis. definisi indikator instansi")
@user_option
@click.pass_context
def agency_map(
    ctx: click.Context,
    instansi: str,
    indikator: str,
    kategori: str,
    different: bool,
    keterangan: str,
    username: str | None,
) -> None:
    """Petakan INDIKATOR dari INSTANSI ke KATEGORI kita."""
    with refusals(), database(ctx).transaction() as session:
        mapping = agency_indicators.Mapping(instansi, indikator, kategori, not different, keterangan)
        agency_indicators.set_mapping(session, acting(session, username), mapping)
    click.echo(f"{instansi} {indikator} → {kategori}" + (" (menghitung hal berbeda)" if different else ""))


@agency_group.command("list")
@json_option
@click.pass_context
def agency_list(ctx: click.Context, as_json: bool) -> None:
    """Pemetaan indikator instansi yang tersimpan."""
    with refusals(as_json), database(ctx).read() as session:
        found = agency_indicators.mappings(session)
    emit(
        as_json,
        found,
        lambda: (
            "\n".join(
                f"{m['instansi']} {m['indikator']} → {m['kategori']}" + ("" if m["sama"] else " (berbeda)")
                for m in found
            )
            or "Belum ada pemetaan"
        ),
    )


@agency_group.command("withdraw")
@click.argument("instansi")
@click.argument("year", type=int)
@click.option("--reason", "alasan", required=True, help="mengapa angka itu ditarik (10-500 karakter)")
@user_option
@json_option
@click.pass_context
def agency_withdraw(
    ctx: click.Context, instansi: str, year: int, alasan: str, username: str | None, as_json: bool
) -> None:
    """Tarik semua angka INSTANSI untuk tahun YEAR (tetap tercatat di jejak audit)."""
    with refusals(as_json), database(ctx).transaction() as session:
        person = acting(session, username)
        shown = {a.instansi: a.kunci for a in agency_listing.overview(session, person, year)}
        removed = agency_figures.withdraw(session, person, instansi, year, alasan, shown.get(instansi, ""))
    emit(as_json, {"instansi": instansi, "tahun": year, "ditarik": removed}, f"{removed} angka {instansi} ditarik")


@agency_group.command("uploads")
@click.argument("year", type=int)
@user_option
@json_option
@click.pass_context
def agency_uploads_list(ctx: click.Context, year: int, username: str | None, as_json: bool) -> None:
    """Unggahan angka instansi yang mengubah angka tahun YEAR, terbaru lebih dahulu."""
    with refusals(as_json), database(ctx).read() as session:
        found = agency_uploads.uploads(session, acting(session, username), year)
    emit(
        as_json,
        [asdict(u) for u in found],
        lambda: (
            "\n".join(
                f"{u.seq}  {local_time(u.pada)}  {u.oleh}  {u.berkas}  {', '.join(u.instansi)}  "
                f"{u.baru} baru, {u.diubah} diganti" + ("  (dibatalkan)" if u.dibatalkan else "")
                for u in found
            )
            or f"Belum ada unggahan angka instansi untuk {year} (daftar ini untuk yang mengawasi seluruh provinsi)"
        ),
    )


@agency_group.command("undo")
@click.argument("number", type=click.IntRange(1, MAX_ID))
@click.argument("year", type=int)
@click.option("--reason", "alasan", required=True, help="mengapa unggahan itu dibatalkan (10-500 karakter)")
@user_option
@json_option
@click.pass_context
def agency_undo(ctx: click.Context, number: int, year: int, alasan: str, username: str | None, as_json: bool) -> None:
    """Batalkan unggahan nomor NUMBER (lihat `agency uploads YEAR`): angka yang ditambahkannya dihapus,
    angka yang digantinya kembali."""
    with refusals(as_json), database(ctx).transaction() as session:
        changes = agency_uploads.undo(session, acting(session, username), number, year, alasan)
    back = sum(c.sebelum is not None for c in changes)
    emit(
        as_json,
        {"unggahan": number, "dikembalikan": back, "dihapus": len(changes) - back},
        f"Unggahan {number} dibatalkan: {back} angka kembali, {len(changes) - back} dihapus",
    )


COMMANDS = [reconciliation_group, determination_group, agency_group]
