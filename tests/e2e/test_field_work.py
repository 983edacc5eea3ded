"""A period's field work in a browser, on a desktop and on a 360×740 phone: the operator re-verifies
the standing register (confirms two people, reports one dead) and adds one; the kecamatan returns the
new entry with a reason and then approves it; the kabupaten approves its region at once; the province
approves. Every page is checked with axe-core and, on the phone, for sideways scrolling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.verification import submissions
from models import HumanTask, Record, RecordStatus, Submission, SubmissionItem, SubmissionStatus
from tests.e2e.conftest import shows
from tests.factories import (
    DESA,
    PASSWORD,
    PERIOD,
    SYSTEM,
    csv_of,
    decide,
    open_period,
    open_with_items,
    person_row,
    submit,
)

STANDING = [person_row(21), person_row(22), person_row(23)]  # verified in an earlier period
NEW = person_row(24, alamat="RT 04 Dusun Hulu", no_kk="6501011705500024")  # a family of her own


def _standing_register(db) -> int:
    """Gunung Putih's register from 2026-Q2, a neighbour waiting at the kabupaten, and this period's
    submission of Gunung Putih, opened with its register."""
    earlier = open_period(db, "2026-Q2", STANDING)
    submit(db, "op.desa", earlier)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, earlier, "approve")
    neighbour = open_with_items(db, desa="65.01.01.2006")
    submit(db, "op.lain", neighbour)
    decide(db, "verif.kec", neighbour, "approve")
    with db.transaction() as s:
        return submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id


def _open_task(db, sid: int) -> int:
    with db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))


def _new_item(db, sid: int) -> int:
    with db.read() as s:
        return s.scalar(
            select(SubmissionItem.id).where(SubmissionItem.submission_id == sid, SubmissionItem.nik == NEW["nik"])
        )


def _reverify(operator, sid: int, tmp_path) -> None:
    page = operator.go(f"/desa/pengajuan/{sid}")
    operator.check()
    operator.shot("operator-verval")
    page.get_by_role("link", name="Periksa 3 catatan yang belum").click()
    operator.check()

    def card(person):
        return page.locator("li.card", has_text=person["nama"])

    card(STANDING[0]).get_by_role("button", name="Masih layak").click()
    died = card(STANDING[1])
    died.locator("summary").click()
    died.get_by_label("Yang ditemukan").select_option("meninggal")
    died.get_by_label("Alasan (wajib)").fill("meninggal 12-03-2026, surat keterangan desa")
    operator.shot("operator-register")
    died.get_by_role("button", name="Simpan status").click()
    card(STANDING[2]).get_by_role("button", name="Masih layak").click()
    shows(page, "3 dari 3 catatan sudah diperiksa")

    upload = tmp_path / "baru.csv"
    upload.write_text(csv_of([NEW]))
    page = operator.go(f"/desa/pengajuan/{sid}/impor")
    operator.check()
    page.get_by_label("Berkas (.xlsx atau .csv", exact=False).set_input_files(str(upload))
    page.get_by_role("button", name="Impor").click()
    page.wait_for_selector("#import-progress[data-status=selesai]")
    page.get_by_role("link", name="Lihat item pengajuan").click()
    _submit(operator)


def _submit(operator) -> None:
    page = operator.page
    button = page.get_by_role("button", name="Ajukan untuk verifikasi")
    operator.visible(button)
    button.click()
    shows(page, "menunggu verifikasi kecamatan")
    operator.check()


def _open(person, task_id: int):
    page = person.go("/tugas/")
    person.check()
    page.locator(f'a[href$="/tugas/{task_id}"]').click()
    page.wait_for_selector(".bpmn-viewer[data-state=done]")
    person.check()
    return page


def _claim(person) -> None:
    person.page.get_by_role("button", name="Klaim tugas").click()
    shows(person.page, "Anda memegang tugas ini")
    person.page.wait_for_load_state("load")  # the page's scripts too: its keyboard shortcuts come next


def _decide(person, approve: bool, reason: str | None = None) -> None:
    page = person.page
    page.locator("#k-setuju" if approve else "#k-kembali").check()
    if reason:
        page.get_by_label("Alasan (wajib bila dikembalikan)").fill(reason)
    button = page.get_by_role("button", name="Kirim keputusan")
    person.visible(button)
    button.click()
    shows(page, "Keputusan tersimpan")


def _kecamatan_returns_the_new_entry(kecamatan, db, sid: int) -> None:
    page = _open(kecamatan, _open_task(db, sid))
    shows(page, "Perubahan (2)", "meninggal 12-03-2026")
    assert page.locator("input[type=radio][name^=verdict_]:checked").count() == 0  # nothing chosen for them
    _claim(kecamatan)
    new = _new_item(db, sid)
    removal = page.locator("fieldset.verdict-choice").filter(has_not=page.locator(f"#v-{new}-ok"))
    removal.get_by_label("sesuai", exact=True).check()
    removal.locator(".verdict-state").filter(has_text="Tersimpan").wait_for()
    page.locator(f"label[for=v-{new}-no]").click()
    page.locator(f"#alasan-{new}").fill("alamat belum lengkap: tulis RT dan dusun")
    page.locator(f"#alasan-{new}").press("Tab")
    page.locator(f"#item-{new} .verdict-state").filter(has_text="Tersimpan").wait_for()
    kecamatan.shot("halaman-tugas")
    _decide(kecamatan, approve=False, reason="Satu data baru perlu dilengkapi")


def _operator_fixes(operator, db, sid: int) -> None:
    page = operator.go(f"/desa/pengajuan/{sid}")
    shows(page, "alamat belum lengkap", "Satu data baru perlu dilengkapi")
    operator.check()
    operator.shot("operator-dikembalikan")
    page = operator.go(f"/desa/pengajuan/{sid}/item/{_new_item(db, sid)}")
    shows(page, "alamat belum lengkap")  # the reason beside the form
    operator.check()
    page.get_by_label("Alamat").fill("RT 04 RW 02 Dusun Hulu")
    page.get_by_role("button", name="Simpan").click()
    shows(page, "Data tersimpan")
    _submit(operator)


def _kecamatan_approves_by_keyboard(kecamatan, db, sid: int) -> None:
    page = _open(kecamatan, _open_task(db, sid))
    shows(page, "putaran 1")  # the earlier round's verdicts beside each item
    _claim(kecamatan)
    for _ in range(2):  # next item, then "sesuai"
        page.keyboard.press("j")
        below = page.evaluate(
            """() => document.activeElement.getBoundingClientRect().top
                >= document.querySelector('header.top').getBoundingClientRect().bottom"""
        )
        assert below, "the card moved to is under the sticky header"
        page.keyboard.press("s")
    for state in page.locator(".verdict-state").all():
        state.filter(has_text="Tersimpan").wait_for()
    _decide(kecamatan, approve=True)


def _kabupaten_approves_its_region(kabupaten) -> None:
    page = kabupaten.go("/tugas/")
    kabupaten.check()
    if kabupaten.phone:  # a card per task: each value says what it is
        labels = page.evaluate(
            """() => Array.from(document.querySelectorAll('table.inbox tbody tr:first-child td[data-label]'))
                .map(td => getComputedStyle(td, '::before').content)"""
        )
        assert labels == ['"Desa: "', '"Periode: "', '"Tenggat: "', '"Status: "', '"Diklaim: "'], labels
    page.get_by_text("Setujui semua tugas terbuka satu wilayah dan periode").click()
    page.get_by_label("Wilayah yang disetujui (kode)").fill("65.01.01")
    page.get_by_label("Periode yang disetujui").fill(PERIOD)
    kabupaten.shot("persetujuan-massal")
    page.get_by_role("button", name="Setujui semua").click()
    shows(page, "2 tugas disetujui")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "ponsel"])
def test_a_period_of_re_verification_through_every_tier(db, people, sign_in, tmp_path, phone):
    sid = _standing_register(db)
    operator = sign_in("op.desa", PASSWORD, phone)
    _reverify(operator, sid, tmp_path)

    kecamatan = sign_in("verif.kec", PASSWORD, phone)
    _kecamatan_returns_the_new_entry(kecamatan, db, sid)
    _operator_fixes(operator, db, sid)
    _kecamatan_approves_by_keyboard(kecamatan, db, sid)
    kecamatan.go("/siklus/")
    kecamatan.check()

    _kabupaten_approves_its_region(sign_in("verif.kab", PASSWORD, phone))
    province = sign_in("valid.prov", PASSWORD, phone)
    _open(province, _open_task(db, sid))
    _claim(province)
    _decide(province, approve=True)

    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.TERVERIFIKASI
        statuses = dict(s.execute(select(Record.nik, Record.status).where(Record.kode_desa == DESA)).all())
    assert statuses[STANDING[1]["nik"]] != RecordStatus.AKTIF
    assert statuses[STANDING[0]["nik"]] == statuses[STANDING[2]["nik"]] == statuses[NEW["nik"]] == RecordStatus.AKTIF
