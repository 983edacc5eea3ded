"""The village operator in the browser's place: items, import, minutes, submitting, returns."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import func, select

from models import AuditEvent, ImportJob, SubmissionItem
from tests.factories import csv_of, decide, open_with_items, person_row, submit

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _items(db, submission_id):
    with db.read() as s:
        return s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission_id)
                         .order_by(SubmissionItem.id)).all()


def test_adding_a_person_through_the_category_form(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    form = browser.get(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT").get_data(as_text=True)
    assert "Lanjut Usia Terlantar" in form and "Kriteria" in form and 'for="f-nik"' in form
    row = person_row(3)
    saved = browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", {**row})
    assert saved.status_code == 302
    assert [i.nik for i in _items(db, sid)] == [row["nik"]]


def test_field_errors_appear_at_the_field_and_nothing_is_saved(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/item/baru", {**person_row(3), "nik": "1234", "jenis_kelamin": ""})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="e-nik"' in body and "16 angka" in body and 'id="e-jenis_kelamin"' in body
    assert _items(db, sid) == []


def test_editing_and_dropping_an_item(browser, db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    item = _items(db, sid)[0]
    browser.login("op.desa")
    page = browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True)
    assert person_row(1)["nama"] in page
    edited = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", {**person_row(1), "alamat": "Jl. Baru 9"})
    assert edited.status_code == 302
    assert _items(db, sid)[0].data["alamat"] == "Jl. Baru 9"
    assert browser.post(f"/desa/pengajuan/{sid}/item/{item.id}/hapus").status_code == 302
    assert _items(db, sid) == []


def _upload(browser, sid, name, content):
    return browser.post(f"/desa/pengajuan/{sid}/impor", {"berkas": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")


def test_csv_import_runs_as_a_job_and_reports_progress(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    done = _upload(browser, sid, "data.csv", csv_of([person_row(i) for i in range(1, 6)]).encode())
    assert done.status_code == 302
    status = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="selesai"' in status and "5 baris baru" in status
    fragment = browser.get(done.headers["Location"], headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.startswith('\n<div id="import-progress"') or 'id="import-progress"' in fragment
    assert len(_items(db, sid)) == 5


def test_a_bad_spreadsheet_names_each_row_and_column_and_writes_nothing(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    rows = [person_row(1), person_row(2, tanggal_lahir="17/05/1950"), person_row(3, kategori="XYZ")]
    done = _upload(browser, sid, "data.csv", csv_of(rows).encode())
    status = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="gagal"' in status
    assert "Baris 3, kolom tanggal_lahir" in status and "Baris 4, kolom kategori" in status
    assert _items(db, sid) == []
    with db.read() as s:
        assert s.scalar(select(ImportJob.status)) == "gagal"


def test_xlsx_import_and_a_nik_kept_as_a_number(browser, db, people):
    sid = open_with_items(db, rows=[])
    book = Workbook()
    sheet = book.active
    sheet.append(["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"])
    good = person_row(1)
    sheet.append([good["nik"], good["no_kk"], good["nama"], "P", good["tanggal_lahir"], "Jl. A", "LUT", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    browser.login("op.desa")
    done = _upload(browser, sid, "data.xlsx", buffer.getvalue())
    assert 'data-status="selesai"' in browser.get(done.headers["Location"]).get_data(as_text=True)
    sheet.append([6501011705500099.0, good["no_kk"], "Angka", "L", "1950-05-17", "Jl. B", "LUT", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    done = _upload(browser, sid, "data2.xlsx", buffer.getvalue())
    page = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="gagal"' in page and "format kolom" in page
    assert len(_items(db, sid)) == 1


def test_unsupported_or_broken_files_are_refused_with_a_message(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    assert "tidak didukung" in _upload(browser, sid, "data.pdf", PDF).get_data(as_text=True)
    broken = _upload(browser, sid, "data.xlsx", b"bukan zip")
    assert broken.status_code == 400 and "XLSX tidak dapat dibaca" in broken.get_data(as_text=True)
    missing = _upload(browser, sid, "data.csv", b"nik,nama\n1,2\n")
    assert "kolom wajib tidak ada" in missing.get_data(as_text=True)


def test_minutes_must_be_a_pdf_and_reach_only_people_of_the_region(app, browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")

    def upload(name, content):
        return browser.post(f"/desa/pengajuan/{sid}/berita-acara", {"berkas": (io.BytesIO(content), name)},
                            content_type="multipart/form-data", token_from=f"/desa/pengajuan/{sid}")

    upload("foto.jpg", b"\xff\xd8\xff")
    assert "harus berkas PDF" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    upload("ba.pdf", PDF)
    own = browser.get(f"/desa/berita-acara/{sid}")
    assert own.data == PDF
    own.close()
    from tests.web.conftest import browser_for

    for username, status in (("verif.kec", 200), ("verif.kec.lain", 404), ("op.lain", 404)):
        response = browser_for(app, username).get(f"/desa/berita-acara/{sid}")
        assert response.status_code == status, username
        response.close()


def test_submitting_and_seeing_a_return_with_its_reasons(browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
    assert "diajukan" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    item = _items(db, sid)[0]
    decide(db, "verif.kec", sid, "return", "Tanggal lahir tidak cocok dengan KK", {item.id: "lahir 1951, bukan 1950"})
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Dikembalikan untuk diperbaiki" in page and "Tanggal lahir tidak cocok dengan KK" in page
    assert "lahir 1951, bukan 1950" in page and f'id="item-{item.id}" class="not-matching"' in page


def test_submit_with_bad_data_is_refused_with_the_problems(browser, db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        item = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).first()
        item.data = {**item.data, "nik": "99"}
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan")
    assert refused.status_code == 400 and "belum dapat diajukan" in refused.get_data(as_text=True)


def test_proposing_the_removal_of_a_verified_record(browser, db, people):
    first = open_with_items(db, rows=[person_row(1)])
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    from tests.web.world import _open

    sid = _open(db, "2027-Q1", [])
    browser.login("op.desa")
    listing = browser.get(f"/desa/pengajuan/{sid}/catatan?q=Maria").get_data(as_text=True)
    assert person_row(1)["nama"] in listing
    from models import Record

    with db.read() as s:
        record_id = s.scalar(select(Record.id))
    refused = browser.post(f"/desa/pengajuan/{sid}/catatan/{record_id}/hapus", {"alasan": ""})
    assert refused.status_code == 302 and _items(db, sid) == []
    browser.post(f"/desa/pengajuan/{sid}/catatan/{record_id}/hapus", {"alasan": "meninggal dunia"})
    assert [i.aksi.value for i in _items(db, sid)] == ["hapus"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "ITEM_REMOVAL_PROPOSED")) == 1
