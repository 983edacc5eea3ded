"""What the administrator's pages do around the use cases, each rule with a test that fails without
it: the bounds of what the editor and the migration page send, what each answer says, and where a
page leads back to."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.core.config import DEFAULT_BPMN_DIR
from models import AgencyToken, ProcessDefinition, User

XML = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()
CHANGED = XML.replace('name="Verifikasi kecamatan"', 'name="Verifikasi TKSK"', 1)


def _deploy(browser, xml, **sent):
    token = browser.token("/admin/definisi/1/ubah")
    return browser.client.post(
        "/admin/definisi/pasang",
        json={"xml": xml, **sent},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def _versions(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).where(ProcessDefinition.process_key == "verifikasi_berjenjang"))


def test_a_diagram_over_two_megabytes_is_refused_before_it_is_read(browser, db, people):
    browser.login("admin.prov")
    padded = XML.replace("</bpmn:definitions>", "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>")
    refused = _deploy(browser, padded)
    assert refused.status_code == 400 and refused.get_json()["message"] == "Diagram terlalu besar (paling besar 2 MB)"
    assert _versions(db) == 1


def test_a_base_version_that_is_not_a_number_is_ignored_not_read_as_another_version(browser, db, people):
    """An editor (or a hand-made request) sending "1" as text is not told version "1" was overtaken."""
    browser.login("admin.prov")
    deployed = _deploy(browser, CHANGED, base="1")
    assert deployed.status_code == 200 and deployed.get_json()["version"] == 2


def test_the_process_the_editor_opened_is_named_in_a_refusal_at_most_a_hundred_characters_long(browser, db, people):
    browser.login("admin.prov")
    refused = _deploy(browser, CHANGED, process="p" * 10_000)
    message = refused.get_json()["message"]
    assert refused.status_code == 400 and "p" * 100 in message and "p" * 101 not in message
    assert _versions(db) == 1


def test_an_auditor_comparing_versions_is_led_back_to_the_audit_pages(browser, db, people):
    browser.login("auditor.prov")
    page = browser.get("/admin/definisi/banding").get_data(as_text=True)
    assert '<a href="/audit/">← Audit</a>' in page and '/admin/">' not in page


def test_a_migration_step_map_beyond_its_bound_is_refused_and_moves_nothing(browser, db, people):
    browser.login("admin.prov")
    new_id = _deploy(browser, CHANGED).get_json()["definition_id"]
    form = {
        "dari": "1",
        "ke": str(new_id),
        "coba": "1",
        **{f"peta-langkah{i}": "siapkan_pengajuan" for i in range(2001)},
    }
    refused = browser.post("/admin/migrasi", form, token_from=f"/admin/migrasi?kiri=1&kanan={new_id}")
    assert refused.status_code == 400 and "Peta langkah terlalu besar" in refused.get_data(as_text=True)


def test_removing_an_address_and_deactivating_say_what_was_done(browser, db, people):
    browser.login("admin.prov")
    with db.read() as s:
        user_id = s.scalar(select(User.id).where(User.username == "verif.kec"))
    page = f"/admin/pengguna/{user_id}"
    removed = browser.post(f"{page}/surel", {"email": ""}, token_from=page, follow_redirects=True)
    assert "Alamat surel dihapus; orang ini tidak menerima surel." in removed.get_data(as_text=True)
    stopped = browser.post(f"{page}/aktif", {"aktif": "0"}, token_from=page, follow_redirects=True)
    assert "Pengguna dinonaktifkan." in stopped.get_data(as_text=True)


def test_a_token_given_without_a_rate_is_bounded_to_120_calls_a_minute(browser, db, people):
    browser.login("admin.prov")
    form = {"instansi": "Dinas Kesehatan", "wilayah": "65", "sumber_daya": "agregat", "hari": "30"}
    assert browser.post("/admin/token", form, token_from="/admin/token").status_code == 201
    with db.read() as s:
        assert s.scalar(select(AgencyToken.rate_limit)) == "120/minute"


def test_a_person_s_page_names_the_regions_of_their_roles(browser, db, people):
    browser.login("admin.prov")
    with db.read() as s:
        user_id = s.scalar(select(User.id).where(User.username == "verif.kab"))
    page = browser.get(f"/admin/pengguna/{user_id}").get_data(as_text=True)
    assert "Bulungan (65.01)" in page


def test_the_people_list_turns_its_pages(browser, db, people, monkeypatch):
    from engine.people import administration

    monkeypatch.setattr(administration, "PEOPLE_PAGE", 3)  # the people of the tests fill several pages
    with db.read() as s:
        ids = s.scalars(select(User.id).order_by(User.username)).all()
    browser.login("admin.prov")
    first = browser.get("/admin/pengguna").get_data(as_text=True)
    second = browser.get("/admin/pengguna?halaman=2").get_data(as_text=True)
    assert f'href="/admin/pengguna/{ids[0]}"' in first and f'href="/admin/pengguna/{ids[3]}"' not in first
    assert f'href="/admin/pengguna/{ids[3]}"' in second and f'href="/admin/pengguna/{ids[0]}"' not in second


def test_a_session_from_before_a_deactivation_does_not_come_back_with_the_account(browser, db, people, signed_in):
    """A phone left signed in when its owner was deactivated stays signed out once the account is active again."""
    left = signed_in("verif.kec")
    assert left.get("/tugas/").status_code == 200
    with db.read() as s:
        user_id = s.scalar(select(User.id).where(User.username == "verif.kec"))
    browser.login("admin.prov")
    page = f"/admin/pengguna/{user_id}"
    for aktif in ("0", "1"):
        browser.post(f"{page}/aktif", {"aktif": aktif}, token_from=page)
    assert left.get("/tugas/").status_code == 302  # to the sign-in page
