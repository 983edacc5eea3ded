"""Checks on PPKS records: the NIK against the record, the category's criteria, the family card,
and duplicates (the same NIK twice in a period, or the same person without a NIK).

They run on every add, edit and import, and in the process's automatic-check step. A batch of rows
is checked with one context (regions, categories, the period's reference date) and a few batched
queries for duplicates, so that a 100,000-row import stays fast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.checks import SEVERITY_ERROR, SEVERITY_INFO, SEVERITY_WARNING, Finding, check_values
from engine.periods import reference_date
from engine.quality.nik import NikError
from engine.quality.nik import parse as parse_nik
from models import Category, Record, RecordStatus, Region, Submission, SubmissionItem, Tier

FUZZY_THRESHOLD = 90  # rapidfuzz token_sort_ratio, 0-100
BATCH = 1000


@dataclass(frozen=True)
class Kind:
    kode: str
    nama: str
    satuan: str
    usia_min: int | None
    usia_max: int | None
    jenis_kelamin: str | None
    uncertain: bool
    attributes: tuple[str, ...]


@dataclass
class Context:
    kinds: dict[str, Kind]
    kecamatan: set[str]  # every kecamatan code, of every province: a NIK may come from anywhere
    reference: date  # ages are judged on the period's last day
    today: date
    periode: str | None = None

    @classmethod
    def load(cls, session: Session, periode: str | None = None, today: date | None = None) -> Context:
        kinds = {c.kode: Kind(c.kode, c.nama, c.satuan, c.usia_min, c.usia_max, c.jenis_kelamin,
                              c.usia_tidak_pasti, tuple(c.atribut_wajib or ()))
                 for c in session.scalars(select(Category))}
        kecamatan = set(session.scalars(select(Region.kode).where(Region.tingkat == Tier.KECAMATAN)))
        today = today or date.today()
        return cls(kinds, kecamatan, reference_date(periode) if periode else today, today, periode)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _nik_findings(values: dict[str, Any], ctx: Context, born: date | None) -> list[Finding]:
    nik = str(values.get("nik") or "")
    if len(nik) != 16 or not nik.isdigit():
        return []  # the shape check has said so already
    try:
        parsed = parse_nik(nik, birth_hint=born, today=ctx.today)
    except NikError as exc:
        return [Finding("nik", str(exc), rule="nik_tanggal")]
    found = []
    if parsed.kecamatan not in ctx.kecamatan:
        found.append(Finding("nik", f"kode wilayah NIK {parsed.kecamatan} tidak dikenal sebagai kecamatan "
                             "(bisa kode lama, mis. 64.xx sebelum Kalimantan Utara berdiri); periksa KTP/KK",
                             SEVERITY_WARNING, "nik_wilayah", parsed.kecamatan))
    sex = values.get("jenis_kelamin")
    if sex in ("L", "P") and sex != parsed.sex:
        found.append(Finding("jenis_kelamin", f"NIK menunjukkan {'perempuan' if parsed.sex == 'P' else 'laki-laki'} "
                             f"(tanggal {'lebih' if parsed.sex == 'P' else 'kurang'} dari 40), isian {sex}",
                             rule="nik_jenis_kelamin", observed=sex, expected=parsed.sex))
    if born is not None and (born.day, born.month, born.year % 100) != (
            parsed.birth_date.day, parsed.birth_date.month, parsed.birth_date.year % 100):
        found.append(Finding("tanggal_lahir", f"tanggal lahir {born.isoformat()} tidak cocok dengan NIK "
                             f"({parsed.birth_date.strftime('%d-%m-%y')})", rule="nik_tanggal_lahir",
                             observed=born.isoformat(), expected=parsed.birth_date.isoformat()))
    return found


def _category_findings(values: dict[str, Any], kind: Kind, ctx: Context, born: date | None) -> list[Finding]:
    found = []
    if born is not None and (kind.usia_min is not None or kind.usia_max is not None):
        age = _age(born, ctx.reference)
        low, high = kind.usia_min if kind.usia_min is not None else 0, kind.usia_max
        if age < low or (high is not None and age > high):
            band = f"{low}-{high}" if high is not None else f"{low} ke atas"
            note = " (batas usia kategori ini masih diperdebatkan)" if kind.uncertain else ""
            found.append(Finding("tanggal_lahir", f"usia {age} tahun pada {ctx.reference.isoformat()} di luar batas "
                                 f"{kind.nama} ({band} tahun){note}",
                                 SEVERITY_WARNING if kind.uncertain else SEVERITY_ERROR, "kategori_usia",
                                 age, [low, high]))
    sex = values.get("jenis_kelamin")
    if kind.jenis_kelamin and sex in ("L", "P") and sex != kind.jenis_kelamin:
        found.append(Finding("jenis_kelamin", f"{kind.nama} hanya untuk jenis kelamin {kind.jenis_kelamin}",
                             rule="kategori_jenis_kelamin", observed=sex, expected=kind.jenis_kelamin))
    if kind.satuan == "keluarga" and not values.get("no_kk"):
        found.append(Finding("no_kk", f"{kind.nama} dicatat per keluarga: nomor KK wajib", rule="kategori_satuan"))
    attributes = values.get("atribut") or {}
    for name in kind.attributes:
        if not str(attributes.get(name) or "").strip():
            found.append(Finding(f"atribut_{name}", f"atribut {name} wajib untuk {kind.nama}", rule="kategori_atribut"))
    return found


def check_row(values: dict[str, Any], ctx: Context) -> list[Finding]:
    """Every rule that needs only this row and the context."""
    kind = ctx.kinds.get(values.get("kategori") or "")
    found = check_values(values, set(ctx.kinds), ctx.today, nik_required=kind is None or kind.satuan == "individu")
    born = _date(values.get("tanggal_lahir"))
    found += _nik_findings(values, ctx, born)
    if kind is not None:
        found += _category_findings(values, kind, ctx, born)
    kk = str(values.get("no_kk") or "")
    if len(kk) == 16 and kk.isdigit() and f"{kk[0:2]}.{kk[2:4]}.{kk[4:6]}" not in ctx.kecamatan:
        found.append(Finding("no_kk", f"kode wilayah KK {kk[0:2]}.{kk[2:4]}.{kk[4:6]} tidak dikenal", SEVERITY_WARNING,
                             "kk_wilayah"))
    return found


def _bands_overlap(a: Kind, b: Kind) -> bool:
    low = max(a.usia_min or 0, b.usia_min or 0)
    high = min(a.usia_max if a.usia_max is not None else 200, b.usia_max if b.usia_max is not None else 200)
    return low <= high


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + BATCH] for i in range(0, len(values), BATCH)]


def _elsewhere(session: Session, niks: list[str], periode: str | None, submission_id: int | None) -> dict[str, list]:
    """The same NIKs in other submissions of the period and among the active records."""
    seen: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for chunk in _chunks(niks):
        if periode:
            rows = session.execute(select(SubmissionItem.nik, SubmissionItem.kategori, Submission.kode_desa)
                                   .join(Submission, Submission.id == SubmissionItem.submission_id)
                                   .where(Submission.periode == periode, SubmissionItem.nik.in_(chunk),
                                          Submission.id != (submission_id or 0)))
            for nik, kategori, desa in rows:
                seen[nik].append(("pengajuan", desa, kategori))
        rows = session.execute(select(Record.nik, Record.kategori, Record.kode_desa).where(
            Record.nik.in_(chunk), Record.status == RecordStatus.AKTIF))
        for nik, kategori, desa in rows:
            seen[nik].append(("catatan", desa, kategori))
    return seen


def check_rows(session: Session, rows: list[dict[str, Any]], ctx: Context, kode_desa: str,
               submission_id: int | None = None, progress: Callable[[int], None] | None = None,
               ) -> list[list[Finding]]:
    """Findings for each row: its own rules, then duplicates within the rows, the period and the records."""
    findings = []
    for index, row in enumerate(rows):
        findings.append(check_row(row, ctx))
        if progress and index % 1000 == 0:
            progress(index)
    by_nik: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.get("nik"):
            by_nik[str(row["nik"])].append(index)
    for indexes in by_nik.values():
        for i in indexes:
            for j in indexes:
                if i < j:
                    findings[j].append(_pair_finding(rows[j], rows[i].get("kategori"), kode_desa, ctx,
                                                     f"baris/item lain ({i + 2})"))
    elsewhere = _elsewhere(session, list(by_nik), ctx.periode, submission_id)
    for nik, places in elsewhere.items():
        for index in by_nik[nik]:
            for where, desa, kategori in places:
                if where == "catatan" and desa == kode_desa and kategori == rows[index].get("kategori"):
                    continue  # the record this item updates
                label = f"{'pengajuan periode ini' if where == 'pengajuan' else 'data terverifikasi'} desa {desa}"
                findings[index].append(_pair_finding(rows[index], kategori, desa, ctx, label,
                                                     same_desa=desa == kode_desa))
    _fuzzy(session, rows, findings, kode_desa)
    _households(rows, findings)
    return findings


def _pair_finding(row: dict[str, Any], other_kind: str | None, other_desa: str, ctx: Context, where: str,
                  same_desa: bool = True) -> Finding:
    kind, other = ctx.kinds.get(row.get("kategori") or ""), ctx.kinds.get(other_kind or "")
    if other_kind == row.get("kategori"):
        severity = SEVERITY_ERROR if same_desa else SEVERITY_WARNING
        return Finding("nik", f"NIK yang sama sudah ada pada kategori yang sama di {where}", severity,
                       "duplikat_nik", row.get("nik"), where)
    if kind and other and not _bands_overlap(kind, other):
        return Finding("kategori", f"NIK yang sama tercatat sebagai {other.nama} di {where}; {kind.nama} dan "
                       f"{other.nama} tidak mungkin berlaku bersamaan (batas usia tidak beririsan)",
                       SEVERITY_ERROR, "duplikat_kategori", row.get("kategori"), other_kind)
    return Finding("nik", f"NIK yang sama juga tercatat sebagai {other.nama if other else other_kind} di {where}",
                   SEVERITY_INFO if same_desa else SEVERITY_WARNING, "duplikat_nik_kategori_lain",
                   row.get("kategori"), other_kind)


def _fuzzy(session: Session, rows: list[dict[str, Any]], findings: list[list[Finding]], kode_desa: str) -> None:
    """The same person twice where a NIK is missing: same desa and birth date, similar name."""
    births = {str(r.get("tanggal_lahir")) for r in rows if r.get("tanggal_lahir")}
    known = list(session.execute(select(Record.nama, Record.nik, Record.tanggal_lahir).where(
        Record.kode_desa == kode_desa, Record.status == RecordStatus.AKTIF))) if births else []
    block: dict[str, list[tuple[str, str | None, str]]] = defaultdict(list)
    for nama, nik, born in known:
        if born and born.isoformat() in births:
            block[born.isoformat()].append((nama, nik, "data terverifikasi"))
    for index, row in enumerate(rows):
        key = str(row.get("tanggal_lahir") or "")
        name = str(row.get("nama") or "")
        if not key or not name:
            continue
        for other_name, other_nik, where in block[key]:
            if other_nik and row.get("nik"):
                continue  # two NIKs: the NIK rules speak for them (twins share a birth date)
            score = fuzz.token_sort_ratio(name.lower(), other_name.lower())
            if score >= FUZZY_THRESHOLD:
                findings[index].append(Finding(
                    "nama", f"kemungkinan orang yang sama dengan {other_name} ({where}, lahir {key}, NIK "
                    f"{other_nik or 'kosong'}): kemiripan nama {score:.0f}%", SEVERITY_WARNING, "duplikat_mirip",
                    round(score), other_nik))
        block[key].append((name, row.get("nik"), f"baris/item {index + 2}"))


def _households(rows: list[dict[str, Any]], findings: list[list[Finding]]) -> None:
    """Members of one family card share its address: a KK with several addresses in one file is suspect."""
    addresses: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.get("no_kk"):
            addresses[str(row["no_kk"])].add(str(row.get("alamat") or "").strip().lower())
    for index, row in enumerate(rows):
        seen = addresses.get(str(row.get("no_kk") or ""), set()) - {""}
        if len(seen) > 1:
            findings[index].append(Finding("alamat", f"anggota KK {row['no_kk']} tercatat dengan {len(seen)} alamat "
                                           "berbeda", SEVERITY_WARNING, "kk_alamat"))
