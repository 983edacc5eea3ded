"""The administrator's, the account's and the cycle's pages as people use them: each form sent as the
browser sends it (the fields the page itself carries, its token among them, and what the person types
beside a field's label), the words typed shown as text, and the rhythm form only for those who set it."""

from __future__ import annotations

from lxml import html as lhtml
from sqlalchemy import select

from engine.core.audit import AuditAction
from models import AgencyToken, AuditEvent, CycleRhythm, User
from tests.factories import PASSWORD
from tests.web.page_forms import form_of, page_of, send_form, text_of

NEW_PASSWORD = "sandi-baru-yang-panjang"


def _user(db, username: str) -> User:
    with db.read() as s:
        return s.scalar(select(User).where(User.username == username))


def _person_page(db, username: str) -> str:
    return f"/admin/pengguna/{_user(db, username).id}"


# --- a person's own account ---------------------------------------------------------------------------


def test_a_person_changes_their_password_through_its_form_and_signs_in_with_the_new_one(signed_in, people):
    operator = signed_in("op.desa")
    typed = {"Kata sandi sekarang": PASSWORD, "Kata sandi baru": NEW_PASSWORD, "Ulangi kata sandi": NEW_PASSWORD}
    changed = send_form(operator, "/akun/sandi", "", typed)
    assert changed.status_code == 302, text_of(changed)
    fresh = signed_in("verif.kec")  # another browser: only the new password opens the account
    assert fresh.login("op.desa", PASSWORD).status_code != 302
    assert fresh.login("op.desa", NEW_PASSWORD).status_code == 302


def test_a_wrong_password_at_sign_in_is_announced_as_an_alert(browser, people):
    refused = send_form(browser, "/masuk", "", {"Nama pengguna": "op.desa", "Kata sandi": "salah-sekali"})
    doc = lhtml.fromstring(text_of(refused))
    alerts = doc.xpath("//form[@id='form-masuk']/preceding-sibling::p[@role='alert']")
    assert alerts and alerts[0].text_content().strip(), text_of(refused)


# --- an administrator on a person's page ----------------------------------------------------------


def test_an_administrator_sets_a_persons_address_and_password_through_the_persons_forms(signed_in, db, people):
    admin = signed_in("admin.prov")
    page = _person_page(db, "op.desa")
    saved = send_form(admin, page, "/surel", {"Alamat surel": "op.desa@contoh.go.id"})
    assert saved.status_code == 302, text_of(saved)
    assert _user(db, "op.desa").email == "op.desa@contoh.go.id"
    reset = send_form(admin, page, "/sandi", {"Kata sandi baru (minimal": NEW_PASSWORD})
    assert reset.status_code == 302, text_of(reset)
    assert _user(db, "op.desa").ganti_sandi
    fresh = signed_in("verif.kec")
    assert fresh.login("op.desa", NEW_PASSWORD).status_code == 302


def test_the_account_buttons_switch_a_person_off_and_back_on(signed_in, db, people):
    admin = signed_in("admin.prov")
    page = _person_page(db, "op.desa")
    assert send_form(admin, page, "/aktif").status_code == 302
    assert not _user(db, "op.desa").aktif
    assert send_form(admin, page, "/aktif").status_code == 302
    assert _user(db, "op.desa").aktif


def test_a_region_refused_for_a_new_account_is_marked_invalid_and_read_with_its_error(signed_in, people):
    admin = signed_in("admin.prov")
    typed = {"Nama pengguna": "petugas.baru", "Kata sandi awal": NEW_PASSWORD, "Kode wilayah": "99.99.99"}
    refused = send_form(admin, "/admin/pengguna", "/admin/pengguna", typed, {"role": "auditor"})
    assert refused.status_code == 400, refused.status_code
    doc = lhtml.fromstring(text_of(refused))
    region = doc.get_element_by_id("f-region")
    assert region.get("aria-invalid") == "true"
    assert region.get("aria-describedby") == "e-region"
    assert doc.get_element_by_id("e-region").text_content().strip()


# --- agency tokens ------------------------------------------------------------------------------------


def test_an_administrator_makes_and_revokes_a_token_through_the_forms_and_the_agency_reads_as_typed(
    signed_in, db, people
):
    admin = signed_in("admin.prov")
    agency = "Dinkes <b>Kaltara</b>"
    typed = {"Instansi": agency, "Wilayah": "65.01"}
    made = send_form(admin, "/admin/token", "/admin/token", typed, {"sumber_daya": "agregat"})
    assert made.status_code == 201, text_of(made)
    listed = text_of(admin.get("/admin/token"))
    assert "Dinkes &lt;b&gt;Kaltara&lt;/b&gt;" in listed and agency not in listed
    with db.read() as s:
        token = s.scalar(select(AgencyToken).where(AgencyToken.instansi == agency))
    revoked = send_form(admin, "/admin/token", f"/token/{token.id}/cabut", {"Alasan pencabutan": "kerja sama selesai"})
    assert revoked.status_code == 302, text_of(revoked)
    with db.read() as s:
        assert s.get(AgencyToken, token.id).revoked_at is not None
        said = s.scalar(select(AuditEvent.reason).where(AuditEvent.action == AuditAction.TOKEN_REVOKED.value))
    assert said == "kerja sama selesai"


# --- notifications ------------------------------------------------------------------------------------


def test_a_box_unticked_on_the_notification_settings_stays_unticked_and_the_others_stay_ticked(signed_in, people):
    operator = signed_in("op.desa")
    path = "/notifikasi/preferensi"
    doc = page_of(operator, path)
    form = form_of(doc, "")
    box = form.xpath(".//input[@id='cycle.opened-app']")[0]
    assert box.get("checked") is not None
    fields = {k: v for k, v in form.form_values() if k != box.get("name")}
    assert operator.client.post(path, data=fields).status_code == 302
    ticked = {b.get("id") for b in form.xpath(".//input[@type='checkbox']") if b.get("checked") is not None}
    boxes = page_of(operator, path).xpath("//input[@type='checkbox']")
    again = {b.get("id") for b in boxes if b.get("checked") is not None}
    assert again == ticked - {"cycle.opened-app"}


# --- the cycle ----------------------------------------------------------------------------------------


def test_only_the_provinces_administrator_is_offered_the_rhythm_form_and_sets_it_through_it(signed_in, db, people):
    assert not page_of(signed_in("verif.kab"), "/siklus/").xpath("//form[contains(@action, '/ritme')]")
    admin = signed_in("admin.prov")
    saved = send_form(admin, "/siklus/", "/ritme", {"Hari pembukaan": "5", "Pengingat": "2"})
    assert saved.status_code == 302, text_of(saved)
    with db.read() as s:
        rhythm = s.scalar(select(CycleRhythm))
    assert (rhythm.hari_buka, rhythm.pengingat_hari) == (5, 2)
