"""Periods: update periods of a cycle (`2026-Q4` triwulan, `2026-S2` semester) and the years of
compiled figures (`2024`)."""

from __future__ import annotations

import re
from datetime import date

from engine.core.errors import Invalid, Problem

# ASCII digits only, to the very end: `\d` takes any script's digits and `$` a final newline, and
# either would open a period of its own under a name people read as another's
_UPDATE_PERIOD = re.compile(r"([0-9]{4})-(Q[1-4]|S[12])")
_ANY_PERIOD = re.compile(r"([0-9]{4})(?:-(Q[1-4]|S[12]))?")


def validate_period(periode: str) -> str:
    """An update period, or `Invalid` saying how to write one."""
    match = _UPDATE_PERIOD.fullmatch(periode or "")
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise Invalid(
            f"Periode {periode!r} tidak sah",
            [Problem("gunakan TAHUN-Qn untuk triwulan (mis. 2026-Q4) atau TAHUN-Sn untuk semester (mis. 2026-S2)")],
        )
    return periode


def reference_date(periode: str) -> date:
    """The last day of the period: ages and categories are judged on this date."""
    year, kind, n = period_key(periode)
    month = 12 if kind == "Y" else n * (3 if kind == "Q" else 6)
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(next_month.toordinal() - 1)


def first_day(periode: str) -> date:
    """The first day of the period."""
    year, kind, n = period_key(periode)
    return date(year, 1 if kind == "Y" else (n - 1) * (3 if kind == "Q" else 6) + 1, 1)


def overlaps(a: str, b: str) -> bool:
    """Two periods share a month (2026-S1 and 2026-Q2): a desa would be asked twice for it."""
    (a0, a1), (b0, b1) = _months(a), _months(b)
    return a0 <= b1 and b0 <= a1


def period_containing(day: date, kind: str) -> str:
    """The quarter (`Q`) or semester (`S`) that holds `day`."""
    return f"{day.year}-{kind}{(day.month - 1) // (3 if kind == 'Q' else 6) + 1}"


def months_left_out(periode: str, opened: list[str], today: date) -> list[str]:
    """The months of `periode` from this month on that no opened period covers, when one of them
    already overlaps it: the calendar never opens a period over months already asked, so these would
    be asked by none. Months gone before any cycle was opened are no switch's doing."""
    covering = [_months(p) for p in opened if overlaps(periode, p)]
    first, last = _months(periode)
    now = today.year * 12 + today.month
    left = [m for m in range(max(first, now), last + 1) if covering and not any(a <= m <= b for a, b in covering)]
    return [f"{(m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in left]


def _months(periode: str) -> tuple[int, int]:
    first, last = first_day(periode), reference_date(periode)
    return first.year * 12 + first.month, last.year * 12 + last.month


def period_key(periode: str) -> tuple[int, str, int]:
    """`2026` → (2026, 'Y', 0); `2026-Q3` → (2026, 'Q', 3); `2026-S2` → (2026, 'S', 2)."""
    match = _ANY_PERIOD.fullmatch(periode or "")
    if not match:
        raise ValueError(f"periode {periode!r} tidak sah: gunakan YYYY, YYYY-Qn atau YYYY-Sn")
    part = match.group(2)
    return int(match.group(1)), part[0] if part else "Y", int(part[1]) if part else 0


def next_period(periode: str) -> str:
    year, kind, n = period_key(periode)
    if kind == "Y":
        return str(year + 1)
    size = {"Q": 4, "S": 2}[kind]
    return f"{year + 1}-{kind}1" if n == size else f"{year}-{kind}{n + 1}"


def previous_period(periode: str) -> str:
    year, kind, n = period_key(periode)
    if kind == "Y":
        return str(year - 1)
    size = {"Q": 4, "S": 2}[kind]
    return f"{year - 1}-{kind}{size}" if n == 1 else f"{year}-{kind}{n - 1}"
