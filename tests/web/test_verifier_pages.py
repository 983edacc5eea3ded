"""Verifiers at work: the inbox with its filters, claims, the task page and its decisions."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from engine.bpmn import timers
from engine.core.actors import Actor
from engine.verification import inbox, status
from models import AuditEvent, HumanTask, ItemAction, Submission, SubmissionItem, SubmissionStatus
from tests.factories import actor, decide, items_of, open_with_items, person_row, submit


def _submitted(db, desa="65.01.01.2005", operator="op.desa", rows=None):
    sid = open_with_items(db, rows=rows, desa=desa)
    submit(db, operator, sid)
    return sid


def _open_task(db, sid):
    with db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))


def _claimed(browser, task_id):
    """The verifier claims the task first, as the task page asks before deciding."""
    browser.post(f"/tugas/{task_id}/klaim", token_from=f"/tugas/{task_id}")
    return task_id


def _all_in_order(db, sid):
    with db.read() as s:
        ids = s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)).all()
    return {f"verdict_{i}": "sesuai" for i in ids}


def test_the_inbox_lists_my_region_with_filters_and_sorting(browser, db, people, signed_in):
    mine, neighbour = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")
    browser.login("verif.kec")
    page = browser.get("/tugas/").get_data(as_text=True)
    assert f"#{_open_task(db, mine)}" in page and f"#{_open_task(db, neighbour)}" in page and "2 tugas" in page
    assert "Gunung Putih, Tanjung Palas" in page  # names beside the codes
    only = browser.get("/tugas/?wilayah=65.01.01.2006").get_data(as_text=True)
    assert f"#{_open_task(db, neighbour)}" in only and f"#{_open_task(db, mine)}" not in only
    assert "2 tugas" in browser.get("/tugas/?wilayah=65.01.01").get_data(as_text=True)  # a kecamatan: its desa
    mistyped = browser.get("/tugas/?wilayah=65.01.01.20", follow_redirects=True).get_data(as_text=True)
    assert "kode wilayah &#39;65.01.01.20&#39; tidak sah" in mistyped and "2 tugas" in mistyped  # said, not 0
    assert "2 tugas" in browser.get("/tugas/?periode=2026-q4").get_data(as_text=True)  # as typed in lower case
    assert "0 tugas" in browser.get("/tugas/?periode=2025-Q1").get_data(as_text=True)
    wide = browser.get("/tugas/?periode=\uff12\uff10\uff12\uff16-Q4", follow_redirects=True).get_data(as_text=True)
    assert "tidak sah" in wide and "2 tugas" in wide  # full-width digits are said, not read as a period of none
    assert "0 tugas" in browser.get("/tugas/?terlambat=true").get_data(as_text=True)
    with db.read() as s:
        due = s.scalar(select(HumanTask.due_at).where(HumanTask.id == _open_task(db, mine)))
    timers.fire_due_timers(db, due + timedelta(minutes=1))
    late = browser.get("/tugas/?terlambat=true&urut=prioritas").get_data(as_text=True)
    assert "2 tugas" in late and "terlambat" in late
    other = signed_in("verif.kec.lain").get("/tugas/").get_data(as_text=True)
    assert "0 tugas" in other


def test_the_header_counts_every_open_task_once_on_any_inbox_view(browser, db, people, statements):
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        _submitted(db, desa, operator)
    browser.login("verif.kec")
    counts = []
    for path in ("/tugas/", "/tugas/?halaman=2", "/tugas/?wilayah=65.01.01.2006", "/tugas/?status=semua", "/siklus/"):
        statements.clear()
        page = browser.get(path).get_data(as_text=True)
        counts.append(sum("human_task" in statement and "count(" in statement for statement in statements))
        assert '<strong id="open-count">2</strong>' in page, path  # the filter narrows the list, not the header
    assert counts[:4] == [1, 1, 1, 2], counts  # a view of open tasks counts both in one scan


def test_the_header_reads_its_figures_in_one_statement_and_no_region_of_its_own(browser, db, people, statements):
    """Open tasks and unread notifications in one read; the names of the person's regions come with
    the person, on every page."""
    _submitted(db)
    browser.login("verif.kec")
    statements.clear()
    page = browser.get("/siklus/").get_data(as_text=True)
    header = [q for q in statements if "FROM notification" in q]
    assert len(header) == 1 and "FROM human_task" in header[0], header
    assert not [q for q in statements if q.startswith("SELECT region.kode, region.nama FROM region")]
    assert '<strong id="open-count">1</strong>' in page and "Gunung Putih" in page


def test_saved_filters_and_bulk_claims(browser, db, people, signed_in):
    first, second = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")
    browser.login("verif.kec")
    browser.post(
        "/tugas/filter", {"nama": "Gunung Putih", "wilayah": "65.01.01.2005", "status": "terbuka"}, token_from="/tugas/"
    )
    page = browser.get("/tugas/").get_data(as_text=True)
    assert "Gunung Putih" in page and "wilayah=65.01.01.2005" in page
    ids = [str(_open_task(db, first)), str(_open_task(db, second))]
    browser.post("/tugas/klaim", {"task_id": ids, "aksi": "klaim"}, token_from="/tugas/")
    with db.read() as s:
        assert {
            t.assignee_id is not None
            for t in s.scalars(select(HumanTask).where(HumanTask.id.in_([int(i) for i in ids])))
        } == {True}
    taken = signed_in("verif.kec")
    taken.post("/tugas/klaim", {"task_id": ids, "aksi": "lepas"}, token_from="/tugas/")
    with db.read() as s:
        assert {t.assignee_id for t in s.scalars(select(HumanTask).where(HumanTask.id.in_([int(i) for i in ids])))} == {
            None
        }


def test_the_task_page_shows_items_earlier_verdicts_the_minutes_and_the_path(browser, db, people, app, signed_in):
    sid = _submitted(db)
    kec_page = signed_in("verif.kec").get(f"/tugas/{_open_task(db, sid)}").get_data(as_text=True)
    assert person_row(1)["nik"] in kec_page  # the kecamatan checks people against their documents
    decide(db, "verif.kec", sid, "approve")
    task_id = _open_task(db, sid)
    browser.login("verif.kab")
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert person_row(1)["nama"] in page and "kecamatan: sesuai" in page
    assert "650101**********" in page  # the kabupaten does not need full NIKs, nor family card numbers
    assert person_row(1)["no_kk"] not in page and f"{person_row(1)['no_kk'][:6]}**********" in page
    assert person_row(1)["no_kk"] in kec_page
    assert 'class="bpmn-viewer"' in page and "verifikasi_kecamatan" in page and "verifikasi_kabupaten" in page
    assert "Desa belum mengunggah berita acara" in page and person_row(1)["nik"] not in page


def test_an_earlier_rounds_verdict_without_a_reason_reads_as_the_verdict_alone(browser, db, people):
    sid = _submitted(db)
    decide(db, "verif.kec", sid, "approve")
    decide(db, "verif.kab", sid, "return", "cek lagi")
    submit(db, "op.desa", sid)
    browser.login("verif.kec")
    page = html.unescape(browser.get(f"/tugas/{_open_task(db, sid)}").get_data(as_text=True))
    assert "putaran 1, kecamatan: sesuai</div>" in page and "None" not in page


def test_returning_with_item_verdicts_and_a_reason(browser, db, people):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    with db.read() as s:
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid))
    browser.login("verif.kec")
    _claimed(browser, task_id)
    form = {
        "keputusan": "kembalikan",
        "alasan": "Cek ulang umur",
        f"verdict_{item_id}": "tidak_sesuai",
        f"alasan_{item_id}": "umur 58, bukan lansia",
    }
    done = browser.post(f"/tugas/{task_id}/selesai", form, token_from=f"/tugas/{task_id}")
    assert done.status_code == 302
    with db.read() as s:
        submission = s.get(Submission, sid)
        assert submission.status == SubmissionStatus.DIKEMBALIKAN and "Cek ulang umur" in submission.alasan_terakhir


def test_a_return_without_reason_is_refused_at_the_field(browser, db, people):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    _claimed(browser, task_id)
    refused = browser.post(
        f"/tugas/{task_id}/selesai", {"keputusan": "kembalikan", "alasan": ""}, token_from=f"/tugas/{task_id}"
    )
    assert refused.status_code == 400 and "Alasan wajib" in refused.get_data(as_text=True)
    assert _open_task(db, sid) == task_id


def test_a_stale_form_gets_a_conflict_and_no_double_action(browser, db, people, app):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    _claimed(browser, task_id)
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    import re

    revision = re.search(r'name="revisi_instans" value="(\d+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"keputusan": "setuju", "revisi_instans": revision, "csrf_token": token, **_all_in_order(db, sid)}
    first = browser.client.post(f"/tugas/{task_id}/selesai", data=form)
    assert first.status_code == 302
    again = browser.client.post(f"/tugas/{task_id}/selesai", data=form)
    assert again.status_code == 409 and "sudah selesai" in again.get_data(as_text=True)
    with db.read() as s:
        assert (
            len(
                s.scalars(
                    select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.tingkat == "kabupaten")
                ).all()
            )
            == 1
        )


def test_a_task_claimed_by_someone_else_cannot_be_completed(browser, db, people, app, signed_in):
    from engine.people import users
    from tests.factories import SYSTEM

    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kec2", "verifier", "65.01.01").password_hash = users.find_user(
            s, "verif.kec"
        ).password_hash
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    browser.post(f"/tugas/{task_id}/klaim", token_from=f"/tugas/{task_id}")
    rival = signed_in("verif.kec2")
    page = rival.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert "diklaim oleh verif.kec" in page
    assert "Sedang dikerjakan oleh verif.kec." in page  # who holds the claim, by name
    refused = rival.post(f"/tugas/{task_id}/selesai", {"keputusan": "setuju"}, token_from=f"/tugas/{task_id}")
    assert refused.status_code == 409 and "diklaim oleh verif.kec" in refused.get_data(as_text=True)


def test_the_submitter_sees_why_they_cannot_verify(browser, db, people):
    from engine.people import users
    from tests.factories import SYSTEM

    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa", "verifier", "65.01.01")
    sid = _submitted(db)
    browser.login("op.desa")
    page = browser.get(f"/tugas/{_open_task(db, sid)}").get_data(as_text=True)
    assert "empat mata" in page and 'id="kirim-keputusan"' not in page


def test_warnings_are_acknowledged_with_a_note_on_the_task_page(browser, db, people):
    from models import QualityFlag
    from tests.integration.test_record_rules import person

    sid = _submitted(db, rows=[person(1, no_kk="9999991705500001")])  # a KK of no known region: a warning
    task_id = _open_task(db, sid)
    with db.read() as s:
        flag_id = s.scalar(select(QualityFlag.id).where(QualityFlag.submission_id == sid))
    browser.login("verif.kec")
    _claimed(browser, task_id)
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert f'name="ack_{flag_id}"' in page and "kode wilayah KK" in page
    judged = _all_in_order(db, sid)
    refused = browser.post(
        f"/tugas/{task_id}/selesai", {"keputusan": "setuju", **judged}, token_from=f"/tugas/{task_id}"
    )
    assert refused.status_code == 400 and "belum diakui" in refused.get_data(as_text=True)
    with db.read() as s:  # each warning says whose it is, as the cards name people (no item numbers)
        item = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
    assert f"{item.data['nama']} ({item.kategori}): " in html.unescape(refused.get_data(as_text=True))
    done = browser.post(
        f"/tugas/{task_id}/selesai",
        {"keputusan": "setuju", f"ack_{flag_id}": "KK lama, sudah dicek", **judged},
        token_from=f"/tugas/{task_id}",
    )
    assert done.status_code == 302
    with db.read() as s:
        assert s.get(QualityFlag, flag_id).ack_note == "KK lama, sudah dicek"


def test_the_task_page_counts_its_views_in_one_scan_and_reads_the_task_once(browser, db, people, statements):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    _claimed(browser, task_id)
    with db.read() as s:
        first = s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)).first()
    browser.post(f"/tugas/{task_id}/putusan", {f"verdict_{first}": "sesuai"}, token_from=f"/tugas/{task_id}")
    statements.clear()
    page = browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    item_counts = [q for q in statements if "count(" in q and "FROM submission_item" in q and "GROUP BY" not in q]
    task_reads = [q for q in statements if q.startswith("SELECT human_task.id") and "LEFT OUTER JOIN submission" in q]
    assert len(item_counts) == 1 and len(task_reads) == 1, (item_counts, task_reads)
    # the tiers' verdicts and the person's saved ones, DTSEN by NIK and by card, the region's flags
    # and their total: one read each
    for read in ("SELECT item_verdict.", "SELECT dtsen_entry.", "FROM quality_flag WHERE quality_flag.item_id IS NULL"):
        reads = [q for q in statements if q.startswith(read) or read.startswith("FROM") and read in q]
        assert len(reads) == 1, (read, reads)
    assert page.count("(tersimpan)") == 1 and 'value="sesuai" checked' in page  # the saved verdict shows
    assert not [q for q in statements if "bpmn_xml" in q]  # the path taken comes from the parsed definition
    assert not [q for q in statements if q.startswith("SELECT process_definition")]  # read with the instance
    assert "Perubahan (2)" in page and "Belum diberi putusan (1)" in page and "Semua (2)" in page, page
    done = json.loads(html.unescape(re.search(r"data-done='([^']*)'", page).group(1)))
    assert {"f_mulai", "f_ajukan"} <= set(done), done  # the path taken, flows included


def test_a_page_number_out_of_range_is_refused_in_the_pages_language(browser, people):
    browser.login("verif.kec")
    refused = browser.get("/tugas/?halaman=-1")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "bilangan bulat 1 sampai 100000" in page and "Must be" not in page


def test_a_page_beyond_the_last_shows_the_last_page_and_its_tasks(browser, db, people):
    task = _open_task(db, _submitted(db))
    browser.login("verif.kec")
    page = browser.get("/tugas/?halaman=3&per_halaman=10").get_data(as_text=True)
    assert f"#{task}" in page and "1 tugas" in page  # a link kept from when there were three pages
    assert f"#{task}" in browser.get("/tugas/?halaman=100000").get_data(as_text=True)


def test_an_inbox_page_beyond_the_last_is_the_last_and_says_so(db, people):
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        _submitted(db, desa, operator)
    verifier = actor(db, "verif.kec")
    with db.read() as s:
        beyond = inbox.inbox_page(s, verifier, inbox.InboxFilter(halaman=7, per_halaman=10))
        first = inbox.inbox_page(s, verifier, inbox.InboxFilter(per_halaman=10))
    assert beyond.filter.halaman == 1 and [t.id for t in beyond.tasks] == [t.id for t in first.tasks]
    assert [inbox._page_count(total, 10) for total in (0, 1, 10, 11, 20, 21)] == [1, 1, 1, 2, 2, 3]


def test_a_nik_written_in_a_flag_or_a_reason_is_masked_where_the_fields_are(db, people, signed_in):
    """Another person's NIK in a flag's message, and a NIK or family card number a verifier typed into a
    reason, read as the NIK fields do: whole for the kecamatan, masked above it and for the auditor."""
    from engine.core import clock
    from models import QualityFlag

    other, card = "6501010707700021", "6501012222220021"
    sid = _submitted(db)
    with db.read() as s:
        item = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).first()
    decide(db, "verif.kec", sid, "return", reason=f"cek KK {card}", verdicts={item.id: f"NIK benar {other}"})
    submit(db, "op.desa", sid)
    with db.transaction() as s:  # what the checks found on the submission sent again
        s.add(
            QualityFlag(
                rule="duplikat_mirip",
                severity="info",
                message=f"kemungkinan orang yang sama dengan Agus (NIK {other}, anggota KK {card})",
                region_kode="65.01.01.2005",
                submission_id=sid,
                item_id=item.id,
                sources={},
                status="diakui",
                ack_by="verif.kec",
                ack_tingkat="kecamatan",
                ack_note=f"sudah dicek, KK {card} benar",
                created_at=clock.now(),
            )
        )
        # what the import's checks wrote on the entry, and a free text the operator typed
        entry = s.get(SubmissionItem, item.id)
        entry.masalah = [
            {"kolom": "nik", "tingkat": "warning", "pesan": f"NIK berbeda satu angka dengan Agus (NIK {other})"}
        ]
        entry.data = {**entry.data, "alamat": f"RT 02, menumpang di KK {card}"}
        s.get(Submission, sid).tidak_diperiksa = f"banjir; NIK {other}9 pindah tanpa surat"  # a digit too many
    judged = _open_task(db, sid)
    kec_page = signed_in("verif.kec").get(f"/tugas/{judged}").get_data(as_text=True)
    assert other in kec_page and card in kec_page
    decide(db, "verif.kec", sid, "approve")
    # decided, the check is no longer the kecamatan's to make: its page reads the numbers as everyone else
    later = signed_in("verif.kec").get(f"/tugas/{judged}?tampil=semua").get_data(as_text=True)
    assert other not in later and card not in later and "650101**********" in later
    assert item.nik not in later and "menumpang di KK" in later
    kab = signed_in("verif.kab")
    page = kab.get(f"/tugas/{_open_task(db, sid)}?tampil=semua").get_data(as_text=True)
    assert "kemungkinan orang yang sama" in page and "cek KK" in page and "NIK benar" in page
    assert "berbeda satu angka" in page and "menumpang di KK" in page and "sudah dicek" in page
    assert "banjir; NIK 650101*********** pindah" in page  # the operator's statement too
    assert other not in page and card not in page and "650101**********" in page
    with db.read() as s:
        instance = s.get(Submission, sid).instance_id
    trail = signed_in("auditor.prov").get(f"/audit/instans/{instance}").get_data(as_text=True)
    assert "kemungkinan orang yang sama" in trail and other not in trail and card not in trail


def test_a_decided_task_says_when_it_was_decided_not_how_late_it_is(browser, db, people):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    decide(db, "verif.kec", sid, "approve")
    browser.login("verif.kec")
    meta = browser.get(f"/tugas/{task_id}").get_data(as_text=True).split('class="task-meta"')[1].split("</p>")[0]
    assert "Diputuskan" in meta and "Batas waktu" not in meta


def test_an_escalated_task_comes_first_when_sorted_by_priority(browser, db, people):
    first, late = _submitted(db), _submitted(db, "65.01.01.2006", "op.lain")
    with db.transaction() as s:
        status.mark_overdue(s, Actor.system("test"), s.get(HumanTask, _open_task(db, late)))
    browser.login("verif.kec")
    listed = browser.get("/tugas/?urut=prioritas").get_data(as_text=True)
    assert listed.index(f"#{_open_task(db, late)}") < listed.index(f"#{_open_task(db, first)}")


def test_a_resubmission_says_its_last_return_and_what_the_desa_changed_since(browser, db, people):
    sid = _submitted(db, rows=[person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    decide(db, "verif.kec", sid, "return", "Nama Maria Ingan 1 salah eja", {first: "nama salah eja"})
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/item/{first}", {**person_row(1), "nama": "Maria Ingang"})
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{_open_task(db, sid)}?tampil=semua").get_data(as_text=True)
    box = page.split('id="dikembalikan"')[1].split("</div>")[0]
    assert "Nama Maria Ingan 1 salah eja" in box and "1 item diubah atau ditambah desa sejak itu" in box
    card = page.split(f'id="item-{first}"')[1].split("</li>")[0]
    assert "Diubah desa setelah dikembalikan" in card and "<del>Maria Ingan 1</del> → <ins>Maria Ingang</ins>" in card
    assert "setelah dikembalikan" not in page.split(f'id="item-{second}"')[1].split("</li>")[0]


def test_the_inbox_says_the_round_the_warnings_and_each_decision(browser, db, people):
    from tests.integration.test_record_rules import person

    warned = _submitted(db, rows=[person(1, no_kk="9999991705500001")])
    again = _submitted(db, "65.01.01.2006", "op.lain")
    decide(db, "verif.kec", again, "return", "berita acara belum ditandatangani")
    submit(db, "op.lain", again)
    browser.login("verif.kec")
    inbox = browser.get("/tugas/").get_data(as_text=True)
    row = inbox.split(f"#{_open_task(db, warned)}</a>")[1].split("</td>")[0]
    assert "1 peringatan" in row
    assert "putaran 2" in inbox.split(f"#{_open_task(db, again)}</a>")[1].split("</td>")[0]
    done = browser.get("/tugas/?status=selesai").get_data(as_text=True)
    assert "selesai: dikembalikan" in done


def test_the_task_page_says_what_another_periods_approval_changed_under_it(browser, db, people):
    """An item set aside while the task waited (as `in_work.after_approval` does when another period's
    approval takes the person off the register) is named on the page, with the reason and period."""
    from engine.verification.drafts import set_aside

    sid = _submitted(db, rows=[person_row(1), person_row(2)])
    with db.transaction() as s:
        item = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).first()
        instance = s.get(Submission, sid).instance_id
        why = "register diperbarui oleh pengajuan periode 2026-Q3 yang disetujui"
        set_aside(s, Actor.system("uji"), item, instance, why)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{_open_task(db, sid)}").get_data(as_text=True)
    said = page.split('id="disesuaikan"')[1].split("</div>")[0]
    assert html.escape(person_row(1)["nama"]) in said and "disisihkan" in said and "2026-Q3" in said


def test_a_verifiers_first_look_at_a_tasks_full_niks_is_on_the_trail_once(browser, db, people, signed_in):
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")  # who checks people against documents: full NIKs, and the law asks who looked
    for _ in range(2):
        assert person_row(1)["nik"] in browser.get(f"/tugas/{task_id}").get_data(as_text=True)
    with db.read() as s:
        looks = s.execute(
            select(AuditEvent.actor, AuditEvent.subject_id, AuditEvent.after).where(AuditEvent.action == "NIK_VIEWED")
        ).all()
    assert looks == [("verif.kec", str(task_id), {"pengajuan": sid})]
    decide(db, "verif.kec", sid, "approve")
    regency = signed_in("verif.kab")  # NIKs masked above the kecamatan: nothing to record
    kab_task = _open_task(db, sid)
    assert person_row(1)["nik"] not in regency.get(f"/tugas/{kab_task}").get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "NIK_VIEWED")) == 1


def test_a_refused_decision_that_shows_full_niks_first_puts_the_look_on_the_trail(browser, db, people):
    """A verifier who decides straight from the inbox and is refused sees the task's full NIKs on
    the page sent back: that look is recorded as an opened page's is."""
    sid = _submitted(db)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    refused = browser.post(f"/tugas/{task_id}/selesai", {"keputusan": "kembalikan", "alasan": ""})
    assert refused.status_code in (400, 409) and person_row(1)["nik"] in refused.get_data(as_text=True)
    with db.read() as s:
        looks = s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "NIK_VIEWED")).all()
    assert looks == ["verif.kec"]


def test_an_item_sent_back_and_set_right_is_among_the_changes_the_verifier_opens_on(browser, db, people):
    """A register record the verifier found not in order, which the desa set back to "still
    eligible", is no change of the desa's: it is still the first thing the verifier looks for."""
    sid = open_with_items(db, rows=[person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    with db.transaction() as s:  # the first is a register record the desa confirmed as it stood
        s.get(SubmissionItem, first).aksi = ItemAction.PERIKSA
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", "Periksa lagi status Maria", {first: "masih hidup, dicek ke rumahnya"})
    submit(db, "op.desa", sid)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{_open_task(db, sid)}").get_data(as_text=True)
    assert f'id="item-{first}"' in page and f'id="item-{second}"' in page
    unjudged = browser.get(f"/tugas/{_open_task(db, sid)}?tampil=belum").get_data(as_text=True)
    assert f'id="item-{first}"' not in unjudged  # as approval asks: a verdict on each change
