"""The published figures of a determination as each reader takes them: a regency's file and page keep
to its own part, each file describes what it publishes, the annex shows the compiled figures, an
auditor follows a figure to the records, flags and decisions behind it alone, and our own figures of a
period are Dinas Sosial's, kept as a determined year froze them."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pypdfium2
import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.quality import aggregates, figure_files, series
from engine.verification import (
    cycles,
    determination_exports,
    determination_view,
    figure_trail,
    period_figures,
    region_updates,
)
from models import (
    AggregateValue,
    AuditEvent,
    Cycle,
    CycleStatus,
    Determination,
    QualityFlag,
    SubmissionItem,
)
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import (
    SYSTEM,
    actor,
    new_person,
    odha_person_died,
    reconciliation_year,
    verified_records,
)
from tests.integration.reconciliation_steps import (
    accept_at_forum,
    decree_at_head,
    determine,
    open_tasks,
    person,
    to_the_head,
)
from tests.regions import listing, regions_restored  # noqa: F401  (the fixture)

NEIGHBOUR = "65.01.01.2006"  # another desa of Gunung Putih's kecamatan


@pytest.fixture
def determined(db, people, password_hash):
    """The year determined: three LUT and one ODHA record in Gunung Putih (Bulungan), a closed cycle
    that asked Bulungan's and Malinau's desa, and Bulungan's own auditor."""
    reconciliation_year(db, password_hash, team=False)
    cycles.open_cycle(db, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    cycles.close_cycle(db, SYSTEM, f"{YEAR}-Q4", early=True)
    determine(db, YEAR, "SK-1/2027")
    new_person(db, "auditor.kab", role="auditor", region="65.01")
    return db


def _export(db, username: str, fmt: str, revisi: int | None = None) -> tuple[bytes, str]:
    with db.transaction() as s:
        return determination_exports.export(s, actor(db, username), YEAR, fmt, db.settings, revisi=revisi)


def _csv(content: bytes) -> tuple[dict[str, str], list[list[str]]]:
    """A CSV export's metadata (`# key` -> value) and its table's rows."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    said = {r[0][2:]: r[1] for r in rows if r and r[0].startswith("# ")}
    return said, [r for r in rows if r and not r[0].startswith("#")][1:]


# -- the files ---------------------------------------------------------------------------------


def test_a_regencys_file_names_its_part_and_reports_only_its_own_regency(determined):
    """A regency's file says it is a part of the province's figures and gives only its own reporting."""
    content, name = _export(determined, "walidata.kab", "csv")
    said, rows = _csv(content)
    assert name == f"penetapan-{YEAR}-r0-6501.csv"
    assert said["wilayah"] == "65.01 (bagian dari 65)"
    assert [k for k in said if k.startswith("kelengkapan_")] == [f"kelengkapan_65.01_{YEAR}-Q4"]
    assert {r[0] for r in rows} == {"65.01", "65.01.01", "65.01.01.2005"}
    whole, _ = _csv(_export(determined, "walidata.prov", "csv")[0])
    assert whole["wilayah"] == "65"
    assert {f"kelengkapan_{code}_{YEAR}-Q4" for code in ("65.01", "65.02")} <= set(whole)


def test_every_export_is_recorded_with_its_format_revision_hash_and_part(determined):
    """The trail says who took which file of which revision, and which part of the province."""
    _export(determined, "walidata.kab", "xlsx")
    _export(determined, "walidata.prov", "pdf")
    with determined.read() as s:
        frozen = s.scalar(select(Determination))
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.DETERMINATION_EXPORTED).order_by(AuditEvent.seq)
        ).all()
    assert [(e.actor, e.after["format"], e.after["wilayah"]) for e in events] == [
        ("walidata.kab", "xlsx", ["65.01"]),
        ("walidata.prov", "pdf", ["65"]),
    ]
    assert {(e.after["tahun"], e.after["revisi"], e.after["hash"]) for e in events} == {(YEAR, 0, frozen.content_hash)}


def test_each_file_defines_every_category_it_publishes(determined):
    """The CSV and the spreadsheet carry the definition of each category in their table, none other."""
    said, rows = _csv(_export(determined, "walidata.prov", "csv")[0])
    assert said["definisi LUT"].startswith("Lanjut Usia Terlantar: ")
    assert said["definisi ODHA"].startswith("Orang dengan HIV/AIDS")
    assert {k for k in said if k.startswith("definisi ")} == {"definisi LUT", "definisi ODHA"}
    book = openpyxl.load_workbook(io.BytesIO(_export(determined, "walidata.prov", "xlsx")[0]))
    defined = list(book["definisi"].iter_rows(values_only=True))
    assert [row[0] for row in defined] == ["kategori", "LUT", "ODHA"]
    assert all(row[2] for row in defined)  # each with its criteria
    table = [[str(c) for c in row] for row in book["angka"].iter_rows(min_row=2, values_only=True)]
    assert table == rows  # the same figures in both files


def test_the_pdf_annex_shows_the_province_and_its_regencies_not_kecamatan_or_desa(determined):
    """The annex's table is the compiled figures: a desa's or kecamatan's row is not in it."""
    content, name = _export(determined, "walidata.prov", "pdf")
    pdf = pypdfium2.PdfDocument(content)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()
    assert name == f"penetapan-{YEAR}-r0.pdf"
    assert "Kabupaten Bulungan" in text and "SK-1/2027" in text
    assert "65.01.01" not in text and "Gunung Putih" not in text


@pytest.mark.usefixtures("regions_restored")
def test_a_region_name_a_spreadsheet_would_run_is_written_as_text_in_the_workbook(db, people, password_hash):
    """A regency renamed by a Kemendagri list to a text starting with `=` is shown in the table, not run."""
    reconciliation_year(db, password_hash, team=False)
    formula = '=HYPERLINK("http://contoh.jahat/","Bulungan")'
    with db.transaction() as s:
        rows = listing(rename={"65.01": formula})
        region_updates.apply_update(s, SYSTEM, rows, "65", ("Kepmendagri uji", date(2026, 12, 1)), date(2026, 12, 3))
    determine(db, YEAR, "SK-1/2027")
    book = openpyxl.load_workbook(io.BytesIO(_export(db, "walidata.prov", "xlsx")[0]))
    (cell,) = [
        row[1] for row in book["angka"].iter_rows(min_row=2) if row[0].value == "65.01" and row[2].value == "LUT"
    ]
    assert cell.value == "'" + formula and cell.data_type == "s"


def test_each_revisions_files_say_which_revision_they_are_and_what_they_replace(determined):
    """The first determination's file says revision 0 and replaces nothing; the revision's says 1."""
    determine(determined, YEAR, "SK-1a/2027", alasan_revisi="ODHA Malinau terlewat")
    first, first_name = _export(determined, "walidata.prov", "csv", revisi=0)
    latest, latest_name = _export(determined, "walidata.prov", "csv")
    said_first, said_latest = _csv(first)[0], _csv(latest)[0]
    assert (first_name, latest_name) == (f"penetapan-{YEAR}-r0.csv", f"penetapan-{YEAR}-r1.csv")
    assert (said_first["revisi"], said_first["nomor_sk"]) == ("0", "SK-1/2027") and "menggantikan" not in said_first
    assert (said_latest["revisi"], said_latest["nomor_sk"]) == ("1", "SK-1a/2027")
    assert said_latest["alasan_revisi"] == "ODHA Malinau terlewat"
    assert said_first["periode"] == said_latest["periode"] == str(YEAR)  # the year determined, in both


def test_an_export_in_a_format_not_offered_is_refused_and_not_on_the_trail(determined):
    with pytest.raises(Invalid, match="Format 'docx' tidak dikenal; gunakan csv, xlsx, pdf"):
        _export(determined, "walidata.prov", "docx")
    with determined.read() as s:
        assert not s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.DETERMINATION_EXPORTED))


# -- the determination's page ------------------------------------------------------------------


def _page(db, username: str, revisi: int | None = None) -> dict:
    with db.read() as s:
        return determination_view.determination_page(s, actor(db, username), YEAR, revisi)


def test_a_regencys_page_reports_only_its_own_regency_with_its_name(determined):
    """How many desa reported, on the page a regency reads: its own regency, named, not the others."""
    regency = _page(determined, "walidata.kab")
    assert {c.kode for c in regency["reporting"]} == {"65.01"}
    assert regency["names"] == {"65.01": "Kabupaten Bulungan"}
    province = _page(determined, "walidata.prov")
    assert {"65.01", "65.02"} <= {c.kode for c in province["reporting"]}
    assert province["names"]["65.02"] == "Kabupaten Malinau"


def test_an_earlier_revisions_page_says_which_revision_is_the_latest(determined):
    """Revision 0's page, once revised, says revision 1 is the latest (so it is marked as replaced)."""
    determine(determined, YEAR, "SK-1a/2027", alasan_revisi="ODHA Malinau terlewat")
    earlier = _page(determined, "walidata.prov", revisi=0)
    assert (earlier["d"]["revisi"], earlier["latest"]) == (0, 1)
    assert _page(determined, "walidata.prov")["latest"] == 1


def test_only_an_auditor_of_a_part_of_the_province_is_given_its_own_figures_to_trace(determined):
    """The province's auditor traces the province's figures; Bulungan's auditor gets Bulungan's own
    figures (not its desa's) to trace; a steward who audits nothing traces none."""
    province = _page(determined, "auditor.prov")
    assert province["own"] == [] and province["traceable"] == {"65"}
    regency = _page(determined, "auditor.kab")
    assert sorted((f["wilayah"], f["kategori"], f["nilai"]) for f in regency["own"]) == [
        ("65.01", "LUT", 3),
        ("65.01", "ODHA", 1),
    ]
    assert regency["traceable"] == {"65.01"}
    assert _page(determined, "walidata.prov")["traceable"] == set()


# -- the auditor's trail -----------------------------------------------------------------------


def _trail(db, wilayah: str, kategori: str, username: str = "auditor.prov") -> dict:
    with db.read() as s:
        return figure_trail.figure_trail(s, actor(db, username), YEAR, wilayah, kategori)


def test_a_figures_trail_holds_the_records_of_its_own_category_and_region(db, people, password_hash):
    """Gunung Putih's ODHA figure leads to its one ODHA record; its LUT figure to its three LUT records,
    not to the neighbouring desa's LUT person counted in the kecamatan."""
    reconciliation_year(db, password_hash, team=False)
    verified_records(db, NEIGHBOUR, (21,))
    determine(db, YEAR, "SK-1/2027")
    odha = _trail(db, "65.01.01.2005", "ODHA")
    assert odha["nilai"] == 1 and len(odha["catatan"]) == 1
    lut = _trail(db, "65.01.01.2005", "LUT")
    assert lut["nilai"] == 3 and {r["kode_desa"] for r in lut["catatan"]} == {"65.01.01.2005"}
    assert len(lut["catatan"]) == 3
    kecamatan = _trail(db, "65.01.01", "LUT")
    assert kecamatan["nilai"] == 4 and len(kecamatan["catatan"]) == 4


def test_a_figures_trail_shows_only_the_years_flags_on_that_figure(determined):
    """Flags of another period, category or region, and a flag on one person's entry, are not the
    figure's: the trail shows the two the regency explained on Bulungan's LUT of the year."""
    with determined.transaction() as s:
        item = s.scalar(select(SubmissionItem.id).limit(1))
        elsewhere = [
            ("2025", "65.01", "LUT", None),
            (str(YEAR), "65.02", "LUT", None),
            (str(YEAR), "65.01", "KTK", None),
            (str(YEAR), "65.01", "LUT", item),
        ]
        for periode, region, kategori, item_id in elsewhere:
            s.add(
                QualityFlag(
                    rule="lain", severity="warning", message="bukan tanda angka ini", region_kode=region,
                    kategori=kategori, periode=periode, item_id=item_id,
                )
            )  # fmt: skip
    trail = _trail(determined, "65.01", "LUT")
    assert sorted(f["aturan"] for f in trail["tanda"]) == ["instansi", "lonjakan"]
    assert [f["oleh"] for f in trail["tanda"]] == ["walidata.kab", "walidata.kab"]
    assert {h["aksi"] for h in trail["riwayat_tanda"]} == {"FLAG_EXPLAINED", "EXPLANATION_ACCEPTED"}
    assert {h["tanda"] for h in trail["riwayat_tanda"]} == {str(f["id"]) for f in trail["tanda"]}


def test_a_figures_trail_shows_the_decisions_of_its_region_above_and_inside_it(determined):
    """A regency's figure: its own review, the Forum's and the head's; the province's figure: every
    regency's review too; never another regency's review on a regency's figure."""
    regency = _trail(determined, "65.01", "LUT")
    assert [(d["tugas"], d["wilayah"]) for d in regency["keputusan"]] == [
        ("Tinjauan kabupaten/kota", "65.01"),
        ("Tinjauan Forum Satu Data", "65"),
        ("Penetapan oleh kepala dinas", "65"),
    ]
    province = _trail(determined, "65", "LUT")
    assert {d["wilayah"] for d in province["keputusan"]} == {"65", "65.01", "65.02", "65.03", "65.04", "65.71"}


def test_a_reason_given_above_a_regency_is_read_only_by_an_auditor_whose_regions_cover_it(db, people, password_hash):
    """The head sent the year back to the Forum with a reason: the province's auditor reads it on
    Bulungan's figure; Bulungan's auditor sees the decision, not the reason."""
    from engine.verification import reconciliation

    reconciliation_year(db, password_hash, team=False)
    head = to_the_head(db, YEAR)
    back = reconciliation.HeadDecision(head.id, "kembalikan", "periksa lagi ODHA Bulungan")
    with db.transaction() as s:
        reconciliation.decide_determination(s, person(db, "kepala.dinas"), back)
    accept_at_forum(db)
    (again,) = open_tasks(db, "penetapan_kepala")
    decree_at_head(db, again, "SK-1/2027")
    new_person(db, "auditor.kab", role="auditor", region="65.01")
    said = {
        username: [d["alasan"] for d in _trail(db, "65.01", "LUT", username)["keputusan"] if d["wilayah"] == "65"]
        for username in ("auditor.prov", "auditor.kab")
    }
    assert "periksa lagi ODHA Bulungan" in said["auditor.prov"]
    assert len(said["auditor.kab"]) == len(said["auditor.prov"]) and set(said["auditor.kab"]) == {None}


def test_only_an_auditor_follows_a_figure_to_its_trail_and_only_in_their_regions(determined):
    """A steward is refused the trail; another regency's auditor does not find Bulungan's figure; an
    unknown category, or a region with no figure at all, is not found; a category none counted is 0."""
    with pytest.raises(Forbidden):
        _trail(determined, "65.01", "LUT", username="walidata.prov")
    with pytest.raises(NotFound):
        _trail(determined, "65.01", "LUT", username="auditor.kab.lain")
    for wilayah, kategori in (("65.01", "XYZ"), ("65.02", "LUT")):  # no such category; a regency with no figure
        with pytest.raises(NotFound):
            _trail(determined, wilayah, kategori)
    assert _trail(determined, "65.01", "KTK")["nilai"] == 0  # none counted where Bulungan has figures: 0
    assert _trail(determined, "65.01", "LUT", username="auditor.kab")["nilai"] == 3


def test_every_figure_the_auditor_is_given_to_trace_in_the_comparison_has_a_trail(db, people, password_hash):
    """The next year's comparison shows Bulungan's ODHA gone to 0 (its one person died): the auditor's
    page links that 0 to its trail, which must open, not answer that the determination has no such figure."""
    reconciliation_year(db, password_hash, team=False)
    determine(db, YEAR, "SK-1/2027")
    odha_person_died(db, f"{YEAR + 1}-Q1")
    determine(db, YEAR + 1, "SK-2/2028")
    auditor = actor(db, "auditor.prov")
    with db.read() as s:
        page = determination_view.determination_page(s, auditor, YEAR + 1)
        linked = {
            (c["wilayah"], c["kategori"])
            for c in page["comparison"]["perubahan"]
            if c["sesudah"] is not None and c["wilayah"] in page["traceable"]
        }
        assert ("65.01", "ODHA", 0) in {
            (c["wilayah"], c["kategori"], c["sesudah"]) for c in page["comparison"]["perubahan"]
        }
        for wilayah, kategori in sorted(linked):
            figure_trail.figure_trail(s, auditor, YEAR + 1, wilayah, kategori)


# -- our own figures of a period ---------------------------------------------------------------


def test_a_regions_figures_are_dinas_sosials_own_not_an_agencys(db, people):
    """An agency's figure of the region is not listed as ours, nor is a period only an agency counted."""
    values = [
        series.Value("65.01", "LUT", "2025", 5),
        series.Value("65.01", "LUT", "2025", 9, "DP3AP2KB"),
        series.Value("65.01", "KTK", "2025", 2, "DP3AP2KB"),
        series.Value("65.01", "LUT", "2021", 4, "DP3AP2KB"),
    ]
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, values, AuditAction.BASELINE_IMPORTED)
    with db.read() as s:
        shown = period_figures.region_figures(s, actor(db, "verif.kab"), "65.01", "", "65")
    assert shown.periods == ["2025"] and shown.periode == "2025"
    assert [(r.kategori, r.nilai) for r in shown.rows] == [("LUT", 5)]


def _closed_cycle_with_a_verified_person(db, periode: str, serial: int = 31) -> None:
    verified_records(db, NEIGHBOUR, (serial,), periode=periode)
    with db.transaction() as s:
        s.add(Cycle(periode=periode, region_kode="65", status=CycleStatus.DITUTUP, batas={}))


def _ours(db, periode: str) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(
            select(AggregateValue.region_kode, AggregateValue.nilai).where(
                AggregateValue.periode == periode, AggregateValue.sumber == "dinsos", AggregateValue.kategori == "LUT"
            )
        )
        return dict(rows.all())


def test_a_period_of_a_year_determined_meanwhile_is_left_as_it_was_frozen(db, people):
    """The daily job listed a period before its year was determined: counting it finds the year
    determined and stores nothing."""
    _closed_cycle_with_a_verified_person(db, "2026-Q3")
    with db.transaction() as s:
        s.add(
            Determination(
                tahun=2026, region_kode="65", nomor_sk="SK 1/2027", tanggal_sk=date(2027, 1, 15),
                approved_by="kepala.dinas", content_hash="0" * 64, content={"angka": []},
            )
        )  # fmt: skip
    with db.transaction() as s:
        counted = period_figures.keep_current(s, SYSTEM, "65", "2026-Q3")
    assert counted == period_figures.Counted("2026-Q3", 0)
    assert _ours(db, "2026-Q3") == {}


def test_a_years_reconciliation_takes_again_that_years_closed_periods_only(db, people):
    """Taking 2026's figures counts 2026's closed periods, not a closed period of the next year."""
    _closed_cycle_with_a_verified_person(db, "2026-Q3")
    _closed_cycle_with_a_verified_person(db, "2027-Q1", serial=32)
    with db.transaction() as s:
        period_figures.take_year(s, SYSTEM, "65", 2026)
    assert _ours(db, "2026-Q3")["65.01"] == 1
    assert _ours(db, "2027-Q1") == {}


# -- figures files ----------------------------------------------------------------------------


def _row(**over: str) -> dict[str, str]:
    return {"instansi": "DP3AP2KB", "kategori": "LUT", "kode_wilayah": "65.01", "periode": "2025", "nilai": "3", **over}


def _problems(db, rows: list[dict[str, str]]) -> list[tuple[int | None, str | None]]:
    """Each fault (row, column) an agency's rows sent to the API are refused with; none when read."""
    with db.read() as s:
        try:
            figure_files.agency_values(s, rows)
        except Invalid as exc:
            return [(p.row, p.column) for p in exc.problems]
    return []


def test_an_agencys_figures_are_read_up_to_each_bound_and_refused_beyond_it(db):
    """The largest count, the longest agency name, next year and the archives' first year are read;
    one beyond each is refused on its row; an empty or differently spaced name beside a code is no fault."""
    next_year = clock.today().year + 1
    read = [
        _row(nilai="10.000.000"),
        _row(instansi="D" * 80, periode="2024"),
        _row(periode=str(next_year)),
        _row(periode="1990"),
        _row(kode_wilayah="65.02", nama_wilayah=""),
        _row(kode_wilayah="65.03", nama_wilayah="Kab.  Nunukan"),
        _row(kode_wilayah="65.04", nilai=" 1.250 "),
        _row(kode_wilayah="65.71", kategori="lanjut usia  Terlantar"),  # a category by its name
    ]
    assert _problems(db, read) == []
    refused = [
        _row(nilai="10000001"),
        _row(instansi="D" * 81, periode="2024"),
        _row(periode=str(next_year + 1)),
        _row(periode="1989"),
        _row(kode_wilayah="65.02", nilai="３"),  # full-width digits are not a count a person typed
        _row(kode_wilayah="65.03", nilai="12.50"),  # a decimal, not 1250
    ]
    assert _problems(db, refused) == [
        (1, "nilai"),
        (2, "instansi"),
        (3, "periode"),
        (4, "periode"),
        (5, "nilai"),
        (6, "nilai"),
    ]


def test_a_line_break_inside_an_agencys_cell_is_refused_before_anything_is_read(db):
    """A control character is not only a NUL: a line break pasted inside a name refuses the row too."""
    assert _problems(db, [_row(), _row(kode_wilayah="65.02", nama_wilayah="Kabupaten\nMalinau")]) == [
        (2, "nama_wilayah")
    ]


def test_each_repeat_of_an_agencys_figure_is_named_but_two_agencies_may_give_the_same(db):
    """A figure sent three times is refused on its second and third rows; Dinkes's figure of the same
    region, category and year is its own, not a repeat."""
    rows = [_row(), _row(instansi="Dinkes"), _row(), _row()]
    assert _problems(db, rows) == [(3, "periode"), (4, "periode")]
