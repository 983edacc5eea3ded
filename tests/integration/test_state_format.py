"""Stored process state stays loadable: SpiffWorkflow is pinned, and state it wrote is kept as a fixture.

An upgrade of SpiffWorkflow must keep this test passing (migrating stored state if its format
changed) before it is released.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import definitions, runtime
from engine.bpmn.state import SERIALIZER_VERSION, dump_state, load_state
from models import ProcessInstance, Submission
from tests.factories import SYSTEM, decide, make_team, open_task, open_with_items, submit

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "state_spiff_3.2.0_at_kecamatan.json"


def _stored():
    return json.loads(FIXTURE.read_text())


def test_state_written_by_the_pinned_version_loads_and_runs_on(db):
    stored = _stored()
    with db.read() as session:
        parsed = definitions.parsed_by_id(session, definitions.current(session, "verifikasi_berjenjang").id)
    workflow = load_state(
        json.dumps(stored["state"]), stored["serializer_version"], parsed.spec, parsed.subprocess_specs
    )
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in ready] == [stored["waiting_at"]]
    for expected in ("verifikasi_kabupaten", "validasi_provinsi"):
        ready[0].data.update({"keputusan": "setuju"})
        ready[0].run()
        workflow.do_engine_steps()
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert [t.task_spec.bpmn_id for t in ready] == [expected]


def test_state_of_another_serializer_version_is_refused_with_a_message(db):
    stored = _stored()
    with db.read() as session:
        parsed = definitions.parsed_by_id(session, definitions.current(session, "verifikasi_berjenjang").id)
    with pytest.raises(RuntimeError, match="migrasi"):
        load_state(json.dumps(stored["state"]), "0.9", parsed.spec, parsed.subprocess_specs)


def test_saved_state_round_trips_without_the_spec(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.transaction() as session:
        instance = session.get(ProcessInstance, session.get(Submission, submission_id).instance_id)
        assert instance.serializer_version == SERIALIZER_VERSION
        assert '"spec"' not in instance.state  # the spec lives once, in the definition
        running = runtime.load(session, SYSTEM, instance.id)
        assert json.loads(dump_state(running.workflow)) == json.loads(instance.state)
    decide(db, team.kecamatan, submission_id, "approve")
    assert open_task(db, submission_id, "kabupaten")
