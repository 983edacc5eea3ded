"""Determinations (penetapan): the frozen official figures of a year, read, compared and traced.

The content of a determination is the figures per region × category and the record set behind
them (each record's id, version, desa and category), made when the head approves. Its hash is the
SHA-256 of the canonical serialisation (JSON, keys sorted, no spaces, UTF-8), so recomputing it
from the stored content, or from any export, gives the same value. The decree, the approver and
the time are kept beside the content; a later correction is a new revision naming the one it
replaces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import NotFound
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import aggregates
from engine.verification import coverage
from models import (
    ApiResource,
    Determination,
    QualityFlag,
)


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def build_content(session: Session, province: str, tahun: int, records: list[Any] | None = None) -> dict[str, Any]:
    """The figures of the year: the province's records standing at the end of its cycles (not those
    verified in a later year's), those records' ids and the versions counted, and how many desa of
    each regency reported in each of the year's cycles (`coverage`)."""
    if records is None:
        records = aggregates.standing_records(session, province, str(tahun))
    counts = aggregates.counted(records)
    return {
        "tahun": tahun,
        "wilayah": province,
        "angka": sorted([code, kategori, n] for (code, kategori), n in counts.items()),
        "catatan": [[rid, versi, desa, kategori] for rid, versi, desa, kategori in records],
        "kelengkapan": [c.frozen() for c in coverage.of_year(session, province, tahun)],
    }


def latest(session: Session, tahun: int) -> Determination | None:
    """The year's newest revision; its content (megabytes for a province) is read only when used."""
    return session.scalar(
        select(Determination)
        .where(Determination.tahun == tahun)
        .order_by(Determination.revisi.desc())
        .limit(1)
        .options(defer(Determination.content))
    )


def same_as_latest(
    session: Session, tahun: int, counts: dict[tuple[str, str], int], reporting: list[coverage.Coverage]
) -> Determination | None:
    """The year's latest determination when `counts` and `reporting` are exactly its figures and
    reporting: a revision that would change nothing but its decree (the head is told so)."""
    previous = latest(session, tahun)
    if previous is None:
        return None
    # its figures and reporting alone, not the record list beside them (megabytes), on every view
    frozen = session.execute(
        select(Determination.content["angka"], Determination.content["kelengkapan"]).where(
            Determination.id == previous.id
        )
    ).one()
    figures = sorted([code, kategori, n] for (code, kategori), n in counts.items())
    return previous if tuple(frozen) == (figures, [c.frozen() for c in reporting]) else None


@dataclass(frozen=True)
class Approval:
    """What the head approved: the year, the decree, and the reconciliation it ends."""

    province: str
    tahun: int
    nomor_sk: str
    tanggal_sk: date
    instance_id: int | None = None
    human_task_id: int | None = None
    alasan_revisi: str | None = None


def freeze(session: Session, actor: Actor, approval: Approval, records: list[Any] | None = None) -> Determination:
    """Store the year's determination (of `records`, when the caller has read and checked them); a
    year already determined gets the next revision."""
    tahun, province = approval.tahun, approval.province
    nomor_sk, tanggal_sk, alasan_revisi = approval.nomor_sk, approval.tanggal_sk, approval.alasan_revisi
    # the province's figures held while they are frozen: an agency's upload, withdrawal or undoing
    # (which take the same lock, then check the year is not determined) waits, then is refused
    aggregates.one_rescan_at_a_time(session, {("", province)})
    content = build_content(session, province, tahun, records)
    previous = latest(session, tahun)
    determination = Determination(
        tahun=tahun,
        revisi=previous.revisi + 1 if previous else 0,
        region_kode=province,
        replaces_id=previous.id if previous else None,
        alasan_revisi=alasan_revisi,
        nomor_sk=nomor_sk,
        tanggal_sk=tanggal_sk,
        approved_by=actor.name,
        approved_by_id=actor.user_id,
        approved_at=clock.now(),
        instance_id=approval.instance_id,
        content_hash=content_hash(content),
        content=content,
        ringkasan=digest_of(content, province),
    )
    session.add(determination)
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.DETERMINATION_APPROVED,
        "determination",
        determination.id,
        after={
            "tahun": tahun,
            "revisi": determination.revisi,
            "hash": determination.content_hash,
            "nomor_sk": nomor_sk,
            "tanggal_sk": tanggal_sk.isoformat(),
            "angka": len(content["angka"]),
            "catatan": len(content["catatan"]),
        },
        instance_id=approval.instance_id,
        human_task_id=approval.human_task_id,
    )
    return determination


# -- reading ----------------------------------------------------------------------------------


def totals(d: Determination) -> dict[str, int]:
    """The province's figure per category, and their sum (`jumlah`): how many records they count, each
    person, family, institution or community one, whatever its category's unit."""
    return _totals(d.content, d.region_kode)


def _totals(content: dict[str, Any], province: str) -> dict[str, int]:
    by_category = {kategori: n for code, kategori, n in content["angka"] if code == province}
    return {**dict(sorted(by_category.items())), "jumlah": sum(by_category.values())}


def digest_of(content: dict[str, Any], province: str) -> dict[str, Any]:
    """What lists show of a determination: the province's totals and how many records it holds."""
    return {"totals": _totals(content, province), "catatan": len(content["catatan"])}


def summary(d: Determination, whole: bool = True) -> dict[str, Any]:
    """A determination as lists and pages show it. `whole`: read from its content, its hash checked;
    otherwise from what was written with it, the hash not checked (`hash_sah` None)."""
    if not whole and d.ringkasan is not None:
        return {
            **_heading(d),
            "hash_sah": None,
            "jumlah_catatan": d.ringkasan["catatan"],
            "totals": d.ringkasan["totals"],
        }
    return {
        **_heading(d),
        "hash_sah": content_hash(d.content) == d.content_hash,
        "jumlah_catatan": len(d.content["catatan"]),
        "totals": totals(d),
    }


def _heading(d: Determination) -> dict[str, Any]:
    return {
        "id": d.id,
        "tahun": d.tahun,
        "revisi": d.revisi,
        "wilayah": d.region_kode,
        "hash": d.content_hash,
        "decree": {"nomor": d.nomor_sk, "tanggal": d.tanggal_sk.isoformat()},
        "approved_by": d.approved_by,
        "approved_at": d.approved_at.isoformat(),
        "menggantikan": d.replaces_id,
        "alasan_revisi": d.alasan_revisi,
    }


def _readable(actor: Actor) -> Scope:
    return Scope.overseeing(actor).require_any()


def list_determinations(session: Session, actor: Actor, whole: bool = False) -> list[dict[str, Any]]:
    """Every determination, newest first; `whole`: each read from its content with its hash checked."""
    _readable(actor)
    query = select(Determination).order_by(Determination.tahun.desc(), Determination.revisi.desc())
    rows = session.scalars(query if whole else query.options(defer(Determination.content)))
    return [summary(d, whole) for d in rows]


def get(session: Session, actor: Actor, tahun: int, revisi: int | None = None) -> Determination:
    """A year's determination (its latest revision unless one is named)."""
    _readable(actor)
    query = select(Determination).where(Determination.tahun == tahun)
    if revisi is not None:
        query = query.where(Determination.revisi == revisi)
    found = session.scalar(query.order_by(Determination.revisi.desc()).limit(1))
    if found is None and revisi is not None:  # a revision mistyped is not a year never determined
        raise NotFound(f"Penetapan tahun {tahun} tidak mempunyai revisi {revisi}")
    if found is None:
        raise NotFound(f"Belum ada penetapan untuk tahun {tahun}")
    return found


def show(session: Session, actor: Actor, tahun: int) -> dict[str, Any]:
    return summary(get(session, actor, tahun))


# What is published (the files, the API) gives a sensitive category (`privacy.SENSITIVE`) from the
# kabupaten/kota up, as the PDF annex does every category. The frozen content keeps them whole, for
# the auditor's trail and the hash.


def published_rows(d: Determination, scope: Scope | None = None) -> list[tuple[str, str, int]]:
    """The figures as published: sensitive categories from the kabupaten/kota up, within `scope`."""
    return [
        (code, kategori, n)
        for code, kategori, n in d.content["angka"]
        if privacy.published(code, kategori) and (scope is None or scope.contains(code))
    ]


def figures(d: Determination, scope: Scope | None = None) -> list[dict[str, Any]]:
    return [{"wilayah": code, "kategori": kategori, "nilai": n} for code, kategori, n in published_rows(d, scope)]


def reporting(d: Determination, scope: Scope | None = None) -> list[coverage.Coverage]:
    """How many desa of each regency within `scope` reported in each of the year's cycles."""
    found = coverage.read(d.content)
    return found if scope is None or scope.everything else coverage.within(found, scope.regions)


def for_download(
    session: Session, actor: Actor, tahun: int, revisi: int | None = None
) -> tuple[Determination, Scope | None]:
    """A revision to download, and the part of it the person may take: the whole for whoever
    oversees the determination's province, the person's own regions otherwise (as an API token)."""
    d = get(session, actor, tahun, revisi)
    return d, part_of(actor, d)


def part_of(actor: Actor, d: Determination) -> Scope | None:
    """The part of a determination the person may see region by region: None for the whole (whoever
    oversees its province), else the person's own regions."""
    scope = Scope.overseeing(actor)
    return None if scope.everything or scope.contains(d.region_kode) else scope


# -- year on year -----------------------------------------------------------------------------


@dataclass
class Change:
    wilayah: str
    kategori: str
    sebelum: int | None
    sesudah: int | None
    tanda: list[dict[str, Any]]

    @property
    def selisih(self) -> int | None:
        return None if self.sebelum is None or self.sesudah is None else self.sesudah - self.sebelum

    @property
    def persen(self) -> float | None:
        if self.selisih is None or not self.sebelum:
            return None
        return round(100 * self.selisih / self.sebelum, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wilayah": self.wilayah,
            "kategori": self.kategori,
            "sebelum": self.sebelum,
            "sesudah": self.sesudah,
            "selisih": self.selisih,
            "persen": self.persen,
            "tanda": self.tanda,
        }


def diff(session: Session, actor: Actor, tahun_a: int, tahun_b: int, revisi_b: int | None = None) -> dict[str, Any]:
    """Year B's determination (revision `revisi_b`, else its latest) against year A's latest, for the
    province and each regency (the compiled figures anyone who oversees it reads), with year B's flags."""
    a, b = get(session, actor, tahun_a), get(session, actor, tahun_b, revisi_b)
    before = {(code, kategori): n for code, kategori, n in a.content["angka"] if _compiled(code)}
    after = {(code, kategori): n for code, kategori, n in b.content["angka"] if _compiled(code)}
    flags: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in session.scalars(
        select(QualityFlag).where(
            QualityFlag.periode == str(tahun_b),
            QualityFlag.item_id.is_(None),
            QualityFlag.record_id.is_(None),
            QualityFlag.region_kode.not_like("%.%.%"),
        )
    ):
        flags.setdefault((f.region_kode, f.kategori or ""), []).append(
            {"aturan": f.rule, "tingkat": f.severity, "status": f.status, "pesan": f.message}
        )
    return {
        "dari": summary(a),
        "ke": summary(b),
        "perubahan": [c.to_dict() for c in compare(before, after, flags)],
    }


def _compiled(code: str) -> bool:
    """The province's or a regency's figure, not a kecamatan's or desa's."""
    return code.count(".") <= 1


def compare(
    before: dict[tuple[str, str], int], after: dict[tuple[str, str], int], flags: dict[tuple[str, str], list[Any]]
) -> list[Change]:
    """Two years' figures side by side. A year counts only the categories its records give: one
    missing where the region has figures that year is 0 (its last record gone, or none yet), a change
    like any other; a region with no figures at all that year (not yet formed) has none."""
    regions_before, regions_after = {code for code, _ in before}, {code for code, _ in after}
    return [
        Change(*key, figure_of(before, regions_before, key), figure_of(after, regions_after, key), flags.get(key, []))
        for key in sorted(before.keys() | after.keys())
    ]


def figure_of(figures: dict[tuple[str, str], int], regions: set[str], key: tuple[str, str]) -> int | None:
    """A year's figure of (region, category): a determination keeps only counts above 0, so one missing
    where the region has figures is 0; a region with none at all (not yet formed) has none."""
    return figures.get(key, 0 if key[0] in regions else None)


# -- for other agencies (the API) -------------------------------------------------------------


def published(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every determination, for a token that holds the `penetapan` resource."""
    Scope.exchanging(actor, ApiResource.PENETAPAN).require_any()
    rows = session.scalars(
        select(Determination)
        .order_by(Determination.tahun.desc(), Determination.revisi.desc())
        .options(defer(Determination.content))  # megabytes each: the list reads what was written beside them
    )
    return [summary(d, whole=False) for d in rows]


def published_year(session: Session, actor: Actor, tahun: int) -> dict[str, Any]:
    """A year's determination with its figures in the token's region."""
    scope = Scope.exchanging(actor, ApiResource.PENETAPAN).require_any()
    d = get(session, Actor.system("api"), tahun)
    return {**summary(d), "data": figures(d, scope), "kelengkapan": [vars(c) for c in reporting(d, scope)]}


def published_whole(session: Session, actor: Actor, tahun: int) -> Determination:
    """The whole determination (its exports): for a token whose region is the determination's province."""
    scope = Scope.exchanging(actor, ApiResource.PENETAPAN).require_any()
    d = get(session, Actor.system("api"), tahun)
    if not scope.everything and d.region_kode not in scope.regions:
        raise NotFound(f"Ekspor penetapan {tahun} hanya untuk token tingkat provinsi {d.region_kode}")
    return d


def record_export(session: Session, actor: Actor, d: Determination, fmt: str, part: Scope | None = None) -> None:
    audit.record(
        session,
        actor,
        AuditAction.DETERMINATION_EXPORTED,
        "determination",
        d.id,
        after={
            "tahun": d.tahun,
            "revisi": d.revisi,
            "format": fmt,
            "hash": d.content_hash,
            "wilayah": list(part.regions) if part is not None else [d.region_kode],
        },
    )


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Determination)) or 0
