"""A backup or a restore that cannot finish says why and leaves nothing half-written; a backup is
what it says it is (every minutes file the database refers to, the key in use, its owner's alone).

- a backup cut short (a full disk, pg_dump killed) removes what it wrote, and the retry into the
  same folder (the nightly `backup DIR/$(date +%F)`) works;
- a backup from an instance folder without the minutes the database refers to (a shared folder not
  mounted, SIJOSKU_INSTANCE_DIR missing from a timer) is refused;
- a target folder that cannot be made is a refusal naming it, not an unforeseen fault;
- the key a backup takes is the one that signs sessions, not a file left from before SECRET_KEY;
- a restore whose instance folder cannot take the files leaves the database empty, to try again;
- a SQLite target holding only views is not empty.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner

from engine.core import backup
from engine.core.config import load_settings
from engine.core.errors import Invalid
from engine.core.uow import Database
from engine.verification import minutes
from models import Submission
from tests import databases
from tests.factories import SYSTEM, make_team, open_with_items
from tests.integration.test_backups import _prepare

PDF = b"%PDF-1.4\n% berita acara musdes\n%%EOF\n"


def test_a_backup_cut_short_leaves_nothing_and_the_retry_works(db, tmp_path, monkeypatch):
    make_team(db)
    real_copytree = shutil.copytree

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup.shutil, "copytree", disk_full)
    db.settings.upload_dir.mkdir(parents=True, exist_ok=True)  # there are uploads to copy
    with pytest.raises(Invalid, match="cadangan|ruang|space"):
        backup.backup(db, tmp_path / "cadangan")
    target = tmp_path / "cadangan"
    assert not target.exists() or not any(target.iterdir()), sorted(p.name for p in target.iterdir())

    monkeypatch.setattr(backup.shutil, "copytree", real_copytree)
    taken = backup.backup(db, target)  # the same folder, the same night
    assert (target / backup.MANIFEST).exists() and taken.files


def test_pg_dump_ended_by_a_signal_says_so(monkeypatch):
    def killed(command, **kwargs):
        return subprocess.CompletedProcess(command, -9, stdout="", stderr="")

    monkeypatch.setattr(backup.subprocess, "run", killed)
    with pytest.raises(Invalid) as refused:
        backup._run(["pg_dump", "--format=custom", "postgresql://x/y"], {})
    message = str(refused.value)
    assert message.rstrip().rstrip(":") != "pg_dump gagal", message  # a reason, not an empty tail
    assert "9" in message or "sinyal" in message or "signal" in message, message


def test_a_backup_without_the_minutes_the_database_refers_to_is_refused(db, tmp_path):
    make_team(db)
    sid = open_with_items(db)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "berita-acara.pdf", PDF, db.settings.upload_dir)
    # the same database, seen from a node whose instance folder is not the shared one
    elsewhere = Database.connect(
        load_settings(
            {
                "DATABASE_URL": db.settings.database_url,
                "SIJOSKU_INSTANCE_DIR": str(tmp_path / "bukan-folder-layanan"),
                "SECRET_KEY": "x",
            }
        )
    )
    try:
        with pytest.raises(Invalid, match="berita acara|unggahan|uploads"):
            backup.backup(elsewhere, tmp_path / "cadangan")
    finally:
        elsewhere.dispose()
    assert not (tmp_path / "cadangan" / backup.MANIFEST).exists()  # nothing that looks like a backup


def test_every_folder_of_a_backup_is_its_owners_only(db, tmp_path):
    make_team(db)
    sid = open_with_items(db)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "berita-acara.pdf", PDF, db.settings.upload_dir)
    db.settings.upload_dir.chmod(0o755)  # as an instance folder made under the usual umask
    backup.backup(db, tmp_path / "cadangan")
    folders = [tmp_path / "cadangan", *(p for p in (tmp_path / "cadangan").rglob("*") if p.is_dir())]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in folders} == {p.name: "0o700" for p in folders}


def test_a_target_that_cannot_be_made_is_a_refusal_naming_it(db, tmp_path, instance_dir):
    from web.cli import main

    (tmp_path / "berkas").write_text("bukan folder")
    live = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(instance_dir), "SECRET_KEY": "x"}
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "berkas" / "cadangan")], env=live)
    assert result.exit_code == 1, result.output
    assert str(tmp_path / "berkas") in result.output and "tak terduga" not in result.output, result.output


def test_the_key_a_backup_names_is_the_key_in_use(db, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("kunci-lama-sebelum-variabel")
    live = Database.connect(
        load_settings(
            {
                "DATABASE_URL": db.settings.database_url,
                "SIJOSKU_INSTANCE_DIR": str(instance),
                "SECRET_KEY": "kunci-dari-lingkungan-yang-dipakai",
            }
        )
    )
    try:
        taken = backup.backup(live, tmp_path / "cadangan")
    finally:
        live.dispose()
    manifest = json.loads((tmp_path / "cadangan" / backup.MANIFEST).read_text())
    if "secret_key" in taken.files:
        assert (tmp_path / "cadangan" / "secret_key").read_text().strip() == "kunci-dari-lingkungan-yang-dipakai"
    else:
        assert "SECRET_KEY" in manifest["secret_key"]


def test_a_restore_whose_files_cannot_be_written_leaves_the_target_as_it_was(db, tmp_path):
    from web.cli import main

    _prepare(db)  # with uploaded minutes
    backup.backup(db, tmp_path / "cadangan")
    target = databases.restore_target(db, tmp_path)
    url = target.engine.url.render_as_string(hide_password=False)
    target.dispose()
    # the instance folder cannot take the uploads (a full disk, a read-only or wrongly owned mount)
    (tmp_path / "pulih").mkdir(exist_ok=True)
    (tmp_path / "pulih" / "uploads").write_text("bukan folder")
    env = {"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path / "pulih"), "SECRET_KEY": ""}

    runner = CliRunner()
    failed = runner.invoke(main, ["restore", str(tmp_path / "cadangan")], env=env, catch_exceptions=False)

    assert failed.exit_code == 1, failed.output  # a refusal a person can put right, not an unforeseen fault
    assert "uploads" in failed.output, failed.output  # says which folder
    assert "tak terduga" not in failed.output, failed.output
    again = Database.connect(load_settings(env))
    try:
        backup._require_empty(again)  # nothing half-restored stands in the way of the next try
    finally:
        again.dispose()
    (tmp_path / "pulih" / "uploads").unlink()
    retried = runner.invoke(main, ["restore", str(tmp_path / "cadangan")], env=env, catch_exceptions=False)
    assert retried.exit_code == 0 and "utuh" in retried.stdout, retried.output
    assert any((tmp_path / "pulih" / "uploads").glob("*.pdf"))


def test_a_sqlite_target_with_a_view_is_not_empty(db, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL counts every relation in pg_class")
    backup.backup(db, tmp_path / "cadangan")
    path = tmp_path / "laporan.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE VIEW rekap AS SELECT 1 AS jumlah")
    target = Database.connect(
        load_settings(
            {"DATABASE_URL": f"sqlite:///{path}", "SIJOSKU_INSTANCE_DIR": str(tmp_path / "i"), "SECRET_KEY": "x"}
        )
    )
    try:
        with pytest.raises(Invalid, match="tidak kosong"):
            backup.restore(target, tmp_path / "cadangan")
    finally:
        target.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall() == [("rekap",)]


def test_a_restore_whose_database_step_fails_leaves_the_instance_key_as_it_was(db, tmp_path, monkeypatch):
    """The key is replaced, not added: only a database restored takes the key that signs it."""
    _prepare(db)
    (db.settings.instance_dir / "secret_key").write_text("kunci-yang-dicadangkan")  # the key in use
    live_settings = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(db.settings.instance_dir)}
    live = Database.connect(load_settings(live_settings))
    try:
        assert "secret_key" in backup.backup(live, tmp_path / "cadangan").files
    finally:
        live.dispose()
    target = databases.restore_target(db, tmp_path)
    url = target.engine.url.render_as_string(hide_password=False)
    target.dispose()
    here = tmp_path / "pulih"
    here.mkdir(exist_ok=True)
    (here / "secret_key").write_text("kunci-instance-ini")
    restoring = Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(here)}))

    def refused(*_args, **_kwargs):
        raise Invalid("pg_restore gagal: koneksi terputus")

    monkeypatch.setattr(backup, "_restore_database", refused)
    try:
        with pytest.raises(Invalid):
            backup.restore(restoring, tmp_path / "cadangan")
    finally:
        restoring.dispose()
    assert (here / "secret_key").read_text() == "kunci-instance-ini"


def test_minutes_lost_for_good_are_allowed_only_when_asked_listed_and_said(db, tmp_path, instance_dir):
    """One file deleted by hand must not stop every night's backup of the database."""
    from web.cli import main

    make_team(db)
    sid = open_with_items(db)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "berita-acara.pdf", PDF, db.settings.upload_dir)
    with db.read() as s:
        lost = db.settings.upload_dir / s.get(Submission, sid).berita_acara
    lost.unlink()
    live = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(instance_dir), "SECRET_KEY": ""}
    refused = CliRunner().invoke(main, ["backup", str(tmp_path / "a")], env=live)
    assert refused.exit_code == 1 and "--allow-missing-minutes" in refused.output
    assert not (tmp_path / "a").exists()
    taken = CliRunner().invoke(main, ["backup", str(tmp_path / "b"), "--allow-missing-minutes"], env=live)
    assert taken.exit_code == 1 and "1 berita acara tidak ada" in taken.output  # the timer shows it failed
    manifest = json.loads((tmp_path / "b" / backup.MANIFEST).read_text())
    assert manifest["berita_acara_hilang"] == [lost.name]
    assert {backup.SQLITE_FILE, backup.PG_FILE} & set(manifest["files"])  # the database is taken all the same
    target = databases.restore_target(db, tmp_path)
    url = target.engine.url.render_as_string(hide_password=False)
    target.dispose()
    restored = CliRunner().invoke(
        main,
        ["restore", str(tmp_path / "b"), "--json"],
        env={**live, "DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path / "pulih")},
    )
    assert restored.exit_code == 0 and "tanpa 1 berita acara" in restored.stderr, restored.output  # said again
    assert json.loads(restored.stdout)["berita_acara_hilang"] == [lost.name]
