"""A timer date without its zone is refused at deploy; a version deployed before such dates were
refused runs on, its date read in WITA rather than in the server's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.bpmn import definitions, limits, timers
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Invalid
from tests.factories import SYSTEM

BPMN = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")


def test_a_timer_date_without_its_zone_is_refused_at_deploy(db):
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        definitions.deploy(s, SYSTEM, _with_timer_date("2099-01-31T00:00:00"))
    assert "harus menyebut zonanya" in str(refused.value.problems)


def test_a_date_deployed_without_its_zone_before_is_read_in_wita():
    timers.follow_engine_clock()
    assert not limits.written_without_zone("2099-01-31T00:00:00+08:00")
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    read = TimerEventDefinition.get_datetime("2099-01-31T00:00:00")
    assert read.astimezone(UTC) == datetime(2099, 1, 30, 16, tzinfo=UTC)  # 00:00 WITA, whatever the server's zone


def _with_timer_date(when: str) -> str:
    duration = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">sla_durasi</bpmn:timeDuration>'
    return BPMN.replace(duration, f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">"{when}"</bpmn:timeDate>', 1)


def test_a_version_deployed_before_with_a_date_without_its_zone_still_runs(db, monkeypatch):
    from models import Submission
    from tests.factories import make_team, open_with_items, submit

    with monkeypatch.context() as before:  # deployed when such dates were not yet refused
        before.setattr(limits, "written_without_zone", lambda value: False)
        with db.transaction() as s:
            definitions.deploy(s, SYSTEM, _with_timer_date("2099-01-31T00:00:00"), confirmed=True)
    definitions.forget_parsed()  # as after a restart: the stored version is parsed again
    make_team(db)
    submission_id = open_with_items(db)
    submit(db, "op.desa", submission_id)  # the timer starts: read in WITA, not refused
    with db.read() as s:
        assert s.get(Submission, submission_id).status.value == "diajukan"
