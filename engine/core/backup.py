"""Backups: a consistent copy of the database, the uploaded minutes and the secret key, and
restoring it into an empty database.

- SQLite: the online backup API copies the database page by page under its own read transaction,
  so writers may go on meanwhile and the copy is one moment of the database (a plain file copy
  under load can be torn).
- PostgreSQL: `pg_dump` in its custom format, which reads one snapshot (REPEATABLE READ).

The uploads are copied after the database: files are only ever added (named by their content's
hash), so every file the copy refers to exists in the backup, and a backup whose uploads lack minutes
the database referred to before it began (a shared folder not mounted, the wrong instance folder) is
refused. `manifest.json` says what was taken. A backup or a restore that fails leaves nothing
half-written: a backup removes what it wrote; a restore writes the files before the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL, make_url

from engine.core import clock
from engine.core.errors import Invalid
from engine.core.uow import Database
from models import Submission

SQLITE_FILE = "sijosku.db"
PG_FILE = "sijosku.dump"
MANIFEST = "manifest.json"


@dataclass
class Taken:
    directory: Path
    database: str
    files: dict[str, str]  # name -> sha256
    missing_minutes: list[str]  # minutes the database refers to and the instance folder lacks (allowed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "database": self.database,
            "files": self.files,
            "berita_acara_hilang": self.missing_minutes,
        }


def _libpq(db: Database) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore read it (without SQLAlchemy's driver name), and the password
    in their environment: on the command line, any user of the machine could read it."""
    url = db.engine.url
    env = {**os.environ, "PGPASSWORD": url.password} if url.password else dict(os.environ)
    # URL.set(password=None) would keep the password: None there means "unchanged".
    bare = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    return bare.render_as_string(hide_password=False), env


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(db: Database) -> Path:
    database = make_url(str(db.engine.url)).database
    if not database:
        raise Invalid("Basis data SQLite di memori tidak dapat dicadangkan")
    return Path(database)


def _dump_sqlite(db: Database, target: Path) -> None:
    source = sqlite3.connect(f"file:{_sqlite_path(db)}?mode=ro", uri=True, timeout=30)  # never created here
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # in one step: one read transaction, writers go on (WAL)
    finally:
        copy.close()
        source.close()


def _dump_postgresql(db: Database, target: Path) -> None:
    url, env = _libpq(db)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", url], env)


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    except FileNotFoundError as exc:
        raise Invalid(f"{command[0]} tidak terpasang (paket postgresql-client)") from exc
    if done.returncode < 0:  # killed (out of memory, a file-size limit): it said nothing
        raise Invalid(f"{command[0]} dihentikan sinyal {-done.returncode}; tidak ada yang disimpan")
    if done.returncode != 0:
        said = done.stderr.strip()[:500] or f"kode keluar {done.returncode}"
        raise Invalid(f"{command[0]} gagal: {said}")


def _require_sijosku(db: Database) -> None:
    """A backup of a database that is not SIJOSKU's (a mistyped path, a job started in the wrong
    folder) would be an empty copy reported as taken."""
    if db.engine.dialect.name == "sqlite" and not _sqlite_path(db).exists():
        raise Invalid(f"Basis data {_sqlite_path(db)} tidak ada; periksa DATABASE_URL dan folder kerja")
    if not inspect(db.engine).has_table("alembic_version"):
        raise Invalid("Basis data ini belum diinisialisasi SIJOSKU (sijosku init); periksa DATABASE_URL")


@contextmanager
def _private() -> Iterator[None]:
    """What a backup writes is readable by its owner only: it holds every NIK and family card number."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def backup(db: Database, directory: Path, allow_missing_minutes: bool = False) -> Taken:
    """Take a backup into `directory` (new, or empty); one that fails leaves it as it was. Minutes the
    database refers to and the instance folder lacks refuse it, unless allowed (a file lost for good
    must not stop every night's backup): then they are listed in the manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise Invalid(f"Folder cadangan {directory} tidak kosong; pilih folder baru")
    _require_sijosku(db)
    referenced = _minutes_referenced(db)
    made = not directory.exists()
    with _private():
        try:
            return _take(db, directory, referenced, allow_missing_minutes)
        except (OSError, sqlite3.Error, Invalid) as exc:
            _discard(directory, made)
            if isinstance(exc, Invalid):
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise Invalid(f"Cadangan ke {directory} gagal: {reason}; tidak ada yang disimpan") from exc


def _minutes_referenced(db: Database) -> set[str]:
    """The minutes files the database refers to now: every one is in the copy taken after."""
    with db.read() as session:
        return set(session.scalars(select(Submission.berita_acara).where(Submission.berita_acara.is_not(None))))


def _discard(directory: Path, made: bool) -> None:
    """What a failed backup wrote: the folder it made, or what it put in the empty one it was given."""
    if made:
        shutil.rmtree(directory, ignore_errors=True)
    elif directory.is_dir():
        for path in directory.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _take(db: Database, directory: Path, referenced: set[str], allow_missing_minutes: bool) -> Taken:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    dialect = db.engine.dialect.name
    started = clock.now()
    if dialect == "sqlite":
        _dump_sqlite(db, directory / SQLITE_FILE)
    else:
        _dump_postgresql(db, directory / PG_FILE)
    missing = _copy_uploads(db.settings.upload_dir, directory / "uploads", referenced, allow_missing_minutes)
    key_file = db.settings.instance_dir / "secret_key"
    # the key in use: a file left from before SECRET_KEY was set in the environment signs nothing
    key_taken = key_file.exists() and key_file.read_text().strip() == db.settings.secret_key
    if key_taken:
        shutil.copyfile(key_file, directory / "secret_key")
    files = {str(p.relative_to(directory)): _sha256(p) for p in sorted(directory.rglob("*")) if p.is_file()}
    manifest = {
        "sijosku_backup": 1,
        "database": dialect,
        "taken_at": started.isoformat(),
        "secret_key": "secret_key" if key_taken else "dari lingkungan (SECRET_KEY), tidak disalin",
        "files": files,
        "berita_acara_hilang": missing,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return Taken(directory, dialect, files, missing)


def _copy_uploads(uploads: Path, target: Path, referenced: set[str], allow_missing: bool) -> list[str]:
    if uploads.exists():
        shutil.copytree(uploads, target, copy_function=shutil.copyfile)  # the files take the umask's modes
        for folder in (target, *(p for p in target.rglob("*") if p.is_dir())):
            folder.chmod(0o700)  # copytree gives a folder its source's mode
    missing = sorted(name for name in referenced if not (target / name).is_file())
    if missing and not allow_missing:
        raise Invalid(
            f"{len(missing)} berkas berita acara yang dirujuk basis data tidak ada di {uploads} (mis. {missing[0]}); "
            "periksa SIJOSKU_INSTANCE_DIR dan apakah folder bersamanya terpasang (yang hilang untuk selamanya: "
            "--allow-missing-minutes)"
        )
    return missing


def _manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        raise Invalid(f"{directory} bukan cadangan SIJOSKU ({MANIFEST} tidak ada)")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
        files = dict(manifest["files"])
        database = str(manifest["database"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid(f"Cadangan rusak: {MANIFEST} tidak dapat dibaca") from exc
    for name, digest in files.items():
        if not (directory / name).is_file() or _sha256(directory / name) != digest:
            raise Invalid(f"Cadangan rusak: berkas {name} hilang atau berubah")
    return {**manifest, "files": files, "database": database}


_PG_OBJECTS = text(
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
)


def _require_empty(db: Database) -> None:
    if db.engine.dialect.name == "postgresql":  # sequences and views too, left by a restore cut short
        with db.engine.connect() as connection:
            found = connection.execute(_PG_OBJECTS).scalar_one()
    else:
        found = len(inspect(db.engine).get_table_names()) + len(inspect(db.engine).get_view_names())
    if found:
        raise Invalid(f"Basis data tujuan tidak kosong ({found} objek); pulihkan ke basis data baru")


def restore(db: Database, directory: Path) -> list[str]:
    """Restore the backup in `directory` into the (empty) database of `db` and its instance folder;
    returns the minutes the backup was taken without (`--allow-missing-minutes`), to be said again."""
    manifest = _manifest(directory)
    dialect = db.engine.dialect.name
    if manifest["database"] != dialect:
        raise Invalid(f"Cadangan ini dari {manifest['database']}; basis data tujuan adalah {dialect}")
    _require_empty(db)
    with _private():
        _restore_uploads(db, directory)  # first: a folder that cannot take them leaves the database empty
        try:
            _restore_database(db, directory)
        except sqlite3.Error as exc:
            raise Invalid(f"Pemulihan SQLite gagal: {exc}; basis data tujuan tidak dipakai") from exc
        _restore_key(db, directory)  # last: replaced, not added, and only for the database it signs
    return [str(name) for name in manifest.get("berita_acara_hilang") or []]


def _restore_database(db: Database, directory: Path) -> None:
    db.engine.dispose()
    if db.engine.dialect.name == "sqlite":
        target = _sqlite_path(db)
        source = sqlite3.connect(directory / SQLITE_FILE)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
    else:
        url, env = _libpq(db)
        restore_command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        _run([*restore_command, f"--dbname={url}", str(directory / PG_FILE)], env)  # all or nothing


def _restore_uploads(db: Database, directory: Path) -> None:
    """The uploads into the instance folder. Files are only added (named by their content), so a
    restore of the database that then fails leaves nothing they could contradict."""
    try:
        if (directory / "uploads").exists():
            shutil.copytree(directory / "uploads", db.settings.upload_dir, dirs_exist_ok=True)
    except OSError as exc:
        where = exc.filename or db.settings.instance_dir
        raise Invalid(
            f"Folder instance tidak dapat menerima berkas cadangan ({where}: {exc.strerror or exc}); "
            "basis data belum diubah"
        ) from exc


def _restore_key(db: Database, directory: Path) -> None:
    """The backup's key replaces one this instance folder holds (the restored database is the
    backup's, and the command's own start may just have made a key): sessions stay valid."""
    if (directory / "secret_key").exists():
        key_file = db.settings.instance_dir / "secret_key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(directory / "secret_key", key_file)
        key_file.chmod(0o600)
