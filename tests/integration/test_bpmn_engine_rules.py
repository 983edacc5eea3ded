"""Rules of the BPMN engine beside those the deploy, version and migration tests pin.

Deploying: a diagram opened in the editor as one process deploys only that process; one edited from
an older version asks before it undoes the newer one; activating the version in use changes nothing;
a file with two executable processes is refused, and a service task inside a sub-process must name
a registered handler as any other. Running: a task never lands in a region outside its instance's,
nor in a lane below it; a cleared instance is said to be finished; the nearest of a task's timers is
its deadline and the instance's next timer; a task its timer cancels leaves the inbox. Moving
instances: a renamed step is proposed by its place in the flow; a mapping must pair two step ids; an
instance inside a sub-process, or a waiting task onto a step of another kind, is not moved; a step
not reached yet needs no place. Bulk starts: a process that waits on a timer first is refused, and
each first task lands in its tier's region, told or not as its start says. The lint: nested lanes,
gateways that choose, and the longest name allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bpmn import bulk_start, definitions, lint, migration, runtime, timers
from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid, NeedsConfirmation
from engine.verification import processes
from models import AuditEvent, HumanTask, OutboxEvent, ProcessDefinition, ProcessInstance, Submission, TaskStatus
from tests.factories import DESA, PERIOD, SYSTEM, actor, make_team, open_task, open_with_items, submit
from tests.integration.test_definitions import DEFAULT, variant, with_prescript
from tests.integration.test_process_versions import RENAMED

KEY = "verifikasi_berjenjang"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
START = datetime.fromisoformat("2026-11-02T09:00:00+08:00")
RENAMED_STEP = ('name="Verifikasi kecamatan"', 'name="Verifikasi kecamatan (baru)"')


def _stored(db) -> list[tuple[int, bool]]:
    with db.read() as session:
        return session.execute(
            select(ProcessDefinition.version, ProcessDefinition.is_current)
            .where(ProcessDefinition.process_key == KEY)
            .order_by(ProcessDefinition.version)
        ).all()


def _audited(db, action: AuditAction) -> list[AuditEvent]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_diagram_opened_as_one_process_is_refused_when_its_xml_names_another(db):
    with db.transaction() as session, pytest.raises(Invalid, match="bukan rekonsiliasi_tahunan") as refused:
        definitions.deploy(session, SYSTEM, variant(RENAMED_STEP), for_process="rekonsiliasi_tahunan")
    assert [p.element for p in refused.value.problems] == [KEY]
    assert [tuple(r) for r in _stored(db)] == [(1, True)]


def test_a_diagram_edited_from_an_older_version_asks_before_undoing_the_newer(db):
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, variant(RENAMED_STEP))
    stale = variant(('name="Verifikasi kabupaten/kota"', 'name="Verifikasi kabupaten"'))
    with db.transaction() as session, pytest.raises(NeedsConfirmation) as held:
        definitions.deploy(session, SYSTEM, stale, based_on=1)
    assert "diubah dari versi 1" in held.value.problems[0].message and "versi 2" in held.value.problems[0].message
    assert [tuple(r) for r in _stored(db)] == [(1, False), (2, True)]
    with db.transaction() as session:
        assert definitions.deploy(session, SYSTEM, stale, based_on=1, confirmed=True).definition.version == 3
    deployed = _audited(db, AuditAction.DEFINITION_DEPLOYED)[-1]
    assert deployed.before == {"version": 2} and deployed.after["version"] == 3  # what it replaced, on the chain
    assert any("diubah dari versi 1" in said for said in deployed.after["peringatan_dikonfirmasi"])
    # edited from the version in use: nothing to ask
    with db.transaction() as session:
        assert definitions.deploy(
            session, SYSTEM, variant(RENAMED_STEP, ("Siklus dibuka", "Siklus mulai")), based_on=3
        ).created


def test_activating_the_version_already_in_use_changes_nothing_and_is_not_audited(db):
    with db.transaction() as session:
        result = definitions.activate(session, SYSTEM, KEY, 1)
    assert not result.reactivated and not result.created and result.previous_version == 1
    assert _audited(db, AuditAction.DEFINITION_ACTIVATED) == []
    assert [tuple(r) for r in _stored(db)] == [(1, True)]


def test_a_file_with_two_executable_processes_is_refused_rather_than_deploying_one_of_them(db):
    second = (
        '<bpmn:process id="proses_lain" isExecutable="true"><bpmn:startEvent id="mulai_lain" />'
        '<bpmn:sequenceFlow id="f_lain" sourceRef="mulai_lain" targetRef="selesai_lain" />'
        '<bpmn:endEvent id="selesai_lain" /></bpmn:process>'
    )
    xml = DEFAULT.replace("</bpmn:process>", "</bpmn:process>" + second, 1)
    with db.transaction() as session, pytest.raises(Invalid, match="tepat satu proses"):
        definitions.deploy(session, SYSTEM, xml, confirmed=True)
    assert [tuple(r) for r in _stored(db)] == [(1, True)]


SUBPROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="proses_sub" name="Proses dengan subproses" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="Lane_desa" name="desa">
      <bpmn:flowNodeRef>mulai</bpmn:flowNodeRef><bpmn:flowNodeRef>isi</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>sub</bpmn:flowNodeRef><bpmn:flowNodeRef>selesai</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="mulai" />
    <bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="isi" />
    <bpmn:userTask id="isi" name="Isi data" />
    <bpmn:sequenceFlow id="f2" sourceRef="isi" targetRef="sub" />
    <bpmn:subProcess id="sub" name="Olah">
      <bpmn:startEvent id="sub_mulai" />
      <bpmn:sequenceFlow id="s1" sourceRef="sub_mulai" targetRef="layanan" />
      INNER
      <bpmn:sequenceFlow id="s2" sourceRef="layanan" targetRef="sub_selesai" />
      <bpmn:endEvent id="sub_selesai" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="selesai" />
    <bpmn:endEvent id="selesai" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_service_task_inside_a_sub_process_must_name_a_registered_handler_too(db):
    registered = SUBPROCESS.replace(
        "INNER",
        '<bpmn:serviceTask id="layanan" name="Periksa"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="run_quality_checks" resultVariable="hasil" />'
        "</bpmn:extensionElements></bpmn:serviceTask>",
    )
    with db.transaction() as session:
        definitions.validate(session, registered)  # sound as drawn
    unknown = registered.replace('id="run_quality_checks"', 'id="hapus_semua_data"')
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        definitions.validate(session, unknown)
    assert [p.element for p in refused.value.problems] == ["layanan"]


def test_a_task_that_names_a_region_outside_its_instance_stays_in_the_instances_own_inbox(db):
    """A step names its region (one task per regency); a name outside the region the process runs
    for never sends the task, and the desa's data with it, to that other region's verifiers."""
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, with_prescript('wilayah_tugas = "65.02.01"'), confirmed=True)
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    assert open_task(db, submission_id, "kecamatan").region_kode == "65.01.01"


def test_a_task_in_a_lane_below_the_region_the_process_runs_for_is_refused_naming_it(db):
    with db.transaction() as session:
        running = runtime.start(session, SYSTEM, definitions.current(session, KEY), "uji/65.01", "65.01", PERIOD, {})
        with pytest.raises(Invalid, match="tidak dapat ditempatkan") as refused:
            runtime.save(running)  # its first task is the desa's, and a regency is no desa
    assert [p.element for p in refused.value.problems] == ["siapkan_pengajuan"]


def test_an_instance_whose_state_was_cleared_is_said_to_be_finished_when_loaded(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as session:
        instance = session.get(ProcessInstance, session.get(Submission, submission_id).instance_id)
        instance.state = ""  # as the retention period leaves a finished instance
    with db.transaction() as session, pytest.raises(Conflict, match="sudah selesai"):
        runtime.load(session, actor(db, team.operator), instance.id)


KECAMATAN_SLA = '<bpmn:boundaryEvent id="sla_kecamatan" name="Batas waktu kecamatan" cancelActivity="false"'
REMINDER = (
    '<bpmn:boundaryEvent id="ingat_kecamatan" name="Pengingat kecamatan" cancelActivity="false" '
    'attachedToRef="verifikasi_kecamatan"><bpmn:outgoing>f_ingat</bpmn:outgoing>'
    '<bpmn:timerEventDefinition id="T_ingat"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"'
    "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:sequenceFlow id="f_ingat" sourceRef="ingat_kecamatan" targetRef="ingat_selesai" />'
    '<bpmn:endEvent id="ingat_selesai" name="Pengingat dikirim"><bpmn:incoming>f_ingat</bpmn:incoming></bpmn:endEvent>'
)


def _at_kecamatan(db, xml: str):
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml, confirmed=True)
    team = make_team(db)
    submission_id = open_with_items(db)
    with clock.frozen_at(START):
        submit(db, team.operator, submission_id)
    return submission_id, open_task(db, submission_id, "kecamatan")


def test_the_nearest_of_two_timers_on_a_task_is_its_deadline_and_the_instances_next_timer(db):
    submission_id, task = _at_kecamatan(db, variant((KECAMATAN_SLA, REMINDER + KECAMATAN_SLA)))
    assert task.due_at == START + timedelta(hours=1)
    with db.read() as session:
        instance = session.get(ProcessInstance, session.get(Submission, submission_id).instance_id)
    assert instance.next_timer_at == START + timedelta(hours=1)


def test_a_task_its_timer_cancels_leaves_the_inbox(db):
    interrupting = KECAMATAN_SLA.replace('cancelActivity="false"', 'cancelActivity="true"')
    submission_id, task = _at_kecamatan(db, variant((KECAMATAN_SLA, interrupting)))
    assert timers.fire_due_timers(db, START + timedelta(days=15)) == 1
    with db.read() as session:
        assert session.get(HumanTask, task.id).status == TaskStatus.DIBATALKAN


def test_a_step_whose_id_and_name_both_changed_is_proposed_by_its_place_in_the_flow():
    renamed = DEFAULT.replace("gw_provinsi", "gw_prov").replace('name="Keputusan provinsi"', 'name="Putusan akhir"')
    old, new = definitions.parse_definition(DEFAULT), definitions.parse_definition(renamed)
    proposal = migration.propose(old, new)
    assert proposal["gw_provinsi"] == "gw_prov" and proposal["validasi_provinsi"] == "validasi_provinsi"


@pytest.mark.parametrize(
    "text",
    ['{"verifikasi_kecamatan": 1}', '{"verifikasi_kecamatan": null}', "verifikasi_kecamatan =", "= verifikasi_kec"],
)
def test_a_mapping_that_does_not_pair_two_step_ids_is_refused_in_words(text):
    with pytest.raises(Invalid, match="langkah_lama"):
        migration.parse_mapping(text)
    assert migration.parse_mapping('{" verifikasi_kecamatan ": "verifikasi_kec "}') == {
        "verifikasi_kecamatan": "verifikasi_kec"
    }


def test_an_instance_inside_a_sub_process_is_not_moved_between_versions(db):
    xml = SUBPROCESS.replace("INNER", '<bpmn:userTask id="layanan" name="Periksa" />')
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml, confirmed=True)
        version = definitions.current(session, "proses_sub")
        running = runtime.start(session, SYSTEM, version, "uji/sub", DESA, PERIOD, {})
        (first,) = running.workflow.get_tasks(state=TaskState.READY, manual=True)
        runtime.complete(running, first, {})  # on into the sub-process, where it waits
        found = migration.plan(running.workflow, definitions.parsed_by_id(session, version.id), {})
    assert [p.message for p in found.problems] == ["instans dengan subproses belum dapat dipindahkan"]
    assert found.moves == []


def test_a_waiting_task_is_not_moved_onto_a_step_of_another_kind(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.transaction() as session:
        processes.deploy(session, SYSTEM, RENAMED)
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"verifikasi_kecamatan": "gw_kecamatan"}, dry_run=True)
    (result,) = report.results
    assert not result.ok
    assert any("berjenis lain" in p.message and p.element == "verifikasi_kecamatan" for p in result.problems)
    assert not any("BoundaryEventSplit" in p.message for p in result.problems)  # the element says it, in words


def test_a_step_the_instance_has_not_reached_needs_no_place_in_the_target_version(db):
    make_team(db)
    submission_id = open_with_items(db)  # waiting at the desa: the automatic check lies ahead
    with db.transaction() as session:
        processes.deploy(session, SYSTEM, RENAMED)
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"pemeriksaan_otomatis": ""}, dry_run=True)
    assert [(r.ok, r.problems) for r in report.results] == [(True, [])]
    assert open_task(db, submission_id, "desa").bpmn_id == "siapkan_pengajuan"


def test_a_process_that_waits_on_a_timer_before_its_first_task_is_not_started_in_bulk(db):
    first_flow = '<bpmn:sequenceFlow id="f_mulai" sourceRef="mulai" targetRef="siapkan_pengajuan" />'
    waits = variant(
        (
            first_flow,
            '<bpmn:sequenceFlow id="f_mulai" sourceRef="mulai" targetRef="tunggu" />'
            '<bpmn:intermediateCatchEvent id="tunggu" name="Tunggu pembukaan"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:sequenceFlow id="f_tunggu" sourceRef="tunggu" targetRef="siapkan_pengajuan" />',
        )
    )
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, waits, confirmed=True)
    with db.read() as session, pytest.raises(bulk_start.NotBulkable, match="timer"):
        bulk_start.template(session, definitions.current(session, KEY), {"sla_durasi": "P14D"}, ["kode_desa"])


def _started_in_bulk(db, xml: str, *starts: bulk_start.Start) -> list[HumanTask]:
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml, confirmed=True)
        template = bulk_start.template(
            session, definitions.current(session, KEY), {"sla_durasi": "P14D"}, ["kode_desa"]
        )
        ids = bulk_start.start_many(session, template, list(starts))
    with db.read() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids)).order_by(HumanTask.id)))


def test_a_first_task_started_in_bulk_lands_in_its_tiers_region_and_keeps_who_is_told(db):
    in_kecamatan_lane = variant(
        ("<bpmn:flowNodeRef>siapkan_pengajuan</bpmn:flowNodeRef>", ""),
        (
            "<bpmn:flowNodeRef>verifikasi_kecamatan</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>verifikasi_kecamatan</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>siapkan_pengajuan</bpmn:flowNodeRef>",
        ),
    )
    other = "65.01.01.2006"
    tasks = _started_in_bulk(
        db,
        in_kecamatan_lane,
        bulk_start.Start(DESA, PERIOD, f"{DESA}/{PERIOD}", {"kode_desa": DESA}, announced=True),
        bulk_start.Start(other, PERIOD, f"{other}/{PERIOD}", {"kode_desa": other}),
    )
    assert [(t.kode_desa, t.region_kode, t.tingkat.value) for t in tasks] == [
        (DESA, "65.01.01", "kecamatan"),
        (other, "65.01.01", "kecamatan"),
    ]
    with db.read() as session:
        told = {
            e.payload["task_id"]: e.payload["diumumkan"]
            for e in session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "task.created"))
        }
    assert told == {tasks[0].id: True, tasks[1].id: False}


# ---------------------------------------------------------------- the lint, on diagrams as people draw them


def _root(body: str, shapes: str = "") -> etree._Element:
    xml = (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:bpmndi="{BPMNDI}" xmlns:dc="{DC}" id="d">'
        f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process>'
        f'<bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="p">{shapes}'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
    )
    return etree.fromstring(xml.encode())


def _shape(element: str, x: int, y: int, w: int, h: int) -> str:
    return (
        f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}">'
        f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNShape>'
    )


def test_a_task_inside_a_nested_lane_crosses_no_lane_of_its_own_parent():
    body = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="Lane_provinsi" name="provinsi"><bpmn:childLaneSet id="cls">'
        '<bpmn:lane id="Lane_forum" name="provinsi:forum_sdi"><bpmn:flowNodeRef>tugas</bpmn:flowNodeRef></bpmn:lane>'
        '<bpmn:lane id="Lane_kadis" name="provinsi:kepala_dinas" />'
        "</bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>"
        '<bpmn:userTask id="tugas" name="Telaah forum" />'
    )
    lanes = _shape("Lane_provinsi", 0, 0, 600, 400) + _shape("Lane_forum", 30, 0, 570, 200)
    lanes += _shape("Lane_kadis", 30, 200, 570, 200)
    assert lint.lane_problems(_root(body, lanes + _shape("tugas", 100, 50, 100, 80))) == []
    straddling = _root(body, lanes + _shape("tugas", 100, 150, 100, 80))
    assert [p.element for p in lint.lane_problems(straddling)] == ["tugas"]


def _gateway(kind: str, ways_out: int, default: bool) -> etree._Element:
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="g" targetRef="akhir{i}" /><bpmn:endEvent id="akhir{i}" />'
        for i in range(ways_out)
    )
    chosen = ' default="f0"' if default else ""
    return _root(
        f'<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="g" />'
        f'<bpmn:{kind} id="g" name="Pilih"{chosen} />{flows}'
    )


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_only_a_gateway_that_chooses_among_ways_out_is_warned_without_a_default(kind):
    assert [(p.element, p.severity) for p in lint.gateway_problems(_gateway(kind, 2, False))] == [("g", lint.WARNING)]
    assert lint.gateway_problems(_gateway(kind, 2, True)) == []
    assert lint.gateway_problems(_gateway(kind, 1, False)) == []  # a join, or a single way on


def test_a_name_of_exactly_the_allowed_length_is_accepted_and_one_more_is_not():
    def named(length: int) -> list:
        return lint.name_problems(_root(f'<bpmn:userTask id="t" name="{"n" * length}" />'))

    assert named(lint.NAME_CHARS) == []
    assert [p.element for p in named(lint.NAME_CHARS + 1)] == ["t"]


def test_a_name_a_data_object_holds_is_not_warned_as_unknown():
    body = (
        '<bpmn:dataObject id="DataObject_1" /><bpmn:dataObjectReference id="ref" name="anggota" '
        'dataObjectRef="DataObject_1" /><bpmn:startEvent id="s" />'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"><bpmn:conditionExpression>len(anggota) &gt; 0'
        '</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e" />'
    )
    assert lint.expression_problems(_root(body), set()) == []
    assert [
        p.severity for p in lint.expression_problems(_root(body.replace("len(anggota)", "len(anggot)")), set())
    ] == [lint.WARNING]
