"""Thresholds of the aggregate rules: defaults here (justified in docs/data-quality.md), and per
category overrides an administrator keeps in the `quality_setting` table."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.actors import Actor
from engine.errors import Invalid
from models import QualitySetting

DEFAULTS: dict[str, dict[str, float]] = {
    # period over period: a ratio outside [low, high], only when the change is at least min_change
    "rasio": {"low": 0.5, "high": 2.0, "min_change": 10},
    # a drop to zero from at least min_before, or a rise from zero to at least min_after
    "nol": {"min_before": 5, "min_after": 5},
    # the same value for `periods` periods in a row (at least min_value)
    "tetap": {"periods": 3, "min_value": 1},
    # modified z (median/MAD of the earlier values), |z| above threshold and a change of min_change
    "z_robust": {"threshold": 3.5, "min_history": 3, "min_change": 10},
    # the same value (at least min_value) in at least min_regions sibling regions and min_share of them
    "salin": {"min_regions": 3, "min_share": 0.3, "min_value": 5},
    # a rate per 1,000 inhabitants more than `factor` times above or below the peers' median
    "rate": {"factor": 3.0, "min_peers": 3, "min_value": 10},
    # a parent total that differs from the sum of its children by more than `tolerance`
    "total": {"tolerance": 0},
    # another agency's figure differs from ours by more than both tolerances
    "instansi": {"relative": 0.1, "absolute": 5},
}


@dataclass
class Thresholds:
    overrides: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def get(self, rule: str, name: str, kategori: str = "") -> float:
        for key in ((rule, kategori, name), (rule, "", name)):
            if key in self.overrides:
                return self.overrides[key]
        return DEFAULTS[rule][name]

    @classmethod
    def load(cls, session: Session) -> Thresholds:
        return cls({(s.rule, s.kategori, s.name): s.value for s in session.scalars(select(QualitySetting))})


def set_threshold(session: Session, actor: Actor, rule: str, name: str, value: float, kategori: str = "") -> None:
    """Set one threshold (for one category, or for all with an empty category); audited."""
    if rule not in DEFAULTS or name not in DEFAULTS[rule]:
        known = "; ".join(f"{r}: {', '.join(names)}" for r, names in DEFAULTS.items())
        raise Invalid(f"Ambang {rule}.{name} tidak dikenal; yang ada: {known}")
    row = session.scalar(select(QualitySetting).where(QualitySetting.rule == rule, QualitySetting.name == name,
                                                      QualitySetting.kategori == kategori))
    before = row.value if row else DEFAULTS[rule][name]
    if row is None:
        row = QualitySetting(rule=rule, name=name, kategori=kategori, value=value)
        session.add(row)
    row.value = value
    session.flush()
    audit.record(session, actor, "QUALITY_THRESHOLD_SET", "quality_setting", f"{rule}.{name}.{kategori or '*'}",
                 before={"nilai": before}, after={"nilai": value})
