"""The one access Scope: built from the actor for a purpose, compared on the `.` boundary."""

from __future__ import annotations

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.dialects import sqlite

from engine.core.actors import Actor
from engine.core.errors import Forbidden, NotFound
from engine.people.scope import Scope
from models import HumanTask, Role, RoleAssignment, Tier, User, parse_lane


def person(*roles: tuple[Role, str, Tier], aktif: bool = True) -> Actor:
    user = User(username="orang", aktif=aktif)
    user.roles = [RoleAssignment(role=r, region_kode=code, tingkat=t) for r, code, t in roles]
    return Actor.of(user)


KEC_VERIFIER = person((Role.VERIFIER, "65.01.01", Tier.KECAMATAN))


def test_working_covers_the_tier_and_region_of_the_role_only():
    scope = Scope.working(KEC_VERIFIER)
    assert scope.covers_tier(Tier.KECAMATAN, "65.01.01")
    assert not scope.covers_tier(Tier.KABUPATEN, "65.01")  # the tier above is not theirs
    assert not scope.covers_tier(Tier.KECAMATAN, "65.01.02")  # nor the neighbouring kecamatan


@pytest.mark.parametrize(
    "code, inside",
    [
        ("65.01.01", True),
        ("65.01.01.2005", True),
        ("65.01.010", False),
        ("65.01.011.2001", False),
        ("65.01", False),
        ("65.01.02.2001", False),
    ],
)
def test_regions_are_compared_on_the_dot_boundary(code, inside):
    assert Scope.working(KEC_VERIFIER).contains(code) is inside


def test_a_system_actor_is_explicit_and_covers_everything():
    scope = Scope.auditing(Actor.system("cli"))
    assert scope.everything and scope.contains("11.01") and not scope.empty


def test_someone_without_a_role_of_the_purpose_is_refused_and_sees_nothing():
    scope = Scope.auditing(KEC_VERIFIER)
    assert scope.empty and not scope.contains("65.01.01")
    with pytest.raises(Forbidden, match="auditor"):
        scope.require_any()


def test_an_inactive_person_covers_nothing():
    assert Scope.working(person((Role.OPERATOR, "65.01.01.2005", Tier.DESA), aktif=False)).empty


def test_outside_the_scope_a_thing_does_not_exist():
    with pytest.raises(NotFound, match="tidak ada"):
        Scope.working(KEC_VERIFIER).require("65.02.01", "Tugas 7")


def test_overseeing_is_for_kabupaten_and_province_tiers():
    assert Scope.overseeing(KEC_VERIFIER).empty
    regency = Scope.overseeing(person((Role.VERIFIER, "65.01", Tier.KABUPATEN)))
    assert regency.regions == ["65.01"] and regency.contains("65.01.01.2005")


def _sql(clause) -> str:
    t = table("t", column("region_kode"), column("tingkat"))
    return str(select(t).where(clause(t)).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_the_scope_as_sql_keeps_the_dot_boundary():
    sql = _sql(lambda t: Scope.working(KEC_VERIFIER).where(t.c.region_kode))
    assert "t.region_kode = '65.01.01'" in sql and "LIKE '65.01.01.%'" in sql


def _task_sql(scope: Scope) -> str:
    query = select(HumanTask.id).where(scope.where_tasks(HumanTask.tingkat, HumanTask.region_kode, HumanTask.peran))
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_the_inbox_scope_matches_tier_and_region_exactly():
    sql = _task_sql(Scope.working(KEC_VERIFIER))
    assert "human_task.tingkat = 'KECAMATAN'" in sql
    assert "human_task.region_kode = '65.01.01'" in sql and "LIKE" not in sql
    assert "0 = 1" in _task_sql(Scope.working(person()))
    assert "human_task.peran IS NULL" in _task_sql(Scope.working(KEC_VERIFIER))


def test_a_lane_role_works_only_the_tasks_of_its_lane():
    forum = person((Role.FORUM_SDI, "65", Tier.PROVINSI))
    sql = _task_sql(Scope.working(forum))
    assert "human_task.tingkat = 'PROVINSI'" in sql and "human_task.peran = 'forum_sdi'" in sql
    scope = Scope.working(forum)
    assert scope.covers_tier(Tier.PROVINSI, "65", "forum_sdi")
    assert not scope.covers_tier(Tier.PROVINSI, "65")  # the province's validation is the validator's
    assert not scope.covers_tier(Tier.PROVINSI, "65", "kepala_dinas")
    validator = Scope.working(person((Role.VALIDATOR, "65", Tier.PROVINSI)))
    assert validator.covers_tier(Tier.PROVINSI, "65") and not validator.covers_tier(Tier.PROVINSI, "65", "forum_sdi")


def test_lanes_parse_to_a_tier_and_an_optional_role():
    assert parse_lane("kabupaten") == (Tier.KABUPATEN, None)
    assert parse_lane("provinsi:kepala_dinas") == (Tier.PROVINSI, Role.KEPALA_DINAS)
    assert parse_lane("kabupaten:walidata") == (Tier.KABUPATEN, Role.WALIDATA)
    for bad in ("kabupaten:forum_sdi", "provinsi:operator", "desa:walidata", "pusat", ""):
        with pytest.raises(ValueError):
            parse_lane(bad)


@pytest.mark.parametrize(
    "role, code, tier, reads",
    [
        (Role.OPERATOR, "65.01.01.2005", Tier.DESA, True),
        (Role.OPERATOR, "65.01.01.2006", Tier.DESA, False),  # the neighbouring desa's operator
        (Role.VERIFIER, "65.01.01", Tier.KECAMATAN, True),
        (Role.VALIDATOR, "65", Tier.PROVINSI, True),
        (Role.AUDITOR, "65.01", Tier.KABUPATEN, True),
        (Role.AUDITOR, "65.02", Tier.KABUPATEN, False),
        (Role.WALIDATA, "65", Tier.PROVINSI, False),  # the compiled figures' people, not the deliberation's
        (Role.ADMIN, "65", Tier.PROVINSI, False),
    ],
)
def test_a_desas_minutes_are_read_by_those_whose_work_or_audit_covers_it(role, code, tier, reads):
    assert Scope.reading_minutes(person((role, code, tier))).contains("65.01.01.2005") is reads


def test_neither_minutes_nor_many_approvals_are_open_to_an_inactive_person():
    from engine.verification.bulk_approval import may_approve_many

    verifier = (Role.VERIFIER, "65.01", Tier.KABUPATEN)
    assert may_approve_many(person(verifier))
    assert not may_approve_many(person(verifier, aktif=False))
    assert not may_approve_many(person((Role.WALIDATA, "65.01", Tier.KABUPATEN)))  # a lane's role judges alone
    assert not may_approve_many(KEC_VERIFIER)  # the kecamatan judges each item itself
    operator = (Role.OPERATOR, "65.01.01.2005", Tier.DESA)
    assert not Scope.reading_minutes(person(operator, aktif=False)).contains("65.01.01.2005")
