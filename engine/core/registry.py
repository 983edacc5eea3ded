"""What the composition root (`engine.bootstrap`) registers: service-task handlers, scheduled jobs
and event subscribers.

A registry belongs to one `Database`, and every session made by it carries it in `session.info`,
so that the code running inside a transaction finds the handlers and subscribers of its own
application, not those some other import happened to leave behind. Importing a module never
registers anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REGISTRY_KEY = "sijosku_registry"


@dataclass(frozen=True)
class Job:
    """A scheduled job: `every` is "minute" or "day" and makes the key of each run."""

    job_id: str
    every: str
    run: Callable[..., str]


@dataclass
class Registry:
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    subscribers: dict[str, list[Callable[..., Any]]] = field(default_factory=lambda: defaultdict(list))
    jobs: dict[str, Job] = field(default_factory=dict)
    # clients of other systems (e.g. "dukcapil"), kept for the life of the application so that their
    # state (a circuit breaker) outlives one job run
    adapters: dict[str, Any] = field(default_factory=dict)
    # names the application puts into every process (start data, form fields): what a diagram's
    # expressions may read without the lint warning of a misspelt name
    variables: set[str] = field(default_factory=set)

    def add_handler(self, name: str, handler: Callable[..., Any]) -> None:
        if self.handlers.get(name, handler) is not handler:
            raise ValueError(f"handler {name!r} sudah terdaftar")
        self.handlers[name] = handler

    def subscribe(self, event_name: str, subscriber: Callable[..., Any]) -> None:
        if subscriber not in self.subscribers[event_name]:
            self.subscribers[event_name].append(subscriber)

    def has_subscribers(self, event_name: str) -> bool:
        return bool(self.subscribers.get(event_name))

    def subscribers_of(self, event_name: str) -> list[Callable[..., Any]]:
        return list(self.subscribers.get(event_name, []))

    def add_job(self, job: Job) -> None:
        if job.every not in ("minute", "day"):
            raise ValueError(f"jadwal {job.every!r} tidak dikenal; gunakan minute atau day")
        self.jobs[job.job_id] = job

    def clear(self) -> None:
        self.handlers.clear()
        self.subscribers.clear()
        self.jobs.clear()
        self.adapters.clear()
        self.variables.clear()


def registry_of(session: Session) -> Registry:
    """The registry of the database that made this session (empty for a session made elsewhere)."""
    found = session.info.get(REGISTRY_KEY)
    if found is None:
        found = session.info[REGISTRY_KEY] = Registry()
    return found
