"""The same person written twice in one desa without the NIK to tell it: the same birth date and
the same normalised name, or a NIK one digit away from another with the same name and birth date
(a typing slip). Names are compared among the people born on each day, the register's first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.quality import names
from engine.quality.duplicates import nik_of
from engine.quality.findings import Finding
from engine.quality.nik import one_digit_apart
from engine.quality.row_rules import as_date
from models import Record, RecordStatus, Severity

MOST_ALIKE = 20  # namesakes named for one row, at most: beyond, one more name tells a verifier nothing
SEEN_ALIKE = 200  # namesakes looked at for one row, of whom those with a NIK on both sides are passed over


def person_findings(
    session: Session,
    rows: list[dict[str, Any]],
    kode_desa: str,
    findings: list[list[Finding]],
    records: list[int | None] | None = None,
) -> None:
    """The same person written twice in one desa: same birth date, the same normalised name. A row is
    not compared with the record it re-verifies (`records`): a NIK corrected by a digit, or filled in
    where the register had none, is that record's correction, not a second person.

    Two entries that both have a NIK are one person only if the NIKs are one digit apart (twins share
    a birth date): those pairs are found through the NIK, whatever the number of namesakes before."""
    day = _born_on_each_day(session, rows, kode_desa)
    for key, entries in day.people.items():
        alike = names.earlier_alikes([name for name, _, _ in entries], SEEN_ALIKE)
        slips = _one_digit_apart_before(entries)
        for j, at in enumerate(day.rows[key]):
            if at is None:
                continue  # a record of the register: not this check's
            name, nik, _ = entries[j]
            record = records[at] if records else None
            named = [i for i in alike[j] if not (nik and entries[i][1])][:MOST_ALIKE]
            for i in sorted(set(named) | set(slips[j])):
                if record is not None and day.own.get(record) is entries[i]:
                    continue  # its own record: a NIK corrected by a digit, not a second person
                found = _person_pair((name, nik), entries[i], key)
                if found is not None:
                    findings[at].append(found)


def _one_digit_apart_before(entries: list[tuple[str, str, str]]) -> list[list[int]]:
    """For each entry with a NIK, the entries before it whose NIK is one digit away: they share the
    number with that digit blanked (at most ten share one)."""
    blanked: dict[str, list[int]] = defaultdict(list)
    before: list[list[int]] = [[] for _ in entries]
    for j, (_, nik, _) in enumerate(entries):
        for p in range(len(nik)):
            key = f"{nik[:p]}_{nik[p + 1 :]}"
            before[j] += [i for i in blanked[key] if entries[i][1] != nik]
            blanked[key].append(j)
    return before


@dataclass
class _Day:
    """People by birth date: (name, NIK, where) of the register's records first, then of the rows."""

    people: dict[str, list[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(list))
    rows: dict[str, list[int | None]] = field(default_factory=lambda: defaultdict(list))  # None: a record
    own: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # a record's entry, by its id


def _born_on_each_day(session: Session, rows: list[dict[str, Any]], kode_desa: str) -> _Day:
    day = _Day()
    births = {born.isoformat() for r in rows if (born := as_date(r.get("tanggal_lahir")))}
    if births:
        for record_id, nama, nik, born in session.execute(
            select(Record.id, Record.nama, Record.nik, Record.tanggal_lahir).where(
                Record.kode_desa == kode_desa, Record.status == RecordStatus.AKTIF
            )
        ):
            if born and born.isoformat() in births:
                day.own[record_id] = (nama, nik or "", "data terverifikasi")
                day.people[born.isoformat()].append(day.own[record_id])
                day.rows[born.isoformat()].append(None)
    for index, row in enumerate(rows):
        born = as_date(row.get("tanggal_lahir"))
        name = str(row.get("nama") or "")[: names.MAX_LENGTH]
        if born is not None and name.strip():
            day.people[born.isoformat()].append((name, nik_of(row), f"baris/item {index + 2}"))
            day.rows[born.isoformat()].append(index)
    return day


def _person_pair(person: tuple[str, str], other: tuple[str, str, str], born: str) -> Finding | None:
    """(name, NIK) against (name, NIK, where) of someone born the same day in the same desa."""
    (name, nik), (other_name, other_nik, where) = person, other
    if nik and other_nik:
        # two NIKs: the NIK rules speak for them (twins share a birth date), unless one is a slip
        if not one_digit_apart(nik, other_nik) or not names.same_person(name, other_name):
            return None
        return Finding(
            "nik",
            f"NIK berbeda satu angka dengan {other_name} ({where}, NIK {other_nik}) yang nama dan "
            f"tanggal lahirnya sama: mungkin salah ketik",
            Severity.WARNING,
            "nik_salah_ketik",
            nik,
            other_nik,
        )
    if not names.same_person(name, other_name):
        return None
    return Finding(
        "nama",
        f"kemungkinan orang yang sama dengan {other_name} ({where}, lahir {born}, NIK {other_nik or 'kosong'})",
        Severity.WARNING,
        "duplikat_mirip",
        names.canonical(name),
        other_nik,
    )
