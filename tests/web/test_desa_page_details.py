"""The village operator's pages in the details a person on a phone meets: where a mark or a search
returns to, what a page still holds after it is sent, and what the signed minutes leave behind."""

from __future__ import annotations

from sqlalchemy import select

from engine.verification import submissions
from models import Submission, SubmissionItem
from tests.factories import csv_of, decide, items_of, open_period, open_with_items, person_row, submit
from tests.web.page_forms import MINUTES, attach_minutes, form_of, mark_on_register, page_of, send_form, text_of


def _register_of(db, serials) -> int:
    """Next period's submission, starting from these verified records."""
    first = open_with_items(db, rows=[person_row(n) for n in serials])
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    return open_period(db, "2027-Q1", [])


def test_marking_a_record_on_the_second_register_page_returns_to_that_page(browser, db, people):
    sid = _register_of(db, range(1, 28))
    browser.login("op.desa")
    listing = browser.get(f"/desa/pengajuan/{sid}/register?status=semua&halaman=2").get_data(as_text=True)
    assert "halaman 2 dari 2" in listing
    later = sorted(i.id for i in items_of(db, sid))[-1]
    marked = mark_on_register(
        browser,
        sid,
        {"item_id": later, "status": "layak", "kembali": f"/desa/pengajuan/{sid}/register?status=semua&halaman=2"},
    )
    assert marked.status_code == 302 and "halaman=2" in marked.headers["Location"]
    assert f'name="kembali" value="/desa/pengajuan/{sid}/register?status=semua&amp;halaman=2"' in listing


def test_the_other_status_form_keeps_the_reason_already_given(browser, db, people):
    sid = _register_of(db, [1])
    (item_id,) = [i.id for i in items_of(db, sid)]
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": item_id, "status": "meninggal", "alasan": "wafat 12-03-2027"})
    listing = browser.get(f"/desa/pengajuan/{sid}/register?status=semua").get_data(as_text=True)
    assert f'id="alasan-{item_id}" name="alasan" required maxlength="1000" value="wafat 12-03-2027"' in listing
    # "still eligible" has its own one-tap button; the other-status list offers only what needs a reason
    other = listing.split(f'<select id="status-{item_id}"')[1].split("</select>")[0]
    assert 'value="layak"' not in other and 'value="meninggal" selected' in other


def test_paging_through_search_results_keeps_the_search(browser, db, people):
    sid = _register_of(db, range(1, 28))
    browser.login("op.desa")
    found = browser.post(
        f"/desa/pengajuan/{sid}/register/cari",
        {"status": "semua", "q": "Maria"},
        token_from=f"/desa/pengajuan/{sid}",
    ).get_data(as_text=True)
    nav = found.split('class="pager"')[1].split("</nav>")[0]
    assert 'name="q" value="Maria"' in nav and 'name="halaman" value="2"' in nav


def test_the_signed_minutes_are_never_kept_in_a_cache(browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")
    attach_minutes(browser, sid)
    own = browser.get(f"/desa/berita-acara/{sid}")
    sent = own.data
    own.close()  # closed before anything is judged
    assert sent == MINUTES and own.headers["Cache-Control"] == "no-store"


def test_a_nil_report_can_be_withdrawn_from_the_submission_page(browser, db, people):
    sid = open_period(db, "2026-Q4", [])
    page = f"/desa/pengajuan/{sid}"
    browser.login("op.desa")
    send_form(browser, page, "/pernyataan", chosen={"aksi": "nihil"})
    reported = text_of(browser.get(page))
    assert "Dilaporkan nihil" in reported and "Tarik laporan nihil" in reported
    send_form(browser, page, "/pernyataan", chosen={"aksi": "bukan_nihil"})
    withdrawn = text_of(browser.get(page))
    assert "Dilaporkan nihil" not in withdrawn and "Laporkan nihil" in withdrawn
    with db.read() as s:
        assert s.get(Submission, sid).nihil is False


def test_a_record_given_another_status_can_still_be_found_eligible_in_one_tap(browser, db, people):
    sid = _register_of(db, [1])
    (item_id,) = [i.id for i in items_of(db, sid)]
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": item_id, "status": "tidak_ditemukan", "alasan": "tidak ada di alamat"})
    listing = f"/desa/pengajuan/{sid}/register?status=semua"
    card = text_of(browser.get(listing)).split(f'id="catatan-{item_id}"')[1].split("</li>")[0]
    assert 'name="status" value="layak"' in card and "tidak ditemukan" in card


def test_marking_a_whole_register_page_eligible_returns_to_that_page(browser, db, people):
    sid = _register_of(db, range(1, 28))
    browser.login("op.desa")
    sent = send_form(browser, f"/desa/pengajuan/{sid}/register?halaman=2", "#page-form")
    assert sent.status_code == 302 and "halaman=2" in sent.headers["Location"]
    assert sum(1 for i in items_of(db, sid) if i.verval and i.verval.value == "layak") == 2


def test_set_aside_items_are_shown_open_while_they_can_still_be_restored(browser, db, people):
    sid = open_with_items(db)
    item_id = items_of(db, sid)[0].id
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/item/{item_id}/buang", {}, token_from=f"/desa/pengajuan/{sid}")
    assert '<details id="disisihkan" open>' in text_of(browser.get(f"/desa/pengajuan/{sid}"))


def test_the_problems_of_a_refused_file_download_as_a_named_csv(browser, db, people):
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    bad = csv_of([{**person_row(1), "kategori": "XXX"}]).encode()
    done = send_form(browser, f"/desa/pengajuan/{sid}/impor", "", files={"berkas": (bad, "data.csv")})
    listed = browser.get(done.headers["Location"] + "/masalah.csv")
    disposition = listed.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')


def test_a_statement_that_the_register_could_not_be_checked_is_withdrawn_from_the_page_until_sent(browser, db, people):
    """Said by mistake, the statement is taken back with the page's own button; once the submission
    went up with it, the page shows it without the button."""
    sid = _register_of(db, [1])
    back = f"/desa/pengajuan/{sid}"
    browser.login("op.desa")
    said = {"aksi": "tidak_diperiksa", "alasan": "banjir"}
    browser.post(f"{back}/pernyataan", said, token_from=back)
    assert form_of(page_of(browser, back), "/pernyataan").fields["aksi"] == "tarik"
    assert send_form(browser, back, "/pernyataan").status_code == 302
    assert "banjir" not in text_of(browser.get(back))
    browser.post(f"{back}/pernyataan", said, token_from=back)
    submit(db, "op.desa", sid)
    sent = page_of(browser, back)
    assert "banjir" in sent.text_content() and not [f for f in sent.forms if "/pernyataan" in f.get("action", "")]


def test_the_items_set_aside_are_paged_without_leaving_their_list(browser, db, people, monkeypatch):
    monkeypatch.setattr(submissions, "PAGE_SIZE", 2)
    sid = open_with_items(db, rows=[person_row(n) for n in (1, 2, 3)])
    with db.transaction() as s:
        for item in s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)):
            item.dibuang = True
    browser.login("op.desa")
    doc = page_of(browser, f"/desa/pengajuan/{sid}?tampil=disisihkan")
    (onward,) = [a.get("href") for a in doc.iter("a") if "Berikutnya" in a.text_content()]
    assert "halaman=2" in onward and "tampil=disisihkan" in onward
