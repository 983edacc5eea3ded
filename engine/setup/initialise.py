"""`sijosku init`: schema, reference data and the default process definitions; idempotent."""

from __future__ import annotations

from typing import Any

from engine.bpmn import definitions
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.uow import Database
from engine.setup import reference
from models import schema


def initialise(db: Database) -> dict[str, Any]:
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
            result = definitions.deploy(session, actor, path.read_text(encoding="utf-8"), confirmed=True)
            deployed.append(
                {
                    "file": path.name,
                    "process_key": result.definition.process_key,
                    "version": result.definition.version,
                    "created": result.created,
                    "reactivated": result.reactivated,
                    "previous_version": result.previous_version,
                }
            )
    return {"ditambahkan": added, "definisi": deployed}
