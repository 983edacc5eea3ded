"""Checks on one row of a submission: its shape (which follows the category's unit), the NIK
against the row, and the category's criteria.

The unit sets the shape: a person (individu) has a NIK, a sex and a birth date; a family
(keluarga) is recorded by its KK; an institution (lembaga) by its name; a community (komunitas)
by its name, its number of members and its leader, with no sex or birth date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.errors import phrase
from engine.core.periods import first_day, reference_date
from engine.quality.findings import Finding
from engine.quality.nik import NikError, is_sixteen_digits, shape_problem
from engine.quality.nik import parse as parse_nik
from models import Category, FormerRegionCode, Record, Region, Severity, Tier, Unit

REQUIRED_FIELDS = ("nama", "kategori")
PLAUSIBLE_AGE = 100  # older than this is possible, but asks for a second look at the birth date
MAX_MEMBERS = 100_000  # a community's `jumlah_anggota`
PERSONAL_FIELDS = ("nik", "no_kk", "jenis_kelamin", "tanggal_lahir")
NOT_USED = {  # what a unit has no use for
    Unit.LEMBAGA: PERSONAL_FIELDS,
    Unit.KOMUNITAS: PERSONAL_FIELDS,
}
UNIT_WORDS = {
    Unit.INDIVIDU: "perorangan",
    Unit.KELUARGA: "keluarga",
    Unit.LEMBAGA: "lembaga",
    Unit.KOMUNITAS: "komunitas",
}


@dataclass(frozen=True)
class Kind:
    kode: str
    nama: str
    satuan: str  # a Unit
    usia_min: int | None
    usia_max: int | None
    jenis_kelamin: str | None
    uncertain: bool
    attributes: tuple[str, ...]

    @property
    def unit(self) -> Unit:
        return Unit(self.satuan)


@dataclass(frozen=True)
class FormerCode:
    """A regency code of Kalimantan Timur that a Kalimantan Utara regency carried before 2012."""

    region_kode: str
    nama: str


@dataclass
class Context:
    kinds: dict[str, Kind]
    kecamatan: set[str]  # every kecamatan code, of every province: a NIK may come from anywhere
    reference: date  # ages are judged on the period's last day
    today: date
    periode: str | None = None
    former: dict[str, FormerCode] | None = None  # by the old regency code, e.g. 64.04
    start: date | None = None  # the period's first day: a category's age band may be met on any day of it

    @classmethod
    def load(cls, session: Session, periode: str | None = None, today: date | None = None) -> Context:
        kinds = {
            c.kode: Kind(
                c.kode,
                c.nama,
                c.satuan,
                c.usia_min,
                c.usia_max,
                c.jenis_kelamin,
                c.usia_tidak_pasti,
                tuple(c.atribut_wajib or ()),
            )
            for c in session.scalars(select(Category))
        }
        kecamatan = set(session.scalars(select(Region.kode).where(Region.tingkat == Tier.KECAMATAN)))
        former = {f.kode_lama: FormerCode(f.region_kode, f.nama) for f in session.scalars(select(FormerRegionCode))}
        today = today or clock.today()
        reference, start = (reference_date(periode), first_day(periode)) if periode else (today, today)
        return cls(kinds, kecamatan, reference, today, periode, former, start)

    def unit_of(self, kategori: str | None) -> Unit:
        kind = self.kinds.get(kategori or "")
        return kind.unit if kind else Unit.INDIVIDU


def age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_SHAPE = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}")  # a date's shape, right or not


def as_date(value: Any) -> date | None:
    """A date written YYYY-MM-DD, or DD/MM/YYYY as Indonesian forms and spreadsheets write it."""
    text = str(value or "").strip()
    return _read_date(text) if len(text) <= 10 else None


@lru_cache(maxsize=65_536)  # each row's date is read by several rules; a file holds few distinct dates
def _read_date(text: str) -> date | None:
    if not text or not text.isascii():
        return None
    day_first = _DAY_FIRST.fullmatch(text)
    try:
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
        # only YYYY-MM-DD: Python reads an ISO week ("2020-W01-1") as a date too, which no form means
        return date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
    except ValueError:
        return None


def normalise_date(value: Any) -> str:
    """A birth date as stored (YYYY-MM-DD) when it can be read, otherwise as typed (the shape check
    then says what is wrong)."""
    found = as_date(value)
    return found.isoformat() if found else str(value or "").strip()


def _text(values: dict[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _number_findings(values: dict[str, Any], unit: Unit) -> list[Finding]:
    found = []
    nik, kk = _text(values, "nik"), _text(values, "no_kk")
    if nik:
        problem = shape_problem(nik)
        if problem:
            found.append(Finding("nik", problem))
    elif unit == Unit.INDIVIDU:
        found.append(Finding("nik", "wajib diisi"))
    if kk:
        problem = shape_problem(kk, phrase("nomor KK"))
        if problem:
            found.append(Finding("no_kk", problem))
    elif unit == Unit.KELUARGA:
        found.append(Finding("no_kk", "dicatat per keluarga: nomor KK wajib", rule="kategori_satuan"))
    return found


def _person_findings(values: dict[str, Any], unit: Unit, today: date) -> list[Finding]:
    """Sex and birth date: required of a person, checked when a family's row gives them."""
    found = []
    sex, born = values.get("jenis_kelamin"), values.get("tanggal_lahir")
    if sex not in ("L", "P") and (sex or unit == Unit.INDIVIDU):
        found.append(Finding("jenis_kelamin", "jenis kelamin harus L (laki-laki) atau P (perempuan)"))
    if born:
        born_date = as_date(born)
        if born_date is None and _DATE_SHAPE.fullmatch(str(born).strip()):
            found.append(Finding("tanggal_lahir", f"tanggal {str(born).strip()} tidak ada di kalender"))
        elif born_date is None:
            found.append(
                Finding("tanggal_lahir", "tanggal harus berformat TTTT-BB-HH atau HH/BB/TTTT, mis. 1950-05-17")
            )
        elif born_date > today:
            found.append(Finding("tanggal_lahir", "tanggal lahir di masa depan"))
    elif unit == Unit.INDIVIDU:
        found.append(Finding("tanggal_lahir", "wajib diisi"))
    return found


# Every text value is bounded at entry (form, import, command line, API) by the column that will hold
# it, so that a long value fails where it is typed, not at the province's approval.
FIELD_CHARS: dict[str, int] = {
    column.name: column.type.length
    for column in Record.__table__.columns
    if isinstance(column.type, String) and column.type.length
}
TEXT_CHARS = 2_000  # free text (address, remarks) and attributes, stored as TEXT or JSON
# Characters that hide or reorder what a reader sees: control characters (tab and newline aside; the
# C1 set too, whose U+009B starts a terminal's escape), bidirectional overrides and isolates,
# zero-width characters, the line and paragraph separators (pasted breaks that are no newline), and half
# a character (a lone surrogate, which no page, file or digest can write)
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def _texts(values: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each value by the name its form gives it: a category's attributes (a leader's name, …) too."""
    yield from values.items()
    attributes = values.get("atribut")
    if isinstance(attributes, dict):
        yield from ((f"atribut_{name}", value) for name, value in attributes.items())


def text_findings(values: dict[str, Any]) -> list[Finding]:
    """Each text value within its column's length, without hidden or control characters."""
    found = []
    for name, value in _texts(values):
        if not isinstance(value, str):
            continue
        limit = FIELD_CHARS.get(name, TEXT_CHARS)
        if len(value) > limit:
            found.append(Finding(name, f"paling banyak {limit} karakter (ada {len(value)})"))
        hidden = _HIDDEN.search(value)
        if hidden:
            code = f"U+{ord(hidden.group()):04X}"
            found.append(
                Finding(name, f"berisi karakter tersembunyi atau kendali ({code}); ketik ulang", rule="karakter")
            )
    return found


def check_shape(values: dict[str, Any], kind: Kind | None, today: date) -> list[Finding]:
    """The fields a row of this category's unit needs, each in its form."""
    found = [Finding(name, "wajib diisi") for name in REQUIRED_FIELDS if not _text(values, name)]
    found += text_findings(values)
    kategori = values.get("kategori")
    if kategori and kind is None:
        found.append(Finding("kategori", f"kode kategori {str(kategori)[:12]!r} tidak dikenal"))
    unit = kind.unit if kind else Unit.INDIVIDU
    unused = [name for name in NOT_USED.get(unit, ()) if _text(values, name)]
    if unused:
        return found + [
            Finding(name, f"{UNIT_WORDS[unit]} tidak dicatat dengan kolom ini; kosongkan", rule="kategori_satuan")
            for name in unused
        ]
    return found + _number_findings(values, unit) + _person_findings(values, unit, today)


def _region_finding(parsed_kecamatan: str, ctx: Context) -> Finding | None:
    if parsed_kecamatan in ctx.kecamatan:
        return None
    former = (ctx.former or {}).get(parsed_kecamatan.rsplit(".", 1)[0])
    if former is not None:
        return Finding(
            "nik",
            f"NIK diterbitkan sebelum 2012 dengan kode lama {parsed_kecamatan} ({former.nama}, kini "
            f"{former.region_kode}); wajar untuk NIK lama",
            Severity.INFO,
            "nik_kode_lama",
            parsed_kecamatan,
            former.region_kode,
        )
    return Finding(
        "nik",
        f"kode wilayah NIK {parsed_kecamatan} tidak dikenal sebagai kecamatan; periksa KTP/KK",
        Severity.WARNING,
        "nik_wilayah",
        parsed_kecamatan,
    )


def _nik_findings(values: dict[str, Any], ctx: Context, born: date | None) -> list[Finding]:
    nik = _text(values, "nik")
    if not is_sixteen_digits(nik):
        return []  # the shape check has said so already
    try:
        parsed = parse_nik(nik, birth_hint=born, today=ctx.today)
    except NikError as exc:
        return [Finding("nik", str(exc), rule="nik_tanggal")]
    found = [f for f in (_region_finding(parsed.kecamatan, ctx),) if f is not None]
    sex = values.get("jenis_kelamin")
    if sex in ("L", "P") and sex != parsed.sex:
        found.append(
            Finding(
                "jenis_kelamin",
                "NIK menunjukkan perempuan (tanggal di NIK lebih dari 40), yang diisi laki-laki"
                if parsed.sex == "P"
                else "NIK menunjukkan laki-laki (tanggal di NIK kurang dari 40), yang diisi perempuan",
                rule="nik_jenis_kelamin",
                observed=sex,
                expected=parsed.sex,
            )
        )
    nik_born = parsed.birth_date
    if born is not None and (born.day, born.month, born.year % 100) != (
        nik_born.day,
        nik_born.month,
        nik_born.year % 100,
    ):
        found.append(
            Finding(
                "tanggal_lahir",
                f"tanggal lahir {born:%d-%m-%Y} tidak cocok dengan NIK ({nik_born:%d-%m-%Y})",
                rule="nik_tanggal_lahir",
                observed=born.isoformat(),
                expected=nik_born.isoformat(),
            )
        )
    return found


def _age_findings(kind: Kind | None, ctx: Context, born: date | None) -> list[Finding]:
    if born is None:
        return []
    years = age(born, ctx.reference)
    found = []
    if years > PLAUSIBLE_AGE:
        found.append(
            Finding(
                "tanggal_lahir",
                f"usia {years} tahun pada {ctx.reference.isoformat()}: periksa lagi tanggal lahirnya",
                Severity.WARNING,
                "usia_tidak_wajar",
                years,
                PLAUSIBLE_AGE,
            )
        )
    if kind is None or (kind.usia_min is None and kind.usia_max is None):
        return found
    low, high = kind.usia_min if kind.usia_min is not None else 0, kind.usia_max
    # Within the band on some day of the period: a child of 17 entered in the year of their 18th
    # birthday was in the child's band when found, though not on the period's last day.
    start = ctx.start or ctx.reference
    too_old = high is not None and age(born, start) > high
    if years < low or too_old:
        note = " (batas usia kategori ini masih diperdebatkan)" if kind.uncertain else ""
        on = (start if too_old else ctx.reference).isoformat()
        years = age(born, start) if too_old else years
        found.append(
            Finding(
                "tanggal_lahir",
                f"usia {years} tahun pada {on} di luar batas {kind.nama} ({low}-{high} tahun){note}"
                if high is not None
                else f"usia {years} tahun pada {on} di luar batas {kind.nama} ({low} tahun ke atas){note}",
                Severity.WARNING if kind.uncertain else Severity.ERROR,
                "kategori_usia",
                years,
                [low, high],
            )
        )
    return found


def _attribute_findings(values: dict[str, Any], kind: Kind) -> list[Finding]:
    attributes = values.get("atribut") or {}
    found = []
    for name in kind.attributes:
        text = str(attributes.get(name) or "").strip()
        if not text:
            found.append(Finding(f"atribut_{name}", f"wajib untuk {kind.nama}", rule="kategori_atribut"))
        elif name == "jumlah_anggota" and not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_MEMBERS):
            found.append(
                Finding(f"atribut_{name}", f"harus bilangan bulat 1 sampai {MAX_MEMBERS}", rule="kategori_atribut")
            )
    return found


def _category_findings(values: dict[str, Any], kind: Kind) -> list[Finding]:
    sex = values.get("jenis_kelamin")
    found = _attribute_findings(values, kind)
    if kind.jenis_kelamin and sex in ("L", "P") and sex != kind.jenis_kelamin:
        found.append(
            Finding(
                "jenis_kelamin",
                f"{kind.nama} hanya untuk jenis kelamin {kind.jenis_kelamin}",
                rule="kategori_jenis_kelamin",
                observed=sex,
                expected=kind.jenis_kelamin,
            )
        )
    return found


def _kk_region(values: dict[str, Any], ctx: Context) -> list[Finding]:
    kk = _text(values, "no_kk")
    if not is_sixteen_digits(kk):
        return []
    code = f"{kk[0:2]}.{kk[2:4]}.{kk[4:6]}"
    if code in ctx.kecamatan or code.rsplit(".", 1)[0] in (ctx.former or {}):
        return []
    return [Finding("no_kk", f"kode wilayah KK {code} tidak dikenal", Severity.WARNING, "kk_wilayah")]


def check_row(values: dict[str, Any], ctx: Context) -> list[Finding]:
    """Every rule that needs only this row and the context."""
    kind = ctx.kinds.get(values.get("kategori") or "")
    found = check_shape(values, kind, ctx.today)
    if kind is not None and kind.unit in NOT_USED:
        return found + _category_findings(values, kind)
    born = as_date(values.get("tanggal_lahir"))
    if born is not None and born > ctx.today:
        born = None  # said already; an age from the future means nothing
    found += _nik_findings(values, ctx, born) + _age_findings(kind, ctx, born) + _kk_region(values, ctx)
    if kind is not None:
        found += _category_findings(values, kind)
    return found
