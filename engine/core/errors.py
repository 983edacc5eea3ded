"""What a use case reports when it refuses: each carries a message in Indonesian."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def phrase(text: str) -> str:
    """A piece of a message that is built into a sentence (a word such as "Kondisi", or a clause), marked
    so that the pages in English find it and translate it with the sentence around it."""
    return text


class SijoskuError(Exception):
    """Base of every refusal; `str(err)` is the message shown to the person."""

    http_status = 400

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self)}


class NotFound(SijoskuError):
    http_status = 404


class Forbidden(SijoskuError):
    """The actor's role, tier or region does not allow this."""

    http_status = 403


class Conflict(SijoskuError):
    """Someone else acted first, or the form was stale; nothing was changed."""

    http_status = 409


class Unavailable(SijoskuError):
    """Another system this needs did not answer; nothing was changed, try again later."""

    http_status = 503


@dataclass
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    message: str
    element: str | None = None  # BPMN element id
    row: int | None = None  # file row, counting the header as row 1
    column: str | None = None
    severity: str | None = None  # for diagram lint: "error" refuses, "warning" asks for confirmation

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        where = []
        if self.element:
            where.append(f"elemen {self.element}")
        if self.row is not None:
            where.append(f"baris {self.row}")
        if self.column:
            where.append(f"kolom {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class Invalid(SijoskuError):
    """The input is wrong; `problems` names each fault. Nothing was written."""

    summary: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary)

    def __str__(self) -> str:
        lines = [self.summary] + [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... dan {len(self.problems) - 50} masalah lain")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"error": "Invalid", "message": self.summary, "problems": [p.to_dict() for p in self.problems]}


@dataclass
class NeedsConfirmation(SijoskuError):
    """The input is acceptable but has warnings the person must see and confirm; nothing was written."""

    summary: str
    problems: list[Problem] = field(default_factory=list)
    http_status = 409

    def __post_init__(self) -> None:
        super().__init__(self.summary)

    def __str__(self) -> str:
        return "\n".join([self.summary] + [f"  - {p}" for p in self.problems[:50]])

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "NeedsConfirmation",
            "message": self.summary,
            "problems": [p.to_dict() for p in self.problems],
        }
