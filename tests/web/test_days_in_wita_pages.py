"""The reconciliation's default year, the figures' last year and a token's expiry, by WITA's date."""

from __future__ import annotations

from datetime import datetime

from engine.core import clock
from engine.quality import figure_cells


def test_the_reconciliation_page_opens_last_year_in_wita(app, stewards, signed_in):
    """07:00 WITA on 1 January 2031 (23:00 UTC, 31 December 2030): 'last year' is 2030."""
    me = signed_in("walidata.prov")
    with clock.frozen_at(datetime.fromisoformat("2031-01-01T07:00:00+08:00")):
        answer = me.get("/rekonsiliasi/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/rekonsiliasi/2030"), answer.headers.get(
        "Location"
    )


def test_next_years_figures_are_accepted_on_new_years_morning_in_wita():
    """At 07:00 WITA on 1 January 2031 it is 2031 in Kalimantan Utara: figures up to 2032 are allowed."""
    with clock.frozen_at(datetime.fromisoformat("2031-01-01T07:00:00+08:00")):
        assert figure_cells.period_problem("2032") is None


def test_the_token_page_says_the_expiry_day_in_wita(app, db, people, signed_in, issue_token):
    """A token issued at 07:00 WITA on 10 January 2027 for 365 days runs until 07:00 WITA on
    10 January 2028, not the UTC day before."""
    with clock.frozen_at(datetime.fromisoformat("2027-01-10T07:00:00+08:00")):
        issue_token(days=365)
    page = signed_in("admin.prov").get("/admin/token").get_data(as_text=True)
    row = page.split("DP3AP2KB")[1].split("</tr>")[0]
    assert "2028-01-10" in row or "10-01-2028" in row, row
