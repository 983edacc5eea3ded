"""The pages around the exchange: the admin's tokens, Dukcapil and DTSEN beside each person on the
task page and the record page, the desa's DTSEN information."""

from __future__ import annotations

from sqlalchemy import select

from engine.verification import dtsen, nik_matching
from models import AgencyToken, NikCheck, NikStatus, SubmissionItem
from tests.factories import DESA, SYSTEM, person_row


def test_an_admin_makes_a_token_sees_it_once_and_revokes_it(db, people, signed_in, api):
    admin = signed_in("admin.prov")
    form = {"instansi": "Dinkes", "wilayah": "65.01", "sumber_daya": ["agregat", "status"], "batas_laju": "60/menit"}
    made = admin.post("/admin/token", form, token_from="/admin/token")
    with db.read() as s:  # the unit written in Indonesian, stored as the limiter reads it
        assert s.scalar(select(AgencyToken.rate_limit)) == "60/minute"
    page = made.get_data(as_text=True)
    assert made.status_code == 201 and "tidak akan ditampilkan lagi" in page
    secret = page.split('id="rahasia-token">')[1].split("<")[0]
    assert api("GET", "/api/v1/aggregates", secret).status_code == 200
    listing = admin.get("/admin/token").get_data(as_text=True)
    assert secret not in listing and "Dinkes" in listing
    with db.read() as s:
        token_id = s.scalar(select(AgencyToken.id))
    admin.post(f"/admin/token/{token_id}/cabut", {"alasan": "sistem diganti"}, token_from="/admin/token")
    assert api("GET", "/api/v1/aggregates", secret).status_code == 401
    row = admin.get("/admin/token").get_data(as_text=True).split("Dinkes")[1].split("</tr>")[0]
    assert "<td>admin.prov</td>" in row and "oleh admin.prov" in row  # whom to ask once the issuer has left
    wrong = admin.post("/admin/token", {"instansi": "", "wilayah": "99"}, token_from="/admin/token")
    assert wrong.status_code == 400 and "Token belum dapat dibuat" in wrong.get_data(as_text=True)
    pointless = admin.post("/admin/token", {**form, "tulis": "1", "nik_lengkap": "1"}, token_from="/admin/token")
    said = pointless.get_data(as_text=True)  # rights that reach none of the chosen resources
    assert pointless.status_code == 400 and "bersama sumber daya catatan" in said and "angka-instansi atau" in said
    mute = admin.post("/admin/token", {**form, "sumber_daya": ["agregat", "pengajuan"]}, token_from="/admin/token")
    said = mute.get_data(as_text=True)  # a resource only ever sent to, without the right to send
    assert mute.status_code == 400 and "hanya dapat dikirim: centang hak mengirim" in said
    rights = {"sumber_daya": ["catatan", "angka-instansi"], "tulis": "1", "nik_lengkap": "1"}
    outside = {**form, **rights, "wilayah": "64.01"}  # another province's region
    refused = admin.post("/admin/token", outside, token_from="/admin/token")
    text = refused.get_data(as_text=True)  # the form again, every choice kept, and why
    assert refused.status_code == 400 and "di luar wilayah yang Anda kelola" in text
    assert 'name="tulis" value="1" checked' in text and 'name="nik_lengkap" value="1" checked' in text


def test_only_admins_open_the_token_page(db, people, signed_in):
    assert signed_in("verif.kab").get("/admin/token").status_code == 403


def test_the_task_page_shows_dukcapil_and_dtsen_beside_each_item(world, db, signed_in):
    with db.read() as s:
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.nik == person_row(8)["nik"]))
    subject = nik_matching.Subject(None, item.id, item.nik, DESA, item.kategori, dict(item.data), item.submission_id)
    person = nik_matching.Person(item.nik, "Nama Lain", item.data["tanggal_lahir"], "P", item.data["no_kk"], DESA)
    with db.transaction() as s:
        nik_matching.record_answers(s, [(subject, person)])
        rows = [{"nik": item.nik, "no_kk": "", "desil": "3", "program": "PKH|BPNT"}]
        dtsen.import_extract(s, SYSTEM, rows, "65")
    page = signed_in("verif.kab").get(f"/tugas/{world.kab_task}").get_data(as_text=True)
    assert "Dukcapil: tidak padan (Nama)" in page and "DTSEN desil 3" in page and "PKH, BPNT" in page
    assert "Dukcapil: tidak padan pada nama" in page  # the flag, to acknowledge before approval
    with db.read() as s:
        assert s.scalar(select(NikCheck.status)) == NikStatus.TIDAK_PADAN


def test_the_record_page_shows_the_records_registers(world, db, signed_in):
    page = signed_in("auditor.prov").get(f"/audit/catatan/{world.record}").get_data(as_text=True)
    assert "Dukcapil: belum diperiksa" in page and "tidak ada di DTSEN" in page


def test_the_desa_sees_its_poorest_residents_not_yet_registered(world, db, signed_in):
    with db.transaction() as s:
        rows = [{"nik": "6501010101900009", "no_kk": "", "desil": "1", "program": "BPNT", "kode_wilayah": DESA}]
        dtsen.import_extract(s, SYSTEM, rows, "65")
    page = signed_in("op.desa").get(f"/desa/pengajuan/{world.draft}").get_data(as_text=True)
    assert "Informasi DTSEN" in page and "6501010101900009" in page
