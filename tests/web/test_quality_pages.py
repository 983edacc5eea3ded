"""The quality dashboard and the flags verifiers see on their tasks."""

from __future__ import annotations

from engine.quality import aggregates
from tests.factories import SYSTEM, decide, open_with_items, submit
from tests.web.conftest import browser_for

HISTORY = """kode_wilayah,kategori,periode,nilai,sumber
65.01,LUT,2022,17,dinsos
65.01,LUT,2023,17,dinsos
65.01,LUT,2024,17,dinsos
65.01,LUT,2025,68,dinsos
65.01,LUT,2025,30,DP3AP2KB
"""


def _store(db):
    with db.transaction() as s:
        values = aggregates.read_baseline(s, "historis.csv", HISTORY.encode())
        aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
        aggregates.rescan(s, SYSTEM, values)


def test_who_sees_the_dashboard(app, people):
    for username, status in (("verif.kab", 200), ("valid.prov", 200), ("admin.prov", 200), ("auditor.prov", 200),
                             ("verif.kec", 403), ("op.desa", 403)):
        assert browser_for(app, username).get("/mutu/").status_code == status, username


def test_open_flags_are_listed_for_the_province_and_the_regency_concerned(app, db, people):
    _store(db)
    page = browser_for(app, "valid.prov").get("/mutu/").get_data(as_text=True)
    assert "tetap" in page and "rasio" in page and "DP3AP2KB mencatat 30" in page
    regency = browser_for(app, "verif.kab").get("/mutu/?rule=instansi").get_data(as_text=True)
    assert "DP3AP2KB mencatat 30" in regency
    other = browser_for(app, "verif.kab.lain").get("/mutu/").get_data(as_text=True)
    assert "DP3AP2KB" not in other and "Tidak ada tanda terbuka" in other


def test_the_trend_series_carries_each_source_and_the_flags_explained(app, db, people):
    _store(db)
    data = browser_for(app, "verif.kab").get("/mutu/seri?wilayah=65.01&kategori=LUT").get_json()
    assert data["labels"] == ["2022", "2023", "2024", "2025"]
    assert {d["sumber"]: d["values"] for d in data["datasets"]} == {
        "DP3AP2KB": [None, None, None, 30], "dinsos": [17, 17, 17, 68]}
    assert any("4.0 kali" in m for m in data["flags"]["2025"]) and data["flags"]["2024"]
    assert browser_for(app, "verif.kab.lain").get("/mutu/seri?wilayah=65.01&kategori=LUT").status_code == 404


def test_completeness_per_region_drills_down(app, db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    open_with_items(db, desa="65.01.01.2006")
    browser = browser_for(app, "valid.prov")
    page = browser.get("/mutu/?induk=65&periode_lengkap=2026-Q4").get_data(as_text=True)
    assert "65.01 Bulungan" in page or "65.01 Kabupaten Bulungan" in page
    kecamatan = browser.get("/mutu/?induk=65.01.01&periode_lengkap=2026-Q4").get_data(as_text=True)
    assert "65.01.01.2005" in kecamatan
    table = browser.get("/mutu/?induk=65.01&periode_lengkap=2026-Q4").get_data(as_text=True)
    row = table.split("65.01.01 ", 1)[1].split("</tr>", 1)[0]
    cells = [c.split("<", 1)[0] for c in row.split("<td>")[1:]]
    assert cells[1:5] == ["2", "1", "0", "0"]  # opened, submitted, verified, not reported


def test_the_kabupaten_task_shows_the_regions_aggregate_flags(app, db, people):
    _store(db)
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    from sqlalchemy import select

    from models import HumanTask

    with db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    page = browser_for(app, "verif.kab").get(f"/tugas/{task_id}").get_data(as_text=True)
    assert "Tanda angka agregat wilayah ini" in page and "DP3AP2KB mencatat 30" in page


def test_the_dashboard_page_loads_its_chart_from_the_npm_package(app, people):
    page = browser_for(app, "valid.prov").get("/mutu/").get_data(as_text=True)
    assert "/vendor/chart.js/dist/chart.umd.min.js" in page
    response = browser_for(app, "valid.prov").get("/vendor/chart.js/dist/chart.umd.min.js")
    assert response.status_code == 200 and len(response.data) > 100_000
    response.close()
