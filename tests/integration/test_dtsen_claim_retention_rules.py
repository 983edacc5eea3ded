"""Rules of the national register's extract, of task claims and of the retention of finished instances
that no other test held:

- the desa's information lists the masked NIKs of its poorest residents in NIK order, whatever order
  the extract gave them in, so a resident whose NIK was issued elsewhere is not left out of the list;
- an extract naming many NIKs twice is refused with at most 50 of them listed;
- DTSEN's endpoint answering a page without rows that still points to a next one is refused at once,
  even when the pages after it would hold rows, and is not asked again;
- a bulk release says of each task that it was released;
- a task decided by a colleague between the check and the claim is not claimed;
- the auditor reads a claim and its release in the history of the task's instance;
- an administrator sees, among the open tasks of their region, only those the person holds, in task order;
- a dry run of a prune refuses a mistyped process key as the prune does;
- the trail of a prune says before when the cleared instances finished and why (the period in days).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NotFound
from engine.people import privacy, users
from engine.verification import claims, dtsen, retention, trail
from models import AuditEvent, HumanTask, TaskStatus
from tests.factories import DESA, KABUPATEN, SYSTEM, actor
from tests.integration.test_decision_and_cycle_mutation_rules import _two_periods_at_kabupaten
from tests.integration.test_dtsen_rules import HEADER, _endpoint, _flags, _import, _people
from tests.integration.test_judging_rules import _at_kabupaten, written_right_after_the_check
from tests.integration.test_retention import KEY, _finished_and_running

# --- the extract and the desa's information ---------------------------------------------------------------


def test_the_desas_information_lists_the_lowest_niks_whatever_the_extracts_order(db):
    """A resident holding a NIK issued in Kalimantan Timur (64…) comes first among the 21 shown as 20."""
    here = [f"65010101018{i:05d}" for i in range(20)]
    issued_elsewhere = "6401010101800001"
    _import(db, HEADER + "".join(f"{nik},,1,,{DESA}\n" for nik in [*reversed(here), issued_elsewhere]))
    (low,) = _flags(db, dtsen.LOW)
    assert low.observed["jumlah"] == 21
    assert low.observed["nik"] == [privacy.mask_nik(n) for n in sorted([issued_elsewhere, *here])[:20]]
    assert low.observed["nik"][0] == privacy.mask_nik(issued_elsewhere)


def test_an_extract_naming_many_niks_twice_lists_at_most_50_of_them(db):
    twice = [f"65010101018{i:05d}" for i in range(51)]
    with pytest.raises(Invalid) as refused:
        _import(db, HEADER + "".join(f"{nik},,1,,\n" for nik in twice * 2))
    listed = [p.message for p in refused.value.problems]
    assert len(listed) == 50
    assert listed[0] == f"NIK {privacy.mask_nik(twice[0])} muncul lebih dari sekali"


def test_a_page_without_rows_that_points_onward_is_refused_and_no_further_page_is_asked(db):
    pages = {
        1: {"baris": _people(0, 2), "halaman_berikutnya": 2},
        2: {"baris": [], "halaman_berikutnya": 3},
        3: {"baris": _people(2, 2), "halaman_berikutnya": None},
    }
    client, asked = _endpoint(pages)
    with pytest.raises(Invalid, match="halaman 3 sesudah halaman 2 berisi 0 baris"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    client.close()
    assert asked == [1, 2]


# --- claims -----------------------------------------------------------------------------------------------


def test_a_task_decided_while_its_claim_was_being_checked_is_not_claimed(db, monkeypatch):
    _, task_id = _at_kabupaten(db)
    written_right_after_the_check(monkeypatch, status=TaskStatus.SELESAI)  # a colleague's decision
    with pytest.raises(Conflict, match="baru saja diambil"), db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None


def instance_history(db, task_id: int) -> list[dict]:
    """The history of a task's instance as the province's auditor reads it."""
    with db.transaction() as s:
        instance_id = s.get(HumanTask, task_id).instance_id
        return trail.instance_timeline(s, actor(db, "auditor.prov"), instance_id)["events"]


def test_the_auditor_reads_a_claim_and_its_release_in_the_instances_history(db):
    _, task_id = _at_kabupaten(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "auditor.prov", "auditor", "65")
        claims.claim(s, actor(db, "verif.kab"), task_id)
    with db.transaction() as s:
        claims.unclaim(s, actor(db, "verif.kab"), task_id)
    shown = [(e["action"], e["human_task_id"]) for e in instance_history(db, task_id) if "CLAIMED" in e["action"]]
    assert shown == [("TASK_CLAIMED", task_id), ("TASK_UNCLAIMED", task_id)]


def test_a_bulk_release_says_each_task_was_released(db):
    tasks = sorted(_two_periods_at_kabupaten(db).values())
    with db.transaction() as s:
        claims.claim_many(s, actor(db, "verif.kab"), tasks)
    with db.transaction() as s:
        assert claims.claim_many(s, actor(db, "verif.kab"), tasks, unclaiming=True) == dict.fromkeys(tasks, "dilepas")


def test_an_administrator_is_shown_the_tasks_a_person_holds_in_task_order_and_no_others(db):
    tasks = sorted(_two_periods_at_kabupaten(db).values())
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", KABUPATEN)
        users.add_user(s, SYSTEM, "verif.kab.dua", "verifier", KABUPATEN)
    with db.transaction() as s:
        claims.claim_many(s, actor(db, "verif.kab"), tasks)
    with db.read() as s:
        admin = actor(db, "admin.kab")
        assert [t.id for t in claims.held_by(s, admin, actor(db, "verif.kab").user_id)] == tasks
        assert claims.held_by(s, admin, actor(db, "verif.kab.dua").user_id) == []


# --- retention --------------------------------------------------------------------------------------------


def test_a_dry_run_for_a_mistyped_process_refuses_it_and_names_the_known_ones(db):
    _finished_and_running(db)
    with db.read() as s, pytest.raises(NotFound, match=f"yang ada: .*{KEY}"):
        retention.count_due(s, SYSTEM, KEY[:-1], 30, clock.now())


def test_the_trail_of_a_prune_says_before_when_the_cleared_instances_finished_and_why(db):
    finished, _ = _finished_and_running(db)
    later = clock.now() + timedelta(days=40)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, 30, later) == 1
    with db.read() as s:
        (pruned,) = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.INSTANCE_STATE_PRUNED))
    assert pruned.after["selesai_sebelum"] == (later - timedelta(days=30)).isoformat()
    assert pruned.reason == "masa simpan 30 hari"
    assert (pruned.subject_type, pruned.subject_id) == ("process_definition", KEY)
