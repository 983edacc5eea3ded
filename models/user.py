"""People who use the product and the roles they hold in a region."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .region import Tier


class Role(enum.StrEnum):
    OPERATOR = "operator"  # desa
    VERIFIER = "verifier"  # kecamatan or kabupaten/kota
    VALIDATOR = "validator"  # provinsi
    ADMIN = "admin"
    AUDITOR = "auditor"


# The tiers at which each role may be bound; admin and auditor may sit anywhere.
ROLE_TIERS: dict[Role, set[Tier]] = {
    Role.OPERATOR: {Tier.DESA},
    Role.VERIFIER: {Tier.KECAMATAN, Tier.KABUPATEN},
    Role.VALIDATOR: {Tier.PROVINSI},
    Role.ADMIN: set(Tier),
    Role.AUDITOR: set(Tier),
}

WORK_ROLES = {Role.OPERATOR, Role.VERIFIER, Role.VALIDATOR}


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    nama: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    aktif: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

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
