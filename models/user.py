"""People who use the product and the roles they hold in a region."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .region import Region, Tier


class Role(enum.StrEnum):
    OPERATOR = "operator"  # desa
    VERIFIER = "verifier"  # kecamatan or kabupaten/kota
    VALIDATOR = "validator"  # provinsi
    ADMIN = "admin"
    AUDITOR = "auditor"
    # Roles of the annual reconciliation, acting in lanes named `tier:role` (`provinsi:forum_sdi`).
    WALIDATA = "walidata"  # the Satu Data steward of a kabupaten/kota or the province
    FORUM_SDI = "forum_sdi"  # the province's Forum Satu Data Indonesia
    KEPALA_DINAS = "kepala_dinas"  # the head of the provincial Dinas Sosial, who signs the determination


# The tiers at which each role may be bound; admin and auditor may sit anywhere.
ROLE_TIERS: dict[Role, set[Tier]] = {
    Role.OPERATOR: {Tier.DESA},
    Role.VERIFIER: {Tier.KECAMATAN, Tier.KABUPATEN},
    Role.VALIDATOR: {Tier.PROVINSI},
    Role.ADMIN: set(Tier),
    Role.AUDITOR: set(Tier),
    Role.WALIDATA: {Tier.KABUPATEN, Tier.PROVINSI},
    Role.FORUM_SDI: {Tier.PROVINSI},
    Role.KEPALA_DINAS: {Tier.PROVINSI},
}

# Roles a process lane may name after its tier; a task in such a lane is worked by that role only.
LANE_ROLES = {Role.WALIDATA, Role.FORUM_SDI, Role.KEPALA_DINAS}
WORK_ROLES = {Role.OPERATOR, Role.VERIFIER, Role.VALIDATOR}
# Everyone who works tasks in an inbox: the tiers' working roles and the lane roles.
TASK_ROLES = WORK_ROLES | LANE_ROLES
# The working role that acts at each verification tier.
WORK_ROLE_OF_TIER: dict[Tier, Role] = {
    Tier.DESA: Role.OPERATOR,
    Tier.KECAMATAN: Role.VERIFIER,
    Tier.KABUPATEN: Role.VERIFIER,
    Tier.PROVINSI: Role.VALIDATOR,
}


def parse_lane(name: str | None) -> tuple[Tier, Role | None]:
    """A lane's tier and role: `kabupaten` is the tier's working role, `provinsi:forum_sdi` a named
    role at a tier. Raises `ValueError` naming what is wrong."""
    tier_name, _, role_name = (name or "").partition(":")
    try:
        tier = Tier(tier_name)
    except ValueError:
        raise ValueError(f"{tier_name!r} bukan tingkat") from None
    if not role_name:
        return tier, None
    try:
        role = Role(role_name)
    except ValueError:
        raise ValueError(f"{role_name!r} bukan peran") from None
    if role not in LANE_ROLES:
        raise ValueError(f"peran {role.value} tidak dapat menjadi lane")
    if tier not in ROLE_TIERS[role]:
        raise ValueError(f"peran {role.value} tidak ada di tingkat {tier.value}")
    return tier, role


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    nama: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    aktif: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session cookie; raising it ends every session of the person at once (sign-out,
    # new password, deactivation, change of roles), copies of the cookie included.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The password was chosen by an administrator (a new account, a reset): the person changes it first.
    ganti_sandi: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleAssignment(Base):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role", "region_kode", name="uq_role_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=12))
    region_kode: Mapped[str] = mapped_column(ForeignKey("region.kode"))
    tingkat: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=10))

    user: Mapped[User] = relationship(back_populates="roles")
    # The region's name comes with the role wherever roles are read (one join on the key): the page
    # header names the person's regions on every page without a read of its own.
    region: Mapped[Region] = relationship(viewonly=True, lazy="joined")


class LoginAttempt(Base):
    """One failed sign-in; recent failures per username or address slow the next attempt down."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
