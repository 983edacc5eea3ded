"""Each agency's indicators and the categories they correspond to, as configured data.

An agency reports its own indicators ("kasus kekerasan terhadap anak", "ODHA on ART"); the mapping
says which of our categories each one is compared with, and whether it counts the same thing. An
agency file may then name its indicators (`indikator`) instead of our codes, and a level gap is
not raised for an indicator known to count something else: only a change in the ratio is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import audit
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, Problem
from engine.people.scope import Scope
from models import AgencyIndicator, Category

NAME_LIMIT, NOTE_LIMIT = 40, 500


@dataclass(frozen=True)
class Mapping:
    instansi: str
    indikator: str
    kategori: str
    sama: bool = True
    keterangan: str = ""


def _checked(session: Session, m: Mapping) -> Mapping:
    instansi, indikator, keterangan = m.instansi.strip(), m.indikator.strip(), m.keterangan.strip()
    problems = []
    if not instansi or len(instansi) > 80:
        problems.append(Problem("nama instansi wajib diisi (paling banyak 80 karakter)", column="instansi"))
    if not indikator or len(indikator) > NAME_LIMIT:
        problems.append(Problem(f"indikator wajib diisi (paling banyak {NAME_LIMIT} karakter)", column="indikator"))
    if session.get(Category, m.kategori) is None:
        problems.append(Problem(f"kode kategori {m.kategori!r} tidak dikenal", column="kategori"))
    if len(keterangan) > NOTE_LIMIT:
        problems.append(Problem(f"paling banyak {NOTE_LIMIT} karakter", column="keterangan"))
    if problems:
        raise Invalid("Pemetaan indikator instansi tidak dapat disimpan", problems)
    return Mapping(instansi, indikator, m.kategori, m.sama, keterangan)


def set_mapping(session: Session, actor: Actor, mapping: Mapping) -> AgencyIndicator:
    """Add or change one indicator's mapping (the province's walidata or validator, or an admin)."""
    Scope.reconciling(actor).require_any()
    m = _checked(session, mapping)
    row = session.scalar(
        select(AgencyIndicator).where(AgencyIndicator.instansi == m.instansi, AgencyIndicator.indikator == m.indikator)
    )
    before = None if row is None else {"kategori": row.kategori, "sama": row.sama}
    if row is None:
        row = AgencyIndicator(instansi=m.instansi, indikator=m.indikator, kategori=m.kategori)
        session.add(row)
    row.kategori, row.sama, row.keterangan = m.kategori, m.sama, m.keterangan
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.AGENCY_INDICATOR_SET,
        "agency_indicator",
        row.id,
        before=before,
        after={"instansi": m.instansi, "indikator": m.indikator, "kategori": m.kategori, "sama": m.sama},
        reason=m.keterangan or None,
    )
    return row


def mappings(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(AgencyIndicator).order_by(AgencyIndicator.instansi, AgencyIndicator.indikator))
    return [
        {
            "instansi": r.instansi,
            "indikator": r.indikator,
            "kategori": r.kategori,
            "sama": r.sama,
            "keterangan": r.keterangan,
        }
        for r in rows
    ]


def translate(
    session: Session, rows: list[dict[str, str]], first_row: int = 2
) -> tuple[list[dict[str, str]], list[Problem]]:
    """Rows naming an agency's `indikator` get our `kategori`; a problem for each unknown indicator
    (its row keeps no category)."""
    if not any("indikator" in r for r in rows):
        return rows, []
    known = {(r.instansi, r.indikator): r.kategori for r in session.scalars(select(AgencyIndicator))}
    problems, translated = [], []
    for number, row in enumerate(rows, start=first_row):
        key = ((row.get("instansi") or "").strip(), (row.get("indikator") or "").strip())
        if not row.get("kategori") and key in known:
            row = {**row, "kategori": known[key]}
        elif not row.get("kategori"):
            problems.append(
                Problem(
                    f"indikator {key[1]!r} dari {key[0]!r} belum dipetakan ke kategori", row=number, column="indikator"
                )
            )
        translated.append(row)
    return translated, problems


def counts_something_else(session: Session) -> frozenset[tuple[str, str]]:
    """(agency, category) pairs known to count something else than we do."""
    return frozenset(
        (r.instansi, r.kategori)
        for r in session.scalars(select(AgencyIndicator).where(AgencyIndicator.sama.is_(False)))
    )
