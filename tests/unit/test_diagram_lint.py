"""The diagram lint on expression-bearing elements the default process does not use: a loop
condition, a multi-instance cardinality and completion condition, a script, a timer date."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.bpmn import lint

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _diagram(body: str) -> etree._Element:
    xml = (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="mulai" /><bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="ulang" />'
        f"{body}"
        '<bpmn:sequenceFlow id="f2" sourceRef="ulang" targetRef="skrip" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="skrip" targetRef="tunggu" />'
        '<bpmn:sequenceFlow id="f4" sourceRef="tunggu" targetRef="banyak" />'
        '<bpmn:sequenceFlow id="f5" sourceRef="banyak" targetRef="selesai" />'
        '<bpmn:endEvent id="selesai" /></bpmn:process></bpmn:definitions>'
    )
    return etree.fromstring(xml.encode())


def _tasks(loop: str, script: str, when: str, cardinality: str, completion: str) -> str:
    return (
        f'<bpmn:userTask id="ulang" name="Periksa ulang"><bpmn:standardLoopCharacteristics>'
        f"<bpmn:loopCondition>{loop}</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:userTask>"
        f'<bpmn:scriptTask id="skrip" name="Hitung"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
        f'<bpmn:intermediateCatchEvent id="tunggu" name="Tunggu tanggal"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDate>{when}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        f'<bpmn:userTask id="banyak" name="Periksa tiap anggota"><bpmn:multiInstanceLoopCharacteristics>'
        f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>"
        f"<bpmn:completionCondition>{completion}</bpmn:completionCondition>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    )


def test_sound_expressions_pass():
    root = _diagram(
        _tasks("putaran &lt; 3", "putaran = 0\njumlah = putaran + 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "False")
    )
    assert lint.lint(root, {"putaran"}) == []


def test_each_broken_expression_is_an_error_on_its_element():
    root = _diagram(_tasks("putaran &lt;", "jumlah = (", '"akhir tahun"', "len(anggota", "selesai ==="))
    problems = {(p.element, p.severity) for p in lint.lint(root, {"putaran", "anggota", "selesai"})}
    assert ("ulang", lint.ERROR) in problems  # the loop condition that never compiles
    assert ("skrip", lint.ERROR) in problems
    assert ("tunggu", lint.ERROR) in problems  # a date that is not ISO 8601
    messages = [p.message for p in lint.lint(root, {"putaran", "anggota", "selesai"}) if p.element == "banyak"]
    assert any("Jumlah pengulangan" in m for m in messages) and any("Kondisi selesai" in m for m in messages)
    assert all("sintaks" not in m and "invalid syntax" not in m for m in messages)


def test_a_name_nothing_defines_is_a_warning():
    root = _diagram(_tasks("putaraan &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "False"))
    found = [p for p in lint.lint(root, {"putaran"}) if p.element == "ulang"]
    assert [p.severity for p in found] == [lint.WARNING] and "putaraan" in found[0].message


def test_a_task_that_leads_nowhere_is_a_warning_on_it():
    xml = (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="mulai" /><bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="kec" />'
        '<bpmn:userTask id="kec" name="Verifikasi kecamatan" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="kec" targetRef="kab" />'
        '<bpmn:userTask id="kab" name="Verifikasi kabupaten" />'
        '<bpmn:endEvent id="selesai" /><bpmn:sequenceFlow id="f3" sourceRef="mulai" targetRef="selesai" />'
        "</bpmn:process></bpmn:definitions>"
    )
    problems = [(p.element, p.severity) for p in lint.lint(etree.fromstring(xml.encode()), set())]
    assert problems == [("kab", lint.WARNING)]  # the end event and the task with a way out are not flagged


def _timer(body: str) -> etree._Element:
    return etree.fromstring(
        (
            f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d"><bpmn:process id="p" isExecutable="true">'
            '<bpmn:startEvent id="mulai" /><bpmn:sequenceFlow id="f1" sourceRef="mulai" targetRef="tunggu" />'
            '<bpmn:intermediateCatchEvent id="tunggu" name="Tunggu"><bpmn:timerEventDefinition>'
            f"<bpmn:timeDuration>{body}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
            '<bpmn:sequenceFlow id="f2" sourceRef="tunggu" targetRef="selesai" /><bpmn:endEvent id="selesai" />'
            "</bpmn:process></bpmn:definitions>"
        ).encode()
    )


def test_a_duration_written_without_quotes_is_an_error_not_an_unknown_name():
    # As a name, P14X was only a warning; deployed, every instance failed when its timer started.
    [typo] = lint.lint(_timer("P14X"), {"sla_durasi"})
    assert (typo.element, typo.severity) == ("tunggu", lint.ERROR) and "bukan durasi" in typo.message
    [unquoted] = lint.lint(_timer("P14D"), {"sla_durasi"})
    assert unquoted.severity == lint.ERROR and 'tanda kutip: "P14D"' in unquoted.message
    assert lint.lint(_timer("&quot;P14D&quot;"), set()) == [] and lint.lint(_timer("sla_durasi"), {"sla_durasi"}) == []


def test_a_timer_written_in_words_is_told_how_a_duration_is_written():
    [words] = lint.lint(_timer("tiga hari"), set())
    assert words.severity == lint.ERROR and '"tiga hari" tidak dapat dibaca sebagai batas waktu' in words.message
    assert '"P3D" untuk 3 hari' in words.message and "pembanding" not in words.message  # not about expressions
    [refused] = lint.lint(_timer("__import__(&quot;os&quot;)"), set())  # a refusal keeps its own reason
    assert "tidak diizinkan" in refused.message and "batas waktu" not in refused.message


def test_a_comprehensions_own_name_is_not_unknown_and_a_service_parameters_name_is():
    body = _tasks("putaran &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "all(x for x in [1])")
    parameter = (
        '<bpmn:extensionElements><spiffworkflow:parameters xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/'
        'schema/1.0/core"><spiffworkflow:parameter id="elemen" value="verifikasi_kecamatan_x" />'
        "</spiffworkflow:parameters></bpmn:extensionElements>"
    )
    root = _diagram(body.replace('name="Hitung">', f'name="Hitung">{parameter}'))
    problems = lint.lint(root, {"putaran"})
    assert [(p.element, p.severity) for p in problems] == [("skrip", lint.WARNING)], problems
    assert "'verifikasi_kecamatan_x'" in problems[0].message and "Parameter layanan" in problems[0].message


def test_a_flow_from_an_element_that_does_not_exist_is_an_error_on_the_flow():
    body = _tasks("putaran &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "False")
    root = _diagram(body + '<bpmn:sequenceFlow id="hilang" sourceRef="hantu" targetRef="selesai" />')
    problems = [p for p in lint.lint(root, {"putaran"}) if p.severity == lint.ERROR]
    assert [p.element for p in problems] == ["hilang"] and "'hantu'" in problems[0].message


def test_a_diagram_without_a_start_event_is_told_so_once():
    body = _tasks("putaran &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "jumlah", "False")
    root = _diagram(body)
    start = root.find(f".//{{{BPMN}}}startEvent")
    start.getparent().remove(start)
    errors = [p.message for p in lint.lint(root, {"putaran"}) if p.severity == lint.ERROR]
    assert errors.count("diagram tidak punya peristiwa awal (start event)") == 1
    assert not [m for m in errors if "tidak dapat dicapai" in m]


def test_the_parsers_common_complaints_are_said_in_indonesian():
    from engine.bpmn import parsed_specs

    said = parsed_specs.parser_words("Multiple outgoing flows are not supported for tasks of type userTask")
    assert said.startswith("tugas hanya boleh punya satu alur keluar")
    assert parsed_specs.parser_words("Something new") == "Something new"  # shown as the parser wrote it


DEFAULT = "workflows/bpmn/verifikasi_berjenjang.bpmn"


def test_the_default_process_has_no_loop_of_automatic_steps():
    assert lint.loop_problems(etree.parse(DEFAULT).getroot()) == []


def test_a_loop_of_automatic_steps_with_no_person_on_it_is_refused_on_its_gateway():
    xml = (
        Path(DEFAULT)
        .read_text(encoding="utf-8")
        .replace(  # "failed": back to the check, not the desa
            'id="f_pemeriksaan_gagal" name="Ada kesalahan" sourceRef="gw_pemeriksaan" targetRef="siapkan_pengajuan"',
            'id="f_pemeriksaan_gagal" name="Ada kesalahan" sourceRef="gw_pemeriksaan" targetRef="pemeriksaan_otomatis"',
        )
    )
    found = lint.loop_problems(etree.fromstring(xml.encode()))
    assert [(p.element, p.severity) for p in found] == [("gw_pemeriksaan", "error")]
    assert "berputar tanpa henti" in found[0].message and "Lolos pemeriksaan?" in found[0].message


def _chain(steps: int, back: dict[int, int]) -> etree._Element:
    """A process of `steps` gateways one after another, with flows from step i back to step j."""
    ns = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    gateways = "".join(f'<bpmn:exclusiveGateway id="g{i}" name="Langkah {i}"/>' for i in range(steps))
    flows = [(i, i + 1) for i in range(steps - 1)] + list(back.items())
    lines = "".join(
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="g{a}" targetRef="g{b}"/>' for n, (a, b) in enumerate(flows)
    )
    return etree.fromstring(
        f'<bpmn:definitions {ns}><bpmn:process id="p">{gateways}{lines}</bpmn:process></bpmn:definitions>'
    )


def test_loops_of_automatic_steps_are_found_in_time_linear_in_the_diagram():
    """Each step once: asking every step what it reaches took two minutes for 20,000 steps."""
    found = lint.loop_problems(_chain(20_000, {19_999: 19_990, 15: 15, 12: 3}))
    assert [p.element for p in found] == ["g10", "g15", "g19990"]  # a step that leads to itself is a loop too
    assert "(«Langkah 10», «Langkah 11», «Langkah 12», «Langkah 3», «Langkah 4»)" in found[0].message
    assert lint.loop_problems(_chain(20_000, {})) == []


def test_a_service_task_turned_into_a_script_task_with_no_script_is_a_warning_on_it():
    xml = Path(DEFAULT).read_text(encoding="utf-8")
    start = xml.index('<bpmn:serviceTask id="pemeriksaan_otomatis"')
    end = xml.index("</bpmn:serviceTask>", start) + len("</bpmn:serviceTask>")
    emptied = xml[:start] + '<bpmn:scriptTask id="pemeriksaan_otomatis" name="Pemeriksaan otomatis" />' + xml[end:]
    found = lint.empty_script_problems(etree.fromstring(emptied.encode()))
    assert [(p.element, p.severity) for p in found] == [("pemeriksaan_otomatis", "warning")]
    assert lint.empty_script_problems(etree.fromstring(xml.encode())) == []


def test_a_name_too_long_or_with_control_characters_is_an_error_on_its_element():
    """A step's name heads inbox rows and e-mail subjects: a line break is a label's own, a C1 control or a
    direction override is not, and 300 characters overflow the columns that keep it."""
    tasks = _tasks("putaran &lt; 3", "jumlah = 1", '"2026-12-31T17:00:00+08:00"', "1", "False")
    fine = tasks.replace('name="Hitung"', 'name="Hitung&#13;&#10;ulang"')
    assert lint.name_problems(_diagram(fine)) == []
    for name, words in (("A" * 300, "300 karakter; paling banyak 120"), ("Hitung&#x202E;ulang", "karakter kendali")):
        found = lint.name_problems(_diagram(tasks.replace('name="Hitung"', f'name="{name}"')))
        assert [(p.element, p.severity) for p in found] == [("skrip", lint.ERROR)] and words in found[0].message
