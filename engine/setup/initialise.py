"""`sijosku init`: schema, reference data and the default process definitions; idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

from engine.bpmn import definitions
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Conflict, phrase
from engine.core.uow import Database
from engine.setup import reference
from models import schema

INIT_LOCK = 6_500_001  # PostgreSQL advisory lock: one `sijosku init` at a time on a database


@contextmanager
def _one_at_a_time(db: Database) -> Iterator[None]:
    """Several nodes may run `init` as they start (a unit's ExecStartPre): the second waits for the
    first and then finds nothing to do, instead of failing on the tables the first is making."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Out of the pool, so the lock ends with this connection even when the unlock cannot run:
        # a pooled one would keep it and hold a later `init` of this process without a timeout.
        connection.detach()
        connection.execute(text("SET statement_timeout = 0"))  # the first node's migrations may take a while
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INIT_LOCK})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INIT_LOCK})


def schema_mismatch(db: Database) -> str:
    """What is wrong with the database's schema for this release, and what to do ("" when it is this
    release's): serving or scheduling on another would fail every request on a column one side lacks,
    and read as the database being down."""
    current, head, known = schema.revisions(db.engine)
    if current is None:
        return phrase("Basis data belum disiapkan: jalankan `sijosku init` dulu")
    if not known:
        return phrase(
            f"Skema basis data ({current}) lebih baru dari rilis ini ({head}): jalankan rilis yang memutakhirkannya, "
            "atau pulihkan cadangan yang diambil sebelum pemutakhiran (`sijosku restore`)"
        )
    if current != head:
        return phrase(
            f"Skema basis data ({current}) tertinggal dari rilis ini ({head}): ambil cadangan (`sijosku backup`), "
            "lalu jalankan `sijosku init` untuk memutakhirkannya"
        )
    return ""


def require_current_schema(db: Database) -> None:
    """`schema_mismatch`, refused (`run`, `serve` and `scheduler` start only on this release's schema)."""
    if mismatch := schema_mismatch(db):
        raise Conflict(mismatch)


def initialise(db: Database) -> dict[str, Any]:
    with _one_at_a_time(db):
        return _initialise(db)


def _initialise(db: Database) -> dict[str, Any]:
    schema.upgrade(db.engine)
    actor = Actor.system("init")
    with db.transaction() as session:
        added = {
            "wilayah": reference.load_regions(session),
            "penduduk": reference.load_population(session),
            "kategori": reference.load_categories(session),
            "kode_lama": reference.load_former_codes(session),
        }
    deployed = []
    for path in sorted(DEFAULT_BPMN_DIR.glob("*.bpmn")):
        with db.transaction() as session:
            # the shipped diagrams were reviewed with their warnings: no one is there to confirm
            xml = path.read_text(encoding="utf-8")
            result = definitions.deploy(session, actor, xml, confirmed=True, shipped=True)
            deployed.append(
                {
                    "file": path.name,
                    "process_key": result.definition.process_key,
                    "version": result.definition.version,
                    "created": result.created,
                    "reactivated": result.reactivated,
                    "previous_version": result.previous_version,
                    "current": result.definition.is_current,
                    "current_version": result.definition.version
                    if result.definition.is_current
                    else result.previous_version,
                }
            )
    return {"ditambahkan": added, "definisi": deployed}
