"""What people rely on in several pages: a reason written on a register record reads
with other people's numbers masked above the kecamatan; a refused file lists its problems as it says it
does, up to 200; the DTSEN note says when a person was found only through the family card; the notes for warnings
on other pages of a task are sent and kept by the task's own form; the task page leads a regency
verifier to its region's flags; the quality dashboard's flag forms close, reopen and return; a flag settled
meanwhile is said on the regency's review, naming who settled it; and a
person reading English is told of an outage in English."""

from __future__ import annotations

from lxml import html as lhtml
from sqlalchemy import select

from engine.verification import register
from models import DtsenEntry, HumanTask, QualityFlag, Record, Submission, VervalStatus
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import (
    actor,
    csv_of,
    decide,
    items_of,
    open_task,
    open_with_items,
    person_row,
    reconciliation_year,
    region_flag,
    submit,
)
from tests.integration.entry_steps import FAR_KK, _register
from tests.web.page_forms import page_of, send_form, text_of
from tests.web.test_outages import _database_at, _refused_url

MASKED = "650101**********"  # a NIK of Tanjung Palas as those who must not read it whole see it


def _sent_up(db, rows: list[dict] | None = None) -> int:
    sid = open_with_items(db, rows=rows)
    submit(db, "op.desa", sid)
    return sid


def _words(element) -> str:
    return " ".join(" ".join(element.itertext()).split())


# --- the verifier's task page ---------------------------------------------------------------------


def test_a_register_status_reason_naming_another_persons_nik_reads_masked_for_the_regency_verifier(
    db, people, signed_in
):
    """The operator writes why a person left the register; a NIK written in that reason is read whole by
    the kecamatan, who checks it against documents, and masked for the regency verifier."""
    other = person_row(9)["nik"]
    sid, (copy,) = _register(db, 1)
    with db.transaction() as s:
        reason = f"meninggal, dilaporkan anaknya NIK {other}"
        register.set_status(s, actor(db, "op.desa"), sid, [copy], VervalStatus.MENINGGAL, reason)
    submit(db, "op.desa", sid)
    kecamatan = text_of(signed_in("verif.kec").get(f"/tugas/{open_task(db, sid).id}?tampil=semua"))
    assert f"dilaporkan anaknya NIK {other}" in kecamatan
    decide(db, "verif.kec", sid, "approve")
    regency = text_of(signed_in("verif.kab").get(f"/tugas/{open_task(db, sid).id}?tampil=semua"))
    assert f"dilaporkan anaknya NIK {MASKED}" in regency and other not in regency


def test_a_person_found_in_dtsen_only_through_the_family_card_is_said_to_be_so(db, people, signed_in):
    """DTSEN's decile is shown by the person's own NIK, or else by a family member's entry on the same card:
    the verifier reads which, since a card's decile says less about the person than their own."""
    first, second = person_row(1), person_row(2, no_kk="6501011705500002")
    sid = _sent_up(db, [first, second])
    with db.transaction() as s:
        s.add(DtsenEntry(nik=first["nik"], no_kk=first["no_kk"], desil=3, program=["PKH"]))
        s.add(DtsenEntry(nik="6501015505800009", no_kk=second["no_kk"], desil=2, program=["BPNT"]))
    doc = page_of(signed_in("verif.kec"), f"/tugas/{open_task(db, sid).id}")
    said = {
        _words(card.xpath(".//h3")[0]): _words(card.xpath(".//div[contains(@class, 'dtsen')]")[0])
        for card in doc.xpath("//li[@class='card']")
    }
    assert said == {"Maria Ingan 1": "DTSEN desil 3 PKH", "Maria Ingan 2": "DTSEN desil 2 (lewat KK) BPNT"}


def test_notes_for_warnings_on_another_page_are_sent_and_kept_by_the_tasks_own_form(db, people, signed_in):
    """On the second page of a long submission the verifier notes a warning of the first page in the box
    for it; a decision refused for a missing verdict keeps the note typed, and the form sent again
    approves with it."""
    rows = [person_row(n, no_kk=FAR_KK) if n in (1, 25) else person_row(n) for n in range(1, 26)]
    sid = _sent_up(db, rows)
    items = [i.id for i in items_of(db, sid)]
    with db.read() as s:
        first_pages = s.scalar(select(QualityFlag.id).where(QualityFlag.item_id == items[0]))
    task = open_task(db, sid).id
    kecamatan = signed_in("verif.kec")
    path = f"/tugas/{task}?tampil=semua&halaman=2"
    assert send_form(kecamatan, path, f"/tugas/{task}/klaim").status_code == 302
    note, card_note = "KK pindahan, dicek di musdes", "KK lama, sudah dicek"
    typed = {"Maria Ingan 1 (LUT)": note, "Catatan bila nilai ini diterima": card_note}
    verdicts = {f"verdict_{i}": "sesuai" for i in items} | {"keputusan": "setuju"}
    unjudged = {k: v for k, v in verdicts.items() if k != f"verdict_{items[0]}"}
    refused = send_form(kecamatan, path, "/selesai", typed, unjudged)
    assert refused.status_code == 400, text_of(refused)
    doc = lhtml.fromstring(text_of(refused))
    assert doc.get_element_by_id(f"ack-{first_pages}").get("value") == note
    done = send_form(kecamatan, path, "/selesai", {"Catatan bila nilai ini diterima": card_note}, verdicts, doc=doc)
    assert done.status_code == 302, text_of(done)
    with db.read() as s:
        assert s.get(Submission, sid).tingkat.value == "kabupaten"
        assert (s.get(QualityFlag, first_pages).status, s.get(QualityFlag, first_pages).ack_note) == ("diakui", note)


def test_the_task_page_leads_a_regency_verifier_to_the_regions_flags_on_the_dashboard(db, people, signed_in):
    """The flags beside a task link to the dashboard filtered to the task's region, for those who may open
    the dashboard; the kecamatan, who may not, is offered no such link."""
    region_flag(db, "65.01", "LUT di Bulungan naik dari 17 ke 68")
    region_flag(db, "65.01.01", "LUT di Tanjung Palas naik dari 3 ke 12")
    region_flag(db, "65.02", "LUT di Malinau naik dari 5 ke 40")
    sid = _sent_up(db)
    links = "//section[@aria-labelledby='h-region-flags']//a[contains(@href, '/mutu/')]"
    kecamatan = page_of(signed_in("verif.kec"), f"/tugas/{open_task(db, sid).id}")
    assert "LUT di Tanjung Palas naik" in _words(kecamatan) and kecamatan.xpath(links) == []
    decide(db, "verif.kec", sid, "approve")
    regency = signed_in("verif.kab")
    (link,) = page_of(regency, f"/tugas/{open_task(db, sid).id}").xpath(links)
    assert _words(link) == "Semua tanda wilayah 65.01 di dasbor mutu data"
    dashboard = page_of(regency, link.get("href"))
    assert dashboard.get_element_by_id("wilayah").get("value") == "65.01"
    listed = _words(dashboard.get_element_by_id("tanda"))
    assert "Bulungan naik" in listed and "Tanjung Palas naik" in listed and "Malinau" not in listed


# --- a refused desa file --------------------------------------------------------------------------


def _refused_file(db, signed_in, people_in_it: int):
    """A file of this many people, each of a category that does not exist, sent through the import form;
    the page the operator lands on."""
    sid = open_with_items(db, rows=[])
    operator = signed_in("op.desa")
    content = csv_of([person_row(n, kategori="XYZ") for n in range(1, people_in_it + 1)]).encode()
    sent = send_form(operator, f"/desa/pengajuan/{sid}/impor", "", files={"berkas": (content, "data.csv")})
    assert sent.status_code == 302, text_of(sent)
    return page_of(operator, sent.headers["Location"])


def test_a_refused_file_lists_every_problem_up_to_two_hundred(db, people, signed_in):
    page = _refused_file(db, signed_in, 150)
    listed = [_words(li) for li in page.xpath("//ul[@class='problems']/li")]
    assert len(listed) == 150 and listed[0].startswith("Baris 2, ") and listed[-1].startswith("Baris 151, ")
    assert "Menampilkan" not in _words(page)


def test_a_file_of_more_than_two_hundred_problems_lists_as_many_as_it_says(db, people, signed_in):
    """The page says it shows the first 200, shows 200, and counts the rest of the file's problems."""
    page = _refused_file(db, signed_in, 250)
    assert "Menampilkan 200 pertama dari 250 masalah." in _words(page)
    listed = [_words(li) for li in page.xpath("//ul[@class='problems']/li")]
    assert len([li for li in listed if li.startswith("Baris ")]) == 200
    assert listed[-1] == "... dan 50 masalah lain"


# --- the quality dashboard's flag forms ------------------------------------------------------------


def test_a_flag_closed_from_a_filtered_list_returns_there_and_is_opened_again_from_its_own_form(db, people, signed_in):
    """The regency verifier closes a flag from the list filtered by check, lands back on that list at
    the flag, then opens it again from the list of closed flags: each with the note typed in its field."""
    flag = region_flag(db, "65.01", "LUT di Bulungan naik dari 17 ke 68")
    regency = signed_in("verif.kab")
    listed = "/mutu/?rule=lonjakan"
    doc = page_of(regency, listed)
    row = doc.get_element_by_id(f"tanda-{flag}")
    assert [r.get("value") for r in row.xpath(".//input[@name='aksi']")] == ["jelaskan", "akui", "tutup"]
    closed = send_form(
        regency, listed, f"/tanda/{flag}", {"Catatan (wajib)": "sudah dicek"}, {"aksi": "tutup"}, doc=doc
    )
    assert closed.headers["Location"] == f"{listed}#tanda-{flag}"
    with db.read() as s:
        assert s.get(QualityFlag, flag).status == "selesai"
    reopened = send_form(regency, "/mutu/?status=selesai", f"/tanda/{flag}", {"Catatan (wajib)": "angka berubah"})
    assert reopened.status_code == 302
    with db.read() as s:
        assert (s.get(QualityFlag, flag).status, s.get(QualityFlag, flag).ack_note) == ("terbuka", "angka berubah")


# --- the regency's review in the annual reconciliation -------------------------------------------------


def test_the_province_opens_the_years_reconciliation_with_its_pages_own_button(db, people, password_hash, signed_in):
    reconciliation_year(db, password_hash, team=False)
    steward = signed_in("walidata.prov")
    opened = send_form(steward, f"/rekonsiliasi/{YEAR}", "/rekonsiliasi/buka")
    assert opened.headers["Location"].endswith(f"/rekonsiliasi/{YEAR}"), text_of(opened)
    assert _words(page_of(steward, f"/rekonsiliasi/{YEAR}").get_element_by_id("status-rekonsiliasi")) == "berjalan"


def _regency_review(db, password_hash, signed_in):
    """The year opened by the province; Bulungan's walidata, the page of its review, and its first flag."""
    reconciliation_year(db, password_hash, team=False)
    assert signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": str(YEAR)}).status_code == 302
    with db.read() as s:
        query = select(HumanTask.id).where(HumanTask.bpmn_id == "tinjauan_kabupaten", HumanTask.region_kode == "65.01")
        path = f"/rekonsiliasi/tugas/{s.scalar(query)}"
    walidata = signed_in("walidata.kab")
    doc = page_of(walidata, path)
    flag = int(doc.xpath("//form[contains(@action, '/tanda/')]")[0].get("action").split("/tanda/")[1])
    return walidata, path, doc, flag


def _pressed(doc, flag: int, label: str) -> dict[str, str]:
    """The button of the flag's form that reads `label`, as a browser sends the one pressed."""
    (button,) = doc.get_element_by_id(f"tanda-{flag}").xpath(f".//button[normalize-space()='{label}']")
    return {button.get("name"): button.get("value")}


def test_corrected_flags_are_closed_with_the_pages_own_button_and_the_note_typed_reaches_the_forum(
    db, people, password_hash, signed_in
):
    """The walidata presses "Sudah dikoreksi" beside each flag whose figure was corrected through
    verification: each is closed with the note typed, not explained; the note typed for the Forum goes
    up with the review."""
    walidata, path, doc, _first = _regency_review(db, password_hash, signed_in)
    closed: list[int] = []
    while forms := doc.xpath("//form[contains(@action, '/tanda/')]"):
        flag = int(forms[0].get("action").split("/tanda/")[1])
        assert flag not in closed, "a closed flag is offered again"
        pressed = _pressed(doc, flag, "Sudah dikoreksi")
        sent = send_form(walidata, path, f"/tanda/{flag}", {"Catatan": "angka dikoreksi"}, pressed, doc=doc)
        assert sent.status_code == 302, text_of(sent)
        closed.append(flag)
        doc = page_of(walidata, path)
    with db.read() as s:
        assert {(s.get(QualityFlag, f).status, s.get(QualityFlag, f).ack_note) for f in closed} == {
            ("selesai", "angka dikoreksi")
        }
    assert send_form(walidata, path, path, {"Catatan untuk Forum SDI": "semua sudah dikoreksi"}).status_code == 302
    with db.read() as s:
        task = s.get(HumanTask, int(path.rsplit("/", 1)[1]))
        assert (task.status.value, task.alasan) == ("selesai", "semua sudah dikoreksi")


def test_a_flag_explained_meanwhile_on_the_dashboard_is_said_on_the_regency_page_naming_who(
    db, people, password_hash, signed_in
):
    walidata, path, doc, flag = _regency_review(db, password_hash, signed_in)
    form = {"aksi": "jelaskan", "catatan": "cakupan berbeda", "status_dilihat": "terbuka"}
    assert signed_in("verif.kab").post(f"/mutu/tanda/{flag}", form, token_from="/mutu/").status_code == 302
    pressed = _pressed(doc, flag, "Jelaskan")
    sent = send_form(walidata, path, f"/tanda/{flag}", {"Catatan": "cakupan lebih luas"}, pressed, doc=doc)
    assert sent.status_code == 302
    assert "sudah ditindaklanjuti oleh verif.kab" in text_of(walidata.get(path))


# --- the auditor's record and the refusal page ----------------------------------------------------------


def test_a_records_timeline_gives_the_reason_a_tier_sent_its_entry_back(db, people, signed_in):
    """The auditor reads why each tier decided as it did: a return's reason stands beside the decision."""
    sid = open_with_items(db, rows=[person_row(7)])
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", reason="alamat belum lengkap")
    submit(db, "op.desa", sid)
    for verifier in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, verifier, sid, "approve")
    with db.read() as s:
        record = s.scalar(select(Record.id).where(Record.nik == person_row(7)["nik"]))
    doc = page_of(signed_in("auditor.prov"), f"/audit/catatan/{record}")
    decided = [_words(li) for li in doc.xpath("//ol[contains(@class, 'trail')]/li[@data-tingkat='kecamatan']")]
    assert any(line.endswith("verif.kec: dikembalikan — alamat belum lengkap") for line in decided), decided


def test_a_refusal_page_leads_back_to_the_page_the_person_came_from(db, people, signed_in):
    verifier = signed_in("verif.kec")
    refused = verifier.get("/tugas/999999", headers={"Referer": "http://localhost/tugas/?urut=prioritas"})
    (back,) = lhtml.fromstring(text_of(refused)).xpath("//main//a[normalize-space()='Kembali']")
    assert refused.status_code == 404 and back.get("href") == "http://localhost/tugas/?urut=prioritas"
    (home,) = lhtml.fromstring(text_of(verifier.get("/tugas/999999"))).xpath("//main//a[normalize-space()='Kembali']")
    assert home.get("href") == "/"


# --- an outage ---------------------------------------------------------------------------------------


def test_an_outage_is_told_in_english_to_a_person_reading_english(db, people, signed_in):
    """A person who chose English reads the outage page in English, marked as English for their reader,
    with a link to try the same page again."""
    regency = signed_in("verif.kab")
    assert send_form(regency, "/tugas/", "/bahasa", chosen={"lang": "en"}).status_code == 302
    with _database_at(db, _refused_url()):
        answer = regency.get("/tugas/?urut=prioritas")
    assert answer.status_code == 503
    doc = lhtml.fromstring(text_of(answer))
    assert doc.get("lang") == "en" and _words(doc.xpath("//h1")[0]) == "Service unavailable"
    assert "The SIJOSKU database cannot be reached right now" in _words(doc.xpath("//main")[0])
    (again,) = doc.xpath("//main//a")
    assert (_words(again), again.get("href")) == ("Try again", "/tugas/")
