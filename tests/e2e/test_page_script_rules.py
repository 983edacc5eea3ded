"""What the pages' own scripts promise the people using them: a question answered "no" sends nothing; an upload
on its way says so and goes once; the offline message goes when the line is back; typing kept over an ended
session goes back to its own operator only, and signing out forgets it; a verdict not saved says why; the
keys move between the items both ways; the diagrams mark the step a task is at and what changed between two
versions; an administrator's edits warn before they are left unsaved, deploy again from the same editor and
keep a typed duration, and say in the page's language why a diagram did not load; the trend shows the
figures last asked for; a region found by name fills the role form; the year-on-year chart puts each year's
figures under its own year; and the API documentation lists the operations."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Route, expect
from sqlalchemy import select

from engine.people import users
from engine.verification import processes
from models import ProcessDefinition, Submission
from tests.e2e.conftest import follow, shows
from tests.e2e.test_operator_on_weak_phone import _typed_entry
from tests.e2e.test_process_versions import _definition_id
from tests.e2e.test_quality_dashboard import _history_flagged
from tests.factories import (
    DESA,
    PASSWORD,
    RECONCILIATION_YEAR,
    SYSTEM,
    actor,
    csv_of,
    decide,
    open_period,
    open_task,
    open_with_items,
    person_row,
    reconciliation_year,
    submit,
)

FOCUSED_CARD = "() => document.activeElement && document.activeElement.id"
KEPT = "() => Object.keys(sessionStorage).filter(k => k.startsWith('sijosku:tugas:')).length"


def _posts(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def _task_at_kecamatan(db, sign_in, phone: bool = False):
    sid = open_with_items(db, rows=[person_row(1), person_row(2), person_row(3)])
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    verifier = sign_in("verif.kec", PASSWORD, phone=phone)
    return task, verifier, verifier.go(f"/tugas/{task.id}?tampil=semua")


# ---- questions, uploads and signing out (every page) ----------------------------------------------


def test_a_submission_is_not_sent_when_the_operator_answers_no_to_the_question(db, people, sign_in):
    sid = open_with_items(db)
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}")
    page.evaluate("() => { window.asked = []; window.confirm = q => { window.asked.push(q); return false; }; }")
    sent = _posts(page)
    page.get_by_role("button", name="Ajukan untuk verifikasi").click()
    page.wait_for_timeout(500)
    assert "Ajukan data periode" in page.evaluate("() => window.asked.join(' ')")
    assert sent == []
    with db.read() as s:
        assert s.get(Submission, sid).status.value == "draf"


def test_an_upload_on_its_way_says_so_and_a_later_tap_sends_nothing(db, people, sign_in, tmp_path):
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    operator.page.clock.install()  # minutes of a slow upload pass in the test's own time
    page = operator.go(f"/desa/pengajuan/{sid}/impor")
    upload = tmp_path / "baru.csv"
    upload.write_text(csv_of([person_row(7)]))
    page.get_by_label("Berkas (.xlsx atau .csv", exact=False).set_input_files(str(upload))
    # the upload's answer would come back fast here; on a village's line it takes minutes: the sending
    # is counted where the browser would start it, and held there while the operator looks and taps again
    tap = """() => {
          document.querySelector("form[enctype='multipart/form-data'] button[type=submit]").click();
          return window.sent;
        }"""
    page.evaluate(
        """() => {
          window.sent = [];
          window.addEventListener("submit", e => { window.sent.push(!e.defaultPrevented); e.preventDefault(); });
        }"""
    )
    page.evaluate(tap)
    assert page.evaluate(tap) == [True, False]
    said = page.locator(".upload-state")
    expect(said).to_have_text("Mengunggah… biarkan halaman ini terbuka sampai selesai.")
    expect(said).to_have_attribute("role", "status")
    page.clock.run_for(60_000)  # a minute later the upload is still on its way
    assert page.evaluate(tap) == [True, False, False]


def test_signing_out_forgets_the_reason_being_typed_on_a_task(db, people, sign_in):
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    page.locator("#alasan").fill("Berita acara belum ditandatangani kepala desa")
    assert page.evaluate(KEPT) == 1
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    follow(page, page.get_by_role("button", name="Keluar"))
    assert page.evaluate(KEPT) == 0


def test_the_offline_message_goes_once_the_line_is_back(db, people, sign_in):
    sid, operator, page, row = _typed_entry(db, sign_in)
    operator.context.set_offline(True)
    page.get_by_role("button", name="Simpan").click()
    said = page.locator(".offline-state")
    expect(said).to_be_visible()
    operator.context.set_offline(False)
    expect(said).to_have_count(0)
    assert page.get_by_label("NIK").input_value() == row["nik"]


def test_an_entry_kept_across_an_ended_session_is_given_back_to_its_operator_only(db, people, password_hash, sign_in):
    """Two operators share the desa's phone: what one typed before her session ended is not put in
    front of the other."""
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa.dua", "operator", DESA).password_hash = password_hash
    sid, operator, page, row = _typed_entry(db, sign_in)
    form_address = page.url
    page.wait_for_load_state("networkidle")
    operator.context.clear_cookies()  # the session ended while she was typing
    follow(page, page.get_by_role("button", name="Simpan"))
    assert "/masuk" in page.url
    page.get_by_label("Nama pengguna").fill("op.desa.dua")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Masuk"))
    assert page.url == form_address
    assert page.get_by_label("NIK").input_value() == ""
    assert page.get_by_label("Nama lengkap").input_value() == ""


def test_the_api_documentation_lists_the_operations(db, people, sign_in):
    page = sign_in("admin.prov", PASSWORD).go("/api/v1/docs")
    expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/aggregates", timeout=20_000)


# ---- the task page's verdicts --------------------------------------------------------------------


def test_a_verdict_that_does_not_reach_the_server_or_is_refused_says_why(db, people, sign_in):
    task, verifier, page = _task_at_kecamatan(db, sign_in, phone=True)
    first = page.locator("li.card[id^=item-]").first.get_attribute("id").split("-")[1]
    state = page.locator(f"#item-{first} .verdict-state")
    page.route("**/putusan*", lambda route: route.abort("internetdisconnected"))
    page.locator(f"label[for=v-{first}-ok]").click()
    expect(state).to_have_text("Belum tersimpan: koneksi terputus.")
    page.unroute("**/putusan*")
    page.route("**/putusan*", lambda route: route.fulfill(status=502, content_type="text/html", body="<p>Bad</p>"))
    page.locator(f"label[for=v-{first}-no]").click()
    page.locator(f"#alasan-{first}").fill("lahir 1951")
    page.locator(f"#alasan-{first}").press("Tab")
    expect(state).to_have_text("Tidak tersimpan: muat ulang halaman. (502)")
    page.unroute("**/putusan*")
    refusal = {"message": "Putusan belum dapat disimpan", "problems": [{"message": "sudah disisihkan"}]}
    page.route("**/putusan*", lambda route: route.fulfill(status=400, json=refusal))
    page.locator(f"label[for=v-{first}-ok]").click()
    expect(state).to_have_text("Tidak tersimpan: Putusan belum dapat disimpan: sudah disisihkan")


def test_j_and_k_move_between_the_items_forward_and_back(db, people, sign_in):
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    ids = [card.get_attribute("id") for card in page.locator("li.card[id^=item-]").all()]
    assert len(ids) >= 3
    for _ in range(3):
        page.keyboard.press("j")
    assert page.evaluate(FOCUSED_CARD) == ids[2]
    page.keyboard.press("k")
    assert page.evaluate(FOCUSED_CARD) == ids[1]
    page.keyboard.press("k")
    page.keyboard.press("k")  # the first stays the first
    assert page.evaluate(FOCUSED_CARD) == ids[0]


def test_the_tasks_diagram_marks_the_step_it_is_at(db, people, sign_in):
    task, verifier, page = _task_at_kecamatan(db, sign_in)
    page.wait_for_selector(".bpmn-viewer[data-state=done]")
    assert page.locator('.djs-element.sj-current[data-element-id="verifikasi_kecamatan"]').count() == 1
    assert page.locator('.djs-element.sj-done[data-element-id="siapkan_pengajuan"]').count() == 1


def test_comparing_two_versions_marks_in_the_diagram_what_was_removed_added_and_changed(db, people, sign_in):
    """Version 2 renames a flow (removed from version 1, added in version 2) and a step's name."""
    first = _definition_id(db, 1)
    with db.read() as s:
        xml = s.get(ProcessDefinition, first).bpmn_xml
    renamed = re.sub(r"\bf_kecamatan_kembali\b", "f_kecamatan_balik", xml)
    renamed = renamed.replace('name="Verifikasi kabupaten/kota"', 'name="Verifikasi kabupaten"')
    with db.transaction() as s:
        processes.deploy(s, actor(db, "admin.prov"), renamed, confirmed=True)
    page = sign_in("admin.prov", PASSWORD).go(f"/admin/definisi/banding?kiri={first}&kanan={_definition_id(db, 2)}")
    page.wait_for_function("() => [...document.querySelectorAll('.bpmn-viewer')].every(v => v.dataset.state == 'done')")
    left, right = page.locator(".bpmn-viewer").nth(0), page.locator(".bpmn-viewer").nth(1)
    assert left.locator('.djs-element.sj-removed[data-element-id="f_kecamatan_kembali"]').count() == 1
    assert right.locator('.djs-element.sj-added[data-element-id="f_kecamatan_balik"]').count() == 1
    for side in (left, right):
        assert side.locator('.djs-element.sj-changed[data-element-id="verifikasi_kabupaten"]').count() == 1
    assert page.locator(".djs-element.sj-added, .djs-element.sj-removed").count() == 2


# ---- the process editor --------------------------------------------------------------------------


def _document(page, element_id: str, text: str, field: str = "documentation") -> None:
    page.evaluate(
        "id => { const m = document.getElementById('bpmn-editor').sjModeler;"
        " m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    box = page.locator(f"#sj-prop-{field}")
    box.fill(text)
    box.press("Tab")


def _deploy(page) -> str:
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector(
        "#bpmn-status[data-state=done], #bpmn-status[data-state=confirm], #bpmn-status[data-state=error]"
    )
    return page.locator("#bpmn-status").get_attribute("data-state") or ""


def test_an_editors_unsaved_changes_warn_before_leaving_and_deploy_again_from_the_same_editor(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go(f"/admin/definisi/{_definition_id(db, 1)}/ubah")
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.type))
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    _document(page, "verifikasi_kecamatan", "Periksa berita acara lebih dulu.")
    assert _deploy(page) == "done", page.locator("#bpmn-status").inner_text()
    _document(page, "verifikasi_kecamatan", "Periksa berita acara dan daftar hadir.")
    # the version just deployed is the one this editor holds: no question about a newer version
    assert _deploy(page) == "done", page.locator("#bpmn-status").inner_text()
    assert "versi 3" in page.locator("#bpmn-status").inner_text().lower()
    with db.read() as s:
        versions = s.scalars(
            select(ProcessDefinition.version).where(ProcessDefinition.process_key == "verifikasi_berjenjang")
        ).all()
    assert sorted(versions) == [1, 2, 3]
    latest = f"/admin/definisi/{_definition_id(db, 3)}/ubah"
    page = admin.go("/admin/")  # everything deployed: leaving asks nothing
    assert asked == []
    page = admin.go(latest)
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    _document(page, "verifikasi_kabupaten", "Belum dipasang.")
    admin.go("/admin/")
    assert asked == ["beforeunload"]
    page = admin.go(latest)
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    _document(page, "verifikasi_kabupaten", "Dipasang.")
    assert _deploy(page) == "done", page.locator("#bpmn-status").inner_text()
    # undone (Ctrl+Z) and edited otherwise: what is shown is not what is deployed
    page.evaluate("() => document.getElementById('bpmn-editor').sjModeler.get('commandStack').undo()")
    _document(page, "validasi_provinsi", "Lain lagi.")
    admin.go("/admin/")
    assert asked == ["beforeunload", "beforeunload"]


def test_an_editor_that_cannot_load_its_diagram_says_why_in_the_pages_language(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go(f"/admin/definisi/{_definition_id(db, 1)}/ubah")
    page.locator("#lang-select").select_option("en")
    page.route("**/xml", lambda route: route.abort("internetdisconnected"))
    follow(page, page.get_by_role("button", name="Ganti bahasa"))
    page.wait_for_selector("#bpmn-editor[data-state=error]")
    expect(page.locator("#bpmn-status")).to_have_text("The diagram cannot be loaded: the server could not be reached")
    page.unroute("**/xml")
    page.route("**/xml", lambda route: route.fulfill(status=503, body="sibuk"))
    page.reload()
    page.wait_for_selector("#bpmn-editor[data-state=error]")
    expect(page.locator("#bpmn-status")).to_have_text("The diagram cannot be loaded: the server answered HTTP 503")


def test_a_deadline_typed_as_a_duration_deploys_as_that_duration(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go(f"/admin/definisi/{_definition_id(db, 1)}/ubah")
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    _document(page, "sla_kecamatan", "p7d", field="timer")
    assert _deploy(page) == "done", page.locator("#bpmn-status").inner_text()
    with db.read() as s:
        assert '"P7D"' in s.get(ProcessDefinition, _definition_id(db, 2)).bpmn_xml
    assert page.locator("#sj-prop-timer").input_value() == "P7D"  # shown without the quotes it is kept in


# ---- the quality dashboard's trend ---------------------------------------------------------------


def test_the_trend_shows_the_figures_last_asked_for_even_when_an_earlier_answer_comes_late(db, people, sign_in):
    _history_flagged(db)
    province = sign_in("valid.prov", PASSWORD)
    page = province.go("/mutu/")
    page.wait_for_selector("#trend[data-state=done], #trend[data-state=error]")
    late: list[Route] = []
    page.route("**/mutu/seri*", lambda route: late.append(route) if "ODHA" in route.request.url else route.continue_())
    page.locator("#trend-wilayah").fill("65.01")
    page.locator("#trend-kategori").fill("ODHA")
    page.get_by_role("button", name="Tampilkan tren").click()
    page.wait_for_function("() => document.getElementById('trend').dataset.state === 'loading'")
    page.locator("#trend-kategori").fill("LUT")
    page.get_by_role("button", name="Tampilkan tren").click()
    page.wait_for_selector("#trend[data-state=done]")
    expect(page.locator("#trend-note")).to_contain_text("LUT")
    late[0].continue_()  # the earlier question's answer arrives now
    page.wait_for_timeout(1000)
    expect(page.locator("#trend-note")).to_contain_text("LUT")
    assert "ODHA" not in page.locator("#trend-table caption").inner_text()
    first = page.locator("#trend-table tbody tr").first  # 2022: the agency had no figure yet
    assert sorted(cell.inner_text() for cell in first.locator("td").all()[:2]) == ["17", "–"]


def test_a_trend_the_server_refuses_says_why(db, people, sign_in):
    province = sign_in("valid.prov", PASSWORD)
    page = province.go("/mutu/")
    page.wait_for_selector("#trend[data-state=done], #trend[data-state=error]")
    page.route(
        "**/mutu/seri*",
        lambda route: route.fulfill(status=400, json={"message": "Kode wilayah tidak dikenal"}),
    )
    page.locator("#trend-wilayah").fill("99.99")
    page.get_by_role("button", name="Tampilkan tren").click()
    page.wait_for_selector("#trend[data-state=error]")
    expect(page.locator("#trend-note")).to_have_text("Kode wilayah tidak dikenal")


# ---- administration and the determination --------------------------------------------------------


def test_a_region_found_by_name_fills_the_role_forms_code(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go("/admin/pengguna")
    page.locator("#f-region-cari").fill("Tanjung Palas")
    pick = page.locator(".region-pick", has_text="65.01.01 ").first
    pick.click()
    assert page.locator("#f-region").input_value() == "65.01.01"
    assert page.evaluate("() => document.activeElement.id") == "f-region"


def test_the_year_on_year_chart_puts_each_years_figures_under_its_year(db, people, password_hash, sign_in):
    from tests.integration.reconciliation_steps import determine

    reconciliation_year(db, password_hash, team=False)
    year = RECONCILIATION_YEAR
    determine(db, year, "SK-1/2027")
    submission = open_period(db, f"{year + 1}-Q1", [person_row(11)])
    submit(db, "op.desa", submission)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, submission, "approve")
    determine(db, year + 1, "SK-2/2028")
    page = sign_in("walidata.prov", PASSWORD).go(f"/penetapan/{year + 1}")
    shows(page, "Dibandingkan dengan tahun lalu")
    chart: dict[str, Any] = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('yoy'));
        return {labels: c.data.labels, sets: c.data.datasets.map(d => [d.label, d.data])};
    }""")
    table = {}
    for row in page.locator("#perbandingan tbody tr").all():
        cells = [cell.inner_text().strip() for cell in row.locator("td").all()]
        table.setdefault(cells[0], {})[cells[1]] = (cells[2], cells[3])
    assert [label for label, _ in chart["sets"]] == [str(year), str(year + 1)]
    lut = chart["labels"].index("LUT")
    before, after = (values[lut] for _, values in chart["sets"])
    assert (str(before), str(after)) == table["65"]["LUT"], table
    assert before != after
