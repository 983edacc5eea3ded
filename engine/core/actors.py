"""Who acts: a person (with roles in regions), another agency's system through its API token, or a
named job of the system.

A system actor is explicit (`Actor.system("penjadwal")`, `is_system`), never "no user": use cases
that only a person may perform say so with `require_person`. An agency token is neither a person
nor the system: it holds no role, and only `Scope.exchanging` gives it anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.errors import Forbidden
from models import AgencyToken, Role, RoleAssignment, User


@dataclass(frozen=True)
class Actor:
    name: str
    user: User | None = None
    token: AgencyToken | None = None
    address: str = ""  # where a person's request came from (the client's, behind a trusted proxy)

    @classmethod
    def of(cls, user: User, address: str = "") -> Actor:
        return cls(user.username, user, address=address)

    @classmethod
    def of_token(cls, token: AgencyToken) -> Actor:
        """An agency's system, named in the audit trail by its token's public prefix."""
        return cls(f"token:{token.prefix}", token=token)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(f"sistem:{job}")

    @property
    def is_system(self) -> bool:
        return self.user is None and self.token is None

    @property
    def active(self) -> bool:
        return self.user is not None and self.user.aktif

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def roles(self) -> list[RoleAssignment]:
        return list(self.user.roles) if self.user is not None else []

    def has_role(self, role: Role) -> bool:
        return any(a.role == role for a in self.roles)

    def require_person(self, why: str) -> User:
        """The acting person; a system actor is refused with `why`."""
        if self.user is None:
            raise Forbidden(why)
        return self.user
