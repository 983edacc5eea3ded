"""A condition over its budget fails the step with a clear message, writes nothing and frees the instance."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from engine.bpmn import definitions, runtime
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Invalid
from models import HumanTask, ProcessInstance, Submission, TaskStatus
from tests.factories import SYSTEM, decide, make_team, open_with_items, submit

DEFAULT = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
RETURN_CONDITION = 'keputusan == "kembalikan"'
# Neither is visible in the text: the sizes come from the instance's data.
HEAVY = {
    "cpu": "len([1 for i in range(submission_id * 0 + 99999) for j in range(submission_id * 0 + 99999)]) &lt; 0",
    "memory": "len(str(submission_id) * (submission_id * 0 + 1000000000)) &lt; 0",
}


@pytest.mark.parametrize("kind", sorted(HEAVY))
def test_a_condition_over_budget_fails_the_decision_and_frees_the_instance(db, kind):
    team = make_team(db)
    xml = DEFAULT.replace(RETURN_CONDITION, f"{RETURN_CONDITION} or {HEAVY[kind]}", 1)
    with db.transaction() as session:
        definitions.deploy(session, SYSTEM, xml)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)

    with pytest.raises(Invalid, match="melampaui batas"):
        decide(db, team.kecamatan, submission_id, "approve")

    with db.transaction() as session:  # the row is free again, and the task still waits
        lock = select(ProcessInstance.id).with_for_update(nowait=True)
        assert session.scalars(lock).all()
        waiting = select(HumanTask.bpmn_id).where(
            HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.TERBUKA
        )
        assert session.scalars(waiting).all() == ["verifikasi_kecamatan"]
        if db.engine.dialect.name == "sqlite":
            session.execute(text("UPDATE process_instance SET updated_at = updated_at"))


def test_automatic_steps_past_their_budget_refuse_the_step_and_keep_the_submission_a_draft(db, monkeypatch):
    team = make_team(db)
    submission_id = open_with_items(db)
    monkeypatch.setattr(runtime, "STEP_BUDGET", 1)  # as a loop the diagram check did not see would run
    with pytest.raises(Invalid, match="langkah otomatis tanpa tugas orang"):
        submit(db, team.operator, submission_id)
    with db.read() as session:
        assert session.get(Submission, submission_id).status.value == "draf"
