"""`sijosku` commands of the verification work: submissions, tasks, records, audit, timers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.bpmn import timers
from engine.core.errors import Invalid, NotFound
from engine.verification import (
    bulk_approval,
    claims,
    decisions,
    imports,
    inbox,
    minutes,
    record_history,
    register,
    submissions,
    trail,
)
from models import VervalStatus
from web.cli.common import (
    CLI_ACTOR,
    acting,
    database,
    emit,
    json_option,
    local_time,
    read_file,
    read_text,
    refusals,
    rehearsal_moment,
    rehearsal_option,
)


@click.group()
def submission() -> None:
    """Pengajuan desa per periode."""


@submission.command("open")
@click.option("--desa", required=True, help="kode desa/kelurahan, mis. 65.01.01.2005")
@click.option("--period", required=True, help="mis. 2026-Q4 atau 2026-S2")
@json_option
@click.pass_context
def submission_open(ctx: click.Context, desa: str, period: str, as_json: bool) -> None:
    db = database(ctx)
    with refusals(as_json), db.transaction() as session:
        result = submissions.open_submission(
            session, CLI_ACTOR, desa, period, db.settings.province, db.settings.default_sla
        )
        data = {
            "submission_id": result.submission.id,
            "created": result.created,
            "instance_id": result.submission.instance_id,
        }
    emit(as_json, data, str(data["submission_id"]))


@submission.command("import")
@click.argument("submission_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", help="operator yang mengimpor (bawaan: sistem)")
@json_option
@click.pass_context
def submission_import(ctx: click.Context, submission_id: int, file: Path, username: str | None, as_json: bool) -> None:
    with refusals(as_json):
        content = read_text(file, "CSV")
        with database(ctx).transaction() as session:
            report = imports.import_items(session, acting(session, username), submission_id, content)
    emit(
        as_json,
        report.to_dict(),
        f"{report.rows} baris diimpor ke pengajuan {submission_id}: {report.summary()}",
    )


@submission.command("minutes")
@click.argument("submission_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="operator desa")
@json_option
@click.pass_context
def submission_minutes(ctx: click.Context, submission_id: int, file: Path, username: str, as_json: bool) -> None:
    """Lampirkan berita acara musyawarah desa (PDF bertanda tangan) pada pengajuan."""
    db = database(ctx)
    with refusals(as_json):
        content = read_file(file)
        with db.transaction() as session:
            minutes.attach_minutes(
                session, acting(session, username), submission_id, file.name, content, db.settings.upload_dir
            )
    emit(as_json, {"submission_id": submission_id, "berita_acara": file.name}, f"Berita acara {file.name} dilampirkan")


@submission.command("reverify")
@click.argument("submission_id", type=int)
@click.option("--user", "username", required=True, help="operator desa")
@click.option("--item", "item_ids", type=int, multiple=True, required=True, help="item register (boleh berulang)")
@click.option("--status", "status", type=click.Choice([s.value for s in VervalStatus]), required=True)
@click.option("--reason", default="", help="alasan; wajib kecuali layak")
@click.option("--destination", default="", help="tujuan pindah, bila diketahui")
@json_option
@click.pass_context
def submission_reverify(
    ctx: click.Context,
    submission_id: int,
    username: str,
    item_ids: tuple[int, ...],
    status: str,
    reason: str,
    destination: str,
    as_json: bool,
) -> None:
    """Beri status verval pada catatan register pengajuan (ditemukan layak, meninggal, pindah, ...)."""
    with refusals(as_json), database(ctx).transaction() as session:
        changed = register.set_status(
            session, acting(session, username), submission_id, list(item_ids), VervalStatus(status), reason, destination
        )
    emit(
        as_json,
        {"submission_id": submission_id, "changed": changed},
        f"{changed} catatan diberi status {register.status_words(VervalStatus(status))}",
    )


@submission.command("declare")
@click.argument("submission_id", type=int)
@click.option("--user", "username", required=True, help="operator desa")
@click.option("--nihil/--not-nihil", default=None, help="desa tidak memiliki PPKS sama sekali periode ini")
@click.option(
    "--not-checked",
    "unchecked",
    default=None,
    help="alasan register tidak dapat diperiksa periode ini (kosong: tarik pernyataan)",
)
@json_option
@click.pass_context
def submission_declare(
    ctx: click.Context, submission_id: int, username: str, nihil: bool | None, unchecked: str | None, as_json: bool
) -> None:
    """Pernyataan operator: nihil, atau register tidak dapat diperiksa (dengan alasan)."""
    with refusals(as_json), database(ctx).transaction() as session:
        found = register.declare(session, acting(session, username), submission_id, nihil, unchecked)
        data = {"submission_id": found.id, "nihil": found.nihil, "tidak_diperiksa": found.tidak_diperiksa}
    emit(
        as_json,
        data,
        f"Pengajuan {submission_id}: nihil={'ya' if data['nihil'] else 'tidak'}"
        + (f"; tidak diperiksa: {data['tidak_diperiksa']}" if data["tidak_diperiksa"] else ""),
    )


@submission.command("submit")
@click.argument("submission_id", type=int)
@click.option("--user", "username", required=True)
@json_option
@click.pass_context
def submission_submit(ctx: click.Context, submission_id: int, username: str, as_json: bool) -> None:
    with refusals(as_json), database(ctx).transaction() as session:
        result = submissions.submit(session, acting(session, username), submission_id)
        data = {
            "submission_id": result.id,
            "status": result.status.value,
            "tingkat": result.tingkat.value,
            "putaran": result.putaran,
            "alasan": result.alasan_terakhir,
        }
    emit(
        as_json,
        data,
        f"Pengajuan {submission_id}: {data['status']} (tingkat {data['tingkat']})"
        + (f"; {data['alasan']}" if data["alasan"] else ""),
    )


@click.command(name="tasks")
@click.option("--user", "username", required=True)
@click.option("--period")
@click.option("--status", default="terbuka", help=f"salah satu dari: {', '.join(inbox.STATUSES)}")
@json_option
@click.pass_context
def tasks_list(ctx: click.Context, username: str, period: str | None, status: str, as_json: bool) -> None:
    """Kotak tugas pengguna."""
    db = database(ctx)
    with refusals(as_json), db.read() as session:
        page = inbox.inbox_page(
            session, acting(session, username), inbox.InboxFilter(periode=period or "", status=status, per_halaman=200)
        )
        rows = [inbox.task_view(t, db.settings.tz) for t in page.tasks]
    emit(
        as_json,
        rows,
        lambda: (
            "\n".join(
                f"{r['id']}\t{r['nama']}\t{r['tingkat']}\t{r['kode_desa'] or r['region_kode']}\t{r['periode']}\t"
                f"{(r['due_at'] or '-')[:16]}\t{r['status']}{' TERLAMBAT' if r['overdue'] else ''}"
                for r in rows
            )
            or "Tidak ada tugas"
        ),
    )


@click.group()
def task() -> None:
    """Satu tugas: klaim, lepas, selesaikan."""


def _claim_command(action: Callable[..., Any], verb: str) -> Callable[..., None]:
    @click.argument("task_id", type=int)
    @click.option("--user", "username", required=True)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, task_id: int, username: str, as_json: bool) -> None:
        with refusals(as_json), database(ctx).transaction() as session:
            done = action(session, acting(session, username), task_id)
            data = {"task_id": done.id, "assignee_id": done.assignee_id}
        emit(as_json, data, f"Tugas {task_id} {verb}")

    return command


task.command("claim")(_claim_command(claims.claim, "diklaim"))
task.command("unclaim")(_claim_command(claims.unclaim, "dilepas"))


def _parse_pairs(values: tuple[str, ...], option: str) -> dict[int, str]:
    """`ID=TEXT` given with an option, as ids to texts (`--item` reasons, `--ack` notes)."""
    parsed = {}
    for value in values:
        number, _, text = value.partition("=")
        if not (number.strip().isascii() and number.strip().isdigit()):
            raise Invalid(f"{option} {value!r} tidak sah; gunakan {option} ID=TEKS")
        parsed[int(number)] = text.strip()
    return parsed


@task.command("complete")
@click.argument("task_id", type=int)
@click.option("--user", "username", required=True)
@click.option("--decision", required=True, type=click.Choice(["approve", "return"]))
@click.option("--reason")
@click.option("--item", "items", multiple=True, help="item tidak sesuai: ID_ITEM=ALASAN (boleh berulang)")
@click.option("--in-order", "in_order", multiple=True, type=int, help="item sesuai: ID_ITEM (boleh berulang)")
@click.option(
    "--ack",
    "acks",
    multiple=True,
    help="catatan yang menerima nilai bertanda peringatan: ID_TANDA=CATATAN (ID_TANDA: angka setelah ack_ pada "
    "penolakan; boleh berulang)",
)
@click.option(
    "--all-in-order",
    is_flag=True,
    help="setiap item yang tidak disebut --item dinilai sesuai (setelah memeriksanya satu per satu)",
)
@click.option("--revision", type=int, help="revisi instans yang dilihat; tolak bila sudah berubah")
@json_option
@click.pass_context
def task_complete(
    ctx: click.Context,
    task_id: int,
    username: str,
    decision: str,
    reason: str | None,
    items: tuple[str, ...],
    in_order: tuple[int, ...],
    acks: tuple[str, ...],
    all_in_order: bool,
    revision: int | None,
    as_json: bool,
) -> None:
    with refusals(as_json), database(ctx).transaction() as session:
        command = decisions.DecisionCommand(
            task_id=task_id,
            keputusan=decision,
            alasan=reason,
            tidak_sesuai=_parse_pairs(items, "--item"),
            sesuai=frozenset(in_order),
            semua_sesuai=all_in_order,
            revisi_instans=revision,
            pengakuan=_parse_pairs(acks, "--ack"),
        )
        done = decisions.decide(session, acting(session, username), command)
        data = {"task_id": done.id, "status": done.status.value, "keputusan": done.keputusan}
    emit(as_json, data, f"Tugas {task_id} selesai: {data['keputusan']}")


@task.command("approve-many")
@click.argument("task_ids", nargs=-1, type=int)
@click.option("--user", "username", required=True)
@click.option("--region", default="", help="setujui semua tugas terbuka wilayah ini (bersama --period)")
@click.option("--period", "periode", default="", help="periode, mis. 2026-Q4")
@click.option("--reason", default=None, help="catatan persetujuan")
@json_option
@click.pass_context
def task_approve_many(
    ctx: click.Context,
    task_ids: tuple[int, ...],
    username: str,
    region: str,
    periode: str,
    reason: str | None,
    as_json: bool,
) -> None:
    """Setujui banyak tugas kabupaten/kota atau provinsi sekaligus: yang disebut, atau semua tugas
    terbuka satu wilayah dan periode."""
    with refusals(as_json), database(ctx).transaction() as session:
        outcome = bulk_approval.approve_many(
            session,
            acting(session, username),
            task_ids=list(task_ids) or None,
            region=region,
            periode=periode,
            alasan=reason,
        )
    data = {
        "disetujui": outcome.decided,
        "tidak_disetujui": {str(k): v for k, v in outcome.refused.items()},
        "tersisa": outcome.left,
    }
    lines = [f"{len(outcome.decided)} tugas disetujui"]
    lines += [f"  tugas {task_id} tidak disetujui: {why}" for task_id, why in outcome.refused.items()]
    if outcome.left:
        lines.append(f"{len(outcome.left)} tugas tersisa (batas item satu tindakan); jalankan perintah yang sama lagi")
    emit(as_json, data, "\n".join(lines))


@click.group(name="records")
def records_group() -> None:
    """Catatan PPKS."""


@records_group.command("history")
@click.argument("nik")
@click.option("--alasan", "reason", required=True, help="mengapa riwayat orang ini dibuka (tercatat di jejak audit)")
@click.option("--user", "username", help="auditor yang membuka (bawaan: baris perintah)")
@json_option
@click.pass_context
def records_history(ctx: click.Context, nik: str, reason: str, username: str | None, as_json: bool) -> None:
    """Setiap versi catatan dengan NIK ini; pembukaannya tercatat di jejak audit dengan alasannya."""
    with refusals(as_json):
        with database(ctx).transaction() as session:  # a look that finds nothing is on the trail too
            rows = record_history.history(session, acting(session, username), nik, reason)
        if not rows:
            raise NotFound(f"Tidak ada catatan dengan NIK {nik}")

    def text() -> str:
        lines = []
        for r in rows:
            lines.append(
                f"[{local_time(r['waktu'])}] catatan {r['record_id']} versi {r['versi']} ({r['status']}) oleh "
                f"{r['actor']} di tingkat {r['tingkat'] or '-'}, tugas {r['tugas'] or '-'}, "
                f"sumber {r['sumber']}"
            )
            lines += [f"    {k}: {b!r} → {a!r}" for k, (b, a) in r["perubahan"].items()]
            lines += [
                f"    {t['tingkat']}: {t['keputusan']} oleh {t['oleh']} ({local_time(t['waktu'])})"
                for t in r["verifikasi"]
            ]
        return "\n".join(lines)

    emit(as_json, rows, text)


@click.group(name="audit")
def audit_group() -> None:
    """Jejak audit."""


@audit_group.command("verify")
@click.option(
    "--published",
    default="",
    help="kepala yang diterbitkan sebelumnya, BARIS:HASH (dari keluaran perintah ini): rantai harus melewatinya",
)
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, published: str, as_json: bool) -> None:
    db = database(ctx)
    with refusals(as_json), db.read() as session:
        report = trail.verify_trail(session, CLI_ACTOR, db.settings.province, published)
    head = f"\nkepala untuk diterbitkan: {report.rows}:{report.head_hash}" if report.ok else ""
    emit(as_json, report.to_dict(), report.message + head)
    if not report.ok:
        click.echo(f"Galat: {report.message}", err=True)
        raise SystemExit(1)


@click.group(name="timers")
def timers_group() -> None:
    """Timer BPMN (batas waktu)."""


@timers_group.command("fire")
@click.option("--now", "now_text", help="waktu ISO 8601 dengan zona, mis. 2026-12-20T08:00:00+08:00")
@rehearsal_option
@json_option
@click.pass_context
def timers_fire(ctx: click.Context, now_text: str | None, rehearsal: bool, as_json: bool) -> None:
    db = database(ctx)
    with refusals(as_json):
        fired = timers.fire_due_timers(db, rehearsal_moment(now_text, db, rehearsal))
    emit(as_json, {"fired": fired}, f"{fired} instans maju karena timer")


COMMANDS = [submission, tasks_list, task, records_group, audit_group, timers_group]
