"""An operator's uploads after the upload page: the submission lists them with their outcome, and
does not go up while one is still being imported into it."""

from __future__ import annotations

from engine.core import clock
from engine.verification import imports
from tests.factories import SYSTEM, items_of, open_with_items, person_row


def _waiting_upload(db, sid: int, name: str) -> int:
    """An upload the scheduled import job has not run yet (in tests the page runs it at once)."""
    rows = [{k: str(v) for k, v in person_row(i).items()} for i in range(10, 13)]
    with db.transaction() as s:
        return imports.create_job(s, SYSTEM, sid, name, rows).id


def test_a_submission_does_not_go_up_while_a_file_is_being_imported_into_it(browser, db, people):
    sid = open_with_items(db)
    before = len(items_of(db, sid))
    job_id = _waiting_upload(db, sid, "susulan.csv")
    browser.login("op.desa")
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "susulan.csv masih diimpor" in text
    assert "Laporan nihil" not in text  # judged once the file is in, not before
    browser.post(f"/desa/pengajuan/{sid}/periksa")
    checked = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "susulan.csv masih diimpor" in checked  # checking now says the same
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    assert len(items_of(db, sid)) == before + 3  # its three rows are in
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
    assert f"/desa/impor/{job_id}" in browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)


def test_the_submission_lists_its_uploads_with_their_outcome(browser, db, people):
    sid = open_with_items(db, rows=[])
    job_id = _waiting_upload(db, sid, "data-desa.csv")
    browser.login("op.desa")
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    listed = page[page.index('id="h-impor"') :]
    assert f'href="/desa/impor/{job_id}"' in listed and "data-desa.csv" in listed and "menunggu" in listed
    early = browser.post(f"/desa/pengajuan/{sid}/ajukan").get_data(as_text=True)
    assert "data-desa.csv masih diimpor" in early and "Laporan nihil" not in early  # not "empty": it is coming
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    listed = page[page.index('id="h-impor"') :]
    assert "selesai" in listed and "3 baris baru" in listed


def test_an_upload_no_scheduler_took_does_not_hold_the_submission_for_ever(browser, db, people):
    from datetime import timedelta

    from engine.verification.stale_imports import STALE_AFTER
    from models import ImportJob

    sid = open_with_items(db)
    job_id = _waiting_upload(db, sid, "terlupa.csv")
    with db.transaction() as s:  # uploaded while no scheduler ran, long ago
        s.get(ImportJob, job_id).created_at = clock.now() - STALE_AFTER - timedelta(minutes=1)
    browser.login("op.desa")
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan").status_code == 302
