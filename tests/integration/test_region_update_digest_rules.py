"""What a region update's confirmation is bound to and what a decree may carry: a preview's digest
goes stale when the register, the roles or the tokens it would carry change; a desa split from one
that carries on, many desa merged into one, a name at its longest, a new kecamatan listed after its
desa; the rows a preview carries to its confirmation; at most 200 problems named, and no knock-on
ones from a mistyped code; a closed cycle takes no new desa; the order a plan lists the roles in;
and the history read a page at a time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.errors import Conflict, Invalid
from engine.people import tokens, users
from engine.verification import region_history, region_updates
from models import (
    AgencyToken,
    AuditEvent,
    Cycle,
    Record,
    Region,
    RegionChange,
    RoleAssignment,
    Submission,
)
from tests.factories import SYSTEM, register_record
from tests.regions import SEED, listing, regions_restored  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("regions_restored")  # every test changes the seeded regions
MERGED, HEIR = "65.01.01.2006", "65.01.01.2005"  # Pejalin joins Gunung Putih
BASIS = ("Kepmendagri No. 100.1.1-9999 Tahun 2026", date(2026, 11, 1))
TODAY = date(2026, 12, 3)


def _apply(db, rows, digest=None):
    with db.transaction() as s:
        return region_updates.apply_update(s, SYSTEM, rows, "65", BASIS, TODAY, digest)


def _plan(db, rows):
    with db.read() as s:
        return region_updates.plan_update(s, SYSTEM, rows, "65")


def _desa_of(prefix: str) -> list[str]:
    return [k for k, _ in SEED if k.startswith(prefix + ".") and k.count(".") == 3]


def _changes(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(RegionChange))


# --- what a preview's digest is bound to -------------------------------------------------------------


def _a_record_joins_the_ended_register(db) -> None:
    with db.transaction() as s:
        s.add(register_record(2, kode_desa=MERGED))


def _a_role_is_given_at_the_ended_desa(db) -> None:
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.pejalin2", "operator", MERGED)


def _a_token_is_bound_to_the_ended_desa(db) -> None:
    with db.transaction() as s:
        tokens.create_token(s, SYSTEM, tokens.TokenRequest("Aplikasi Desa Pejalin", MERGED, ("agregat",)))


SINCE_PREVIEW = {
    "a record on the ended desa's register": _a_record_joins_the_ended_register,
    "a role held at the ended desa": _a_role_is_given_at_the_ended_desa,
    "a token bound to the ended desa": _a_token_is_bound_to_the_ended_desa,
}


@pytest.mark.parametrize("case", sorted(SINCE_PREVIEW))
def test_a_preview_goes_stale_when_what_the_merge_would_carry_changes_before_the_confirmation(db, case):
    """The administrator confirmed what the preview showed: a record, a role or a token added at the
    ending desa since then would move unseen, so the confirmation is refused and nothing is written."""
    with db.transaction() as s:
        s.add(register_record(1, kode_desa=MERGED))
    rows = listing(drop={MERGED}, lama={HEIR: MERGED})
    shown = _plan(db, rows).digest
    SINCE_PREVIEW[case](db)
    assert _plan(db, rows).digest != shown
    with pytest.raises(Conflict, match="berubah sejak pratinjau"):
        _apply(db, rows, digest=shown)
    with db.read() as s:
        assert s.get(Region, MERGED).berakhir is None
        assert set(s.scalars(select(Record.kode_desa))) == {MERGED}
    assert _changes(db) == 0


def test_a_preview_confirmed_unchanged_is_applied(db):
    with db.transaction() as s:
        s.add(register_record(1, kode_desa=MERGED))
    rows = listing(drop={MERGED}, lama={HEIR: MERGED})
    plan = _apply(db, rows, digest=_plan(db, rows).digest)
    assert plan.moved_records == {MERGED: 1}
    with db.read() as s:
        assert set(s.scalars(select(Record.kode_desa))) == {HEIR}


# --- what a decree may carry ---------------------------------------------------------------------------


def test_a_name_of_exactly_120_characters_is_taken(db):
    name = "Gunung Putih " + "R" * (120 - len("Gunung Putih "))
    plan = _apply(db, listing(rename={HEIR: name}))
    assert [(c.kode, c.perubahan) for c in plan.changes] == [(HEIR, "ganti_nama")]
    with db.read() as s:
        assert s.get(Region, HEIR).nama == name


def test_two_desa_split_from_one_that_carries_on_are_both_formed_and_note_where_from(db):
    """A split leaves the old desa in place: both new desa name it as `kode_lama`, neither succeeds it,
    so neither is taken for a second heir and its register stays where it is."""
    with db.transaction() as s:
        s.add(register_record(1, kode_desa=MERGED))
    split = [("65.01.01.2098", "Desa Uji Pecahan Satu"), ("65.01.01.2099", "Desa Uji Pecahan Dua")]
    plan = _apply(db, listing(add=split, lama={"65.01.01.2098": MERGED, "65.01.01.2099": MERGED}))
    assert plan.counts == {"baru": 2, "ganti_nama": 0, "berakhir": 0, "berlaku_lagi": 0}
    assert plan.moved_records == {} and plan.roles == []
    with db.read() as s:
        found = s.execute(select(RegionChange.kode, RegionChange.perubahan, RegionChange.terkait)).all()
        assert sorted(found) == [("65.01.01.2098", "baru", MERGED), ("65.01.01.2099", "baru", MERGED)]
        assert s.get(Region, MERGED).berakhir is None
        assert set(s.scalars(select(Record.kode_desa))) == {MERGED}


def test_twenty_one_desa_merged_into_one_are_not_taken_for_a_list_cut_short(db):
    """Only desa ending with nothing to carry on from them count towards a list that looks cut short."""
    desa = _desa_of("65.03.04")
    merged, heir = desa[:21], desa[21]
    plan = _apply(db, listing(drop=set(merged), lama={heir: ";".join(merged)}))
    assert plan.counts["berakhir"] == 21
    with db.read() as s:
        ended = s.execute(select(RegionChange.kode, RegionChange.terkait).where(RegionChange.perubahan == "berakhir"))
        assert dict(ended.all()) == dict.fromkeys(merged, heir)


def test_a_new_kecamatan_listed_after_its_desa_is_written_first(db):
    """The rows of a decree come in any order; a region is written after the region it lies in."""
    rows = listing(add=[("65.01.97.2001", "Desa Uji Di Depan"), ("65.01.97", "Kecamatan Uji Di Belakang")])
    assert _apply(db, rows).counts["baru"] == 2
    with db.read() as s:
        assert s.get(Region, "65.01.97.2001").induk == "65.01.97"
        assert s.get(Region, "65.01.97").induk == "65.01"


def test_a_new_desa_is_not_opened_in_a_cycle_closed_before_its_desa_deadline(db, people):
    """A period closed early takes no new submissions, though its desa deadline is still ahead."""
    ahead = (clock.now() + timedelta(days=30)).isoformat()
    with db.transaction() as s:
        s.add(Cycle(periode="2026-Q3", region_kode="65", status="ditutup", batas={"desa": ahead}))
    new = listing(add=[("65.01.01.2099", "Desa Uji Baru")])
    updated = region_updates.update_regions(db, SYSTEM, new, ("Kepmendagri", date(2026, 10, 1)), None)
    assert updated.plan.counts["baru"] == 1 and updated.opened == {}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 0
        assert s.get(Region, "65.01.01.2099") is not None


# --- the rows and the problems of a list ---------------------------------------------------------------


def test_a_preview_carries_only_the_provinces_rows_to_its_confirmation(db):
    rows = listing(rename={HEIR: "Gunung   Putih\tRaya"}) + [{"kode": "64.01", "nama": "Kabupaten Paser"}]
    carried = region_updates.carried(rows, "65")
    assert "64.01" not in carried and len(carried.splitlines()) == len(SEED)
    back = region_updates.from_carried(carried)
    assert {"kode": HEIR, "nama": "Gunung Putih Raya", "kode_lama": ""} in back
    assert _plan(db, back).counts["ganti_nama"] == 1


def test_a_refusal_names_at_most_200_problems(db):
    rows = listing() + [{"kode": f"65.x{n}", "nama": "Salah", "kode_lama": ""} for n in range(250)]
    with pytest.raises(Invalid) as refused:
        _plan(db, rows)
    assert len(refused.value.problems) == region_updates.MAX_PROBLEMS == 200


def test_a_mistyped_kecamatan_code_is_named_alone_not_with_every_desa_under_it(db):
    """The rows under a mistyped code are not also refused for a missing parent: the administrator
    is told the one mistake to mend."""
    rows = [{**r, "kode": "65.01.1"} if r["kode"] == "65.01.01" else r for r in listing()]
    with pytest.raises(Invalid) as refused:
        _plan(db, rows)
    assert [p.message for p in refused.value.problems] == [
        "kode '65.01.1' bukan kode Kemendagri bertitik, mis. 65.01.01.2005"
    ]


# --- the roles a plan carries, and the history ----------------------------------------------------------


def test_a_plan_lists_the_roles_at_an_ending_code_by_region_then_by_name(db):
    with db.transaction() as s:
        for username, kode in [("zaki.op", MERGED), ("bayu.op", "65.01.01.2009"), ("ani.op", MERGED)]:
            users.add_user(s, SYSTEM, username, "operator", kode)
    plan = _plan(db, listing(drop={MERGED, "65.01.01.2009"}, lama={HEIR: MERGED}))
    assert [(r.kode, r.username, r.penerus) for r in plan.roles] == [
        (MERGED, "ani.op", HEIR),
        (MERGED, "zaki.op", HEIR),
        ("65.01.01.2009", "bayu.op", None),
    ]
    _apply(db, listing(drop={MERGED, "65.01.01.2009"}, lama={HEIR: MERGED}))
    with db.read() as s:
        held = s.execute(select(RoleAssignment.region_kode).where(RoleAssignment.region_kode.like("65.01.01.%")))
        assert sorted(k for (k,) in held) == [HEIR, HEIR]
        assert not s.scalar(select(func.count()).select_from(AgencyToken))


def test_a_role_at_a_desa_ending_without_successor_ends_with_the_decree_as_its_reason(db):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.teras", "operator", "65.01.01.2009")
    _apply(db, listing(drop={"65.01.01.2009"}))
    with db.read() as s:
        assert not s.scalar(
            select(func.count()).select_from(RoleAssignment).where(RoleAssignment.region_kode == "65.01.01.2009")
        )
        removed = s.scalar(select(AuditEvent).where(AuditEvent.action == "ROLE_REMOVED"))
        assert removed.before == {"role": "operator", "region_kode": "65.01.01.2009"} and BASIS[0] in removed.reason


def test_names_at_a_moment_are_read_for_the_regions_asked_only(db):
    moment = clock.now()
    _apply(db, listing(rename={HEIR: "Gunung Putih Raya", MERGED: "Pejalin Raya"}))
    with db.read() as s:
        assert region_history.names_at(s, moment, [HEIR, "65.01"]) == {
            HEIR: "Gunung Putih",
            "65.01": "Kabupaten Bulungan",
        }


def test_the_history_is_read_a_page_at_a_time_newest_first(db):
    for name in ("Gunung Putih Raya", "Gunung Putih Baru", "Gunung Putih Indah"):
        _apply(db, listing(rename={HEIR: name}))
    with db.read() as s:
        page = region_history.history(s, SYSTEM, limit=2)
        assert [c.nama_sesudah for c, _ in page] == ["Gunung Putih Indah", "Gunung Putih Baru"]
        assert len(region_history.history(s, SYSTEM)) == 3


def test_a_former_code_written_twice_on_one_row_is_one_heir_not_two(db):
    """`65.01.01.2006; 65.01.01.2006` on Gunung Putih's row names one successor: the list is applied."""
    with db.transaction() as s:
        s.add(register_record(1, kode_desa=MERGED))
    plan = _apply(db, listing(drop={MERGED}, lama={HEIR: f"{MERGED}; {MERGED}"}))
    assert plan.moved_records == {MERGED: 1}
