"""What the operator's and verifier's pages do around the use cases, each rule with a test that fails
without it: where a page returns to after an action, what a bulk release says, and how the signed
minutes are kept off caches."""

from __future__ import annotations

from sqlalchemy import select

from engine.verification import minutes
from models import HumanTask, SubmissionItem
from tests.factories import SYSTEM, decide, open_period, open_with_items, person_row, submit

PDF = b"%PDF-1.4\n% berita acara musdes\n%%EOF\n"


def _waiting(db, desa="65.01.01.2005", operator="op.desa"):
    sid = open_with_items(db, rows=[person_row(1), person_row(2)], desa=desa)
    submit(db, operator, sid)
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        item_ids = s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)).all()
    return sid, task, item_ids


def test_releasing_chosen_tasks_says_how_many_were_released_and_nothing_about_refusals(browser, db, people):
    (_, first, _), (_, second, _) = _waiting(db), _waiting(db, "65.01.01.2006", "op.lain")
    browser.login("verif.kec")
    browser.post("/tugas/klaim", {"task_id": [str(first), str(second)], "aksi": "klaim"}, token_from="/tugas/")
    released = browser.post(
        "/tugas/klaim", {"task_id": [str(first), str(second)], "aksi": "lepas"}, token_from="/tugas/"
    )
    page = browser.get(released.headers["Location"]).get_data(as_text=True)
    assert "2 tugas dilepas." in page and f"Tugas #{first}:" not in page and "dilepas</" not in page


def test_a_refused_verdict_returns_to_the_page_and_view_the_verifier_was_on(browser, db, people):
    _, task, item_ids = _waiting(db)
    browser.login("verif.kec")
    form = {f"verdict_{item_ids[0]}": "tidak_sesuai", f"alasan_{item_ids[0]}": "", "tampil": "semua", "halaman": "2"}
    refused = browser.post(f"/tugas/{task}/putusan", form, token_from=f"/tugas/{task}")
    assert refused.status_code == 302
    assert refused.headers["Location"] == f"/tugas/{task}?tampil=semua&halaman=2"  # not back to the first page


def test_marking_a_record_returns_to_the_page_and_filter_of_the_register_it_was_marked_on(browser, db, people):
    first = open_with_items(db, rows=[person_row(1), person_row(2)])
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    sid = open_period(db, "2027-Q1", [])
    with db.read() as s:
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid).limit(1))
    browser.login("op.desa")
    back = f"/desa/pengajuan/{sid}/register?status=belum&halaman=1"
    marked = browser.post(
        f"/desa/pengajuan/{sid}/register",
        {"item_id": item_id, "status": "layak", "kembali": back},
        token_from=f"/desa/pengajuan/{sid}",
    )
    assert marked.status_code == 302 and marked.headers["Location"] == back
    elsewhere = browser.post(
        f"/desa/pengajuan/{sid}/register",
        {"item_id": item_id, "status": "layak", "kembali": "https://contoh.invalid/register"},
        token_from=f"/desa/pengajuan/{sid}",
    )
    assert elsewhere.headers["Location"] == f"/desa/pengajuan/{sid}/register"  # never another site


def test_the_signed_minutes_are_kept_off_every_cache(browser, db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        minutes.attach_minutes(s, SYSTEM, sid, "ba.pdf", PDF, db.settings.upload_dir)
    browser.login("op.desa")
    answer = browser.get(f"/desa/berita-acara/{sid}")
    assert answer.data == PDF and answer.headers["Cache-Control"] == "no-store"  # not send_file's "no-cache"
    answer.close()
