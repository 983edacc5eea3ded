"""What the notifications package registers with the composition root (`engine.bootstrap`)."""

from __future__ import annotations

from collections.abc import Callable

from engine.core.config import Settings
from engine.core.registry import Registry
from notifications import delivery, email


def plugin(settings: Settings) -> Callable[[Registry], None]:
    """Subscribe to the events people are told about, and add the email jobs."""

    def install(registry: Registry) -> None:
        subscriber = delivery.subscriber(settings)
        for event_name in delivery.DEFAULTS:
            registry.subscribe(event_name, subscriber)
        email.add_jobs(registry)

    return install
