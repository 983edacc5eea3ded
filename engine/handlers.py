"""Service-task handlers: the only way a BPMN process reaches the domain.

A service task names an operator (`<spiffworkflow:serviceTaskOperator id="NAME">`); deploy
refuses a name that is not registered here, and at run time the handler receives the step's
context (session, actor, instance) and the task's evaluated parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.actors import Actor
    from models import ProcessInstance


@dataclass
class StepContext:
    """What a handler may use while the engine runs one step of one instance."""

    session: Session
    actor: Actor
    instance: ProcessInstance
    human_task_id: int | None = None  # the human task whose completion triggered the step
    submission_id: int | None = None  # when known to the caller, saves looking it up
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Handler = Callable[[StepContext, dict[str, Any], dict[str, Any]], dict[str, Any]]

_REGISTRY: dict[str, Handler] = {}


def service_handler(name: str) -> Callable[[Handler], Handler]:
    """Register `fn(ctx, params, task_data) -> result dict` under `name`."""

    def register(fn: Handler) -> Handler:
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"handler {name!r} sudah terdaftar")
        _REGISTRY[name] = fn
        return fn

    return register


def get_handler(name: str) -> Handler | None:
    _load_builtin_handlers()
    return _REGISTRY.get(name)


def registered_names() -> list[str]:
    _load_builtin_handlers()
    return sorted(_REGISTRY)


def _load_builtin_handlers() -> None:
    from engine import steps  # noqa: F401 - registers the product's handlers on import
