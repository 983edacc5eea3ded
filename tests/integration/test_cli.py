"""The `sijosku` command-line contract: names, --json output, exit status and messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from engine.core import clock
from engine.core.config import DEFAULT_BPMN_DIR
from tests.factories import PERIOD, csv_of, person_row

DESA = "65.01.01.2005"


def as_json(result):
    return json.loads(result.stdout)


def _team(cli):
    cli(
        "user",
        "add",
        "op.desa",
        "--role",
        "operator",
        "--region",
        DESA,
        "--password-stdin",
        input="kata-sandi-operator\n",
    )
    cli("user", "add", "verif.kec", "--role", "verifier", "--region", "65.01.01")
    cli("user", "add", "verif.kab", "--role", "verifier", "--region", "65.01")
    cli("user", "add", "valid.prov", "--role", "validator", "--region", "65")


def test_an_empty_password_on_standard_input_creates_no_one(cli, db):
    from engine.core.errors import NotFound
    from engine.people import users

    refused = cli(
        "user", "add", "admin.kosong", "--role", "admin", "--region", "65", "--password-stdin", input="\n", ok=False
    )
    assert "kosong" in refused.stderr
    with db.read() as s, pytest.raises(NotFound):
        users.find_user(s, "admin.kosong")


def test_a_password_chosen_at_the_command_line_is_changed_at_sign_in(cli, db):
    """Whoever runs `user add --password-stdin` knows the password, as an administrator on the web does."""
    add = ("user", "add", "siti.op", "--role", "operator", "--region", "65.01.01.2005", "--password-stdin")
    cli(*add, input="awal-sandi-123\n")
    from models import AuditEvent, User

    with db.transaction() as s:
        person = s.scalar(select(User).where(User.username == "siti.op"))
        assert person.ganti_sandi
        person.ganti_sandi = False  # she changed it; later the command line sets another
    cli(*add, input="lain-sandi-456\n")
    with db.read() as s:
        assert s.scalar(select(User.ganti_sandi).where(User.username == "siti.op"))
        reset = s.scalar(select(AuditEvent).where(AuditEvent.action == "USER_PASSWORD_SET"))
    assert reset.after == {"wajib_diganti": True}
    refused = cli(*add, input="siti.op-2026-x\n", ok=False)
    assert "nama pengguna" in refused.stderr


@pytest.mark.parametrize(
    ("revision", "said"),
    [("0052", "tertinggal dari rilis ini"), ("9999", "lebih baru dari rilis ini"), ("", "belum disiapkan")],
)
def test_serving_or_scheduling_on_a_schema_not_the_codes_is_refused_with_what_to_do(
    cli, db, monkeypatch, revision, said
):
    """Started anyway, every request would fail on a column one side lacks and read as "the database
    cannot be reached"; the command says which revision each has, and what to run."""
    from engine.setup import initialise
    from models.schema import revisions
    from web.cli import operations, setup

    def started(*args, **kwargs):  # had the check let it through: fail, instead of serving for ever
        raise AssertionError("started on a schema not the code's")

    monkeypatch.setattr(setup, "waitress_serve", started)
    monkeypatch.setattr(setup.os, "execvp", started)
    monkeypatch.setattr(operations.jobs, "build", started)

    head = revisions(db.engine)[1]
    with db.engine.begin() as c:  # "": a database no release has set up
        c.execute(text("DELETE FROM alembic_version"))
        if revision:
            c.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})
    try:
        for command in (("run", "--port", "5999"), ("scheduler",), ("serve", "--bind", "127.0.0.1:5999")):
            refused = cli(*command, ok=False)
            assert said in refused.stderr and revision in refused.stderr, command
            assert not revision or head in refused.stderr
        assert said in initialise.schema_mismatch(db)  # what `restore` adds after a backup of another release
    finally:
        with db.engine.begin() as c:
            c.execute(text("DELETE FROM alembic_version"))
            c.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
    assert initialise.schema_mismatch(db) == ""


def test_init_is_idempotent(cli):
    first = as_json(cli("init", "--json"))
    assert first["ditambahkan"] == {"wilayah": 0, "penduduk": 0, "kategori": 0, "kode_lama": 0}
    assert [d["created"] for d in first["definisi"]] == [False, False]


def test_the_whole_path_through_the_command_line(cli, tmp_path):
    _team(cli)
    opened = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))
    again = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))
    assert again["submission_id"] == opened["submission_id"] and again["created"] is False
    sid = str(opened["submission_id"])
    assert cli("submission", "open", "--desa", DESA, "--period", PERIOD).stdout.strip() == sid
    data = tmp_path / "data.csv"
    data.write_text(csv_of([person_row(1), person_row(2)]))
    report = as_json(cli("submission", "import", sid, str(data), "--json"))
    assert report["rows"] == 2 and report["added"] == 2

    op_tasks = as_json(cli("tasks", "--user", "op.desa", "--json"))
    assert [(t["nama"], t["tingkat"], t["region_kode"], t["periode"]) for t in op_tasks] == [
        ("Siapkan dan ajukan data desa", "desa", DESA, PERIOD)
    ]
    assert as_json(cli("submission", "submit", sid, "--user", "op.desa", "--json"))["tingkat"] == "kecamatan"

    task = as_json(cli("tasks", "--user", "verif.kec", "--json"))[0]
    assert task["tingkat"] == "kecamatan" and task["region_kode"] == "65.01.01" and task["due_at"]
    cli("task", "claim", str(task["id"]), "--user", "verif.kec")
    unjudged = cli("task", "complete", str(task["id"]), "--user", "verif.kec", "--decision", "approve", ok=False)
    assert unjudged.exit_code == 1 and "belum diberi putusan" in unjudged.output + unjudged.stderr
    cli("task", "complete", str(task["id"]), "--user", "verif.kec", "--decision", "approve", "--all-in-order")
    for user in ("verif.kab", "valid.prov"):
        tid = str(as_json(cli("tasks", "--user", user, "--json"))[0]["id"])
        done = as_json(cli("task", "complete", tid, "--user", user, "--decision", "approve", "--json"))
        assert done["status"] == "selesai" and done["keputusan"] == "setuju"

    why = ("--alasan", "klarifikasi pengaduan")
    history = as_json(cli("records", "history", person_row(1)["nik"], *why, "--json"))
    assert len(history) == 1
    version = history[0]
    assert version["actor"] == "valid.prov" and version["tingkat"] == "provinsi" and version["task_id"]
    assert version["perubahan"]["nama"] == [None, "Maria Ingan 1"]
    assert [t["tingkat"] for t in version["verifikasi"]] == ["desa", "kecamatan", "kabupaten", "provinsi"]
    told = cli("records", "history", person_row(1)["nik"], *why).stdout
    assert "kecamatan: setuju oleh verif.kec" in told
    assert told.count(" WITA") == 5 and "+00:00" not in told  # times as the office reads them
    assert as_json(cli("audit", "verify", "--json"))["ok"] is True
    listed = as_json(cli("definitions", "list", "--json"))
    assert listed[0]["instances_running"] == 0 and listed[0]["is_current"]
    said = cli("definitions", "list").stdout
    assert said.count(" WITA") == len(listed) and "+00:00" not in said


def test_a_records_history_needs_a_reason_an_auditor_and_goes_on_the_trail(cli, db, tmp_path):
    """The history shows the whole person at every version: opened only for a stated reason, by the
    command line or an auditor whose region holds the record, each look recorded with its reason."""
    from models import AuditEvent

    _team(cli)
    cli("user", "add", "auditor.prov", "--role", "auditor", "--region", "65")
    cli("user", "add", "auditor.lain", "--role", "auditor", "--region", "65.02")
    sid = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))["submission_id"]
    data = tmp_path / "data.csv"
    data.write_text(csv_of([person_row(1)]))
    cli("submission", "import", str(sid), str(data))
    cli("submission", "submit", str(sid), "--user", "op.desa")
    task = as_json(cli("tasks", "--user", "verif.kec", "--json"))[0]
    cli("task", "complete", str(task["id"]), "--user", "verif.kec", "--decision", "approve", "--all-in-order")
    for user in ("verif.kab", "valid.prov"):
        tid = str(as_json(cli("tasks", "--user", user, "--json"))[0]["id"])
        cli("task", "complete", tid, "--user", user, "--decision", "approve")
    nik = person_row(1)["nik"]

    assert "Alasan terlalu pendek" in cli("records", "history", nik, "--alasan", "ok", ok=False).stderr
    assert "Alasan terlalu panjang" in cli("records", "history", nik, "--alasan", "x" * 2001, ok=False).stderr
    assert "auditor" in cli("records", "history", nik, "--alasan", "cek data", "--user", "op.desa", ok=False).stderr
    elsewhere = cli("records", "history", nik, "--alasan", "cek data", "--user", "auditor.lain", ok=False)
    assert "Tidak ada catatan" in elsewhere.stderr
    with db.read() as s:
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action == "NIK_VIEWED")).all()
        # a look that finds nothing still answers whether the number is there: on the trail, counted
        (missed,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "NIK_SEARCHED")).all()
    assert (missed.actor, missed.after) == ("auditor.lain", {"nik": nik, "ditemukan": 0})
    shown = as_json(cli("records", "history", nik, "--alasan", "pengaduan warga", "--user", "auditor.prov", "--json"))
    with db.read() as s:
        looks = s.scalars(select(AuditEvent).where(AuditEvent.action == "NIK_VIEWED")).all()
    assert [(e.actor, e.subject_type, e.subject_id, e.reason) for e in looks] == [
        ("auditor.prov", "ppks_record", str(shown[0]["record_id"]), "pengaduan warga")
    ]


def test_import_reports_every_bad_row_and_writes_nothing(cli, tmp_path):
    sid = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))["submission_id"]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        csv_of([person_row(1), person_row(2, nik="65010112"), person_row(3, jenis_kelamin="X", kategori="ZZZ")])
    )
    result = cli("submission", "import", str(sid), str(bad), "--json", ok=False)
    problems = as_json(result)["problems"]
    assert {(p["row"], p["column"]) for p in problems} == {(3, "nik"), (4, "jenis_kelamin"), (4, "kategori")}
    assert "baris 3, kolom nik" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text(csv_of([person_row(1)]))
    assert as_json(cli("submission", "import", str(sid), str(good), "--json"))["added"] == 1  # nothing left over
    missing = tmp_path / "missing.csv"
    missing.write_text("nik,nama\n1,2\n")
    assert "kolom wajib tidak ada" in cli("submission", "import", str(sid), str(missing), ok=False).stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("submission", "open", "--desa", "65.99.99.9999", "--period", PERIOD), "tidak dikenal"),
        (("submission", "open", "--desa", DESA, "--period", "2026-Q5"), "Periode"),
        (("submission", "open", "--desa", "11.01.01.2001", "--period", PERIOD), "luar provinsi"),
        (("user", "add", "x.y.z", "--role", "operator", "--region", "65.01"), "tingkat"),
        (("user", "add", "x.y.z", "--role", "bupati", "--region", "65"), "Peran"),
        (("task", "complete", "999", "--user", "nobody", "--decision", "approve"), "tidak ada"),
        (("records", "history", "6501010101010001", "--alasan", "klarifikasi"), "Tidak ada catatan"),
        (("records", "history", "6501010101010001"), "--alasan"),
        (("records", "history", "65010101" * 500, "--alasan", "klarifikasi"), "16 angka"),
        (("definitions", "deploy", "/nonexistent.bpmn"), "tidak dapat dibaca"),
        (("timers", "fire", "--now", "kemarin"), "ISO 8601"),
        (("reconciliation", "open", "9" * 5000), "tidak sah"),  # beyond int()'s digits: not a fault
        (("reconciliation", "status", "²"), "tidak sah"),
    ],
)
def test_errors_exit_non_zero_with_a_clear_message(cli, args, message):
    result = cli(*args, ok=False)
    assert message in result.stderr


def test_deploy_prints_errors_per_element(cli, tmp_path):
    bad = tmp_path / "bad.bpmn"
    xml = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()
    bad.write_text(xml.replace('hasil_pemeriksaan["lolos"]', '__import__("os")'))
    result = cli("definitions", "deploy", str(bad), "--json", ok=False)
    assert as_json(result)["problems"][0]["element"] == "f_pemeriksaan_lolos"
    good = tmp_path / "new.bpmn"
    good.write_text(xml.replace("sla_durasi</bpmn:timeDuration>", '"P21D"</bpmn:timeDuration>'))
    assert as_json(cli("definitions", "deploy", str(good), "--json"))["version"] == 2
    assert as_json(cli("definitions", "deploy", str(good), "--json"))["created"] is False


def test_audit_verify_prints_the_head_to_publish_and_checks_a_published_one(cli, db):
    _team(cli)
    said = cli("audit", "verify").stdout
    head = said.rsplit("kepala untuk diterbitkan: ", 1)[1].strip()
    assert as_json(cli("audit", "verify", "--json"))["head_hash"] == head.split(":")[1]
    assert "rantai audit utuh" in cli("audit", "verify", "--published", head).stdout
    wrong = head.split(":")[0] + ":" + "a" * 64
    assert "diterbitkan" in cli("audit", "verify", "--published", wrong, ok=False).stderr
    assert "BARIS:HASH" in cli("audit", "verify", "--published", "kemarin", ok=False).stderr


def test_audit_verify_exits_1_naming_the_altered_row(cli, db):
    _team(cli)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'penyusup' WHERE seq = 2"))
    result = cli("audit", "verify", ok=False)
    assert "baris audit 2" in result.stderr


def test_timers_fire_with_a_controlled_clock(cli):
    _team(cli)
    sid = str(as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))["submission_id"])
    refused = cli("submission", "submit", sid, "--user", "op.desa", ok=False)
    assert "laporkan nihil" in refused.stderr  # an empty submission is never a silent "no change"
    cli("submission", "declare", sid, "--user", "op.desa", "--nihil")
    cli("submission", "submit", sid, "--user", "op.desa")
    assert as_json(cli("timers", "fire", "--json"))["fired"] == 0
    future = ("timers", "fire", "--now", "2099-01-01T08:00:00+08:00", "--json")
    refused = cli(*future, ok=False)  # on the live database the escalation would carry the year 2099
    assert "masa depan" in refused.stderr and "--latihan" in refused.stderr
    hour_ahead = (clock.now() + timedelta(hours=1)).isoformat()
    assert "masa depan" in cli("timers", "fire", "--now", hour_ahead, ok=False).stderr
    day_before = (clock.now() - timedelta(days=1)).isoformat()  # a run dated before it ran: refused too
    assert "masa lalu" in cli("timers", "fire", "--now", day_before, ok=False).stderr
    assert as_json(cli("timers", "fire", "--now", clock.now().isoformat(), "--json"))["fired"] == 0
    assert as_json(cli(*future, "--latihan"))["fired"] == 1  # a rehearsal copy
    assert as_json(cli("tasks", "--user", "verif.kec", "--json"))[0]["overdue"] is True


def test_demo_creates_users_and_valid_submissions(cli):
    result = as_json(cli("demo", "--desa", "2", "--records-per-desa", "4", "--json"))
    assert len(result["pengajuan"]) == 2 and "operator.6501011001" in result["pengguna_baru"]
    sid = str(result["pengajuan"][0]["submission_id"])
    assert (
        as_json(cli("submission", "submit", sid, "--user", "operator.6501011001", "--json"))["tingkat"] == "kecamatan"
    )


def test_demo_after_a_cycle_opened_fills_the_empty_drafts_the_cycle_made(cli):
    cli("cycle", "open", "2027-Q1", "--region", "65.01.01", "--json")
    result = as_json(cli("demo", "--desa", "2", "--records-per-desa", "4", "--period", "2027-Q1", "--json"))
    assert [s["created"] for s in result["pengajuan"]] == [True, True]
    sid = str(result["pengajuan"][0]["submission_id"])
    submitted = as_json(cli("submission", "submit", sid, "--user", "operator.6501011001", "--json"))
    assert submitted["tingkat"] == "kecamatan"  # an empty draft (neither people nor nil) is not sent up
    again = as_json(cli("demo", "--desa", "2", "--records-per-desa", "4", "--period", "2027-Q1", "--json"))
    assert [s["created"] for s in again["pengajuan"]] == [False, False]  # not filled twice


def test_cycle_commands(cli):
    opened = as_json(cli("cycle", "open", "2027-Q1", "--region", "65.01.01", "--json"))
    assert opened["opened"] == 9 and opened["already"] == 0
    assert as_json(cli("cycle", "open", "2027-Q1", "--region", "65.01.01", "--json"))["opened"] == 0
    never = cli("cycle", "status", "1900-Q1", "--region", "65.01.01", "--json", ok=False)
    assert "belum pernah dibuka" in never.stderr  # not every desa owing a report nobody asked for
    status = as_json(cli("cycle", "status", "2027-Q1", "--json"))
    first = status["wilayah"][0]
    assert (
        first["kode"] == "65.01"
        and {
            "expected",
            "submitted",
            "on_time",
            "late",
            "verified",
            "not_reported",
            "nihil",
            "unchecked_statement",
            "reverified_percent",
        }
        <= first.keys()
    )
    assert status["jumlah"]["kode"] == "65" and status["jumlah"]["expected"] == sum(
        r["expected"] for r in status["wilayah"]
    )
    assert "Jumlah 65 " in cli("cycle", "status", "2027-Q1").output
    with clock.frozen_at(datetime(2026, 12, 1, tzinfo=UTC)):  # the desa's deadline is still ahead
        early = cli("cycle", "close", "2027-Q1", ok=False).stderr
    assert "Batas pengajuan desa siklus 2027-Q1 baru" in early and "--lebih-awal" in early
    closed = as_json(cli("cycle", "close", "2027-Q1", "--lebih-awal", "--json"))
    assert closed["tidak_melapor"] == 9  # the desa opened; the rest of the province was never asked
    assert closed["tidak_dibuka"] == status["jumlah"]["expected"] - 9
    assert "sudah ditutup" in cli("cycle", "close", "2027-Q1", "--lebih-awal", ok=False).stderr  # once only
    reopened = cli("cycle", "open", "2027-Q1", "--region", "65.01.02", ok=False).stderr
    assert "sudah ditutup; desa tidak dapat dibuka lagi" in reopened
    assert "Periode" in cli("cycle", "open", "2027-Q9", ok=False).stderr
    assert "belum dibuka" in cli("cycle", "close", "2031-Q1", ok=False).stderr
    assert "tidak dikenal" in cli("jobs", "run", "tidak-ada", ok=False).stderr


def test_token_create_list_revoke(cli):
    made = as_json(
        cli("token", "create", "--agency", "DP3AP2KB", "--region", "65.01", "--resources", "agregat,status", "--json")
    )
    assert made["token"].startswith("sjk_") and made["wilayah"] == "65.01"
    listed = as_json(cli("token", "list", "--json"))
    assert [t["prefix"] for t in listed] == [made["prefix"]] and "token" not in listed[0]
    cli("token", "create", "--agency", "Dinkes", "--region", "65.01", "--resources", "catatan", "--full-nik")
    shown = cli("token", "list").stdout  # the text names the rights and the expiry too
    assert "NIK-lengkap" in shown and "berlaku s.d. " in shown
    assert as_json(cli("token", "revoke", str(made["id"]), "--json"))["status"] == "dicabut"
    refused = cli("token", "create", "--agency", "dinsos", "--region", "65", "--resources", "catatan", ok=False)
    assert "adalah Dinas Sosial sendiri" in refused.stderr


def test_dukcapil_sync_without_a_registry_says_so(cli):
    result = as_json(cli("dukcapil", "sync", "--limit", "5", "--json"))
    assert result["hasil"] == "selesai" and "belum dikonfigurasi" in result["message"]


def test_dtsen_import_reports_links_and_flags(cli, tmp_path):
    extract = tmp_path / "dtsen.csv"
    extract.write_text("nik,no_kk,desil,program\n" + f"{person_row(1)['nik']},,1,PKH\n")
    assert as_json(cli("dtsen", "import", str(extract), "--json"))["rows"] == 1
    extract.write_text("nik,no_kk,desil,program\n123,,1,PKH\n")
    assert "NIK harus 16 angka" in cli("dtsen", "import", str(extract), ok=False).stderr


# Commands that serve, wait, write files or fill the database; the rest are asked below.
NOT_SWEPT = {"run", "serve", "scheduler", "dukcapil-sim", "manual", "backup", "restore", "demo", "init"}


def _commands(group, path=()):
    import click

    for name, command in group.commands.items():
        if path or name not in NOT_SWEPT:
            if isinstance(command, click.Group):
                yield from _commands(command, (*path, name))
            else:
                yield (*path, name), command


def test_no_command_meets_odd_arguments_with_an_unforeseen_fault(cli):
    """Every command, each argument given a digit that is not ASCII or 5,000 digits: a refusal in
    Indonesian, never "Galat tak terduga" (which names a fault the command did not foresee)."""
    import click

    from web.cli import main

    faults = []
    for path, command in _commands(main):
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        for odd in ("²", "9" * 5000):
            result = cli(*path, *[odd] * len(arguments), ok=None)
            if "tak terduga" in result.output + result.stderr:
                faults.append((" ".join(path), odd[:8]))
    assert faults == []


def test_a_verifier_notes_warnings_and_a_desa_attaches_minutes_from_the_command_line(cli, tmp_path, minutes_required):
    _team(cli)
    sid = str(as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))["submission_id"])
    data = tmp_path / "data.csv"
    data.write_text(csv_of([person_row(1, no_kk="9999991705500001"), person_row(2)]))
    cli("submission", "import", sid, str(data))
    refused = cli("submission", "submit", sid, "--user", "op.desa", ok=False)
    assert "berita acara" in refused.output + refused.stderr
    minutes = tmp_path / "berita-acara.pdf"
    minutes.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    assert "dilampirkan" in cli("submission", "minutes", sid, str(minutes), "--user", "op.desa").stdout
    cli("submission", "submit", sid, "--user", "op.desa")
    listed = cli("tasks", "--user", "verif.kec").stdout
    assert DESA in listed  # the desa the task is for, not only its kecamatan
    tid = as_json(cli("tasks", "--user", "verif.kec", "--json"))[0]["id"]
    cli("task", "claim", str(tid), "--user", "verif.kec")
    approve = ("task", "complete", str(tid), "--user", "verif.kec", "--decision", "approve", "--all-in-order")
    unnoted = cli(*approve, ok=False)
    said = unnoted.output + unnoted.stderr
    assert "peringatan mutu data belum diakui" in said
    flag = said.split("ack_")[1].split(":")[0]
    done = as_json(cli(*approve, "--ack", f"{flag}=KK pindahan, dicek di musdes", "--json"))
    assert done["keputusan"] == "setuju"


def test_failed_emails_are_listed_newest_first_and_waiting_ones_are_not(cli, db):
    from models import EmailMessage

    with db.transaction() as s:
        for to, error in (("a@contoh.id", "550 tidak ada"), ("b@contoh.id", None), ("c@contoh.id", "421 sibuk")):
            s.add(EmailMessage(to_address=to, subject="Tugas baru", text="", html="", attempts=3, last_error=error))
    listed = as_json(cli("email", "failed", "--json"))
    assert [(m["ke"], m["galat"]) for m in listed] == [("c@contoh.id", "421 sibuk"), ("a@contoh.id", "550 tidak ada")]
    assert "tidak ada surel yang gagal" not in cli("email", "failed").stdout
