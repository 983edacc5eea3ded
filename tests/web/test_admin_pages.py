"""Administrators: deploying from the editor, comparing versions, managing people."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR
from engine.people import users
from models import AgencyToken, AuditEvent, ProcessDefinition, RoleAssignment, User

XML = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()


def _deploy(browser, xml, **sent):
    token = browser.token("/admin/definisi/1/ubah")
    return browser.client.post(
        "/admin/definisi/pasang",
        json={"xml": xml, **sent},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def _versions(db):
    with db.read() as s:
        return s.scalar(  # of the tiered verification; init deploys the annual reconciliation too
            select(func.count())
            .select_from(ProcessDefinition)
            .where(ProcessDefinition.process_key == "verifikasi_berjenjang")
        )


def test_the_editor_page_carries_the_modeler_and_the_deploy_endpoint(browser, people):
    browser.login("admin.prov")
    page = browser.get("/admin/definisi/1/ubah").get_data(as_text=True)
    assert 'id="bpmn-editor"' in page and 'data-deploy-url="/admin/definisi/pasang"' in page
    assert "bpmn-modeler.production.min.js" in page
    assert browser.get("/admin/definisi/1/xml").get_data(as_text=True).startswith("<?xml")


def test_a_refused_deploy_names_elements_and_changes_nothing(browser, db, people):
    browser.login("admin.prov")
    bad = XML.replace("sla_durasi</bpmn:timeDuration>", "__import__('os')</bpmn:timeDuration>", 1)
    refused = _deploy(browser, bad)
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["ok"] is False and body["problems"][0]["element"] == "sla_kecamatan"
    assert _versions(db) == 1


def test_a_changed_diagram_becomes_a_new_version_and_unchanged_is_not(browser, db, people):
    browser.login("admin.prov")
    changed = XML.replace("sla_durasi</bpmn:timeDuration>", '"P7D"</bpmn:timeDuration>', 1)
    first = _deploy(browser, changed).get_json()
    assert first["ok"] and first["created"] and first["version"] == 2
    again = _deploy(browser, changed).get_json()
    assert again["ok"] and not again["created"] and _versions(db) == 2
    listing = browser.get("/admin/").get_data(as_text=True)
    assert "Ubah di editor" in listing


def test_two_admins_editing_the_same_version_the_second_is_asked_before_undoing_the_first(browser, db, people):
    browser.login("admin.prov")
    page = browser.get("/admin/definisi/1/ubah").get_data(as_text=True)
    assert 'data-base-version="1"' in page  # both editors opened version 1
    first = XML.replace('name="Validasi provinsi"', 'name="Validasi provinsi (Dinsos)"', 1)
    assert _deploy(browser, first, base=1).get_json()["version"] == 2
    second = XML.replace('name="Verifikasi kecamatan"', 'name="Verifikasi TKSK"', 1)
    held = _deploy(browser, second, base=1)
    body = held.get_json()
    assert held.status_code == 409 and body["confirm"] is True and _versions(db) == 2
    assert "diubah dari versi 1" in body["problems"][0]["message"] and "versi 2" in body["problems"][0]["message"]
    assert "0 kesalahan, 1 peringatan" in body["message"]  # the count says the warning it lists
    assert _deploy(browser, second, base=1, confirm=True).get_json()["version"] == 3  # the admin meant it
    assert _deploy(browser, first.replace("Dinsos", "Dinas Sosial"), base=3).get_json()["version"] == 4
    # a stale tab of version 1 saved unchanged would make version 1 current again: asked too
    stale = _deploy(browser, XML, base=1)
    assert stale.status_code == 409 and stale.get_json()["confirm"] is True
    with db.read() as s:
        current = s.scalar(
            select(ProcessDefinition.version).where(
                ProcessDefinition.is_current, ProcessDefinition.process_key == "verifikasi_berjenjang"
            )
        )
    assert current == 4


def test_the_editor_of_one_process_cannot_replace_another(browser, db, people):
    browser.login("admin.prov")
    assert 'data-process-key="verifikasi_berjenjang"' in browser.get("/admin/definisi/1/ubah").get_data(as_text=True)
    renamed = XML.replace('id="verifikasi_berjenjang"', 'id="rekonsiliasi_tahunan"').replace(
        'processRef="verifikasi_berjenjang"', 'processRef="rekonsiliasi_tahunan"'
    )
    refused = _deploy(browser, renamed, base=1, process="verifikasi_berjenjang")
    body = refused.get_json()
    assert refused.status_code == 400 and "bukan verifikasi_berjenjang" in body["message"], body
    with db.read() as s:
        versions = s.scalar(select(func.count()).where(ProcessDefinition.process_key == "rekonsiliasi_tahunan"))
    assert versions == 1  # the reconciliation's own, deployed at start, and nothing else


def test_the_comparison_offers_at_first_the_latest_version_and_the_one_before_it(browser, db, people):
    browser.login("admin.prov")
    new_id = _deploy(browser, XML.replace('name="Verifikasi kecamatan"', 'name="Verifikasi TKSK"', 1)).get_json()
    listing = browser.get("/admin/").get_data(as_text=True)
    assert '<option value="1" selected>verifikasi_berjenjang v1</option>' in listing
    assert f'<option value="{new_id["definition_id"]}" selected>verifikasi_berjenjang v2</option>' in listing
    assert "Jadikan versi" not in listing or 'aria-label="Jadikan' not in listing  # the button's name is its text


def test_deploy_needs_the_csrf_header(browser, db, people):
    browser.login("admin.prov")
    refused = browser.client.post("/admin/definisi/pasang", json={"xml": XML}, headers={"Accept": "application/json"})
    assert refused.status_code == 400 and _versions(db) == 1


def test_a_body_nested_beyond_the_stack_or_an_expression_too_deep_to_parse_is_a_clear_400(browser, db, people):
    browser.login("admin.prov")
    token = browser.token("/admin/definisi/1/ubah")
    nested = browser.client.post(
        "/admin/definisi/pasang",
        data="[" * 200_000,
        content_type="application/json",
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert nested.status_code == 400 and nested.get_json()["message"] == "Tidak ada XML BPMN yang dikirim"
    start = XML.index("<bpmn:conditionExpression")
    start, end = XML.index(">", start) + 1, XML.index("</bpmn:conditionExpression>", start)
    deep = XML[:start] + "1" + "+1" * 100_000 + XML[end:]  # 200 KB of a 2 MB diagram: the parser's stack ran out
    refused = _deploy(browser, deep)
    said = [p["message"] for p in refused.get_json()["problems"]]
    assert refused.status_code == 400 and any("terlalu panjang atau terlalu bersarang" in m for m in said), said
    assert _versions(db) == 1


def test_comparing_two_versions_marks_changed_elements(browser, db, people):
    browser.login("admin.prov")
    new_id = _deploy(browser, XML.replace('name="Verifikasi kecamatan"', 'name="Verifikasi TKSK"', 1)).get_json()
    page = browser.get(f"/admin/definisi/banding?kiri=1&kanan={new_id['definition_id']}").get_data(as_text=True)
    assert """data-changed='["verifikasi_kecamatan"]'""" in page and "TKSK" in page
    with db.read() as s:
        other = s.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_key != "verifikasi_berjenjang"))
    refused = browser.get(f"/admin/definisi/banding?kiri=1&kanan={other}")
    text = refused.get_data(as_text=True)  # two different processes: said, not listed as all new
    assert refused.status_code == 400 and "harus dari proses yang sama" in text and "data-changed" not in text
    typed = browser.get("/admin/definisi/banding?kiri=abc&kanan=1")
    assert typed.status_code == 400 and "Versi kiri" in typed.get_data(as_text=True)  # the field's name, not kiri


def test_managing_people_and_their_roles(browser, db, people):
    browser.login("admin.prov")
    token_page = "/admin/pengguna"
    created = browser.post(
        "/admin/pengguna",
        {
            "username": "tksk.peso",
            "nama": "Yohanes",
            "email": "",
            "password": "sandi-awal-123",
            "role": "verifier",
            "region": "65.01.01",
        },
        token_from=token_page,
    )
    assert created.status_code == 302
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == "tksk.peso"))
        assert [(a.role.value, a.region_kode) for a in user.roles] == [("verifier", "65.01.01")]
    wrong = browser.post(
        "/admin/pengguna",
        {"username": "x.y.z", "password": "sandi-awal-123", "role": "operator", "region": "65.01"},
        token_from=token_page,
    )
    assert wrong.status_code == 400 and "tidak dapat diberikan di tingkat" in wrong.get_data(as_text=True)
    browser.post(
        f"/admin/pengguna/{user.id}/peran", {"role": "auditor", "region": "65"}, token_from=f"/admin/pengguna/{user.id}"
    )
    with db.read() as s:
        roles = s.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id)).all()
    assert {a.role.value for a in roles} == {"verifier", "auditor"}
    again = browser.post(
        f"/admin/pengguna/{user.id}/peran",
        {"role": "auditor", "region": "65"},
        token_from=f"/admin/pengguna/{user.id}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "sudah memegang peran itu" in again and "Peran ditambahkan" not in again
    auditor = next(a for a in roles if a.role.value == "auditor")
    browser.post(f"/admin/pengguna/{user.id}/peran/{auditor.id}/hapus", token_from=f"/admin/pengguna/{user.id}")
    browser.post(f"/admin/pengguna/{user.id}/aktif", {"aktif": "0"}, token_from=f"/admin/pengguna/{user.id}")
    with db.read() as s:
        user = s.get(User, user.id)
        assert not user.aktif and [a.role.value for a in user.roles] == ["verifier"]


def test_a_person_s_page_shows_the_account_s_history_and_last_sign_in(browser, db, people):
    browser.login("verif.kec")  # signs in: kept apart from the changes
    browser.login("admin.prov")
    with db.read() as s:
        person = s.scalar(select(User).where(User.username == "verif.kec"))
    page = f"/admin/pengguna/{person.id}"
    browser.post(f"{page}/peran", {"role": "auditor", "region": "65.01"}, token_from=page)
    browser.post(f"{page}/surel", {"email": "verif.kec@example.go.id"}, token_from=page)
    browser.post(f"{page}/buka-kunci", token_from=page)
    text = browser.get(page).get_data(as_text=True)
    assert "Terakhir masuk:" in text and "127.0.0.1" in text.split('id="terakhir-masuk"')[1].split("</p>")[0]
    history = text.split('id="riwayat-akun"')[1].split("</table>")[0]
    assert history.index("alamat surel diubah") < history.index("peran diberikan")  # newest first
    assert "attempts_cleared" in history.split("alamat surel diubah")[0]  # the unlock, by its username
    assert "admin.prov" in history and "<td>masuk</td>" not in history


def test_creating_a_person_with_a_taken_username_changes_nothing_of_theirs(browser, db, people):
    browser.login("admin.prov")
    with db.read() as s:
        before = s.scalar(select(User).where(User.username == "op.desa"))
        held = (before.password_hash, before.email, [(a.role.value, a.region_kode) for a in before.roles])
    taken = {"username": "op.desa", "nama": "", "email": "", "password": "sandi-baru-123", "role": "verifier"}
    refused = browser.post("/admin/pengguna", {**taken, "region": "65.01"}, token_from="/admin/pengguna")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "sudah dipakai" in page and 'value="op.desa"' in page
    assert "Nama pengguna: op.desa sudah dipakai" in page and "kolom username" not in page  # the field as labelled
    assert 'id="e-username"' in page  # and marked on the field itself
    with db.read() as s:
        after = s.scalar(select(User).where(User.username == "op.desa"))
        assert (after.password_hash, after.email, [(a.role.value, a.region_kode) for a in after.roles]) == held
    signed = browser.login("op.desa")  # the old password still signs in
    assert signed.status_code == 302 and "/masuk" not in signed.headers["Location"]


def test_every_fault_of_a_new_person_is_said_on_its_field_at_once(browser, db, people):
    browser.login("admin.prov")
    wrong = {"username": "A", "email": "bukan-surel", "password": "pendek", "role": "verifier", "region": ""}
    refused = browser.post("/admin/pengguna", wrong, token_from="/admin/pengguna")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert all(f'id="e-{name}"' in page for name in ("username", "email", "password", "region")), page
    assert "verifikator" in page and ">verifier<" not in page  # roles by name, not by code


def test_an_admin_sets_a_person_s_e_mail_and_the_person_is_told_when_there_is_none(browser, db, people):
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == "verif.kab"))
    browser.login("admin.prov")
    page = f"/admin/pengguna/{user.id}"
    wrong = browser.post(f"{page}/surel", {"email": "bukan surel"}, token_from=page)
    assert wrong.status_code == 400 and "Bukan alamat surel" in wrong.get_data(as_text=True)
    assert browser.post(f"{page}/surel", {"email": "tksk@bulungan.go.id"}, token_from=page).status_code == 302
    with db.read() as s:
        assert s.get(User, user.id).email == "tksk@bulungan.go.id"
        changed = s.scalar(select(AuditEvent).where(AuditEvent.action == "USER_EMAIL_SET"))
        assert changed.after == {"email": "tksk@bulungan.go.id", "address": "127.0.0.1"}  # and where it was set from
    browser.login("verif.kec")  # no address: the preferences page says why no e-mail comes
    assert "belum punya alamat surel" in browser.get("/notifikasi/preferensi").get_data(as_text=True)


def test_an_admin_gives_roles_only_within_their_region(browser, db, people):
    browser.login("admin.prov")
    outside = {"username": "kaltim.satu", "password": "sandi-awal-123", "role": "verifier", "region": "64.01"}
    refused = browser.post("/admin/pengguna", outside, token_from="/admin/pengguna")
    assert refused.status_code == 400 and "di luar wilayah" in refused.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(User).where(User.username == "kaltim.satu")) is None
        me = s.scalar(select(User).where(User.username == "verif.kec"))
    again = browser.post(
        f"/admin/pengguna/{me.id}/peran", {"role": "auditor", "region": "64.01"}, token_from=f"/admin/pengguna/{me.id}"
    )
    page = again.get_data(as_text=True)  # the person's page again, the choice kept, and why
    assert again.status_code == 400 and "di luar wilayah" in page
    assert 'value="auditor" selected' in page and 'value="64.01"' in page
    with db.read() as s:
        assert "64.01" not in [a.region_kode for a in s.get(User, me.id).roles]


def test_an_admin_cannot_lock_themself_out(browser, db, people):
    browser.login("admin.prov")
    with db.read() as s:
        me = s.scalar(select(User).where(User.username == "admin.prov"))
    refused = browser.post(f"/admin/pengguna/{me.id}/aktif", {"aktif": "0"}, token_from=f"/admin/pengguna/{me.id}")
    page = refused.get_data(as_text=True)  # a rule, not a change someone else made first
    assert refused.status_code == 403 and "Tidak diizinkan" in page and "Sudah berubah" not in page


def test_region_search_by_name_or_code(browser, people):
    browser.login("admin.prov")
    by_name = browser.get("/admin/wilayah?q=tanjung palas").get_json()["regions"]
    assert any(r["kode"] == "65.01.01" for r in by_name)
    by_code = browser.get("/admin/wilayah?q=65.01.01.20").get_json()["regions"]
    assert by_code and all(r["kode"].startswith("65.01.01.20") for r in by_code)
    assert browser.get("/admin/wilayah?q=11.01").get_json()["regions"] == []  # outside the province
    fragment = browser.get("/admin/wilayah?q=tanjung", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'class="link region-pick"' in fragment


def test_an_admin_of_a_regency_manages_its_people_only_and_not_the_provinces_process(
    browser, db, people, password_hash
):
    """A regency's admin sees and changes the people whose roles lie in the regency; the province's
    people, another regency's, and what applies to the whole province (the process, the cycles'
    rhythm, the job history) are the province admin's."""
    with db.transaction() as s:
        users.add_user(s, Actor.system("test"), "admin.kab.lain", "admin", "65.02").password_hash = password_hash
        ids = {u.username: u.id for u in s.scalars(select(User))}
        theirs = s.scalar(select(RoleAssignment.id).where(RoleAssignment.user_id == ids["verif.kec"]))
    browser.login("admin.kab.lain")
    listed = browser.get("/admin/pengguna").get_data(as_text=True)
    assert "verif.kab.lain" in listed and "verif.kec" not in listed.replace("verif.kec.lain", "")
    for name in ("verif.kec", "admin.prov"):
        page = f"/admin/pengguna/{ids[name]}"
        assert browser.get(page).status_code == 404
        token = browser.token("/admin/pengguna")
        assert browser.client.post(f"{page}/aktif", data={"aktif": "0", "csrf_token": token}).status_code == 404
        assert browser.client.post(f"{page}/surel", data={"email": "x@y.id", "csrf_token": token}).status_code == 404
    token = browser.token("/admin/pengguna")
    removing = f"/admin/pengguna/{ids['verif.kec']}/peran/{theirs}/hapus"
    assert browser.client.post(removing, data={"csrf_token": token}).status_code == 404
    mine = f"/admin/pengguna/{ids['verif.kab.lain']}"
    assert browser.post(f"{mine}/surel", {"email": "kab@malinau.go.id"}, token_from=mine).status_code == 302
    assert browser.post(f"{mine}/aktif", {"aktif": "0"}, token_from=mine).status_code == 302
    assert _deploy(browser, XML.replace("P14D", "P10D")).status_code == 403
    assert browser.post("/admin/definisi/1/aktifkan", {}, token_from="/admin/pengguna").status_code == 403
    assert browser.get("/admin/jadwal").status_code == 403
    assert "/admin/jadwal" not in listed  # nor is it offered in the menu
    with db.read() as s:
        assert s.get(User, ids["admin.prov"]).aktif and s.get(User, ids["verif.kec"]).email is None
        assert s.get(RoleAssignment, theirs) is not None
        assert s.get(User, ids["verif.kab.lain"]).aktif is False
    assert _versions(db) == 1
    # nor may it reach full NIKs: by giving itself an auditor's or an operator's role, or by a token
    me = f"/admin/pengguna/{ids['admin.kab.lain']}"
    for role, region in (("auditor", "65.02"), ("operator", "65.02.01.2005")):
        given = browser.post(f"{me}/peran", {"role": role, "region": region}, token_from=me)
        assert given.status_code == 403, role
    form = {
        "instansi": "DP3AP2KB",
        "wilayah": "65.02",
        "sumber_daya": "catatan",
        "hari": "30",
        "batas_laju": "60/minute",
    }
    full = browser.post("/admin/token", {**form, "nik_lengkap": "1"}, token_from="/admin/token")
    assert full.status_code == 403
    with db.read() as s:
        assert {a.role.value for a in s.get(User, ids["admin.kab.lain"]).roles} == {"admin"}
        assert s.scalar(select(func.count()).select_from(AgencyToken)) == 0
    masked = browser.post("/admin/token", form, token_from="/admin/token")
    assert masked.status_code == 201  # a token with NIKs masked is the regency's own to give


def test_what_an_admin_creates_and_deploys_is_on_the_trail_whole(browser, db, people):
    """A person created with a name and an address, and a version deployed over the current one: the
    trail keeps the name, the address and which version was replaced."""
    browser.login("admin.prov")
    made = {
        "username": "tksk.baru",
        "nama": "Rina Tksk",
        "email": "rina@bulungan.go.id",
        "password": "sandi-awal-123",
        "role": "operator",
        "region": "65.01.01.2005",
    }
    assert browser.post("/admin/pengguna", made, token_from="/admin/pengguna").status_code == 302
    changed = XML.replace("sla_durasi</bpmn:timeDuration>", '"P7D"</bpmn:timeDuration>', 1)
    assert _deploy(browser, changed).get_json()["created"]
    with db.read() as s:
        trail = {e.action: e for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))}
    assert trail["USER_CREATED"].after == {"username": "tksk.baru", "nama": "Rina Tksk", "address": "127.0.0.1"}
    assert trail["USER_EMAIL_SET"].after == {"email": "rina@bulungan.go.id", "address": "127.0.0.1"}
    assert trail["DEFINITION_DEPLOYED"].before == {"version": 1} and trail["DEFINITION_DEPLOYED"].after["version"] == 2
