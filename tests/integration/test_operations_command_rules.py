"""What administrators, verifiers and the scripts around them rely on when they work from a terminal with
`sijosku`: the options they give reach the record, not only the defaults, and the words they read are right.

- `cycle rhythm` keeps the opening day, the four deadlines (each on its tier) and the reminder given;
  closing a cycle opened for part of the province says how many desa were never opened;
- `task approve-many` approves a region's open tasks of a period with the note given, and names each task
  it did not approve; `task complete --in-order` counts each item named; an item or flag number in
  another script is a malformed option, not an unforeseen fault; `task unclaim` gives the task back;
  `tasks --period` narrows the inbox and a late task reads TERLAMBAT;
- `submission reverify` keeps where a person moved to, `declare --not-checked` why the register was not
  checked, `import --user` who imported; `submission open` runs on SIJOSKU_DEFAULT_SLA;
- tokens keep the right to send, the note, the days and the rate given, the reason they were revoked, and
  read "-" when never used; `instances retry` is audited and refuses an unknown instance; a step mapping
  saved with a BOM is read; `instances prune --definition` keeps the settings' period for it;
- a file of exactly 20 MB is read; a `--now` without a zone is WITA; `user add --email ""` removes the
  address; `user password` takes the whole line typed;
- `dukcapil sync --limit` bounds the round and a second round in a minute says it was skipped; the
  simulator refuses a population without its columns and answers a GET only for /health; `dtsen import`
  takes a file or the endpoint, one of them;
- `agency list` marks an indicator that counts something else; `agency uploads` is the province's view;
  undoing an upload counts the figures put back and removed; a reconciliation opened again says so;
  `regions update --dry-run` says nothing was changed.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from engine.core import clock
from engine.verification import imports, processes, register
from models import AuditEvent, CycleRhythm, HumanTask, ItemSource, Submission, SubmissionItem, User
from tests.factories import (
    DESA,
    PERIOD,
    RECONCILIATION_YEAR,
    SYSTEM,
    carded_record,
    csv_of,
    decide,
    items_of,
    make_team,
    open_period,
    open_task,
    open_with_items,
    person_row,
    submit,
    waiting_at_kecamatan,
)
from tests.integration.test_process_versions import RENAMED
from tests.regions import listing


def as_json(result):
    return json.loads(result.stdout)


# --- the province's rhythm --------------------------------------------------------------------------------


def test_the_rhythm_keeps_the_opening_day_deadlines_and_reminder_given(cli, db):
    """Every option of `cycle rhythm` is stored as given, each deadline on its own tier."""
    cli("cycle", "rhythm", "--ritme", "triwulan", "--opening-day", "5", "--deadlines", "20,35,50,65", "--reminder", "7")
    with db.read() as s:
        kept = s.scalars(select(CycleRhythm)).one()
    assert (kept.hari_buka, kept.pengingat_hari) == (5, 7)
    assert (kept.batas_desa, kept.batas_kecamatan, kept.batas_kabupaten, kept.batas_provinsi) == (20, 35, 50, 65)


# --- deciding tasks ---------------------------------------------------------------------------------------


def _waiting_at_kabupaten(db) -> int:
    """Gunung Putih's submission approved by its kecamatan: the kabupaten's open task."""
    team, submission_id, _, _ = waiting_at_kecamatan(db)
    decide(db, team.kecamatan, submission_id, "approve")
    return open_task(db, submission_id, "kabupaten").id


def test_approve_many_for_a_region_and_period_approves_its_open_tasks_with_the_note(cli, db):
    """A regency verifier approves every open task of a kecamatan and period at once; the note is kept."""
    task_id = _waiting_at_kabupaten(db)
    args = ("--region", "65.01.01", "--period", PERIOD, "--reason", "dicek bersama camat")
    told = as_json(cli("task", "approve-many", "--user", "verif.kab", *args, "--json"))
    assert told == {"disetujui": [task_id], "tidak_disetujui": {}, "tersisa": []}
    with db.read() as s:
        done = s.get(HumanTask, task_id)
    assert (done.keputusan, done.alasan) == ("setuju", "dicek bersama camat")


def test_approve_many_names_each_task_it_did_not_approve_and_why(cli, db):
    """The summary a person reads lists the refused task by number with the reason, not only a count."""
    task_id = _waiting_at_kabupaten(db)
    said = cli("task", "approve-many", str(task_id), "999999", "--user", "verif.kab").stdout
    assert "1 tugas disetujui" in said
    assert "tugas 999999 tidak disetujui: bukan tugas terbuka" in said


def test_items_named_in_order_one_by_one_are_judged_and_the_task_is_approved(cli, db):
    """`--in-order ID` for each item is as good as `--all-in-order`: nothing is left unjudged."""
    _, submission_id, task, _ = waiting_at_kecamatan(db)
    named = [arg for item in items_of(db, submission_id) for arg in ("--in-order", str(item.id))]
    approve = ("task", "complete", str(task.id), "--user", "verif.kec", "--decision", "approve")
    done = as_json(cli(*approve, *named, "--json"))
    assert (done["status"], done["keputusan"]) == ("selesai", "setuju")


def test_an_item_or_flag_number_in_another_script_is_refused_as_a_malformed_option(cli, db):
    """ "²=..." is not an item number: the option's form is said (exit 1), never "Galat tak terduga"."""
    _, _, task, _ = waiting_at_kecamatan(db)
    decide_task = ("task", "complete", str(task.id), "--user", "verif.kec", "--decision", "return")
    refused = cli(*decide_task, "--reason", "foto KTP buram", "--item", "²=foto buram", ok=False)
    assert refused.exit_code == 1 and "--item '²=foto buram' tidak sah; gunakan --item ID=TEKS" in refused.stderr
    refused = cli(*decide_task, "--reason", "foto KTP buram", "--ack", "١=dicek", ok=False)
    assert refused.exit_code == 1 and "--ack '١=dicek' tidak sah" in refused.stderr
    assert open_task(db, task.submission_id, "kecamatan").id == task.id  # nothing decided


def test_a_task_unclaimed_is_nobody_s_again(cli, db):
    """`task unclaim` gives the task back to the tier's pool."""
    _, _, task, _ = waiting_at_kecamatan(db)
    assert as_json(cli("task", "claim", str(task.id), "--user", "verif.kec", "--json"))["assignee_id"]
    told = as_json(cli("task", "unclaim", str(task.id), "--user", "verif.kec", "--json"))
    assert told == {"task_id": task.id, "assignee_id": None}
    with db.read() as s:
        assert s.get(HumanTask, task.id).assignee_id is None


def test_tasks_for_a_period_lists_only_that_period_s_work(cli, db):
    """`tasks --period` narrows the inbox to the period named."""
    make_team(db)
    open_with_items(db)
    open_period(db, "2026-Q3", [person_row(8)])
    listed = as_json(cli("tasks", "--user", "op.desa", "--period", "2026-Q3", "--json"))
    assert [t["periode"] for t in listed] == ["2026-Q3"]
    assert sorted(t["periode"] for t in as_json(cli("tasks", "--user", "op.desa", "--json"))) == ["2026-Q3", PERIOD]


def test_a_task_past_its_deadline_is_marked_late_in_the_list_a_person_reads(cli, db):
    """The text inbox says TERLAMBAT after a task whose deadline has passed, and only after that one."""
    waiting_at_kecamatan(db)
    assert "TERLAMBAT" not in cli("tasks", "--user", "verif.kec").stdout
    cli("timers", "fire", "--now", "2099-01-01T08:00:00+08:00", "--latihan")
    assert cli("tasks", "--user", "verif.kec").stdout.rstrip().endswith("terbuka TERLAMBAT")


# --- the operator's statements --------------------------------------------------------------------------


def test_a_person_marked_moved_keeps_where_they_moved_to(cli, db):
    """`submission reverify --status pindah --destination` writes the destination onto the removal."""
    carded_record(db, 5)
    make_team(db)
    submission_id = open_with_items(db, rows=[])
    with db.transaction() as s:
        register.prefill(s, {DESA: submission_id})
        item_id = s.scalar(
            select(SubmissionItem.id).where(
                SubmissionItem.submission_id == submission_id, SubmissionItem.source == ItemSource.REGISTER
            )
        )
    mark = ("submission", "reverify", str(submission_id), "--user", "op.desa", "--item", str(item_id))
    told = as_json(cli(*mark, "--status", "pindah", "--reason", "ikut anak", "--destination", "Kab. Malinau", "--json"))
    assert told == {"submission_id": submission_id, "changed": 1}
    with db.read() as s:
        item = s.get(SubmissionItem, item_id)
    assert item.data["tujuan_pindah"] == "Kab. Malinau" and item.verval_alasan == "ikut anak"


def test_a_register_that_could_not_be_checked_keeps_the_reason_given(cli, db):
    """`submission declare --not-checked REASON` keeps the reason; an empty one withdraws the statement."""
    make_team(db)
    submission_id = open_with_items(db, rows=[])
    declare = ("submission", "declare", str(submission_id), "--user", "op.desa")
    told = as_json(cli(*declare, "--not-checked", "buku register terbakar", "--json"))
    assert told["tidak_diperiksa"] == "buku register terbakar"
    with db.read() as s:
        assert s.get(Submission, submission_id).tidak_diperiksa == "buku register terbakar"
    assert as_json(cli(*declare, "--not-checked", "", "--json"))["tidak_diperiksa"] is None


# --- agency tokens --------------------------------------------------------------------------------------


def test_a_token_made_to_send_figures_can_write_and_keeps_its_note_and_days(cli):
    """`token create --write --note --days --rate` is issued with the right to send, the note and the limits."""
    made = as_json(
        cli(
            "token", "create", "--agency", "DP3AP2KB", "--region", "65.01", "--resources", "agregat, angka-instansi,",
            "--write", "--note", "SIGA DP3AP2KB", "--days", "30", "--rate", "60/minute", "--json",
        )
    )  # fmt: skip
    assert made["tulis"] and made["keterangan"] == "SIGA DP3AP2KB" and made["batas_laju"] == "60/minute"
    assert made["sumber_daya"] == ["agregat", "angka-instansi"]
    lasts = clock.instant(made["kedaluwarsa"]) - clock.now()
    assert timedelta(days=29) < lasts <= timedelta(days=30)


def test_a_token_revoked_with_a_reason_keeps_the_reason_on_the_trail(cli, db):
    made = as_json(
        cli("token", "create", "--agency", "Dinkes", "--region", "65.01", "--resources", "agregat", "--json")
    )
    cli("token", "revoke", str(made["id"]), "--reason", "sistem Dinkes diganti")
    with db.read() as s:
        revoked = s.scalars(select(AuditEvent).where(AuditEvent.action == "TOKEN_REVOKED")).one()
    assert (revoked.subject_id, revoked.reason) == (str(made["id"]), "sistem Dinkes diganti")


# --- process instances ----------------------------------------------------------------------------------


def test_an_instance_retried_is_run_again_on_the_trail_and_an_unknown_one_is_refused(cli, db):
    """`instances retry` runs the instance's steps again (audited); a number no instance has is a refusal."""
    _, submission_id, _, _ = waiting_at_kecamatan(db)
    with db.read() as s:
        instance_id = s.get(Submission, submission_id).instance_id
    assert as_json(cli("instances", "retry", str(instance_id), "--json")) == {"instance_id": instance_id, "ok": True}
    with db.read() as s:
        retried = s.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "INSTANCE_RETRIED")).all()
    assert retried == [str(instance_id)]
    refused = cli("instances", "retry", str(instance_id + 1000), ok=False)
    assert refused.exit_code == 1 and "berjalan lagi" not in refused.stdout


def test_a_mapping_file_saved_with_a_byte_order_mark_is_read_as_written(cli, db, tmp_path):
    """Notepad's UTF-8 starts the file with a BOM; the step mapping is read the same as without one."""
    waiting_at_kecamatan(db)
    with db.transaction() as s:
        processes.deploy(s, SYSTEM, RENAMED)
    mapping = tmp_path / "peta.json"
    mapping.write_text('{"verifikasi_kecamatan": "verifikasi_kec"}', encoding="utf-8-sig")
    told = as_json(
        cli("instances", "migrate", "--from", "1", "--to", "2", "--mapping", str(mapping), "--dry-run", "--json")
    )
    assert (told["moved"], told["refused"]) == (1, 0)


# --- what every command shares ----------------------------------------------------------------------------


def test_a_file_of_exactly_the_bound_is_read_not_refused_as_too_large(cli, tmp_path):
    """The bound is 20 MB: a file of exactly 20 MB is read (and judged on what it holds)."""
    edge = tmp_path / "tepat.bpmn"
    with edge.open("wb") as f:
        f.truncate(20 * 1024 * 1024)
    refused = cli("definitions", "deploy", str(edge), ok=False)
    assert refused.exit_code == 1 and "terlalu besar" not in refused.stderr


def test_a_time_given_without_a_zone_is_read_in_the_province_s_zone(cli):
    """`--now 2026-12-20T08:00` is WITA: the present written as the office's wall clock is not the future."""
    wall_clock = clock.now().astimezone(clock.zone()).replace(tzinfo=None).isoformat(timespec="seconds")
    assert as_json(cli("timers", "fire", "--now", wall_clock, "--json")) == {"fired": 0}


def test_an_empty_email_given_to_user_add_removes_the_address(cli, db):
    """`user add --email ""` clears the address; leaving the option out keeps it."""
    add = ("user", "add", "verif.kec", "--role", "verifier", "--region", "65.01.01")
    cli(*add, "--email", "v@contoh.id")
    cli(*add)
    assert _email(db, "verif.kec") == "v@contoh.id"
    cli(*add, "--email", "")
    assert _email(db, "verif.kec") is None


def _email(db, username):
    with db.read() as s:
        return s.scalar(select(User.email).where(User.username == username))


# --- exchange with other systems -------------------------------------------------------------------------


class _Registry:
    """A civil registry that knows nobody, and remembers the NIKs it was asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, niks):
        self.asked += niks
        return dict.fromkeys(niks)


def test_a_dukcapil_round_asks_about_no_more_people_than_the_limit_given(cli, db, monkeypatch):
    """`dukcapil sync --limit 1` asks about one person, though two submitted ones wait."""
    from engine.verification import nik_matching

    waiting_at_kecamatan(db)
    registry = _Registry()
    monkeypatch.setattr(nik_matching, "adapter", lambda _db: registry)
    told = as_json(cli("dukcapil", "sync", "--limit", "1", "--json"))
    assert (told["hasil"], told["asked"], len(registry.asked)) == ("selesai", 1, 1)


def test_a_simulator_population_without_its_columns_is_refused_naming_them(cli, tmp_path):
    """`dukcapil-sim` given a file that is no population says which columns are missing (exit 1), before serving."""
    population = tmp_path / "penduduk.csv"
    population.write_text("nik,nama\n6501015705500001,Maria\n", encoding="utf-8")
    refused = cli("dukcapil-sim", "--population", str(population), "--port", "0", ok=False)
    assert refused.exit_code == 1 and "kolom populasi tidak ada: tanggal_lahir" in refused.stderr


def test_a_submission_opened_from_the_command_line_runs_on_the_configured_deadline(cli, db, monkeypatch):
    """SIJOSKU_DEFAULT_SLA sets how long the kecamatan has for a submission opened with `submission open`."""
    monkeypatch.setenv("SIJOSKU_DEFAULT_SLA", "P3D")
    make_team(db)
    opened = as_json(cli("submission", "open", "--desa", DESA, "--period", PERIOD, "--json"))
    submission_id = opened["submission_id"]
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, submission_id, csv_of([person_row(1)]))
    submit(db, "op.desa", submission_id)
    due = clock.instant(open_task(db, submission_id, "kecamatan").due_at) - clock.now()
    assert timedelta(days=2, hours=23) < due <= timedelta(days=3)


def test_an_agency_indicator_that_counts_something_else_is_listed_so(cli):
    """`agency list` says "(berbeda)" after an indicator mapped with --different, and only after it."""
    cli("agency", "map", "Dinkes", "ODHA_ART", "ODHA", "--different")
    cli("agency", "map", "DP3AP2KB", "LANSIA_TERLANTAR", "LUT")
    assert sorted(cli("agency", "list").stdout.splitlines()) == [
        "DP3AP2KB LANSIA_TERLANTAR → LUT",
        "Dinkes ODHA_ART → ODHA (berbeda)",
    ]


def test_a_dtsen_import_needs_a_file_or_the_endpoint_but_not_both(cli, tmp_path):
    """Neither, or both: refused, saying to name one, and nothing is fetched."""
    extract = tmp_path / "dtsen.csv"
    extract.write_text("nik,no_kk,desil,program\n")
    for args in ((), (str(extract), "--from-endpoint")):
        refused = cli("dtsen", "import", *args, ok=False)
        assert (
            refused.exit_code == 1
            and "Sebutkan berkas ekstrak, atau --from-endpoint, salah satu saja" in refused.stderr
        )


# --- what a person reads and what is recorded ----------------------------------------------------------


def test_a_prune_of_one_definition_keeps_the_period_the_settings_give_it(cli, monkeypatch):
    """`instances prune --definition KEY` without --days uses SIJOSKU_INSTANCE_RETENTION's days for that key."""
    monkeypatch.setenv("SIJOSKU_INSTANCE_RETENTION", "verifikasi_berjenjang=400")
    told = as_json(cli("instances", "prune", "--definition", "verifikasi_berjenjang", "--dry-run", "--json"))
    kept = clock.now() - clock.instant(told["batas"]["verifikasi_berjenjang"])
    assert timedelta(days=400) <= kept < timedelta(days=400, minutes=5)


def test_with_no_failed_email_the_list_says_so(cli):
    assert cli("email", "failed").stdout.strip() == "tidak ada surel yang gagal"
    assert as_json(cli("email", "failed", "--json")) == []


def test_a_token_never_used_reads_as_never_used(cli):
    """The token list shows "-" for a token no system has used yet, and says when there is none."""
    assert cli("token", "list").stdout.strip() == "Belum ada token"
    cli("token", "create", "--agency", "DP3AP2KB", "--region", "65.01", "--resources", "agregat")
    assert cli("token", "list").stdout.rstrip().endswith("terakhir dipakai: -")


def test_a_new_password_is_the_whole_line_typed_spaces_included(cli, db):
    """`user password` takes the line as typed: a space at its end is part of the password."""
    from engine.people import users

    cli("user", "add", "siti.op", "--role", "operator", "--region", DESA)
    cli("user", "password", "siti.op", "--password-stdin", input="baru sandi 456 \n")
    with db.read() as s:
        person = s.scalar(select(User).where(User.username == "siti.op"))
        assert users.check_password(person, "baru sandi 456 ")
        assert not users.check_password(person, "baru sandi 456")


def test_closing_a_cycle_opened_for_part_of_the_province_says_how_many_desa_were_never_opened(cli):
    cli("cycle", "open", "2027-Q1", "--region", "65.01.01")
    closed = as_json(cli("cycle", "close", "2027-Q1", "--lebih-awal", "--json"))
    cli("cycle", "open", "2027-Q2", "--region", "65.01.01")
    said = cli("cycle", "close", "2027-Q2", "--lebih-awal").stdout
    assert f"; {closed['tidak_dibuka']} desa provinsi tidak pernah dibuka dalam siklus ini." in said


def test_a_dukcapil_round_asked_for_twice_in_one_minute_runs_once_and_says_so(cli, db, monkeypatch):
    """The second `dukcapil sync` of a minute is told the scheduler's run of that minute is taken."""
    from engine.verification import nik_matching

    waiting_at_kecamatan(db)
    monkeypatch.setattr(nik_matching, "adapter", lambda _db: _Registry())
    with clock.frozen_at(clock.now()):
        assert as_json(cli("dukcapil", "sync", "--json"))["hasil"] == "selesai"
        again = cli("dukcapil", "sync")
    assert again.stdout.strip() == "Putaran menit ini dilewati: sudah atau sedang dijalankan penjadwal"


def test_a_reconciliation_opened_again_says_it_is_already_open(cli, year):
    """Opening a year twice makes nothing new and says which instance is already running it."""
    opened = as_json(cli("reconciliation", "open", str(RECONCILIATION_YEAR), "--force", "--json"))
    again = cli("reconciliation", "open", str(RECONCILIATION_YEAR), "--force").stdout.strip()
    assert again == (
        f"Rekonsiliasi {RECONCILIATION_YEAR} sudah dibuka (instans {opened['instance_id']}); tidak ada yang baru"
    )


def test_the_dukcapil_simulator_answers_a_get_only_for_its_health():
    """A GET of the lookup path (or any other but /health) is a 404, as the real service's would be."""
    import httpx

    from engine.setup import dukcapil_sim

    server = dukcapil_sim.start_in_thread({}, dukcapil_sim.Behaviour())
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert httpx.get(f"{base}/nik/batch", timeout=5).status_code == 404
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok", "penduduk": 0}
    finally:
        server.shutdown()
        server.server_close()


def test_an_import_named_for_an_operator_is_on_the_trail_as_that_operator(cli, db, tmp_path):
    """`submission import --user` records who imported the file, not the command line."""
    make_team(db)
    submission_id = open_with_items(db, rows=[])
    data = tmp_path / "data.csv"
    data.write_text(csv_of([person_row(1)]))
    cli("submission", "import", str(submission_id), str(data), "--user", "op.desa")
    with db.read() as s:
        actors = s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "SUBMISSION_IMPORTED")).all()
    assert actors == ["op.desa"]


def test_agency_uploads_are_listed_for_the_province_s_steward_and_not_a_regency_s(cli, stewards, tmp_path):
    """`agency uploads --user` shows that person's view: an upload spans regencies, so a regency's steward sees none."""
    figures = tmp_path / "dp3ap2kb.csv"
    figures.write_text("instansi,kategori,kode_wilayah,periode,nilai\nDP3AP2KB,AKTK,65.02,2024,21\n")
    cli("quality", "agency", str(figures))
    assert len(as_json(cli("agency", "uploads", "2024", "--user", "walidata.prov", "--json"))) == 1
    assert as_json(cli("agency", "uploads", "2024", "--user", "walidata.kab", "--json")) == []
    assert "untuk yang mengawasi seluruh provinsi" in cli("agency", "uploads", "2024", "--user", "walidata.kab").stdout


def test_a_region_list_previewed_says_nothing_was_changed(cli, people, tmp_path):
    """`regions update --dry-run` ends with "Pratinjau (tidak ada yang diubah)", not "Diterapkan"."""
    path = tmp_path / "wilayah.tsv"
    rows = listing(rename={DESA: "Gunung Putih Raya"})
    path.write_text("kode\tnama\n" + "".join(f"{r['kode']}\t{r['nama']}\n" for r in rows), encoding="utf-8")
    args = ("regions", "update", str(path), "--basis", "Kepmendagri No. 1 Tahun 2026", "--effective", "2026-11-01")
    said = cli(*args, "--user", "admin.prov", "--dry-run").stdout.splitlines()
    assert said[0] == f"{DESA} ganti nama: Gunung Putih Raya"
    assert said[-1].startswith("Pratinjau (tidak ada yang diubah): 0 baru, 1 ganti nama")


def test_undoing_an_upload_counts_the_figures_put_back_and_those_removed(cli, stewards, tmp_path):
    """The second file changed two figures and added Tarakan's: undone, two return and one goes."""
    figures = tmp_path / "dp3ap2kb.csv"
    head = "instansi,kategori,kode_wilayah,periode,nilai\n"
    figures.write_text(head + "DP3AP2KB,AKTK,65.01,2024,30\nDP3AP2KB,AKTK,65.02,2024,21\n")
    cli("quality", "agency", str(figures))
    figures.write_text(head + "DP3AP2KB,AKTK,65.01,2024,35\nDP3AP2KB,AKTK,65.02,2024,25\nDP3AP2KB,AKTK,65.71,2024,9\n")
    cli("quality", "agency", str(figures))
    latest = as_json(cli("agency", "uploads", "2024", "--user", "walidata.prov", "--json"))[0]["seq"]
    why = ("--reason", "berkas dikirim dua kali", "--user", "walidata.prov")
    told = as_json(cli("agency", "undo", str(latest), "2024", *why, "--json"))
    assert told == {"unggahan": latest, "dikembalikan": 2, "dihapus": 1}
