"""The official figures as they leave the product: sensitive categories only from the kabupaten/kota
up (a desa's count of people with HIV is one person), a regency's people take their own regency's
part, and every revision of a year can still be opened and downloaded."""

from __future__ import annotations

import csv
import io
import math
from datetime import date

import pytest
from sqlalchemy import select

from engine.verification import cycles, region_history, region_updates
from models import AuditEvent
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import SYSTEM, reconciliation_year
from tests.integration.reconciliation_steps import determine
from tests.regions import listing, regions_restored  # noqa: F401  (the fixture)


@pytest.fixture
def determined(db, people, password_hash):
    reconciliation_year(db, password_hash, team=False)
    determine(db, YEAR, "SK-1/2027")
    return db


def _table(answer) -> list[list[str]]:  # noqa: ANN001
    assert answer.get_data().startswith(b"\xef\xbb\xbf")  # a spreadsheet on an office PC reads it as UTF-8
    text = answer.get_data().decode("utf-8-sig")
    return [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")][1:]


def test_sensitive_categories_are_published_from_the_regency_up(determined, signed_in):
    province = signed_in("walidata.prov")
    answer = province.get(f"/penetapan/{YEAR}/unduh/csv")
    rows = _table(answer)
    odha = {r[0] for r in rows if r[2] == "ODHA"}
    assert odha == {"65", "65.01"}  # not Gunung Putih's one person, nor its kecamatan's
    assert any(r[0] == "65.01.01.2005" and r[2] == "LUT" for r in rows)  # other categories down to the desa
    assert "kategori_sensitif" in answer.get_data(as_text=True)
    api_rows = {(r[0], r[2]) for r in rows}
    assert ("65.01.01", "ODHA") not in api_rows


def test_a_regency_takes_its_own_part_of_the_figures(determined, signed_in):
    regency = signed_in("walidata.kab")
    answer = regency.get(f"/penetapan/{YEAR}/unduh/csv")
    rows = _table(answer)
    assert rows and all(r[0] == "65.01" or r[0].startswith("65.01.") for r in rows)
    assert 'filename="penetapan-2026-r0-6501.csv"' in answer.headers["Content-Disposition"]
    with determined.read() as s:
        exported = s.scalars(select(AuditEvent).where(AuditEvent.action == "DETERMINATION_EXPORTED")).all()
    assert [e.after["wilayah"] for e in exported] == [["65.01"]]
    whole = signed_in("walidata.prov").get(f"/penetapan/{YEAR}/unduh/csv")
    assert any(r[0] == "65" for r in _table(whole))


def test_every_revision_can_be_opened_and_downloaded(determined, signed_in):
    determine(determined, YEAR, "SK-1a/2027", alasan_revisi="ODHA Malinau terlewat")
    province = signed_in("walidata.prov")
    listed = province.get("/penetapan/").get_data(as_text=True)
    assert f"/penetapan/{YEAR}?revisi=0" in listed and f"/penetapan/{YEAR}?revisi=1" in listed
    earlier = province.get(f"/penetapan/{YEAR}?revisi=0").get_data(as_text=True)
    assert "SK-1/2027" in earlier and 'id="revisi-lama"' in earlier
    assert f"/penetapan/{YEAR}/unduh/csv?revisi=0" in earlier
    download = province.get(f"/penetapan/{YEAR}/unduh/csv?revisi=0")
    assert 'filename="penetapan-2026-r0.csv"' in download.headers["Content-Disposition"]
    assert ["# nomor_sk", "SK-1/2027"] in list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    latest = province.get(f"/penetapan/{YEAR}").get_data(as_text=True)
    assert "SK-1a/2027" in latest and 'id="revisi-lama"' not in latest
    assert province.get(f"/penetapan/{YEAR}?revisi=7").status_code == 404


def test_the_api_publishes_sensitive_categories_from_the_regency_up_too(determined, api, issue_token):
    token = issue_token(region="65")
    data = api("GET", f"/api/v1/determinations/{YEAR}", token).get_json()["data"]
    odha = {row["wilayah"] for row in data if row["kategori"] == "ODHA"}
    assert odha == {"65", "65.01"} and any(row["wilayah"] == "65.01.01.2005" for row in data)


def _exports(db) -> int:
    with db.read() as s:
        return len(s.scalars(select(AuditEvent).where(AuditEvent.action == "DETERMINATION_EXPORTED")).all())


def test_a_head_request_sends_no_file_and_puts_no_export_on_the_trail(determined, signed_in, api, issue_token):
    """Only a file that goes out is an export on the trail: a HEAD (a link checker, a proxy's probe)
    answers as the download would, without its body, and the auditor reads no export that never left."""
    province, token = signed_in("walidata.prov"), issue_token(region="65")
    page, published = f"/penetapan/{YEAR}/unduh/csv", f"/api/v1/determinations/{YEAR}/export/csv"
    probed = (province.client.head(page), api("HEAD", published, token))
    assert [p.status_code for p in probed] == [200, 200] and not any(p.get_data() for p in probed)
    assert all("attachment" in p.headers["Content-Disposition"] for p in probed)
    assert _exports(determined) == 0
    assert province.get(page).status_code == api("GET", published, token).status_code == 200
    assert _exports(determined) == 2


@pytest.mark.usefixtures("regions_restored")
def test_a_region_renamed_after_the_determination_keeps_its_name_in_the_figures(determined, signed_in):
    """The official figures name the regions as the decree did; a later Kemendagri rename is the next
    determination's."""
    before = _table(signed_in("walidata.prov").get(f"/penetapan/{YEAR}/unduh/csv"))
    with determined.transaction() as s:
        rows = listing(rename={"65.01": "Kabupaten Bulungan Raya"})
        region_updates.apply_update(s, SYSTEM, rows, "65", ("Kepmendagri uji", date(2026, 12, 1)), date(2026, 12, 3))
    after = _table(signed_in("walidata.prov").get(f"/penetapan/{YEAR}/unduh/csv"))
    assert after == before and any(r[1] == "Kabupaten Bulungan" for r in after)


def _name_reads(statements: list[str]) -> list[str]:
    return [q for q in statements if q.startswith("SELECT region.kode, region.nama FROM region")]


def _name_reads(statements: list[str]) -> list[str]:
    return [q for q in statements if q.startswith("SELECT region.kode, region.nama FROM region")]


def test_the_figures_read_the_names_of_the_regions_they_show_and_no_others(
    db, people, password_hash, signed_in, statements, monkeypatch
):
    """The download and the determination page name the regions they show: the list of regions is
    read by those codes, a bounded number at a time, never whole (91,599 names nationally)."""
    reconciliation_year(db, password_hash, team=False)
    cycles.open_cycle(db, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    cycles.close_cycle(db, SYSTEM, f"{YEAR}-Q4", early=True)  # each regency's reporting is on the page
    determine(db, YEAR, "SK-1/2027")
    monkeypatch.setattr(region_history, "NAMES_CHUNK", 2, raising=False)
    regency = signed_in("walidata.kab")
    statements.clear()
    rows = _table(regency.get(f"/penetapan/{YEAR}/unduh/csv"))
    shown = {r[0] for r in rows}
    assert len(shown) > 2 and all(r[1] != r[0] for r in rows)  # every region named
    reads = _name_reads(statements)
    assert len(reads) == math.ceil(len(shown) / 2) and all("WHERE region.kode IN" in q for q in reads)
    province = signed_in("walidata.prov")
    statements.clear()
    page = province.get(f"/penetapan/{YEAR}").get_data(as_text=True)
    reporting = page.split('id="kelengkapan"')[1].split("</table>")[0]
    assert "Kabupaten Malinau" in reporting and "Kabupaten Bulungan" in reporting
    reads = _name_reads(statements)
    assert len(reads) == 3 and all("WHERE region.kode IN" in q for q in reads)  # five regencies, two at a time


def test_the_official_figures_csv_keeps_a_carriage_return_inside_its_cell(db, people, password_hash):
    """A revision's reason holding a lone carriage return stays in its cell: lines end in CRLF, as
    `tables.csv_text` writes them, so the cell is quoted and its tail is not a row of its own."""
    from engine.verification import determination_exports
    from engine.verification.trail import WITA
    from models import Determination

    reconciliation_year(db, password_hash, team=False)
    determine(db, YEAR, "SK-1/2027")
    determine(db, YEAR, "SK-1a/2027", alasan_revisi="ODHA Malinau terlewat\r=SUM(9;9)")
    with db.read() as s:
        latest = s.scalar(select(Determination).order_by(Determination.revisi.desc()).limit(1))
        text = determination_exports.to_csv(s, latest, WITA).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert not [r for r in rows if r and r[0].startswith("=")], "a cell's tail became a row a spreadsheet runs"
    (said,) = [r[1] for r in rows if r and r[0] == "# alasan_revisi"]
    assert said.endswith("\r=SUM(9;9)")
