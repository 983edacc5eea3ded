"""What a village (desa) operator sees and can do on the submission, register, entry and import pages:
the counts that say what is left, the fields a form requires before it is sent, the reasons a
kecamatan gave when it returned the submission, and an import's progress while it runs and after."""

from __future__ import annotations

from datetime import date

from lxml import html as lhtml

from engine.core import clock
from engine.quality.nik import compose
from engine.verification import imports, submissions
from models import DtsenEntry, ImportJob, Submission, SubmissionItem
from models.import_job import ImportStatus
from tests.factories import DESA, SYSTEM, decide, items_of, open_with_items, person_row, register_record, submit
from tests.integration.entry_steps import FAR_KK, _import, _register, _save
from tests.web.page_forms import mark_on_register, page_of, text_of


def _only(doc, xpath: str):
    found = doc.xpath(xpath)
    assert len(found) == 1, (xpath, len(found))
    return found[0]


def test_the_submission_page_says_what_is_left_of_the_register_and_what_came_in_since(browser, db, people):
    """Two records wait for a status; a third joined the register after the period opened; saying the
    register could not be checked needs a reason before the form goes."""
    sid, _ = _register(db, 1, 2)
    with db.transaction() as s:
        s.add(register_record(3))
    browser.login("op.desa")
    doc = page_of(browser, f"/desa/pengajuan/{sid}")
    text = doc.text_content()
    assert "1 catatan baru masuk register sejak periode ini dibuka" in text
    go = _only(doc, f"//a[@href='/desa/pengajuan/{sid}/register']")
    assert go.get("class") == "button primary" and "Periksa 2 catatan yang belum" in go.text_content()
    reason = _only(doc, "//textarea[@id='tidak-diperiksa']")
    assert reason.get("required") is not None and reason.get("name") == "alasan"


def test_a_returned_submission_shows_who_returned_it_and_why_on_every_page(browser, db, people):
    """The kecamatan's reason stands in the decisions' history, in the list of the desa's submissions
    beside the stage it is at, and above an entry added after the return, which no tier has judged yet."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", reason="alamat belum lengkap")
    browser.login("op.desa")
    doc = page_of(browser, f"/desa/pengajuan/{sid}")
    history = _only(doc, "//ol[@class='timeline']")
    assert "alamat belum lengkap" in history.text_content() and "verif.kec" in history.text_content()
    assert "Riwayat keputusan" in doc.text_content()
    listing = page_of(browser, "/desa/")
    (row,) = listing.xpath(f"//tr[.//a[@href='/desa/pengajuan/{sid}']]")
    with db.read() as s:
        stage = s.get(Submission, sid).tingkat.label
    cells = [td.text_content().strip() for td in row.xpath("./td")]
    assert cells[3] == stage and "alamat belum lengkap" in cells[4]
    _import(db, sid, [person_row(5)])  # entered after the return: judged by no one yet
    item_id = items_of(db, sid)[-1].id
    entry = page_of(browser, f"/desa/pengajuan/{sid}/item/{item_id}")
    note = _only(entry, "//div[@class='returns']")
    assert "Alasan pengembalian" in note.text_content() and "alamat belum lengkap" in note.text_content()


def test_the_items_set_aside_beyond_one_page_are_reached_from_their_list(browser, db, people, monkeypatch):
    """The set-aside list beside the items shows one page and leads to all of them, counted; the view
    chosen is the one a screen reader hears as current."""
    monkeypatch.setattr(submissions, "PAGE_SIZE", 2)
    sid = open_with_items(db, rows=[person_row(n) for n in (1, 2, 3)])
    with db.transaction() as s:
        for item in items_of(db, sid):
            s.get(SubmissionItem, item.id).dibuang = True
    browser.login("op.desa")
    doc = page_of(browser, f"/desa/pengajuan/{sid}")
    (more,) = [a for a in doc.iter("a") if "Lihat semua 3 yang disisihkan" in a.text_content()]
    assert "tampil=disisihkan" in more.get("href")
    tabs = page_of(browser, f"/desa/pengajuan/{sid}?tampil=disisihkan").xpath("//nav[@class='tabs']/a")
    current = {a.text_content().strip(): a.get("aria-current") for a in tabs}
    assert current == {"Semua data (0)": None, "Disisihkan (3)": "page"}


def test_the_signed_minutes_field_says_it_is_required_and_its_limit(browser, db, people, minutes_required):
    """Where the minutes are required the page says so, and a phone is told of a file too big at once."""
    sid = open_with_items(db)
    browser.login("op.desa")
    doc = page_of(browser, f"/desa/pengajuan/{sid}")
    assert "(wajib)" in _only(doc, "//h2[@id='h-minutes']").text_content()
    upload = _only(doc, "//input[@id='berkas-ba']")
    assert upload.get("required") is not None and upload.get("data-max-bytes") == str(10 * 1024 * 1024)
    assert "10 MB" in upload.get("data-say-too-big")


def test_the_register_page_counts_each_status_and_names_what_was_corrected(browser, db, people):
    """The filter says how many records each choice holds; a record corrected on its form says so; each
    card's tick box is named by the person it ticks, for a screen reader reading the boxes alone. On the
    submission a record proposed for removal is listed without the form that would correct it."""
    sid, ids = _register(db, 1, 2, 3)
    _save(db, sid, person_row(2, alamat="Jl. Sengkawit No. 9"), ids[1])
    browser.login("op.desa")
    mark_on_register(browser, sid, {"item_id": ids[0], "status": "meninggal", "alasan": "wafat 2 Mei"})
    doc = page_of(browser, f"/desa/pengajuan/{sid}/register?status=semua")
    shown = {o.get("value"): o.text_content().strip() for o in doc.xpath("//select[@id='status']/option")}
    assert shown["belum"].endswith("(1)") and shown["semua"].endswith("(3)")
    assert shown["meninggal"].endswith("(1)") and shown["pindah"].endswith("(0)")
    corrected = _only(doc, f"//li[@id='catatan-{ids[1]}']")
    assert "dengan perbaikan data" in corrected.text_content()
    assert "dengan perbaikan data" not in _only(doc, f"//li[@id='catatan-{ids[2]}']").text_content()
    tick = _only(doc, f"//input[@type='checkbox'][@value='{ids[2]}']")
    assert tick.get("aria-describedby") == f"nama-{ids[2]}" and tick.get("form") == "bulk-form"
    other = _only(doc, f"//input[@id='alasan-{ids[2]}']")
    assert other.get("required") is not None
    cards = page_of(browser, f"/desa/pengajuan/{sid}")
    edits = {li.get("id"): [a.text_content() for a in li.iter("a")] for li in cards.xpath("//li[@class='card']")}
    assert edits[f"item-{ids[0]}"] == [] and edits[f"item-{ids[1]}"] == ["Ubah"]  # proposed for removal: not edited


def test_a_register_search_keeps_what_was_typed_in_its_box(browser, db, people):
    """The results of a search show the words searched for, to refine them without typing again."""
    sid, _ = _register(db, 1, 2)
    browser.login("op.desa")
    found = browser.post(
        f"/desa/pengajuan/{sid}/register/cari", {"status": "semua", "q": "Ingan 2"}, token_from=f"/desa/pengajuan/{sid}"
    )
    doc = lhtml.fromstring(text_of(found))
    assert _only(doc, "//input[@id='q']").get("value") == "Ingan 2"
    assert _only(doc, "//form[@role='search']//input[@name='status']").get("value") == "semua"


def test_the_entry_form_requires_what_its_category_requires(browser, db, people):
    """A person's sex is required of a person, a family card of a family; a category for women says
    so in its criteria; and changing the category on a form opened from the register leads back there."""
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    woman = page_of(browser, f"/desa/pengajuan/{sid}/item/baru?kategori=PRSE&kembali=/desa/pengajuan/{sid}/register")
    assert _only(woman, "//select[@id='f-jenis_kelamin']").get("required") is not None
    assert "Jenis kelamin: P" in _only(woman, "//section[@class='criteria']").text_content()
    switch = _only(woman, "//form[@method='get'][.//select[@id='ganti-kategori']]")
    assert _only(switch, ".//input[@name='kembali']").get("value") == f"/desa/pengajuan/{sid}/register"
    family = page_of(browser, f"/desa/pengajuan/{sid}/item/baru?kategori=FM")
    assert _only(family, "//input[@name='no_kk']").get("required") is not None
    assert _only(family, "//input[@name='nik']").get("required") is None
    assert _only(family, "//select[@id='f-jenis_kelamin']").get("required") is None
    assert "Jenis kelamin:" not in _only(family, "//section[@class='criteria']").text_content()


def test_an_import_page_follows_the_file_while_it_waits_and_stops_once_it_is_in(browser, db, people):
    """The upload asks for a file of the kinds it reads, and no larger than it takes. While the file
    waits the page says so and asks again by itself; once it is in, the page stops asking, says the
    outcome as good news, leads to the items and lists the warnings for the verifiers."""
    sid = open_with_items(db, rows=[])
    rows = [{k: str(v) for k, v in person_row(n, no_kk=FAR_KK).items()} for n in (10, 11)]
    with db.transaction() as s:
        job_id = imports.create_job(s, SYSTEM, sid, "susulan.csv", rows).id
    browser.login("op.desa")
    upload = _only(page_of(browser, f"/desa/pengajuan/{sid}/impor"), "//input[@id='berkas']")
    assert upload.get("required") is not None and upload.get("accept") == ".xlsx,.csv"
    assert upload.get("data-max-bytes") == str(20 * 1024 * 1024)
    waiting = page_of(browser, f"/desa/impor/{job_id}")
    said = _only(waiting, "//p[@id='impor-kabar']")
    assert said.get("role") == "status" and said.get("data-status") == "menunggu"
    box = _only(waiting, "//div[@id='import-progress']")
    assert box.get("hx-get") == f"/desa/impor/{job_id}" and box.get("hx-trigger") == "every 1s"
    assert "menunggu giliran diperiksa" in box.text_content()
    assert "Lihat item pengajuan" not in box.text_content()
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    part = browser.get(f"/desa/impor/{job_id}", headers={"HX-Request": "true"})
    box = lhtml.fromstring(text_of(part))
    assert box.get("id") == "import-progress" and box.get("data-status") == "selesai" and box.get("hx-get") is None
    assert "menunggu giliran" not in box.text_content()
    (outcome,) = box.xpath(".//p[contains(@class, 'flash')][@role='status'][not(@hidden)]")
    assert outcome.get("class") == "flash ok" and "2 baris baru" in outcome.text_content()
    (onward,) = [a for a in box.iter("a") if "Lihat item pengajuan" in a.text_content()]
    assert onward.get("href") == f"/desa/pengajuan/{sid}"
    assert "peringatan untuk diperiksa verifikator" in _only(box, ".//details/summary").text_content()


def test_the_dtsen_list_for_the_village_deliberation_says_how_many_it_holds(browser, db, people):
    """The residents of deciles 1-2 not in any PPKS category are counted above their table."""
    sid = open_with_items(db)
    with db.transaction() as s:
        for serial in (77, 78):
            nik = compose("65.01.01", date(1980, 3, 9), "L", serial)
            s.add(DtsenEntry(nik=nik, no_kk=None, desil=1, program=["PKH"], region_kode=DESA))
    browser.login("op.desa")
    box = _only(page_of(browser, f"/desa/pengajuan/{sid}"), "//section[@class='dtsen-info']")
    (said,) = [p.text_content() for p in box.iter("p") if "desil 1-2" in p.text_content()]
    assert said.strip().endswith(": 2") and len(box.xpath(".//tbody/tr")) == 2


def test_a_running_import_says_when_every_row_is_checked_and_only_saving_is_left(browser, db, people):
    """A large file's last seconds are spent saving: once every row is checked the page says so, and
    not before; while it runs a note waits to say when the connection drops."""
    sid = open_with_items(db, rows=[])
    rows = [{k: str(v) for k, v in person_row(n).items()} for n in (10, 11, 12)]
    with db.transaction() as s:
        job = imports.create_job(s, SYSTEM, sid, "besar.csv", rows)
        job.status, job.rows_total, job.rows_done = ImportStatus.BERJALAN, 3, 2
    browser.login("op.desa")
    checking = _only(page_of(browser, f"/desa/impor/{job.id}"), "//div[@id='import-progress']")
    assert not checking.xpath(".//*[@id='menyimpan']") and "Baris diperiksa: 2 / 3" in checking.text_content()
    assert _only(checking, ".//p[@id='impor-terputus']").get("hidden") is not None
    with db.transaction() as s:
        s.get(ImportJob, job.id).rows_done = 3
    saving = _only(page_of(browser, f"/desa/impor/{job.id}"), "//div[@id='import-progress']")
    assert "sedang menyimpan" in _only(saving, ".//p[@id='menyimpan']").text_content()
