"""Rules of the `sijosku` command line that administrators and the scripts around it lean on: a
file too large is refused before it is read; `demo --if-empty` leaves a database with people alone;
a warning goes to stderr so that --json stays JSON; `user add --email` keeps the address, `user
password` sets the line typed and `user import --user` puts that admin on the trail; e-mails are
resent only as asked; the rhythm's deadlines are exactly four, with the shipped defaults; `cycle
status --region` counts that region; a diagram with only warnings is deployed only with --yes;
`instances prune` may look back in time on the live database, refuses --days without --definition
and a definition with no period set or given; a token made without options lasts a year, read-only, at
120 calls a minute; a failed job run, a failed Dukcapil round, data not whole and a migration that refuses an instance
exit 1; `reconciliation open --user` puts that steward on the trail."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text

from engine.core import clock
from engine.verification import processes
from models import AuditEvent
from tests.factories import (
    PERIOD,
    RECONCILIATION_YEAR,
    SYSTEM,
    csv_of,
    make_team,
    open_task,
    open_with_items,
    person_row,
    submit,
)
from tests.integration.test_process_versions import RENAMED

DESA = "65.01.01.2005"


def as_json(result):
    return json.loads(result.stdout)


def test_a_file_larger_than_the_bound_is_refused_before_it_is_read(cli, tmp_path):
    big = tmp_path / "besar.bpmn"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)  # sparse: one byte over 20 MB
    refused = cli("definitions", "deploy", str(big), ok=False)
    assert refused.exit_code == 1 and f"{big} terlalu besar: paling besar 20 MB" in refused.stderr


def test_demo_if_empty_fills_an_empty_database_and_then_leaves_it_alone(cli):
    first = as_json(cli("demo", "--desa", "1", "--records-per-desa", "1", "--if-empty", "--json"))
    assert len(first["pengajuan"]) == 1
    again = as_json(cli("demo", "--desa", "1", "--records-per-desa", "1", "--if-empty", "--json"))
    assert again == {"dilewati": True}
    assert "dilewati" in cli("demo", "--if-empty").stdout


def test_user_add_without_a_password_warns_on_stderr_and_keeps_json_clean(cli):
    added = cli("user", "add", "verif.kab", "--role", "verifier", "--region", "65.01", "--json")
    assert "belum punya kata sandi" in added.stderr
    told = as_json(added)  # stdout is JSON alone
    assert told["username"] == "verif.kab" and told["roles"] == [
        {"role": "verifier", "region": "65.01", "tingkat": "kabupaten"}
    ]


def test_user_add_with_an_email_stores_it_for_notifications(cli, db):
    from models import User

    added = as_json(
        cli(
            "user", "add", "verif.kec", "--role", "verifier", "--region", "65.01.01", "--email", "v@contoh.id", "--json"
        )
    )
    assert added["email"] == "v@contoh.id"
    with db.read() as s:
        assert s.scalar(select(User.email).where(User.username == "verif.kec")) == "v@contoh.id"


def _failed_emails(db):
    from models import EmailMessage

    with db.transaction() as s:
        made = [
            EmailMessage(to_address=to, subject="Tugas baru", text="", html="", attempts=5, last_error="421 sibuk")
            for to in ("a@contoh.id", "b@contoh.id")
        ]
        s.add_all(made)
        s.flush()
        return [m.id for m in made]


def _attempts(db):
    from models import EmailMessage

    with db.read() as s:
        return dict(s.execute(select(EmailMessage.id, EmailMessage.attempts)).all())


def test_email_resend_requeues_only_the_messages_named(cli, db):
    first, second = _failed_emails(db)
    assert as_json(cli("email", "resend", str(first), "--json")) == {"diantre": 1}
    assert _attempts(db) == {first: 0, second: 5}


def test_email_resend_without_ids_or_all_requeues_nothing(cli, db):
    ids = _failed_emails(db)
    refused = cli("email", "resend", ok=False)
    assert refused.exit_code == 2 and "--all" in refused.stderr
    assert _attempts(db) == dict.fromkeys(ids, 5)
    assert as_json(cli("email", "resend", "--all", "--json")) == {"diantre": 2}


def test_the_rhythm_takes_exactly_four_deadlines_and_defaults_to_the_shipped_rhythm(cli, db):
    from models import CycleRhythm

    refused = cli("cycle", "rhythm", "--ritme", "semester", "--deadlines", "30,45,60,75,90", ok=False)
    assert refused.exit_code == 1 and "empat bilangan" in refused.stderr
    cli("cycle", "rhythm", "--ritme", "triwulan")
    with db.read() as s:
        kept = s.scalars(select(CycleRhythm)).one()
        assert (kept.hari_buka, kept.pengingat_hari) == (1, 3)
        assert (kept.batas_desa, kept.batas_kecamatan, kept.batas_kabupaten, kept.batas_provinsi) == (30, 45, 60, 75)


def test_a_prune_may_look_back_in_time_without_a_rehearsal(cli):
    yesterday = (clock.now() - timedelta(days=1)).isoformat()
    told = as_json(
        cli("instances", "prune", "--definition", "verifikasi_berjenjang", "--days", "30", "--now", yesterday, "--json")
    )
    assert told["dibersihkan"] == {"verifikasi_berjenjang": 0}


def test_user_password_sets_the_line_typed_and_it_must_be_changed(cli, db):
    from engine.people import users
    from models import User

    cli("user", "add", "siti.op", "--role", "operator", "--region", DESA)
    told = as_json(cli("user", "password", "siti.op", "--password-stdin", "--json", input="baru-sandi-456\n"))
    assert told == {"username": "siti.op", "wajib_diganti": True}
    with db.read() as s:
        person = s.scalar(select(User).where(User.username == "siti.op"))
        assert users.check_password(person, "baru-sandi-456") and person.ganti_sandi


def test_user_import_puts_the_named_admin_on_the_trail(cli, db, tmp_path):
    from models import AuditEvent

    cli("user", "add", "admin.prov", "--role", "admin", "--region", "65")
    rows = tmp_path / "akun.csv"
    rows.write_text("username,nama,peran,wilayah\nop.baru,Op Baru,operator,65.01.01.2005\n", encoding="utf-8")
    with db.read() as s:
        before = s.scalar(select(func.max(AuditEvent.seq)))
    made = as_json(cli("user", "import", str(rows), "--user", "admin.prov", "--json"))
    assert [m["username"] for m in made] == ["op.baru"]
    with db.read() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.seq > before)))
    assert actors == {"admin.prov"}


def test_cycle_status_counts_the_region_asked_for(cli):
    cli("cycle", "open", "2027-Q1", "--region", "65.01.01")
    status = as_json(cli("cycle", "status", "2027-Q1", "--region", "65.01.01", "--json"))
    assert status["jumlah"]["kode"] == "65.01.01" and status["jumlah"]["expected"] == 9
    assert {r["kode"] for r in status["wilayah"]} and all(r["kode"].startswith("65.01.01.") for r in status["wilayah"])


def test_prune_days_without_a_definition_is_refused_as_such(cli):
    refused = cli("instances", "prune", "--days", "30", "--dry-run", ok=False)
    assert refused.exit_code == 1 and "--days hanya bersama --definition" in refused.stderr


def test_a_token_made_without_options_lasts_a_year_at_120_calls_a_minute_read_only(cli):
    made = as_json(
        cli("token", "create", "--agency", "DP3AP2KB", "--region", "65.01", "--resources", "agregat", "--json")
    )
    assert made["batas_laju"] == "120/minute" and not made["tulis"] and not made["nik_lengkap"]
    lasts = clock.instant(made["kedaluwarsa"]) - clock.now()
    assert timedelta(days=364) < lasts <= timedelta(days=365)


def test_a_job_run_that_fails_exits_1_for_the_timer_that_ran_it(cli, monkeypatch):
    from engine.people import sign_in

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk penuh")

    monkeypatch.setattr(sign_in, "purge_attempts", broken)
    failed = cli("jobs", "run", "percobaan_masuk", "--json", ok=False)
    assert failed.exit_code == 1
    told = as_json(failed)
    assert told["job_id"] == "percobaan_masuk" and told["hasil"] == "gagal" and "disk penuh" in told["pesan"]


def test_a_dukcapil_round_that_fails_exits_1(cli, monkeypatch):
    from engine.verification import nik_matching

    def broken(*_args, **_kwargs):
        raise RuntimeError("layanan Dukcapil mati")

    monkeypatch.setattr(nik_matching, "sync", broken)
    failed = cli("dukcapil", "sync", "--json", ok=False)
    assert failed.exit_code == 1 and as_json(failed)["hasil"] == "gagal"


def test_check_exits_1_when_the_data_is_not_whole(cli, db):
    cli("user", "add", "verif.kab", "--role", "verifier", "--region", "65.01")
    assert as_json(cli("check", "--json"))["ok"] is True
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'penyusup' WHERE seq = 1"))
    found = cli("check", "--json", ok=False)
    assert found.exit_code == 1 and as_json(found)["ok"] is False


def test_a_diagram_with_only_warnings_is_deployed_only_with_yes(cli, tmp_path):
    from tests.integration.test_definitions import variant

    warned = tmp_path / "peringatan.bpmn"
    warned.write_text(variant(('keputusan == "kembalikan"', 'keputusn == "kembalikan"')), encoding="utf-8")
    held = cli("definitions", "deploy", str(warned), ok=False)
    assert held.exit_code == 1 and "0 kesalahan, 1 peringatan" in held.stderr and "dengan --yes" in held.stderr
    assert _versions(cli) == [1]
    cli("definitions", "deploy", str(warned), "--yes")
    assert _versions(cli) == [1, 2]


def _versions(cli):
    listed = as_json(cli("definitions", "list", "--json"))
    return sorted(d["version"] for d in listed if d["process_key"] == "verifikasi_berjenjang")


def test_prune_of_a_definition_with_no_period_set_or_given_is_refused(cli):
    refused = cli("instances", "prune", "--definition", "verifikasi_berjenjang", "--dry-run", ok=False)
    assert refused.exit_code == 1 and "Tidak ada masa simpan" in refused.stderr


def test_tasks_lists_only_open_work_unless_asked(cli, tmp_path):
    cli(
        "user", "add", "op.desa", "--role", "operator", "--region", DESA, "--password-stdin", input="sandi-operator-1\n"
    )
    cli("user", "add", "verif.kec", "--role", "verifier", "--region", "65.01.01")
    opened = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))
    data = tmp_path / "data.csv"
    data.write_text(csv_of([person_row(1)]))
    cli("submission", "import", str(opened["submission_id"]), str(data))
    cli("submission", "submit", str(opened["submission_id"]), "--user", "op.desa")
    assert as_json(cli("tasks", "--user", "op.desa", "--json")) == []
    assert as_json(cli("tasks", "--user", "op.desa", "--status", "selesai", "--json"))


def test_a_reconciliation_is_not_opened_over_open_verification_work_without_force(cli):
    cli("submission", "open", "--desa", DESA, "--period", PERIOD)
    refused = cli("reconciliation", "open", "2026", ok=False)
    assert refused.exit_code == 1 and "Masih ada 1 tugas verifikasi tahun 2026 yang terbuka" in refused.stderr


def test_an_upload_number_out_of_range_is_a_usage_error(cli):
    for number in ("0", str(10**30)):
        refused = cli("agency", "undo", number, "2026", "--reason", "salah unggah berkas", ok=False)
        assert refused.exit_code == 2 and "NUMBER" in refused.stderr


def test_a_migration_that_refuses_an_instance_exits_1_and_moves_nothing(cli, db, tmp_path):
    """A waiting task mapped onto a step of another kind: the instance stays where it is, and the
    script that ran the command is told by its exit status, with the refusal in the JSON."""
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.transaction() as session:
        processes.deploy(session, SYSTEM, RENAMED)
    mapping = tmp_path / "peta.txt"
    mapping.write_text("verifikasi_kecamatan = gw_kecamatan\n", encoding="utf-8")
    moved = cli("instances", "migrate", "--from", "1", "--to", "2", "--mapping", str(mapping), "--json", ok=False)
    assert moved.exit_code == 1
    report = json.loads(moved.stdout)
    assert (report["moved"], report["refused"]) == (0, 1)
    assert any("berjenis lain" in p["message"] for p in report["results"][0]["problems"])
    assert open_task(db, submission_id, "kecamatan").bpmn_id == "verifikasi_kecamatan"


def test_a_reconciliation_opened_for_a_named_steward_puts_that_steward_on_the_trail(cli, year):
    opened = json.loads(
        cli("reconciliation", "open", str(RECONCILIATION_YEAR), "--force", "--user", "walidata.prov", "--json").output
    )
    assert opened["dibuka"] is True
    with year.read() as session:
        (row,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "RECONCILIATION_OPENED")).all()
    assert row.actor == "walidata.prov"
