"""Deploying BPMN: validation per element, the sandbox, versions and pinning."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpmn import definitions, runtime, versions
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Invalid
from models import ProcessDefinition, ProcessInstance, Submission
from tests.factories import SYSTEM, decide, make_team, open_with_items, refused_when_run, submit

DEFAULT = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
APPROVE_CONDITION = 'hasil_pemeriksaan["lolos"]'
KECAMATAN_TASK_OPEN = '<bpmn:userTask id="verifikasi_kecamatan" name="Verifikasi kecamatan">'
KECAMATAN_DOC_END = "dengan catatan perbaikan.</bpmn:documentation>"


def variant(*replacements: tuple[str, str]) -> str:
    xml = DEFAULT
    for old, new in replacements:
        assert old in xml, old
        xml = xml.replace(old, new, 1)
    return xml


def with_prescript(script: str) -> str:
    start = DEFAULT.index(KECAMATAN_TASK_OPEN)
    end = DEFAULT.index(KECAMATAN_DOC_END, start) + len(KECAMATAN_DOC_END)
    return (
        DEFAULT[:end]
        + (
            "<bpmn:extensionElements><spiffworkflow:preScript>"
            + script.replace("<", "&lt;")
            + "</spiffworkflow:preScript></bpmn:extensionElements>"
        )
        + DEFAULT[end:]
    )


def deploy(db, xml):
    with db.transaction() as session:
        return definitions.deploy(session, SYSTEM, xml)


def _count(db):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessDefinition))


def refused(db, xml) -> list:
    before = _count(db)
    with pytest.raises(Invalid) as exc:
        deploy(db, xml)
    assert _count(db) == before, "a failed deploy must change nothing"
    return exc.value.problems


def test_redeploying_unchanged_content_is_a_no_op(db):
    result = deploy(db, DEFAULT)
    assert not result.created and result.definition.version == 1
    with db.read() as session:  # the year's reconciliation process is deployed beside it
        keys = session.scalars(select(ProcessDefinition.process_key).order_by(ProcessDefinition.process_key)).all()
    assert keys == ["rekonsiliasi_tahunan", "verifikasi_berjenjang"]


def test_a_changed_definition_is_a_new_version_and_running_instances_keep_theirs(db):
    team = make_team(db)
    first = open_with_items(db)
    new = deploy(db, variant(("sla_durasi</bpmn:timeDuration>", '"P7D"</bpmn:timeDuration>')))
    assert new.created and new.definition.version == 2
    second = open_with_items(db, desa="65.01.01.2006")
    with db.read() as session:
        v1, v2 = (
            session.get(ProcessInstance, session.get(Submission, s).instance_id).definition_id for s in (first, second)
        )
        assert session.get(ProcessDefinition, v1).version == 1
        assert session.get(ProcessDefinition, v2).version == 2
        shown = [d for d in versions.list_definitions(session) if d["process_key"] == "verifikasi_berjenjang"]
        listed = {d["version"]: d for d in shown}
    assert [d["version"] for d in shown] == [1, 2]  # the admin reads a process's versions oldest first
    assert listed[1]["instances_running"] == 1 and listed[2]["is_current"] and not listed[1]["is_current"]
    submit(db, team.operator, first)  # the old version still runs to its next step
    decide(db, team.kecamatan, first, "approve")


@pytest.mark.parametrize(
    "condition, why",
    [
        ('__import__("os").system("id")', "__import__"),
        ("().__class__.__bases__[0].__subclasses__()", "tidak diizinkan"),
        ('getattr(keputusan, "upper")()', "getattr"),
        ('"{0.__class__}".format(keputusan)', "__"),
        ("open('/etc/passwd').read()", "open"),
        ("[x for x in (1,)] if eval('1') else 0", "eval"),
    ],
)
def test_a_condition_that_escapes_the_sandbox_is_refused_naming_its_flow(db, condition, why):
    problems = refused(db, variant((APPROVE_CONDITION, condition.replace("<", "&lt;"))))
    assert [p.element for p in problems] == ["f_pemeriksaan_lolos"]
    assert why in problems[0].message


@pytest.mark.parametrize(
    "script",
    [
        "import os\nos.system('id')",
        "from subprocess import run",
        "x = ().__class__",
        "_hidden = 1",
        "globals()['x'] = 1",
    ],
)
def test_a_script_with_an_import_or_dunder_access_is_refused(db, script):
    problems = refused(db, with_prescript(script))
    assert problems and problems[0].element == "verifikasi_kecamatan"


def test_a_sandboxed_script_runs_on_task_data(db):
    deploy(db, with_prescript('catatan = "periksa " + periode'))
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.transaction() as session:
        instance_id = session.get(Submission, submission_id).instance_id
        running = runtime.load(session, SYSTEM, instance_id)
        ready = running.workflow.get_tasks(manual=True, state=16)  # READY
        assert ready[0].data["catatan"] == "periksa 2026-Q4"


def test_lanes_must_be_tiers(db):
    problems = refused(
        db,
        variant(('<bpmn:lane id="Lane_kabupaten" name="kabupaten">', '<bpmn:lane id="Lane_kabupaten" name="dinas">')),
    )
    elements = {p.element for p in problems}
    assert "Lane_kabupaten" in elements and "verifikasi_kabupaten" in elements


def test_every_user_task_sits_in_a_lane(db):
    problems = refused(db, variant(("<bpmn:flowNodeRef>verifikasi_kecamatan</bpmn:flowNodeRef>", "")))
    assert [p.element for p in problems] == ["verifikasi_kecamatan"]
    assert "lane" in problems[0].message


def test_service_tasks_must_name_registered_handlers(db):
    problems = refused(
        db, variant(('serviceTaskOperator id="apply_verified_items"', 'serviceTaskOperator id="hapus_semua_data"'))
    )
    assert [p.element for p in problems] == ["terapkan_data"]
    assert "hapus_semua_data" in problems[0].message


def test_a_timer_that_is_not_an_iso_duration_is_refused(db):
    problems = refused(db, variant(("sla_durasi</bpmn:timeDuration>", '"14 hari"</bpmn:timeDuration>')))
    assert [p.element for p in problems] == ["sla_kecamatan"]


def test_a_wait_of_millions_of_years_is_refused_where_written_and_where_computed(db):
    """SpiffWorkflow adds a duration month by month: P9999999Y would hold the worker for minutes."""
    problems = refused(db, variant(("sla_durasi</bpmn:timeDuration>", '"P9999999Y"</bpmn:timeDuration>')))
    assert [p.element for p in problems] == ["sla_kecamatan"] and "lebih dari 5 tahun" in problems[0].message
    assert refused(db, variant(("sla_durasi</bpmn:timeDuration>", '"P61M"</bpmn:timeDuration>')))
    deploy(db, variant(("sla_durasi</bpmn:timeDuration>", '"P5Y"</bpmn:timeDuration>')))  # five years is allowed
    computed = variant(("sla_durasi</bpmn:timeDuration>", '"P" + "9999999Y"</bpmn:timeDuration>'))
    refused_when_run(db, computed, "lebih dari 5 tahun")


def test_a_task_that_would_start_a_million_instances_is_refused(db):
    outgoing = "<bpmn:outgoing>f_ke_gw_kecamatan</bpmn:outgoing>"
    cardinality = (
        f"{outgoing}<bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:loopCardinality>1000000</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    )
    problems = refused(db, variant((outgoing, cardinality)))
    assert [p.element for p in problems] == ["verifikasi_kecamatan"] and "sampai 1000" in problems[0].message, problems


def test_a_diagram_declared_in_another_encoding_than_utf8_is_refused(db):
    latin = DEFAULT.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    assert latin != DEFAULT
    with pytest.raises(Invalid, match="UTF-8"):
        deploy(db, latin.replace('name="Verifikasi kecamatan"', 'name="Verifikasi kecamatan é"'))
    assert deploy(db, DEFAULT.replace('encoding="UTF-8"', "encoding='utf-8'", 1)).definition.version == 2


def test_malformed_xml_and_missing_process_are_refused(db):
    assert refused(db, "<bpmn:definitions")
    with pytest.raises(Invalid, match="tepat satu proses"):
        deploy(db, DEFAULT.replace('isExecutable="true"', 'isExecutable="false"'))
