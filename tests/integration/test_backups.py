"""A backup taken while people work restores into an empty database whole: the audit chain
verifies, every instance agrees with its inbox, and the uploaded minutes and the key come back."""

from __future__ import annotations

import shutil
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from engine.bootstrap import bootstrap
from engine.core import backup
from engine.core.config import load_settings
from engine.core.errors import Invalid
from engine.core.uow import Database
from engine.people import users
from engine.verification import consistency, minutes
from models import AuditEvent, Submission
from tests import databases
from tests.factories import SYSTEM, decide, make_team, open_with_items, submit

DESA = [f"65.01.01.{2005 + i}" for i in range(5)]
PDF = b"%PDF-1.4\n% berita acara musdes\n%%EOF\n"


class Load:
    """People at work while the backup runs: opening, importing, submitting, approving."""

    def __init__(self, db: Database) -> None:
        self.db, self.stop, self.done, self.errors = db, threading.Event(), 0, []
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        for code in DESA[1:-1]:
            if self.stop.is_set():
                return
            try:
                sid = open_with_items(self.db, desa=code)
                submit(self.db, f"op.{code}", sid)
                decide(self.db, "verif.kec", sid, "approve")
                self.done += 1
            except Exception as exc:  # reported by the test
                self.errors.append(exc)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(120)


def _prepare(db: Database) -> None:
    make_team(db)
    for code in DESA[1:]:
        with db.transaction() as s:
            users.add_user(s, SYSTEM, f"op.{code}", "operator", code)
    sid = open_with_items(db)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "berita-acara.pdf", PDF, db.settings.upload_dir)
    submit(db, "op.desa", sid)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    submit(db, f"op.{DESA[-1]}", open_with_items(db, desa=DESA[-1]))  # one waits at the kecamatan


def test_a_backup_under_load_restores_whole(db, tmp_path):
    _prepare(db)
    with Load(db) as load:
        taken = backup.backup(db, tmp_path / "cadangan")
    assert not load.errors, load.errors
    target = databases.restore_target(db, tmp_path)
    try:
        backup.restore(target, tmp_path / "cadangan")
        bootstrap(target)
        with target.read() as s:
            report = consistency.check(s)
            assert report.ok, report.problems
            assert report.instances >= 1
            restored = s.scalar(select(func.count()).select_from(Submission))
        assert 1 <= restored <= len(DESA)
        assert any(target.settings.upload_dir.glob("*.pdf"))
        assert "sijosku.db" in taken.files or "sijosku.dump" in taken.files
    finally:
        target.dispose()


def test_restore_refuses_a_database_in_use_and_a_damaged_backup(db, tmp_path):
    make_team(db)
    backup.backup(db, tmp_path / "cadangan")
    with pytest.raises(Invalid, match="tidak kosong"):
        backup.restore(db, tmp_path / "cadangan")
    damaged = next(p for p in (tmp_path / "cadangan").iterdir() if p.name.startswith("sijosku."))
    damaged.write_bytes(damaged.read_bytes()[:-10])
    target = databases.restore_target(db, tmp_path)
    try:
        with pytest.raises(Invalid, match="rusak"):
            backup.restore(target, tmp_path / "cadangan")
    finally:
        target.dispose()


def test_backup_restore_and_check_from_the_command_line(db, tmp_path, instance_dir):
    from web.cli import main

    _prepare(db)
    (instance_dir / "secret_key").write_text("kunci-yang-dicadangkan")  # the key in use: none in the environment
    live = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(instance_dir), "SECRET_KEY": ""}
    runner = CliRunner()
    taken = runner.invoke(main, ["backup", str(tmp_path / "cadangan")], env=live, catch_exceptions=False)
    assert taken.exit_code == 0 and "tersimpan" in taken.stdout, taken.output
    # it holds every NIK: readable by its owner only
    assert (tmp_path / "cadangan").stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "cadangan").rglob("*") if p.is_file())
    target = databases.restore_target(db, tmp_path)
    url = target.engine.url.render_as_string(hide_password=False)
    target.dispose()
    # a new instance folder, whose key the command's own start makes: the backup's replaces it
    restored_env = {"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path / "pulih"), "SECRET_KEY": ""}
    restored = runner.invoke(main, ["restore", str(tmp_path / "cadangan")], env=restored_env, catch_exceptions=False)
    assert restored.exit_code == 0 and "utuh" in restored.stdout, restored.output
    assert (tmp_path / "pulih" / "secret_key").read_text() == "kunci-yang-dicadangkan"
    checked = runner.invoke(main, ["check"], env=restored_env, catch_exceptions=False)
    assert checked.exit_code == 0, checked.output


def test_a_backup_of_a_database_that_is_not_sijoskus_is_refused(db, tmp_path):
    """A nightly job started in the wrong folder, or a mistyped path, must not report an empty copy."""
    if db.engine.dialect.name == "sqlite":
        missing = tmp_path / "salah-ketik.db"
        settings = load_settings({"DATABASE_URL": f"sqlite:///{missing}", "SIJOSKU_INSTANCE_DIR": str(tmp_path)})
        wrong = Database.connect(settings)
        with pytest.raises(Invalid, match="tidak ada"):
            backup.backup(wrong, tmp_path / "cadangan")
        assert not missing.exists()  # not created by the attempt
        wrong.dispose()
    empty = databases.restore_target(db, tmp_path)  # a database of the right kind that was never initialised
    try:
        with empty.engine.connect():  # it exists (SQLite: the file is made)
            pass
        with pytest.raises(Invalid, match="belum diinisialisasi"):
            backup.backup(empty, tmp_path / "cadangan-kosong")
    finally:
        empty.dispose()


def test_a_restore_cut_short_leaves_nothing_that_blocks_the_next_try(db, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_restore's single transaction; SQLite restores one file in one step")
    import json

    make_team(db)
    backup.backup(db, tmp_path / "cadangan")
    cut = tmp_path / "terpotong"  # as a full disk or a dropped copy leaves it, with a manifest to match
    shutil.copytree(tmp_path / "cadangan", cut)
    dump = cut / backup.PG_FILE
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    manifest = json.loads((cut / backup.MANIFEST).read_text())
    manifest["files"][backup.PG_FILE] = backup._sha256(dump)
    (cut / backup.MANIFEST).write_text(json.dumps(manifest))
    target = databases.restore_target(db, tmp_path)
    try:
        with pytest.raises(Invalid, match="pg_restore gagal"):
            backup.restore(target, cut)
        target.engine.dispose()
        backup.restore(target, tmp_path / "cadangan")  # nothing half-made stands in the way
        with target.read() as s:
            assert consistency.check(s).ok
    finally:
        target.dispose()


def test_a_damaged_manifest_is_said_plainly(db, tmp_path):
    backup.backup(db, tmp_path / "cadangan")
    (tmp_path / "cadangan" / backup.MANIFEST).write_text("{bukan json")
    with pytest.raises(Invalid, match="tidak dapat dibaca"):
        backup.restore(db, tmp_path / "cadangan")


def test_a_restore_whose_check_fails_says_so_and_exits_1(db, tmp_path, instance_dir):
    """A backup of data already broken (here a rewritten audit row) restores, but the command that
    restored it fails for the script or timer that ran it, and names what is not whole."""
    from web.cli import main

    make_team(db)
    open_with_items(db)
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="orang-lain"))
    live = {"DATABASE_URL": db.settings.database_url, "SIJOSKU_INSTANCE_DIR": str(instance_dir), "SECRET_KEY": "x"}
    runner = CliRunner()
    taken = runner.invoke(main, ["backup", str(tmp_path / "cadangan")], env=live, catch_exceptions=False)
    assert taken.exit_code == 0, taken.output
    target = databases.restore_target(db, tmp_path)
    url = target.engine.url.render_as_string(hide_password=False)
    target.dispose()
    restored_env = {"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path / "pulih"), "SECRET_KEY": "x"}
    restored = runner.invoke(main, ["restore", str(tmp_path / "cadangan")], env=restored_env, catch_exceptions=False)
    assert restored.exit_code == 1, restored.output
    assert "dipulihkan: 1 masalah" in restored.output and "isi baris audit 1 telah diubah" in restored.output
