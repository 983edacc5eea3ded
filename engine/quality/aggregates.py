"""Compiled figures: historic baselines, other agencies' figures, our own counts, and the flags the
aggregate rules raise on them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.actors import Actor
from engine.errors import Invalid, Problem
from engine.imports import read_table
from engine.quality import series
from engine.quality.settings import Thresholds
from models import (
    AggregateValue,
    Category,
    Population,
    QualityFlag,
    Record,
    RecordStatus,
    Region,
    parent_code,
)

OURS = "dinsos"
BASELINE_COLUMNS = ["kode_wilayah", "kategori", "periode", "nilai", "sumber"]
AGENCY_COLUMNS = ["instansi", "kategori", "kode_wilayah", "periode", "nilai"]


def _parse_rows(session: Session, rows: list[dict[str, str]], source_column: str) -> list[series.Value]:
    regions = set(session.scalars(select(Region.kode)))
    kinds = set(session.scalars(select(Category.kode)))
    problems, values = [], []
    for number, row in enumerate(rows, start=2):
        code, kategori, periode = row.get("kode_wilayah", ""), row.get("kategori", ""), row.get("periode", "")
        if code not in regions:
            problems.append(Problem(f"kode wilayah {code!r} tidak dikenal", row=number, column="kode_wilayah"))
        if kategori not in kinds:
            problems.append(Problem(f"kode kategori {kategori!r} tidak dikenal", row=number, column="kategori"))
        try:
            series.period_key(periode)
        except ValueError as exc:
            problems.append(Problem(str(exc), row=number, column="periode"))
        text = str(row.get("nilai", "")).replace(".", "").strip()
        if not text.isdigit():
            problems.append(Problem(f"nilai {row.get('nilai')!r} bukan bilangan bulat 0 atau lebih", row=number,
                                    column="nilai"))
        source = (row.get(source_column) or "").strip()
        if not source:
            problems.append(Problem("wajib diisi", row=number, column=source_column))
        if not problems or problems[-1].row != number:
            values.append(series.Value(code, kategori, periode, int(text), source))
    keys = Counter((v.region, v.kategori, v.periode, v.sumber) for v in values)
    problems += [Problem(f"{k[0]} {k[1]} {k[2]} ({k[3]}) muncul {n} kali") for k, n in keys.items() if n > 1]
    if problems:
        raise Invalid(f"Berkas ditolak: {len(problems)} masalah; tidak ada yang disimpan", problems)
    return values


def read_baseline(session: Session, filename: str, content: bytes) -> list[series.Value]:
    """Historic compiled tables: kode_wilayah, kategori, periode (YYYY, YYYY-Qn, YYYY-Sn), nilai, sumber."""
    return _parse_rows(session, read_table(filename, content, BASELINE_COLUMNS), "sumber")


def read_agency(session: Session, filename: str, content: bytes, agency: str | None = None) -> list[series.Value]:
    """Another agency's figures: instansi, kategori, kode_wilayah, periode, nilai."""
    required = AGENCY_COLUMNS if agency is None else [c for c in AGENCY_COLUMNS if c != "instansi"]
    rows = read_table(filename, content, required)
    if agency:
        rows = [{**r, "instansi": agency} for r in rows]
    return _parse_rows(session, rows, "instansi")


@dataclass
class Context:
    thresholds: Thresholds
    population: dict[str, int]
    child_counts: dict[str, int]

    @classmethod
    def load(cls, session: Session) -> Context:
        counts = {parent: n for parent, n in session.execute(
            select(Region.induk, func.count()).where(Region.induk.is_not(None)).group_by(Region.induk))}
        population = {code: total for code, total in session.execute(select(Population.kode, Population.total))}
        return cls(Thresholds.load(session), population, counts)


def scan_values(values: list[series.Value], ctx: Context) -> list[series.Flag]:
    """The aggregate rules, source by source: one agency's series is never mixed with another's."""
    by_source: dict[str, list[series.Value]] = defaultdict(list)
    for v in values:
        by_source[v.sumber].append(v)
    flags = []
    for source, own in sorted(by_source.items()):
        for flag in series.scan(own, ctx.population, ctx.thresholds, ctx.child_counts):
            flag.sources = {"sumber": source}
            flags.append(flag)
    return flags


def compare_agencies(values: list[series.Value], ctx: Context) -> list[series.Flag]:
    """Padu padan: each agency figure against ours for the same category, region and period."""
    ours = {(v.region, v.kategori, v.periode): v.nilai for v in values if v.sumber == OURS}
    flags = []
    for v in values:
        if v.sumber == OURS or (v.region, v.kategori, v.periode) not in ours:
            continue
        mine = ours[(v.region, v.kategori, v.periode)]
        gap = abs(mine - v.nilai)
        relative = gap / max(mine, v.nilai) if max(mine, v.nilai) else 0
        if gap > ctx.thresholds.get("instansi", "absolute", v.kategori) and \
                relative > ctx.thresholds.get("instansi", "relative", v.kategori):
            flags.append(series.Flag(
                "instansi", "warning", v.region, v.kategori, v.periode, mine, v.nilai,
                f"{v.kategori} di {v.region} periode {v.periode}: Dinas Sosial mencatat {mine}, {v.sumber} "
                f"mencatat {v.nilai} (selisih {gap}, {relative:.0%})",
                {"sumber": OURS, "instansi": v.sumber, "nilai_kita": mine, "nilai_instansi": v.nilai}))
    return flags


def stored_values(session: Session, keys: set[tuple[str, str]] | None = None) -> list[series.Value]:
    """Stored figures, all of them or those of some (kategori, region) pairs."""
    query = select(AggregateValue)
    if keys:
        query = query.where(AggregateValue.kategori.in_({k for k, _ in keys}))
    rows = session.scalars(query)
    return [series.Value(r.kode_wilayah, r.kategori, r.periode, r.nilai, r.sumber) for r in rows
            if keys is None or (r.kategori, r.kode_wilayah) in keys]


def store(session: Session, actor: Actor, values: list[series.Value], action: str) -> int:
    """Upsert the figures; returns how many were new."""
    existing = {(r.kode_wilayah, r.kategori, r.periode, r.sumber): r for r in session.scalars(
        select(AggregateValue).where(AggregateValue.kategori.in_({v.kategori for v in values})))}
    added = 0
    for v in values:
        row = existing.get((v.region, v.kategori, v.periode, v.sumber))
        if row is None:
            session.add(AggregateValue(kode_wilayah=v.region, kategori=v.kategori, periode=v.periode, nilai=v.nilai,
                                       sumber=v.sumber, imported_at=clock.now()))
            added += 1
        else:
            row.nilai, row.imported_at = v.nilai, clock.now()
    session.flush()
    audit.record(session, actor, action, "aggregate_value", "-",
                 after={"nilai": len(values), "baru": added, "sumber": sorted({v.sumber for v in values})})
    return added


def store_flags(session: Session, flags: list[series.Flag], rules: set[str], keys: set[tuple[str, str]]) -> None:
    """Replace the open aggregate flags of these rules on these (kategori, region) series."""
    for kategori, region in keys:
        session.execute(delete(QualityFlag).where(
            QualityFlag.item_id.is_(None), QualityFlag.status == "terbuka", QualityFlag.rule.in_(rules),
            QualityFlag.kategori == kategori, QualityFlag.region_kode == region))
    for f in flags:
        session.add(QualityFlag(rule=f.rule, severity=f.severity, message=f.message, level=f.level,
                                region_kode=f.region, kategori=f.kategori, periode=f.periode, observed=f.observed,
                                expected=f.expected, sources=f.sources, status="terbuka", created_at=clock.now()))
    session.flush()


AGGREGATE_RULES = {"periode_hilang", "rasio", "turun_ke_nol", "naik_dari_nol", "tetap", "z_robust", "salin",
                   "rate", "total"}


def rescan(session: Session, actor: Actor, values: list[series.Value]) -> list[series.Flag]:
    """Store new figures, then check the whole stored series they belong to (history included)."""
    ctx = Context.load(session)
    keys = {(v.kategori, v.region) for v in values}
    # siblings matter to the copied-value and rate rules: check the parents' children too
    parents = {parent_code(v.region) for v in values}
    siblings = {(k, r.kode) for k in {v.kategori for v in values}
                for r in session.scalars(select(Region).where(Region.induk.in_(parents)))} if parents else set()
    history = stored_values(session, keys | siblings)
    flags = scan_values(history, ctx) + compare_agencies(history, ctx)
    store_flags(session, flags, AGGREGATE_RULES | {"instansi"}, keys | siblings)
    return flags


def snapshot_records(session: Session, actor: Actor, periode: str, province: str) -> int:
    """Our own figures for a period: active verified records counted by category at every level."""
    series.period_key(periode)
    counts: Counter[tuple[str, str]] = Counter()
    rows = session.execute(select(Record.kode_desa, Record.kategori, func.count()).where(
        Record.status == RecordStatus.AKTIF, Record.kode_desa.like(f"{province}.%"))
        .group_by(Record.kode_desa, Record.kategori))
    for desa, kategori, n in rows:
        code = desa
        while code:
            counts[(code, kategori)] += n
            code = parent_code(code)
    values = [series.Value(code, kategori, periode, n, OURS) for (code, kategori), n in counts.items()]
    if values:
        store(session, actor, values, "FIGURES_SNAPSHOT_TAKEN")
        rescan(session, actor, values)
    return len(values)


def open_flags(session: Session, regions: list[str], rule: str = "", kategori: str = "", periode: str = "",
               severity: str = "", limit: int = 500) -> list[QualityFlag]:
    """Open aggregate flags within the given regions (a kabupaten sees its own; the province all)."""
    query = select(QualityFlag).where(QualityFlag.item_id.is_(None), QualityFlag.status == "terbuka")
    if "" not in regions:  # "" is the command line's: every region
        query = query.where(or_(*[or_(QualityFlag.region_kode == r, QualityFlag.region_kode.like(f"{r}.%"))
                                  for r in regions]))
    for name, value in (("rule", rule), ("kategori", kategori), ("periode", periode), ("severity", severity)):
        if value:
            query = query.where(getattr(QualityFlag, name) == value)
    return list(session.scalars(query.order_by(QualityFlag.region_kode, QualityFlag.kategori, QualityFlag.periode)
                                .limit(limit)))
