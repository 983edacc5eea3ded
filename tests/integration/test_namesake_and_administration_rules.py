"""People written twice in one desa, and an administrator's care of accounts and regions.

- A namesake (same birth date, same name) is a warning a verifier acknowledges, not an error: it names
  the register's record ("data terverifikasi") or the row it resembles, says when the other has no
  NIK, and keeps the name in its plain form. A person the register removed is nobody's namesake.
- An administrator's account changes are on the trail once each: an address given at creation is an
  address set, the same address typed again is no change. An address may fill its whole column.
- An administrator cannot deactivate their own account, and may give up a role of their own but the
  admin's; a role carried over to a new region ends its holder's sessions.
- A search of regions of one character finds nothing.
- A person added without a password has nothing to change at sign-in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.core.errors import Forbidden
from engine.people import administration, users
from engine.quality import record_rules
from models import AuditEvent, RecordStatus, Role, Severity, User
from tests.factories import DESA, PERIOD, SYSTEM, person_row, register_record
from tests.integration.test_region_update_and_duplicate_rules import _checked, _on_register


def _trail(db, action: AuditAction, user_id: int) -> list[AuditEvent]:
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == action.value, AuditEvent.subject_id == str(user_id))
            )
        )


# --- namesakes ------------------------------------------------------------------------------------


def test_a_namesake_without_a_nik_is_a_warning_that_says_the_nik_is_empty_and_keeps_the_plain_name(db):
    found = _checked(db, [person_row(1, nik="", nama="Siti Aminah"), person_row(2, nik="", nama="SITI  AMINAH")])
    namesake = found[1]["duplikat_mirip"]
    assert namesake.severity == Severity.WARNING
    assert namesake.message == (
        "kemungkinan orang yang sama dengan Siti Aminah (baris/item 2, lahir 1950-05-17, NIK kosong)"
    )
    assert (namesake.observed, namesake.expected) == ("siti aminah", "")


def test_a_person_on_the_register_is_a_namesake_but_one_the_register_removed_is_not(db):
    _on_register(db, register_record(1, nik="", nama="Siti Aminah", status=RecordStatus.DIHAPUS))
    (found,) = _checked(db, [person_row(2, nik="", nama="Siti Aminah")])
    assert "duplikat_mirip" not in found
    _on_register(db, register_record(3, nik="", nama="Siti Aminah"))
    (found,) = _checked(db, [person_row(2, nik="", nama="Siti Aminah")])
    assert "data terverifikasi" in found["duplikat_mirip"].message


def test_a_namesake_of_many_is_told_of_the_first_twenty_only(db):
    """Each earlier namesake is one warning, up to twenty: beyond, one more name tells a verifier nothing."""
    rows = [person_row(n, nik="", nama="Siti Aminah") for n in range(1, 24)]
    with db.transaction() as s:
        found = record_rules.check_rows(s, rows, record_rules.Context.load(s, PERIOD), DESA)
    alike = [[f for f in row if f.rule == "duplikat_mirip"] for row in found]
    assert [len(a) for a in alike[:4]] == [0, 1, 2, 3]
    assert len(alike[-1]) == 20
    assert "baris/item 2," in alike[-1][0].message


def test_a_row_no_rule_could_read_gets_an_error_of_its_own_and_the_other_rows_are_still_checked(db, monkeypatch):
    checked = record_rules.check_row

    def unforeseen(row, ctx):
        if row["nama"] == "Tak Terbaca":
            raise TypeError("a value no rule foresaw")
        return checked(row, ctx)

    monkeypatch.setattr(record_rules, "check_row", unforeseen)
    found = _checked(db, [person_row(1, nama="Tak Terbaca"), person_row(2, nik="12")])
    unread = found[0]["tidak_terbaca"]
    assert (unread.field, unread.severity) == ("baris", Severity.ERROR)
    assert "nik" in {f.field for f in found[1].values()}


def test_the_same_nik_on_a_register_next_door_is_not_called_a_one_digit_slip(db):
    _on_register(db, register_record(1, kode_desa="65.01.01.2006", nama="Siti Aminah"))
    (found,) = _checked(db, [person_row(1, nama="Siti Aminah")], [None])
    assert "nik_salah_ketik_tempat_lain" not in found
    (found,) = _checked(db, [person_row(2, nama="Siti Aminah")], [None])
    assert "nik_salah_ketik_tempat_lain" in found


# --- accounts -------------------------------------------------------------------------------------


def test_an_address_given_when_the_account_is_made_is_on_the_trail_and_the_same_address_again_is_not(
    db, province_admin
):
    with db.transaction() as s:
        made = administration.create_user(
            s,
            province_admin,
            "op.baru",
            "Op Baru",
            " op@dinsos.kaltaraprov.go.id ",
            "operator",
            "65.01.01.2005",
            "kata-sandi-baru-9",
        )
        made_id = made.id
    assert [e.after for e in _trail(db, AuditAction.USER_EMAIL_SET, made_id)] == [
        {"email": "op@dinsos.kaltaraprov.go.id"}
    ]
    with db.transaction() as s:
        administration.set_email(s, province_admin, made_id, "op@dinsos.kaltaraprov.go.id")
    assert len(_trail(db, AuditAction.USER_EMAIL_SET, made_id)) == 1


def test_an_address_may_fill_its_whole_column_but_not_one_character_more(db, province_admin):
    with db.transaction() as s:
        target = users.add_user(s, SYSTEM, "op.surel", "operator", "65.01.01.2005").id
    whole = "op@" + "d" * (administration.EMAIL_CHARS - len("op@.go.id")) + ".go.id"
    assert len(whole) == administration.EMAIL_CHARS
    with db.transaction() as s:
        assert administration.set_email(s, province_admin, target, whole).email == whole


def test_a_person_added_without_a_password_has_none_to_change_and_a_new_one_from_the_system_is_theirs(db):
    with db.transaction() as s:
        added = users.add_user(s, SYSTEM, "op.tanpa", "operator", "65.01.01.2005", chosen_for_them=True)
        assert (added.password_hash, added.ganti_sandi) == (None, False)
        again = users.add_user(s, SYSTEM, "op.tanpa", "operator", "65.01.01.2005", password="kata-sandi-baru-9")
        assert again.ganti_sandi is False


def test_a_region_search_of_one_character_finds_nothing(db):
    with db.read() as s:
        assert administration.search_regions(s, SYSTEM, "6", "65") == []
        assert administration.search_regions(s, SYSTEM, "G", "65") == []
        assert administration.search_regions(s, SYSTEM, "65", "65")


def test_an_administrator_cannot_deactivate_their_own_account(db, province_admin):
    with pytest.raises(Forbidden), db.transaction() as s:
        administration.set_active(s, province_admin, province_admin.user_id, False)
    with db.read() as s:
        assert s.get(User, province_admin.user_id).aktif


def test_a_role_carried_over_ends_the_holders_open_sessions_and_is_on_the_trail(db, province_admin):
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "verif.pindah", "verifier", "65.01.01")
        role, before = user.roles[0].id, user.session_version or 0
    with db.transaction() as s:
        administration.move_role(s, province_admin, role, "65.01.02", "pemekaran")
    with db.read() as s:
        moved = users.find_user(s, "verif.pindah")
        assert [a.region_kode for a in moved.roles] == ["65.01.02"]
        assert moved.session_version == before + 1
    (event,) = [e for e in _trail(db, AuditAction.ROLE_ASSIGNED, moved.id) if e.reason == "pemekaran"]
    assert (event.before, event.after) == (
        {"role": "verifier", "region_kode": "65.01.01"},
        {"role": "verifier", "region_kode": "65.01.02"},
    )


def test_an_administrator_may_give_up_a_role_of_their_own_other_than_admin(db, province_admin, regency_admin):
    with db.transaction() as s:
        administration.assign_role(s, province_admin, regency_admin.user_id, "auditor", "65.01")
        auditing = next(a.id for a in s.get(User, regency_admin.user_id).roles if a.role == Role.AUDITOR)
    with db.transaction() as s:
        administration.remove_role(s, regency_admin, auditing, reason="tidak lagi mengaudit")
    with db.read() as s:
        assert [a.role for a in s.get(User, regency_admin.user_id).roles] == [Role.ADMIN]
