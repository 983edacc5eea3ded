"""The auditor's record pages, the data-quality pages and an entry's stale form, as their readers meet
them: each version of a record leading to the process that wrote it and saying who wrote it, a full
NIK looked at or refused, the search and the chain check saying only what happened, the completeness
table opened region by region down to the desa, a flag's form and filters, and what a form opened
before a change offers to copy."""

from __future__ import annotations

from lxml import html as lhtml
from sqlalchemy import select

from models import QualityFlag, Submission
from tests.factories import (
    build_world,
    decide,
    decide_task,
    items_of,
    open_task,
    open_with_items,
    person_row,
    region_flag,
    submit,
)
from tests.integration.entry_steps import FAR_KK
from tests.web.page_forms import form_of, page_of, send_form, text_of


def _reverified_in_q4(db, world) -> int:
    """The world's record verified again in 2026-Q4 (its second version); that submission's instance."""
    submit(db, "op.desa", world.draft)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, world.draft, "approve")
    with db.read() as s:
        return s.scalar(select(Submission.instance_id).where(Submission.id == world.draft))


def test_every_version_of_a_record_leads_to_the_process_that_verified_it(browser, db, people):
    """An older version is as traceable as the newest: each links to its own process instance."""
    world = build_world(db)
    later = _reverified_in_q4(db, world)
    browser.login("auditor.prov")
    doc = page_of(browser, f"/audit/catatan/{world.record}")
    links = {number: [a.get("href") for a in doc.get_element_by_id(f"versi-{number}").iter("a")] for number in (1, 2)}
    assert links == {1: [f"/audit/instans/{world.instance}"], 2: [f"/audit/instans/{later}"]}


def test_a_version_says_who_wrote_it_and_at_which_tier(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    version = page_of(browser, f"/audit/catatan/{world.record}").get_element_by_id("versi-1")
    assert "Oleh valid.prov (validator, tingkat provinsi)" in " ".join(version.text_content().split())


def test_a_full_nik_shown_is_said_to_be_on_the_trail_and_its_form_is_gone(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    address = f"/audit/catatan/{world.record}"
    shown = send_form(browser, address, "/nik", typed={"Alasan melihat NIK lengkap": "pemeriksaan BPK 2026"})
    doc = lhtml.fromstring(text_of(shown))
    assert doc.get_element_by_id("nik-penuh").text_content() == person_row(7)["nik"]
    assert "tercatat di jejak audit" in doc.get_element_by_id("nik-penuh").getparent().text_content()
    assert not [f for f in doc.forms if "/nik" in (f.get("action") or "")]


def test_the_audit_page_before_any_search_lists_no_results(browser, db, people):
    """Opened, the page offers the search; it says nothing matched only once something was sought."""
    build_world(db)
    browser.login("auditor.prov")
    opened = text_of(browser.get("/audit/"))
    assert 'id="jumlah-hasil"' not in opened and "Tidak ada catatan yang cocok." not in opened
    sought = text_of(send_form(browser, "/audit/", "", typed={"Nama": "tidak ada orang ini"}))
    assert 'id="jumlah-hasil"' in sought and "Tidak ada catatan yang cocok." in sought


def test_a_chain_checked_in_one_go_does_not_say_it_was_checked_in_slices(browser, db, people):
    build_world(db)
    browser.login("auditor.prov")
    checked = lhtml.fromstring(text_of(send_form(browser, "/audit/", "/audit/verifikasi")))
    said = checked.get_element_by_id("hasil-rantai").text_content()
    assert "Rantai utuh" in said and "bertahap" not in said


def test_a_refused_reason_for_a_full_nik_marks_its_field_and_an_unrefused_page_does_not(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    address = f"/audit/catatan/{world.record}"
    assert page_of(browser, address).get_element_by_id("alasan-nik").get("aria-invalid") is None
    refused = send_form(browser, address, "/nik", typed={"Alasan melihat NIK lengkap": "cek"})
    assert refused.status_code == 400
    field = lhtml.fromstring(text_of(refused)).get_element_by_id("alasan-nik")
    assert field.get("aria-invalid") == "true" and field.get("value") == "cek"


def _completeness_rows(browser, address: str) -> dict[str, object]:
    """The completeness table's rows by region code: each row's first cell."""
    table = page_of(browser, address).get_element_by_id("kelengkapan")
    return {row[0].text_content().split()[0]: row[0] for row in table.iter("tr") if row[0].tag == "td"}


def test_completeness_opens_region_by_region_down_to_each_desa(db, people, signed_in):
    """From the province to a regency, to a kecamatan, to its desa: a desa has no tier below to open."""
    submit(db, "op.desa", open_with_items(db))
    browser = signed_in("valid.prov")
    address = "/mutu/?induk=65&periode_lengkap=2026-Q4"
    for region in ("65.01", "65.01.01"):
        cell = _completeness_rows(browser, address)[region]
        (link,) = cell.iter("a")
        address = link.get("href")
        assert f"induk={region}" in address and "periode_lengkap=2026-Q4" in address
    desa = _completeness_rows(browser, address)
    assert "65.01.01.2005" in desa and all(not list(cell.iter("a")) for cell in desa.values())


def test_an_open_flags_form_starts_on_explaining_it(db, people, signed_in):
    flag = region_flag(db)
    form = form_of(page_of(signed_in("valid.prov"), "/mutu/"), f"/mutu/tanda/{flag}")
    assert form.fields["aksi"] == "jelaskan"


def test_the_flags_listed_in_every_status_keep_that_choice_in_the_filter(db, people, signed_in):
    region_flag(db)
    status = page_of(signed_in("valid.prov"), "/mutu/?status=semua").get_element_by_id("status")
    assert [o.get("value") for o in status.iter("option") if o.get("selected") is not None] == ["semua"]


def test_a_period_without_figures_stays_chosen_on_the_regions_figures_page(world, signed_in):
    doc = page_of(signed_in("valid.prov"), "/mutu/angka?wilayah=65.01&periode=2026-Q1")
    chosen = [o.get("value") for o in doc.get_element_by_id("periode").iter("option") if o.get("selected") is not None]
    assert chosen == ["2026-Q1"]


def test_an_older_form_is_not_offered_to_copy_what_the_entry_already_holds(browser, db, people):
    """Typed on an older tab the same as was saved meanwhile: nothing to copy for it, only the rest."""
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    address = f"/desa/pengajuan/{sid}/item/{item.id}"
    browser.login("op.desa")
    older = form_of(page_of(browser, address), "")
    assert send_form(browser, address, "", typed={"Alamat": "RT 05 Dusun Baru"}).status_code == 302
    typed = {"Alamat": "RT 05 Dusun Baru", "Keterangan": "dari tab lama"}
    page = text_of(send_form(browser, address, "", typed=typed, doc=older.getroottree().getroot()))
    offered = lhtml.fromstring(page).find_class("returns")[0].text_content()
    assert "Keterangan: dari tab lama" in offered and "Dusun Baru" not in offered


def test_an_instances_warning_shows_who_acknowledged_it_and_their_note(db, people, signed_in):
    sid = open_with_items(db, rows=[person_row(1, no_kk=FAR_KK)])
    submit(db, "op.desa", sid)
    with db.transaction() as s:
        flags = s.scalars(select(QualityFlag.id).where(QualityFlag.submission_id == sid)).all()
        noted = dict.fromkeys(flags, "KK dicek di kantor desa")
        decide_task(s, "verif.kec", open_task(db, sid).id, "approve", acknowledgements=noted)
        instance = s.get(Submission, sid).instance_id
    assert flags
    page = page_of(signed_in("auditor.prov"), f"/audit/instans/{instance}")
    said = [" ".join(a.text_content().split()) for a in page.find_class("ack")]
    assert said and all(line.endswith("verif.kec — KK dicek di kantor desa") for line in said)
