"""Schema upgrades run on a database that already holds data, as a deployed one does; `init` run by
several nodes at once, each letting go of the database lock it takes."""

from __future__ import annotations

import time
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from engine.bootstrap import bootstrap
from engine.core import audit
from engine.core.config import load_settings
from engine.core.uow import Database
from engine.people import users
from engine.setup.initialise import INIT_LOCK, _one_at_a_time, initialise
from engine.verification import imports, submissions
from models import (
    AuditEvent,
    Base,
    Category,
    Determination,
    HumanTask,
    ProcessInstance,
    QualityFlag,
    RoleAssignment,
    Submission,
    SubmissionItem,
)
from models.db import make_engine
from models.schema import downgrade, upgrade
from tests import databases
from tests.factories import SYSTEM, csv_of, person_row


def _new_sqlite(tmp_path, name: str) -> Database:
    """A new SQLite database at this release's schema, with its reference data and processes."""
    url = f"sqlite:///{tmp_path / name}"
    db = bootstrap(
        Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x"}))
    )
    initialise(db)
    return db


def test_every_migration_upgrades_a_database_in_use(tmp_path):
    db = _new_sqlite(tmp_path, "used.db")
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa", "operator", "65.01.01.2005")
        sid = submissions.open_submission(s, SYSTEM, "65.01.01.2005", "2026-Q4", "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    # a role refers to its person: rebuilding `app_user` on SQLite with foreign keys on deleted every one
    held = (Submission, SubmissionItem, AuditEvent, ProcessInstance, HumanTask, RoleAssignment)

    def counts() -> list[int]:
        with db.read() as s:
            return [s.scalar(select(func.count()).select_from(model)) for model in held]

    before = counts()
    assert all(before)
    downgrade(db.engine, "0001")
    upgrade(db.engine)
    assert counts() == before  # the data in use came through both ways
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Category).where(Category.usia_tidak_pasti.is_(True))) >= 2
        assert audit.verify_chain(s).ok
    db.dispose()


def test_an_upgrade_that_cannot_finish_leaves_the_database_as_it_was(tmp_path):
    """A SQLite upgrade is one transaction, with every reference checked before it commits: a refusal
    half-way leaves the schema and the data of the release before, not a mix the code cannot read."""
    db = _new_sqlite(tmp_path, "half.db")
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa", "operator", "65.01.01.2005")
    downgrade(db.engine, "0043")
    raw = db.engine.raw_connection()  # a role whose person is gone, written with the checks off
    raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
    raw.driver_connection.execute(
        "INSERT INTO role_assignment (user_id, role, region_kode, tingkat) "
        "SELECT 999, role, region_kode, tingkat FROM role_assignment"
    )
    raw.close()
    with pytest.raises(RuntimeError, match="migrasi dibatalkan"):
        upgrade(db.engine)
    with db.engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0043"
        assert "ganti_sandi" not in {row[1] for row in c.exec_driver_sql("PRAGMA table_info(app_user)")}
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # the checks back on for the app
    db.dispose()


def test_the_migrations_build_exactly_the_models(db):
    """Every model change comes with its migration (autogenerate finds nothing left to do)."""
    with db.engine.connect() as connection, warnings.catch_warnings():
        # SQLite's reflection skips an index on expressions (`substr(nik, 1, 8)`), and says so
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    # SQLite reflects an index on `priority DESC` as a plain column; PostgreSQL compares it exactly.
    differences = [
        d
        for d in differences
        if not (
            db.engine.dialect.name == "sqlite" and d[0] in ("add_index", "remove_index") and "priority" in str(d[1])
        )
        and not (d[0] == "add_index" and not _built_on(d[1], db.engine.dialect.name))
    ]
    assert differences == []


def _built_on(index, dialect: str) -> bool:
    """An index the models build only on one database (`ddl_if`, the LIKE-prefix indexes of
    PostgreSQL) is not missing from another."""
    (modelled,) = [i for i in Base.metadata.tables[index.table.name].indexes if i.name == index.name]
    only = modelled._ddl_if  # autogenerate compares a copy, without it
    return only is None or only.dialect in (None, dialect)


def test_postgresql_knows_how_the_inbox_columns_go_together(db, is_postgresql):
    """Extended statistics (0041) keep the planner's estimate of a region's open tasks honest, so a
    deep inbox page walks the index instead of sorting every task (docs/benchmarks.md)."""
    if not is_postgresql:
        pytest.skip("extended statistics are PostgreSQL's")
    with db.read() as s:
        kinds = s.execute(text("SELECT stxkind FROM pg_statistic_ext WHERE stxname = 'st_human_task_inbox'")).scalar()
    assert kinds is not None and set(kinds) >= {"m", "f"}  # most common values and dependencies


def test_two_nodes_initialising_one_new_database_at_once_both_succeed(db, is_postgresql, tmp_path):
    """The documented unit runs `sijosku init` before each node starts: two at once must not collide."""
    if not is_postgresql:
        pytest.skip("several nodes share a PostgreSQL database")
    import os
    import subprocess
    import sys

    from engine.core.config import PROJECT_ROOT

    with databases.empty_database(db, f"{db.engine.url.database}_dua_simpul") as url:
        env = {**os.environ, "DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "uji"}
        command = [sys.executable, "-m", "web.cli", "init"]
        nodes = [
            subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
        said = [node.communicate(timeout=300)[0].decode() for node in nodes]
        assert [node.returncode for node in nodes] == [0, 0], said


def test_a_nodes_init_lets_go_of_the_database_lock_so_the_next_nodes_start_goes_on(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("SQLite takes no advisory lock: one file, one node")
    initialise(db)
    other_node = make_engine(db.settings.database_url)
    try:
        with other_node.connect() as c:
            taken = c.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": INIT_LOCK}).scalar_one()
            c.execute(text("SELECT pg_advisory_unlock_all()"))
        assert taken
    finally:
        other_node.dispose()


def test_the_connection_that_held_inits_lock_is_closed_after_so_the_lock_cannot_outlive_init(db, is_postgresql):
    """Were it given back to the pool, an unlock that could not run would leave the lock on it, and the
    process's next `init` would wait for it forever."""
    if not is_postgresql:
        pytest.skip("SQLite takes no advisory lock: one file, one node")
    held_by = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted"
    with _one_at_a_time(db), db.engine.connect() as c:
        holder = c.execute(text(held_by), {"k": INIT_LOCK}).scalar_one()
    for _ in range(50):  # the server ends a closed connection's process a moment after
        with db.engine.connect() as c:
            alive = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": holder}).scalar_one()
        if not alive:
            break
        time.sleep(0.1)
    assert not alive


def _sqlite_at(tmp_path, revision: str) -> Database:
    """A new SQLite database taken back to an earlier revision, as a deployed one stood before an upgrade."""
    db = _new_sqlite(tmp_path, f"at-{revision}.db")
    downgrade(db.engine, revision)
    return db


def test_flags_of_a_nik_registered_elsewhere_stored_before_are_reworded_and_stay_settled(tmp_path):
    db = _sqlite_at(tmp_path, "0045")
    old = "NIK ini sudah terdaftar di tempat lain; kecamatan akan memeriksanya"
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO quality_flag (rule, severity, message, tingkat, region_kode, status, created_at, sources) "
                "VALUES ('duplikat_nik_tempat_lain', 'warning', :m, 'desa', '65.01.01.2005', 'diakui', "
                "CURRENT_TIMESTAMP, '{}')"
            ),
            {"m": old},
        )
    upgrade(db.engine)
    with db.read() as s:
        flag = s.scalar(select(QualityFlag))
        assert (flag.message, flag.status) == (
            "NIK ini juga terdaftar di tempat lain; periksa apakah orang yang sama",
            "diakui",
        )
    downgrade(db.engine, "0045")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT message FROM quality_flag")).scalar() == old
    db.dispose()


def test_a_determination_stored_before_gets_its_totals_written_beside_it(tmp_path):
    db = _sqlite_at(tmp_path, "0047")
    angka = '[["65", "LUT", 3], ["65.01", "LUT", 3]]'
    content = f'{{"tahun": 2025, "wilayah": "65", "angka": {angka}, "catatan": [[1, 1], [2, 1]]}}'
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO determination (tahun, revisi, region_kode, nomor_sk, tanggal_sk, approved_by, "
                "approved_at, content_hash, content) VALUES (2025, 0, '65', '188.44/1/2026', '2026-03-01', "
                "'kepala.dinas', "
                "CURRENT_TIMESTAMP, :h, :c)"
            ),
            {"h": "0" * 64, "c": content},
        )
    upgrade(db.engine)
    with db.read() as s:
        assert s.scalar(select(Determination.ringkasan)) == {"totals": {"LUT": 3, "jumlah": 3}, "catatan": 2}
    db.dispose()
