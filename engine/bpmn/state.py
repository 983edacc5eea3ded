"""Workflow state as stored in `process_instance.state`: SpiffWorkflow's JSON, without the spec.

The spec is the deployed definition's, parsed once per version and cached; storing it again in
every instance would multiply the row size and the time to load it.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

__all__ = ["REGISTRY", "SERIALIZER_VERSION", "dump_state", "load_state"]


class _StateConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)  # also compares specs (`SpecDiff`)
_converter = _StateConverter(BpmnWorkflow, REGISTRY)


def dump_state(workflow: BpmnWorkflow) -> str:
    return json.dumps(REGISTRY.convert(workflow), separators=(",", ":"))


def load_state(state: str, version: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    if version != SERIALIZER_VERSION:
        raise RuntimeError(
            f"status proses disimpan dengan format SpiffWorkflow {version}, mesin ini memakai "
            f"{SERIALIZER_VERSION}; jalankan migrasi status sebelum memakainya"
        )
    return _converter.restore(json.loads(state), spec, subprocess_specs)
