"""What a record rule finds: the field, a message in Indonesian, and a severity.

An `error` blocks submission, a `warning` must be acknowledged by a verifier, an `info` is shown only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import Severity


@dataclass(frozen=True)
class Finding:
    field: str
    message: str
    severity: Severity = Severity.ERROR
    rule: str = "bentuk_data"
    observed: Any = None
    expected: Any = None
    # what only some may see (another desa's place and category): stored with the flag, never in
    # the message, shown by the task page to those whose region covers both places
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kolom": self.field, "pesan": self.message, "tingkat": self.severity.value, "aturan": self.rule}
