"""How far a diagram may reach: how long a timer waits, and how many instances a task starts.

SpiffWorkflow adds a duration to the start month by month and starts every instance of a
multi-instance task at once, so a value written by mistake (`P9999999Y`, a cardinality of
millions) would hold a worker, and the database's write lock, for minutes before failing. Both are
checked where the diagram is deployed (a value written as it is) and where it runs (a value
computed from the process's data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn.sandbox import SandboxError

LONGEST_WAIT_YEARS = 5
MOST_INSTANCES = 1000  # more than the country's kabupaten/kota (514): one task per regency fits
_SECONDS = {
    "years": 366 * 86400,
    "months": 31 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


def check_timer(value: Any) -> None:
    """A timer's value: an ISO 8601 duration of at most five years, or a date and time."""
    if not isinstance(value, str):
        raise SandboxError(f"nilai pengatur waktu harus teks ISO 8601, bukan {type(value).__name__}")
    shown = value[:40]
    try:
        parsed = TimerEventDefinition.parse_time_or_duration(value)
    except Exception as exc:  # SpiffWorkflow raises plain exceptions for text it cannot read
        raise SandboxError(f'{shown!r} bukan durasi atau waktu ISO 8601 (mis. "P14D" untuk 14 hari)') from exc
    if isinstance(parsed, dict):
        seconds = sum(float(n) * _SECONDS.get(unit, 0) for unit, n in parsed.items())
        if seconds > LONGEST_WAIT_YEARS * _SECONDS["years"]:
            raise SandboxError(f"durasi {shown!r} lebih dari {LONGEST_WAIT_YEARS} tahun")


def written_without_zone(value: str) -> bool:
    """A timer's date and time with no zone: SpiffWorkflow would read it in the server's (8 hours
    apart between UTC and WITA); a deploy refuses it, and one deployed before is read in WITA."""
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False  # a form Python does not read (SpiffWorkflow did): judged by what SpiffWorkflow made of it


def check_cardinality(value: Any) -> None:
    """How many instances a multi-instance task starts: a whole number up to `MOST_INSTANCES`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MOST_INSTANCES:
        shown = str(value)[:40]
        raise SandboxError(f"jumlah instans tugas harus bilangan bulat 0 sampai {MOST_INSTANCES}, bukan {shown}")
