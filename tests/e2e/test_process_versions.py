"""An administrator takes a bad process version back in the browser: the lint marks the elements,
warnings are confirmed, the earlier version is made current again, and the instance started on the
bad version is moved back. The manual is reachable and readable on a phone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from models import ProcessDefinition, ProcessInstance, Submission
from tests.e2e.conftest import follow
from tests.factories import PASSWORD, open_with_items

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}


def _serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the driver: the page's CSP allows no inline script
    found = page.evaluate("async () => (await axe.run()).violations.map(v => [v.id, v.impact, v.nodes.length])")
    return [f"{rule} ({impact}, {count})" for rule, impact, count in found if impact in ("serious", "critical")]


def _set_property(page, element_id: str, field: str, value: str) -> None:
    # a flow lies over its lane, which would take a click: select it as the modeler does
    page.evaluate(
        "id => { const m = document.getElementById('bpmn-editor').sjModeler;"
        " m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    box = page.locator(f"#sj-prop-{field}")
    box.fill(value)
    box.press("Tab")


def _definition_id(db, version: int) -> int:
    """The id of a version of the tiered verification (init deploys the annual reconciliation too)."""
    with db.read() as s:
        return s.scalar(
            select(ProcessDefinition.id).where(
                ProcessDefinition.version == version, ProcessDefinition.process_key == "verifikasi_berjenjang"
            )
        )


def test_an_admin_takes_a_bad_version_back_and_moves_its_instance(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go("/admin/definisi/1/ubah")
    page.wait_for_selector("#bpmn-editor[data-state=ready]")

    # an error: refused, marked on the element
    _set_property(page, "sla_kecamatan", "timer", "14 hari")
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector("#bpmn-status[data-state=error]")
    assert page.locator('.sj-error-badge[data-element="sla_kecamatan"]').count() == 1
    assert "sintaks" not in page.locator("#bpmn-status").inner_text()

    # a warning only: a misspelt name, shown on the flow, deployed once confirmed
    page.once("dialog", lambda dialog: dialog.accept())  # leaving the refused edit behind
    page = admin.go("/admin/definisi/1/ubah")
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    _set_property(page, "f_kecamatan_kembali", "condition", 'keputusn == "kembalikan"')
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector("#bpmn-status[data-state=confirm]")
    assert page.locator('.sj-warning-badge[data-element="f_kecamatan_kembali"]').count() == 1
    assert "1 peringatan" in page.locator("#bpmn-status").inner_text()
    admin.shot("admin-pemeriksaan")
    page.locator("#bpmn-confirm").click()
    page.wait_for_selector("#bpmn-status[data-state=done]")
    assert "Versi 2 dipasang" in page.locator("#bpmn-status").inner_text()

    submission_id = open_with_items(db)  # started on the bad version
    with db.read() as s:
        instance_id = s.get(Submission, submission_id).instance_id
        assert s.get(ProcessInstance, instance_id).definition_id == _definition_id(db, 2)

    # the readable comparison names the step and the property
    page = admin.go(f"/admin/definisi/banding?kiri={_definition_id(db, 1)}&kanan={_definition_id(db, 2)}")
    assert "keputusn" in page.locator("#perubahan").inner_text()
    assert not page.locator("#xml-diff").evaluate("d => d.open")

    # rollback from the list
    page = admin.go("/admin/")
    page.get_by_role("button", name="Pakai versi ini lagi (v1)").click()
    expect(page.locator(".flashes")).to_contain_text("Versi 1 kini dipakai instans baru lagi (sebelumnya versi 2)")

    # the instance goes back to version 1: a dry run first, then for real
    page = admin.go(f"/admin/migrasi?kiri={_definition_id(db, 2)}&kanan={_definition_id(db, 1)}")
    assert page.locator("#peta-siapkan_pengajuan").input_value() == "siapkan_pengajuan"
    page.get_by_role("button", name="Uji coba").click()
    assert (
        "1 instans dapat dipindah, 0 ditolak"
        in page.locator("#hasil").locator("xpath=following-sibling::p").inner_text()
    )
    with db.read() as s:
        assert s.get(ProcessInstance, instance_id).definition_id == _definition_id(db, 2)
    admin.shot("admin-migrasi")
    assert _serious_violations(page) == []
    page.get_by_role("button", name="Pindahkan instans").click()
    expect(page.locator(".flashes")).to_contain_text("1 instans dipindah, 0 ditolak")
    with db.read() as s:
        assert s.get(ProcessInstance, instance_id).definition_id == _definition_id(db, 1)

    page = admin.go("/admin/macet")
    assert "Tidak ada instans yang macet" in page.locator("#instans-macet").inner_text()
    assert _serious_violations(page) == []


def test_the_manual_is_reachable_from_a_page_and_readable_on_a_phone(db, people, chromium, live_server):
    context = chromium.new_context(viewport=PHONE, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/masuk")
    page.get_by_label("Nama pengguna").fill("op.desa")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Masuk"))
    page.goto(f"{live_server}/desa/")
    page.locator("#menu-toggle").click()
    follow(page, page.locator("#bantuan"))
    assert page.url.endswith("/bantuan/operator-desa#pengajuan-desa")
    assert page.locator("#pengajuan-desa").is_visible()
    for slug in ("index", "operator-desa", "kecamatan", "kabupaten", "provinsi", "admin", "auditor"):
        page.goto(f"{live_server}/bantuan/{slug}")
        assert page.locator("h1").count() == 1, slug
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{slug} scrolls sideways on a phone ({width}px)"
    assert _serious_violations(page) == []
    assert not errors, errors
    context.close()


def test_the_editor_speaks_english_and_refuses_a_mistyped_deadline(db, people, sign_in):
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go("/admin/definisi/1/ubah")
    page.locator("#lang-select").select_option("en")
    follow(page, page.get_by_role("button", name="Ganti bahasa"))  # the English page, not the one left
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    expect(page.locator(".sj-props-title")).to_have_text("Properties")
    _set_property(page, "sla_kecamatan", "timer", "P14X")  # a typo of P14D: it was deployed with a warning
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector("#bpmn-status[data-state=error]")
    said = page.locator("#bpmn-status").inner_text()
    assert "Error:" in said and '"P14X" is not an ISO 8601 duration' in said and "Deadline on" in said
    assert page.locator('.sj-error-badge[data-element="sla_kecamatan"]').count() == 1
    with db.read() as s:  # nothing deployed
        assert s.scalar(select(ProcessDefinition.id).where(ProcessDefinition.version == 2)) is None


def test_a_table_wider_than_the_phone_says_it_scrolls(db, people, sign_in):
    phone = sign_in("admin.prov", PASSWORD, phone=True)
    page = phone.go("/admin/")
    expect(page.locator(".scroll-hint").first).to_have_text("Geser tabel ke samping untuk melihat semua kolom →")
    desktop = sign_in("admin.prov", PASSWORD)
    assert desktop.go("/admin/").locator(".scroll-hint").count() == 0  # the table fits: nothing to say


def test_each_default_process_deploys_again_from_the_editor_unchanged(db, people, sign_in):
    """What the editor saves of a stored diagram deploys: a reference the editor cannot resolve (the
    reconciliation's loop over the regencies) was dropped on saving, and the diagram refused."""
    with db.read() as s:
        stored = s.execute(select(ProcessDefinition.id, ProcessDefinition.process_key)).all()
    assert {key for _, key in stored} == {"verifikasi_berjenjang", "rekonsiliasi_tahunan"}
    admin = sign_in("admin.prov", PASSWORD)
    for definition_id, key in stored:
        page = admin.go(f"/admin/definisi/{definition_id}/ubah")
        page.wait_for_selector("#bpmn-editor[data-state=ready]")
        page.locator("#bpmn-deploy").click()
        page.wait_for_selector(
            "#bpmn-status[data-state=done], #bpmn-status[data-state=confirm], #bpmn-status[data-state=error]"
        )
        said = page.locator("#bpmn-status")
        assert said.get_attribute("data-state") != "error", f"{key}: {said.inner_text()}"
