"""Update periods: `2026-Q4` (triwulan) or `2026-S2` (semester)."""

from __future__ import annotations

import re
from datetime import date

from engine.errors import Invalid, Problem

_PERIOD = re.compile(r"^(\d{4})-(Q[1-4]|S[12])$")


def validate_period(periode: str) -> str:
    match = _PERIOD.match(periode or "")
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise Invalid(f"Periode {periode!r} tidak sah", [Problem(
            "gunakan TAHUN-Qn untuk triwulan (mis. 2026-Q4) atau TAHUN-Sn untuk semester (mis. 2026-S2)")])
    return periode


def reference_date(periode: str) -> date:
    """The last day of the period: ages and categories are judged on this date."""
    year, part = int(periode[:4]), periode[5:]
    month = int(part[1]) * 3 if part[0] == "Q" else int(part[1]) * 6
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(next_month.toordinal() - 1)
