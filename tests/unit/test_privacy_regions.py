"""Who is told what, by region: a full NIK, where else an entry is registered, and a sensitive
category's count in a desa are for those whose region covers the people concerned, never beyond."""

from __future__ import annotations

from engine.core.actors import Actor
from engine.people.privacy import sees_full_nik, sees_other_place, sees_sensitive_count, told_of_elsewhere
from models import Role, RoleAssignment, Tier, User

DESA = "65.01.01.2005"  # Gunung Putih, Kecamatan Tanjung Palas
NEIGHBOUR = "65.01.01.2006"  # Pejalin, the same kecamatan
OTHER_KECAMATAN_DESA = "65.01.02.2001"  # Long Beluah, Kecamatan Tanjung Palas Barat
OTHER_KABUPATEN_DESA = "65.02.03.2001"  # in Kabupaten Malinau


def person(*roles: tuple[Role, str, Tier]) -> Actor:
    user = User(username="orang", aktif=True)
    user.roles = [RoleAssignment(role=r, region_kode=code, tingkat=t) for r, code, t in roles]
    return Actor.of(user)


OPERATOR = person((Role.OPERATOR, DESA, Tier.DESA))
KEC_VERIFIER = person((Role.VERIFIER, "65.01.01", Tier.KECAMATAN))
KAB_VERIFIER = person((Role.VERIFIER, "65.01", Tier.KABUPATEN))


def test_an_operator_sees_the_full_nik_of_their_own_desa_only():
    # the operator checks their own people against documents; another desa's people are not theirs
    assert sees_full_nik(OPERATOR, DESA)
    assert not sees_full_nik(OPERATOR, NEIGHBOUR)
    assert not sees_full_nik(OPERATOR, OTHER_KECAMATAN_DESA)


def test_a_kecamatan_verifier_sees_full_niks_within_the_kecamatan_only():
    assert sees_full_nik(KEC_VERIFIER, DESA)
    assert not sees_full_nik(KEC_VERIFIER, OTHER_KECAMATAN_DESA)


def test_a_verifier_is_told_the_other_place_only_when_their_region_covers_it():
    # the same NIK in a neighbouring desa of their kecamatan: both places are theirs to weigh
    assert sees_other_place(KEC_VERIFIER, DESA, NEIGHBOUR)
    # in another regency: naming it would tell a kecamatan verifier who is registered (and as what)
    # far outside the region they answer for
    assert not sees_other_place(KEC_VERIFIER, DESA, OTHER_KABUPATEN_DESA)
    assert not sees_other_place(KEC_VERIFIER, DESA, OTHER_KECAMATAN_DESA)
    # the regency's verifier covers both desa of two of its kecamatan
    assert sees_other_place(KAB_VERIFIER, DESA, OTHER_KECAMATAN_DESA)
    assert not sees_other_place(KAB_VERIFIER, DESA, OTHER_KABUPATEN_DESA)


def test_an_operator_is_never_told_the_other_place():
    assert not sees_other_place(OPERATOR, DESA, DESA)


def test_an_operator_is_not_told_that_an_entry_is_registered_elsewhere():
    # otherwise an import would tell them, row by row, which NIKs they typed are on someone's register
    assert not told_of_elsewhere(OPERATOR)
    assert told_of_elsewhere(KEC_VERIFIER)
    assert told_of_elsewhere(person((Role.AUDITOR, "65", Tier.PROVINSI)))
    assert told_of_elsewhere(Actor.system("uji"))


def test_an_operator_with_several_desa_is_still_not_told_of_elsewhere():
    assert not told_of_elsewhere(person((Role.OPERATOR, DESA, Tier.DESA), (Role.OPERATOR, NEIGHBOUR, Tier.DESA)))


def test_a_verifier_reads_a_sensitive_count_of_their_own_region_only():
    # a count of people with HIV in one desa can point at the people themselves: it is for those who
    # see their records, and a kecamatan verifier does not see another kecamatan's records
    assert sees_sensitive_count(KEC_VERIFIER, DESA, "ODHA")
    assert sees_sensitive_count(KEC_VERIFIER, "65.01.01", "ODHA")
    assert not sees_sensitive_count(KEC_VERIFIER, OTHER_KECAMATAN_DESA, "ODHA")
    assert not sees_sensitive_count(KEC_VERIFIER, "65.01.02", "ODHA")


def test_a_sensitive_count_from_the_regency_up_and_other_counts_anywhere_are_published():
    assert sees_sensitive_count(KEC_VERIFIER, "65.02", "ODHA")
    assert sees_sensitive_count(KEC_VERIFIER, OTHER_KECAMATAN_DESA, "LUT")
    assert sees_sensitive_count(OPERATOR, OTHER_KECAMATAN_DESA, "LUT")


def test_an_operator_does_not_read_a_sensitive_count_even_of_their_own_desa():
    assert not sees_sensitive_count(OPERATOR, DESA, "ODHA")
