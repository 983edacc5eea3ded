"""A figure's flag as a person may read it. A flag on a sensitive category below the regency says
that category's count in a desa or kecamatan (a few people, perhaps known by name); those who work
on compiled figures (the steward, the Forum, the head) see that it is there and whether it is
settled, not what it says: the verifiers who see the records behind it explain it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.core.actors import Actor
from engine.core.errors import phrase
from engine.people import privacy
from models import QualityFlag

HIDDEN = phrase(
    "angka kategori sensitif di bawah kabupaten/kota: isinya hanya untuk verifikator yang melihat catatannya, "
    "yang menjelaskannya di halaman Mutu data"
)


@dataclass(frozen=True)
class FlagSeen:
    id: int
    severity: str
    rule: str
    region_kode: str
    kategori: str | None
    status: str
    message: str
    ack_by: str | None
    ack_note: str | None
    hidden: bool


def hidden_from(actor: Actor, flag: QualityFlag) -> bool:
    return not privacy.sees_sensitive_count(actor, flag.region_kode, flag.kategori or "")


def message_for(actor: Actor, flag: QualityFlag) -> str:
    return HIDDEN if hidden_from(actor, flag) else flag.message


def seen_by(actor: Actor, flags: Iterable[QualityFlag]) -> list[FlagSeen]:
    return [_seen(actor, f) for f in flags]


def _seen(actor: Actor, flag: QualityFlag) -> FlagSeen:
    hidden = hidden_from(actor, flag)
    return FlagSeen(
        id=flag.id,
        severity=flag.severity,
        rule=flag.rule,
        region_kode=flag.region_kode,
        kategori=flag.kategori,
        status=flag.status,
        message=HIDDEN if hidden else flag.message,
        ack_by=flag.ack_by,
        ack_note=None if hidden else flag.ack_note,
        hidden=hidden,
    )
