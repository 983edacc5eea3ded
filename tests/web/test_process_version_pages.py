"""The administrator's pages for changing a process while it runs: warnings held for confirmation,
a version made current again, the readable comparison, moving instances, stuck instances."""

from __future__ import annotations

from sqlalchemy import func, select, update

from engine.core import clock
from engine.core.config import DEFAULT_BPMN_DIR
from models import AuditEvent, ProcessDefinition, ProcessInstance
from tests.factories import open_with_items

XML = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()
KEY = "verifikasi_berjenjang"  # init deploys the annual reconciliation too
TEN_DAYS = XML.replace("sla_durasi</bpmn:timeDuration>", '"P10D"</bpmn:timeDuration>', 1)


def _deploy(browser, xml, confirm=False):
    token = browser.token("/admin/definisi/1/ubah")
    return browser.client.post(
        "/admin/definisi/pasang",
        json={"xml": xml, "confirm": confirm},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def _current(db) -> int:
    with db.read() as s:
        return s.scalar(
            select(ProcessDefinition.version).where(
                ProcessDefinition.is_current.is_(True), ProcessDefinition.process_key == KEY
            )
        )


def test_warnings_are_held_until_confirmed_and_shown_per_element(browser, db, people):
    browser.login("admin.prov")
    misspelt = XML.replace('keputusan == "kembalikan"', 'keputusn == "kembalikan"', 1)
    held = _deploy(browser, misspelt)
    assert held.status_code == 409
    body = held.get_json()
    assert body["confirm"] is True and body["problems"][0]["severity"] == "warning"
    assert body["problems"][0]["element"] == "f_kecamatan_kembali" and _current(db) == 1
    done = _deploy(browser, misspelt, confirm=True).get_json()
    assert done["ok"] and done["version"] == 2


def test_an_earlier_version_is_taken_back_from_the_list_and_by_deploying_its_content(browser, db, people):
    browser.login("admin.prov")
    assert _deploy(browser, TEN_DAYS).get_json()["version"] == 2
    listing = browser.get("/admin/").get_data(as_text=True)
    assert "Pakai versi ini lagi" in listing
    with db.read() as s:
        first = s.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.version == 1, ProcessDefinition.process_key == KEY)
        )
    back = browser.post(f"/admin/definisi/{first}/aktifkan", {}, token_from="/admin/", follow_redirects=True)
    assert _current(db) == 1
    said = back.get_data(as_text=True)
    assert "Versi 1 kini dipakai instans baru lagi (sebelumnya versi 2)" in said and "Isi sama" not in said
    again = _deploy(browser, TEN_DAYS).get_json()
    assert again["reactivated"] and "versi 2 kini dipakai instans baru lagi (sebelumnya versi 1)" in again["message"]


def test_the_comparison_speaks_of_steps_and_properties_before_the_folded_xml(browser, db, people):
    browser.login("admin.prov")
    new_id = _deploy(browser, TEN_DAYS).get_json()["definition_id"]
    page = browser.get(f"/admin/definisi/banding?kiri=1&kanan={new_id}").get_data(as_text=True)
    assert "«Batas waktu kecamatan»" in page and "10 hari" in page
    assert page.index('id="perubahan"') < page.index('<details id="xml-diff">')


def test_moving_instances_previews_then_moves_and_stuck_instances_are_listed(browser, db, people):
    open_with_items(db)
    browser.login("admin.prov")
    new_id = _deploy(browser, TEN_DAYS).get_json()["definition_id"]
    page = browser.get(f"/admin/migrasi?kiri=1&kanan={new_id}").get_data(as_text=True)
    assert 'id="peta-siapkan_pengajuan"' in page and "1 instans berjalan pada versi 1" in page
    form = {"dari": "1", "ke": str(new_id), "peta-siapkan_pengajuan": "siapkan_pengajuan"}
    unmapped = browser.post(
        "/admin/migrasi",
        {**form, "peta-siapkan_pengajuan": "", "coba": "1"},
        token_from=f"/admin/migrasi?kiri=1&kanan={new_id}",
    ).get_data(as_text=True)
    assert "0 instans dapat dipindah, 1 ditolak" in unmapped and "tidak ada di versi tujuan" in unmapped
    dry = browser.post("/admin/migrasi", {**form, "coba": "1"}, token_from=f"/admin/migrasi?kiri=1&kanan={new_id}")
    assert "1 instans dapat dipindah, 0 ditolak" in dry.get_data(as_text=True)
    assert "instans dipindah," not in dry.get_data(as_text=True)  # a rehearsal does not say it moved them
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.definition_id)) == 1
    moved = browser.post("/admin/migrasi", {**form, "coba": "0"}, token_from=f"/admin/migrasi?kiri=1&kanan={new_id}")
    assert "1 instans dipindah, 0 ditolak" in moved.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.definition_id)) == new_id
    assert "Tidak ada instans yang macet" in browser.get("/admin/macet").get_data(as_text=True)
    with db.transaction() as s:
        s.execute(update(ProcessInstance).values(failed_at=clock.now(), last_error="layanan mati"))
    stuck = browser.get("/admin/macet").get_data(as_text=True)
    assert "layanan mati" in stuck and "Jalankan lagi" in stuck
    assert f'href="/admin/migrasi?kiri={new_id}"' in stuck, "a stuck instance can be moved from the list"


def test_moving_instances_to_another_process_is_refused_before_anything_moves(browser, db, people):
    open_with_items(db)
    browser.login("admin.prov")
    _deploy(browser, TEN_DAYS)  # verifikasi_berjenjang v2
    reconciliation = (DEFAULT_BPMN_DIR / "rekonsiliasi_tahunan.bpmn").read_text()
    other_id = _deploy(browser, reconciliation.replace('name="Bekukan penetapan"', 'name="Bekukan"', 1)).get_json()
    form = {"dari": "1", "ke": str(other_id["definition_id"]), "coba": "0"}  # rekonsiliasi_tahunan v2
    refused = browser.post("/admin/migrasi", form, token_from="/admin/migrasi")
    assert refused.status_code == 400 and "proses yang sama" in refused.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.definition_id)) == 1
        assert s.scalar(select(func.count()).where(AuditEvent.action == "INSTANCE_MIGRATED")) == 0
