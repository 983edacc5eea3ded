"""Thresholds of the aggregate rules: defaults here (justified in docs/data-quality.md), and per
category overrides an administrator keeps in the `quality_setting` table."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from models import QualitySetting

DEFAULTS: dict[str, dict[str, float]] = {
    # a figure outside the predictive interval of its series' earlier figures (at least min_history of
    # them), at significance alpha: a jump, a fall, a drop to zero, a rise from zero
    "lonjakan": {"alpha": 0.002, "min_history": 2},
    # the same figure in consecutive periods when the chance of such a repeat is below alpha
    # (only for figures of at least min_value; never for categories stable by nature)
    "tetap": {"alpha": 0.05, "min_value": 5},
    # the same figure in sibling regions when the chance of that coincidence is below alpha
    "salin": {"alpha": 0.001, "min_value": 5},
    # a region's figure against its own share of its siblings' total (at least min_history periods)
    "porsi": {"alpha": 0.0001, "min_history": 2},
    # a parent total that differs from the sum of its children by more than `tolerance`
    "total": {"tolerance": 0},
    # the ratio of an agency's figure to ours moving away from its own history (at least min_history
    # periods) at significance alpha; a level gap beyond `gap` (relative) is shown as information
    "instansi": {"alpha": 0.01, "min_history": 2, "gap": 0.25},
}

# The values each kind of threshold may take: a significance level is a probability below one half,
# a history is a whole number of periods the rules can look back on.
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "alpha": (1e-9, 0.5, False),
    "min_history": (1, 4, True),
    "min_value": (0, 1_000_000, True),
    "tolerance": (0, 1_000_000, True),
    "gap": (0.01, 100, False),
}


def _check_value(rule: str, name: str, value: float) -> None:
    low, high, whole = BOUNDS[name]
    if not low <= value <= high or (whole and value != int(value)):
        kind = "bilangan bulat" if whole else "angka"
        raise Invalid(f"Ambang {rule}.{name} harus {kind} antara {low:g} dan {high:g}; {value:g} tidak bisa dipakai")


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
    _check_value(rule, name, value)
    row = session.scalar(
        select(QualitySetting).where(
            QualitySetting.rule == rule, QualitySetting.name == name, QualitySetting.kategori == kategori
        )
    )
    before = row.value if row else DEFAULTS[rule][name]
    if row is None:
        row = QualitySetting(rule=rule, name=name, kategori=kategori, value=value)
        session.add(row)
    row.value = value
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.QUALITY_THRESHOLD_SET,
        "quality_setting",
        f"{rule}.{name}.{kategori or '*'}",
        before={"nilai": before},
        after={"nilai": value},
    )
