"""SpiffWorkflow's script engine, replaced by one that runs only sandboxed code, in a process of its
own where it calls anything (`engine.bpmn.sandbox_process`), and registered handlers."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn import limits, sandbox, sandbox_process
from engine.bpmn.handlers import StepContext, handler_of


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return sandbox_process.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        sandbox_process.execute(script, context)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """Evaluates conditions and scripts in the sandbox; service tasks call registered handlers."""

    def __init__(self, context: StepContext | None = None) -> None:
        super().__init__(environment=_SandboxEnvironment())
        self.context = context

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """A value as SpiffWorkflow asks for it; a timer's wait and a task's number of instances,
        computed from the process's data, are checked against the limits before it uses them."""
        value = super().evaluate(task, expression, external_context)
        spec = task.task_spec
        timer = getattr(spec, "event_definition", None)
        try:
            if isinstance(timer, TimerEventDefinition) and expression == timer.expression:
                limits.check_timer(value)
            elif expression == getattr(spec, "cardinality", None):
                limits.check_cardinality(value)
        except sandbox.SandboxError as exc:
            raise WorkflowTaskException(str(exc), task=task) from exc
        return value

    def call_service(self, task: Any, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        if self.context is None:
            raise WorkflowTaskException("langkah layanan dijalankan tanpa konteks", task=task)
        handler = handler_of(self.context.session, operation_name)
        if handler is None:
            raise WorkflowTaskException(f"handler layanan {operation_name!r} tidak terdaftar", task=task)
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        return json.dumps(handler(self.context, params, task.data))
