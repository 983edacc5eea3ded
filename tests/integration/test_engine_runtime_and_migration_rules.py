"""Running verification processes: how many automatic steps a start may take, what a decision leaves
on the task, what the trail says when instances move between versions, how long a step map an
administrator writes may be, and a step saved over an instance another action changed meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.bpmn import definitions, migration, runtime
from engine.core.errors import Conflict, Invalid
from engine.verification import processes
from models import AuditEvent, HumanTask, ProcessInstance, Submission
from tests.factories import DESA, PERIOD, SYSTEM, approved_everywhere, decide, open_task, waiting_at_kecamatan
from tests.integration.test_process_versions import RENAMED, _waiting_at_each_tier

KEY = "verifikasi_berjenjang"


# ---------------------------------------------------------------- the step budget


def test_a_start_that_takes_exactly_its_budget_of_automatic_steps_still_reaches_the_desas_task(db, monkeypatch):
    """The default process takes two automatic steps (the start and its start event) before the desa's
    first task: a budget of two is enough, one is not."""
    monkeypatch.setattr(runtime, "STEP_BUDGET", 2)
    with db.transaction() as session:
        running = runtime.start(session, SYSTEM, definitions.current(session, KEY), "uji/desa", DESA, PERIOD, {})
        (created,) = runtime.save(running)
        assert (created.tingkat.value, created.region_kode) == ("desa", DESA)
        assert session.get(HumanTask, created.id).bpmn_id == "siapkan_pengajuan"
    monkeypatch.setattr(runtime, "STEP_BUDGET", 1)
    with db.transaction() as session, pytest.raises(Invalid, match="lebih dari 1 langkah otomatis"):
        runtime.start(session, SYSTEM, definitions.current(session, KEY), "uji/desa2", DESA, PERIOD, {})


# ---------------------------------------------------------------- what a decision leaves on the task


def test_an_approval_sent_with_an_empty_reason_field_records_no_reason_on_the_task(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    decide(db, team.kecamatan, submission_id, "approve", reason="")
    with db.read() as session:
        closed = session.get(HumanTask, task.id)
    assert closed.status.value == "selesai" and closed.keputusan and closed.alasan is None


# ---------------------------------------------------------------- moving instances between versions


def test_the_trail_of_a_move_lists_only_the_renamed_steps_and_where_the_waiting_task_went(db):
    tiers = _waiting_at_each_tier(db)
    with db.transaction() as session:
        processes.deploy(session, SYSTEM, RENAMED)
    assert processes.migrate_instances(db, SYSTEM, KEY, 1, 2).moved == 4
    with db.read() as session:
        kecamatan = session.get(Submission, tiers["kecamatan"]).instance_id
        trail = {
            e.instance_id: e.after
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "INSTANCE_MIGRATED"))
        }
    assert len(trail) == 4
    assert all(after["peta"] == {"verifikasi_kecamatan": "verifikasi_kec"} for after in trail.values())
    assert trail[kecamatan]["langkah"] == [{"dari": "verifikasi_kecamatan", "ke": "verifikasi_kec"}]
    assert open_task(db, tiers["kecamatan"], "kecamatan").nama == "Verifikasi kecamatan"


def test_an_instance_that_finished_after_the_move_was_listed_is_not_moved(db):
    team, submission_id, _, _ = waiting_at_kecamatan(db)
    with db.transaction() as session:
        processes.deploy(session, SYSTEM, RENAMED)
        plan = processes.migration_plan(session, SYSTEM, KEY, 1, 2)
        versions = (plan.source.id, plan.target.id)
    approved_everywhere(db, team, submission_id)  # the instance ends before its turn comes
    with db.read() as session:
        instance_id = session.get(Submission, submission_id).instance_id
    mapping = {"verifikasi_kecamatan": "verifikasi_kec"}
    with db.transaction() as session, pytest.raises(Invalid, match="tidak sedang berjalan"):
        migration.move_instance(session, SYSTEM, instance_id, versions, mapping, dry_run=False)
    with db.read() as session:
        assert session.get(ProcessInstance, instance_id).definition_id == versions[0]
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "INSTANCE_MIGRATED")).all() == []


# ---------------------------------------------------------------- the step map an administrator writes


def test_a_step_map_of_the_longest_allowed_length_is_read_and_one_line_more_is_refused():
    longest = "\n".join(f"langkah_{n} = baru_{n}" for n in range(migration.MAX_MAPPING_LINES))
    assert len(migration.parse_mapping(longest)) == migration.MAX_MAPPING_LINES
    with pytest.raises(Invalid, match="terlalu panjang"):
        migration.parse_mapping(longest + "\nlangkah_lagi = baru_lagi")


def test_a_step_map_skips_comments_and_blank_lines_and_names_each_wrong_line_by_its_number():
    text = "# peta versi 1 ke 2\n\nverifikasi_kecamatan = verifikasi_kec  # diganti\nsalah\n = kosong\n"
    with pytest.raises(Invalid) as refused:
        migration.parse_mapping(text)
    assert [p.row for p in refused.value.problems] == [4, 5]
    assert migration.parse_mapping(text.replace("salah\n = kosong\n", "")) == {"verifikasi_kecamatan": "verifikasi_kec"}


# ---------------------------------------------------------------- a lost race


def test_a_step_saved_over_an_instance_another_action_changed_meanwhile_is_a_conflict_not_a_second_step(db):
    _, submission_id, task, _ = waiting_at_kecamatan(db)
    with db.read() as session:
        instance_id = session.get(Submission, submission_id).instance_id
        seen = session.get(ProcessInstance, instance_id).revision
    with pytest.raises(Conflict, match="telah diubah oleh tindakan lain"), db.transaction() as session:
        running = runtime.load(session, SYSTEM, instance_id)
        # what another node's step, committed in between, leaves behind
        bump = update(ProcessInstance).where(ProcessInstance.id == instance_id).values(revision=seen + 1)
        session.connection().execute(bump)
        runtime.save(running)
    with db.read() as session:
        assert session.get(ProcessInstance, instance_id).revision == seen
    assert open_task(db, submission_id, "kecamatan").id == task.id
