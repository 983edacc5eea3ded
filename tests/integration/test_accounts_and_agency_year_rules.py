"""An administrator's care of accounts, and a year's agency figures received and taken back.

- People are found by the start of a region code they hold, not by digits in its middle; a region
  searched by code comes first, before the regions within it, each named with its parents outermost first.
- A username is 3 to 64 characters and begins with a letter or a digit; a password has ten characters
  besides spaces, and holds no username of four letters or more anywhere in it.
- An e-mail address ends in a domain of at least two letters.
- A person's page shows their newest sign-in and their fifty latest changes; an account turned off and on
  again is on the trail as deactivated, then activated.
- A file of accounts names each refused row's fault by the file's own column (`wilayah`).
- An agency's stored zero is a figure: a file replacing it corrects it, and the same zero again is no change.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.people import accounts, administration, sign_in, users
from engine.verification import agency_figures
from models import AuditEvent
from tests.factories import DESA, PASSWORD, SYSTEM
from tests.integration.test_agency_uploads import _preview, _receive


def _admin(session, username: str = "admin.prov") -> Actor:
    return Actor.of(users.find_user(session, username))


def _trail(db, action: AuditAction) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)))


# --- finding people --------------------------------------------------------------------------------


def test_people_are_found_by_the_start_of_a_region_code_they_hold_not_digits_in_its_middle(db, people):
    with db.read() as s:
        kecamatan = administration.list_users(s, _admin(s), "65.01.01")
        middle = administration.list_users(s, _admin(s), "01.01")
    assert [u.username for u in kecamatan.users] == ["op.desa", "op.lain", "verif.kec"]
    assert middle.total == 0


def test_a_region_search_by_code_lists_the_region_typed_first_and_each_region_within_its_parents(db):
    with db.read() as s:
        found = administration.search_regions(s, SYSTEM, "65.01.01", "65")
        middle = administration.search_regions(s, SYSTEM, "01.01", "65")
    assert found[0] == {
        "kode": "65.01.01",
        "nama": "Tanjung Palas",
        "tingkat": "kecamatan",
        "di": "Kalimantan Utara, Kabupaten Bulungan",
    }
    [desa] = [r for r in found if r["kode"] == DESA]
    assert desa["di"] == "Kalimantan Utara, Kabupaten Bulungan, Tanjung Palas"
    assert middle == []  # a code begins with what is typed


# --- usernames and passwords -----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ab", "x" * 65, ".ani", "-ani", "_ani"])
def test_a_username_too_short_too_long_or_starting_with_a_sign_is_refused(db, username):
    with pytest.raises(Invalid, match="tidak sah"), db.transaction() as s:
        users.add_user(s, SYSTEM, username, "operator", DESA)


@pytest.mark.parametrize("username", ["abc", "x" * 64, "9.ani"])
def test_a_username_of_three_or_sixty_four_characters_or_starting_with_a_digit_is_taken(db, username):
    with db.transaction() as s:
        assert users.add_user(s, SYSTEM, username, "operator", DESA).username == username


@pytest.mark.parametrize("password, refused", [("kuda-lari", True), ("kuda lari 7", True), ("kuda-lari7", False)])
def test_a_password_needs_ten_characters_besides_spaces(db, people, password, refused):
    with db.read() as s:
        target = users.find_user(s, "verif.kab").id
    if refused:
        with pytest.raises(Invalid, match="Kata sandi tidak diatur"), db.transaction() as s:
            administration.reset_password(s, _admin(s), target, password)
    else:
        with db.transaction() as s:
            administration.reset_password(s, _admin(s), target, password)


def test_a_four_letter_username_anywhere_in_a_password_is_refused(db, people):
    """Only a username shorter than four letters may turn up inside a password by chance."""
    with db.transaction() as s:
        target = users.add_user(s, SYSTEM, "budi", "verifier", "65.01").id
    with pytest.raises(Invalid, match="Kata sandi tidak diatur"), db.transaction() as s:
        administration.reset_password(s, _admin(s), target, "sandi-budi-2026")


def test_an_address_ending_in_a_one_letter_domain_is_refused_and_two_letters_are_taken(db, people):
    with db.read() as s:
        target = users.find_user(s, "verif.kab").id
    with pytest.raises(Invalid, match="belum benar") as refused, db.transaction() as s:
        administration.set_email(s, _admin(s), target, "verif@dinsos.i")
    assert [p.column for p in refused.value.problems] == ["email"]
    with db.transaction() as s:
        assert administration.set_email(s, _admin(s), target, "verif@dinsos.id").email == "verif@dinsos.id"


def test_a_file_of_accounts_names_a_region_outside_the_admin_s_by_the_file_s_own_column(db, regency_admin):
    row = {"username": "op.jauh", "nama": "Op Jauh", "peran": "operator", "wilayah": "65.02.01.2002"}
    with pytest.raises(Invalid, match="Tidak ada akun") as refused, db.transaction() as s:
        accounts.create_many(s, regency_admin, [row])
    assert [(p.row, p.column) for p in refused.value.problems] == [(2, "wilayah")]


# --- an account's page -----------------------------------------------------------------------------


def test_an_account_s_last_sign_in_is_its_newest_one(db, people):
    for address in ("10.1.1.1", "10.2.2.2"):
        with db.transaction() as s:
            assert sign_in.authenticate(s, "verif.kab", PASSWORD, address) is not None
    with db.read() as s:
        history = administration.account_history(s, _admin(s), users.find_user(s, "verif.kab").id)
    assert history.last_sign_in.after == {"address": "10.2.2.2"}


def test_an_account_s_page_lists_its_fifty_latest_changes_newest_first(db, people):
    with db.read() as s:
        target = users.find_user(s, "verif.kab").id
    for n in range(51):
        with db.transaction() as s:
            administration.set_email(s, _admin(s), target, f"verif{n}@dinsos.go.id")
    with db.read() as s:
        changes = administration.account_history(s, _admin(s), target).changes
    assert len(changes) == 50
    assert changes[0].after == {"email": "verif50@dinsos.go.id"}


# --- deactivation ----------------------------------------------------------------------------------


def test_an_account_turned_off_and_on_again_is_on_the_trail_as_deactivated_then_activated(db, people):
    with db.read() as s:
        target = users.find_user(s, "verif.kab").id
    for aktif in (False, True, True):  # the last: no change, nothing on the trail
        with db.transaction() as s:
            administration.set_active(s, _admin(s), target, aktif)
    with db.read() as s:
        changes = administration.account_history(s, _admin(s), target).changes
    assert [(e.action, e.before, e.after) for e in changes[:2]] == [
        (AuditAction.USER_ACTIVATED.value, {"aktif": False}, {"aktif": True}),
        (AuditAction.USER_DEACTIVATED.value, {"aktif": True}, {"aktif": False}),
    ]
    assert len(_trail(db, AuditAction.USER_ACTIVATED)) == 1


# --- an agency's yearly figures --------------------------------------------------------------------


def test_a_stored_zero_replaced_is_a_changed_figure_and_the_same_zero_again_is_no_change(db, stewards, our_figures):
    """A zero the agency sent before is a figure: what replaces it is a correction, not a new figure."""
    zero = "instansi,kategori,kode_wilayah,periode,nilai\nDP3AP2KB,AKTK,65.01,2024,0\n"
    _receive(db, _preview(db, text=zero))
    again = _preview(db, text=zero)
    assert [(f.sebelum, f.perubahan) for f in again.figures] == [(0, agency_figures.SAME)]
    corrected = _preview(db)  # 30 for Bulungan, and Malinau's first figure
    assert [(f.kode_wilayah, f.sebelum, f.perubahan) for f in corrected.figures] == [
        ("65.01", 0, agency_figures.CHANGED),
        ("65.02", None, agency_figures.NEW),
    ]
