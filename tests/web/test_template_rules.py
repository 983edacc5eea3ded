"""The pages as people use them: each form sent as the browser sends it (the fields the page itself
carries, its token among them, and what the person types beside a field's label), the words a person
typed shown as text and never as markup, numbers of other people masked for those who must not read
them whole, and the menu, language and labels every page owes its reader."""

from __future__ import annotations

from lxml import html as lhtml
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from models import AggregateValue, CycleRhythm, HumanTask, ItemVerdict, Submission, SubmissionStatus, VervalStatus
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import (
    decide,
    finish_as_system,
    items_of,
    open_period,
    open_with_items,
    person_row,
    reconciliation_year,
    submit,
)
from tests.web.page_forms import form_of, page_of, send_form, text_of
from tests.web.test_operator_register import _verified_register

SCRIPT = "<script>alert(1)</script>"


def _task_of(db, sid: int, status: str = "terbuka") -> int:
    """The submission's latest task with this status."""
    with db.read() as s:
        query = select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == status)
        return s.scalar(query.order_by(HumanTask.id.desc()))


def _reconciliation_task(db, bpmn_id: str, region: str | None = None) -> int:
    with db.read() as s:
        query = select(HumanTask.id).where(HumanTask.bpmn_id == bpmn_id, HumanTask.status == "terbuka")
        return s.scalar(query.where(HumanTask.region_kode == region) if region else query)


def _submitted(db) -> int:
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    return sid


# --- every page: language, menu, sign-out -------------------------------------------------------


def test_a_page_names_its_language_and_labels_its_language_choice_and_bell(signed_in, people):
    """A screen reader needs the page's language, the language list's name and the bell's meaning."""
    doc = page_of(signed_in("op.desa"), "/desa/")
    assert doc.get("lang") == "id"
    assert [label.text_content() for label in doc.iter("label") if label.get("for") == "lang-select"] == ["Bahasa"]
    bell = doc.get_element_by_id("bell")
    assert bell.get("aria-label", "").startswith("Pemberitahuan: 0 belum dibaca")


def test_choosing_english_from_a_page_comes_back_to_that_page_in_english(signed_in, people):
    operator = signed_in("op.desa")
    switched = send_form(operator, "/desa/", "/bahasa", chosen={"lang": "en"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/desa/")
    assert page_of(operator, "/desa/").get("lang") == "en"


def test_signing_out_with_the_button_on_a_page_ends_the_session(signed_in, people):
    operator = signed_in("op.desa")
    assert send_form(operator, "/desa/", "/keluar").status_code == 302
    assert operator.get("/desa/").status_code == 302  # asked to sign in again


def test_the_menu_offers_each_person_only_the_pages_of_their_role_and_tier(signed_in, people):
    """Audit for auditors; the determinations and the data-quality dashboard for the regency and province
    tiers, not for a kecamatan verifier nor a desa operator."""

    def menu(username: str) -> set[str]:
        doc = page_of(signed_in(username), "/")
        nav = doc.xpath("//nav[@aria-label='Menu utama']")[0]
        return {a.text_content().split(" ")[0] for a in nav.iter("a")}

    assert "Audit" in menu("auditor.prov")
    for username in ("op.desa", "verif.kec", "verif.kab", "valid.prov", "admin.prov"):
        assert "Audit" not in menu(username), username
    for username in ("verif.kec", "op.desa"):
        assert not {"Penetapan", "Mutu"} & menu(username), username
    assert {"Penetapan", "Mutu"} <= menu("verif.kab")


# --- the verifier's task page -----------------------------------------------------------------------


def test_a_verifier_claims_and_sends_back_through_the_task_pages_forms_with_the_reasons_typed(signed_in, db, people):
    sid = _submitted(db)
    task_id = _task_of(db, sid)
    first, second = (i.id for i in items_of(db, sid))
    kec = signed_in("verif.kec")
    assert send_form(kec, f"/tugas/{task_id}", f"/tugas/{task_id}/klaim").status_code == 302
    assert "Anda memegang tugas ini" in text_of(kec.get(f"/tugas/{task_id}"))
    verdicts = {f"verdict_{first}": "tidak_sesuai", f"verdict_{second}": "sesuai", "keputusan": "kembalikan"}
    typed = {"Alasan bila tidak sesuai": "umur 58, bukan lansia", "Alasan (wajib bila dikembalikan)": "Cek umur"}
    sent = send_form(kec, f"/tugas/{task_id}", f"/tugas/{task_id}/selesai", typed, verdicts)
    assert sent.status_code == 302, text_of(sent)
    with db.read() as s:
        submission = s.get(Submission, sid)
        assert submission.status == SubmissionStatus.DIKEMBALIKAN and submission.alasan_terakhir.endswith("Cek umur")
        said = s.scalar(select(ItemVerdict.alasan).where(ItemVerdict.item_id == first))
    assert said == "umur 58, bukan lansia"


def test_reasons_typed_by_verifiers_are_shown_as_text_on_every_page_that_repeats_them(signed_in, db, people):
    """A reason is what a person typed: on the desa's pages, the item's form and the task page it reads as
    typed, angle brackets and all, and never runs as a script."""
    sid = _submitted(db)
    first = items_of(db, sid)[0].id
    decide(db, "verif.kec", sid, "return", reason=f"kembali {SCRIPT}", verdicts={first: f"umur {SCRIPT}"})
    decided = _task_of(db, sid, "selesai")
    operator, kec = signed_in("op.desa"), signed_in("verif.kec")
    reason, verdict = (f"{word} &lt;script&gt;alert(1)&lt;/script&gt;" for word in ("kembali", "umur"))

    def shown(who, path: str) -> str:
        page = text_of(who.get(path))
        assert SCRIPT not in page, path
        return page

    for who, path in ((operator, f"/desa/pengajuan/{sid}"), (kec, f"/tugas/{decided}")):
        page = shown(who, path)
        assert reason in page and verdict in page, path
    assert verdict in shown(operator, f"/desa/pengajuan/{sid}/item/{first}")
    submit(db, "op.desa", sid)  # sent up again: the new task recalls the return
    page = shown(kec, f"/tugas/{_task_of(db, sid)}")
    assert reason in page and verdict in page


# --- the desa's pages ---------------------------------------------------------------------------------


def test_an_operator_corrects_an_entry_through_its_form_and_an_older_tab_of_it_is_refused(signed_in, db, people):
    """The form carries the moment it was opened: sent from a second tab opened before the first was
    saved, it is refused rather than overwriting the correction."""
    sid = open_with_items(db)
    first = items_of(db, sid)[0].id
    operator = signed_in("op.desa")
    path = f"/desa/pengajuan/{sid}/item/{first}"
    older = MultiDict(form_of(page_of(operator, path), "").form_values())
    saved = send_form(operator, path, "", {"Alamat": "RT 05 Dusun Baru"})
    assert saved.status_code == 302, text_of(saved)
    assert items_of(db, sid)[0].data["alamat"] == "RT 05 Dusun Baru"
    older["keterangan"] = "dari tab lama"
    refused = operator.client.post(path, data=older)
    assert refused.status_code != 302 and items_of(db, sid)[0].data["alamat"] == "RT 05 Dusun Baru"
    assert items_of(db, sid)[0].data.get("keterangan") != "dari tab lama"


def test_an_operator_declares_the_register_unchecked_with_the_reason_typed_in_its_field(signed_in, db, people):
    sid = _verified_register(db, [person_row(1)])
    operator = signed_in("op.desa")
    typed = {"Alasan (dilihat semua tingkat": "jalan ke dusun putus"}
    assert send_form(operator, f"/desa/pengajuan/{sid}", "/pernyataan", typed).status_code == 302
    with db.read() as s:
        assert s.get(Submission, sid).tidak_diperiksa == "jalan ke dusun putus"
    submit(db, "op.desa", sid, reverify=False)
    page = text_of(signed_in("verif.kec").get(f"/tugas/{_task_of(db, sid)}"))
    assert "Register tidak selesai diperiksa. Alasan operator: jalan ke dusun putus" in page


def test_an_operator_submits_and_reports_nihil_with_the_pages_own_buttons(signed_in, db, people):
    empty = open_period(db, "2026-Q3", [])
    operator = signed_in("op.desa")
    assert send_form(operator, f"/desa/pengajuan/{empty}", "/pernyataan").status_code == 302
    with db.read() as s:
        assert s.get(Submission, empty).nihil
    sid = open_with_items(db)
    assert send_form(operator, f"/desa/pengajuan/{sid}", "/ajukan").status_code == 302
    with db.read() as s:
        assert s.get(Submission, sid).status == SubmissionStatus.DIAJUKAN


def test_an_operator_sets_an_entry_aside_and_brings_it_back_with_its_own_buttons(signed_in, db, people):
    sid = open_with_items(db)
    first = items_of(db, sid)[0].id
    operator = signed_in("op.desa")
    assert send_form(operator, f"/desa/pengajuan/{sid}", f"/item/{first}/buang").status_code == 302
    assert items_of(db, sid)[0].dibuang
    assert send_form(operator, f"/desa/pengajuan/{sid}", f"/item/{first}/kembalikan").status_code == 302
    assert not items_of(db, sid)[0].dibuang


def test_the_register_search_is_posted_so_a_nik_stays_out_of_the_address(signed_in, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    operator = signed_in("op.desa")
    form = form_of(page_of(operator, f"/desa/pengajuan/{sid}/register"), "/register/cari")
    assert form.get("method") == "post"
    found = send_form(
        operator, f"/desa/pengajuan/{sid}/register", "/register/cari", {"Cari nama, NIK": person_row(2)["nik"]}
    )
    page = text_of(found)
    assert found.status_code == 200 and person_row(2)["nama"] in page and person_row(1)["nama"] not in page
    assert person_row(2)["nik"] in page and person_row(2)["no_kk"] in page  # the desa's own people, whole


def test_an_operator_gives_a_record_its_status_and_reason_and_ticks_others_still_eligible(signed_in, db, people):
    sid = _verified_register(db, [person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    operator = signed_in("op.desa")
    path = f"/desa/pengajuan/{sid}/register?status=semua"
    doc = page_of(operator, path)
    other = [f for f in doc.forms if f.xpath(f".//select[@id='status-{first}']")][0]
    fields = MultiDict(other.form_values())
    fields["status"] = "meninggal"
    fields[doc.get_element_by_id(f"alasan-{first}").get("name")] = "meninggal 12-03-2026"
    assert operator.client.post(other.get("action"), data=fields).status_code == 302
    ticked = MultiDict(form_of(page_of(operator, path), "#bulk-form").form_values())
    ticked.add("item_id", str(second))
    assert operator.client.post(f"/desa/pengajuan/{sid}/register", data=ticked).status_code == 302
    items = {i.id: i for i in items_of(db, sid)}
    assert (items[first].verval, items[first].verval_alasan) == (VervalStatus.MENINGGAL, "meninggal 12-03-2026")
    assert items[second].verval == VervalStatus.LAYAK


# --- numbers of other people --------------------------------------------------------------------------


def test_a_regency_verifier_reads_no_whole_nik_or_family_card_not_even_inside_an_address(signed_in, db, people):
    """Only the desa's operator and its kecamatan verifier check people against documents; the regency
    verifier reads NIKs and family card numbers masked, in the fields and in the free texts."""
    neighbour = person_row(9)["nik"]
    row = person_row(8, alamat=f"serumah dengan NIK {neighbour}", no_kk="6501011705509999")
    sid = open_period(db, "2026-Q3", [row])
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    page = text_of(signed_in("verif.kab").get(f"/tugas/{_task_of(db, sid)}"))
    assert "serumah dengan NIK" in page and "Maria Ingan 8" in page
    for number in (row["nik"], neighbour, "6501011705509999"):
        assert number not in page, number


def test_an_auditor_reads_the_nik_whole_only_after_giving_a_reason_in_the_records_form(signed_in, world):
    auditor = signed_in("auditor.prov")
    nik = person_row(7)["nik"]
    path = f"/audit/catatan/{world.record}"
    assert nik not in text_of(auditor.get(path))
    assert nik not in text_of(auditor.get(f"/audit/instans/{world.instance}"))
    shown = send_form(auditor, path, "/nik", {"Alasan melihat NIK lengkap": "pemeriksaan BPK 2026"})
    assert shown.status_code == 200 and nik in text_of(shown)


# --- the annual reconciliation ------------------------------------------------------------------------


def test_a_regency_explains_and_the_forum_sends_back_through_their_forms_and_the_reason_reads_as_text(
    db, people, password_hash, signed_in
):
    """The regency's walidata explains each flag in the flag's own form; the Forum sends one back with
    the reason typed beside it; the regency's task then shows that reason as typed."""
    reconciliation_year(db, password_hash, team=False)
    province = signed_in("walidata.prov")
    assert province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)}).status_code == 302
    regency = signed_in("walidata.kab")
    task = _reconciliation_task(db, "tinjauan_kabupaten", "65.01")
    path = f"/rekonsiliasi/tugas/{task}"
    while "/tanda/" in (action := text_of(regency.get(path))):
        flag = int(action.split("/tanda/")[1].split('"')[0])
        sent = send_form(regency, path, f"/tanda/{flag}", {"Catatan": "cakupan lebih luas"}, {"aksi": "jelaskan"})
        assert sent.status_code == 302, text_of(sent)
    assert send_form(regency, path, f"{path}", {"Catatan untuk Forum SDI": "semua dijelaskan"}).status_code == 302
    with db.transaction() as session:
        for other in session.scalars(
            select(HumanTask).where(HumanTask.bpmn_id == "tinjauan_kabupaten", HumanTask.status == "terbuka")
        ):
            finish_as_system(session, other)
    forum = signed_in("forum.sdi")
    forum_path = f"/rekonsiliasi/tugas/{_reconciliation_task(db, 'tinjauan_forum')}"
    doc = page_of(forum, forum_path)
    choices = {r.get("name"): "terima" for r in doc.xpath("//input[@type='radio'][@value='terima']")}
    first = sorted(choices)[0]
    choices[first] = "kembalikan"
    typed = {"Alasan bila dikembalikan": f"sumber tidak jelas {SCRIPT}"}
    assert send_form(forum, forum_path, forum_path, typed, choices).status_code == 302
    again = text_of(regency.get(f"/rekonsiliasi/tugas/{_reconciliation_task(db, 'tinjauan_kabupaten', '65.01')}"))
    assert "sumber tidak jelas &lt;script&gt;" in again and SCRIPT not in again


# --- the manual ---------------------------------------------------------------------------------------


def test_the_manual_marks_the_chapter_being_read_among_its_chapters(browser):
    doc = page_of(browser, "/bantuan/operator-desa")
    chapters = doc.xpath("//nav[@class='manual-chapters']//a")
    assert len(chapters) > 3
    assert [a.get("href") for a in chapters if a.get("aria-current") == "page"] == ["/bantuan/operator-desa"]


def test_a_province_steward_uploads_saves_withdraws_and_undoes_an_agencys_figures_through_the_pages_forms(
    db, stewards, our_figures, signed_in
):
    """The file goes up through the upload form, is saved from the preview, and is withdrawn and its upload
    undone, each with the reason typed beside its field; the agency's name reads as typed in the message."""
    page, agency = "/rekonsiliasi/2024/instansi/", "Dinkes <b>Kaltara</b>"
    steward = signed_in("walidata.prov")
    figures = b"kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"

    def upload_and_save() -> None:
        sent = send_form(
            steward, page, "/instansi/", {"Instansi (bila berkas": agency}, files={"berkas": (figures, "a.csv")}
        )
        assert "Pratinjau: belum ada yang disimpan" in text_of(sent), text_of(sent)
        saved = send_form(steward, page, "/simpan", doc=lhtml.fromstring(text_of(sent)))
        assert saved.status_code == 302, text_of(saved)
        assert _theirs(db) == 2

    upload_and_save()
    undone = send_form(steward, page, "/batalkan", {"Alasan (wajib)": "berkas salah tahun"})
    assert undone.status_code == 302 and _theirs(db) == 0, text_of(undone)
    upload_and_save()
    listed = f"{page}?lihat={agency}"
    reason = {"Alasan (wajib)": "berkas untuk tahun 2023"}
    withdrawn = send_form(steward, listed, "/tarik", reason)
    assert withdrawn.status_code == 302, text_of(withdrawn)
    said = text_of(steward.get(withdrawn.headers["Location"]))
    assert "2 angka Dinkes &lt;b&gt;Kaltara&lt;/b&gt; ditarik." in said
    assert _theirs(db) == 0


def _theirs(db) -> int:
    """How many figures of other agencies are stored."""
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AggregateValue).where(AggregateValue.sumber != "dinsos"))


def test_a_refused_field_is_marked_invalid_and_read_with_its_error_first(signed_in, db, people):
    """A screen reader reading the NIK field hears that it is wrong and why, then the hint and the guide."""
    sid = open_with_items(db, rows=[])
    operator = signed_in("op.desa")
    typed = {"NIK": "1234", "Nama lengkap": "Maria Ingan 3", "Tanggal lahir": "1950-05-17"}
    refused = send_form(operator, f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", "", typed, {"jenis_kelamin": "P"})
    assert refused.status_code == 400
    doc = lhtml.fromstring(text_of(refused))
    nik = doc.get_element_by_id("f-nik")
    assert nik.get("aria-invalid") == "true"
    assert nik.get("aria-describedby") == "e-nik h-nik x-nik"
    assert "16 angka" in doc.get_element_by_id("e-nik").text_content()
    assert doc.get_element_by_id("f-nama").get("aria-invalid") is None


def test_a_record_corrected_from_the_register_returns_to_its_card_and_a_submitted_register_offers_no_actions(
    signed_in, db, people
):
    sid = _verified_register(db, [person_row(1)])
    record = items_of(db, sid)[0].id
    operator = signed_in("op.desa")
    register = f"/desa/pengajuan/{sid}/register?status=semua"
    link = page_of(operator, register).xpath("//a[normalize-space()='Perbaiki data']")[0].get("href")
    saved = send_form(operator, link, "", {"Keterangan": "alamat baru"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"#catatan-{record}"), saved.headers
    assert "/register" in saved.headers["Location"]
    submit(db, "op.desa", sid)
    page = page_of(operator, register)
    assert not page.xpath("//button[normalize-space()='Masih layak'] | //button[@form='bulk-form']")
    assert not page.xpath("//a[normalize-space()='Perbaiki data']")


def test_the_minutes_go_up_through_their_form_as_a_file(signed_in, db, people):
    sid = open_with_items(db)
    operator = signed_in("op.desa")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    sent = send_form(operator, f"/desa/pengajuan/{sid}", "/berita-acara", files={"berkas": (pdf, "ba.pdf")})
    assert sent.status_code == 302, text_of(sent)
    with operator.get(f"/desa/berita-acara/{sid}") as stored:  # a file: closed after reading
        assert stored.get_data() == pdf


def test_a_verifier_is_told_when_the_minutes_the_province_now_requires_are_missing(signed_in, db, people):
    sid = _submitted(db)
    kec = signed_in("verif.kec")
    assert "Desa belum mengunggah berita acara." in text_of(kec.get(f"/tugas/{_task_of(db, sid)}"))
    with db.transaction() as session:
        session.execute(update(CycleRhythm).values(berita_acara_wajib=True))
    page = text_of(kec.get(f"/tugas/{_task_of(db, sid)}"))
    assert "Desa belum melampirkan berita acara: pengajuan tidak dapat disetujui sebelum dilampirkan." in page
