"""Service-task handlers: the only way a BPMN process reaches the domain.

A service task names an operator (`<spiffworkflow:serviceTaskOperator id="NAME">`); deploy
refuses a name that is not registered, and at run time the handler receives the step's context
(session, actor, instance) and the task's evaluated parameters. Handlers are registered by the
composition root (`engine.bootstrap`) in the database's registry, never by importing a module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.registry import registry_of
from models import ProcessInstance


@dataclass
class StepContext:
    """What a handler may use while the engine runs one step of one instance."""

    session: Session
    actor: Actor
    instance: ProcessInstance
    human_task_id: int | None = None  # the human task whose completion triggered the step
    submission_id: int | None = None  # when known to the caller, saves looking it up


Handler = Callable[[StepContext, dict[str, Any], dict[str, Any]], dict[str, Any]]


def handler_of(session: Session, name: str) -> Handler | None:
    return registry_of(session).handlers.get(name)


def handler_names(session: Session) -> list[str]:
    return sorted(registry_of(session).handlers)
