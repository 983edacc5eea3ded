"""The village operator in the browser's place: items, import, minutes, submitting, returns."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.core import clock
from engine.people import users
from engine.verification import submissions
from models import AuditEvent, Cycle, ImportJob, Submission, SubmissionItem
from tests.factories import PERIOD, SYSTEM, csv_of, decide, items_of, open_with_items, person_row, submit
from tests.web.page_forms import attach_minutes

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_adding_a_person_through_the_category_form(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    form = browser.get(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT").get_data(as_text=True)
    assert "Lanjut Usia Terlantar" in form and "Kriteria" in form and 'for="f-nik"' in form
    row = person_row(3)
    saved = browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", {**row})
    assert saved.status_code == 302
    assert [i.nik for i in items_of(db, sid)] == [row["nik"]]


def test_a_community_is_entered_with_its_members_and_leader(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    form = browser.get(f"/desa/pengajuan/{sid}/item/baru?kategori=KAT").get_data(as_text=True)
    assert "Nama komunitas" in form and "Jumlah anggota" in form and "Nama ketua" in form
    assert 'id="f-nik"' not in form and 'id="f-jenis_kelamin"' not in form and 'id="f-tanggal_lahir"' not in form
    community = {"kategori": "KAT", "nama": "Punan Adiu", "alamat": "Long Adiu"}
    refused = browser.post(
        f"/desa/pengajuan/{sid}/item/baru?kategori=KAT", {**community, "atribut_jumlah_anggota": "0"}
    )
    assert refused.status_code == 400 and 'id="e-atribut_jumlah_anggota"' in refused.get_data(as_text=True)
    saved = browser.post(
        f"/desa/pengajuan/{sid}/item/baru?kategori=KAT",
        {**community, "atribut_jumlah_anggota": "48", "atribut_nama_ketua": "Lawing"},
    )
    assert saved.status_code == 302
    [item] = items_of(db, sid)
    assert item.nik is None and item.data["atribut"] == {"jumlah_anggota": "48", "nama_ketua": "Lawing"}


def test_a_family_form_asks_for_the_kk(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    form = browser.get(f"/desa/pengajuan/{sid}/item/baru?kategori=FM").get_data(as_text=True)
    assert "Nama kepala keluarga" in form and "NIK kepala keluarga" in form
    refused = browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=FM", {"kategori": "FM", "nama": "Keluarga Ingan"})
    assert refused.status_code == 400 and 'id="e-no_kk"' in refused.get_data(as_text=True)


def test_field_errors_appear_at_the_field_and_nothing_is_saved(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/item/baru", {**person_row(3), "nik": "1234", "jenis_kelamin": ""})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="e-nik"' in body and "16 angka" in body and 'id="e-jenis_kelamin"' in body
    assert items_of(db, sid) == []


def test_editing_setting_aside_and_bringing_back_an_item(browser, db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    item = items_of(db, sid)[0]
    browser.login("op.desa")
    page = browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True)
    assert person_row(1)["nama"] in page
    edited = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", {**person_row(1), "alamat": "Jl. Baru 9"})
    assert edited.status_code == 302
    assert items_of(db, sid)[0].data["alamat"] == "Jl. Baru 9"
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "data-confirm=" in page.split(f"item/{item.id}/buang", 1)[1][:600]  # a question before it goes
    aside = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}/buang")
    assert aside.status_code == 302 and aside.headers["Location"] == f"/desa/pengajuan/{sid}#disisihkan"
    assert [i.dibuang for i in items_of(db, sid)] == [True]
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Disisihkan dari pengajuan (1)" in page and "Data baru dan perubahan (0)" in page
    browser.post(f"/desa/pengajuan/{sid}/item/{item.id}/kembalikan")
    assert [i.dibuang for i in items_of(db, sid)] == [False]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ITEM_RESTORED")) == 1


def test_every_item_set_aside_or_judged_not_matching_is_reached_page_by_page(browser, db, people, monkeypatch):
    """More items set aside, or returned as not matching, than one page lists: each view pages them
    all, and the last one set aside can be brought back from its page."""
    from engine.verification import submissions

    monkeypatch.setattr(submissions, "PAGE_SIZE", 2)
    sid = open_with_items(db, rows=[person_row(n) for n in range(1, 6)])
    item_ids = [i.id for i in items_of(db, sid)]
    browser.login("op.desa")
    for item_id in item_ids[:3]:
        assert browser.post(f"/desa/pengajuan/{sid}/item/{item_id}/buang").status_code == 302
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Disisihkan dari pengajuan (3)" in page and f"pengajuan/{sid}?tampil=disisihkan" in page
    last = browser.get(f"/desa/pengajuan/{sid}?tampil=disisihkan&halaman=2").get_data(as_text=True)
    assert f"item/{item_ids[2]}/kembalikan" in last and "2 / 2" in last and "halaman=1&amp;tampil=disisihkan" in last
    assert browser.post(f"/desa/pengajuan/{sid}/item/{item_ids[2]}/kembalikan").status_code == 302
    assert [i.dibuang for i in items_of(db, sid)] == [True, True, False, False, False]

    submit(db, "op.desa", sid)
    wrong = {item_id: "tidak sesuai KTP" for item_id in item_ids[2:]}
    decide(db, "verif.kec", sid, "return", reason="periksa lagi", verdicts=wrong)
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "3 data ditandai tidak sesuai" in page and f"pengajuan/{sid}?tampil=dikembalikan" in page
    returned = browser.get(f"/desa/pengajuan/{sid}?tampil=dikembalikan&halaman=2").get_data(as_text=True)
    assert f'id="item-{item_ids[4]}"' in returned and f'id="item-{item_ids[0]}"' not in returned
    assert browser.get(f"/desa/pengajuan/{sid}?tampil=lain").status_code == 400


def _upload(browser, sid, name, content):
    return browser.post(
        f"/desa/pengajuan/{sid}/impor", {"berkas": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def test_csv_import_runs_as_a_job_and_reports_progress(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    done = _upload(browser, sid, "data.csv", csv_of([person_row(i) for i in range(1, 6)]).encode())
    assert done.status_code == 302
    status = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="selesai"' in status and "5 baris baru" in status
    fragment = browser.get(done.headers["Location"], headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="import-progress"') and "<body" not in fragment  # the box alone
    assert len(items_of(db, sid)) == 5


def test_a_bad_spreadsheet_names_each_row_and_column_and_writes_nothing(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    rows = [person_row(1), person_row(2, tanggal_lahir="31/02/1950"), person_row(3, kategori="XYZ")]
    done = _upload(browser, sid, "data.csv", csv_of(rows).encode())
    status = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="gagal"' in status
    assert "Baris 3, Tanggal lahir" in status and "Baris 4, Kategori" in status  # field names, not keys
    assert items_of(db, sid) == []
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
    assert len(items_of(db, sid)) == 1


def test_unsupported_or_broken_files_are_refused_with_a_message(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    assert "tidak didukung" in _upload(browser, sid, "data.pdf", PDF).get_data(as_text=True)
    broken = _upload(browser, sid, "data.xlsx", b"bukan zip")
    assert broken.status_code == 400 and "XLSX tidak dapat dibaca" in broken.get_data(as_text=True)
    missing = _upload(browser, sid, "data.csv", b"nik,nama\n1,2\n")
    assert "kolom wajib tidak ada: kategori" in missing.get_data(as_text=True).lower()


def test_minutes_must_be_a_pdf_and_reach_only_people_of_the_region(app, browser, db, people, signed_in, password_hash):
    sid = open_with_items(db)
    browser.login("op.desa")

    def upload(name, content):
        return attach_minutes(browser, sid, content, name)

    upload("foto.jpg", b"\xff\xd8\xff")
    assert "harus berkas PDF" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    upload("terpotong.pdf", PDF[:20])  # cut short on the way: no end-of-file marker
    assert "tidak lengkap" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)  # upload it again
    with db.read() as s:
        assert s.get(Submission, sid).berita_acara is None
    upload("ba.pdf", PDF)
    own = browser.get(f"/desa/berita-acara/{sid}")
    assert own.data == PDF
    assert "berita-acara-6501012005-2026-Q4.pdf" in own.headers["Content-Disposition"]  # which desa, which period
    own.close()

    with db.transaction() as s:  # those whose work is the compiled figures do not read the minutes
        users.add_user(s, SYSTEM, "walidata.kab", "walidata", "65.01").password_hash = password_hash
    readers = (("verif.kec", 200), ("auditor.prov", 200), ("verif.kec.lain", 404), ("op.lain", 404))
    for username, status in (*readers, ("walidata.kab", 404), ("admin.prov", 404)):
        response = signed_in(username).get(f"/desa/berita-acara/{sid}")
        assert response.status_code == status, username
        response.close()


def test_submitting_and_seeing_a_return_with_its_reasons(browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
    assert "diajukan" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    item = items_of(db, sid)[0]
    decide(db, "verif.kec", sid, "return", "Tanggal lahir tidak cocok dengan KK", {item.id: "lahir 1951, bukan 1950"})
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Dikembalikan untuk diperbaiki" in page and "Tanggal lahir tidak cocok dengan KK" in page
    assert "lahir 1951, bukan 1950" in page and f'class="card returned" id="item-{item.id}"' in page
    edit = browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True)
    assert "Dikembalikan oleh kecamatan" in edit and "lahir 1951, bukan 1950" in edit  # the reason where it is fixed
    assert "sudah diubah" not in page.split('class="returned-items"')[1].split("</ul>")[0]
    browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", {**person_row(1), "tanggal_lahir": "1950-05-17"})
    fixed = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "sudah diubah" in fixed.split('class="returned-items"')[1].split("</ul>")[0]  # what is left to do
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
    sent = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Dikembalikan untuk diperbaiki" not in sent


def test_an_import_to_a_submission_gone_up_meanwhile_is_said_on_the_import_page(browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")
    opened = f"/desa/pengajuan/{sid}/impor"
    token = browser.token(opened)  # the import page was opened while a draft
    submit(db, "op.desa", sid)
    sent = browser.client.post(
        opened,
        data={"berkas": (io.BytesIO(csv_of([person_row(1)]).encode()), "data.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 409 and 'role="alert"' in page and "Impor" in page  # the import page, saying why
    for form_page in (opened, f"/desa/pengajuan/{sid}/item/baru?kategori=LUT"):  # and no form to fill in vain
        shown = browser.get(form_page).get_data(as_text=True)
        assert "sudah diajukan; datanya tidak dapat diubah" in shown and 'type="file"' not in shown
        assert 'name="nik"' not in shown
    again = browser.post(
        f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}", follow_redirects=True
    )
    assert "sudah diajukan dan sedang diperiksa di tingkat kecamatan" in again.get_data(as_text=True)


def test_a_returned_entry_on_a_later_page_is_listed_first_with_a_way_to_it(browser, db, people):
    from engine.verification.submissions import PAGE_SIZE

    sid = open_with_items(db, rows=[person_row(n) for n in range(1, PAGE_SIZE + 6)])
    browser.login("op.desa")
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
    last = items_of(db, sid)[-1]
    decide(db, "verif.kec", sid, "return", "Satu data salah", {last.id: "KK tidak cocok"})
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "1 data ditandai tidak sesuai" in page and f'id="item-{last.id}"' not in page  # not on page 1
    assert f'href="/desa/pengajuan/{sid}/item/{last.id}"' in page and "kecamatan: KK tidak cocok" in page


def test_submit_with_bad_data_is_refused_with_the_problems(browser, db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        item = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).first()
        item.data = {**item.data, "nik": "99"}
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan")
    assert refused.status_code == 400 and "belum dapat diajukan" in refused.get_data(as_text=True)


def _form_time(page: str) -> str:
    """When the entry had last changed as the form was opened (the form sends it back)."""
    return re.search(r'name="versi" value="([^"]+)"', page).group(1)


def _form_shown(page: str) -> dict[str, str]:
    """What the form showed when it was opened (it sends it back, beside what is typed)."""
    return {f"awal_{k}": html.unescape(v) for k, v in re.findall(r'name="awal_(\w+)" value="([^"]*)"', page)}


def test_an_entry_changed_in_another_tab_is_not_overwritten_by_an_older_form(browser, db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    browser.login("op.desa")
    form = browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True)
    opened_at, shown = _form_time(form), _form_shown(form)
    assert shown["awal_alamat"] == person_row(1)["alamat"]
    newer = {**person_row(1), "alamat": "RT 05 Dusun Baru", "versi": opened_at}
    assert browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", newer, token_from="/akun/sandi").status_code == 302
    older = {**person_row(1), **shown, "keterangan": "dari tab lama", "versi": opened_at}
    refused = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", older, token_from="/akun/sandi")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "sudah berubah sejak formulir dibuka" in page and "dari tab lama" in page
    # only what was typed on the old form is offered to copy: not its old address, changed elsewhere since
    assert "Alamat: Jl. Sengkawit" not in page
    (item,) = items_of(db, sid)
    assert item.data["alamat"] == "RT 05 Dusun Baru" and item.data["keterangan"] != "dari tab lama"
    # the form again shows what is stored now, with its time, and what was typed beside it to copy
    assert 'value="RT 05 Dusun Baru"' in page and "Keterangan: dari tab lama" in page
    now_at = _form_time(page)
    assert now_at != opened_at
    retyped = {**person_row(1), "alamat": "RT 05 Dusun Baru", "keterangan": "dari tab lama", "versi": now_at}
    assert browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", retyped, token_from="/akun/sandi").status_code == 302
    (item,) = items_of(db, sid)
    assert (item.data["alamat"], item.data["keterangan"]) == ("RT 05 Dusun Baru", "dari tab lama")


def test_an_older_form_with_a_mistake_is_told_it_is_stale_before_its_fields_are_judged(browser, db, people):
    """Mending the field first would only lead to "reload" on the next try, and lose the mending."""
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    browser.login("op.desa")
    opened_at = _form_time(browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True))
    newer = {**person_row(1), "alamat": "RT 05 Dusun Baru", "versi": opened_at}
    assert browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", newer, token_from="/akun/sandi").status_code == 302
    older = {**person_row(1), "nik": "123", "versi": opened_at}
    page = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", older, token_from="/akun/sandi").get_data(as_text=True)
    assert "sudah berubah sejak formulir dibuka" in page and "harus 16 angka" not in page


def test_an_entry_set_aside_in_another_tab_is_not_silently_edited(browser, db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    browser.login("op.desa")
    opened_at = _form_time(browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True))
    browser.post(f"/desa/pengajuan/{sid}/item/{item.id}/buang", {}, token_from=f"/desa/pengajuan/{sid}")
    edited = {**person_row(1), "keterangan": "diubah", "versi": opened_at}
    refused = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", edited, token_from="/akun/sandi")
    assert refused.status_code == 400 and "Data tersimpan" not in refused.get_data(as_text=True)
    fresh = {**person_row(1), "keterangan": "diubah"}  # even without the form's time: it is set aside
    again = browser.post(f"/desa/pengajuan/{sid}/item/{item.id}", fresh, token_from="/akun/sandi")
    assert again.status_code == 400 and "sedang disisihkan" in again.get_data(as_text=True)
    (item,) = items_of(db, sid)
    assert item.dibuang and item.data.get("keterangan") != "diubah"


def test_an_empty_submission_is_refused_unless_reported_nihil(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    assert refused.status_code == 400 and "laporkan nihil" in refused.get_data(as_text=True)
    browser.post(f"/desa/pengajuan/{sid}/pernyataan", {"aksi": "nihil"}, token_from=f"/desa/pengajuan/{sid}")
    assert "Dilaporkan nihil" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}").status_code == 302


def test_nihil_cannot_be_reported_with_data_in_the_submission(browser, db, people):
    sid = open_with_items(db, rows=[person_row(1)])
    browser.login("op.desa")
    page = browser.post(
        f"/desa/pengajuan/{sid}/pernyataan",
        {"aksi": "nihil"},
        token_from=f"/desa/pengajuan/{sid}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "nihil hanya untuk desa tanpa PPKS" in page


def test_a_template_per_category_lists_its_columns_with_an_example(browser, db, people):
    from openpyxl import load_workbook

    browser.login("op.desa")
    for kode, wanted, absent in (
        ("LUT", "nik", None),
        ("FM", "no_kk", None),
        ("KAT", "jumlah_anggota", "nik"),
        ("LKS", "nama", "tanggal_lahir"),
    ):
        response = browser.get(f"/desa/templat?kategori={kode}")
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
        book = load_workbook(io.BytesIO(response.data))
        header = [c.value for c in book["Data"][1]]
        example = [c.value for c in book["Data"][2]]
        assert wanted in header and (absent is None or absent not in header), kode
        assert example[header.index("kategori")] == kode and "Petunjuk" in book.sheetnames
        if "nik" in header:
            assert book["Data"].cell(row=5, column=header.index("nik") + 1).number_format == "@"
    assert browser.get("/desa/templat?kategori=ZZZ").status_code == 404


def test_a_filled_template_imports_with_day_first_dates(browser, db, people):
    from openpyxl import load_workbook

    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    book = load_workbook(io.BytesIO(browser.get("/desa/templat?kategori=LUT").data))
    sheet = book["Data"]
    header = [c.value for c in sheet[1]]
    row = person_row(4, tanggal_lahir="17/05/1950")
    for column, name in enumerate(header, start=1):
        sheet.cell(row=2, column=column, value=row.get(name, ""))
    out = io.BytesIO()
    book.save(out)
    status = _upload(browser, sid, "isian.xlsx", out.getvalue())
    assert status.status_code == 302
    [item] = items_of(db, sid)
    assert item.data["tanggal_lahir"] == "1950-05-17"


def test_the_templates_example_row_left_in_the_file_is_refused_not_imported(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    template = browser.get("/desa/templat?kategori=LUT").data
    done = _upload(browser, sid, "templat.xlsx", template)
    page = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert "Baris 2, Nama: Baris contoh templat masih ada" in page
    assert items_of(db, sid) == []


def test_warnings_show_while_the_submission_is_a_draft(browser, db, people):
    from engine.quality.nik import compose

    sid = open_with_items(db, rows=[person_row(1, nik=compose("99.99.99", date(1950, 5, 17), "P", 1))])
    browser.login("op.desa")
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "kode wilayah NIK 99.99.99 tidak dikenal" in page  # kept from the import, before submitting
    browser.post(f"/desa/pengajuan/{sid}/periksa", {}, token_from=f"/desa/pengajuan/{sid}")
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Pemeriksaan selesai: tidak ada kesalahan" in page


def test_checking_a_draft_names_what_would_block_submitting_it(browser, db, people, minutes_required):
    sid = open_with_items(db)
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/periksa", {}, token_from=f"/desa/pengajuan/{sid}")
    page = html.unescape(browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True))
    assert "1 kesalahan harus diperbaiki" in page and "berita acara" in page.lower()
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    assert refused.status_code == 400  # the same reason keeps it from going up


def test_bringing_back_an_entry_that_was_not_set_aside_says_nothing_changed(browser, db, people):
    sid = open_with_items(db)
    item_id = items_of(db, sid)[0].id
    browser.login("op.desa")
    page = browser.post(
        f"/desa/pengajuan/{sid}/item/{item_id}/kembalikan",
        {},
        token_from=f"/desa/pengajuan/{sid}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "tidak sedang disisihkan" in page and "Item dikembalikan ke pengajuan" not in page


def test_a_returned_desa_is_told_when_its_correction_is_due(browser, db, people):
    sid = open_with_items(db)
    with db.transaction() as s:  # the desa's deadline has passed; the kecamatan's has not
        batas = {"desa": "2026-10-31T16:00:00+00:00", "kecamatan": "2099-11-15T16:00:00+00:00"}
        s.add(Cycle(periode=PERIOD, region_kode="65", batas=batas))
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", "berita acara belum ditandatangani")
    with db.read() as s:
        assert submissions.deadline_of(s, s.get(Submission, sid)).isoformat() == batas["kecamatan"]
    browser.login("op.desa")
    assert "15-11-2099 24:00 WITA" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)  # 16-11 00:00
    submit(db, "op.desa", sid)
    assert "Batas waktu" not in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)  # with the tiers now


DEADLINE = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 31-10-2026 00:00 WITA: the 30th is the last day


@pytest.mark.parametrize(
    ("now", "said", "late"),
    [
        ("2026-10-29T09:00+08:00", "(1 hari lagi)", False),
        ("2026-10-30T23:30+08:00", "(hari ini)", False),
        ("2026-10-31T09:00+08:00", "(sudah lewat)", True),
        ("2026-10-31T23:00+08:00", "(sudah lewat)", True),
        ("2026-11-02T01:00+08:00", "(lewat 2 hari)", True),
    ],
)
def test_a_deadline_says_late_from_its_moment_on_and_its_last_day_before_it(app, now, said, late):
    template = app.jinja_env.from_string('{% from "macros.html" import deadline %}{{ deadline(d) }}')
    with app.test_request_context(), clock.frozen_at(datetime.fromisoformat(now)):
        shown = template.render(d=DEADLINE)
    # as the bell and the e-mail say it ("30 Oktober 2026 pukul 24.00 WITA"): not a day people read as one more
    assert "Batas waktu: 30-10-2026 24:00 WITA " + said in shown and ("late" in shown) == late


def test_a_sex_written_out_as_on_the_ktp_is_read_as_its_code(db, people):
    rows = [person_row(1, jenis_kelamin="PEREMPUAN"), person_row(2, jenis_kelamin=" perempuan ")]
    sid = open_with_items(db, rows=rows)
    assert {i.data["jenis_kelamin"] for i in items_of(db, sid)} == {"P"}
    assert all(not i.masalah for i in items_of(db, sid))
