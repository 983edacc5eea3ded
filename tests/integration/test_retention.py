"""Retention of finished instances' state: `sijosku instances prune` clears the serialized state of
instances finished longer ago than their definition's period, keeps running and recent ones, keeps
the audit trail and history, and the auditor's pages still open."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine.bpmn import runtime
from engine.core import audit, clock
from engine.core.audit import AuditAction
from engine.core.config import ConfigError, load_settings
from engine.core.errors import Conflict, Forbidden, Invalid
from engine.verification import consistency, retention
from models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, Record, Submission
from tests.factories import SYSTEM, actor, approved_everywhere, make_team, open_period, person_row, submit

KEY = "verifikasi_berjenjang"


def _finished_and_running(db):
    team = make_team(db)
    finished = open_period(db, "2026-Q1", [person_row(1)])
    submit(db, team.operator, finished)
    approved_everywhere(db, team, finished)
    running = open_period(db, "2026-Q2", [person_row(2)])
    submit(db, team.operator, running)
    with db.read() as s:
        return s.get(Submission, finished).instance_id, s.get(Submission, running).instance_id


def _states(db):
    with db.read() as s:
        return dict(s.execute(select(ProcessInstance.id, ProcessInstance.state)).all())


def test_prune_clears_only_finished_instances_past_retention_and_keeps_history(db, cli):
    finished, running = _finished_and_running(db)
    before = _states(db)
    with db.read() as s:
        tasks_before = s.scalar(select(func.count()).select_from(HumanTask))
        audit_before = s.scalar(select(func.count()).select_from(AuditEvent))
    later = (clock.now() + timedelta(days=40)).isoformat()

    refused = cli("instances", "prune", "--definition", KEY, "--days", "30", "--now", later, ok=False)
    assert "masa depan" in refused.stderr and _states(db) == before  # state still kept is not pruned early
    recent = json.loads(
        cli("instances", "prune", "--definition", KEY, "--days", "60", "--now", later, "--latihan", "--json").output
    )
    assert recent["dibersihkan"] == {KEY: 0}
    dry = json.loads(
        cli("instances", "prune", "--definition", KEY, "--days", "30", "--now", later, "--dry-run", "--json").output
    )
    assert dry["dibersihkan"] == {KEY: 1}
    assert _states(db) == before  # a dry run writes nothing

    done = json.loads(
        cli("instances", "prune", "--definition", KEY, "--days", "30", "--now", later, "--latihan", "--json").output
    )
    assert done["dibersihkan"] == {KEY: 1}
    after = _states(db)
    assert after[finished] == retention.PRUNED and before[finished] != retention.PRUNED
    assert after[running] == before[running]
    again = json.loads(
        cli("instances", "prune", "--definition", KEY, "--days", "30", "--now", later, "--latihan", "--json").output
    )
    assert again["dibersihkan"] == {KEY: 0}

    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(HumanTask)) == tasks_before
        pruned_rows = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.INSTANCE_STATE_PRUNED)).all()
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == audit_before + 1
        assert [(r.subject_id, r.after["instans"]) for r in pruned_rows] == [(KEY, 1)]
        assert audit.verify_chain(s).ok
        assert consistency.check(s).ok
        assert s.scalar(select(func.count()).select_from(Record)) == 1  # the verified record stays
        instance, sha = runtime.read(s, finished)
        assert instance.status == InstanceStatus.SELESAI
        assert runtime.path_taken(s, instance, sha) == ([], [])  # the auditor's diagram, without the path


def test_a_pruned_instance_is_never_advanced(db):
    finished, _ = _finished_and_running(db)
    later = clock.now() + timedelta(days=2)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, 1, later) == 1
    with db.transaction() as s, pytest.raises(Conflict):
        runtime.load(s, SYSTEM, finished)


def test_prune_is_for_administrators_only_and_rules_are_bounded(db):
    team = make_team(db)
    with db.transaction() as s:
        with pytest.raises(Forbidden):
            retention.prune_batch(s, actor(db, team.kecamatan), KEY, 30, clock.now())
        with pytest.raises(Invalid):
            retention.count_due(s, SYSTEM, KEY, 0, clock.now())
        with pytest.raises(Invalid):
            retention.count_due(s, SYSTEM, "", 30, clock.now())


def test_a_mistyped_process_key_is_refused_not_reported_as_nothing_to_prune(db, cli):
    _finished_and_running(db)
    result = cli("instances", "prune", "--definition", "verifikasi_berjenjan", "--days", "30", ok=False)
    assert "tidak dikenal" in result.stderr and "verifikasi_berjenjang" in result.stderr


def test_without_a_period_nothing_is_pruned_and_the_command_says_why(db, cli):
    _finished_and_running(db)
    before = _states(db)
    result = cli("instances", "prune", ok=False)
    assert "SIJOSKU_INSTANCE_RETENTION" in result.stderr
    assert _states(db) == before


def test_the_setting_names_days_per_process_key(tmp_path):
    env = {"SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x"}
    settings = load_settings({**env, "SIJOSKU_INSTANCE_RETENTION": "verifikasi_berjenjang=1825, lain=30"})
    assert settings.instance_retention == (("verifikasi_berjenjang", 1825), ("lain", 30))
    assert load_settings(env).instance_retention == ()
    for bad in ("verifikasi_berjenjang", "verifikasi_berjenjang=0", "=5", "x=lima"):
        with pytest.raises(ConfigError, match="SIJOSKU_INSTANCE_RETENTION"):
            load_settings({**env, "SIJOSKU_INSTANCE_RETENTION": bad})


def test_the_cutoff_is_said_in_wita(db, cli):
    """At 23:30 UTC it is already 07:30 the next day in Tarakan: the cutoff is said as the office
    reads it, not as the server's UTC date (the day before)."""
    result = cli(
        "instances", "prune", "--definition", KEY, "--days", "30", "--now", "2027-03-31T23:30:00+00:00", "--dry-run"
    )
    assert "sebelum 2027-03-02 07:30 WITA" in result.output, result.output


def _found_also(monkeypatch, instance_id: int) -> None:
    """The finder of the instances due finds `instance_id` too: it stands for one found due and then
    changed (reopened, touched by a repair) before the UPDATE ran."""
    found = retention._due

    def found_also(process_key, cutoff):
        return select(ProcessInstance.id).where(
            ProcessInstance.id.in_(
                select(found(process_key, cutoff).subquery()).union(
                    select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
                )
            )
        )

    monkeypatch.setattr(retention, "_due", found_also)


def test_the_trail_counts_the_instances_cleared_not_those_found_before_one_was_reopened(db, monkeypatch):
    finished, running = _finished_and_running(db)
    _found_also(monkeypatch, running)
    later = clock.now() + timedelta(days=2)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, 1, later) == 1
    with db.read() as s:
        pruned = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.INSTANCE_STATE_PRUNED)).one()
        assert (pruned.after["instans"], pruned.after["id_pertama"], pruned.after["id_terakhir"]) == (
            1,
            finished,
            finished,
        )
    assert _states(db)[running] != retention.PRUNED


def test_an_instance_touched_after_it_was_found_keeps_its_state(db, monkeypatch):
    """Found past its period, then moved on (a retry, a repair) before the update ran: the update asks
    again and leaves it whole."""
    old, touched = _finished_and_running(db)
    with db.transaction() as s:
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == old)
            .values(updated_at=clock.now() - timedelta(days=400))
        )
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == touched)
            .values(status=InstanceStatus.SELESAI, updated_at=clock.now())
        )
    _found_also(monkeypatch, touched)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, 30, clock.now()) == 1
    states = _states(db)
    assert states[old] == retention.PRUNED and states[touched] != retention.PRUNED
