"""Verifiers see everything they judge and judge it themselves: no verdict chosen for them, a claim
before deciding, every change judged at the kecamatan, the minutes when required, bulk decisions at
the kabupaten/kota and the province, and the cycle's progress for the kecamatan too."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from engine.people import users
from engine.verification import claims
from models import AuditEvent, FlagStatus, HumanTask, ItemVerdict, Submission, SubmissionItem, SubmissionStatus, Verdict
from tests.factories import SYSTEM, actor, csv_of, decide, decide_task, open_with_items, person_row, submit


def _submitted(db, desa="65.01.01.2005", operator="op.desa", rows=None):
    sid = open_with_items(db, rows=rows, desa=desa)
    submit(db, operator, sid)
    return sid


def _task(db, sid):
    with db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))


def _bulk_return(browser, task_id: int) -> str:
    """The kabupaten returns the chosen task with the inbox's bulk action; the page it lands on."""
    return browser.post(
        "/tugas/setujui",
        {"task_id": [str(task_id)], "keputusan": "kembalikan", "alasan": "angka lansia tidak wajar"},
        token_from="/tugas/",
        follow_redirects=True,
    ).get_data(as_text=True)


def _items(db, sid):
    with db.read() as s:
        return list(s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid).order_by("id")))


def test_no_verdict_is_chosen_for_the_verifier_and_every_field_is_shown(browser, db, people):
    sid = _submitted(db, rows=[person_row(1, alamat="RT 03 Dusun Ilir", keterangan="musdes 2026")])
    task_id = _task(db, sid)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert "RT 03 Dusun Ilir" in page and "musdes 2026" in page and person_row(1)["no_kk"] in page
    assert re.search(r'name="verdict_\d+" value="sesuai" checked', page) is None
    assert "Klaim tugas" in page


def test_deciding_claims_the_task_and_needs_a_verdict_on_every_change(browser, db, people):
    sid = _submitted(db)
    task_id = _task(db, sid)
    first, second = _items(db, sid)
    browser.login("verif.kec")
    half = browser.post(
        f"/tugas/{task_id}/selesai",
        {"keputusan": "setuju", f"verdict_{first}": "sesuai", "alasan": "cek umur"},
        token_from=f"/tugas/{task_id}",
    )
    page = half.get_data(as_text=True)  # the task page again, with what was chosen and written
    assert half.status_code == 400 and "1 item belum diberi putusan" in page and 'role="alert"' in page
    assert 'value="setuju" required checked' in page and ">cek umur</textarea>" in page
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None  # a refused decision claims nothing
    done = browser.post(
        f"/tugas/{task_id}/selesai",
        {"keputusan": "setuju", f"verdict_{first}": "sesuai", f"verdict_{second}": "sesuai"},
        token_from=f"/tugas/{task_id}",
    )
    assert done.status_code == 302
    with db.read() as s:
        assert s.get(Submission, sid).tingkat.value == "kabupaten"
        claimed = s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "TASK_CLAIMED"))
        assert claimed == "verif.kec"  # claimed as it was decided, on the trail


def test_verdicts_saved_item_by_item_claim_the_task_and_stay_the_persons_draft(browser, db, people, signed_in):
    sid = _submitted(db)
    task_id = _task(db, sid)
    first, second = _items(db, sid)
    browser.login("verif.kec")
    missing_reason = browser.post(
        f"/tugas/{task_id}/putusan",
        {f"verdict_{first}": "tidak_sesuai", f"alasan_{first}": ""},
        token_from=f"/tugas/{task_id}",
        headers={"Accept": "application/json"},
    )
    refusal = missing_reason.get_json()
    assert missing_reason.status_code == 400 and refusal["ok"] is False and refusal["message"]
    with db.read() as s:  # the item named as its card shows it: no item number is on the page
        item = s.get(SubmissionItem, first)
        assert (
            refusal["problems"][0]["message"] == f"tuliskan mengapa {item.data['nama']} ({item.kategori}) tidak sesuai"
        )
    saved = browser.post(
        f"/tugas/{task_id}/putusan",
        {f"verdict_{first}": "tidak_sesuai", f"alasan_{first}": "umur tidak sesuai KTP"},
        token_from=f"/tugas/{task_id}",
        headers={"Accept": "application/json"},
    )
    assert saved.get_json() == {"tersimpan": 1}
    with db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is not None  # judging took the claim
        verdict = s.scalar(select(ItemVerdict).where(ItemVerdict.item_id == first))
        assert verdict.verdict == Verdict.TIDAK_SESUAI and verdict.human_task_id == task_id
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert f'id="v-{first}-no" name="verdict_{first}" value="tidak_sesuai" checked' in page
    assert "umur tidak sesuai KTP" in page and "(tersimpan)" in page
    # another verifier of the kecamatan sees who works the task, not the draft as a tier's verdict
    other = signed_in("verif.kec")
    assert "kecamatan: tidak sesuai" not in other.get(f"/tugas/{task_id}").get_data(as_text=True)
    # the whole page saved without scripts, then the return carries the saved verdict
    browser.post(
        f"/tugas/{task_id}/putusan", {f"verdict_{second}": "sesuai", "tampil": "semua"}, token_from=f"/tugas/{task_id}"
    )
    done = browser.post(
        f"/tugas/{task_id}/selesai", {"keputusan": "kembalikan", "alasan": "cek umur"}, token_from=f"/tugas/{task_id}"
    )
    assert done.status_code == 302
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.DIKEMBALIKAN
        kept = dict(s.execute(select(ItemVerdict.item_id, ItemVerdict.verdict)).all())
    assert kept == {first: Verdict.TIDAK_SESUAI, second: Verdict.SESUAI}


def test_verdicts_on_items_of_another_submission_are_refused(browser, db, people):
    sid, other = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")
    foreign = _items(db, other)[0]
    browser.login("verif.kec")
    refused = browser.post(
        f"/tugas/{_task(db, sid)}/putusan",
        {f"verdict_{foreign}": "sesuai"},
        token_from=f"/tugas/{_task(db, sid)}",
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400 and "bukan bagian" in refused.get_json()["problems"][0]["message"]


def test_the_kecamatan_cannot_approve_without_required_minutes(browser, db, people, minutes_required):
    sid = open_with_items(db)
    with db.transaction() as s:  # submitted with its minutes waived at the time, as after a setting change
        s.get(Submission, sid).berita_acara = "x.pdf"
    submit(db, "op.desa", sid)
    with db.transaction() as s:
        s.get(Submission, sid).berita_acara = None
    task_id = _task(db, sid)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert "tidak dapat disetujui sebelum dilampirkan" in page
    browser.post(f"/tugas/{task_id}/klaim", token_from=f"/tugas/{task_id}")
    judged = {f"verdict_{i}": "sesuai" for i in _items(db, sid)}
    refused = browser.post(
        f"/tugas/{task_id}/selesai", {"keputusan": "setuju", **judged}, token_from=f"/tugas/{task_id}"
    )
    assert refused.status_code == 400 and "berita acara" in refused.get_data(as_text=True)


def test_the_kabupaten_approves_a_region_and_period_at_once_and_hears_what_was_not(browser, db, people):
    from models import QualityFlag
    from tests.integration.test_record_rules import person

    clean = _submitted(db)
    warned = _submitted(db, "65.01.01.2006", "op.lain", rows=[person(31, no_kk="9999991705500001")])
    decide(db, "verif.kec", clean, "approve")
    with db.transaction() as s:
        flags = s.scalars(select(QualityFlag.id).where(QualityFlag.submission_id == warned)).all()
        decide_task(s, "verif.kec", _task(db, warned), "approve", acknowledgements=dict.fromkeys(flags, "dicek"))
    with db.transaction() as s:  # the acknowledgement is withdrawn: the warning stands again
        for flag in s.scalars(select(QualityFlag).where(QualityFlag.submission_id == warned)):
            flag.status, flag.ack_note = FlagStatus.TERBUKA, None
    browser.login("verif.kab")
    inbox = browser.get("/tugas/").get_data(as_text=True)
    assert "Setujui semua" in inbox
    done = browser.post(
        "/tugas/setujui", {"wilayah": "65.01.01", "periode": "2026-Q4"}, token_from="/tugas/", follow_redirects=True
    )
    text = done.get_data(as_text=True)
    assert "1 tugas disetujui" in text and f"#{_task(db, warned)} tidak diputuskan" in text and "belum diakui" in text
    # why, in a sentence: the points are on the task's page (listed here they filled the session cookie
    # past what a browser keeps, and named form fields such as "ack_1")
    assert "kolom ack_" not in text
    with db.read() as s:
        assert s.get(Submission, clean).tingkat.value == "provinsi"
        assert s.get(Submission, warned).tingkat.value == "kabupaten"
        by_kab = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "TASK_COMPLETED", AuditEvent.actor == "verif.kab")
        ).all()
    assert len(by_kab) == 1  # the approved task is its own audited decision
    assert by_kab[0].after["massal"] is True  # approved with others, not item by item


def test_bulk_return_takes_one_reason_and_the_kecamatan_cannot_bulk_approve(browser, db, people, signed_in):
    sid = _submitted(db)
    decide(db, "verif.kec", sid, "approve")
    kec = signed_in("verif.kec")
    assert kec.post("/tugas/setujui", {"task_id": [str(_task(db, sid))]}, token_from="/tugas/").status_code == 403
    browser.login("verif.kab")
    no_reason = browser.post(
        "/tugas/setujui",
        {"task_id": [str(_task(db, sid))], "keputusan": "kembalikan", "pilihan": "dipilih"},
        token_from="/tugas/",
        follow_redirects=True,
    )
    assert "Alasan pengembalian wajib diisi" in no_reason.get_data(as_text=True)  # said on the inbox itself
    none_ticked = browser.post("/tugas/setujui", {"pilihan": "dipilih"}, token_from="/tugas/", follow_redirects=True)
    assert "Belum ada tugas yang dipilih" in none_ticked.get_data(as_text=True)
    for region, said in (("65.02", "di luar wilayah kerja Anda (65.01)"), ("65.01.01", "Tidak ada tugas terbuka")):
        nothing = browser.post(  # another kabupaten's; its own, in a period without open tasks
            "/tugas/setujui", {"wilayah": region, "periode": "2027-Q1"}, token_from="/tugas/", follow_redirects=True
        ).get_data(as_text=True)
        assert said in nothing and "0 tugas disetujui" not in nothing
    with db.read() as s:
        assert s.get(Submission, sid).status != SubmissionStatus.DIKEMBALIKAN
    kab_task = _task(db, sid)
    returned = browser.post(
        "/tugas/setujui",
        {"task_id": [str(kab_task)], "keputusan": "kembalikan", "alasan": "angka lansia tidak wajar"},
        token_from="/tugas/",
    )
    said = browser.get(returned.headers["Location"]).get_data(as_text=True)
    assert "1 tugas dikembalikan." in said and "tugas disetujui" not in said
    with db.read() as s:
        submission = s.get(Submission, sid)
        assert submission.status == SubmissionStatus.DIKEMBALIKAN
        assert submission.alasan_terakhir.endswith("angka lansia tidak wajar")
    stale = _bulk_return(browser, kab_task)  # the same list again, from a tab opened before: said as decided
    assert "sudah diputuskan sebelumnya" in stale and "di wilayah Anda" not in stale
    assert "Tidak ada tugas yang diputuskan" in stale and "0 tugas dikembalikan" not in stale
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    english = _bulk_return(browser, kab_task)
    assert "already decided" in english and "sudah diputuskan" not in english


def test_the_kecamatan_follows_its_desa_in_the_cycle_status_with_a_total(browser, db, people):
    _submitted(db)
    browser.login("verif.kec")
    page = browser.get("/siklus/").get_data(as_text=True)
    assert "65.01.01.2005" in page and "Jumlah 65.01.01" in page and "2026-Q4" in page
    assert browser.get("/siklus/?induk=65.01.02").status_code in (200, 404)
    assert "65.01.02.2" not in browser.get("/siklus/?induk=65.01.02").get_data(as_text=True)


def test_a_colleagues_verdicts_stay_theirs_after_the_task_changes_hands(browser, db, people, signed_in, password_hash):
    """A verifier judges an item and releases the task; a colleague takes it, judges another and
    returns it. Each verdict carries who gave it, on the record and on the trail."""
    from engine.core.actors import Actor
    from engine.people import users
    from models import User

    with db.transaction() as s:
        users.add_user(s, Actor.system("test"), "verif.kec.dua", "verifier", "65.01.01").password_hash = password_hash
    sid = _submitted(db)
    task_id = _task(db, sid)
    first, second = _items(db, sid)
    page = f"/tugas/{task_id}"
    json = {"Accept": "application/json"}
    browser.login("verif.kec")
    browser.post(
        f"{page}/putusan",
        {f"verdict_{first}": "tidak_sesuai", f"alasan_{first}": "oleh A"},
        token_from=page,
        headers=json,
    )
    assert browser.post(f"{page}/lepas", {}, token_from=page).status_code == 302
    colleague = signed_in("verif.kec.dua")
    colleague.post(f"{page}/klaim", {}, token_from=page)
    colleague.post(f"{page}/putusan", {f"verdict_{second}": "sesuai"}, token_from=page, headers=json)
    done = colleague.post(f"{page}/selesai", {"keputusan": "kembalikan", "alasan": "cek umur"}, token_from=page)
    assert done.status_code == 302
    with db.read() as s:
        names = dict(s.execute(select(User.id, User.username)).all())
        by = {v.item_id: names[v.user_id] for v in s.scalars(select(ItemVerdict))}
        saved = [
            (e.actor, sorted(e.after))
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "VERDICTS_SAVED").order_by(AuditEvent.seq))
        ]
    assert by == {first: "verif.kec", second: "verif.kec.dua"}
    assert saved == [("verif.kec", [str(first)]), ("verif.kec.dua", [str(second)])]


def test_a_bulk_approval_larger_than_its_item_budget_goes_in_turns_and_says_so(browser, db, people, monkeypatch):
    """A city of large kelurahan would be one request past the server's timeout, with nothing kept:
    the action takes the tasks whose items fit the budget, says how many are left, and the same
    action again continues with them."""
    from engine.verification import bulk_approval

    first, second = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")  # two items each
    for sid in (first, second):
        decide(db, "verif.kec", sid, "approve")
    monkeypatch.setattr(bulk_approval, "ITEM_BUDGET", 3)
    browser.login("verif.kab")
    turns = []
    for _ in range(2):
        answer = browser.post(
            "/tugas/setujui", {"wilayah": "65.01.01", "periode": "2026-Q4"}, token_from="/tugas/", follow_redirects=True
        )
        turns.append(answer.get_data(as_text=True))
        with db.read() as s:
            turns.append([s.get(Submission, sid).tingkat.value for sid in (first, second)])
    assert "1 tugas disetujui" in turns[0] and "1 tugas lagi belum diputuskan" in turns[0]
    assert turns[1] == ["provinsi", "kabupaten"]  # the first turn is kept whole
    assert "1 tugas disetujui" in turns[2] and "belum diputuskan" not in turns[2]
    assert turns[3] == ["provinsi", "provinsi"]


def test_warnings_on_two_pages_are_noted_and_approved_from_either_page(browser, db, people):
    from models import QualityFlag
    from tests.integration.test_record_rules import person

    rows = [person(n, no_kk="9999991705500001") if n in (1, 25) else person(n) for n in range(1, 26)]
    sid = _submitted(db, rows=rows)
    task_id = _task(db, sid)
    with db.read() as s:
        warnings = s.scalars(select(QualityFlag.id).where(QualityFlag.submission_id == sid)).all()
    assert len(warnings) == 2
    browser.login("verif.kec")
    page = f"/tugas/{task_id}"
    browser.post(f"{page}/klaim", token_from=page)
    second = browser.get(f"{page}?tampil=semua&halaman=2").get_data(as_text=True)
    box = second.split('id="peringatan-lain"')[1].split("</fieldset>")[0]
    assert "1 peringatan di halaman lain belum diberi catatan" in box and "Maria Ingan 1 (LUT)" in box
    judged = {f"verdict_{i}": "sesuai" for i in _items(db, sid)}
    notes = {f"ack_{f}": "KK pindahan, dicek di musdes" for f in warnings}
    refused = browser.post(f"{page}/selesai?tampil=semua&halaman=2", {"keputusan": "setuju", **judged}, token_from=page)
    said = refused.get_data(as_text=True).split('role="alert"')[1].split("</div>")[0]
    assert refused.status_code == 400 and all(f'href="#ack-{f}"' in said for f in warnings)  # each leads to its note
    assert all(f'id="ack-{f}"' in refused.get_data(as_text=True) for f in warnings)
    done = browser.post(
        f"{page}/selesai?tampil=semua&halaman=2", {"keputusan": "setuju", **judged, **notes}, token_from=page
    )
    assert done.status_code == 302
    with db.read() as s:
        assert s.get(Submission, sid).tingkat.value == "kabupaten"
        assert {f.status for f in s.scalars(select(QualityFlag).where(QualityFlag.submission_id == sid))} == {"diakui"}


def test_after_a_return_last_rounds_in_order_is_kept_for_items_the_desa_did_not_touch(browser, db, people):
    sid = _submitted(db, rows=[person_row(1), person_row(2), person_row(3)])
    first, second, third = _items(db, sid)
    decide(db, "verif.kec", sid, "return", "nama item pertama salah eja", {first: "nama salah eja"})
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/item/{first}", {**person_row(1), "nama": "Maria Ingang"})
    browser.post(f"/desa/pengajuan/{sid}/item/{third}", {**person_row(3), "alamat": "RT 02 Tanjung Palas"})
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    task_id = _task(db, sid)
    browser.login("verif.kec")
    page = f"/tugas/{task_id}"
    assert "Nilai sesuai lagi 1 item yang tidak berubah sejak dikembalikan" in browser.get(page).get_data(as_text=True)
    done = browser.post(f"{page}/putusan-lalu", token_from=page, follow_redirects=True).get_data(as_text=True)
    assert "1 item yang tidak berubah sejak dikembalikan dinilai sesuai lagi." in done
    with db.read() as s:
        now = {
            v.item_id: v.verdict.value
            for v in s.scalars(select(ItemVerdict).where(ItemVerdict.human_task_id == task_id))
        }
    assert now == {second: "sesuai"}  # the corrected item and the one changed since are left to the verifier
    assert "Nilai sesuai lagi" not in browser.get(page).get_data(as_text=True)  # nothing left to carry
    again = browser.post(f"{page}/putusan-lalu", token_from=page, follow_redirects=True).get_data(as_text=True)
    assert "0 item yang tidak berubah" in again  # nothing twice


def test_a_row_sent_again_unchanged_after_a_return_is_not_said_changed_and_keeps_its_verdict(browser, db, people):
    sid = _submitted(db, rows=[person_row(1), person_row(2)])
    first, second = _items(db, sid)
    decide(db, "verif.kec", sid, "return", "nama item kedua salah eja", {second: "nama salah eja"})
    browser.login("op.desa")
    browser.post(  # the whole file again, its first row as it was
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of([person_row(1)]).encode()), "lagi.csv")},
        token_from=f"/desa/pengajuan/{sid}/impor",
        content_type="multipart/form-data",
    )
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    task_id = _task(db, sid)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{task_id}?tampil=semua").get_data(as_text=True)
    assert "setelah dikembalikan" not in page.split(f'id="item-{first}"')[1].split("</li>")[0]
    assert "Nilai sesuai lagi 1 item" in page


def test_a_decision_on_a_task_a_colleague_holds_is_refused_with_their_name(browser, db, people):
    sid = _submitted(db)
    decide(db, "verif.kec", sid, "approve")
    held = _task(db, sid)  # the kabupaten's, which a colleague holds
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kab.dua", "verifier", "65.01")
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab.dua"), held)
    judged = {f"verdict_{i}": "sesuai" for i in _items(db, sid)}
    browser.login("verif.kab")
    page = f"/tugas/{held}"
    refused = browser.post(f"{page}/selesai", {"keputusan": "setuju", **judged}, token_from=page)
    assert refused.status_code == 409 and "diklaim oleh verif.kab.dua" in refused.get_data(as_text=True)
    with db.read() as s:
        assert s.get(HumanTask, held).status.value == "terbuka"


def test_a_stale_task_form_still_carrying_the_old_field_name_is_refused(browser, db, people):
    """A task page opened before the upgrade that renamed `revisi` to `revisi_instans` is still checked."""
    from tests.web.test_verifier_pages import _all_in_order, _claimed, _open_task, _submitted

    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    _claimed(browser, task_id)
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    revision = int(re.search(r'name="revisi_instans" value="(\d+)"', page).group(1))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # the page as the release before rendered it, opened before the instance last moved
    stale = {"keputusan": "setuju", "revisi": str(revision - 1), "csrf_token": token, **_all_in_order(db, sid)}
    answer = browser.client.post(f"/tugas/{task_id}/selesai", data=stale)
    assert answer.status_code == 409, answer.status_code
    assert _open_task(db, sid) == task_id  # nothing decided on the stale page
