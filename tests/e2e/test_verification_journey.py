"""The whole journey in a browser: import, return, fix, approval at every tier, audit, BPMN edit."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import select

from engine.quality.nik import compose
from engine.verification import imports, submissions
from models import HumanTask, ProcessDefinition, ProcessInstance, Submission
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD, SYSTEM, csv_of, open_with_items, person_row


def _spreadsheet(tmp_path, rows):
    book = Workbook()
    sheet = book.active
    columns = ["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"]
    sheet.append(columns)
    for row in rows:
        sheet.append([row[c] for c in columns])
    for cell in sheet["A"] + sheet["B"]:
        cell.number_format = "@"  # NIK and KK as text, as the import page asks
    path = tmp_path / "data-desa.xlsx"
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def _decide(person, task_name, approve=True, reason=None, item_reason=None):
    page = person.go("/tugas/")
    page.get_by_role("link", name=task_name).first.click()
    page.wait_for_selector(".bpmn-viewer[data-state=done]")
    page.get_by_role("button", name="Klaim tugas").click()
    shows(page, "Anda memegang tugas ini")  # the claimed page has loaded: its verdict radios are the live ones
    page.wait_for_load_state("load")
    if approve:  # every item looked at and found in order
        for in_order in page.locator("input[type=radio][value=sesuai]").all():
            in_order.check()
    if item_reason:
        item_id, why = item_reason
        page.locator(f"#v-{item_id}-no").check()
        page.locator(f"#alasan-{item_id}").fill(why)
    # the province applies to the verified data; a lower tier forwards to the next
    approval = "Setujui dan terapkan" if task_name == "Validasi provinsi" else "Setujui dan teruskan"
    choice = page.get_by_label(approval if approve else "Kembalikan ke desa", exact=False)
    choice.check()
    if reason:
        page.get_by_label("Alasan (wajib bila dikembalikan)").fill(reason)
    return page


def test_a_submission_travels_every_tier_in_the_browser(db, people, sign_in, tmp_path):  # noqa: F811
    sid = open_with_items(db, rows=[])
    rows = [person_row(1), person_row(2), person_row(3)]

    operator = sign_in("op.desa", PASSWORD)
    page = operator.go(f"/desa/pengajuan/{sid}/impor")
    page.get_by_label("Berkas (.xlsx atau .csv", exact=False).set_input_files(str(_spreadsheet(tmp_path, rows)))
    page.get_by_role("button", name="Impor").click()
    page.wait_for_selector("#import-progress[data-status=selesai]")
    shows(page, "3 baris baru")
    page.get_by_role("link", name="Lihat item pengajuan").click()
    operator.shot("operator-pengajuan")
    page.get_by_role("button", name="Ajukan untuk verifikasi").click()
    shows(page, "menunggu verifikasi kecamatan")

    kecamatan = sign_in("verif.kec", PASSWORD)
    kecamatan.go("/tugas/")
    kecamatan.shot("kotak-tugas")
    with db.read() as s:
        from models import SubmissionItem

        wrong = s.scalar(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == sid, SubmissionItem.nik == rows[1]["nik"])
        )
    page = _decide(
        kecamatan,
        "Verifikasi kecamatan",
        approve=False,
        reason="Satu tanggal lahir salah",
        item_reason=(wrong, "lahir 1952 menurut KK"),
    )
    page.get_by_role("button", name="Kirim keputusan").click()
    shows(page, "Keputusan tersimpan")

    page = operator.go(f"/desa/pengajuan/{sid}")
    shows(page, "Satu tanggal lahir salah", "lahir 1952 menurut KK")
    page.goto(f"{operator.base}/desa/pengajuan/{sid}/item/{wrong}")
    page.get_by_label("Tanggal lahir").fill("1952-05-17")
    page.get_by_label("NIK").fill(compose("65.01.01", date(1952, 5, 17), "P", 2))  # the NIK on her KTP
    page.get_by_role("button", name="Simpan").click()
    shows(page, "Data tersimpan")
    page.get_by_role("button", name="Ajukan untuk verifikasi").click()
    shows(page, "menunggu verifikasi kecamatan")

    for username, task in (
        ("verif.kec", "Verifikasi kecamatan"),
        ("verif.kab", "Verifikasi kabupaten/kota"),
        ("valid.prov", "Validasi provinsi"),
    ):
        person = kecamatan if username == "verif.kec" else sign_in(username, PASSWORD)
        page = _decide(person, task)
        page.get_by_role("button", name="Kirim keputusan").click()
        shows(page, "Keputusan tersimpan")
    with db.read() as s:
        assert s.get(Submission, sid).status.value == "terverifikasi"

    auditor = sign_in("auditor.prov", PASSWORD)
    page = auditor.go("/audit/")
    page.get_by_label("Nama").fill("Maria Ingan 1")
    page.get_by_role("button", name="Cari").click()
    follow(page, page.get_by_role("link", name="Maria Ingan 1"))
    for tier in ("desa", "kecamatan", "kabupaten", "provinsi"):
        assert page.locator(f'.trail li[data-tingkat="{tier}"]').count() >= 1, tier
    auditor.shot("audit-linimasa")
    page.get_by_role("link", name="Lihat instans proses dan diagramnya").click()
    page.wait_for_selector(".bpmn-viewer[data-state=done]")
    assert page.locator(".djs-element.sj-done").count() > 5


def test_an_admin_changes_an_sla_in_the_editor_and_the_next_instance_uses_it(db, people, sign_in):  # noqa: F811
    admin = sign_in("admin.prov", PASSWORD)
    page = admin.go("/admin/definisi/1/ubah")
    page.wait_for_selector("#bpmn-editor[data-state=ready]")
    page.locator('[data-element-id="sla_kecamatan"]').first.click()
    timer = page.locator("#sj-prop-timer")
    timer.fill("P7D")
    timer.press("Tab")
    admin.shot("editor-bpmn")
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector("#bpmn-status[data-state=done]")
    assert "Versi 2 dipasang" in page.locator("#bpmn-status").inner_text()

    timer = page.locator("#sj-prop-timer")
    page.locator('[data-element-id="sla_kabupaten"]').first.click()
    timer.fill("__import__('os')")
    timer.press("Tab")
    page.locator("#bpmn-deploy").click()
    page.wait_for_selector("#bpmn-status[data-state=error]")
    assert page.locator(".sj-error-badge").count() == 1 and "sla_kabupaten" in page.locator("#bpmn-status").inner_text()

    with db.read() as s:
        current = select(ProcessDefinition.version).where(
            ProcessDefinition.is_current.is_(True), ProcessDefinition.process_key == "verifikasi_berjenjang"
        )
        assert s.scalar(current) == 2
    with db.transaction() as s:
        opened = submissions.open_submission(s, SYSTEM, "65.01.01.2007", "2026-Q4", "65")
        imports.import_items(s, SYSTEM, opened.submission.id, csv_of([person_row(71)]))
        instance = s.get(ProcessInstance, opened.submission.instance_id)
        assert s.get(ProcessDefinition, instance.definition_id).version == 2
    from engine.people import users
    from tests.factories import submit

    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.2007", "operator", "65.01.01.2007")
    submit(db, "op.2007", opened.submission.id)
    with db.read() as s:
        task = s.scalar(
            select(HumanTask).where(HumanTask.submission_id == opened.submission.id, HumanTask.status == "terbuka")
        )
    assert timedelta(days=6, hours=23) < task.due_at - task.created_at <= timedelta(days=7, seconds=5)
