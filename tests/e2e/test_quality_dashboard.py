"""The quality dashboard in a browser: the trend chart marks flagged points and explains them."""

from __future__ import annotations

from engine.quality import aggregates, figure_files
from tests.e2e.conftest import follow, shows
from tests.factories import HISTORY, PASSWORD, SYSTEM


def _history_flagged(db) -> None:
    """A regency's history with a jump and an agency that disagrees, checked as the import does."""
    with db.transaction() as s:
        values = figure_files.read_baseline(s, "historis.csv", HISTORY.encode())
        aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
        aggregates.rescan(s, SYSTEM, values)


def _show_trend(page, button: str) -> None:
    """Bulungan's LUT series drawn by the page's script."""
    page.locator("#trend-wilayah").fill("65.01")
    page.locator("#trend-kategori").fill("LUT")
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("#trend[data-state=done]")


def test_the_trend_marks_and_explains_flagged_points(db, people, sign_in):  # noqa: F811
    _history_flagged(db)
    province = sign_in("valid.prov", PASSWORD)
    page = province.go("/mutu/")
    _show_trend(page, "Tampilkan tren")
    chart = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('trend'));
        const dinsos = c.data.datasets.find(d => d.label === 'dinsos');
        const footer = c.options.plugins.tooltip.callbacks.footer([{dataIndex: 3}]);
        return {labels: c.data.labels, colours: dinsos.pointBackgroundColor, sizes: dinsos.pointRadius, footer: footer};
    }""")
    assert chart["labels"] == ["2022", "2023", "2024", "2025"]
    assert chart["colours"][3] == "#b3261e" and chart["colours"][0] != "#b3261e"
    red = [size for size, colour in zip(chart["sizes"], chart["colours"], strict=True) if colour == "#b3261e"]
    plain = [size for size, colour in zip(chart["sizes"], chart["colours"], strict=True) if colour != "#b3261e"]
    assert min(red) > max(plain)  # larger too, for eyes that do not tell red apart
    assert "diharapkan sekitar 17" in chart["footer"] and "DP3AP2KB mencatat 30" in chart["footer"]
    assert "periode ditandai" in page.locator("#trend-note").inner_text()
    rows = page.locator("#trend-table tbody tr")  # the same figures as a table beside the chart
    assert rows.count() == 4 and rows.nth(3).locator("th").inner_text() == "2025"
    assert "68" in rows.nth(3).inner_text() and "diharapkan sekitar 17" in rows.nth(3).inner_text()
    province.check()
    province.shot("mutu-data")


def test_the_trend_speaks_english_on_an_english_page(db, people, sign_in):  # noqa: F811
    """The chart's note, table and tooltip are written by its script: in English, they are English."""
    _history_flagged(db)
    province = sign_in("valid.prov", PASSWORD)
    page = province.go("/mutu/")
    page.locator("#lang-select").select_option("en")
    follow(page, page.get_by_role("button", name="Ganti bahasa"))
    _show_trend(page, "Show trend")
    assert "periods flagged for LUT in 65.01" in page.locator("#trend-note").inner_text()
    table = page.locator("#trend-table table")
    assert "Figures of LUT in 65.01 per period" in table.locator("caption").inner_text()
    assert table.locator("thead th").first.inner_text() == "Period"
    footer = page.evaluate("""() => Chart.getChart(document.getElementById('trend'))
        .options.plugins.tooltip.callbacks.footer([{dataIndex: 3}])""")
    assert footer and "diharapkan" not in footer and "DP3AP2KB" in footer
    province.check()


def test_a_regency_verifier_explains_a_flag_in_the_browser(db, people, sign_in):  # noqa: F811
    _history_flagged(db)
    regency = sign_in("verif.kab", PASSWORD)
    page = regency.go("/mutu/?rule=selisih_instansi")
    row = page.locator("#tanda tbody tr").first
    row.get_by_text("Tindak lanjuti").click()
    row.get_by_label("Jelaskan: angkanya benar").check()
    row.get_by_label("Catatan (wajib)").fill("DP3AP2KB menghitung korban yang ditangani")
    follow(page, row.get_by_role("button", name="Simpan"))
    shows(page, "Tindak lanjut tanda tersimpan")
    assert "Tidak ada tanda dengan saringan ini" in page.locator("#tanda").inner_text()
    page = regency.go("/mutu/?rule=selisih_instansi&status=dijelaskan")
    assert "DP3AP2KB menghitung korban yang ditangani" in page.locator("#tanda").inner_text()
