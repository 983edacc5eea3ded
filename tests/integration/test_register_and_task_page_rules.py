"""What the register page, a task page, a determination's page and files, a figure's trail and the
agencies' listing show, and to whom: the records still to carry in, the people taken out, the
statements a desa makes and what the trail keeps of them, and what each reader is given."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import select

from engine.verification import (
    determination_exports,
    determination_view,
    imports,
    items,
    register,
    register_view,
    submissions,
    task_page,
)
from models import Category, RecordStatus, SubmissionItem, VervalStatus
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    actor,
    carded_record,
    csv_of,
    decide,
    make_team,
    odha_person_died,
    open_task,
    person_row,
    reconciliation_year,
    register_record,
    submit,
)
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.integration.entry_steps import _register, _set_aside_by_an_approval, _trail
from tests.integration.reconciliation_steps import determine

# -- the register page ---------------------------------------------------------------------------


def _page(db, sid: int, status_filter: str = "semua", query: str = "", who: str = "op.desa"):
    with db.read() as s:
        return register_view.register_page(s, actor(db, who), sid, status_filter, query)


def test_a_record_taken_off_the_register_since_the_period_opened_is_not_still_to_carry_in(db, people):
    """Only active records wait to join the period's list: one removed meanwhile is not counted."""
    sid, _ = _register(db, 1)
    with db.transaction() as s:
        s.add(register_record(2, status=RecordStatus.DIHAPUS))
    assert _page(db, sid).progress.missing == 0


def test_the_register_page_knows_more_people_were_taken_out_than_it_names(db, people):
    """With more people taken out than the page names, it says there are others, naming the first."""
    shown = register_view.TAKEN_OUT_SHOWN
    sid, ids = _register(db, *range(1, shown + 3))
    for item_id in ids:
        _set_aside_by_an_approval(db, item_id)
    page = _page(db, sid)
    assert len(page.taken_out) > shown and page.rows == []
    assert page.taken_out[:2] == [person_row(1)["nama"], person_row(2)["nama"]]  # in the order of the list


def test_the_register_page_opens_on_the_records_still_without_a_status(db, people):
    sid, (found, unchecked) = _register(db, 1, 2)
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [found], VervalStatus.LAYAK)
    with db.read() as s:
        page = register_view.register_page(s, actor(db, "op.desa"), sid)
    assert (page.status_filter, [r.item.id for r in page.rows], page.progress.checked) == ("belum", [unchecked], 1)


def test_a_register_search_finds_a_nik_or_family_card_by_its_start_and_keeps_the_fields_length(db, people):
    """A number is searched from its first digit (its end alone finds nobody); a longer text is cut."""
    sid, (item,) = _register(db, 1, no_kk="6501010000000001")
    nik = person_row(1)["nik"]
    assert [r.item.id for r in _page(db, sid, query=nik[:8]).rows] == [item]
    assert [r.item.id for r in _page(db, sid, query="65010100000").rows] == [item]
    assert _page(db, sid, query=nik[-8:]).rows == []
    asked = "Maria " + "x" * 100
    assert _page(db, sid, query=asked).query == asked[: register_view.QUERY_LIMIT]


# -- the desa's statements -----------------------------------------------------------------------


def test_the_reason_the_register_could_not_be_checked_is_the_reason_on_the_trail(db, people):
    """An auditor reads why the desa did not re-verify its register on the statement's trail row."""
    sid, _ = _register(db, 1)
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, unchecked="  banjir, jalan ke dusun putus  ")
    (said,) = _trail(db, "SUBMISSION_DECLARED")
    assert said.reason == "banjir, jalan ke dusun putus"
    assert said.after == {"nihil": False, "tidak_diperiksa": "banjir, jalan ke dusun putus"}


# -- what a task page shows a verifier who reads NIKs masked -------------------------------------

OTHER_NIK = "6501015705500099"  # someone else's NIK, written into the free texts
NEW_KK, LATER_KK = "6501010101260009", "6501010101260010"


def _corrected_returned_and_sent_again(db) -> tuple[int, int]:
    """Person 1's family card corrected, returned by the kecamatan with reasons naming another NIK,
    corrected again and sent up, approved by the kecamatan: waiting at the kabupaten. (submission, item)"""
    make_team(db)
    carded_record(db, 1)
    operator = actor(db, "op.desa")
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        register.prefill(s, {DESA: sid})
    with db.read() as s:
        item = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid))
    row = {k: person_row(1).get(k, "") for k in items.ITEM_COLUMNS}
    with db.transaction() as s:
        items.save_item(s, operator, sid, row | {"no_kk": NEW_KK}, item)
        register.declare(s, operator, sid, unchecked=f"sebagian tidak ditemui, lihat NIK {OTHER_NIK}")
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", f"ganda dengan NIK {OTHER_NIK}", {item: f"sama dengan {OTHER_NIK}"})
    with db.transaction() as s:
        items.save_item(s, operator, sid, row | {"no_kk": LATER_KK}, item)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    return sid, item


def test_the_kabupaten_reads_every_number_on_the_task_page_masked(db):
    """The card's change, the earlier round's verdict, the decisions, what changed since the return
    and why the register was not checked: no NIK or family card number is read whole."""
    sid, item = _corrected_returned_and_sent_again(db)
    with db.read() as s:
        page = task_page.task_page(s, actor(db, "verif.kab"), open_task(db, sid, "kabupaten").id, "semua")
    (row,) = page.items
    said = [
        row.nik,
        row.no_kk,
        row.changes,
        [v["alasan"] for v in row.earlier],
        [d["alasan"] for d in page.decisions],
        page.since_return,
        page.unchecked_reason,
    ]
    for whole in (person_row(1)["nik"], OTHER_NIK, NEW_KK, LATER_KK):
        assert whole not in repr(said)
    assert ("no_kk", "650101**********", "650101**********") in row.changes
    assert page.since_return == {item: [("no_kk", "650101**********", "650101**********")]}
    assert page.unchecked_reason == "sebagian tidak ditemui, lihat NIK 650101**********"


# -- a determination's page ----------------------------------------------------------------------


def test_the_provinces_auditor_traces_each_regencys_figure_the_comparison_shows(db, people, password_hash):
    """Next year's page compares the regencies' figures with the year before: the province's auditor
    follows each of them to its trail; a steward who audits nothing follows none."""
    reconciliation_year(db, password_hash, team=False)
    determine(db, YEAR, "SK-1/2027")
    odha_person_died(db, f"{YEAR + 1}-Q1")
    determine(db, YEAR + 1, "SK-2/2028")
    with db.read() as s:
        audited = determination_view.determination_page(s, actor(db, "auditor.prov"), YEAR + 1)
        stewarded = determination_view.determination_page(s, actor(db, "walidata.prov"), YEAR + 1)
    compared = {c["wilayah"] for c in audited["comparison"]["perubahan"]}
    assert "65.01" in compared and audited["traceable"] == compared | {"65"}
    assert stewarded["traceable"] == set()


def test_a_revisions_reason_a_spreadsheet_would_run_is_written_as_text_in_the_workbooks_metadata(
    db, people, password_hash
):
    """Why the year was revised is the head's free text: the metadata sheet shows it, never runs it; the
    approval is dated in WITA, as every page shows it; each category is defined by its criteria."""
    reconciliation_year(db, password_hash, team=False)
    determine(db, YEAR, "SK-1/2027")
    formula = '=HYPERLINK("http://contoh.jahat/","ODHA terlewat")'
    determine(db, YEAR, "SK-1a/2027", alasan_revisi=formula)
    with db.transaction() as s:
        content, _ = determination_exports.export(s, actor(db, "walidata.prov"), YEAR, "xlsx", db.settings)
    book = openpyxl.load_workbook(io.BytesIO(content))
    said = {row[0].value: row[1] for row in book["metadata"].iter_rows()}
    defined = {row[0].value: (row[1].value, row[2].value) for row in book["definisi"].iter_rows(min_row=2)}
    with db.read() as s:
        lut = s.get(Category, "LUT")
        assert defined["LUT"] == (lut.nama, lut.kriteria) and lut.kriteria != lut.nama  # what a LUT person is
    assert said["alasan_revisi"].value == "'" + formula and said["alasan_revisi"].data_type == "s"
    assert said["disetujui_pada"].value.endswith("+08:00")  # the approval in the province's own time


# -- the register before and after, on a task page -----------------------------------------------


def test_the_kecamatan_reads_each_categorys_register_before_and_after_and_the_desa_does_not(db):
    """Two LUT people on the register, one died, one LUT and one ODHA person new: LUT stays at two
    (no change in percent), ODHA comes from none (no percent to give). The desa's own task, once
    returned, shows no such table, and asks no record of a look at its own people's NIKs."""
    make_team(db)
    carded_record(db, 1)
    carded_record(db, 2)
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        register.prefill(s, {DESA: sid})
        died = s.scalar(select(SubmissionItem.id).where(SubmissionItem.nik == person_row(2)["nik"]))
        register.set_status(s, actor(db, "op.desa"), sid, [died], VervalStatus.MENINGGAL, "wafat Oktober")
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(7), person_row(8, kategori="ODHA")]))
    submit(db, "op.desa", sid)
    with db.read() as s:
        page = task_page.task_page(s, actor(db, "verif.kec"), open_task(db, sid, "kecamatan").id)
    said = [(c.kategori, c.sebelum, c.baru, c.keluar, c.sesudah, c.persen) for c in page.summary]
    assert said == [("LUT", 2, 1, 1, 2, 0), ("ODHA", 0, 1, 0, 1, None)]
    decide(db, "verif.kec", sid, "return", "lengkapi alamat")
    with db.read() as s:
        own = task_page.task_page(s, actor(db, "op.desa"), open_task(db, sid, "desa").id)
    assert own.summary == [] and own.region_flags.total == 0
    assert not own.nik_look_unrecorded  # the operator's own people: no look to put on the trail
