"""Details of the reconciliation's pages a person meets: what the Forum returned and the explanation it
returned on the regency's new review, which of the Forum's verdicts can be chosen, which decision the
head's page has chosen and what a decided task says, the province's "open anyway" box and year picker,
an agency file's preview of its flags, the year-on-year chart and an auditor's trail of a desa's figure."""

from __future__ import annotations

from lxml import html as lhtml
from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.quality import aggregates, series
from engine.verification import forum_review, reconciliation, submissions
from models import Category, FlagStatus, HumanTask
from tests.factories import DESA, SYSTEM, finish_as_system
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.integration.reconciliation_steps import (
    at_the_forum,
    determine,
    explain_and_send,
    flags_of,
    open_tasks,
    person,
    to_the_head,
)
from tests.web.page_forms import page_of, send_form, text_of


def _opened(db) -> None:
    with db.transaction() as s:
        reconciliation.open_year(s, SYSTEM, "65", YEAR, force=True)


def _other_regencies_go_up(db) -> None:
    with db.transaction() as s:
        for task in open_tasks(db, "tinjauan_kabupaten"):
            if task.region_kode != "65.01":
                finish_as_system(s, s.get(HumanTask, task.id))


def test_a_returned_review_shows_the_forum_s_reason_and_the_explanation_it_returned(year, signed_in):
    _opened(year)
    (bulungan,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    explain_and_send(year, bulungan.id, "cakupan DP3AP2KB lebih luas")
    _other_regencies_go_up(year)
    forum, listed = at_the_forum(year)
    verdicts = {f.id: ("kembalikan", "sebutkan sumber angka DP3AP2KB") for f in listed}
    with year.transaction() as s:
        forum_review.forum_review(s, person(year, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    (again,) = open_tasks(year, "tinjauan_kabupaten")
    doc = page_of(signed_in("walidata.kab"), f"/rekonsiliasi/tugas/{again.id}")
    returned = " ".join(doc.get_element_by_id("dikembalikan-forum").text_content().split())
    assert "Dikembalikan Forum SDI" in returned and "sebutkan sumber angka DP3AP2KB" in returned
    assert "forum.sdi" in returned and "WITA" in returned
    assert "Penjelasan yang dikembalikan: cakupan DP3AP2KB lebih luas" in returned
    assert returned.count("sebutkan sumber angka DP3AP2KB") == len(listed)  # one line per flag returned


def test_the_forum_can_accept_only_a_flag_the_regency_explained(year, signed_in):
    _opened(year)
    flags = [f for f in flags_of(year, "65.01") if f.severity in ("error", "warning")]
    (bulungan,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with year.transaction() as s:  # one explained; the others left open when the regency went up
        reconciliation.explain_flag(s, person(year, "walidata.kab"), bulungan.id, flags[0].id, "jelaskan", "wajar")
    with year.transaction() as s:
        for task in open_tasks(year, "tinjauan_kabupaten"):
            finish_as_system(s, s.get(HumanTask, task.id))
    forum, listed = at_the_forum(year)
    doc = page_of(signed_in("forum.sdi"), f"/rekonsiliasi/tugas/{forum.id}")
    explained = [f for f in listed if f.status != FlagStatus.TERBUKA]
    still_open = [f for f in listed if f.status == FlagStatus.TERBUKA]
    assert explained and still_open
    for flag in explained:
        assert doc.get_element_by_id(f"terima-{flag.id}").get("disabled") is None
    for flag in still_open:
        assert doc.get_element_by_id(f"terima-{flag.id}").get("disabled") is not None
        assert doc.get_element_by_id(f"kembalikan-{flag.id}").get("disabled") is None  # it can go back
    assert doc.get_element_by_id("kirim-forum") is not None


def test_the_head_s_page_chooses_no_decision_for_the_head(year, signed_in):
    head = to_the_head(year)
    doc = page_of(signed_in("kepala.dinas"), f"/rekonsiliasi/tugas/{head.id}")
    assert not doc.get_element_by_id("setuju").checked
    assert not doc.get_element_by_id("kembalikan").checked


def test_a_head_who_chose_nothing_is_asked_to_choose_and_nothing_is_determined(year, signed_in):
    head = to_the_head(year)
    path = f"/rekonsiliasi/tugas/{head.id}"
    decree = {"Nomor surat keputusan": "188.44/7/2027", "Tanggal surat keputusan (DD/MM/YYYY)": "20/11/2026"}
    refused = send_form(signed_in("kepala.dinas"), path, path, typed=decree)
    assert refused.status_code == 400 and "setuju (approve) atau kembalikan (return)" in text_of(refused)
    doc = lhtml.fromstring(text_of(refused))
    assert not doc.get_element_by_id("setuju").checked and not doc.get_element_by_id("kembalikan").checked
    assert [t.id for t in open_tasks(year, reconciliation.HEAD_TASK)] == [head.id]


def test_a_refused_return_keeps_the_head_s_choice_to_return(year, signed_in):
    head = to_the_head(year)
    browser = signed_in("kepala.dinas")
    path = f"/rekonsiliasi/tugas/{head.id}"
    refused = send_form(browser, path, path, chosen={"keputusan": "kembalikan"})  # no reason given
    assert refused.status_code == 400
    doc = lhtml.fromstring(text_of(refused))
    assert doc.get_element_by_id("kembalikan").checked and not doc.get_element_by_id("setuju").checked
    assert doc.get_element_by_id("penolakan") is not None


def test_the_box_to_open_despite_open_verification_work_opens_the_year_when_ticked(year, signed_in):
    with year.transaction() as s:  # a desa's third quarter of the year still waits for its verification
        submissions.open_submission(s, SYSTEM, DESA, f"{YEAR}-Q3", "65")
    province = signed_in("walidata.prov")
    path = f"/rekonsiliasi/{YEAR}"
    unticked = send_form(province, path, "/rekonsiliasi/buka")
    assert unticked.status_code == 302 and not open_tasks(year, "tinjauan_kabupaten")
    doc = page_of(province, path)
    doc.get_element_by_id("paksa").checked = True
    ticked = send_form(province, path, "/rekonsiliasi/buka", doc=doc)
    assert ticked.status_code == 302 and ticked.headers["Location"].endswith(path)
    assert "Rekonsiliasi dibuka." in text_of(province.get(path))
    assert open_tasks(year, "tinjauan_kabupaten")


AGENCY_PAGE = "/rekonsiliasi/2024/instansi/"


def test_a_preview_lists_the_first_200_flags_and_says_how_many_there_are(db, stewards, signed_in):
    with db.read() as s:
        kinds = sorted(s.scalars(select(Category.kode)))
    places = ["65.01", "65.02", "65.03"]
    with db.transaction() as s:
        ours = [series.Value(p, k, "2024", 20, "dinsos") for p in places for k in kinds]
        aggregates.store(s, SYSTEM, ours, AuditAction.BASELINE_IMPORTED)
    rows = "".join(f"{k},{p},2024,90\n" for p in places for k in kinds)
    browser = signed_in("walidata.prov")
    preview = send_form(
        browser,
        AGENCY_PAGE,
        AGENCY_PAGE,
        typed={"Instansi": "DP3AP2KB"},
        files={"berkas": (f"kategori,kode_wilayah,periode,nilai\n{rows}".encode(), "angka.csv")},
    )
    doc = lhtml.fromstring(text_of(preview))
    flagged = len(doc.get_element_by_id("tanda-pratinjau").findall(".//tbody/tr"))
    said = " ".join(doc.get_element_by_id("pratinjau").getparent().text_content().split())
    total = int(said.split("Setelah disimpan, ")[1].split(" tanda")[0])
    assert total > 200 and flagged == 200
    assert f"Ditampilkan 200 tanda pertama dari {total}." in said


def test_a_sent_review_and_a_decided_forum_review_offer_nothing_more_to_send(year, signed_in):
    _opened(year)
    (bulungan,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    explain_and_send(year, bulungan.id, "cakupan DP3AP2KB lebih luas")
    _other_regencies_go_up(year)
    sent = text_of(signed_in("walidata.kab").get(f"/rekonsiliasi/tugas/{bulungan.id}"))
    assert "cakupan DP3AP2KB lebih luas" in sent  # the explanations stay to be read
    assert 'id="kirim-tinjauan"' not in sent and "/tanda/" not in sent
    forum_task, listed = at_the_forum(year)
    forum = signed_in("forum.sdi")
    path = f"/rekonsiliasi/tugas/{forum_task.id}"
    assert 'id="kirim-forum"' in text_of(forum.get(path))
    accepted = send_form(forum, path, path, chosen={f"putusan_{f.id}": "terima" for f in listed})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/tugas/")  # back to the inbox
    assert 'id="kirim-forum"' not in text_of(forum.get(path))


def test_the_head_s_return_is_said_with_its_reason_on_the_decided_task(year, signed_in):
    head_task = to_the_head(year)
    head = signed_in("kepala.dinas")
    path = f"/rekonsiliasi/tugas/{head_task.id}"
    returned = send_form(
        head,
        path,
        path,
        typed={"Alasan (wajib bila dikembalikan)": "angka ODHA Bulungan perlu dicek ulang"},
        chosen={"keputusan": "kembalikan"},
    )
    assert returned.status_code == 302 and returned.headers["Location"].endswith("/tugas/")
    doc = page_of(head, path)
    said = " ".join(doc.get_element_by_id("sudah-diputuskan").text_content().split())
    assert said.startswith("Dikembalikan ke Forum SDI pada ") and "WITA" in said
    assert said.endswith(": angka ODHA Bulungan perlu dicek ulang")
    assert "Ditetapkan pada" not in said and doc.get_element_by_id("kirim-penetapan", None) is None


def test_the_year_s_progress_page_names_its_year_and_leads_to_its_determination(year, signed_in):
    from engine.core import clock

    province = signed_in("walidata.prov")
    asked = province.get("/rekonsiliasi/")  # none chosen: last year, the one reconciled now
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"/rekonsiliasi/{clock.today().year - 1}")
    chosen = province.get(f"/rekonsiliasi/?tahun={YEAR}")
    assert chosen.headers["Location"].endswith(f"/rekonsiliasi/{YEAR}")
    path = f"/rekonsiliasi/{YEAR}"
    assert f'href="/penetapan/{YEAR}"' not in text_of(province.get(path))
    determine(year, YEAR, "188.44/7/2027")
    doc = page_of(province, path)
    picker = doc.get_element_by_id("tahun-lihat")
    assert picker.value == str(YEAR)
    assert [o.get("value") for o in picker.findall("option")] == [str(y) for y in range(YEAR - 3, YEAR + 2)]
    assert [a.text for a in doc.iter("a") if a.get("href") == f"/penetapan/{YEAR}"] == [f"Lihat penetapan {YEAR}"]


def test_the_year_on_year_chart_draws_last_year_s_figures_beside_this_year_s(year, signed_in):
    import json

    determine(year, YEAR - 1, "188.44/1/2026")
    determine(year, YEAR, "188.44/7/2027")
    doc = page_of(signed_in("walidata.prov"), f"/penetapan/{YEAR}")
    chart = json.loads(doc.get_element_by_id("yoy-data").text)
    rows = [
        [td.text_content().strip() for td in tr.findall("td")]
        for tr in doc.get_element_by_id("perbandingan").iter("tr")
    ]
    province = [r for r in rows if r and r[0] == "65"]
    assert province and chart["dari"] == YEAR - 1 and chart["ke"] == YEAR
    assert chart["labels"] == [r[1] for r in province]
    assert [str(n) if n is not None else "-" for n in chart["sebelum"]] == [r[2] for r in province]
    assert [str(n) if n is not None else "-" for n in chart["sesudah"]] == [r[3] for r in province]
    assert chart["sebelum"] != chart["sesudah"]


def test_an_auditor_follows_a_desa_s_figure_of_a_longer_category_to_its_trail(year, signed_in):
    determine(year, YEAR, "188.44/7/2027")
    auditor = signed_in("auditor.prov")
    for place, name in (("65.01", "Bulungan"), (DESA, "Gunung Putih")):
        trail = auditor.get(f"/penetapan/{YEAR}/jejak?wilayah={place}&kategori=ODHA")
        assert trail.status_code == 200, place
        doc = lhtml.fromstring(text_of(trail))
        heading = doc.find(".//h1").text_content()
        assert "Orang dengan HIV/AIDS" in heading and name in heading and str(YEAR) in heading, place
        assert doc.get_element_by_id("nilai").text == "1", place
