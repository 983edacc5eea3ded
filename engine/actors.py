"""Who acts: a person (with roles in regions) or a named job of the system."""

from __future__ import annotations

from dataclasses import dataclass

from models import Role, Tier, User, contains


@dataclass(frozen=True)
class Actor:
    name: str
    user: User | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.username, user)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(f"sistem:{job}")

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    def has_role(self, role: Role) -> bool:
        return self.user is not None and any(a.role == role for a in self.user.roles)

    def can_work(self, tier: Tier, region_kode: str) -> bool:
        """True when the person holds a working role at `tier` for the region containing the task."""
        if self.user is None or not self.user.aktif:
            return False
        return any(a.tingkat == tier and a.role in (Role.OPERATOR, Role.VERIFIER, Role.VALIDATOR)
                   and contains(a.region_kode, region_kode) for a in self.user.roles)
