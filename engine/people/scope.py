"""What an actor may see and do, as one object every use case checks itself.

A `Scope` is built from the actor for one purpose:
- working: the tiers and regions where the person holds a working role (operator, verifier,
  validator) or a lane role (walidata, Forum SDI, kepala dinas); a task belongs to the scope when its
  tier, its region and its lane's role all match (a task of a plain tier lane is the working roles');
- overseeing: the regions whose figures and progress the person follows (verifiers and validators
  at kabupaten/kota or province tier, admins, auditors);
- following: the regions whose update cycle the person follows (the overseers, and the kecamatan
  verifiers for their own desa);
- reviewing: the regions whose aggregate flags the person explains, acknowledges or closes
  (verifiers, validators and walidata at kabupaten/kota or province tier, the Forum SDI);
- reconciling: the province where a person opens the year's reconciliation (walidata, validator or
  admin at province tier);
- reading minutes: the regions whose desa's minutes of deliberation the person reads (the
  operator, the verifiers and validators above, auditors);
- auditing: the regions an auditor reads;
- administering: the regions an admin manages;
- exchanging: the region of another agency's API token, for one resource it holds (and, for a
  write, only when the token may write). A person gets nothing here: browser sessions never open
  the API.

Region codes are compared on the `.` boundary (`65.01` contains `65.01.01`, not `65.010`). A system
actor (a scheduled job, the command line without `--user`) is explicit and covers everything; a
person with no role of the purpose's kind covers nothing. Outside the scope, a thing does not exist
for the actor (`NotFound`, the same answer in the web and on the command line).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from engine.core.actors import Actor
from engine.core.errors import Forbidden, Invalid, NotFound, Problem
from models import LANE_ROLES, TASK_ROLES, ApiResource, Role, Tier, contains


class Purpose(enum.StrEnum):
    WORKING = "bekerja"
    OVERSEEING = "mengawasi"
    FOLLOWING = "mengikuti"
    REVIEWING = "menelaah"
    AUDITING = "mengaudit"
    ADMINISTERING = "mengelola"
    EXCHANGING = "bertukar"
    RECONCILING = "merekonsiliasi"
    READING_MINUTES = "membaca berita acara"


OVERSEERS = {Role.VERIFIER, Role.VALIDATOR, Role.ADMIN, Role.AUDITOR, *LANE_ROLES}
REVIEWERS = {Role.VERIFIER, Role.VALIDATOR, Role.WALIDATA, Role.FORUM_SDI}
OVERSEEING_TIERS = {Tier.PROVINSI, Tier.KABUPATEN}
_REFUSAL = {
    Purpose.WORKING: "Halaman ini untuk operator, verifikator, validator, walidata, Forum SDI dan kepala dinas",
    Purpose.OVERSEEING: "Halaman ini untuk kabupaten/kota dan provinsi: verifikator, validator, walidata, Forum SDI, "
    "kepala dinas, admin dan auditor",
    Purpose.FOLLOWING: "Status siklus ini untuk verifikator kecamatan ke atas, walidata, admin dan auditor",
    Purpose.REVIEWING: "Tanda angka agregat ditindaklanjuti oleh verifikator dan walidata kabupaten/kota dan provinsi",
    Purpose.AUDITING: "Halaman ini untuk auditor",
    Purpose.ADMINISTERING: "Halaman ini untuk admin",
    Purpose.EXCHANGING: "Token ini tidak membuka sumber daya ini (atau tidak boleh menulis)",
    Purpose.RECONCILING: "Rekonsiliasi tahunan dibuka oleh walidata atau validator provinsi, atau admin",
    Purpose.READING_MINUTES: "Berita acara dibaca oleh operator desanya, verifikator dan validator di atasnya, "
    "dan auditor",
}
RECONCILERS = {Role.WALIDATA, Role.VALIDATOR, Role.ADMIN}
# The minutes name the people of a village deliberation: read by those who check the desa's
# submission or audit it, not by those whose work is the compiled figures (walidata, the Forum SDI,
# the head of the dinas) nor by administrators.
MINUTES_READERS = {Role.OPERATOR, Role.VERIFIER, Role.VALIDATOR, Role.AUDITOR}


@dataclass(frozen=True)
class Grant:
    """One region the scope covers; `tier` set when only tasks of that tier count (working), and
    `peran` when only tasks of a lane naming that role count (none: the tier's plain lane)."""

    region_kode: str
    tier: Tier | None = None
    peran: Role | None = None


@dataclass(frozen=True)
class Scope:
    actor: Actor
    purpose: Purpose
    grants: tuple[Grant, ...]
    everything: bool = False

    @classmethod
    def working(cls, actor: Actor) -> Scope:
        return cls._build(actor, Purpose.WORKING, lambda a: a.role in TASK_ROLES, with_tier=True)

    @classmethod
    def overseeing(cls, actor: Actor) -> Scope:
        return cls._build(actor, Purpose.OVERSEEING, lambda a: a.role in OVERSEERS and a.tingkat in OVERSEEING_TIERS)

    @classmethod
    def following(cls, actor: Actor) -> Scope:
        return cls._build(
            actor,
            Purpose.FOLLOWING,
            lambda a: (
                (a.role in OVERSEERS and a.tingkat in OVERSEEING_TIERS)
                or (a.role in (Role.VERIFIER, Role.VALIDATOR) and a.tingkat == Tier.KECAMATAN)
            ),
        )

    @classmethod
    def reviewing(cls, actor: Actor) -> Scope:
        return cls._build(
            actor,
            Purpose.REVIEWING,
            lambda a: a.role in REVIEWERS and a.tingkat in OVERSEEING_TIERS,
            with_tier=True,
        )

    @classmethod
    def reconciling(cls, actor: Actor) -> Scope:
        """Who opens a year's reconciliation: the province's walidata or validator, or an admin there."""
        return cls._build(actor, Purpose.RECONCILING, lambda a: a.role in RECONCILERS and a.tingkat == Tier.PROVINSI)

    @classmethod
    def reading_minutes(cls, actor: Actor) -> Scope:
        """Whose work or audit covers a desa's minutes of deliberation (`MINUTES_READERS`)."""
        return cls._build(actor, Purpose.READING_MINUTES, lambda a: a.role in MINUTES_READERS)

    @classmethod
    def auditing(cls, actor: Actor) -> Scope:
        return cls._build(actor, Purpose.AUDITING, lambda a: a.role == Role.AUDITOR)

    @classmethod
    def administering(cls, actor: Actor) -> Scope:
        return cls._build(actor, Purpose.ADMINISTERING, lambda a: a.role == Role.ADMIN)

    @classmethod
    def exchanging(cls, actor: Actor, resource: ApiResource, write: bool = False) -> Scope:
        if actor.is_system:
            return cls(actor, Purpose.EXCHANGING, (), everything=True)
        token = actor.token
        if token is None or resource.value not in token.resources or (write and not token.can_write):
            return cls(actor, Purpose.EXCHANGING, ())
        return cls(actor, Purpose.EXCHANGING, (Grant(token.region_kode),))

    @classmethod
    def _build(cls, actor: Actor, purpose: Purpose, fits: Any, with_tier: bool = False) -> Scope:
        if actor.is_system:
            return cls(actor, purpose, (), everything=True)
        if not actor.active:
            return cls(actor, purpose, ())
        grants = tuple(
            dict.fromkeys(
                Grant(
                    a.region_kode,
                    a.tingkat if with_tier else None,
                    a.role if with_tier and a.role in LANE_ROLES else None,
                )
                for a in actor.roles
                if fits(a)
            )
        )
        return cls(actor, purpose, grants)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.grants

    @property
    def regions(self) -> list[str]:
        return [g.region_kode for g in self.grants]

    def require_any(self) -> Scope:
        """Refuse (403) a person who holds no role of this purpose at all."""
        if self.empty:
            raise Forbidden(_REFUSAL[self.purpose])
        return self

    @property
    def whole_province(self) -> bool:
        """A role of this purpose at the province itself (a code without a dot), or the system."""
        return self.everything or any("." not in g.region_kode for g in self.grants)

    def manages(self, codes: list[str]) -> bool:
        """Every one of `codes` (a person's roles) lies in the scope; a person without roles is the
        province's alone."""
        return self.whole_province or (bool(codes) and all(self.contains(code) for code in codes))

    def require_province(self) -> Scope:
        """Refuse (403) what applies to the whole province (the process, the cycles, retention) to a
        person whose roles of this purpose cover only a part of it."""
        if not self.whole_province:
            raise Forbidden("Hanya admin provinsi yang dapat melakukan ini: berlakunya untuk seluruh provinsi")
        return self

    def contains(self, code: str, tier: Tier | None = None) -> bool:
        """True when `code` lies in a region of the scope (and, for working, at that tier)."""
        if self.everything:
            return True
        return any(
            contains(g.region_kode, code) and (g.tier is None or tier is None or g.tier == tier) for g in self.grants
        )

    def covers_tier(self, tier: Tier, code: str, peran: str | None = None) -> bool:
        """Working: the person holds a working role at exactly this tier (the lane's role when it
        names one), in a region containing `code`."""
        return self.everything or any(
            g.tier == tier and g.peran == (Role(peran) if peran else None) and contains(g.region_kode, code)
            for g in self.grants
        )

    def tier_at(self, code: str) -> Tier | None:
        """The tier of the narrowest grant containing `code` (the tier a person acts at there)."""
        fitting = [g for g in self.grants if g.tier is not None and contains(g.region_kode, code)]
        return max(fitting, key=lambda g: g.region_kode.count(".")).tier if fitting else None

    def require_field(self, code: str, column: str) -> None:
        """Refuse (`Invalid`, on the form's field) a region the person chose outside the scope: a
        choice to correct, not a page that is not there."""
        if code and not self.contains(code):
            raise Invalid(
                f"Wilayah {code} di luar wilayah yang Anda kelola",
                [Problem("pilih wilayah di dalam wilayah peran admin Anda", column=column)],
            )

    def require(self, code: str, what: str, tier: Tier | None = None) -> None:
        """Refuse with `NotFound` ("... tidak ada") when `code` lies outside the scope."""
        if not self.contains(code, tier):
            raise NotFound(f"{what} tidak ada di wilayah Anda")

    def where(self, region_column: Any) -> ColumnElement[bool]:
        """SQL: the column's region code lies in the scope (on the `.` boundary)."""
        if self.everything:
            return true()
        if not self.grants:
            return false()
        return or_(
            *[or_(region_column == g.region_kode, region_column.like(f"{g.region_kode}.%")) for g in self.grants]
        )

    def where_tasks(self, tier_column: Any, region_column: Any, role_column: Any) -> ColumnElement[bool]:
        """SQL for the inbox table: a task at tier T is stored with the code of its region at tier T,
        so equality on both columns is exact, and reads the inbox index in order; a lane role's task
        is its role's alone, a plain lane's task the working roles'."""
        if self.everything:
            return true()
        clauses = [
            and_(
                tier_column == g.tier,
                region_column == g.region_kode,
                role_column == g.peran.value if g.peran else role_column.is_(None),
            )
            for g in self.grants
            if g.tier
        ]
        return or_(*clauses) if clauses else false()
