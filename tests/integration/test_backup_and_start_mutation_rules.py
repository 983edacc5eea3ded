"""What the province's administrators rely on when they back up, restore and start SIJOSKU, and what
every use case relies on underneath: who acts, what time it is, which handlers answer.

- a backup never puts the database password where other users of the server can read it; a tool
  that is missing, killed or failing says so in words, and a success is no failure;
- a backup into the empty folder given (a mounted disk) leaves that folder, empty, when it is refused;
  it names the minutes that are lacking, stamps the engine's time, takes the key in use as written by
  hand, lists the uploaded minutes so that a changed one is noticed, and leaves the server's file
  permissions for new files as they were;
- a restore refuses a folder that is no backup, a manifest it cannot read and a file gone, says when
  a SQLite copy cannot be read, takes the backup's key only when it has one, owner-readable only,
  and writes the minutes into an uploads folder already there;
- an actor is a person, an agency's token or a job, and only a person may do what a person must;
- the clock keeps instants in UTC, ends a deadline at midnight WITA on the day before, and runs on
  after a test or `--now` has held it;
- a registry keeps one handler per name, each subscriber once, jobs of a minute or a day only;
- Dinas Sosial's own name is recognised however it is written, and no other office's.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.core import agency_names, backup, clock, transaction_cache
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR, load_settings
from engine.core.errors import Forbidden, Invalid
from engine.core.registry import Job, Registry, registry_of
from engine.core.uow import Database
from engine.setup import initialise
from engine.verification import minutes
from models import AgencyToken, CycleRhythm, Region, Role, RoleAssignment, Submission, User
from tests import databases
from tests.factories import DESA, SYSTEM, make_team, open_with_items
from tests.integration.test_shipped_definitions import _current, _said, changed, shipped_by_init  # noqa: F401


def _pdf(words: str) -> bytes:
    return f"%PDF-1.4\n% {words}\n%%EOF\n".encode()


def _with_minutes(db: Database, words: str, desa: str = DESA) -> Path:
    """A submission whose signed minutes are uploaded; the stored file."""
    sid = open_with_items(db, desa=desa)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "berita-acara.pdf", _pdf(words), db.settings.upload_dir)
    with db.read() as s:
        return db.settings.upload_dir / s.get(Submission, sid).berita_acara


def _connect(db: Database, instance: Path, secret_key: str = "x") -> Database:
    """The same database seen from an instance folder of its own."""
    env = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(instance), "SECRET_KEY": secret_key}
    return Database.connect(load_settings(env))


@pytest.fixture
def target(db: Database, tmp_path: Path) -> Iterator[Database]:
    """An empty database of the same kind, with an instance folder of its own, to restore into."""
    empty = databases.restore_target(db, tmp_path)
    yield empty
    empty.dispose()


def _backup_with_key_file(db: Database, tmp_path: Path, written: str) -> backup.Taken:
    """A backup taken by a node whose key is the file in its instance folder, as `written`."""
    instance = tmp_path / "hidup"
    instance.mkdir()
    (instance / "secret_key").write_text(written)
    live = _connect(db, instance, secret_key="")
    try:
        return backup.backup(live, tmp_path / "cadangan")
    finally:
        live.dispose()


# --- backups: what reaches pg_dump and pg_restore --------------------------------------------------------


def _dump_tool_address(tmp_path: Path, url: str) -> tuple[str, dict[str, str]]:
    """The address and the environment pg_dump and pg_restore are given for a database at `url`."""
    db = Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path)}))
    try:
        return backup._libpq(db)
    finally:
        db.dispose()


def test_the_dump_tools_get_a_plain_address_and_the_database_password_only_in_their_environment(tmp_path, monkeypatch):
    """On the command line, any user of the server could read the password (`ps`)."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = "postgresql+psycopg://pemilik:rahasia@db.contoh:5432/sijosku?sslmode=require"
    address, env = _dump_tool_address(tmp_path, url)
    assert address == "postgresql://pemilik@db.contoh:5432/sijosku?sslmode=require"
    assert env["PGPASSWORD"] == "rahasia"
    without = "postgresql://pemilik@db.contoh:5432/sijosku"
    assert _dump_tool_address(tmp_path, without) == (without, dict(os.environ))


def test_a_dump_tool_that_succeeds_is_no_failure_and_one_that_fails_says_why_in_words():
    backup._run(["true"], dict(os.environ))
    with pytest.raises(Invalid, match=r"^sh gagal: disk penuh$"):
        backup._run(["sh", "-c", "echo '  disk penuh  ' >&2; exit 3"], dict(os.environ))
    with pytest.raises(Invalid, match=r"^false gagal: kode keluar 1$"):
        backup._run(["false"], dict(os.environ))
    with pytest.raises(Invalid) as long:
        backup._run(["sh", "-c", "printf '%0900d' 0 >&2; exit 2"], dict(os.environ))
    assert str(long.value) == "sh gagal: " + "0" * 500
    with pytest.raises(Invalid, match="pg_dump-yang-tidak-ada tidak terpasang"):
        backup._run(["pg_dump-yang-tidak-ada"], dict(os.environ))


# --- backups: what is taken ---------------------------------------------------------------------------------


def test_a_refused_backup_leaves_the_empty_folder_it_was_given_in_place_and_empty(db, tmp_path):
    """The nightly job backs up into a mounted disk's folder: refused, the folder stays for the next try."""
    make_team(db)
    _with_minutes(db, "musdes yang tersimpan")
    lost = _with_minutes(db, "musdes yang terhapus", desa="65.01.01.2006")
    lost.unlink()
    given = tmp_path / "disk-cadangan"
    given.mkdir()
    given.chmod(0o755)  # as folders are made under the usual umask
    with pytest.raises(Invalid) as refused:
        backup.backup(db, given)
    assert str(refused.value).startswith(
        f"1 berkas berita acara yang dirujuk basis data tidak ada di {db.settings.upload_dir}"
    )
    assert f"(mis. {lost.name})" in str(refused.value)
    assert given.is_dir() and list(given.iterdir()) == []
    taken = backup.backup(db, given, allow_missing_minutes=True)
    assert taken.missing_minutes == [lost.name]
    assert given.stat().st_mode & 0o777 == 0o700  # the backup holds every NIK


def test_a_backup_that_sqlite_fails_to_copy_is_refused_and_leaves_nothing(db, tmp_path, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("pg_dump's failures are said by the tool itself")
    make_team(db)

    def failing(*_args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(backup, "_dump_sqlite", failing)
    with pytest.raises(Invalid, match=r"gagal: disk I/O error; tidak ada yang disimpan"):
        backup.backup(db, tmp_path / "cadangan")
    assert not (tmp_path / "cadangan").exists()


def test_a_backup_leaves_the_servers_permissions_for_new_files_as_they_were(db, tmp_path):
    before = os.umask(0o022)
    try:
        backup.backup(db, tmp_path / "cadangan")
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)


def test_a_backup_says_when_it_was_taken_by_the_engines_clock(db, tmp_path):
    moment = datetime(2026, 11, 30, 23, 15, tzinfo=UTC)
    with clock.frozen_at(moment):
        backup.backup(db, tmp_path / "cadangan")
    manifest = json.loads((tmp_path / "cadangan" / backup.MANIFEST).read_text())
    assert manifest["taken_at"] == moment.isoformat()


def test_a_key_file_written_by_hand_with_a_line_end_is_the_key_in_use_and_is_taken(db, tmp_path):
    taken = _backup_with_key_file(db, tmp_path, "kunci-tulisan-tangan\n")
    assert "secret_key" in taken.files
    assert json.loads((tmp_path / "cadangan" / backup.MANIFEST).read_text())["secret_key"] == "secret_key"


def test_the_uploaded_minutes_are_listed_in_the_manifest_and_a_changed_one_refuses_the_restore(db, tmp_path):
    make_team(db)
    stored = _with_minutes(db, "musdes yang dicadangkan")
    taken = backup.backup(db, tmp_path / "cadangan")
    assert taken.files[f"uploads/{stored.name}"] == backup._sha256(stored)
    (tmp_path / "cadangan" / "uploads" / stored.name).write_bytes(_pdf("musdes yang diubah"))
    with pytest.raises(Invalid, match=f"berkas uploads/{stored.name} hilang atau berubah"):
        backup.restore(db, tmp_path / "cadangan")


# --- restores -----------------------------------------------------------------------------------------------


def test_a_folder_without_a_manifest_is_no_backup(db, tmp_path):
    (tmp_path / "bukan").mkdir()
    with pytest.raises(Invalid, match="bukan cadangan SIJOSKU"):
        backup.restore(db, tmp_path / "bukan")


@pytest.mark.parametrize("written", ["{}", '{"database": "sqlite", "files": null}', "[]"])
def test_a_manifest_lacking_what_is_read_is_said_to_be_unreadable(db, tmp_path, written):
    backup.backup(db, tmp_path / "cadangan")
    (tmp_path / "cadangan" / backup.MANIFEST).write_text(written)
    with pytest.raises(Invalid, match="tidak dapat dibaca"):
        backup.restore(db, tmp_path / "cadangan")


def test_a_backup_missing_a_file_it_lists_is_said_to_be_damaged(db, tmp_path):
    taken = backup.backup(db, tmp_path / "cadangan")
    name = next(n for n in taken.files if n.startswith("sijosku."))
    (tmp_path / "cadangan" / name).unlink()
    with pytest.raises(Invalid, match=f"berkas {name} hilang atau berubah"):
        backup.restore(db, tmp_path / "cadangan")


def test_a_sqlite_copy_that_cannot_be_read_is_a_refusal_not_a_fault(db, tmp_path, target):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's dump is read by pg_restore, whose failure is tested with the restores")
    backup.backup(db, tmp_path / "cadangan")
    copy = tmp_path / "cadangan" / backup.SQLITE_FILE
    copy.write_bytes(b"bukan basis data SQLite" * 100)
    manifest = json.loads((tmp_path / "cadangan" / backup.MANIFEST).read_text())
    manifest["files"][backup.SQLITE_FILE] = backup._sha256(copy)
    (tmp_path / "cadangan" / backup.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(Invalid, match="Pemulihan SQLite gagal"):
        backup.restore(target, tmp_path / "cadangan")


def test_a_restore_writes_the_minutes_into_an_uploads_folder_already_there(db, tmp_path, target):
    make_team(db)
    stored = _with_minutes(db, "musdes untuk folder yang ada")
    backup.backup(db, tmp_path / "cadangan")
    target.settings.upload_dir.mkdir(parents=True, exist_ok=True)
    (target.settings.upload_dir / "lain.pdf").write_bytes(_pdf("berkas lain"))
    backup.restore(target, tmp_path / "cadangan")
    assert (target.settings.upload_dir / stored.name).read_bytes() == stored.read_bytes()
    assert (target.settings.upload_dir / "lain.pdf").exists()


def test_a_backup_without_a_key_leaves_the_instance_key_as_it_was(db, tmp_path, target):
    live = _connect(db, tmp_path / "hidup", secret_key="kunci-dari-lingkungan")
    try:
        assert "secret_key" not in backup.backup(live, tmp_path / "cadangan").files
    finally:
        live.dispose()
    (target.settings.instance_dir / "secret_key").write_text("kunci-instance-ini")
    backup.restore(target, tmp_path / "cadangan")
    assert (target.settings.instance_dir / "secret_key").read_text() == "kunci-instance-ini"


def test_the_key_a_restore_puts_in_place_is_readable_by_its_owner_alone(db, tmp_path, target):
    assert "secret_key" in _backup_with_key_file(db, tmp_path, "kunci-yang-dicadangkan").files
    key_file = target.settings.instance_dir / "secret_key"
    key_file.write_text("kunci-lama")
    key_file.chmod(0o644)  # as a key copied by hand under the usual umask
    backup.restore(target, tmp_path / "cadangan")
    assert key_file.read_text() == "kunci-yang-dicadangkan"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_init_says_which_diagram_it_added_and_which_it_made_current_again(shipped_by_init, tmp_path, monkeypatch):  # noqa: F811
    """A release's changed diagram is reported added; rolled back, the shipped one is reported current again."""
    (tmp_path / "verifikasi_berjenjang.bpmn").write_text(changed(12), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    added = _said(initialise.initialise(shipped_by_init))
    assert (added["created"], added["reactivated"], added["previous_version"]) == (True, False, 1)
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", DEFAULT_BPMN_DIR)
    again = _said(initialise.initialise(shipped_by_init))
    assert (again["created"], again["reactivated"], again["previous_version"]) == (False, True, 2)
    assert again["current"] and again["version"] == again["current_version"] == _current(shipped_by_init) == 1


# --- the unit of work ------------------------------------------------------------------------------------------


def test_what_a_transaction_keeps_for_itself_outlives_the_flushes_within_it(db):
    """A submission's checks, kept for the transaction, are not computed again after every flush."""
    with db.transaction() as s:
        transaction_cache.put(s, "dicek", {"dihitung": 1})
        rhythm = s.scalar(select(CycleRhythm))
        rhythm.berita_acara_wajib = not rhythm.berita_acara_wajib
        s.flush()
        assert transaction_cache.get(s, "dicek") == {"dihitung": 1}


def test_what_a_use_case_read_stays_readable_once_it_has_committed(db):
    with db.transaction() as s:
        province = s.get(Region, "65")
    assert province.nama


def test_a_database_let_go_keeps_no_connection_open(db, tmp_path):
    other = _connect(db, tmp_path / "lain")
    with other.read() as s:
        s.execute(text("SELECT 1"))
    assert other.engine.pool.checkedin() == 1
    other.dispose()
    assert other.engine.pool.checkedin() == 0


# --- who acts ------------------------------------------------------------------------------------------------


def _person(active: bool = True, roles: tuple[Role, ...] = ()) -> User:
    user = User(id=7, username="budi", aktif=active)
    user.roles = [RoleAssignment(role=role, region_kode="65") for role in roles]
    return user


def test_a_person_acts_by_name_from_their_address_with_any_of_their_roles():
    user = _person(roles=(Role.OPERATOR, Role.VERIFIER))
    person = Actor.of(user, address="10.1.2.3")
    assert (person.name, person.address, person.user_id) == ("budi", "10.1.2.3", 7)
    assert person.active and not person.is_system
    assert person.has_role(Role.VERIFIER) and not person.has_role(Role.ADMIN)
    assert person.require_person("hanya orang") is user
    assert not Actor.of(_person(active=False)).active


def test_an_agency_token_is_neither_a_person_nor_the_system_and_holds_no_role():
    token = AgencyToken(prefix="ab12cd")
    agency = Actor.of_token(token)
    assert agency.name == "token:ab12cd" and agency.token is token
    assert not agency.is_system and not agency.active
    assert agency.roles == [] and agency.user_id is None
    with pytest.raises(Forbidden, match="hanya orang"):
        agency.require_person("hanya orang")


def test_a_job_of_the_system_is_named_as_such_and_may_not_act_as_a_person():
    job = Actor.system("penjadwal")
    assert job.name == "sistem:penjadwal" and job.is_system and job.user_id is None
    with pytest.raises(Forbidden, match="bukan tugas sistem"):
        job.require_person("bukan tugas sistem")


# --- the clock --------------------------------------------------------------------------------------------------


def test_a_stored_instant_keeps_its_zone_and_one_without_is_utc():
    assert clock.instant("2026-12-01T08:00:00+08:00") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert clock.instant("2026-12-01T08:00:00") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert clock.instant(datetime(2026, 12, 1, 8, 0)).tzinfo is UTC


def test_a_deadline_at_midnight_wita_leaves_the_day_before_and_one_a_second_later_that_day():
    midnight_wita = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert clock.last_day(midnight_wita) == date(2026, 12, 31)
    assert clock.last_day(midnight_wita + timedelta(seconds=1)) == date(2027, 1, 1)
    assert clock.last_day(midnight_wita - timedelta(seconds=1)) == date(2026, 12, 31)
    assert clock.last_day(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == date(2027, 1, 1)  # 07:00 WITA


def test_a_held_clock_tells_utc_and_runs_on_once_let_go():
    wita = timezone(timedelta(hours=8))
    with clock.frozen_at(datetime(2001, 1, 1, 8, 0, tzinfo=wita)):
        assert clock.now().isoformat() == "2001-01-01T00:00:00+00:00"
    assert clock.now().year > 2001
    with pytest.raises(ValueError, match="zona waktu"), clock.frozen_at(datetime(2001, 1, 1, 8, 0)):
        pass


def test_today_is_the_day_where_the_people_are_as_the_zone_set_says():
    before = clock.zone()
    try:
        with clock.frozen_at(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)):
            assert clock.today() == date(2026, 12, 2)  # 07:30 WITA
            clock.use_zone(UTC)
            assert clock.today() == date(2026, 12, 1)
    finally:
        clock.use_zone(before)


# --- handlers, subscribers and jobs ---------------------------------------------------------------------------


def _one(*_args: object) -> str:
    return "satu"


def _other(*_args: object) -> str:
    return "lain"


def test_a_handler_name_answers_to_one_handler_only():
    registry = Registry()
    registry.add_handler("kirim", _one)
    registry.add_handler("kirim", _one)  # the same, registered again at a second start
    with pytest.raises(ValueError, match="sudah terdaftar"):
        registry.add_handler("kirim", _other)
    assert registry.handlers == {"kirim": _one}


def test_a_subscriber_is_called_once_however_often_it_subscribes():
    registry = Registry()
    registry.subscribe("diajukan", _one)
    registry.subscribe("diajukan", _one)
    registry.subscribe("diajukan", _other)
    found = registry.subscribers_of("diajukan")
    assert found == [_one, _other]
    found.clear()
    assert registry.subscribers_of("diajukan") == [_one, _other]
    assert registry.has_subscribers("diajukan") and not registry.has_subscribers("disetujui")


def test_a_job_runs_every_minute_or_every_day_and_no_other_rhythm():
    registry = Registry()
    registry.add_job(Job("kirim", "minute", _one))
    registry.add_job(Job("ringkas", "day", _one))
    for every in ("hour", "jam", ""):
        with pytest.raises(ValueError, match="tidak dikenal"):
            registry.add_job(Job("lain", every, _one))
    assert sorted(registry.jobs) == ["kirim", "ringkas"]


def test_a_registry_cleared_keeps_nothing_of_what_was_registered():
    registry = Registry()
    registry.add_handler("kirim", _one)
    registry.subscribe("diajukan", _one)
    registry.add_job(Job("kirim", "minute", _one))
    registry.adapters["dukcapil"] = object()
    registry.variables.add("periode")
    registry.clear()
    assert (registry.handlers, registry.jobs, registry.adapters, registry.variables) == ({}, {}, {}, set())
    assert not registry.has_subscribers("diajukan")


def test_a_session_finds_its_own_databases_registry_and_one_made_elsewhere_keeps_one(db):
    with db.read() as s:
        assert registry_of(s) is db.registry
    elsewhere = Session()
    try:
        assert registry_of(elsewhere) is registry_of(elsewhere)
    finally:
        elsewhere.close()


# --- whose figures a name means ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DINSOS",
        "Dinas Sosial",
        "Dinas Sosial Prov. Kaltara",
        "Dinas Sosial Provinsi Kalimantan Utara",
        "dinsos  provinsi\tkaltara",
        "DINAS SOSIAL KALTARA",
        "Dinsos Prov",
    ],
)
def test_dinas_sosials_own_name_is_recognised_however_it_is_written(name):
    assert agency_names.is_ours(name)


@pytest.mark.parametrize(
    "name", ["Dinas Sosial Kabupaten Bulungan", "Dinas Sosial dan PMD", "DP3AP2KB", "Disdukcapil", "", None]
)
def test_another_offices_name_is_not_dinas_sosials(name):
    assert not agency_names.is_ours(name)


def test_an_agencys_name_is_one_name_however_its_letters_and_digits_are_written():
    assert agency_names.letters("DP3A-P2KB") == agency_names.letters("Dp3ap2kb") == "dp3ap2kb"
