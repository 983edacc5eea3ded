"""Personal data (Law 27/2022): who sees a full NIK, and recording who looked one up."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from models import Role, Tier, contains

MIN_REASON = 5  # characters of a stated reason for seeing personal data
MAX_REASON = 2000  # and at most, as the pages' forms take it: the command line is bounded too
# Keys under which event data holds a NIK or a family card number, and the 16-digit number itself
# wherever else it appears (a message, a list of values).
_PERSONAL_KEYS = re.compile(r"(^|_)(nik|no_kk|kk)($|_)")
# Also as people write one in a reason or a note, in groups: `6501 0144 0560 0031`, `6501-0144-...`,
# `650101.440560.0031` (one space, dash or dot at most between two digits).
# A NIK typed with a digit too many or too few is masked as well: any run of 15 digits or more keeps
# only its first six (masking a harmless number is the safer mistake).
_NIK_LIKE = re.compile(r"(?<!\d)\d(?:[ .-]?\d){14,}(?!\d)")
# And in groups of three digits or more set apart more loosely (`650101 - 150580 - 0001`,
# `6501/0115/0580/0001`, `6501_0157_0550_0001`), when the sixteen digits read as a NIK or KK does: a
# province's code, a day (a woman's plus 40) and a month. Lists of years, amounts or phone numbers
# (`2022 / 2023 / 2024 / 2025`) do not, and commas and line breaks part numbers, never join them.
_NIK_SPREAD = re.compile(r"(?<!\d)\d{3,}(?:[ \t\u00a0./_\-\u2013\u2014]{1,3}\d{3,})+(?!\d)")
_PROVINCES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82, *range(91, 98)]
)
# A content hash (MD5, SHA-1, SHA-256 in hex, with a letter somewhere): its digits are no person's
# number when letters stand on both sides of them; a run at either end is a number against a word.
_HEX_WORD = re.compile(r"\b(?=[0-9a-f]*[a-f])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})\b", re.IGNORECASE)
_DIGESTS = re.compile(r"(^|_)(hash|sha256)($|_)")  # keys that hold such a hash


def mask_nik(nik: str | None) -> str:
    """`6501015705500001` → `650101**********`: only the region of issue stays readable.

    The serial is hidden with the birth date: the other ten digits are the desa's kecamatan and the
    birth date (women's day + 40), which a masked answer shows beside the NIK, so a mask that showed
    the serial would let anyone rebuild the whole number."""
    if not nik:
        return ""
    return nik[:6] + "*" * (len(nik) - 6) if len(nik) > 8 else "*" * len(nik)


# Categories whose count in a desa or a kecamatan can point at the people themselves (HIV, sex work,
# drugs, trafficking, violence, children before the law, former prisoners).
SENSITIVE = frozenset({"ODHA", "TS", "NAPZA", "KTR", "KTK", "AKTK", "ABH", "BWBLP"})
# Who reads such a count below the regency: those who see the people's records anyway.
SEES_SENSITIVE_COUNTS = frozenset({Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR})


def published(region_kode: str, kategori: str) -> bool:
    """A figure anyone may read: any category's from the kabupaten/kota up, below it all but the sensitive."""
    return kategori not in SENSITIVE or region_kode.count(".") <= 1


def reads_sensitive_counts(actor: Actor) -> bool:
    """Whether the person holds a role that sees the records behind a sensitive count anywhere."""
    return actor.is_system or any(a.role in SEES_SENSITIVE_COUNTS for a in actor.roles)


def sees_sensitive_count(actor: Actor, region_kode: str, kategori: str) -> bool:
    """A sensitive category's figure in a desa or kecamatan is for those who see its records; a
    steward, the Forum or the head, whose work is the compiled figures, reads it from the regency up."""
    if published(region_kode, kategori) or actor.is_system:
        return True
    return any(a.role in SEES_SENSITIVE_COUNTS and contains(a.region_kode, region_kode) for a in actor.roles)


def sees_full_nik(actor: Actor, kode_desa: str) -> bool:
    """Those who check people against documents: the desa's operator and the kecamatan verifier."""
    if actor.is_system:
        return True  # the command line runs on the server, by its administrators
    return any(
        contains(a.region_kode, kode_desa)
        and (a.role == Role.OPERATOR or (a.role == Role.VERIFIER and a.tingkat == Tier.KECAMATAN))
        for a in actor.roles
    )


def sees_other_place(actor: Actor, here: str, there: str) -> bool:
    """Where else (and as what) an entry is registered: for verifiers above the desa whose region
    covers both places, and for auditors covering both; never for an operator."""
    if actor.is_system:
        return True
    return any(
        contains(a.region_kode, here)
        and contains(a.region_kode, there)
        and (a.role == Role.AUDITOR or (a.role in (Role.VERIFIER, Role.VALIDATOR) and a.tingkat != Tier.DESA))
        for a in actor.roles
    )


def told_of_elsewhere(actor: Actor) -> bool:
    """Whether an entry is on the register somewhere else at all: for every role but a desa's operator
    (verifiers, validators, admins, auditors and the reconciliation's people weigh it; see
    `duplicates.ELSEWHERE_RULES`), and for the system's own work."""
    return actor.is_system or any(a.role != Role.OPERATOR for a in actor.roles)


def require_reason(reason: str | None) -> str:
    """The reason a person gives for seeing personal data: required, whatever the form said."""
    stated = " ".join((reason or "").split())
    if not stated.isprintable():  # a zero-width, control or direction character: a reason the trail misreads
        raise Invalid(
            "Alasan berisi karakter tersembunyi atau kendali",
            [Problem("ketik ulang alasan tanpa menyalinnya dari tempat lain", column="alasan")],
        )
    if len(stated) > MAX_REASON:
        raise Invalid(
            "Alasan terlalu panjang",
            [Problem(f"tuliskan alasan, paling banyak {MAX_REASON} karakter", column="alasan")],
        )
    if len(stated) < MIN_REASON:
        raise Invalid(
            "Alasan wajib diisi" if not stated else "Alasan terlalu pendek",
            [Problem(f"tuliskan alasan, paling sedikit {MIN_REASON} karakter", column="alasan")],
        )
    return stated


def reveal_nik(session: Session, actor: Actor, record_id: int, nik: str, reason: str) -> str:
    """A full NIK shown on request, for a stated reason: the lookup itself goes on the audit trail."""
    stated = require_reason(reason)
    audit.record(session, actor, AuditAction.NIK_VIEWED, "ppks_record", record_id, reason=stated)
    return nik


def shown_to(full_nik: bool) -> Callable[[Any], Any]:
    """A text (a reason, a flag's message) as a viewer reads it: whole for those who see full NIKs,
    with every NIK and family card number masked for the others."""
    return (lambda text: text) if full_nik else mask_personal


def mask_personal(value: Any, key: str = "") -> Any:
    """Event data with every NIK and family card number masked, at any depth."""
    if isinstance(value, dict):
        return {k: mask_personal(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_personal(v, key) for v in value]
    if isinstance(value, str):
        if _DIGESTS.search(key.lower()):
            return value
        if _PERSONAL_KEYS.search(key.lower()):
            return mask_nik(value)
        return _masked_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 15:
        return mask_nik(str(value))
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e14:  # a NIK a sheet read as a number
        return mask_nik(str(int(value)))
    return value


def _reads_as_nik(digits: str) -> bool:
    """Sixteen digits of a province's code, then a day (plus 40 for a woman) and a month of birth or issue."""
    day, month = int(digits[6:8] or 0), int(digits[8:10] or 0)
    return len(digits) == 16 and int(digits[:2]) in _PROVINCES and 1 <= day % 40 <= 31 and 1 <= month <= 12


def _masked_text(text: str) -> str:
    """Every NIK-like run in a text masked ("NIK6501…" too), except digits inside a hash."""
    hashes = [m.span() for m in _HEX_WORD.finditer(text)]

    def masked(m: re.Match[str]) -> str:
        if any(start < m.start() and m.end() < end for start, end in hashes):
            return m.group(0)
        return mask_nik(re.sub(r"\D", "", m.group(0)))

    def spread(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return mask_nik(digits) if _reads_as_nik(digits) else m.group(0)

    return _NIK_SPREAD.sub(spread, _NIK_LIKE.sub(masked, text))
