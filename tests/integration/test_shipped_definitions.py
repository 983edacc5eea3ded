"""`sijosku init` runs as every node starts: the shipped diagrams it deploys never undo the version an
administrator chose, and a release's changed diagram replaces only a shipped version as current."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from engine.bpmn import definitions
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.config import DEFAULT_BPMN_DIR
from engine.setup import initialise
from models import AuditEvent, ProcessDefinition

KEY = "verifikasi_berjenjang"
SHIPPED = (DEFAULT_BPMN_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
ADMIN = Actor("admin.proses")
INIT = Actor.system("init")


def changed(days: int) -> str:
    """The shipped diagram with another kecamatan deadline, as an administrator edits it."""
    old = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">sla_durasi</bpmn:timeDuration>'
    assert old in SHIPPED
    return SHIPPED.replace(old, old.replace("sla_durasi", f'"P{days}D"'), 1)


@pytest.fixture
def shipped_by_init(db):
    """The defaults deployed by `sijosku init`, as on a real database (the tests' own are deployed
    by the test setup, which init would take for an administrator)."""
    with db.transaction() as session:
        session.execute(delete(ProcessDefinition))
    initialise.initialise(db)
    return db


def _deploy(db, actor: Actor, xml: str) -> int:
    with db.transaction() as session:
        return definitions.deploy(session, actor, xml, confirmed=True).definition.version


def _current(db) -> int:
    with db.read() as session:
        return definitions.current(session, KEY).version


def _said(result: dict) -> dict:
    return next(d for d in result["definisi"] if d["process_key"] == KEY)


def test_init_keeps_the_version_an_administrator_deployed(shipped_by_init, cli):
    assert _deploy(shipped_by_init, ADMIN, changed(10)) == 2
    said = _said(initialise.initialise(shipped_by_init))
    assert _current(shipped_by_init) == 2
    assert said["version"] == 1 and not said["current"] and said["current_version"] == 2
    assert "v2 pilihan admin tetap dipakai" in cli("init").stdout
    assert _current(shipped_by_init) == 2


def test_init_keeps_a_rollback_to_an_earlier_version(shipped_by_init, tmp_path, monkeypatch):
    (tmp_path / f"{KEY}.bpmn").write_text(changed(10), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    assert _deploy(shipped_by_init, INIT, changed(10)) == 2  # a release changed the shipped diagram
    with shipped_by_init.transaction() as session:
        definitions.activate(session, ADMIN, KEY, 1)  # the administrator went back
    initialise.initialise(shipped_by_init)  # the release's diagram is still on disk
    assert _current(shipped_by_init) == 1


def test_a_release_rolled_back_to_makes_its_own_diagram_current_again(shipped_by_init, tmp_path, monkeypatch):
    (tmp_path / f"{KEY}.bpmn").write_text(changed(12), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    initialise.initialise(shipped_by_init)  # the newer release
    assert _current(shipped_by_init) == 2
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", DEFAULT_BPMN_DIR)
    initialise.initialise(shipped_by_init)  # rolled back: its diagram may not run on the newer one's
    assert _current(shipped_by_init) == 1


def test_a_release_changed_diagram_waits_beside_an_administrators_rollback(shipped_by_init, tmp_path, monkeypatch):
    (tmp_path / f"{KEY}.bpmn").write_text(changed(12), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    initialise.initialise(shipped_by_init)  # a release's diagram, v2
    with shipped_by_init.transaction() as session:
        definitions.activate(session, ADMIN, KEY, 1)  # the administrator went back to the shipped v1
    (tmp_path / f"{KEY}.bpmn").write_text(changed(14), encoding="utf-8")
    said = _said(initialise.initialise(shipped_by_init))  # the next release
    assert said["created"] and said["version"] == 3 and not said["current"] and _current(shipped_by_init) == 1


def test_a_release_changed_diagram_replaces_a_shipped_version(shipped_by_init, tmp_path, monkeypatch):
    (tmp_path / f"{KEY}.bpmn").write_text(changed(12), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    said = _said(initialise.initialise(shipped_by_init))
    assert said["created"] and said["current"] and _current(shipped_by_init) == 2


def test_a_release_changed_diagram_waits_beside_an_administrators_version(shipped_by_init, tmp_path, monkeypatch):
    assert _deploy(shipped_by_init, ADMIN, changed(10)) == 2
    (tmp_path / f"{KEY}.bpmn").write_text(changed(12), encoding="utf-8")
    monkeypatch.setattr(initialise, "DEFAULT_BPMN_DIR", tmp_path)
    said = _said(initialise.initialise(shipped_by_init))
    assert said["created"] and said["version"] == 3 and not said["current"] and said["current_version"] == 2
    assert _current(shipped_by_init) == 2
    with shipped_by_init.read() as session:
        deployed = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.DEFINITION_DEPLOYED, AuditEvent.actor == INIT.name)
            .order_by(AuditEvent.seq.desc())
        ).first()
    assert deployed.after["version"] == 3 and deployed.after["dipakai"] is False
