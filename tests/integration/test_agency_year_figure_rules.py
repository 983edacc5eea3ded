"""What the province's data steward and the auditor rely on when an agency's yearly figures are received,
taken back and read: the figures a preview's form carries to the confirmation, blank lines and all, each
explanation a withdrawal keeps whole on the trail, and the year's list of agencies and one agency's figures
as those who oversee it read them."""

from __future__ import annotations

from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.quality import review
from engine.verification import agency_figures, agency_listing
from models import QualityFlag
from tests.factories import actor
from tests.integration.test_agency_uploads import FILE, PROVINCE, SECRET, _actions, _key, _preview, _receive, _theirs


def test_blank_lines_in_the_carried_figures_are_skipped_and_the_figures_saved(db, stewards, our_figures):
    """A form whose figures come back with blank lines between them (a browser's line endings) saves them."""
    plan = _preview(db, text=FILE + "Dinas Kesehatan,AKTK,65.01,2024,40\n")
    carried = "\n\n" + agency_figures.carried(plan).replace("\n", "\r\n\r\n") + "\n\n"
    rows = agency_figures.from_carried(carried)
    assert len(rows) == 3
    with db.transaction() as s:
        sent = agency_figures.Confirmation(2024, rows, plan.digest, plan.berkas)
        assert agency_figures.receive(s, actor(db, "walidata.prov"), sent, PROVINCE, SECRET).saved
    assert _theirs(db) == {("DP3AP2KB", "65.01"): 30, ("DP3AP2KB", "65.02"): 21, ("Dinas Kesehatan", "65.01"): 40}


def test_a_withdrawal_keeps_each_explanation_whole_on_the_trail(db, stewards, our_figures):
    """The auditor reads what was explained, by whom, with its status and note, after the figure is gone."""
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",5\n")))
    note = "DP3AP2KB hanya menghitung kasus yang dilaporkan"
    with db.transaction() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
        review.settle(s, actor(db, "walidata.prov"), flag.id, "jelaskan", note, "terbuka")
        flag_id = flag.id
    with db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas yang salah nama", _key(db))
    (entry,) = _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)
    assert entry.before["tanda"] == [
        [flag_id, "selisih_instansi", "65.01", "AKTK", "2024", "dijelaskan", "walidata.prov", note]
    ]


def test_one_agency_s_figures_are_listed_by_region_category_and_period_whatever_the_file_s_order(
    db, stewards, our_figures
):
    """The page reads region by region, then category and period, not in the order the figures came."""
    head = FILE.splitlines()[0]
    _receive(db, _preview(db, text=f"{head}\nDP3AP2KB,LUT,65.02,2024,4\nDP3AP2KB,AKTK,65.02,2024,21\n"))
    _receive(db, _preview(db, text=f"{head}\nDP3AP2KB,AKTK,65.01,2024-S1,9\nDP3AP2KB,AKTK,65.01,2024,30\n"))
    with db.read() as s:
        rows, page, pages = agency_listing.figures_of(s, actor(db, "walidata.prov"), 2024, "DP3AP2KB")
    assert [(r.kode_wilayah, r.kategori, r.periode) for r in rows] == [
        ("65.01", "AKTK", "2024"),
        ("65.01", "AKTK", "2024-S1"),
        ("65.02", "AKTK", "2024"),
        ("65.02", "LUT", "2024"),
    ]
    assert (page, pages) == (1, 1)


def test_the_year_s_list_counts_an_agency_s_regions_and_categories_apart_and_names_its_periods(
    db, stewards, our_figures
):
    """Two regions of one category are two regions and one category; each period is named once, in order."""
    _receive(db, _preview(db, text=FILE + "DP3AP2KB,AKTK,65.01,2024-S1,14\n"))
    with db.read() as s:
        (row,) = agency_listing.overview(s, actor(db, "walidata.prov"), 2024)
    assert (row.instansi, row.angka, row.wilayah, row.kategori) == ("DP3AP2KB", 3, 2, 1)
    assert row.periode == ["2024", "2024-S1"]
