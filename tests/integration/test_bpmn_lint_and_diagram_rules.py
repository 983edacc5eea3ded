"""What the administrator's BPMN editor tells, beside what the deploy, version and lint tests pin.

The check before a deploy: a task drawn beyond the lanes' corner crosses none of them, a boundary
event on a lane's border is no task; a loop that waits on a message is no endless loop, and a loop
of automatic steps is marked on its gateway; the sandbox's refusal is said as a matter of safety; a
duration written without quotes is an error whatever its unit; a lambda's parameter, a data object's
id and a multi-instance's collection and item are names the diagram defines; a timer written as a
number is an error; an empty condition is said to be empty; errors are listed before warnings; a
step without a name is named by its kind and id. Deploying: a file declared as "utf8" is UTF-8; what
SpiffWorkflow refuses names its element; a diagram edited from a version newer than the one in use
asks first and names who deployed that one; content that is already current is no activation. The
comparison of two versions: steps added and removed by id and in words, only what changed, each
property in words (a lane, a condition, a service, months and minutes), new and old in that order,
steps before flows. The path an auditor sees drawn: flows only between what the instance has passed.
"""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpmn import definitions, diagram, lint
from engine.core.audit import AuditAction
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Invalid, NeedsConfirmation
from engine.verification import processes, trail
from models import Submission
from tests.factories import SYSTEM, make_team, new_person, open_with_items, submit
from tests.integration.test_bpmn_engine_rules import KEY, RENAMED_STEP, _audited, _root, _shape, _stored
from tests.integration.test_definitions import DEFAULT, variant
from tests.unit.test_diagram_lint import _diagram, _tasks, _timer
from tests.unit.test_xml_diff import _lines

LANES = (
    '<bpmn:laneSet id="ls"><bpmn:lane id="Lane_kec" name="kecamatan"><bpmn:flowNodeRef>tugas</bpmn:flowNodeRef>'
    '</bpmn:lane><bpmn:lane id="Lane_kab" name="kabupaten" /></bpmn:laneSet>'
)
TWO_LANES = _shape("Lane_kec", 0, 0, 600, 200) + _shape("Lane_kab", 0, 200, 600, 200)
SOUND = ("putaran &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "False")


# ---------------------------------------------------------------- the check before a deploy


def test_a_task_drawn_beyond_the_corner_of_the_lanes_is_not_said_to_cross_them():
    body = LANES + '<bpmn:userTask id="tugas" name="Verifikasi" />'
    assert lint.lane_problems(_root(body, TWO_LANES + _shape("tugas", 700, 450, 100, 80))) == []
    assert lint.lane_problems(_root(body, TWO_LANES + _shape("tugas", 100, 50, 100, 80))) == []
    [crossing] = lint.lane_problems(_root(body, TWO_LANES + _shape("tugas", 100, 150, 100, 80)))
    assert crossing.element == "tugas" and "melintasi lane kecamatan dan kabupaten" in crossing.message


def test_a_boundary_event_drawn_on_a_lanes_border_is_not_a_task_across_lanes():
    body = LANES + (
        '<bpmn:userTask id="tugas" name="Verifikasi" />'
        '<bpmn:boundaryEvent id="batas" name="Batas waktu" attachedToRef="tugas" />'
    )
    shapes = TWO_LANES + _shape("tugas", 100, 100, 100, 82) + _shape("batas", 132, 182, 36, 36)
    assert lint.lane_problems(_root(body, shapes)) == []


def _loop(first: str) -> etree._Element:
    """A reminder loop: the gateway asks, `first` follows it, a service task reminds and asks again."""
    return _root(
        '<bpmn:exclusiveGateway id="z_pilih" name="Sudah dijawab?" />'
        '<bpmn:receiveTask id="terima" name="Terima jawaban" /><bpmn:serviceTask id="a_ingatkan" name="Ingatkan" />'
        f'<bpmn:sequenceFlow id="fa" sourceRef="z_pilih" targetRef="{first}" />'
        '<bpmn:sequenceFlow id="fb" sourceRef="terima" targetRef="a_ingatkan" />'
        '<bpmn:sequenceFlow id="fc" sourceRef="a_ingatkan" targetRef="z_pilih" />'
    )


def test_a_loop_that_waits_on_a_message_is_not_endless_and_an_endless_one_is_marked_on_its_gateway():
    assert lint.loop_problems(_loop("terima")) == []
    [spinning] = lint.loop_problems(_loop("a_ingatkan"))
    assert spinning.element == "z_pilih" and "(«Ingatkan», «Sudah dijawab?»)" in spinning.message


def test_a_refused_expression_is_said_to_be_refused_for_safety():
    root = _diagram(_tasks("__import__(&quot;os&quot;) == 1", *SOUND[1:]))
    [refused] = [p for p in lint.lint(root, {"putaran"}) if p.element == "ulang"]
    assert refused.severity == lint.ERROR
    assert refused.message.startswith("Kondisi pengulangan pada «Periksa ulang»: memakai sesuatu yang tidak diizinkan")
    assert "demi keamanan" in refused.message


@pytest.mark.parametrize("written", ["PT12H", "pt30m", "P2W"])
def test_a_duration_of_any_unit_written_without_quotes_is_an_error_asking_for_them(written):
    [unquoted] = lint.lint(_timer(written), set())
    assert (unquoted.element, unquoted.severity) == ("tunggu", lint.ERROR)
    assert f'harus ditulis di antara tanda kutip: "{written}"' in unquoted.message


def test_names_a_lambda_a_data_object_or_a_multi_instance_defines_are_not_unknown():
    lambda_and_items = _tasks(
        *SOUND[:3], "jumlah", "max(anggota_keluarga, key=lambda orang: orang) == anggota"
    ).replace(
        "<bpmn:loopCardinality>jumlah</bpmn:loopCardinality>",
        "<bpmn:loopDataInputRef>anggota_keluarga</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="anggota" name="anggota" />',
    )
    assert lint.lint(_diagram(lambda_and_items), {"putaran"}) == []
    held = (
        '<bpmn:dataObject id="daftar_anggota" /><bpmn:startEvent id="s" />'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"><bpmn:conditionExpression>len(daftar_anggota) &gt; 0'
        '</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e" />'
    )
    assert lint.expression_problems(_root(held), set()) == []
    [unknown] = lint.expression_problems(_root(held.replace("len(daftar_anggota)", "len(daftar)")), set())
    assert unknown.severity == lint.WARNING and "'daftar'" in unknown.message


def test_an_empty_condition_is_an_error_that_says_it_is_empty():
    body = (
        '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" name="Lolos" sourceRef="s" targetRef="e">'
        '<bpmn:conditionExpression>   </bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e" />'
    )
    [empty] = lint.lint(_root(body), set())
    assert (empty.element, empty.severity, empty.message) == ("f", lint.ERROR, "Kondisi pada «Lolos» kosong")


def test_a_refused_diagram_lists_its_errors_before_its_warnings(db):
    no_default = variant(
        (' default="f_kecamatan_setuju"', ""),
        ('name="Validasi provinsi"', f'name="{"V" * 121}"'),
    )
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        definitions.deploy(session, SYSTEM, no_default, confirmed=True)
    found = [(p.element, p.severity) for p in refused.value.problems]
    assert found == [("validasi_provinsi", lint.ERROR), ("gw_kecamatan", lint.WARNING)]
    assert "1 kesalahan, 1 peringatan" in refused.value.summary


def test_a_step_whose_name_is_blank_is_named_by_its_kind_and_id():
    body = (
        '<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="kab" />'
        '<bpmn:userTask id="kab" name="   " />'
    )
    [nowhere] = lint.lint(_root(body), set())
    assert nowhere.message == "tugas kab tidak punya alur keluar; proses berakhir di sini"


def test_a_timer_written_as_a_number_is_refused_before_it_is_deployed(db):
    """`14` meant as fourteen days: SpiffWorkflow reads only texts, and every submission would fail
    when the kecamatan's timer starts."""
    as_number = variant(("sla_durasi</bpmn:timeDuration>", "14</bpmn:timeDuration>"))
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        definitions.deploy(session, SYSTEM, as_number)
    [problem] = refused.value.problems
    assert problem.element == "sla_kecamatan" and '"14" tidak dapat dibaca sebagai batas waktu' in problem.message


# ---------------------------------------------------------------- deploying and activating


def test_a_file_declared_as_utf8_without_a_hyphen_is_read_as_utf8(db):
    declared = variant(('encoding="UTF-8"', 'encoding="utf8"'), RENAMED_STEP)
    with db.transaction() as session:
        assert definitions.deploy(session, SYSTEM, declared).definition.version == 2


def test_what_the_engine_refuses_in_a_diagram_names_its_element(db):
    two_ways_out = variant(
        (
            '<bpmn:sequenceFlow id="f_ke_gw_kecamatan"',
            '<bpmn:sequenceFlow id="f_pintas" sourceRef="verifikasi_kecamatan" targetRef="selesai" />'
            '<bpmn:sequenceFlow id="f_ke_gw_kecamatan"',
        )
    )
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        definitions.deploy(session, SYSTEM, two_ways_out, confirmed=True)
    [problem] = refused.value.problems
    assert problem.element == "verifikasi_kecamatan" and problem.message.startswith("tugas hanya boleh punya satu")
    assert [tuple(r) for r in _stored(db)] == [(1, True)]


def test_a_diagram_edited_from_a_version_newer_than_the_one_in_use_asks_and_names_its_deployer(db):
    admin = new_person(db, "admin.prov", region="65")
    with db.transaction() as session:
        processes.deploy(session, admin, variant(RENAMED_STEP))
    stale = variant(("Siklus dibuka", "Siklus mulai"))
    with db.transaction() as session, pytest.raises(NeedsConfirmation) as held:
        processes.deploy(session, SYSTEM, stale, based_on=1)
    assert "(dipasang oleh admin.prov)" in held.value.problems[0].message
    with db.transaction() as session:
        processes.activate(session, admin, KEY, 1)  # rolled back: version 2, edited on, is no longer in use
    with db.transaction() as session, pytest.raises(NeedsConfirmation) as held:
        processes.deploy(session, admin, stale, based_on=2)
    said = held.value.problems[0].message
    assert "diubah dari versi 2" in said and "versi 1 (dipasang oleh sistem:test)" in said
    assert [tuple(r) for r in _stored(db)] == [(1, True), (2, False)]


def test_deploying_the_content_already_in_use_is_no_activation(db):
    with db.transaction() as session:
        again = definitions.deploy(session, SYSTEM, DEFAULT)
    assert not again.created and not again.reactivated and again.previous_version == 1
    assert processes.outcome(again) == "Verifikasi Berjenjang Data PPKS: isi tidak berubah; tetap versi 1."
    assert _audited(db, AuditAction.DEFINITION_ACTIVATED) == []


def test_an_activation_is_audited_with_the_version_it_replaces_and_how(db):
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, variant(RENAMED_STEP))
        definitions.activate(session, SYSTEM, KEY, 1)
    [activated] = _audited(db, AuditAction.DEFINITION_ACTIVATED)
    assert activated.before == {"version": 2}
    assert activated.after == {"process_key": KEY, "version": 1, "cara": "aktifkan"}
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, variant(RENAMED_STEP))  # its content: version 2 again
    assert _audited(db, AuditAction.DEFINITION_ACTIVATED)[-1].after["cara"] == "isi sama"


def test_a_version_parsed_once_is_shared_by_every_later_read(db):
    definitions.forget_parsed()  # as a process that has just started
    with db.read() as session:
        first = definitions.parsed_by_id(session, 1)
        assert definitions.parsed_by_id(session, 1) is first


# ---------------------------------------------------------------- comparing two versions

EDITED = variant(
    ("sla_durasi</bpmn:timeDuration>", '"PT30M"</bpmn:timeDuration>'),
    ("sla_durasi</bpmn:timeDuration>", '"P2M"</bpmn:timeDuration>'),
    ("<bpmn:flowNodeRef>tandai_terlambat_kecamatan</bpmn:flowNodeRef>", ""),
    (
        "<bpmn:flowNodeRef>terapkan_data</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>terapkan_data</bpmn:flowNodeRef><bpmn:flowNodeRef>tandai_terlambat_kecamatan</bpmn:flowNodeRef>",
    ),
    ('hasil_pemeriksaan["lolos"]', 'hasil_pemeriksaan["lolos"] == True'),
    ('serviceTaskOperator id="apply_verified_items"', 'serviceTaskOperator id="freeze_determination"'),
    (
        '<bpmn:sequenceFlow id="f_selesai" sourceRef="terapkan_data" targetRef="selesai" />',
        '<bpmn:sequenceFlow id="f_selesai" sourceRef="terapkan_data" targetRef="umumkan" />'
        '<bpmn:sequenceFlow id="f_umumkan" sourceRef="umumkan" targetRef="selesai" />'
        '<bpmn:intermediateThrowEvent id="umumkan" name="Data diumumkan" />',
    ),
)


def _compared(db, left: int, right: int) -> diagram.Changes:
    admin = new_person(db, "admin.prov", region="65")
    with db.read() as session:
        return processes.compare(session, admin, left, right).changes


def test_the_comparison_says_each_changed_property_in_words_old_then_new_steps_before_flows(db):
    with db.transaction() as session:
        edited = definitions.deploy(session, SYSTEM, EDITED).definition.id
    changes = _compared(db, 1, edited)
    new = {"f_umumkan", "umumkan"}  # the step and its flow, highlighted on the newer diagram
    assert new <= set(changes.added) and not new & set(changes.removed)
    assert {"f_pemeriksaan_lolos", "f_selesai", "sla_kabupaten", "sla_kecamatan", "terapkan_data"} <= set(
        changes.changed
    )
    assert not {"mulai", "verifikasi_kabupaten", "gw_provinsi"} & set(changes.changed)  # untouched steps
    assert [str(c) for c in changes.readable] == [
        "Langkah baru: «Data diumumkan»",
        "Langkah baru: alur f_umumkan",
        "«Batas waktu kecamatan» · Batas waktu: sla_durasi → 30 menit",
        "«Tandai terlambat» · Lane: kecamatan → provinsi",
        "«Batas waktu kabupaten/kota» · Batas waktu: sla_durasi → 2 bulan",
        "«Terapkan data terverifikasi» · Layanan: apply_verified_items → freeze_determination",
        '«Lolos» · Kondisi: hasil_pemeriksaan["lolos"] → hasil_pemeriksaan["lolos"] == True',
        "alur f_selesai · Ke: selesai → umumkan",
    ]


def test_steps_taken_out_in_the_newer_version_are_said_removed(db):
    with db.transaction() as session:
        edited = definitions.deploy(session, SYSTEM, EDITED).definition.id
    changes = _compared(db, edited, 1)
    assert {"f_umumkan", "umumkan"} <= set(changes.removed) and not {"f_umumkan", "umumkan"} & set(changes.added)
    assert [str(c) for c in changes.readable[:2]] == [
        "Langkah dihapus: «Data diumumkan»",
        "Langkah dihapus: alur f_umumkan",
    ]


# ---------------------------------------------------------------- the path an auditor sees drawn


def test_the_path_drawn_holds_only_flows_between_steps_the_instance_passed(db):
    """The automatic check failed: the submission is back at the desa, and the way on to the kecamatan
    was never taken."""
    never_passes = variant(('hasil_pemeriksaan["lolos"]', "False"))
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, never_passes)
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    auditor = new_person(db, "auditor.prov", role="auditor", region="65")
    with db.read() as session:
        instance_id = session.get(Submission, submission_id).instance_id
    with db.transaction() as session:
        shown = trail.instance_timeline(session, auditor, instance_id)
    assert shown["current"] == ["siapkan_pengajuan"]
    assert [p for p in shown["path"] if p.startswith("f_")] == [
        "f_mulai",
        "f_ajukan",
        "f_ke_gw_pemeriksaan",
        "f_pemeriksaan_gagal",
    ]


def test_the_xml_side_by_side_shows_lines_up_to_the_bounds_and_cuts_only_beyond():
    whole, _ = diagram.xml_diff("<a/>", "x" * diagram.DIFF_LINE_CHARS, "versi 1", "versi 2")
    cut, _ = diagram.xml_diff("<a/>", "x" * (diagram.DIFF_LINE_CHARS + 1), "versi 1", "versi 2")
    assert "…" not in whole and "…" in cut
    paired = diagram.xml_diff(_lines(50, "lama"), _lines(50, "baru"), "versi 1", "versi 2")  # 50 × 50 = 2500
    assert paired[1] == 50 and "baris&nbsp;49" in paired[0]
    inserted = "\n".join(f"<x{i}/>" for i in range(diagram.DIFF_CHANGED_LINES))
    table, changed = diagram.xml_diff("", inserted, "versi 1", "versi 2")
    assert changed == diagram.DIFF_CHANGED_LINES and table


def test_the_versions_are_listed_process_by_process_oldest_first(db):
    reconciliation = (DEFAULT_BPMN_DIR / "rekonsiliasi_tahunan.bpmn").read_text(encoding="utf-8")
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, reconciliation.replace('name="Bekukan penetapan"', 'name="Bekukan"', 1))
        definitions.deploy(session, SYSTEM, variant(RENAMED_STEP))
    admin = new_person(db, "admin.prov", region="65")
    with db.read() as session:
        listed = [(d["process_key"], d["version"], d["is_current"]) for d in processes.list_definitions(session, admin)]
    assert listed == [
        ("rekonsiliasi_tahunan", 1, False),
        ("rekonsiliasi_tahunan", 2, True),
        (KEY, 1, False),
        (KEY, 2, True),
    ]


def test_a_process_with_nothing_in_it_is_refused_in_indonesian_for_lacking_a_start_event(db):
    empty = (
        '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" id="d" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="kosong" isExecutable="true" />'
        "</bpmn:definitions>"
    )
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        definitions.deploy(session, SYSTEM, empty, confirmed=True)
    assert [p.message for p in refused.value.problems] == ["diagram tidak punya peristiwa awal (start event)"]
