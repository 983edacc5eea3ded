"""A figure's flags do not depend on which check read it last: every rescan judges a category's
series by one yardstick, measured on all its stored figures of ours."""

from __future__ import annotations

import random

from sqlalchemy import select

from bench import tiers
from engine.core.audit import AuditAction
from engine.quality import aggregates
from engine.quality.series import Value
from models import FlagStatus, QualityFlag
from tests.factories import SYSTEM

KATEGORI = "AT"


def _our_open_flags(session) -> list[tuple[str, str, str]]:
    found = session.scalars(
        select(QualityFlag).where(QualityFlag.kategori == KATEGORI, QualityFlag.status == FlagStatus.TERBUKA)
    )
    ours = [f for f in found if f.sources.get("sumber") == "dinsos" and f.rule not in aggregates.AGENCY_RULES]
    return sorted((f.rule, f.region_kode, f.periode) for f in ours)


def test_one_kabupatens_agency_file_judges_our_figures_as_the_provinces_snapshot_did(db):
    figures = tiers.clean_table(random.Random(5))  # the whole province, desa to province, 2020–2024
    ours = [Value(r, k, y, n, "dinsos") for (r, k, y), n in figures.items() if k == KATEGORI]
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, ours, AuditAction.BASELINE_IMPORTED)
        aggregates.rescan(s, SYSTEM, ours)
        after_snapshot = _our_open_flags(s)
    agency = [Value("65.01", KATEGORI, "2024", 40, "DP3AP2KB")]  # checks 65.01 and its siblings again
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, agency, AuditAction.AGENCY_FIGURES_IMPORTED)
        aggregates.rescan(s, SYSTEM, agency)
        assert _our_open_flags(s) == after_snapshot  # the agency's gap is its own flag, not ours


def test_the_yardstick_is_measured_on_the_whole_category():
    ours = [Value(f"65.0{i}", KATEGORI, str(2020 + y), 100 + 30 * ((i + y) % 3)) for i in range(1, 6) for y in range(5)]
    whole = aggregates.Context(None, frozenset(), {}, frozenset()).measured(ours)  # type: ignore[arg-type]
    few = aggregates.Context(None, frozenset(), {}, frozenset()).measured(ours[:5])  # type: ignore[arg-type]
    assert whole.dispersion_of(ours[:5]) == whole.dispersion  # not measured again on the series scanned
    assert whole.dispersion[KATEGORI] != few.dispersion[KATEGORI]
