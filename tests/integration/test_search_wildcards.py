"""What a person types into a search box is matched as written: `%` and `_` are characters of a
name or a code there, not LIKE's wildcards that found everyone."""

from __future__ import annotations

import pytest

from engine.core.actors import Actor
from engine.people import administration, users
from engine.verification import register_view, trail
from tests.factories import DESA, SYSTEM, open_period, register_record

NAMES = ("Maria 100% Ingan", "Nur_Aini Lestari", "Budi Santoso")


def _actor(session, username: str) -> Actor:
    return Actor.of(users.find_user(session, username))


@pytest.fixture
def register(db, people):
    """Three people on Gunung Putih's register, one name with `%`, one with `_`."""
    with db.transaction() as s:
        for serial, nama in enumerate(NAMES, start=1):
            s.add(register_record(serial, nama=nama))
    return db


@pytest.mark.parametrize("typed, found", [("%", ["Maria 100% Ingan"]), ("_", ["Nur_Aini Lestari"])])
def test_the_audit_trail_finds_only_names_holding_what_was_typed(register, typed, found):
    with register.read() as s:
        search = trail.search_records(s, _actor(s, "auditor.prov"), nama=typed)
    assert [f.record.nama for f in search.found] == found and search.total == 1


@pytest.mark.parametrize("typed, found", [("%", 1), ("_", 1), ("0%", 1), ("65%", 0), ("6_", 0)])
def test_the_register_search_finds_only_records_holding_what_was_typed(register, typed, found):
    sid = open_period(register, "2027-Q1", [])  # the register carried into the period
    with register.read() as s:
        every = register_view.register_page(s, _actor(s, "op.desa"), sid, status_filter="semua")
        page = register_view.register_page(s, _actor(s, "op.desa"), sid, status_filter="semua", query=typed)
    assert every.total == len(NAMES)
    assert page.total == found  # a NIK or a card begins with the digits typed, not with a wildcard


def test_an_administrator_finds_only_the_people_whose_name_holds_what_was_typed(db, people):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "siti_rahma", "operator", DESA, nama="Siti Rahma")
        users.add_user(s, SYSTEM, "andi.k", "operator", DESA, nama="Andi 100% Kurniawan")
    with db.read() as s:
        admin = _actor(s, "admin.prov")
        underscored = administration.list_users(s, admin, "_")
        percent = administration.list_users(s, admin, "%")
        coded = administration.list_users(s, admin, "6_")  # a region code begins with what is typed
    assert [u.username for u in underscored.users] == ["siti_rahma"]
    assert [u.username for u in percent.users] == ["andi.k"]
    assert coded.total == 0


@pytest.mark.parametrize("typed", ["6_", "6%", "__", "%%"])
def test_a_region_search_finds_no_region_for_wildcards_alone(db, typed):
    with db.read() as s:
        assert administration.search_regions(s, SYSTEM, typed, "65") == []
    with db.read() as s:  # what is written still finds
        assert administration.search_regions(s, SYSTEM, "65.01.01.20", "65")
        assert administration.search_regions(s, SYSTEM, "Gunung", "65")
