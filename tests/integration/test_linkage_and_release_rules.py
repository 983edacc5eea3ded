"""What the national register says of a household, and how an administrator releases a claim:

- a person whose own NIK is not in DTSEN is shown the family's entry even when that entry was also asked
  for by its own NIK (two members of one household on the same page);
- the administrator of the task's own kabupaten releases its claim, not only the province's;
- the auditor reads an administrator's release of a claim in the history of the task's instance;
- a task nobody holds is not released, and leaves no release on the trail;
- a task that does not exist is answered with the same words as a task in another region;
- a person who administers nothing is refused as such, even for a task of their own region.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict, Forbidden, NotFound
from engine.people import users
from engine.verification import claims, dtsen, linkage
from models import AuditEvent, HumanTask
from tests.factories import DESA, KABUPATEN, SYSTEM, actor
from tests.integration.test_dtsen_claim_retention_rules import instance_history
from tests.integration.test_judging_rules import _at_kabupaten

CARD = "6501010101900001"
IN_DTSEN = "6501010101800001"
NOT_IN_DTSEN = "6501010101800002"


def _releases(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "TASK_RELEASED")))


def _with_administrator(db) -> int:
    """A kabupaten task held by its verifier, and the province's administrator and auditor."""
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.prov", "admin", "65")
        users.add_user(s, SYSTEM, "auditor.prov", "auditor", "65")
    return task_id


# --- the national register ---------------------------------------------------------------------------


def test_a_household_member_outside_dtsen_is_shown_the_family_entry_a_relative_was_found_by(db):
    row = {"nik": IN_DTSEN, "no_kk": CARD, "desil": "3", "program": "PKH|BPNT", "kode_wilayah": DESA}
    with db.transaction() as s:
        dtsen.import_extract(s, SYSTEM, [row], "65")
    household = [(IN_DTSEN, CARD), (NOT_IN_DTSEN, CARD)]
    with db.read() as s:
        found = linkage.dtsen_for(s, household)
    assert found == {
        (IN_DTSEN, CARD): linkage.DtsenView(3, ("PKH", "BPNT"), "nik"),
        (NOT_IN_DTSEN, CARD): linkage.DtsenView(3, ("BPNT", "PKH"), "kk"),
    }


# --- an administrator releasing a claim --------------------------------------------------------------


def test_the_auditor_reads_an_administrators_release_in_the_instances_history(db):
    task_id = _with_administrator(db)
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.prov"), task_id)
    released = [e for e in instance_history(db, task_id) if e["action"] == "TASK_RELEASED"]
    assert [(e["human_task_id"], e["actor"]) for e in released] == [(task_id, "admin.prov")]


def test_the_administrator_of_the_tasks_kabupaten_releases_its_claim(db):
    task_id = _with_administrator(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", KABUPATEN)
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.kab"), task_id)
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None
    assert [(e.actor, e.before) for e in _releases(db)] == [("admin.kab", {"assignee": "verif.kab"})]


def test_a_task_nobody_holds_is_not_released(db):
    task_id = _with_administrator(db)
    with pytest.raises(Conflict, match=f"Tugas {task_id} tidak sedang diklaim"), db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.prov"), task_id)
    assert _releases(db) == []


def test_a_missing_task_is_answered_like_a_task_in_another_region(db):
    _with_administrator(db)
    with pytest.raises(NotFound) as missing, db.transaction() as s:
        claims.free_claim(s, actor(db, "admin.prov"), 999999)
    assert str(missing.value) == "Tugas 999999 tidak ada di wilayah Anda"


def test_a_verifier_of_the_tasks_region_is_refused_as_no_administrator(db):
    task_id = _with_administrator(db)
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with pytest.raises(Forbidden), db.transaction() as s:
        claims.free_claim(s, actor(db, "verif.kab"), task_id)
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id == actor(db, "verif.kab").user_id
    assert _releases(db) == []
