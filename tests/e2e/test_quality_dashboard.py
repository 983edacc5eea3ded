"""The quality dashboard in a browser: the trend chart marks flagged points and explains them."""

from __future__ import annotations

from engine.quality import aggregates
from tests.factories import SYSTEM
from tests.web.conftest import PASSWORD, people  # noqa: F401
from tests.web.test_quality_pages import HISTORY


def test_the_trend_marks_and_explains_flagged_points(db, people, sign_in):  # noqa: F811
    with db.transaction() as s:
        values = aggregates.read_baseline(s, "historis.csv", HISTORY.encode())
        aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
        aggregates.rescan(s, SYSTEM, values)
    province = sign_in("valid.prov", PASSWORD)
    page = province.go("/mutu/")
    page.locator("#trend-wilayah").fill("65.01")
    page.locator("#trend-kategori").fill("LUT")
    page.get_by_role("button", name="Tampilkan tren").click()
    page.wait_for_selector("#trend[data-state=done]")
    chart = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('trend'));
        const dinsos = c.data.datasets.find(d => d.label === 'dinsos');
        const footer = c.options.plugins.tooltip.callbacks.footer([{dataIndex: 3}]);
        return {labels: c.data.labels, colours: dinsos.pointBackgroundColor, footer: footer};
    }""")
    assert chart["labels"] == ["2022", "2023", "2024", "2025"]
    assert chart["colours"][3] == "#b3261e" and chart["colours"][0] != "#b3261e"
    assert "4.0 kali" in chart["footer"] and "DP3AP2KB" in chart["footer"]
    assert "periode ditandai" in page.locator("#trend-note").inner_text()
    province.shot("mutu-data")
