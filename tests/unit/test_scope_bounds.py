"""Where a scope stops: a person without roles, a desa's own work, the province's reconciliation."""

from __future__ import annotations

from engine.core.actors import Actor
from engine.people.scope import Scope
from models import Role, RoleAssignment, Tier, User


def person(*roles: tuple[Role, str, Tier]) -> Actor:
    user = User(username="orang", aktif=True)
    user.roles = [RoleAssignment(role=r, region_kode=code, tingkat=t) for r, code, t in roles]
    return Actor.of(user)


REGENCY_ADMIN = person((Role.ADMIN, "65.01", Tier.KABUPATEN))
PROVINCE_ADMIN = person((Role.ADMIN, "65", Tier.PROVINSI))
KEC_VERIFIER = person((Role.VERIFIER, "65.01.01", Tier.KECAMATAN))


def test_a_person_without_roles_is_managed_by_the_province_alone():
    # Nobody's region holds a person who holds no role: a regency admin must not take them over.
    assert Scope.administering(REGENCY_ADMIN).manages([]) is False
    assert Scope.administering(PROVINCE_ADMIN).manages([]) is True
    assert Scope.administering(REGENCY_ADMIN).manages(["65.01.01.2005", "65.01.02"]) is True
    assert Scope.administering(REGENCY_ADMIN).manages(["65.01.01.2005", "65.02"]) is False


def test_a_kecamatan_verifier_does_not_act_as_one_of_its_desa():
    # The kecamatan's verifier reads its desa, but entering a desa's data is the desa's operator's work.
    scope = Scope.working(KEC_VERIFIER)
    assert scope.contains("65.01.01.2005", Tier.DESA) is False
    assert scope.contains("65.01.01", Tier.KECAMATAN) is True
    assert scope.contains("65.01.01.2005") is True  # within its region, at whatever tier


def test_only_a_province_role_opens_the_years_reconciliation():
    regency_walidata = Scope.reconciling(person((Role.WALIDATA, "65.01", Tier.KABUPATEN)))
    assert regency_walidata.empty and not regency_walidata.contains("65.01")
    province_walidata = Scope.reconciling(person((Role.WALIDATA, "65", Tier.PROVINSI)))
    assert province_walidata.regions == ["65"] and province_walidata.whole_province
