"""Compiled figures: historic baselines, other agencies' figures, our own counts, and the flags the
aggregate rules raise on them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.agency_names import OURS
from engine.core.audit import AuditAction
from engine.core.errors import phrase
from engine.core.periods import previous_period, reference_date
from engine.quality import agencies, agency_indicators, counts, series
from engine.quality.thresholds import Thresholds
from models import (
    AggregateValue,
    Category,
    FlagStatus,
    QualityFlag,
    Record,
    RecordStatus,
    RecordVersion,
    Region,
    Submission,
    parent_code,
)


@dataclass
class Context:
    """Thresholds, the categories stable by nature, each region's number of children, and the
    agency gaps already explained; each category's dispersion comes from the figures scanned."""

    thresholds: Thresholds
    stable: frozenset[str]
    child_counts: dict[str, int]
    explained: frozenset[tuple[str, str, str]]
    different: frozenset[tuple[str, str]] = frozenset()  # (agency, category) known to count something else
    # each category's dispersion, measured on every stored figure of ours in it; empty: on those scanned
    dispersion: dict[str, counts.Dispersion] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Context:
        child_counts = {
            parent: n
            for parent, n in session.execute(
                # children in use: a kecamatan recoded leaves its old code, which no figure carries on
                select(Region.induk, func.count())
                .where(Region.induk.is_not(None), Region.berakhir.is_(None))
                .group_by(Region.induk)
            )
        }
        stable = frozenset(session.scalars(select(Category.kode).where(Category.stabil.is_(True))))
        different = agency_indicators.counts_something_else(session)
        return cls(Thresholds.load(session), stable, child_counts, _explained_gaps(session), different)

    def for_series(self, values: list[series.Value]) -> series.Context:
        return series.Context(self.thresholds, self.dispersion_of(values), self.stable, self.child_counts)

    def measured(self, everything: list[series.Value]) -> Context:
        """This context with each category's dispersion measured on all its stored figures: a series
        is judged by one yardstick whichever check reads it (the province's whole snapshot, or one
        kabupaten's agency file, whose few series would otherwise set a yardstick of their own)."""
        return replace(self, dispersion=series.dispersions(_ours(everything) or everything))

    def dispersion_of(self, values: list[series.Value]) -> dict[str, counts.Dispersion]:
        return self.dispersion or series.dispersions(values)


def _explained_gaps(session: Session) -> frozenset[tuple[str, str, str]]:
    """(agency, region, category) whose level gap someone has explained."""
    found = session.scalars(
        select(QualityFlag).where(QualityFlag.rule == "selisih_instansi", QualityFlag.status != FlagStatus.TERBUKA)
    )
    return frozenset((str(f.sources.get("instansi")), f.region_kode, f.kategori or "") for f in found)


def _ours(values: list[series.Value]) -> list[series.Value]:
    return [v for v in values if v.sumber == OURS]


def scan_values(values: list[series.Value], ctx: Context) -> list[series.Flag]:
    """The series rules, source by source: one agency's series is never mixed with another's. Each
    category's dispersion is estimated from our own figures (an agency's may count something else)."""
    by_source: dict[str, list[series.Value]] = defaultdict(list)
    for v in values:
        by_source[v.sumber].append(v)
    dispersion = ctx.dispersion_of(_ours(values) or values)
    flags = []
    for source, own in sorted(by_source.items()):
        scanned = series.Context(ctx.thresholds, dispersion, ctx.stable, ctx.child_counts)
        for flag in series.scan(own, scanned):
            flag.sources = {**flag.sources, "sumber": source}
            flags.append(flag if source == OURS else _of_agency(flag, source))
    return flags


def _of_agency(flag: series.Flag, agency: str) -> series.Flag:
    """A flag on an agency's own series, saying whose figures it is about: read alone it would be
    taken for one on Dinas Sosial's."""
    flag.message = phrase(f"Angka {agency}, bukan angka Dinas Sosial — {flag.message}")
    return flag


def compare_agencies(values: list[series.Value], ctx: Context) -> list[series.Flag]:
    """Padu padan: each agency's figures against ours, by the change of their ratio."""
    scanned = series.Context(ctx.thresholds, ctx.dispersion_of(_ours(values)), ctx.stable, ctx.child_counts)
    return agencies.compare(values, agencies.AgencyContext(scanned, ctx.explained, ctx.different))


def stored_history(session: Session, keys: set[tuple[str, str]]) -> tuple[list[series.Value], Context]:
    """The stored figures of these (kategori, region) series, and the context to judge them in, its
    yardstick measured on every stored figure of their categories (read in the same query)."""
    rows = session.scalars(select(AggregateValue).where(AggregateValue.kategori.in_({k for k, _ in keys})))
    everything = [series.Value(r.region_kode, r.kategori, r.periode, r.nilai, r.sumber) for r in rows]
    history = [v for v in everything if (v.kategori, v.region_kode) in keys]
    return history, Context.load(session).measured(everything)


# The sendings whose agency figures, sent again as they stand, confirm them.
CONFIRMING = (AuditAction.AGENCY_FIGURES_IMPORTED, AuditAction.BASELINE_IMPORTED)


def store(
    session: Session, actor: Actor, values: list[series.Value], action: AuditAction, about: dict[str, Any] | None = None
) -> int:
    """Upsert the figures (`about`: where they came from, for the audit trail); returns how many were
    new. The province's series are taken first, in the order every rescan takes them."""
    one_rescan_at_a_time(session, {(v.kategori, v.region_kode) for v in values})
    existing = {
        (r.region_kode, r.kategori, r.periode, r.sumber): r
        for r in session.scalars(
            select(AggregateValue).where(AggregateValue.kategori.in_({v.kategori for v in values}))
        )
    }
    added, changes = 0, []  # each figure that is new or changed: region, category, period, source, before, after
    same = []  # each figure sent again as it stood: a later undoing of an earlier upload must not take it
    for v in values:
        row = existing.get((v.region_kode, v.kategori, v.periode, v.sumber))
        if row is None:
            session.add(
                AggregateValue(
                    region_kode=v.region_kode,
                    kategori=v.kategori,
                    periode=v.periode,
                    nilai=v.nilai,
                    sumber=v.sumber,
                    imported_at=clock.now(),
                )
            )
            added += 1
            changes.append([v.region_kode, v.kategori, v.periode, v.sumber, None, v.nilai])
        else:
            if row.nilai != v.nilai:
                changes.append([v.region_kode, v.kategori, v.periode, v.sumber, row.nilai, v.nilai])
            elif v.sumber != OURS:
                same.append([v.region_kode, v.kategori, v.periode, v.sumber])
            if row.nilai != v.nilai or v.sumber != OURS:  # ours counted again unchanged: as of its count
                row.imported_at = clock.now()  # (the API's `diperbarui`); an agency's sent again: received
            row.nilai = v.nilai
    session.flush()
    # An agency's figures sent again as they stand, by an upload or in a historic table, are a
    # confirmation of them, recorded (an undoing of an earlier upload must not take them), whether or
    # not the same sending changed another; our own figures sent again change nothing and leave no row.
    confirmed = bool(same) and action in CONFIRMING
    if not changes and not confirmed:
        return added
    audit.record(  # the figures replaced are kept here: the table holds only the latest of each
        session,
        actor,
        action if changes else AuditAction.AGENCY_FIGURES_CONFIRMED,  # not an upload to list or undo
        "aggregate_value",
        "-",
        after={
            "nilai": len(values),
            "baru": added,
            "diubah": len(changes) - added,
            "sumber": sorted({v.sumber for v in values}),
            "perubahan": changes,
            **({"sama": same} if action in CONFIRMING else {}),
            **(about or {}),
        },
    )
    return added


def _flag_key(rule: str, region: str, kategori: str | None, periode: str | None, sources: dict[str, Any]) -> tuple:
    return rule, region, kategori, periode, sources.get("sumber"), sources.get("instansi")


def _settled(session: Session, keys: set[tuple[str, str]]) -> dict[tuple, Any]:
    """Flags someone has already explained or closed, by what they are about, with the figure they saw."""
    kinds = {k for k, _ in keys}
    found = session.scalars(
        select(QualityFlag).where(
            QualityFlag.item_id.is_(None), QualityFlag.status != FlagStatus.TERBUKA, QualityFlag.kategori.in_(kinds)
        )
    )
    return {
        _flag_key(f.rule, f.region_kode, f.kategori, f.periode, f.sources): f.observed
        for f in found
        if (f.kategori, f.region_kode) in keys
    }


def one_rescan_at_a_time(session: Session, keys: set[tuple[str, str]]) -> None:
    """Two rescans of a province's series at once (a Forum recount, an agency's figures) would each
    delete the open flags before the other's were committed and leave every flag twice: they take the
    province's region row in turn (NO KEY UPDATE, so rows referring to the region are not held up)."""
    provinces = sorted({region[:2] for _, region in keys})
    session.execute(
        select(Region.kode).where(Region.kode.in_(provinces)).order_by(Region.kode).with_for_update(key_share=True)
    )


def not_settled(session: Session, flags: list[series.Flag], keys: set[tuple[str, str]]) -> list[series.Flag]:
    """The flags to raise: one that someone explained or closed is not raised again while the figure it
    is about stays the same."""
    settled = _settled(session, keys)
    return [
        f
        for f in flags
        if settled.get(_flag_key(f.rule, f.region_kode, f.kategori, f.periode, f.sources), object()) != f.observed
    ]


def store_flags(session: Session, flags: list[series.Flag], rules: set[str], keys: set[tuple[str, str]]) -> None:
    """Replace the open aggregate flags of these rules on these (kategori, region) series, except those
    already settled (`not_settled`)."""
    one_rescan_at_a_time(session, keys)
    for kategori, region in keys:
        session.execute(
            delete(QualityFlag).where(
                QualityFlag.item_id.is_(None),
                QualityFlag.status == FlagStatus.TERBUKA,
                QualityFlag.rule.in_(rules),
                QualityFlag.kategori == kategori,
                QualityFlag.region_kode == region,
            )
        )
    for f in not_settled(session, flags, keys):
        session.add(
            QualityFlag(
                rule=f.rule,
                severity=f.severity,
                message=f.message,
                tingkat=f.tingkat,
                region_kode=f.region_kode,
                kategori=f.kategori,
                periode=f.periode,
                observed=f.observed,
                expected=f.expected,
                sources=f.sources,
                skor=round(f.score, 2),
                status=FlagStatus.TERBUKA,
                created_at=clock.now(),
            )
        )
    session.flush()


SERIES_RULES = {
    "periode_hilang",
    "lonjakan",
    "penurunan",
    "turun_ke_nol",
    "naik_dari_nol",
    "tetap",
    "salin",
    "porsi",
    "total",
}
AGENCY_RULES = {"instansi", "selisih_instansi"}
# Rules of earlier releases: their open flags are replaced too when a series is checked again.
RETIRED_RULES = {"rasio", "z_robust", "rate"}


def rescan(session: Session, actor: Actor, values: list[series.Value]) -> list[series.Flag]:
    """Store new figures, then check the whole stored series they belong to (history included)."""
    keys = series_keys(session, values)
    history, ctx = stored_history(session, keys)
    flags = scan_values(history, ctx) + compare_agencies(history, ctx)
    store_flags(session, flags, SERIES_RULES | AGENCY_RULES | RETIRED_RULES, keys)
    return flags


def series_keys(session: Session, values: list[series.Value]) -> set[tuple[str, str]]:
    """The (kategori, region) series these figures belong to, with their siblings'."""
    keys = {(v.kategori, v.region_kode) for v in values}
    # siblings matter to the copied-value and rate rules: check the parents' children too
    parents = {parent_code(v.region_kode) for v in values}
    siblings = (
        {
            (k, r.kode)
            for k in {v.kategori for v in values}
            for r in session.scalars(select(Region).where(Region.induk.in_(parents)))
        }
        if parents
        else set()
    )
    return keys | siblings


def roll_up(counted: Iterable[tuple[str, str, int]]) -> Counter[tuple[str, str]]:
    """Counts per (desa, kategori) summed into every level above: kecamatan, kabupaten/kota, province."""
    counts: Counter[tuple[str, str]] = Counter()
    for desa, kategori, n in counted:
        code: str | None = desa
        while code:
            counts[(code, kategori)] += n
            code = parent_code(code)
    return counts


def periods_until(session: Session, periode: str) -> list[str]:
    """The update periods of the submissions that end by the last day of `periode` (a year, or a
    period of the province's rhythm): by the day they end, not by their names ("2026-S1" ends before
    "2026-Q3" though its name sorts after)."""
    last_day = reference_date(periode)
    known = session.scalars(select(Submission.periode).distinct())
    return sorted(p for p in known if reference_date(p) <= last_day)


def standing_select(session: Session, province: str, periode: str) -> Select[Any]:
    """The province's register as it stood at the end of `periode`, as a query: each record active in
    its last version verified in a submission of a period ended by then, with (id, versi, kode_desa,
    kategori, nik) as that version gave them."""
    last = (
        select(RecordVersion.record_id, func.max(RecordVersion.versi).label("versi"))
        .join(Submission, Submission.id == RecordVersion.submission_id)
        .where(Submission.periode.in_(periods_until(session, periode)))
        .group_by(RecordVersion.record_id)
        .subquery()
    )
    return (
        select(
            Record.id,
            last.c.versi,
            RecordVersion.nilai["kode_desa"].as_string().label("kode_desa"),
            RecordVersion.nilai["kategori"].as_string().label("kategori"),
            RecordVersion.nilai["nik"].as_string().label("nik"),
        )
        .join(last, last.c.record_id == Record.id)
        .join(RecordVersion, and_(RecordVersion.record_id == Record.id, RecordVersion.versi == last.c.versi))
        .where(RecordVersion.status == RecordStatus.AKTIF, Record.kode_desa.like(f"{province}.%"))
    )


def standing_records(session: Session, province: str, periode: str) -> list[Any]:
    """The province's records active on the register as it stood at the end of `periode` (a year, or
    a period of the province's rhythm): each record as its last version verified in a submission of
    that period or before left it, in the category that version gave it (a correction made later does
    not move an earlier period's figure). A record verified in a later cycle does not count for this
    one, and one removed later still does. Rows of (id, versi, kode_desa, kategori), by id, in the desa
    of that version: a desa merged later keeps its own figures for the periods before, and its records
    count in the desa that carries on from it once a submission there has verified them."""
    standing = standing_select(session, province, periode).subquery()
    return list(
        session.execute(
            select(standing.c.id, standing.c.versi, standing.c.kode_desa, standing.c.kategori).order_by(standing.c.id)
        )
    )


def counted(records: Iterable[Any]) -> Counter[tuple[str, str]]:
    """Records (id, versi, kode_desa, kategori) counted by category at every level of the province."""
    per_desa = Counter((desa, kategori) for _, _, desa, kategori in records)
    return roll_up((desa, kategori, n) for (desa, kategori), n in per_desa.items())


def count_records(session: Session, province: str, periode: str) -> Counter[tuple[str, str]]:
    """The records standing at the end of `periode`, counted by category at every level of the province."""
    return counted(standing_records(session, province, periode))


def counted_before(session: Session, province: str, periode: str) -> dict[tuple[str, str], int]:
    """Our own figures of a period as its last count stored them, at every level of the province."""
    rows = session.execute(
        select(AggregateValue.region_kode, AggregateValue.kategori, AggregateValue.nilai).where(
            AggregateValue.sumber == OURS,
            AggregateValue.periode == periode,
            or_(AggregateValue.region_kode == province, AggregateValue.region_kode.like(f"{province}.%")),
        )
    )
    return {(code, kategori): n for code, kategori, n in rows}


@dataclass(frozen=True)
class Drift:
    """One of our figures the register no longer gives: as last counted, and as the records stand now."""

    wilayah: str
    kategori: str
    dihitung: int
    sekarang: int


def drift(session: Session, province: str, periode: str, now: Counter[tuple[str, str]]) -> list[Drift]:
    """The figures that changed since the period was last counted (records verified or removed since)."""
    return differences(counted_before(session, province, periode), now)


def differences(before: dict[tuple[str, str], int], now: Counter[tuple[str, str]]) -> list[Drift]:
    """The figures `now` gives otherwise than `before` (a figure stored as 0 is the same as none)."""
    return [
        Drift(code, kategori, before.get((code, kategori), 0), now.get((code, kategori), 0))
        for code, kategori in sorted(before.keys() | now.keys())
        if before.get((code, kategori), 0) != now.get((code, kategori), 0)
    ]


def snapshot_records(
    session: Session, actor: Actor, periode: str, province: str, counts: Counter[tuple[str, str]] | None = None
) -> int:
    """Our own figures for a period: the records standing at its end counted by category at every level
    (taken again later, a period's figures stay its own, not today's), or `counts` when the caller has
    just made them. A figure this period or the one before gave that no record gives any more is stored
    as 0: the last record of a category removed is a drop to zero the series checks can judge, not the
    old figure kept nor a missing period."""
    counts = count_records(session, province, periode) if counts is None else counts
    ended = set(
        session.scalars(select(Region.kode).where(Region.berakhir.is_not(None), Region.kode.like(f"{province}.%")))
    )
    # a region whose code ended (merged, recoded) has no figure in the periods after: its series stops,
    # not drops; a figure this period already gave it, which its records no longer give, is 0
    before = counted_before(session, province, previous_period(periode))
    gone = {key: 0 for key in before if key not in counts and key[0] not in ended}
    gone |= {key: 0 for key in counted_before(session, province, periode) if key not in counts}
    values = [series.Value(code, kategori, periode, n, OURS) for (code, kategori), n in {**gone, **counts}.items()]
    if values:
        store(session, actor, values, AuditAction.FIGURES_SNAPSHOT_TAKEN, {"periode": periode})
        rescan(session, actor, values)
    return len(values)
