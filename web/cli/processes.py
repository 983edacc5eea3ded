"""`sijosku` commands of process definitions and their running instances: deploy, make a version
current again, list; move instances between versions, stuck instances, retries, and the retention
of finished instances' state."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from engine.bpmn import migration
from engine.core import clock
from engine.core.errors import Invalid, NeedsConfirmation
from engine.core.uow import Database
from engine.verification import processes, retention
from engine.verification.submissions import PROCESS_KEY
from web.cli.common import (
    CLI_ACTOR,
    database,
    emit,
    json_option,
    local_time,
    read_text,
    refusals,
    rehearsal_moment,
    rehearsal_option,
)


@click.group(name="definitions")
def definitions_group() -> None:
    """Definisi proses BPMN."""


@definitions_group.command("deploy")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "confirmed", is_flag=True, help="pasang juga bila pemeriksaan diagram hanya memberi peringatan")
@json_option
@click.pass_context
def definitions_deploy(ctx: click.Context, file: Path, confirmed: bool, as_json: bool) -> None:
    with refusals(as_json):
        xml = read_text(file, "XML")
        with database(ctx).transaction() as session:
            try:
                result = processes.deploy(session, CLI_ACTOR, xml, confirmed=confirmed)
            except NeedsConfirmation as held:  # the page offers a box to tick; here, the option to give
                asked = f"{held.summary} Untuk memasangnya, jalankan lagi dengan --yes."
                raise dataclasses.replace(held, summary=asked) from None
            data = _version_data(result)
            text = processes.outcome(result)
    emit(as_json, data, text)


def _version_data(result: Any) -> dict[str, Any]:
    d = result.definition
    return {
        "id": d.id,
        "process_key": d.process_key,
        "version": d.version,
        "sha256": d.sha256,
        "created": result.created,
        "reactivated": result.reactivated,
        "previous_version": result.previous_version,
        "warnings": [str(w) for w in result.warnings],
    }


@definitions_group.command("activate")
@click.argument("name")
@click.argument("version", type=int)
@json_option
@click.pass_context
def definitions_activate(ctx: click.Context, name: str, version: int, as_json: bool) -> None:
    """Jadikan versi tersimpan VERSION dari proses NAME versi yang dipakai instans baru (rollback)."""
    with refusals(as_json):
        with database(ctx).transaction() as session:
            result = processes.activate(session, CLI_ACTOR, name, version)
            data = _version_data(result)
            text = (
                processes.outcome(result)
                if result.reactivated
                else f"{name}: versi {version} sudah dipakai instans baru; tidak ada yang diubah."
            )
    emit(as_json, data, text)


@definitions_group.command("list")
@json_option
@click.pass_context
def definitions_list(ctx: click.Context, as_json: bool) -> None:
    with refusals(as_json), database(ctx).read() as session:
        rows = processes.list_definitions(session, CLI_ACTOR)
    emit(
        as_json,
        rows,
        lambda: (
            "\n".join(
                f"{r['process_key']}\tv{r['version']}\t{'aktif' if r['is_current'] else '-'}\t"
                f"{r['instances_running']} instans\t{local_time(r['deployed_at'])}"
                for r in rows
            )
            or "Belum ada definisi"
        ),
    )


@click.group(name="instances")
def instances_group() -> None:
    """Instans proses: pindah versi, yang macet, coba lagi, masa simpan yang sudah selesai."""


def _report_text(report: processes.MigrationReport) -> str:
    lines = [
        f"{'Uji coba (tidak ada yang disimpan)' if report.dry_run else 'Migrasi'}: "
        f"{report.moved} instans {'dapat dipindah' if report.dry_run else 'dipindah'}, {report.refused} ditolak"
    ]
    for r in report.results:
        moves = ", ".join(f"{m.dari} → {m.ke}" for m in r.moves) or "-"
        lines.append(
            f"  {r.instance_id}\t{r.business_key}\t{'ok' if r.ok else 'DITOLAK'}\t"
            + (moves if r.ok else "; ".join(str(p) for p in r.problems))
        )
    return "\n".join(lines)


@instances_group.command("migrate")
@click.option("--process", "process_key", default=PROCESS_KEY, show_default=True, help="kunci proses BPMN")
@click.option("--from", "source", type=int, required=True, help="versi asal")
@click.option("--to", "target", type=int, required=True, help="versi tujuan (boleh lebih lama: kembali)")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help='berkas peta langkah: JSON {"lama": "baru"} atau satu `lama = baru` per baris; tanpa ini usulan dipakai',
)
@click.option("--dry-run", is_flag=True, help="tampilkan hasilnya per instans tanpa menyimpan apa pun")
@json_option
@click.pass_context
def instances_migrate(
    ctx: click.Context, process_key: str, source: int, target: int, mapping: Path | None, dry_run: bool, as_json: bool
) -> None:
    """Pindahkan semua instans yang berjalan dari versi --from ke versi --to."""
    with refusals(as_json):
        peta = migration.parse_mapping(read_text(mapping, "peta langkah")) if mapping else None
        report = processes.migrate_instances(database(ctx), CLI_ACTOR, process_key, source, target, peta, dry_run)
    data = {
        "dry_run": report.dry_run,
        "moved": report.moved,
        "refused": report.refused,
        "results": [
            {
                "instance_id": r.instance_id,
                "business_key": r.business_key,
                "ok": r.ok,
                "moves": [m.__dict__ for m in r.moves],
                "problems": [p.to_dict() for p in r.problems],
            }
            for r in report.results
        ],
    }
    emit(as_json, data, lambda: _report_text(report))
    if report.refused:
        sys.exit(1)


@instances_group.command("stuck")
@json_option
@click.pass_context
def instances_stuck(ctx: click.Context, as_json: bool) -> None:
    """Instans yang langkah terakhirnya gagal, dengan galatnya."""
    with refusals(as_json), database(ctx).read() as session:
        rows = processes.stuck_instances(session, CLI_ACTOR)
    emit(
        as_json,
        rows,
        lambda: (
            "\n".join(
                f"{r['id']}\t{r['business_key']}\tv{r['version']}\t{r['failed_at']}\t{r['last_error']}" for r in rows
            )
            or "Tidak ada instans yang macet"
        ),
    )


@instances_group.command("retry")
@click.argument("instance_id", type=int)
@json_option
@click.pass_context
def instances_retry(ctx: click.Context, instance_id: int, as_json: bool) -> None:
    """Jalankan lagi langkah instans yang macet (setelah perbaikan, rollback atau migrasi)."""
    with refusals(as_json), database(ctx).transaction() as session:
        processes.retry_instance(session, CLI_ACTOR, instance_id)
    emit(as_json, {"instance_id": instance_id, "ok": True}, f"Instans {instance_id} berjalan lagi")


@instances_group.command("prune")
@click.option("--definition", "process_key", help="hanya kunci proses ini (bawaan: semua di setelan)")
@click.option("--days", type=click.IntRange(1, retention.MAX_DAYS), help="masa simpan dalam hari (mengganti setelan)")
@click.option("--dry-run", is_flag=True, help="hitung saja, tanpa menghapus")
@click.option("--now", "now_text", help="waktu acuan ISO 8601 (bawaan: sekarang)")
@rehearsal_option
@json_option
@click.pass_context
def instances_prune(
    ctx: click.Context,
    process_key: str | None,
    days: int | None,
    dry_run: bool,
    now_text: str | None,
    rehearsal: bool,
    as_json: bool,
) -> None:
    """Hapus status tersimpan instans yang selesai lebih lama dari masa simpannya; jejak audit dan riwayat tetap."""
    db = database(ctx)
    report = retention.PruneReport(dry_run=dry_run)
    with refusals(as_json):
        # a time ahead would prune state still kept; one before it prunes less, harmless
        now = rehearsal_moment(now_text, db, rehearsal or dry_run, past_allowed=True) or clock.now()
        rules = dict(db.settings.instance_retention)
        if process_key:
            rules = {process_key: days or rules.get(process_key, 0)}
        elif days:
            raise Invalid("--days hanya bersama --definition")
        if not rules or 0 in rules.values():
            raise Invalid("Tidak ada masa simpan: isi SIJOSKU_INSTANCE_RETENTION atau --definition dan --days")
        for key, kept_days in rules.items():
            report.cutoffs[key] = (now - timedelta(days=kept_days)).isoformat()
            report.cleared[key] = _prune(db, key, kept_days, now, dry_run)
    emit(
        as_json,
        report.to_dict(),
        lambda: "\n".join(
            f"{key}: {n} instans selesai sebelum {local_time(report.cutoffs[key])} "
            + ("akan dibersihkan (uji coba)" if dry_run else "dibersihkan")
            for key, n in report.cleared.items()
        ),
    )


def _prune(db: Database, process_key: str, days: int, now: datetime, dry_run: bool) -> int:
    """Batch after batch, each its own transaction, until nothing is left past retention."""
    if dry_run:
        with db.read() as session:
            return retention.count_due(session, CLI_ACTOR, process_key, days, now)
    total = 0
    while True:
        with db.transaction() as session:
            cleared = retention.prune_batch(session, CLI_ACTOR, process_key, days, now)
        total += cleared
        if not cleared:
            return total


COMMANDS = [definitions_group, instances_group]
