"""Where verifiers and village operators work items: who may act on a task or an entry, what each
answer says and where it leads next, what the task page's script is answered, and what a form sent
from an older tab or a second time does."""

from __future__ import annotations

import html

from sqlalchemy import func, select

from engine.people import users
from engine.verification import claims
from models import HumanTask, SavedFilter, Submission, SubmissionStatus
from tests.factories import DESA, SYSTEM, actor, decide, items_of, open_with_items, person_row, submit


def _submitted(db, desa: str = DESA, operator: str = "op.desa", rows=None) -> int:
    sid = open_with_items(db, rows=rows, desa=desa)
    submit(db, operator, sid)
    return sid


def _open_task(db, sid: int) -> int:
    with db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))


def _assignee(db, task_id: int):
    with db.read() as s:
        return s.get(HumanTask, task_id).assignee_id


def _flashed(browser) -> list[tuple[str, str]]:
    """The messages the last answer left for the next page, as (kind, text)."""
    with browser.client.session_transaction() as session:
        return [(kind, html.unescape(text)) for kind, text in session.get("_flashes", [])]


# The verifier's inbox and task page


def test_claiming_with_no_task_ticked_asks_to_tick_one_and_claims_nothing(browser, db, people):
    task_id = _open_task(db, _submitted(db))
    browser.login("verif.kec")
    answer = browser.post("/tugas/klaim", {"aksi": "klaim"}, token_from="/tugas/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/tugas/"
    page = browser.get("/tugas/").get_data(as_text=True)
    assert "Belum ada tugas yang dipilih" in page and "tugas diklaim" not in page
    assert _assignee(db, task_id) is None


def test_claiming_from_a_filtered_inbox_returns_to_that_view_and_never_to_another_site(browser, db, people):
    first, second = _open_task(db, _submitted(db)), _open_task(db, _submitted(db, "65.01.01.2006", "op.lain"))
    browser.login("verif.kec")
    view = f"/tugas/?wilayah={DESA}&urut=prioritas"
    claimed = browser.post("/tugas/klaim", {"task_id": [str(first)], "kembali": view}, token_from="/tugas/")
    assert claimed.status_code == 302 and claimed.headers["Location"] == view
    assert _flashed(browser) == [("ok", "1 tugas diklaim.")]
    elsewhere = {"task_id": [str(second)], "kembali": "https://contoh.invalid/tugas/"}
    assert browser.post("/tugas/klaim", elsewhere, token_from="/tugas/").headers["Location"] == "/tugas/"
    assert _assignee(db, first) is not None and _assignee(db, second) is not None


def test_saving_a_filter_opens_the_inbox_with_it_and_deleting_it_takes_it_away(browser, db, people, signed_in):
    _submitted(db)
    browser.login("verif.kec")
    chosen = {"nama": "Gunung Putih", "wilayah": DESA, "status": "terbuka"}
    saved = browser.post("/tugas/filter", chosen, token_from="/tugas/")
    assert saved.status_code == 302 and f"wilayah={DESA}" in saved.headers["Location"]
    with db.read() as s:
        filter_id = s.scalar(select(SavedFilter.id))
    neighbour = signed_in("verif.kec.lain")  # another person's filter is not theirs to delete
    assert neighbour.post(f"/tugas/filter/{filter_id}/hapus", token_from="/tugas/").status_code == 404
    gone = browser.post(f"/tugas/filter/{filter_id}/hapus", token_from="/tugas/")
    assert gone.status_code == 302 and gone.headers["Location"] == "/tugas/"
    assert "Filter dihapus." in browser.get("/tugas/").get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(SavedFilter)) == 0


def test_a_decision_says_what_was_decided_and_leads_back_to_the_inbox(browser, db, people):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    first = items_of(db, sid)[0].id
    browser.login("verif.kec")
    browser.post(f"/tugas/{task_id}/klaim", token_from=f"/tugas/{task_id}")
    form = {"keputusan": "kembalikan", "alasan": "Cek umur", f"verdict_{first}": "tidak_sesuai"}
    done = browser.post(
        f"/tugas/{task_id}/selesai", {**form, f"alasan_{first}": "umur 58"}, token_from=f"/tugas/{task_id}"
    )
    assert done.status_code == 302 and done.headers["Location"] == "/tugas/"
    page = html.unescape(browser.get("/tugas/").get_data(as_text=True))
    assert "Keputusan tersimpan: dikembalikan." in page and "disetujui" not in page
    assert f'data-decided-task="{task_id}"' in page  # the browser forgets what was typed on the task page
    assert "data-decided-task" not in browser.get("/tugas/").get_data(as_text=True)  # once
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.DIKEMBALIKAN


def test_verdicts_sent_by_the_task_pages_script_are_answered_in_json(browser, db, people):
    sid, other = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")
    task_id = _open_task(db, sid)
    mine, theirs = items_of(db, sid)[0].id, items_of(db, other)[0].id
    browser.login("verif.kec")
    script = {"Accept": "application/json"}
    kept = browser.post(f"/tugas/{task_id}/putusan", {f"verdict_{mine}": "sesuai"}, f"/tugas/{task_id}", headers=script)
    assert kept.status_code == 200 and kept.get_json() == {"tersimpan": 1}
    refused = browser.post(
        f"/tugas/{task_id}/putusan", {f"verdict_{theirs}": "sesuai"}, f"/tugas/{task_id}", headers=script
    )
    assert refused.status_code == 400 and refused.get_json()["ok"] is False  # said to the script, not a redirect


def test_the_reconciliations_people_work_their_inbox_but_not_a_verification_task(db, stewards, signed_in):
    """A walidata reaches the inbox for the reconciliation's steps; a verification task's page, its
    decision and the bulk approval are the verifiers' and validators' alone."""
    sid = _submitted(db)
    decide(db, "verif.kec", sid, "approve")
    task_id = _open_task(db, sid)
    walidata = signed_in("walidata.kab")
    assert walidata.get("/tugas/").status_code == 200
    assert walidata.get(f"/tugas/{task_id}").status_code == 403
    decision = walidata.post(f"/tugas/{task_id}/selesai", {"keputusan": "setuju"}, token_from="/tugas/")
    bulk = walidata.post("/tugas/setujui", {"wilayah": "65.01", "periode": "2026-Q4"}, token_from="/tugas/")
    assert decision.status_code == 403 and bulk.status_code == 403
    with db.read() as s:
        assert s.get(HumanTask, task_id).status.value == "terbuka"


def test_a_decision_on_a_task_a_colleague_took_meanwhile_is_refused_on_the_task_page(browser, db, people):
    """The colleague's claim is said on the task page itself, beside the items, not on an error page."""
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kec.dua", "verifier", "65.01.01")
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kec.dua"), task_id)
    browser.login("verif.kec")
    form = {"keputusan": "kembalikan", "alasan": "Cek umur Maria lagi"}
    refused = browser.post(f"/tugas/{task_id}/selesai", form, token_from=f"/tugas/{task_id}")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "diklaim oleh verif.kec.dua" in page
    assert 'class="task-meta"' in page and person_row(1)["nama"] in page
    with db.read() as s:
        assert s.get(HumanTask, task_id).status.value == "terbuka"


def test_carrying_last_rounds_verdicts_on_a_first_round_says_none_and_stays_on_the_task(browser, db, people):
    task_id = _open_task(db, _submitted(db))
    browser.login("verif.kec")
    carried = browser.post(f"/tugas/{task_id}/putusan-lalu", token_from=f"/tugas/{task_id}")
    assert carried.status_code == 302 and carried.headers["Location"] == f"/tugas/{task_id}"
    assert _flashed(browser) == [("ok", "0 item yang tidak berubah sejak dikembalikan dinilai sesuai lagi.")]


# The village operator's pages


def test_checking_a_draft_counts_every_error_and_names_the_first_three(browser, db, people):
    sid = open_with_items(db, rows=[person_row(n) for n in range(1, 5)])
    with db.transaction() as s:
        for item in items_of(db, sid):
            s.merge(item).data = {**item.data, "nik": "99"}
    browser.login("op.desa")
    checked = browser.post(f"/desa/pengajuan/{sid}/periksa", {}, token_from=f"/desa/pengajuan/{sid}")
    assert checked.status_code == 302 and checked.headers["Location"] == f"/desa/pengajuan/{sid}"
    said = _flashed(browser)
    assert said[0] == ("error", "Pemeriksaan selesai: 4 kesalahan harus diperbaiki sebelum diajukan.")
    assert len(said) == 4 and {kind for kind, _ in said} == {"error"}, said


def test_a_template_asked_for_without_a_category_is_refused_with_a_message(browser, db, people):
    browser.login("op.desa")
    refused = browser.get("/desa/templat")
    assert refused.status_code == 400 and "Pilih kategori templat" in refused.get_data(as_text=True)


def test_a_verifier_of_the_desa_cannot_use_the_operators_forms_and_nothing_changes(db, people, signed_in):
    """The kecamatan oversees the desa's work but does not do it: each of the operator's forms answers
    it as the wrong role, and the entry, the register and the submission stay as they were."""
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    verifier = signed_in("verif.kec")
    forms = {
        f"/desa/pengajuan/{sid}/item/baru?kategori=LUT": person_row(2),
        f"/desa/pengajuan/{sid}/item/{item.id}": {**person_row(1), "nama": "Diganti"},
        f"/desa/pengajuan/{sid}/item/{item.id}/buang": {},
        f"/desa/pengajuan/{sid}/register": {"item_id": [str(item.id)], "status": "meninggal"},
        f"/desa/pengajuan/{sid}/pernyataan": {"aksi": "nihil"},
        f"/desa/pengajuan/{sid}/ajukan": {},
    }
    for path, form in forms.items():
        assert verifier.post(path, form, token_from="/tugas/").status_code == 403, path
    (after,) = items_of(db, sid)
    assert (after.data, after.dibuang, after.verval) == (item.data, False, None)
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.DRAF


def test_a_warnings_note_field_holds_as_much_as_the_rule_keeps_on_the_card_and_in_the_box_for_other_pages(
    browser, db, people
):
    """The page bounds a note where the rule does: a field cut at a lower bound would lose, on a phone,
    what the rule would have kept."""
    from engine.quality import flags
    from engine.verification import decisions
    from models import QualityFlag
    from tests.integration.test_record_rules import person

    rows = [person(n, no_kk="9999991705500001") if n in (1, 25) else person(n) for n in range(1, 26)]
    sid = _submitted(db, rows=rows)
    task_id = _open_task(db, sid)
    with db.read() as s:
        warnings = s.scalars(select(QualityFlag.id).where(QualityFlag.submission_id == sid)).all()
    browser.login("verif.kec")
    page = f"/tugas/{task_id}"
    browser.post(f"{page}/klaim", token_from=page)
    first, second = (browser.get(f"{page}?tampil=semua&halaman={n}").get_data(as_text=True) for n in (1, 2))
    for text in (first, second):  # a card's field on one page, the box for other pages' warnings on the other
        fields = [part.split(">")[0] for part in text.split('name="ack_')[1:]]
        assert fields and all(f'maxlength="{flags.NOTE_LIMIT}"' in field for field in fields)
    assert f'maxlength="{decisions.VERDICT_REASON_LIMIT}"' in first.split('id="alasan-')[1].split(">")[0]
    assert f'maxlength="{flags.NOTE_LIMIT}"' in first.split('id="alasan"')[1].split(">")[0]
    long_note = "dicek di musdes; " * 100  # 1,700 characters: within the rule, past the old field's 1,000
    judged = {f"verdict_{i.id}": "sesuai" for i in items_of(db, sid)}
    notes = {f"ack_{f}": long_note for f in warnings}
    done = browser.post(f"{page}/selesai", {"keputusan": "setuju", **judged, **notes}, token_from=page)
    assert done.status_code == 302
    with db.read() as s:
        assert {f.ack_note for f in s.scalars(select(QualityFlag).where(QualityFlag.submission_id == sid))} == {
            long_note.strip()
        }
