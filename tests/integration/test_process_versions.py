"""Changing a process while it runs: rollback, the lint before deploy, and moving instances between
versions (waiting at each tier, one of them in the middle of its SLA timer), forward and back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpmn import definitions, migration, timers
from engine.core import clock
from engine.core.errors import Conflict, Invalid, NeedsConfirmation
from engine.core.uow import Database
from engine.verification import claims, processes
from models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance, Submission
from tests.factories import SYSTEM, actor, decide, make_team, open_task, open_with_items, submit
from tests.integration.interleave import first_then_second
from tests.integration.test_definitions import DEFAULT, KECAMATAN_DOC_END, variant

KEY = "verifikasi_berjenjang"
# Version 2 renames the kecamatan task's id (same name, same lane) and its SLA: the mapping must
# find it by name, and the waiting kecamatan task must keep its id, assignee and due date.
RENAMED = variant(
    ('id="verifikasi_kecamatan"', 'id="verifikasi_kec"'),
    ('attachedToRef="verifikasi_kecamatan"', 'attachedToRef="verifikasi_kec"'),
    (
        "<bpmn:flowNodeRef>verifikasi_kecamatan</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>verifikasi_kec</bpmn:flowNodeRef>",
    ),
    ('targetRef="verifikasi_kecamatan"', 'targetRef="verifikasi_kec"'),
    ('sourceRef="verifikasi_kecamatan"', 'sourceRef="verifikasi_kec"'),
    ('bpmnElement="verifikasi_kecamatan"', 'bpmnElement="verifikasi_kec"'),
    ("&quot;verifikasi_kecamatan&quot;", "&quot;verifikasi_kec&quot;"),
    ("P", "P"),
)


def _deploy(db: Database, xml: str, confirmed: bool = False) -> definitions.DeployResult:
    with db.transaction() as session:
        return processes.deploy(session, SYSTEM, xml, confirmed=confirmed)


def _current(db: Database) -> int:
    with db.read() as session:
        return definitions.current(session, KEY).version


def _actions(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_earlier_version_is_made_current_again_by_activation_or_by_its_content(db):
    bad = variant(("P", "P"), ('name="Verifikasi kecamatan"', 'name="Verifikasi kecamatan (baru)"'))
    assert _deploy(db, bad).created and _current(db) == 2
    with db.transaction() as session:
        result = processes.activate(session, SYSTEM, KEY, 1)
    assert result.reactivated and result.previous_version == 2 and _current(db) == 1
    assert _deploy(db, bad).reactivated and _current(db) == 2
    again = _deploy(db, DEFAULT)  # the good content again: version 1 is current, and says so
    assert not again.created and again.reactivated and again.definition.version == 1 and _current(db) == 1
    assert "versi 1 kini dipakai" in processes.outcome(again)
    assert len(_actions(db, "DEFINITION_ACTIVATED")) == 3
    with db.transaction() as session, pytest.raises(Exception, match="tidak punya versi 9"):
        processes.activate(session, SYSTEM, KEY, 9)


def test_errors_refuse_and_warnings_ask_for_confirmation(db):
    with pytest.raises(Invalid) as refused:
        _deploy(
            db,
            variant(
                ("sla_durasi</bpmn:timeDuration>", '"14 hari"</bpmn:timeDuration>'),
                ('hasil_pemeriksaan["lolos"]', 'hasil_pemeriksaan["lolos"'),
            ),
        )
    messages = {p.element: p.message for p in refused.value.problems}
    assert "bukan durasi atau tanggal ISO 8601" in messages["sla_kecamatan"]
    assert "sintaks" not in messages["f_pemeriksaan_lolos"] and "tanda kurung" in messages["f_pemeriksaan_lolos"]
    warned = variant(
        ('keputusan == "kembalikan"', 'keputusn == "kembalikan"'),
        (' default="f_kecamatan_setuju"', ""),
        (
            'targetRef="verifikasi_kabupaten" />',
            'targetRef="verifikasi_kabupaten"><bpmn:conditionExpression>keputusan != "kembalikan"'
            "</bpmn:conditionExpression></bpmn:sequenceFlow>",
        ),
    )
    with pytest.raises(NeedsConfirmation) as held:
        _deploy(db, warned)
    assert {p.element for p in held.value.problems} == {"f_kecamatan_kembali", "gw_kecamatan"}
    assert _current(db) == 1
    assert _deploy(db, warned, confirmed=True).created and _current(db) == 2


def test_unconnected_unreachable_and_lane_crossing_elements_are_errors(db):
    lonely = variant(
        ('<bpmn:endEvent id="selesai"', '<bpmn:task id="lupa" name="Langkah lupa" /><bpmn:endEvent id="selesai"'),
        (
            '<bpmn:sequenceFlow id="f_mulai" sourceRef="mulai" targetRef="siapkan_pengajuan" />',
            '<bpmn:sequenceFlow id="f_mulai" sourceRef="mulai" targetRef="siapkan_pengajuan" />'
            '<bpmn:task id="yatim" name="Langkah yatim"><bpmn:outgoing>f_yatim</bpmn:outgoing></bpmn:task>'
            '<bpmn:sequenceFlow id="f_yatim" sourceRef="yatim" targetRef="siapkan_pengajuan" />',
        ),
    )
    with pytest.raises(Invalid) as refused:
        _deploy(db, lonely)
    messages = {p.element: p.message for p in refused.value.problems}
    assert "tidak terhubung" in messages["lupa"]
    assert "tidak dapat dicapai" in messages["yatim"]
    xml = DEFAULT
    shape = re.search(r'bpmnElement="verifikasi_kecamatan"[^>]*>\s*<dc:Bounds x="([\d.]+)" y="([\d.]+)"', xml)
    assert shape, "the default diagram draws the kecamatan task"
    lanes = re.search(
        r'bpmnElement="Lane_kecamatan"[^>]*>\s*<dc:Bounds x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', xml
    )
    assert lanes
    lane_bottom = float(lanes.group(1)) + float(lanes.group(2))
    straddling = xml.replace(shape.group(0), shape.group(0).replace(f'y="{shape.group(2)}"', f'y="{lane_bottom - 20}"'))
    with pytest.raises(Invalid) as crossed:
        _deploy(db, straddling)
    assert any(p.element == "verifikasi_kecamatan" and "melintasi lane" in p.message for p in crossed.value.problems)


def _waiting_at_each_tier(db: Database) -> dict[str, int]:
    """Four submissions of four desa, waiting at desa, kecamatan (claimed), kabupaten and provinsi."""
    desas = {
        "desa": "65.01.01.2005",
        "kecamatan": "65.01.01.2006",
        "kabupaten": "65.01.01.2007",
        "provinsi": "65.01.01.2008",
    }
    team = make_team(db)
    found = {}
    for tier, desa in desas.items():
        if desa != "65.01.01.2005":
            from engine.people import users

            with db.transaction() as session:
                users.add_user(session, SYSTEM, f"op.{desa}", "operator", desa)
        submission_id = open_with_items(db, desa=desa)
        operator = team.operator if desa == "65.01.01.2005" else f"op.{desa}"
        if tier != "desa":
            submit(db, operator, submission_id)
        if tier in ("kabupaten", "provinsi"):
            decide(db, team.kecamatan, submission_id, "approve")
        if tier == "provinsi":
            decide(db, team.kabupaten, submission_id, "approve")
        found[tier] = submission_id
    task = open_task(db, found["kecamatan"], "kecamatan")
    with db.transaction() as session:
        claims.claim(session, actor(db, team.kecamatan), task.id)
    return found


def _instance(db: Database, submission_id: int) -> ProcessInstance:
    with db.read() as session:
        return session.get(ProcessInstance, session.get(Submission, submission_id).instance_id)


def _version(db: Database, submission_id: int) -> int:
    """The version of the verification process the submission's instance runs on."""
    with db.read() as session:
        instance = session.get(ProcessInstance, session.get(Submission, submission_id).instance_id)
        return session.get(ProcessDefinition, instance.definition_id).version


def test_instances_waiting_at_each_tier_move_to_the_next_version_and_back(db):
    tiers = _waiting_at_each_tier(db)
    before = {tier: open_task(db, s) for tier, s in tiers.items()}
    assert before["kecamatan"].due_at is not None and before["kecamatan"].assignee_id is not None
    assert _deploy(db, RENAMED).definition.version == 2
    with db.transaction() as session:
        plan = processes.migration_plan(session, SYSTEM, KEY, 1, 2)
    assert plan.proposal["verifikasi_kecamatan"] == "verifikasi_kec" and plan.instances == 4

    dry = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, dry_run=True)
    assert dry.moved == 4 and dry.refused == 0
    assert {_version(db, s) for s in tiers.values()} == {1}, "a dry run writes nothing"

    ids = {tier: _instance(db, s).id for tier, s in tiers.items()}
    moved = processes.migrate_instances(db, SYSTEM, KEY, 1, 2)
    assert moved.moved == 4
    # a second run that listed the instances before the first moved them leaves them, unaudited
    with db.transaction() as session, pytest.raises(Conflict, match="sudah dipindahkan"):
        plan = processes.migration_plan(session, SYSTEM, KEY, 1, 2)
        migration.move_instance(session, SYSTEM, ids["desa"], (plan.source.id, plan.target.id), {}, dry_run=False)
    after = {tier: open_task(db, s) for tier, s in tiers.items()}
    for tier in tiers:
        assert after[tier].id == before[tier].id and after[tier].spiff_task_id == before[tier].spiff_task_id
        assert after[tier].due_at == before[tier].due_at and after[tier].assignee_id == before[tier].assignee_id
    assert after["kecamatan"].bpmn_id == "verifikasi_kec"
    assert len(_actions(db, "INSTANCE_MIGRATED")) == 4

    # the kecamatan instance is in the middle of its SLA timer: it still fires on the new version
    due = after["kecamatan"].due_at
    assert timers.fire_due_timers(db, due - timedelta(minutes=1)) == 0
    assert timers.fire_due_timers(db, due + timedelta(hours=1)) == 3  # kecamatan, kabupaten, provinsi
    assert open_task(db, tiers["kecamatan"], "kecamatan").overdue

    # and each instance runs on to its end on the new version
    decide(db, "verif.kec", tiers["kecamatan"], "approve")
    decide(db, "verif.kab", tiers["kecamatan"], "approve")
    decide(db, "valid.prov", tiers["kecamatan"], "approve")
    assert _instance(db, tiers["kecamatan"]).status.value == "selesai"

    back = processes.migrate_instances(db, SYSTEM, KEY, 2, 1)
    assert back.moved == 3 and back.refused == 0
    assert open_task(db, tiers["desa"]).bpmn_id == "siapkan_pengajuan"
    decide(db, "verif.kab", tiers["kabupaten"], "approve")
    assert open_task(db, tiers["kabupaten"], "provinsi").bpmn_id == "validasi_provinsi"


def test_a_waiting_task_cannot_move_to_a_missing_step_or_another_lane(db):
    tiers = _waiting_at_each_tier(db)
    _deploy(db, RENAMED)
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"verifikasi_kecamatan": "verifikasi_kabupaten"})
    refused = {r.instance_id: r for r in report.results if not r.ok}
    kecamatan = _instance(db, tiers["kecamatan"])
    assert kecamatan.id in refused and "lane" in refused[kecamatan.id].problems[0].message
    assert _version(db, tiers["kecamatan"]) == 1, "all or nothing per instance"
    assert _version(db, tiers["provinsi"]) == 2
    with pytest.raises(Invalid, match="tidak ada"):
        processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"tidak_ada": "verifikasi_kec"})


def test_an_instance_another_run_moved_meanwhile_is_reported_and_the_others_still_move(db, monkeypatch):
    """Two administrators move the same version at once: this run listed the instances before the
    other moved one of them. That one is reported as moved already; the run goes on with the rest."""
    tiers = _waiting_at_each_tier(db)
    _deploy(db, RENAMED)
    rival = _instance(db, tiers["provinsi"]).id
    move = migration.move_instance

    def the_other_run_first(session, actor_, instance_id, versions, mapping, dry_run):
        if instance_id != rival and _version(db, tiers["provinsi"]) == 1:
            with db.transaction() as other:  # the other administrator's run, committed meanwhile
                move(other, SYSTEM, rival, versions, mapping, False)
        return move(session, actor_, instance_id, versions, mapping, dry_run)

    monkeypatch.setattr(migration, "move_instance", the_other_run_first)
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2)
    refused = {r.instance_id: r.problems[0].message for r in report.results if not r.ok}
    assert list(refused) == [rival] and "sudah dipindahkan" in refused[rival]
    assert report.moved == 3 and {_version(db, s) for s in tiers.values()} == {2}
    assert len(_actions(db, "INSTANCE_MIGRATED")) == 4  # each moved once: three by this run, one by the other


def test_a_failed_timer_step_lists_the_instance_as_stuck_and_a_retry_clears_it(db):
    tiers = _waiting_at_each_tier(db)
    task = open_task(db, tiers["kabupaten"], "kabupaten")
    with db.transaction() as session:
        session.get(HumanTask, task.id)
        registry = session.info["sijosku_registry"]
    original = registry.handlers["mark_overdue"]
    registry.handlers["mark_overdue"] = lambda *a: (_ for _ in ()).throw(RuntimeError("layanan mati"))
    try:
        later = task.due_at + timedelta(hours=1)
        timers.fire_due_timers(db, later)
        with db.read() as session:
            stuck = {s["business_key"]: s for s in processes.stuck_instances(session, SYSTEM)}
        waiting_on_timers = [_instance(db, tiers[t]).business_key for t in ("kecamatan", "kabupaten", "provinsi")]
        assert sorted(stuck) == sorted(waiting_on_timers)
        kabupaten = stuck[_instance(db, tiers["kabupaten"]).business_key]
        assert "layanan mati" in kabupaten["last_error"]
        with clock.frozen_at(later), db.transaction() as session, pytest.raises(Invalid, match="masih gagal"):
            processes.retry_instance(session, SYSTEM, kabupaten["id"])
    finally:
        registry.handlers["mark_overdue"] = original
    with clock.frozen_at(later), db.transaction() as session:
        processes.retry_instance(session, SYSTEM, kabupaten["id"])
    with db.read() as session:
        assert len(processes.stuck_instances(session, SYSTEM)) == 2
    assert open_task(db, tiers["kabupaten"], "kabupaten").overdue
    assert len(_actions(db, "INSTANCE_RETRIED")) == 1
    assert _current(db) == 1


def test_the_command_line_activates_a_version_and_migrates_with_a_mapping_file(db, cli, tmp_path):
    tiers = _waiting_at_each_tier(db)
    bpmn = tmp_path / "v2.bpmn"
    bpmn.write_text(RENAMED, encoding="utf-8")
    assert "versi 2 dipasang" in cli("definitions", "deploy", str(bpmn)).output
    out = cli("definitions", "activate", KEY, "1").output
    assert "versi 1 kini dipakai instans baru lagi (sebelumnya versi 2)" in out
    init = cli("init").output
    assert "verifikasi_berjenjang v1" in init
    mapping = tmp_path / "peta.txt"
    mapping.write_text("# kecamatan berganti id\nverifikasi_kecamatan = verifikasi_kec\n", encoding="utf-8")
    dry = cli("instances", "migrate", "--from", "1", "--to", "2", "--mapping", str(mapping), "--dry-run").output
    assert "Uji coba" in dry and "4 instans dapat dipindah, 0 ditolak" in dry
    assert _version(db, tiers["kecamatan"]) == 1
    cli("instances", "migrate", "--from", "1", "--to", "2", "--mapping", str(mapping))
    assert _version(db, tiers["kecamatan"]) == 2
    bad = tmp_path / "salah.txt"
    bad.write_text("verifikasi_kecamatan verifikasi_kec\n", encoding="utf-8")
    refused = cli("instances", "migrate", "--from", "2", "--to", "1", "--mapping", str(bad), ok=False)
    assert "langkah_lama = langkah_baru" in refused.stderr
    assert "Tidak ada instans yang macet" in cli("instances", "stuck").output


def test_a_decision_on_a_broken_version_is_refused_in_plain_words_and_changes_nothing(db):
    broken = variant(('keputusan == "kembalikan"', 'keputusn == "kembalikan"'))
    _deploy(db, broken, confirmed=True)
    make_team(db)
    submission_id = open_with_items(db)
    submit(db, "op.desa", submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with pytest.raises(Invalid) as refused:
        decide(db, "verif.kec", submission_id, "approve")
    assert "definisinya bermasalah" in refused.value.summary and "keputusn" in refused.value.problems[0].message
    assert refused.value.problems[0].element == "gw_kecamatan"  # the gateway that evaluates it
    assert open_task(db, submission_id, "kecamatan").id == task.id
    # the admin takes version 1 back and moves the instance: the decision then goes through
    with db.transaction() as session:
        processes.activate(session, SYSTEM, KEY, 1)
    assert processes.migrate_instances(db, SYSTEM, KEY, 2, 1).moved == 1
    decide(db, "verif.kec", submission_id, "approve")
    assert open_task(db, submission_id, "kabupaten").bpmn_id == "verifikasi_kabupaten"


def test_a_step_left_without_a_place_is_named_once_by_its_element(db):
    tiers = _waiting_at_each_tier(db)
    _deploy(db, RENAMED)  # verifikasi_kecamatan is verifikasi_kec in version 2; mapped to nothing here
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"verifikasi_kecamatan": ""}, dry_run=True)
    (refused,) = [r for r in report.results if r.instance_id == _instance(db, tiers["kecamatan"]).id]
    said = [p.message for p in refused.problems]
    assert said == [
        "instans sedang menunggu di «Verifikasi kecamatan», yang tidak ada di versi tujuan; petakan ke langkah yang ada"
    ]


@pytest.mark.parametrize("then", ["deploy another", "roll back"])
def test_a_deploy_and_another_change_of_one_process_take_turns(db, then):
    """While one admin's deploy commits, another's deploy or rollback waits for it, then numbers its
    version after it or makes its version the only current one."""
    other = variant((KECAMATAN_DOC_END, KECAMATAN_DOC_END.replace("perbaikan", "perbaikan data")))

    def second() -> object:
        with db.transaction() as session:
            if then == "deploy another":
                return processes.deploy(session, SYSTEM, other, confirmed=True).definition.version
            return processes.activate(session, SYSTEM, KEY, 1).definition.version

    outcome = first_then_second(db, lambda session: processes.deploy(session, SYSTEM, RENAMED), second)
    assert outcome == (3 if then == "deploy another" else 1)
    with db.read() as session:
        versions = session.execute(
            select(ProcessDefinition.version, ProcessDefinition.is_current).where(ProcessDefinition.process_key == KEY)
        ).all()
    assert sorted(v for v, _ in versions) == ([1, 2, 3] if then == "deploy another" else [1, 2])
    assert [v for v, current in versions if current] == [outcome]
