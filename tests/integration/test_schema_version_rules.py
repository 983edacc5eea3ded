"""The schema's versions as an administrator meets them, on SQLite and on PostgreSQL: every release's
schema is the one its models declare, to the last index, default and constraint; and every upgrade
has its way back, one release at a time, to exactly the schema the release before built."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from models import Base
from models.db import make_engine
from models.schema import alembic_config, downgrade, upgrade
from tests import databases


def _schema(engine: Engine) -> dict[str, Any]:
    """What an administrator's database holds: tables with their columns (type, nullable, default),
    keys and constraints, and every index as the database itself writes it."""
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            schema[table] = {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ),
                "primary key": sorted(inspector.get_pk_constraint(table)["constrained_columns"]),
                "references": sorted(
                    (f["constrained_columns"], f["referred_table"], f["referred_columns"], str(f.get("options")))
                    for f in inspector.get_foreign_keys(table)
                ),
                "unique": sorted((u["name"] or "", u["column_names"]) for u in inspector.get_unique_constraints(table)),
                "checks": sorted((c["name"] or "", c["sqltext"]) for c in inspector.get_check_constraints(table)),
            }
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version' "
                    "UNION ALL SELECT stxname, array_to_string(stxkind, ',') || ' ' || stxkeys::text "
                    "FROM pg_statistic_ext"
                )
            )
        schema["indexes"] = sorted((name, re.sub(r'[\s"]+', " ", sql).strip()) for name, sql in rows)
    return schema


@contextmanager
def _empty(db, name: str) -> Iterator[Engine]:
    """An empty database of the test database's kind, beside it."""
    if db.engine.dialect.name == "sqlite":
        url = f"sqlite:///{db.settings.instance_dir / f'{name}.db'}"
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
            (db.settings.instance_dir / f"{name}.db").unlink(missing_ok=True)
        return
    with databases.empty_database(db, f"{db.engine.url.database}_{name}") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _differences(left: dict[str, Any], right: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (left.get(key), right.get(key))
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key)
    }


def _releases(db) -> list[str]:
    """Every release's revision, the first one first."""
    script = ScriptDirectory.from_config(alembic_config(db.engine))
    newest_first = [revision.revision for revision in script.walk_revisions()]
    return list(reversed(newest_first))


def test_the_releases_follow_one_another_in_one_line_from_the_first(db):
    script = ScriptDirectory.from_config(alembic_config(db.engine))
    releases = _releases(db)
    assert script.get_heads() == [releases[-1]] and script.get_bases() == ["0001"]
    for before, after in zip(releases, releases[1:], strict=False):
        assert script.get_revision(after).down_revision == before


def test_a_new_database_gets_exactly_the_schema_the_models_declare(db):
    """Indexes included as the database writes them (a partial index's condition, PostgreSQL's
    pattern operators, an index on part of the NIK), and every column's default and nullability:
    what the comparison of models and migrations by Alembic does not look at."""
    migrated = _schema(db.engine)
    with _empty(db, "dari_model") as engine:
        Base.metadata.create_all(engine)
        declared = _schema(engine)
    if db.engine.dialect.name == "postgresql":  # statistics are created by a migration alone (0041)
        migrated["indexes"] = [i for i in migrated["indexes"] if i[0] != "st_human_task_inbox"]
    assert _differences(migrated, declared) == {}


def test_every_upgrade_can_be_taken_back_one_release_at_a_time_to_the_schema_before(db):
    """An administrator who upgrades and must go back to the release before finds that release's
    schema, not one with the newer release's indexes or columns left over; and the upgrade again
    afterwards builds the same schema as the first time."""
    releases = _releases(db)
    with _empty(db, "satu_per_satu") as engine:
        built: dict[str, dict[str, Any]] = {}
        for revision in releases:
            upgrade(engine, revision)
            built[revision] = _schema(engine)
        for revision in reversed(releases[:-1]):
            downgrade(engine, revision)
            assert _differences(_schema(engine), built[revision]) == {}, f"kembali ke {revision}"
        upgrade(engine)
        assert _differences(_schema(engine), built[releases[-1]]) == {}
