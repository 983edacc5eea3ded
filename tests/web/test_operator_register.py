"""The village operator's register in the browser's place: every record re-verified each period,
corrected where it is wrong, or the register stated as not checkable, with the reason."""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import func, select

from models import AuditEvent, HumanTask, Record
from tests.factories import csv_of, decide, items_of, open_period, open_with_items, person_row, submit
from tests.web.page_forms import mark_on_register


def _verified_register(db, rows):
    first = open_with_items(db, rows=rows)
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    return open_period(db, "2027-Q1", [])


def test_the_next_period_starts_from_the_register_and_each_record_gets_a_status(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2), person_row(3)])
    browser.login("op.desa")
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "0 dari 3 catatan sudah diperiksa" in page and "Periksa 3 catatan yang belum" in page
    listing = browser.get(f"/desa/pengajuan/{sid}/register").get_data(as_text=True)
    assert all(person_row(n)["nama"] in listing for n in (1, 2, 3))
    assert 'Lanjut Usia Terlantar <span class="code">LUT</span>' in listing  # the category by its name
    ids = [i.id for i in items_of(db, sid)]
    # still eligible: one tap; any other status needs its reason
    browser.post(
        f"/desa/pengajuan/{sid}/register", {"item_id": ids[0], "status": "layak"}, token_from=f"/desa/pengajuan/{sid}"
    )
    refused = browser.post(
        f"/desa/pengajuan/{sid}/register",
        {"item_id": ids[1], "status": "meninggal", "alasan": ""},
        token_from=f"/desa/pengajuan/{sid}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "tuliskan alasannya" in refused
    mark_on_register(browser, sid, {"item_id": ids[1], "status": "pindah", "alasan": "ikut anak", "tujuan": "Tarakan"})
    items = {i.id: i for i in items_of(db, sid)}
    assert (items[ids[0]].aksi.value, items[ids[0]].verval.value) == ("periksa", "layak")
    assert (items[ids[1]].aksi.value, items[ids[1]].verval.value) == ("hapus", "pindah")
    assert items[ids[1]].data["tujuan_pindah"] == "Tarakan" and "ikut anak" in items[ids[1]].data["alasan_hapus"]
    # the third is unchecked: the submission does not go up
    refused = browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    assert refused.status_code == 400 and "1 dari 3 catatan register belum diberi status" in refused.get_data(
        as_text=True
    )
    browser.post(
        f"/desa/pengajuan/{sid}/register", {"item_id": [ids[2]], "status": "layak"}, token_from=f"/desa/pengajuan/{sid}"
    )
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}").status_code == 302
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ITEM_VERVAL_SET")) == 3


def test_correcting_a_record_reported_not_found_says_it_is_now_found_and_records_it(browser, db, people):
    sid = _verified_register(db, [person_row(1)])
    (item_id,) = [i.id for i in items_of(db, sid)]
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": item_id, "status": "tidak_ditemukan", "alasan": "tidak ada di alamat"})
    corrected = {**person_row(1), "alamat": "RT 02 Dusun Baru"}
    page = browser.post(
        f"/desa/pengajuan/{sid}/item/{item_id}", corrected, token_from=f"/desa/pengajuan/{sid}", follow_redirects=True
    ).get_data(as_text=True)
    assert "Data tersimpan" in page and "Status register &#34;tidak ditemukan&#34; diganti" in page
    (item,) = items_of(db, sid)
    assert (item.aksi.value, item.verval.value, item.data["alamat"]) == ("ubah", "layak", "RT 02 Dusun Baru")
    with db.read() as s:
        last = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "ITEM_VERVAL_SET").order_by(AuditEvent.seq.desc())
        ).first()
        assert (last.before["verval"], last.after["verval"]) == ("tidak_ditemukan", "layak")


def test_a_register_that_could_not_be_checked_is_stated_with_its_reason(browser, db, people):
    sid = _verified_register(db, [person_row(1)])
    browser.login("op.desa")
    refused = browser.post(
        f"/desa/pengajuan/{sid}/pernyataan",
        {"aksi": "tidak_diperiksa", "alasan": ""},
        token_from=f"/desa/pengajuan/{sid}",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Tuliskan mengapa" in refused
    browser.post(
        f"/desa/pengajuan/{sid}/pernyataan",
        {"aksi": "tidak_diperiksa", "alasan": "banjir, akses putus"},
        token_from=f"/desa/pengajuan/{sid}",
    )
    page = browser.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "register tidak dapat diperiksa periode ini" in page and "banjir, akses putus" in page
    assert browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}").status_code == 302
    browser.login("verif.kec")  # the kecamatan reads the records as left unchecked, not as confirmed
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    cards = browser.get(f"/tugas/{task}?tampil=dikonfirmasi").get_data(as_text=True)
    assert "Tetap di register (1)" in cards and "tetap di register, belum diperiksa desa" in cards
    assert "diperiksa ulang" not in cards.split('class="cards"')[1]
    with db.read() as s:
        before = s.scalar(select(Record.versi))
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    with db.read() as s:  # approved, the record nobody looked at is not written as re-verified
        assert s.scalar(select(Record.versi)) == before
        reverified = select(func.count()).where(AuditEvent.action == "RECORD_REVERIFIED")
        assert s.scalar(reverified) == 0


def test_correcting_a_record_from_the_register_returns_to_the_register_where_it_was(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    item_id = items_of(db, sid)[1].id
    browser.login("op.desa")
    register = browser.get(f"/desa/pengajuan/{sid}/register?status=belum").get_data(as_text=True)
    link = html.unescape(re.search(rf'href="(/desa/pengajuan/{sid}/item/{item_id}\?kembali=[^"]+)"', register).group(1))
    form = browser.get(link).get_data(as_text=True)
    assert "Kembali ke register" in form and 'name="kembali"' in form
    where = f"/desa/pengajuan/{sid}/register?status=belum#catatan-{item_id}"
    corrected = {**person_row(2), "alamat": "RT 03", "kembali": where}
    saved = browser.post(f"/desa/pengajuan/{sid}/item/{item_id}", corrected, token_from=link)
    assert saved.status_code == 302
    assert saved.headers["Location"] == where
    elsewhere = {**person_row(2), "alamat": "RT 04", "kembali": "https://contoh.example/"}
    went = browser.post(f"/desa/pengajuan/{sid}/item/{item_id}", elsewhere, token_from=link).headers["Location"]
    assert went == f"/desa/pengajuan/{sid}"  # never another site: the submission the entry belongs to


def test_a_search_travels_in_the_form_so_a_nik_stays_out_of_the_address_and_the_links(browser, db, people):
    rows = [person_row(n) for n in range(1, 28)]  # 27 records: two pages of 25
    sid = _verified_register(db, rows)
    wanted = rows[4]["nik"]
    browser.login("op.desa")
    listing = browser.get(f"/desa/pengajuan/{sid}/register").get_data(as_text=True)
    assert f'action="/desa/pengajuan/{sid}/register/cari"' in listing and 'method="get"' not in listing.split("cari")[1]
    found = browser.post(
        f"/desa/pengajuan/{sid}/register/cari", {"status": "belum", "q": wanted}, token_from=f"/desa/pengajuan/{sid}"
    )
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and "1 catatan" in page and rows[4]["nama"] in page
    links = re.findall(r'(?:href|action|value)="([^"]*/desa/[^"]*)"', page)
    assert links and not [link for link in links if wanted in html.unescape(link)]
    # a marking made from the results returns to the listing, not to the search
    assert f'name="kembali" value="/desa/pengajuan/{sid}/register?status=belum&amp;halaman=1"' in page
    # an address written with a search is not one: the listing is shown whole
    ignored = browser.get(f"/desa/pengajuan/{sid}/register?q={wanted}").get_data(as_text=True)
    assert "27 catatan" in ignored
    # the results' pages are asked by the form as well
    second = browser.post(
        f"/desa/pengajuan/{sid}/register/cari",
        {"status": "belum", "q": "Maria Ingan", "halaman": "2"},
        token_from=f"/desa/pengajuan/{sid}",
    ).get_data(as_text=True)
    assert "halaman 2 dari 2" in second and 'name="halaman" value="1"' in second
    empty = browser.post(
        f"/desa/pengajuan/{sid}/register/cari", {"status": "semua", "q": " "}, token_from=f"/desa/pengajuan/{sid}"
    )
    assert empty.status_code == 302 and empty.headers["Location"] == f"/desa/pengajuan/{sid}/register?status=semua"


def test_the_records_of_a_page_still_without_a_status_are_found_eligible_with_one_button(browser, db, people):
    """A kelurahan re-verifies thousands of records: one button, without a script, marks those of the
    page not yet checked as still eligible, and leaves a status given before as it was."""
    sid = _verified_register(db, [person_row(n) for n in range(1, 5)])
    ids = [i.id for i in items_of(db, sid)]
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": ids[0], "status": "meninggal", "alasan": "meninggal Maret"})
    listing = browser.get(f"/desa/pengajuan/{sid}/register").get_data(as_text=True)
    form = re.search(r'<form [^>]*id="page-form">(.*?)</form>', listing, re.S).group(1)
    assert "Tandai 3 yang belum diperiksa di halaman ini: masih layak" in form
    posted = dict(re.findall(r'name="(csrf_token|kembali|status)" value="([^"]*)"', form))
    posted["item_id"] = re.findall(r'name="item_id" value="(\d+)"', form)
    assert sorted(map(int, posted["item_id"])) == ids[1:]
    assert browser.post(f"/desa/pengajuan/{sid}/register", posted).status_code == 302
    assert [i.verval.value for i in items_of(db, sid)] == ["meninggal", "layak", "layak", "layak"]
    assert 'id="page-form"' not in browser.get(f"/desa/pengajuan/{sid}/register").get_data(as_text=True)


def _summary_seen_by_the_kecamatan(browser, db, sid) -> str:
    """The desa submits, stating its register could not be checked; the kecamatan's table of the
    register before and after."""
    browser.post(
        f"/desa/pengajuan/{sid}/pernyataan",
        {"aksi": "tidak_diperiksa", "alasan": "banjir, akses putus"},
        token_from=f"/desa/pengajuan/{sid}",
    )
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{task}").get_data(as_text=True)
    return page.split('id="ringkasan-kategori"')[1].split("</table>")[0]


def test_the_verifier_sees_the_register_before_and_after_by_category(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2), person_row(3)])
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", {**person_row(4)})
    table = _summary_seen_by_the_kecamatan(browser, db, sid)
    cells = re.findall(r'<td class="num">([^<]*)</td>', table)
    assert cells == ["3", "1", "0", "4", "+1 (+33%)"], cells


def test_a_record_marked_or_moved_after_a_return_and_a_row_imported_since_are_said_changed(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    browser.login("op.desa")
    for item_id in (first, second):
        mark_on_register(browser, sid, {"item_id": item_id, "status": "layak"})
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    decide(db, "verif.kec", sid, "return", "catatan kedua sudah meninggal")
    mark_on_register(browser, sid, {"item_id": second, "status": "meninggal", "alasan": "meninggal Oktober 2026"})
    browser.post(  # a new row by a file
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of([person_row(3)]).encode()), "tambahan.csv")},
        token_from=f"/desa/pengajuan/{sid}/impor",
        content_type="multipart/form-data",
    )
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{task}?tampil=semua").get_data(as_text=True)
    marked = page.split(f'id="item-{second}"')[1].split("</li>")[0]
    assert (
        "Diubah desa setelah dikembalikan" in marked
        and "Tindakan: <del>diperiksa ulang</del> → <ins>dihapus dari register</ins>" in marked
    )
    added = [i.id for i in items_of(db, sid) if i.data.get("nama") == person_row(3)["nama"]][0]
    assert "Ditambahkan desa setelah dikembalikan" in page.split(f'id="item-{added}"')[1].split("</li>")[0]
    assert "setelah dikembalikan" not in page.split(f'id="item-{first}"')[1].split("</li>")[0]


def test_a_record_moved_to_another_category_leaves_its_old_one_and_is_new_in_the_other(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2), person_row(3)])
    moved, gone = (i.id for i in items_of(db, sid)[1:])
    browser.login("op.desa")
    browser.post(f"/desa/pengajuan/{sid}/item/{moved}", {**person_row(2), "kategori": "PD"})
    browser.post(f"/desa/pengajuan/{sid}/item/{gone}", {**person_row(3), "kategori": "PD"})
    # moved, then found dead: it leaves the old category and never comes into the new
    mark_on_register(browser, sid, {"item_id": gone, "status": "meninggal", "alasan": "meninggal Oktober 2026"})
    table = _summary_seen_by_the_kecamatan(browser, db, sid)
    rows = [re.findall(r'<td class="num">([^<]*)</td>', r) for r in table.split("<tr")[2:]]
    assert rows == [["3", "0", "2", "1", "-2 (-67%)"], ["0", "1", "0", "1", "+1"]], rows  # LUT, then PD


def test_a_register_record_found_by_a_file_after_a_return_is_said_found_not_added(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    browser.login("op.desa")
    browser.post(
        f"/desa/pengajuan/{sid}/register", {"item_id": first, "status": "layak"}, token_from=f"/desa/pengajuan/{sid}"
    )
    browser.post(
        f"/desa/pengajuan/{sid}/pernyataan",
        {"aksi": "tidak_diperiksa", "alasan": "banjir, akses putus"},
        token_from=f"/desa/pengajuan/{sid}",
    )
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    decide(db, "verif.kec", sid, "return", "catatan kedua belum diperiksa")
    browser.post(  # the second record, as the register has it, in a file
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of([person_row(2)]).encode()), "register.csv")},
        token_from=f"/desa/pengajuan/{sid}/impor",
        content_type="multipart/form-data",
    )
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        found = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ITEM_VERVAL_SET").order_by(AuditEvent.seq.desc())
        )
    assert (found.subject_id, found.before["verval"], found.after["verval"]) == (str(second), None, "layak")
    browser.login("verif.kec")
    card = browser.get(f"/tugas/{task}?tampil=semua").get_data(as_text=True).split(f'id="item-{second}"')[1]
    card = card.split("</li>")[0]
    assert "Diubah desa setelah dikembalikan" in card and "Ditambahkan" not in card


def _import(browser, sid, rows):
    return browser.post(
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of(rows).encode()), "lagi.csv")},
        token_from=f"/desa/pengajuan/{sid}/impor",
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_file_that_lists_a_record_marked_died_says_it_made_it_eligible_again(browser, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    died = next(i.id for i in items_of(db, sid) if i.data["nama"] == person_row(1)["nama"])
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": died, "status": "meninggal", "alasan": "meninggal 3 Januari"})
    page = _import(browser, sid, [person_row(1)]).get_data(as_text=True)  # last quarter's file, still listing them
    assert "sudah diberi status keluar" in html.unescape(page)
    assert next(i for i in items_of(db, sid) if i.id == died).verval.value == "layak"  # the file's word stands, told


def test_a_register_row_sent_again_unchanged_after_a_return_is_not_said_changed(browser, db, people):
    from tests.web.test_judging import _task

    sid = _verified_register(db, [person_row(1), person_row(2)])
    submit(db, "op.desa", sid)  # every register record found, still eligible
    first, second = (i.id for i in sorted(items_of(db, sid), key=lambda i: i.data["nama"]))
    decide(db, "verif.kec", sid, "return", "alamat item kedua kurang", {second: "alamat kurang"})
    browser.login("op.desa")
    _import(browser, sid, [person_row(1)])  # the desa's file again, the first record's row as it was
    assert next(i for i in items_of(db, sid) if i.id == first).aksi.value == "periksa"
    browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{_task(db, sid)}?tampil=semua").get_data(as_text=True)
    card = page.split(f'id="item-{first}"')[1].split("</li>")[0]
    assert "setelah dikembalikan" not in card and "Nilai sesuai lagi 1 item" in page


def test_a_register_larger_than_one_batch_is_carried_whole(db, people, monkeypatch):
    from engine.verification import register

    monkeypatch.setattr(register, "PREFILL_BATCH", 2)  # 5,000 records a batch in production
    sid = _verified_register(db, [person_row(n) for n in range(1, 6)])
    carried = sorted(i.data["nama"] for i in items_of(db, sid))
    assert carried == sorted(person_row(n)["nama"] for n in range(1, 6))


def test_a_record_removed_by_another_periods_approval_is_taken_out_of_the_list_and_said_so(browser, db, people):
    """The next period was opened before this one's death was approved: the person leaves the next
    period's list, and its operator reads why, with the name, instead of a record gone without a word."""
    from engine.verification import items, register
    from models import VervalStatus
    from tests.factories import actor

    first = open_with_items(db, rows=[person_row(1), person_row(2)])
    submit(db, "op.desa", first)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, first, "approve")
    dying, later = open_period(db, "2027-Q1", []), open_period(db, "2027-Q2", [])
    with db.transaction() as s:
        register.prefill(s, {"65.01.01.2005": dying})
        register.prefill(s, {"65.01.01.2005": later})
    copy = next(i.id for i in items_of(db, dying) if i.nik == person_row(2)["nik"])
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), dying, [copy], VervalStatus.MENINGGAL, "wafat")
    corrected = next(i.id for i in items_of(db, later) if i.nik == person_row(2)["nik"])
    with db.transaction() as s:  # the later period's operator had corrected the copy meanwhile
        values = {k: person_row(2)[k] for k in items.ITEM_COLUMNS} | {"alamat": "RT 09"}
        items.save_item(s, actor(db, "op.desa"), later, values, corrected)
    submit(db, "op.desa", dying)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, dying, "approve")
    browser.login("op.desa")
    listing = browser.get(f"/desa/pengajuan/{later}/register?status=semua").get_data(as_text=True)
    said = listing.split('id="dikeluarkan"')[1].split("</p>")[0]
    assert "oleh pengajuan periode lain yang disetujui" in said and html.escape(person_row(2)["nama"]) in said
    assert "(meninggal: wafat, periode 2027-Q1)" in said  # why, and which period said so
    assert "0 dari 1 catatan sudah diperiksa" in listing
    # a mark sent from a page opened before the approval names the person, not an id
    with db.read() as s:
        gone = next(i.id for i in items_of(db, later) if i.nik == person_row(2)["nik"])
    refused = browser.post(
        f"/desa/pengajuan/{later}/register",
        {"item_id": str(gone), "status": "layak"},
        token_from=f"/desa/pengajuan/{later}/register?status=semua",
    )
    told = browser.get(refused.headers["Location"]).get_data(as_text=True)
    assert "status lainnya belum disimpan" in told and html.escape(person_row(2)["nama"]) in told
    # the corrected copy is set aside, said so, and offered no "Kembalikan" that would always be refused
    page = browser.get(f"/desa/pengajuan/{later}").get_data(as_text=True)
    assert "Orangnya sudah dikeluarkan dari register" in page
    assert f"/item/{corrected}/kembalikan" not in page
