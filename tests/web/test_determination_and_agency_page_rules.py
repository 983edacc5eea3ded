"""What the province's reconciliation and determination pages show the people who read them: the
determination of a year with who approved it, its record count and its hash, an earlier revision said
to be replaced and downloaded as itself, the change from last year with its flags, the regencies where
no desa reported or whose cycle is not yet closed, the list of determinations, an auditor's trail of
one figure, the year's progress per regency, the head of office's warnings and decision form, a
regency's flag form, and the agency figures' page of the province's data steward (walidata): its upload
form, what each agency and each upload brought, the figures beside Dinas Sosial's, and paging through
a long agency list."""

from __future__ import annotations

import io

from lxml import html as lhtml
from sqlalchemy import select

from engine.quality.aggregates import Drift
from engine.verification import cycles, determinations, figure_trail, reconciliation, reconciliation_progress
from models import Region
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import SYSTEM, region_flag
from tests.integration.reconciliation_steps import determine, open_tasks, person, to_the_head
from tests.web.page_forms import page_of, send_form, text_of


def _said(element) -> str:
    return " ".join(element.text_content().split())


def _rows(doc, table_id: str) -> list[list[str]]:
    rows = [[_said(td) for td in tr.findall("td")] for tr in doc.get_element_by_id(table_id).iter("tr")]
    return [r for r in rows if r]


def _described(doc) -> dict[str, str]:
    """The determination's description list, each term with what it says."""
    terms = doc.get_element_by_id("penetapan")
    return {_said(dt): _said(dt.getnext()) for dt in terms.findall("dt")}


def _latest(db):
    with db.read() as s:
        frozen = determinations.get(s, SYSTEM, YEAR)
        return frozen, determinations.summary(frozen)


def test_the_determination_says_who_approved_it_when_how_many_records_and_that_its_hash_holds(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    frozen, summary = _latest(year)
    said = _described(page_of(signed_in("walidata.prov"), f"/penetapan/{YEAR}"))
    assert said["Disetujui oleh"].startswith("kepala.dinas, ") and said["Disetujui oleh"].endswith("WITA")
    assert said["Catatan di baliknya"] == str(summary["jumlah_catatan"]) != "0"
    assert said["Hash isi (SHA-256)"] == f"{frozen.content_hash} sah"


def test_an_earlier_revision_is_said_replaced_downloads_as_itself_and_leads_no_auditor_to_a_trail(year, signed_in):
    """The trail follows the figures of the latest revision only: an earlier one's figures link nowhere."""
    determine(year, YEAR, "188.44/7/2027")
    determine(year, YEAR, "188.44/8/2027", alasan_revisi="ODHA Malinau terlewat")
    auditor = signed_in("auditor.prov")
    earlier = page_of(auditor, f"/penetapan/{YEAR}?revisi=0")
    told = earlier.get_element_by_id("revisi-lama")
    assert _said(told) == "Ini revisi 0, yang sudah digantikan. Lihat revisi terakhir (1)"
    assert [a.get("href") for a in told.iter("a")] == [f"/penetapan/{YEAR}"]
    downloads = [a.get("href") for a in earlier.iter("a") if "/unduh/" in (a.get("href") or "")]
    assert downloads == [f"/penetapan/{YEAR}/unduh/{fmt}?revisi=0" for fmt in ("csv", "xlsx", "pdf")]
    assert not [a for a in earlier.iter("a") if "/jejak" in (a.get("href") or "")]
    assert earlier.get_element_by_id("jejak-petunjuk", None) is None
    latest = page_of(auditor, f"/penetapan/{YEAR}")
    assert latest.get_element_by_id("revisi-lama", None) is None
    assert latest.get_element_by_id("jejak-petunjuk", None) is not None
    assert [a for a in latest.iter("a") if "/jejak?" in (a.get("href") or "")]


def test_the_official_figures_leave_as_a_spreadsheet_and_a_pdf_of_their_own_kind(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    province = signed_in("walidata.prov")
    kinds = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
    }
    for fmt, kind in kinds.items():
        answer = province.get(f"/penetapan/{YEAR}/unduh/{fmt}")
        assert answer.status_code == 200 and answer.headers["Content-Type"] == kind, fmt
        told = answer.headers["Content-Disposition"]
        assert told.startswith("attachment; filename=") and told.endswith(f'.{fmt}"'), told


def test_the_change_from_last_year_names_the_flags_on_each_figure(year, signed_in):
    determine(year, YEAR - 1, "188.44/1/2026")
    determine(year, YEAR, "188.44/7/2027")
    with year.read() as s:
        changes = determinations.diff(s, SYSTEM, YEAR - 1, YEAR)["perubahan"]
    flagged = {(c["wilayah"], c["kategori"]): c["tanda"] for c in changes if c["tanda"]}
    assert flagged
    rows = _rows(page_of(signed_in("walidata.prov"), f"/penetapan/{YEAR}"), "perbandingan")
    assert len(rows) == len(changes)
    for row in rows:
        marks = flagged.get((row[0], row[1]), [])
        assert len([m for m in row[5].split(", ") if m]) == len(marks), row


def test_the_reporting_table_marks_a_regency_where_no_desa_reported(year, signed_in):
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q4", early=True)  # none of Malinau's desa reported
    determine(year, YEAR, "188.44/7/2027")
    doc = page_of(signed_in("walidata.prov"), f"/penetapan/{YEAR}")
    marked = {
        _said(tr.findall("td")[1]): tr.get("class") for tr in list(doc.get_element_by_id("kelengkapan").iter("tr"))[1:]
    }
    assert marked["Kabupaten Malinau"] == "late"
    assert marked["Kabupaten Bulungan"] is None  # its one desa reported


def test_the_list_of_determinations_gives_each_revision_and_its_record_count(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    determine(year, YEAR, "188.44/8/2027", alasan_revisi="ODHA Malinau terlewat")
    _frozen, summary = _latest(year)
    doc = page_of(signed_in("walidata.prov"), "/penetapan/")
    rows = [[_said(td) for td in tr.findall("td")] for tr in doc.iter("tr")]
    rows = sorted(r for r in rows if r)
    assert [r[1] for r in rows] == ["0", "1"]
    assert [r[2].split(" ")[0] for r in rows] == ["188.44/7/2027", "188.44/8/2027"]
    assert rows[1][3] == str(summary["totals"]["jumlah"])


def test_an_auditor_s_trail_links_each_record_behind_the_figure_and_names_the_determination_s_hash(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    frozen, _summary = _latest(year)
    with year.read() as s:
        found = figure_trail.figure_trail(s, person(year, "auditor.prov"), YEAR, "65.01", "LUT")
    doc = page_of(signed_in("auditor.prov"), f"/penetapan/{YEAR}/jejak?wilayah=65.01&kategori=LUT")
    links = [a.get("href") for a in doc.iter("a") if (a.get("href") or "").startswith("/audit/catatan/")]
    assert len(found["catatan"]) == 3
    assert links == [f"/audit/catatan/{r['id']}" for r in found["catatan"]]
    assert frozen.content_hash in [c.text for c in doc.iter("code")]


def test_the_year_s_progress_says_where_it_waits_and_each_regency_s_flags_and_unexplained(year, signed_in):
    province = signed_in("walidata.prov")
    assert province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)}).status_code == 302
    with year.read() as s:
        page = reconciliation_progress.progress(s, person(year, "walidata.prov"), "65", YEAR)
    doc = page_of(province, f"/rekonsiliasi/{YEAR}")
    status = _said(doc.get_element_by_id("status-rekonsiliasi").getparent())
    assert page.tahap and status.endswith("menunggu: " + ", ".join(page.tahap))
    rows = _rows(doc, "kemajuan")
    expected = [[f"{r.nama} ({r.kode})", str(r.tanda), str(r.belum)] for r in page.kabupaten]
    assert [[r[0], r[2], r[3]] for r in rows] == expected
    assert not [f for f in doc.forms if "/rekonsiliasi/buka" in (f.get("action") or "")]  # opened: none to open


def test_the_head_must_choose_a_decision_and_reads_how_many_flags_the_year_has(year, signed_in):
    head = to_the_head(year)
    doc = page_of(signed_in("kepala.dinas"), f"/rekonsiliasi/tugas/{head.id}")
    assert doc.get_element_by_id("setuju").get("required") is not None  # the browser asks before sending
    details = [d for d in doc.iter("details") if "Tanda tahun ini" in _said(d.find("summary"))]
    (flags,) = details
    cards = flags.findall(".//li")
    assert cards and _said(flags.find("summary")) == f"Tanda tahun ini ({len(cards)})"


def test_the_head_is_warned_of_unexplained_flags_and_reads_which_figures_changed_since_the_forum(
    year, signed_in, monkeypatch
):
    head = to_the_head(year)
    region_flag(year, periode=str(YEAR), message="LUT di 65.01 naik dari 3 ke 9")  # raised after the Forum
    changed = [Drift("65.01", "LUT", 3, 4), Drift("65.01.01", "LUT", 3, 4)]
    monkeypatch.setattr(reconciliation, "changed_since_forum", lambda *args: changed)
    doc = page_of(signed_in("kepala.dinas"), f"/rekonsiliasi/tugas/{head.id}")
    warned = [_said(p) for p in doc.iter("p") if "yang belum dijelaskan; penetapan akan ditolak" in _said(p)]
    assert warned == ["Masih ada 1 tanda kesalahan atau peringatan yang belum dijelaskan; penetapan akan ditolak."]
    listed = [_said(li) for li in doc.get_element_by_id("angka-berubah").iter("li")]
    assert listed == ["65.01 LUT: 3 → 4", "65.01.01 LUT: 3 → 4"]


def test_the_head_is_told_a_changed_figure_of_a_sensitive_desa_will_refuse_the_determination(
    year, signed_in, monkeypatch
):
    """The count of people with HIV in one desa is not listed to the head, but that it changed is said."""
    head = to_the_head(year)
    monkeypatch.setattr(reconciliation, "changed_since_forum", lambda *args: [Drift("65.01.01.2001", "ODHA", 1, 2)])
    doc = page_of(signed_in("kepala.dinas"), f"/rekonsiliasi/tugas/{head.id}")
    told = _said(doc.get_element_by_id("angka-berubah"))
    assert told.startswith("1 angka berubah sejak dihitung ulang untuk Forum; penetapan akan ditolak.")
    assert "1 di antaranya pada kategori sensitif" in told and "65.01.01.2001" not in told


def test_a_cycle_not_yet_closed_is_said_beside_its_count_of_desa_reporting(year, signed_in):
    """The year's last cycle is still open: the head and then the determination say so beside each count."""
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    head = to_the_head(year)
    doc = page_of(signed_in("kepala.dinas"), f"/rekonsiliasi/tugas/{head.id}")
    reported = [_said(td) for td in doc.get_element_by_id("kelengkapan").findall("td")]
    assert reported[1:] and all(r.endswith(f"({YEAR}-Q4), belum ditutup") for r in reported[1:]), reported
    decree = {"keputusan": "setuju", "nomor_sk": "188.44/7/2027", "tanggal_sk": "20/11/2026"}
    assert signed_in("kepala.dinas").post(f"/rekonsiliasi/tugas/{head.id}", decree).status_code == 302
    rows = _rows(page_of(signed_in("walidata.prov"), f"/penetapan/{YEAR}"), "kelengkapan")
    assert rows and {r[0] for r in rows} == {f"{YEAR}-Q4 (belum ditutup)"}


def test_a_regency_s_note_on_a_flag_is_asked_for_before_it_is_sent(year, signed_in):
    assert signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": str(YEAR)}).status_code == 302
    (task,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    doc = page_of(signed_in("walidata.kab"), f"/rekonsiliasi/tugas/{task.id}")
    notes = [t for t in doc.get_element_by_id("tanda-kabupaten").iter("textarea") if t.get("name") == "catatan"]
    assert notes and all(t.get("required") is not None for t in notes)


AGENCY_PAGE = "/rekonsiliasi/2024/instansi/"
FILE = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"


def _sent(browser, text: str, agency: str = "DP3AP2KB"):
    """An agency's file previewed, then saved with the preview's own form; the preview's page."""
    data = {"instansi": agency, "berkas": (io.BytesIO(text.encode()), "angka.csv")}
    preview = browser.post(AGENCY_PAGE, data, token_from=AGENCY_PAGE, content_type="multipart/form-data")
    assert preview.status_code == 200, text_of(preview)[:300]
    doc = lhtml.fromstring(text_of(preview))
    assert doc.get_element_by_id("f-instansi").get("value") == agency  # kept for the next file of that agency
    saved = send_form(browser, AGENCY_PAGE, "/simpan", doc=doc)
    assert saved.status_code == 302
    return doc


def test_the_upload_form_asks_for_a_file_and_says_the_largest_it_takes(db, stewards, signed_in):
    doc = page_of(signed_in("walidata.prov"), AGENCY_PAGE)
    chosen = doc.get_element_by_id("berkas")
    assert chosen.get("required") is not None and chosen.get("data-max-bytes") == str(20 * 1024 * 1024)


def test_the_steward_reads_what_each_agency_and_each_upload_brought_beside_dinas_sosial_s(
    db, stewards, our_figures, signed_in
):
    steward = signed_in("walidata.prov")
    first = _sent(steward, FILE)
    preview = _rows(first, "angka-pratinjau")
    assert [(r[1], r[6], r[7]) for r in preview] == [("65.01", "baru", "68"), ("65.02", "baru", "20")]
    second = _sent(steward, FILE.replace(",21\n", ",25\n"))
    assert [(r[1], r[6]) for r in _rows(second, "angka-pratinjau")] == [("65.02", "berubah"), ("65.01", "sama")]
    doc = page_of(steward, AGENCY_PAGE)
    (agency,) = _rows(doc, "instansi")
    assert agency[:5] == ["DP3AP2KB", "2", "2", "1", "2024"] and agency[5].endswith("WITA")
    uploads = [r[:7] for r in _rows(doc, "unggahan")]
    assert [(r[5], r[6]) for r in uploads] == [("0", "1"), ("2", "0")]  # newest first: one replaced, two new
    listed = page_of(steward, f"{AGENCY_PAGE}?lihat=DP3AP2KB")
    withdraw = [f for f in listed.forms if "/tarik" in (f.get("action") or "")][0]
    assert "Semua 2 angka instansi ini untuk 2024 dihapus dari perbandingan" in _said(withdraw)


def test_a_long_agency_list_is_read_page_by_page(db, stewards, signed_in):
    with db.read() as s:
        places = sorted(s.scalars(select(Region.kode).where(Region.kode.like("65.%"))))[:130]
    steward = signed_in("walidata.prov")
    rows = "".join(f"AKTK,{p},2024,{n + 1}\n" for n, p in enumerate(places))
    preview = _sent(steward, "kategori,kode_wilayah,periode,nilai\n" + rows)
    assert len(_rows(preview, "angka-pratinjau")) == len(places)  # a file of fewer than 500 listed whole
    first = page_of(steward, f"{AGENCY_PAGE}?lihat=DP3AP2KB")
    assert len(_rows(first, "angka-instansi")) == 100
    onward = [a.get("href") for a in first.iter("a") if "halaman=2" in (a.get("href") or "")]
    assert onward
    second = page_of(steward, onward[0])
    assert len(_rows(second, "angka-instansi")) == len(places) - 100
