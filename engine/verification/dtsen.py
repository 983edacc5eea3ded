"""Linkage with DTSEN (Data Tunggal Sosial dan Ekonomi Nasional): importing an extract and the flags
it raises on the register.

An extract is a table with `nik`, `no_kk`, `desil` (1 poorest … 10), `program` (programmes received,
separated by `|`, e.g. `PKH|BPNT`) and, optionally, `kode_wilayah` (the desa of residence). Each
import replaces the previous extract whole, all rows valid or nothing stored. Records are linked by
NIK, and by family card (KK) when the NIK is not in DTSEN (`linkage.dtsen_for`). The extract comes from
a file, or from DTSEN's endpoint through the `DtsenPort` adapter (`HttpDtsen`: paged, with the same
timeout, retries and circuit breaker as the Dukcapil client). The flags:
- `dtsen_fm_tidak_ada` (warning, on the record): a fakir miskin record whose person is not in DTSEN;
- `dtsen_desil_tinggi` (warning, on the record): a poverty category (fakir miskin, perempuan rawan
  sosial ekonomi) in decile 8-10;
- `dtsen_desil_rendah` (info, for the desa): people of deciles 1-2 living in the desa who are in no
  PPKS category, counted per desa, for the village deliberation to look at.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy import ColumnElement, Exists, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from engine.core import audit, clock, resilience, tables
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.config import DtsenSettings
from engine.core.errors import Invalid, Problem, Unavailable
from engine.people import privacy
from engine.people.scope import Scope
from models import DtsenEntry, FlagStatus, QualityFlag, Record, RecordStatus, Region, Severity, Tier

COLUMNS = ["nik", "no_kk", "desil", "program"]
POVERTY = {"FM", "PRSE"}  # fakir miskin, perempuan rawan sosial ekonomi
MISSING, HIGH, LOW = "dtsen_fm_tidak_ada", "dtsen_desil_tinggi", "dtsen_desil_rendah"
RULES = (MISSING, HIGH, LOW)
PROGRAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .\-]{0,39}")
DIGITS16 = re.compile(r"[0-9]{16}")
DECILE = re.compile(r"[1-9]|10")  # ASCII digits only: a superscript passes str.isdigit() and breaks int()
SHOWN_PER_DESA = 20  # masked NIKs listed on a desa's information flag


def read_extract(filename: str, content: bytes) -> list[dict[str, str]]:
    return tables.read_table(filename, content, COLUMNS)


def _row_problems(row: dict[str, str], number: int, desa: set[str]) -> list[Problem]:
    problems = []
    if not DIGITS16.fullmatch(row.get("nik", "")):
        problems.append(Problem("NIK harus 16 angka", row=number, column="nik"))
    if row.get("no_kk") and not DIGITS16.fullmatch(row["no_kk"]):
        problems.append(Problem("nomor KK harus 16 angka atau kosong", row=number, column="no_kk"))
    if not DECILE.fullmatch(row.get("desil", "")):
        problems.append(Problem("desil harus bilangan 1 sampai 10", row=number, column="desil"))
    programs = [p.strip() for p in row.get("program", "").split("|") if p.strip()]
    if len(programs) > 20 or not all(PROGRAM.fullmatch(p) for p in programs):
        problems.append(
            Problem("program dipisah |, mis. PKH|BPNT (huruf, angka, paling banyak 40)", row=number, column="program")
        )
    if row.get("kode_wilayah") and row["kode_wilayah"] not in desa:
        problems.append(Problem("bukan kode desa/kelurahan yang dikenal", row=number, column="kode_wilayah"))
    return problems


def _entries(session: Session, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    desa = set(session.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA)))
    problems = [p for number, row in enumerate(rows, start=2) for p in _row_problems(row, number, desa)]
    twice = [nik for nik, n in Counter(r.get("nik") for r in rows).items() if n > 1 and nik]
    problems += [Problem(f"NIK {privacy.mask_nik(nik)} muncul lebih dari sekali", column="nik") for nik in twice[:50]]
    if not rows:
        problems.append(Problem("berkas tidak berisi baris data"))
    if problems:
        raise Invalid(f"Ekstrak DTSEN ditolak: {len(problems)} masalah; tidak ada yang disimpan", problems)
    now = clock.now()
    return [
        {
            "nik": r["nik"],
            "no_kk": r.get("no_kk") or None,
            "desil": int(r["desil"]),
            "program": [p.strip() for p in r.get("program", "").split("|") if p.strip()],
            "region_kode": r.get("kode_wilayah") or None,
            "imported_at": now,
        }
        for r in rows
    ]


@dataclass
class DtsenReport:
    rows: int
    linked_nik: int
    linked_kk: int
    flags: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_extract(
    session: Session, actor: Actor, rows: list[dict[str, str]], province: str, source: str = "berkas"
) -> DtsenReport:
    """Replace the DTSEN extract with these rows (from a file or the endpoint), then raise the flags afresh."""
    Scope.administering(actor).require_any().require(province, f"Provinsi {province}")
    entries = _entries(session, rows)
    session.execute(delete(DtsenEntry))
    for start in range(0, len(entries), 5000):
        session.execute(insert(DtsenEntry), entries[start : start + 5000])
    report = _raise_flags(session, entries, province)
    after = {**report.to_dict(), "sumber": source}
    audit.record(session, actor, AuditAction.DTSEN_IMPORTED, "dtsen_entry", "-", after=after)
    return report


def _flag(rule: str, severity: Severity, message: str, desa: str, **kw: Any) -> QualityFlag:
    return QualityFlag(
        rule=rule,
        severity=severity,
        message=message,
        region_kode=desa,
        sources={"sumber": "DTSEN"},
        status=FlagStatus.TERBUKA,
        created_at=clock.now(),
        **kw,
    )


def _raise_flags(session: Session, entries: list[dict[str, Any]], province: str) -> DtsenReport:
    session.execute(delete(QualityFlag).where(QualityFlag.rule.in_(RULES), QualityFlag.status == FlagStatus.TERBUKA))
    by_nik = {e["nik"]: e for e in entries}
    kk_decile: dict[str, int] = {}
    for e in entries:
        if e["no_kk"]:
            kk_decile[e["no_kk"]] = min(kk_decile.get(e["no_kk"], 10), e["desil"])
    records = session.execute(
        select(Record.id, Record.nik, Record.no_kk, Record.kategori, Record.kode_desa).where(
            Record.status == RecordStatus.AKTIF, Record.kode_desa.like(f"{province}.%")
        )
    ).all()
    flags: list[QualityFlag] = []
    linked: Counter[str] = Counter()
    registered: set[str | None] = set()
    for rid, nik, kk, kategori, desa in records:
        registered.update((nik, kk))  # family categories (fakir miskin) register the whole family
        decile = by_nik[nik]["desil"] if nik in by_nik else kk_decile.get(kk or "")
        linked["nik" if nik in by_nik else "kk" if decile is not None else "none"] += 1
        if kategori == "FM" and decile is None:
            flags.append(
                _flag(
                    MISSING,
                    Severity.WARNING,
                    "Fakir miskin ini tidak ada di DTSEN (menurut NIK maupun KK)",
                    desa,
                    kategori=kategori,
                    record_id=rid,
                    field="nik",
                )
            )
        elif kategori in POVERTY and decile is not None and decile >= 8:
            flags.append(
                _flag(
                    HIGH,
                    Severity.WARNING,
                    f"Kategori kemiskinan {kategori}, tetapi DTSEN mencatat desil {decile}",
                    desa,
                    kategori=kategori,
                    record_id=rid,
                    field="kategori",
                    observed={"desil": decile},
                    expected={"desil": "1-7"},
                )
            )
    flags += _low_decile_flags(entries, registered, province)
    session.add_all(flags)
    session.flush()
    return DtsenReport(len(entries), linked["nik"], linked["kk"], dict(Counter(f.rule for f in flags)))


def _low_decile_flags(entries: list[dict[str, Any]], registered: set[str | None], province: str) -> list[QualityFlag]:
    """Per desa: people of deciles 1-2 in DTSEN who are in no PPKS category, by NIK nor by family card
    (information for the desa)."""
    unregistered: dict[str, list[str]] = defaultdict(list)
    for e in entries:
        desa = e["region_kode"]
        known = e["nik"] in registered or (e["no_kk"] and e["no_kk"] in registered)
        if e["desil"] <= 2 and desa and desa.startswith(f"{province}.") and not known:
            unregistered[desa].append(e["nik"])
    return [
        _flag(
            LOW,
            Severity.INFO,
            f"{len(niks)} warga desil 1-2 di DTSEN belum tercatat di kategori PPKS mana pun; bahas di musyawarah desa",
            desa,
            tingkat=Tier.DESA.value,
            field="nik",
            observed={"jumlah": len(niks), "nik": [privacy.mask_nik(n) for n in sorted(niks)[:SHOWN_PER_DESA]]},
        )
        for desa, niks in sorted(unregistered.items())
    ]


def desa_information(session: Session, actor: Actor, kode_desa: str, limit: int = 200) -> list[DtsenEntry]:
    """For the desa's operator: residents in DTSEN deciles 1-2 who are in no PPKS category of the desa.

    Only the desa's own register counts: a resident leaving the list for a registration elsewhere would
    tell the operator what `duplicates.ELSEWHERE_RULES` keeps from them (that the person receives a
    service somewhere, perhaps in a sensitive category); entered here, the kecamatan is told. Each
    resident is looked up by NIK, then by family card (indexed), rather than the register's every NIK
    and card read against the desa's residents."""
    Scope.working(actor).require(kode_desa, f"Desa {kode_desa}", Tier.DESA)
    return list(
        session.scalars(
            select(DtsenEntry)
            .where(
                DtsenEntry.region_kode == kode_desa,
                DtsenEntry.desil <= 2,
                ~_registered(Record.nik == DtsenEntry.nik, Record.kode_desa == kode_desa),
                or_(
                    DtsenEntry.no_kk.is_(None),
                    ~_registered(Record.no_kk == DtsenEntry.no_kk, Record.kode_desa == kode_desa),
                ),
            )
            .order_by(DtsenEntry.desil, DtsenEntry.nik)
            .limit(limit)
        )
    )


def _registered(*same_person: ColumnElement[bool]) -> Exists:
    """An active register record matching the DTSEN resident (correlated to the outer entry)."""
    return exists().where(Record.status == RecordStatus.AKTIF, *same_person)


# --- the extract from DTSEN's endpoint -----------------------------------------------------------------

ADAPTER = "dtsen"
FIELDS = (*COLUMNS, "kode_wilayah")


class DtsenPort(Protocol):
    def extract(self, province: str) -> list[dict[str, str]]:
        """The whole extract for the province, as rows of `FIELDS`; `resilience.ServiceUnavailable` otherwise."""
        ...


def _cell(value: Any) -> str:
    if isinstance(value, list):  # programmes may come as a list
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)


def _page(answer: httpx.Response) -> tuple[list[dict[str, str]], int | None]:
    body = answer.json()
    rows, following = body["baris"], body.get("halaman_berikutnya")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError("`baris` harus daftar objek")
    if following is not None and not isinstance(following, int):
        raise ValueError("`halaman_berikutnya` harus bilangan atau null")
    return [{name: _cell(r.get(name)) for name in FIELDS} for r in rows], following


class HttpDtsen:
    """`GET {base}/ekstrak?wilayah=65&halaman=1&ukuran=10000`, answered with
    `{"baris": [{nik, no_kk, desil, program, kode_wilayah}, ...], "halaman_berikutnya": 2 | null}`.

    Bounded: a page longer than asked, pages that do not move forward, or more than `max_rows` rows in
    all stop the import before anything is stored."""

    def __init__(self, settings: DtsenSettings, transport: httpx.BaseTransport | None = None, sleep: Any = None):
        self.settings = settings
        self._service = resilience.ServiceClient(settings, "DTSEN", transport, sleep)
        self.breaker = self._service.breaker

    def extract(self, province: str) -> list[dict[str, str]]:
        size, limit = self.settings.page_size, self.settings.max_rows
        rows: list[dict[str, str]] = []
        page: int | None = 1
        while page is not None:
            params = {"wilayah": province, "halaman": page, "ukuran": size}
            found, following = self._service.call("GET", "/ekstrak", _page, params=params)
            if len(found) > size:
                raise Invalid(f"DTSEN mengirim {len(found)} baris pada halaman {page}, padahal diminta {size}")
            if following is not None and following <= page:
                raise Invalid(f"DTSEN menunjuk halaman {following} sesudah halaman {page}; impor dihentikan")
            if following is not None and (not found or following > limit // size + 1):  # pages without end
                raise Invalid(f"DTSEN menunjuk halaman {following} sesudah halaman {page} berisi {len(found)} baris")
            rows += found
            if len(rows) > limit:
                raise Invalid(f"Ekstrak DTSEN lebih dari {limit} baris (SIJOSKU_DTSEN_MAX_ROWS); tidak disimpan")
            page = following
        return rows

    def close(self) -> None:
        self._service.close()


def fetch_extract(actor: Actor, port: DtsenPort | None, province: str) -> list[dict[str, str]]:
    """The extract from DTSEN's endpoint, read before any transaction opens (it may take minutes)."""
    Scope.administering(actor).require_any().require(province, f"Provinsi {province}")
    if port is None:
        raise Invalid("Alamat DTSEN belum diatur: isi SIJOSKU_DTSEN_URL (dan SIJOSKU_DTSEN_USER, _PASSWORD)")
    try:
        return port.extract(province)
    except resilience.ServiceUnavailable as exc:
        raise Unavailable(f"Ekstrak DTSEN tidak dapat diambil; tidak ada yang diubah. {exc}") from exc
