"""What the pages of the village operator, the verifiers, the auditor, the administrator and the data
stewards say, keep and send: the counts in their messages, the forms filled again, the downloads'
names, the page number of a task; how a sentence's words reach a page and a mail; and what the
static files' addresses and the monitoring scrape hold."""

from __future__ import annotations

import html
import io
import os
import re

import pytest
from flask import render_template_string
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from sqlalchemy import select

from models import HumanTask, TaskStatus
from tests.factories import (
    DESA,
    RECONCILIATION_YEAR,
    csv_of,
    items_of,
    open_with_items,
    person_row,
    reconciliation_year,
    submit,
)
from tests.integration.reconciliation_steps import determine
from tests.regions import as_csv, listing, regions_restored  # noqa: F401  (the fixture)
from web.static_versions import content_version

AGENCY_PAGE = "/rekonsiliasi/2024/instansi/"
AGENCY_FILE = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n"


def _agency_upload(browser, text: str) -> object:
    data = {"instansi": "DP3AP2KB", "berkas": (io.BytesIO(text.encode()), "angka.csv")}
    return browser.post(AGENCY_PAGE, data, token_from=AGENCY_PAGE, content_type="multipart/form-data")


def _confirmation(preview) -> dict[str, str]:
    """The hidden fields of a preview's confirmation form, as the browser sends them back."""
    text = preview.get_data(as_text=True)
    names = ("baris", "kunci", "nama_berkas", "sha256")
    return {n: html.unescape(text.split(f'name="{n}" value="')[1].split('"')[0]) for n in names}


def test_saving_an_agencys_file_again_counts_its_changed_figures_apart_from_its_unchanged_ones(
    db, stewards, our_figures, browser
):
    """The steward reads how many figures changed and how many stayed the same, each in its place."""
    browser.login("walidata.prov")
    first = AGENCY_FILE + "AKTK,65.01,2024-S1,14\n"
    browser.post(f"{AGENCY_PAGE}simpan", _confirmation(_agency_upload(browser, first)), token_from=AGENCY_PAGE)
    changed = _agency_upload(browser, first.replace(",30\n", ",31\n").replace(",21\n", ",22\n"))
    saved = browser.post(f"{AGENCY_PAGE}simpan", _confirmation(changed), token_from=AGENCY_PAGE, follow_redirects=True)
    assert "Angka instansi tersimpan: 0 baru, 2 berubah, 1 sama;" in saved.get_data(as_text=True)


def _flashed(browser) -> list[str]:
    """The messages the last answer left for the next page."""
    with browser.client.session_transaction() as session:
        return [html.unescape(text) for _kind, text in session.get("_flashes", [])]


def _open_task(db, sid: int) -> int:
    with db.read() as s:
        return s.scalar(
            select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == TaskStatus.TERBUKA)
        )


def test_a_verifiers_approval_is_said_as_approved(browser, db, people):
    """After approving, the inbox says the decision taken was an approval, not a return."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task_id = _open_task(db, sid)
    browser.login("verif.kec")
    browser.post(f"/tugas/{task_id}/klaim", token_from=f"/tugas/{task_id}")
    judged = {f"verdict_{item.id}": "sesuai" for item in items_of(db, sid)}
    done = browser.post(f"/tugas/{task_id}/selesai", {"keputusan": "setuju", **judged}, token_from=f"/tugas/{task_id}")
    assert done.status_code == 302
    assert "Keputusan tersimpan: disetujui." in _flashed(browser)


REGIONS = "/admin/wilayah/perubahan/"
BASIS = {"dasar": "Kepmendagri No. 100.1.1-9999 Tahun 2026", "berlaku": "2026-11-01"}


@pytest.mark.usefixtures("regions_restored")
def test_a_list_with_a_new_desa_counts_it_as_new_not_as_valid_again(db, people, browser):
    """The administrator reads the new desa under "baru" and nothing under "berlaku lagi"."""
    browser.login("admin.prov")
    rows = listing(add=[("65.01.01.2999", "Desa Baru")])
    data = {**BASIS, "berkas": (io.BytesIO(as_csv(rows).encode()), "wilayah.csv")}
    text = browser.post(REGIONS, data, token_from=REGIONS, content_type="multipart/form-data").get_data(as_text=True)
    carried, key = (html.unescape(text.split(f'name="{n}" value="')[1].split('"')[0]) for n in ("baris", "kunci"))
    browser.post(f"{REGIONS}terapkan", {**BASIS, "baris": carried, "kunci": key}, token_from=REGIONS)
    assert _flashed(browser)[0].startswith(
        "Daftar wilayah diperbarui: 1 baru, 0 berganti nama, 0 berakhir, 0 berlaku lagi;"
    )


def test_a_static_file_edited_without_changing_its_size_gets_a_new_version(tmp_path):
    """A release that changes a file's bytes changes its address, even when its length stays the same."""
    styles = tmp_path / "gaya.css"
    styles.write_text("a{}", encoding="utf-8")
    os.utime(styles, ns=(10**18, 10**18))
    first = content_version(tmp_path, "gaya.css")
    styles.write_text("b{}", encoding="utf-8")
    os.utime(styles, ns=(2 * 10**18, 2 * 10**18))
    assert content_version(tmp_path, "gaya.css") != first


def _claimed_with_missing(browser, how_many: int) -> list[str]:
    browser.login("verif.kab")
    missing = [str(1_000_000 + n) for n in range(how_many)]
    browser.post("/tugas/klaim", {"task_id": missing}, token_from="/tugas/")
    return _flashed(browser)


def test_a_bulk_claim_lists_the_first_ten_refused_tasks_and_counts_the_rest(browser, people):
    """Ten refused tasks are each named; past ten, the others are counted in one line."""
    ten = _claimed_with_missing(browser, 10)
    assert len(ten) == 10 and all(line.startswith("Tugas #") for line in ten)
    eleven = _claimed_with_missing(browser, 11)
    assert len(eleven) == 11 and eleven[-1] == "... dan 1 tugas lain tidak dapat diproses."


def test_a_task_page_asked_for_with_a_page_number_that_is_no_number_opens_its_first_page(browser, db, people):
    """An address with `halaman=abc` shows the task's first page of items, not another."""
    sid = open_with_items(db, rows=[person_row(n) for n in range(1, 23)])  # two pages of item cards
    submit(db, "op.desa", sid)
    browser.login("verif.kec")
    page = browser.get(f"/tugas/{_open_task(db, sid)}?halaman=abc").get_data(as_text=True)
    assert 'name="halaman" value="1"' in page and 'name="halaman" value="2"' not in page


def test_a_persons_words_in_a_counted_sentence_are_text_on_a_page_and_kept_as_typed_in_a_mail(app):
    """A name set into a sentence chosen by a count is escaped on a page and kept as typed in a plain mail."""
    typed = '<b>Siti & "Ani"</b>'
    counted = "{{ ngettext('%(num)d catatan %(nama)s', '%(num)d catatan %(nama)s', 2, nama=nama) }}"
    with app.test_request_context("/"):
        page = render_template_string(counted, nama=typed)
        mail = render_template_string("{% autoescape false %}" + counted + "{% endautoescape %}", nama=typed)
    assert page == "2 catatan &lt;b&gt;Siti &amp; &#34;Ani&#34;&lt;/b&gt;"
    assert mail == f"2 catatan {typed}"


def test_with_a_shared_metrics_folder_a_scrape_sums_every_workers_figures(browser, tmp_path, monkeypatch):
    """Behind several workers, /metrics reads the shared folder: two workers' counts are added up."""
    for worker, count in ((1, 3.0), (2, 4.0)):
        kept = MmapedDict(str(tmp_path / f"counter_{worker}.db"))
        kept.write_value(mmap_key("sijosku_probe", "sijosku_probe_total", [], [], "uji"), count, 0.0)
        kept.close()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    lines = browser.get("/metrics").get_data(as_text=True).splitlines()
    assert "sijosku_probe_total 7.0" in lines
    assert not any(line.startswith("python_info") for line in lines)  # not this one process's own figures


def test_a_fixed_text_with_a_percent_sign_reads_one_percent_sign(app):
    """A page's text without variables shows "%%" as "%", as Jinja's own gettext does."""
    with app.test_request_context("/"):
        assert render_template_string("{{ _('Terisi 100%%') }}") == "Terisi 100%"


def _form_fields(page: str) -> dict[str, str]:
    """What the entry's form showed when opened (`awal_*`) and when the entry last changed (`versi`)."""
    found = re.findall(r'name="(awal_\w+|versi)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def test_an_older_forms_category_is_not_offered_to_copy_over_the_entry_changed_meanwhile(browser, db, people):
    """Of what an older tab typed, the operator is offered the fields to copy, never a category."""
    sid = open_with_items(db, rows=[person_row(1)])
    (item,) = items_of(db, sid)
    address = f"/desa/pengajuan/{sid}/item/{item.id}"
    browser.login("op.desa")
    form = browser.get(address).get_data(as_text=True)
    opened = _form_fields(form)
    newer = {**person_row(1), "alamat": "RT 05 Dusun Baru", "versi": opened["versi"]}
    assert browser.post(address, newer, token_from="/akun/sandi").status_code == 302
    older = {**person_row(1), **opened, "kategori": "ODHA", "keterangan": "dari tab lama"}
    page = html.unescape(browser.post(address, older, token_from="/akun/sandi").get_data(as_text=True))
    offered = page.split('class="returns" role="note"')[1].split("</div>")[0]
    assert "Keterangan: dari tab lama" in offered and "ODHA" not in offered


def test_a_communitys_form_opened_again_shows_its_members_and_leader_as_stored(browser, db, people):
    """Editing an entry shows its category's own fields (members, leader) filled in, not empty."""
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    community = {"kategori": "KAT", "nama": "Punan Adiu", "alamat": "Long Adiu"}
    attributes = {"atribut_jumlah_anggota": "48", "atribut_nama_ketua": "Lawing"}
    assert browser.post(f"/desa/pengajuan/{sid}/item/baru?kategori=KAT", {**community, **attributes}).status_code == 302
    (item,) = items_of(db, sid)
    form = browser.get(f"/desa/pengajuan/{sid}/item/{item.id}").get_data(as_text=True)
    for name, value in attributes.items():
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"', form), name


def test_a_categorys_template_downloads_under_a_name_that_says_its_category(browser, people):
    browser.login("op.desa")
    answer = browser.get("/desa/templat?kategori=KAT")
    assert answer.headers["Content-Disposition"] == "attachment; filename=templat-KAT.xlsx"


def test_a_refused_files_problems_download_as_a_csv_file_not_a_page(browser, db, people):
    """The list of a refused file's problems is saved as a file to fix the upload with."""
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    file = {"berkas": (io.BytesIO(csv_of([person_row(1, kategori="ZZZ")]).encode()), "data.csv")}
    done = browser.post(f"/desa/pengajuan/{sid}/impor", file, content_type="multipart/form-data")
    listed = browser.get(done.headers["Location"] + "/masalah.csv")
    disposition = listed.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')


def test_the_auditor_traces_a_desas_official_figure_by_its_full_code(db, people, password_hash, signed_in):
    """A desa's code has 13 characters; its figure's trail opens, not a figure of a code cut short."""
    reconciliation_year(db, password_hash, team=False)
    determine(db, RECONCILIATION_YEAR, "SK-1/2027")
    auditor = signed_in("auditor.prov")
    answer = auditor.get(f"/penetapan/{RECONCILIATION_YEAR}/jejak?wilayah={DESA}&kategori=LUT")
    assert answer.status_code == 200 and DESA in answer.get_data(as_text=True)
