"""`sijosku init`: schema, reference data and the default process definitions; idempotent."""

from __future__ import annotations

from typing import Any

from engine import definitions, reference
from engine.actors import Actor
from engine.config import DEFAULT_BPMN_DIR
from engine.uow import Database
from models import schema


def initialise(db: Database) -> dict[str, Any]:
    schema.upgrade(db.engine)
    actor = Actor.system("init")
    with db.transaction() as session:
        added = {
            "wilayah": reference.load_regions(session),
            "penduduk": reference.load_population(session),
            "kategori": reference.load_categories(session),
        }
    deployed = []
    for path in sorted(DEFAULT_BPMN_DIR.glob("*.bpmn")):
        with db.transaction() as session:
            result = definitions.deploy(session, actor, path.read_text(encoding="utf-8"))
            deployed.append({"file": path.name, "process_key": result.definition.process_key,
                             "version": result.definition.version, "created": result.created})
    return {"ditambahkan": added, "definisi": deployed}
