"""A decision's reason, a verdict's and a warning's acknowledgement are bounded by the use case,
whoever sends them: the page's form bounds them too, the API and the command line do not."""

from __future__ import annotations

import pytest

from engine.core.errors import Invalid
from engine.quality import flags
from models import QualityFlag, Severity
from tests.factories import actor, decide, items_of, open_with_items, submit


@pytest.fixture
def submitted(db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    return sid


def test_a_decisions_reason_over_its_bound_is_refused_and_nothing_is_decided(db, submitted):
    with pytest.raises(Invalid) as refused:
        decide(db, "verif.kec", submitted, "return", "x" * 2001)
    assert refused.value.problems[0].column == "alasan"
    decide(db, "verif.kec", submitted, "return", "x" * 2000)  # at the bound: taken


def test_a_verdicts_reason_sent_with_a_decision_is_bounded_as_a_saved_one(db, submitted):
    item = items_of(db, submitted)[0]
    with pytest.raises(Invalid) as refused:
        decide(db, "verif.kec", submitted, "return", "periksa lagi", {item.id: "y" * 1001})
    assert [p.column for p in refused.value.problems] == [f"alasan_{item.id}"]


def test_an_acknowledgement_over_its_bound_is_refused(db, submitted):
    with db.transaction() as s:
        flag = QualityFlag(
            rule="nama_mirip",
            severity=Severity.WARNING,
            message="nama mirip",
            region_kode="65.01.01.2005",
            submission_id=submitted,
        )
        s.add(flag)
        s.flush()
        with pytest.raises(Invalid) as refused:
            flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", submitted, {flag.id: "z" * 2001})
    assert refused.value.problems[0].column == f"ack_{flag.id}"
