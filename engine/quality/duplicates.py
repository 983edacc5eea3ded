"""The same entry twice: within the rows, in other submissions of the period, among the records.

- the same NIK (in one category an error in one desa, a question across desa; in two categories
  whose age bands exclude each other an error);
- the same KK twice in one per-family category, the same name twice for an institution or a
  community;
- a NIK one digit away from the NIK of someone on another desa's register with the same name and
  birth date (the same person without a NIK, or with a slip, within one desa: `namesakes`).

What is registered in another desa is none of an operator's business: the operator is told only
that the entry "is already registered elsewhere". The place and category go into the finding's
`detail`, which the task page shows to verifiers whose region covers both places, and to auditors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Date, String, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from engine.core.errors import phrase
from engine.core.rows import among, chunks
from engine.quality import addresses, ganda, identity, names
from engine.quality.findings import Finding
from engine.quality.nik import is_sixteen_digits, one_digit_apart
from engine.quality.row_rules import Context, Kind, age, as_date
from models import ItemAction, Record, RecordStatus, Severity, Submission, SubmissionItem, Unit

BATCH = 1000  # values in one IN list
ARRAY_BATCH = 10_000  # values in one PostgreSQL array parameter
T = TypeVar("T")
# Whether a number is on the register somewhere else is for the verifiers to weigh. The desa's operator
# is never told: an import would otherwise tell them, row by row, which of any NIKs they typed belong to
# people receiving social-welfare services anywhere in the province.
ELSEWHERE_RULES = frozenset(
    {
        "duplikat_nik_tempat_lain",
        "duplikat_kk_tempat_lain",
        "nik_salah_ketik_tempat_lain",
        "tercatat_meninggal_tempat_lain",  # engine/quality/removed.py
        ganda.RULE,  # whether a copy of the person stays elsewhere
    }
)


@dataclass(frozen=True)
class Place:
    """Where else an entry is: an item of another submission of the period, or an active record."""

    source: str  # "pengajuan" or "catatan"
    desa: str
    kategori: str
    record_id: int | None = None  # an active record's own id

    @property
    def words(self) -> str:
        source = phrase("pengajuan periode ini") if self.source == "pengajuan" else phrase("data terverifikasi")
        return phrase(f"{source} desa {self.desa}")

    def detail(self) -> dict[str, Any]:
        return {"tempat": self.desa, "kategori": self.kategori, "sumber": self.source}


def nik_of(row: dict[str, Any]) -> str:
    nik = str(row.get("nik") or "").strip()
    return nik if is_sixteen_digits(nik) else ""


def _kk(row: dict[str, Any]) -> str:
    kk = str(row.get("no_kk") or "").strip()
    return kk if is_sixteen_digits(kk) else ""


def _places(
    session: Session, column: str, values: list[str], ctx: Context, submission_id: int | None
) -> dict[str, list[Place]]:
    """The same NIKs (or KKs) in other submissions of the period and among the active records."""
    seen: dict[str, list[Place]] = defaultdict(list)
    item_column, record_column = getattr(SubmissionItem, column), getattr(Record, column)
    size = ARRAY_BATCH if session.get_bind().dialect.name == "postgresql" else BATCH
    for chunk in chunks(values, size):
        if ctx.periode:
            rows = session.execute(
                select(item_column, SubmissionItem.kategori, Submission.kode_desa)
                .join(Submission, Submission.id == SubmissionItem.submission_id)
                .where(
                    Submission.periode == ctx.periode,
                    among(session, item_column, chunk),
                    Submission.id != (submission_id or 0),
                    SubmissionItem.dibuang.is_(False),  # an entry set aside is nobody's registration
                    # nor is a removal: the desa a person left marking them moved (died, not found ...)
                    SubmissionItem.aksi != ItemAction.HAPUS,
                )
            )
            for value, kategori, desa in rows:
                seen[value].append(Place("pengajuan", desa, kategori))
        for value, kategori, desa, record_id in session.execute(
            select(record_column, Record.kategori, Record.kode_desa, Record.id).where(
                among(session, record_column, chunk),
                Record.status == RecordStatus.AKTIF,
                ~ganda.removal_in_work(),  # the desa the person left marks them moved: not registered there
            )
        ):
            seen[value].append(Place("catatan", desa, kategori, record_id))
    return seen


def _bands_overlap(a: Kind, b: Kind) -> bool:
    low = max(a.usia_min or 0, b.usia_min or 0)
    high = min(a.usia_max if a.usia_max is not None else 200, b.usia_max if b.usia_max is not None else 200)
    return low <= high


def _outgrown(row: dict[str, Any], other: Kind, ctx: Context) -> bool:
    """The person is past the other category's band by the period's last day (an ADK child now 18)."""
    born = as_date(row.get("tanggal_lahir"))
    return born is not None and other.usia_max is not None and age(born, ctx.reference) > other.usia_max


def same_nik(row: dict[str, Any], other_kind: str, ctx: Context, where: str, verified: bool = False) -> Finding:
    """The same NIK in this desa: the place and category are the operator's own to see. `verified`:
    the other is a record on the register, which a person past its band moves out of."""
    kind, other = ctx.kinds.get(row.get("kategori") or ""), ctx.kinds.get(other_kind)
    if verified and kind and other and not _bands_overlap(kind, other) and _outgrown(row, other, ctx):
        # not two registrations at once but the next: the record's end is still to be marked, and its
        # register item is refused at submission until it is (`kategori_usia`)
        return Finding(
            "kategori",
            f"NIK yang sama tercatat sebagai {other.nama} di {where}, yang batas usianya sudah dilewati; "
            f"tandai catatan itu tidak layak lagi (kini {kind.nama}) agar tidak terhitung dua kali",
            Severity.INFO,
            "pindah_kategori",
            row.get("kategori"),
            other_kind,
        )
    if other_kind == row.get("kategori"):
        return Finding(
            "nik",
            f"NIK yang sama sudah ada pada kategori yang sama di {where}",
            Severity.ERROR,
            "duplikat_nik",
            row.get("nik"),
        )
    if kind and other and not _bands_overlap(kind, other):
        return Finding(
            "kategori",
            f"NIK yang sama tercatat sebagai {other.nama} di {where}; {kind.nama} dan "
            f"{other.nama} tidak mungkin berlaku bersamaan (batas usia tidak beririsan)",
            Severity.ERROR,
            "duplikat_kategori",
            row.get("kategori"),
            other_kind,
        )
    return Finding(
        "nik",
        f"NIK yang sama juga tercatat sebagai {other.nama if other else other_kind} di {where}",
        Severity.INFO,
        "duplikat_nik_kategori_lain",
        row.get("kategori"),
        other_kind,
    )


def registered_elsewhere(field: str, what: str, rule: str, place: Place) -> Finding:
    """The same entry in another desa: a question for the verifiers (the place is in the detail,
    shown to them only), in words addressed to them, whichever tier reads it."""
    said = phrase(f"{what} ini juga terdaftar di tempat lain; periksa apakah orang yang sama")
    return Finding(field, said, Severity.WARNING, rule, detail=place.detail())


def _removed_here(session: Session, submission_id: int | None) -> set[int]:
    """The records this submission proposes to remove (died, moved, no longer eligible ...) or to move
    to another category or NIK: gone from where they stand once it is approved, so a new entry of that
    category and NIK is not a second registration of them."""
    if submission_id is None:
        return set()
    moved = or_(SubmissionItem.kategori != Record.kategori, SubmissionItem.nik.is_distinct_from(Record.nik))
    return set(
        session.scalars(
            select(SubmissionItem.record_id)
            .join(Record, Record.id == SubmissionItem.record_id)
            .where(
                SubmissionItem.submission_id == submission_id,
                SubmissionItem.dibuang.is_(False),  # a removal or move set aside leaves the record where it is
                or_(SubmissionItem.aksi == ItemAction.HAPUS, moved),
            )
        )
    )


def nik_findings(
    session: Session,
    rows: list[dict[str, Any]],
    ctx: Context,
    kode_desa: str,
    submission_id: int | None,
    findings: list[list[Finding]],
    records: list[int | None] | None = None,
) -> None:
    """`records` names, per row, the record it re-verifies, or None for an entry of its own; without
    it (a file, the form) a row is taken to re-verify the desa's record of its category."""
    by_nik: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if nik_of(row):
            by_nik[nik_of(row)].append(index)
    for indexes in by_nik.values():
        for n, j in enumerate(indexes):
            for i in indexes[:n]:
                findings[j].append(same_nik(rows[j], rows[i].get("kategori") or "", ctx, f"baris/item lain ({i + 2})"))
    removed: set[int] | None = None
    for nik, places in _places(session, "nik", list(by_nik), ctx, submission_id).items():
        if removed is None and any(p.record_id is not None for p in places):
            removed = _removed_here(session, submission_id)  # asked once, and only when a record is found
        for index in by_nik[nik]:
            record = records[index] if records else None
            told: set[tuple[str, str]] = set()  # another desa's record and its draft are one question
            for place in sorted(places, key=lambda p: p.record_id is None):
                if _not_another_registration(place, rows[index], kode_desa, (records is not None, record), removed):
                    continue
                if place.desa != kode_desa and (place.desa, place.kategori) in told:
                    continue
                told.add((place.desa, place.kategori))
                findings[index].append(
                    same_nik(rows[index], place.kategori, ctx, place.words, place.record_id is not None)
                    if place.desa == kode_desa
                    else registered_elsewhere("nik", "NIK", "duplikat_nik_tempat_lain", place)  # ELSEWHERE_RULES
                )


def _not_another_registration(
    place: Place, row: dict[str, Any], kode_desa: str, known: tuple[bool, int | None], removed: set[int] | None
) -> bool:
    """A verified record that is the row's person's own, not a second registration: the record the row
    re-verifies, in whatever category it was (a child with a disability turned 18, corrected from ADK
    to PD); a record this very submission removes (the ADK record ended, the person entered as PD); or,
    for a row not known to be an entry of its own, the desa's record of the row's category."""
    if place.record_id is None:
        return False
    rows_known, record = known
    if place.record_id == record or place.record_id in (removed or set()):
        return True
    same_here = place.desa == kode_desa and place.kategori == row.get("kategori")
    return same_here and not (rows_known and record is None)


def _family_rows(rows: list[dict[str, Any]], ctx: Context) -> dict[tuple[str, str], list[int]]:
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        kategori = row.get("kategori") or ""
        if ctx.unit_of(kategori) == Unit.KELUARGA and _kk(row):
            grouped[(kategori, _kk(row))].append(index)
    return grouped


def kk_findings(
    session: Session,
    rows: list[dict[str, Any]],
    ctx: Context,
    kode_desa: str,
    submission_id: int | None,
    findings: list[list[Finding]],
) -> None:
    """One family once per per-family category: the same KK twice is an error."""
    grouped = _family_rows(rows, ctx)
    for (_, kk), indexes in grouped.items():
        for n, j in enumerate(indexes):
            if n:
                findings[j].append(
                    Finding(
                        "no_kk",
                        f"nomor KK {kk} sudah ada pada kategori yang sama (baris/item lain ({indexes[0] + 2}))",
                        Severity.ERROR,
                        "duplikat_kk",
                    )
                )
    wanted = sorted({kk for _, kk in grouped})
    for kk, places in _places(session, "no_kk", wanted, ctx, submission_id).items():
        told: set[tuple[str, str]] = set()  # another desa's record and its draft are one question
        for place in sorted(places, key=lambda p: p.record_id is None):
            elsewhere = place.desa != kode_desa
            if elsewhere and (place.desa, place.kategori) in told:
                continue
            told.add((place.desa, place.kategori))
            for index in grouped.get((place.kategori, kk), []):
                if elsewhere:
                    findings[index].append(registered_elsewhere("no_kk", "Nomor KK", "duplikat_kk_tempat_lain", place))
                elif place.source == "pengajuan":
                    findings[index].append(
                        Finding(
                            "no_kk",
                            f"nomor KK {kk} sudah ada pada kategori yang sama di {place.words}",
                            Severity.ERROR,
                            "duplikat_kk",
                        )
                    )


def named_entry_findings(rows: list[dict[str, Any]], ctx: Context, findings: list[list[Finding]]) -> None:
    """An institution or a community once per category and file."""
    seen: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        kategori = row.get("kategori") or ""
        unit = ctx.unit_of(kategori)
        if unit not in (Unit.LEMBAGA, Unit.KOMUNITAS):
            continue
        key = (kategori, identity.key(unit, row))
        if not key[1]:
            continue
        if key in seen:
            findings[index].append(
                Finding(
                    "nama",
                    f"{row.get('nama')} sudah ada pada kategori yang sama (baris/item lain ({seen[key] + 2}))",
                    Severity.ERROR,
                    "duplikat_nama",
                )
            )
        else:
            seen[key] = index


def _by_birth_date(rows: list[dict[str, Any]]) -> dict[date, list[int]]:
    """Rows of a named person with a NIK, by birth date."""
    born: dict[date, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        day = as_date(row.get("tanggal_lahir"))
        if day is not None and nik_of(row) and str(row.get("nama") or "").strip():
            born[day].append(index)
    return born


# A NIK one digit away from another agrees with it in one of its halves (the other holds the slip):
# the records a row could be a slip of are those born on its day whose NIK shares one half with its.
HALVES = (1, 9)  # where each 8-digit half starts (SQL counts from 1); indexed with the birth date


def _sharing_a_half(
    session: Session, rows: list[dict[str, Any]], wanted: dict[date, list[int]], kode_desa: str
) -> Iterable[Any]:
    """The province's other active records born on a row's day whose NIK shares a half with the row's:
    a few candidates, however large the register (`ix_ppks_record_lahir_nik_*`, migration 0050)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    province = kode_desa.split(".", 1)[0]
    columns = (Record.nama, Record.nik, Record.tanggal_lahir, Record.kode_desa, Record.kategori)
    for start in HALVES:
        half = func.substr(Record.nik, start, 8)
        keys = sorted({(day, nik_of(rows[i])[start - 1 : start + 7]) for day, found in wanted.items() for i in found})
        for chunk in chunks(keys, ARRAY_BATCH if postgresql else BATCH // 2):
            query = select(*columns).where(
                Record.status == RecordStatus.AKTIF,
                Record.kode_desa.startswith(f"{province}."),
                Record.kode_desa != kode_desa,
            )
            if postgresql:  # the pairs as two arrays, one statement whatever their number
                days = bindparam(None, [day for day, _ in chunk], type_=ARRAY(Date))
                parts = bindparam(None, [part for _, part in chunk], type_=ARRAY(String))
                pairs = func.unnest(days, parts).table_valued("hari", "bagian").render_derived()
                query = query.join(pairs, and_(Record.tanggal_lahir == pairs.c.hari, half == pairs.c.bagian))
            else:
                query = query.where(tuple_(Record.tanggal_lahir, half).in_(chunk))
            yield from session.execute(query)


def slipped_elsewhere(
    session: Session, rows: list[dict[str, Any]], kode_desa: str, findings: list[list[Finding]]
) -> None:
    """A person on another desa's register in the province, keyed here with one digit of the NIK
    wrong: the same name and birth date, a NIK one digit away. The same NIK is found by `nik_findings`;
    this one the NIK cannot find, and the person would be counted twice. A question for the verifiers,
    as any entry registered elsewhere (the place in the detail, the operator never told)."""
    wanted = _by_birth_date(rows)
    told: set[tuple[int, str, str]] = set()
    for nama, nik, born, desa, kategori in _sharing_a_half(session, rows, wanted, kode_desa) if wanted else ():
        for index in wanted.get(born, []):
            row = rows[index]
            if (index, desa, kategori) in told or not one_digit_apart(nik_of(row), nik or ""):
                continue
            if not names.same_person(str(row.get("nama"))[: names.MAX_LENGTH], nama):
                continue
            told.add((index, desa, kategori))
            findings[index].append(
                Finding(
                    "nik",
                    "NIK ini berbeda satu angka dengan NIK seseorang yang nama dan tanggal lahirnya sama dan "
                    "terdaftar di tempat lain; periksa apakah orang yang sama (mungkin salah ketik)",
                    Severity.WARNING,
                    "nik_salah_ketik_tempat_lain",
                    detail=Place("catatan", desa, kategori).detail(),
                )
            )


def household_findings(rows: list[dict[str, Any]], findings: list[list[Finding]]) -> None:
    """Members of one family card share its address: a KK with several addresses in one file is suspect."""
    written: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if _kk(row):
            written[_kk(row)].append(str(row.get("alamat") or ""))
    different = {kk: len(addresses.distinct(texts)) for kk, texts in written.items()}
    for index, row in enumerate(rows):
        seen = different.get(_kk(row), 0)
        if seen > 1:
            findings[index].append(
                Finding(
                    "alamat",
                    f"anggota KK {_kk(row)} tercatat dengan {seen} alamat berbeda"
                    if seen <= addresses.MOST_TOLD
                    else f"anggota KK {_kk(row)} tercatat dengan lebih dari {addresses.MOST_TOLD} alamat berbeda",
                    Severity.WARNING,
                    "kk_alamat",
                )
            )
