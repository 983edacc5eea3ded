"""SpiffWorkflow's script engine, replaced by one that runs only sandboxed code and handlers."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpmn import sandbox
from engine.bpmn.handlers import StepContext, handler_of


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return sandbox.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        sandbox.execute(script, context)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """Evaluates conditions and scripts in the sandbox; service tasks call registered handlers."""

    def __init__(self, context: StepContext | None = None) -> None:
        super().__init__(environment=_SandboxEnvironment())
        self.context = context

    def call_service(self, task: Any, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        if self.context is None:
            raise WorkflowTaskException("langkah layanan dijalankan tanpa konteks", task=task)
        handler = handler_of(self.context.session, operation_name)
        if handler is None:
            raise WorkflowTaskException(f"handler layanan {operation_name!r} tidak terdaftar", task=task)
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        return json.dumps(handler(self.context, params, task.data))
