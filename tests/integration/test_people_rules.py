"""People's accounts, sign-in, agency tokens and personal data: the rules a hand-made mutation of
`engine/people` showed no other test to hold (who sees a whole NIK, what is masked, whose account a
regency's admin may change, what a token or a password change is refused)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid
from engine.people import accounts, administration, privacy, sign_in, tokens, users
from engine.verification import claims
from models import AgencyToken, AuditEvent, HumanTask, LoginAttempt, Role, RoleAssignment, Tier, User
from tests.factories import DESA, PASSWORD, SYSTEM, waiting_at_kecamatan

NIK = "6501015705500001"


def _holder(*roles: tuple[Role, str, Tier]) -> Actor:
    """Someone holding these roles, not stored (what a privacy rule reads of a person)."""
    user = User(username="orang", aktif=True)
    user.roles = [RoleAssignment(role=r, region_kode=code, tingkat=t) for r, code, t in roles]
    return Actor.of(user)


def _events(db, action: AuditAction) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)))


# --- personal data ---------------------------------------------------------------------------------


def test_only_the_kecamatan_verifier_and_the_operator_see_a_whole_nik_not_the_tiers_above():
    # The regency's verifier checks the kecamatan's work, not people against their documents.
    assert privacy.sees_full_nik(_holder((Role.VERIFIER, "65.01.01", Tier.KECAMATAN)), DESA)
    assert not privacy.sees_full_nik(_holder((Role.VERIFIER, "65.01", Tier.KABUPATEN)), DESA)
    assert not privacy.sees_full_nik(_holder((Role.VALIDATOR, "65", Tier.PROVINSI)), DESA)


def test_a_short_or_mistyped_number_is_masked_whole_or_all_but_its_region():
    assert privacy.mask_nik("65010157") == "********"  # too short to leave a region readable
    assert privacy.mask_personal({"nik": "1234"}) == {"nik": "****"}
    # a list of numbers under a NIK's key: each is a NIK, whatever its length
    assert privacy.mask_personal({"nik": ["65010157055", NIK]}) == {"nik": ["650101*****", "650101**********"]}


def test_a_nik_with_a_digit_missing_is_masked_as_a_number_too():
    # as a text of 15 digits is (a spreadsheet reads the column as a number, whole or with a point)
    assert privacy.mask_personal({"catatan": 650101570550000}) == {"catatan": "650101*********"}
    assert privacy.mask_personal({"catatan": 650101570550000.0}) == {"catatan": "650101*********"}
    assert privacy.mask_personal({"jumlah": 65010157055000}) == {"jumlah": 65010157055000}


def test_a_digest_under_a_hash_key_keeps_its_digits_even_at_its_start():
    digest = "123456789012345678" + "ab" * 23  # 64 hex characters, the first 18 of them digits
    assert privacy.mask_personal({"sha256": digest, "file_hash": digest}) == {"sha256": digest, "file_hash": digest}


def test_a_text_is_masked_for_those_who_do_not_see_whole_niks():
    said = f"NIK {NIK} tertukar"
    assert privacy.shown_to(True)(said) == said
    assert privacy.shown_to(False)(said) == "NIK 650101********** tertukar"


@pytest.mark.parametrize("reason", ["abcd", "cek\u200bdata dukcapil", "cocokkan\u202eKTP", "x" * 2001])
def test_a_reason_too_short_too_long_or_with_a_hidden_character_is_refused(reason):
    with pytest.raises(Invalid):
        privacy.require_reason(reason)
    assert privacy.require_reason("x" * privacy.MAX_REASON) == "x" * 2000  # at the bound: taken


def test_revealing_a_nik_goes_on_the_trail_with_its_reason(db):
    with pytest.raises(Invalid), db.transaction() as s:
        privacy.reveal_nik(s, SYSTEM, 7, NIK, "cek")
    with db.transaction() as s:
        assert privacy.reveal_nik(s, SYSTEM, 7, NIK, "  cocokkan   KTP ") == NIK
    assert [(e.subject_id, e.reason) for e in _events(db, AuditAction.NIK_VIEWED)] == [("7", "cocokkan KTP")]


# --- accounts a regency's admin may change ---------------------------------------------------------


@pytest.fixture
def straddling(db) -> int:
    """A person verifying in a kecamatan of Bulungan who also validates for the whole province."""
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "dua.peran", "verifier", "65.01.01")
        return users.add_user(s, SYSTEM, "dua.peran", "validator", "65").id


def test_a_regency_admin_cannot_change_an_account_that_also_works_for_the_province(
    db, straddling, regency_admin, province_admin
):
    with db.read() as s:  # seen on the regency's list, for the role held there
        assert administration.get_user(s, regency_admin, straddling).username == "dua.peran"
    changes = [
        lambda s: administration.set_active(s, regency_admin, straddling, False),
        lambda s: administration.reset_password(s, regency_admin, straddling, "sandi-baru-yang-panjang"),
        lambda s: administration.set_email(s, regency_admin, straddling, "dua@contoh.go.id"),
    ]
    for change in changes:
        with pytest.raises(Forbidden, match="admin provinsi"), db.transaction() as s:
            change(s)
    with db.read() as s:
        user = s.get(User, straddling)
        assert user.aktif and user.email is None and user.password_hash is None and not user.ganti_sandi
    with db.transaction() as s:  # the province's admin may
        administration.set_active(s, province_admin, straddling, False)
    with db.read() as s:
        assert not s.get(User, straddling).aktif


def test_a_password_reset_by_an_admin_ends_the_persons_open_sessions(db, regency_admin):
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "lupa.sandi", "verifier", "65.01.01")
        user_id, version = user.id, user.session_version or 0
    with db.transaction() as s:
        administration.reset_password(s, regency_admin, user_id, "sandi-baru-yang-panjang")
    with db.read() as s:
        user = s.get(User, user_id)
        assert user.session_version == version + 1 and user.ganti_sandi


def test_a_role_given_ends_the_persons_open_sessions(db, regency_admin):
    # a session carries the roles it began with
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "peran.baru", "verifier", "65.01.01")
        user_id, version = user.id, user.session_version or 0
    with db.transaction() as s:
        assert administration.assign_role(s, regency_admin, user_id, "auditor", "65.01")
    with db.transaction() as s:  # held already: nothing changes, the sessions go on
        assert not administration.assign_role(s, regency_admin, user_id, "auditor", "65.01")
    with db.read() as s:
        assert s.get(User, user_id).session_version == version + 1


def test_an_admin_cannot_take_away_their_own_admin_role(db, province_admin):
    with db.read() as s:
        [own] = s.get(User, province_admin.user_id).roles
    with pytest.raises(Forbidden, match="sendiri"), db.transaction() as s:
        administration.remove_role(s, province_admin, own.id)
    with db.read() as s:
        assert [a.role for a in s.get(User, province_admin.user_id).roles] == [Role.ADMIN]


def test_a_role_taken_away_is_on_the_trail_with_its_region_and_reason(db, regency_admin):
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "pindah.tugas", "verifier", "65.01.01")
        user_id, [role] = user.id, [a.id for a in user.roles]
    with db.transaction() as s:
        administration.remove_role(s, regency_admin, role, reason="pindah ke Malinau")
    [event] = _events(db, AuditAction.ROLE_REMOVED)
    assert (event.actor, event.subject_id, event.reason) == ("admin.kab", str(user_id), "pindah ke Malinau")
    assert event.before == {"role": "verifier", "region_kode": "65.01.01"}


@pytest.mark.parametrize("post", ["65.01.02", "65.01"])  # a neighbouring kecamatan; the regency above
def test_a_role_taken_away_hands_back_only_the_claims_made_under_it(db, province_admin, post):
    # verif.kec also stands in at another post for a while; that post ends, Tanjung Palas's stays
    _, _, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        kec = users.add_user(s, SYSTEM, "verif.kec", "verifier", post)
        stand_in = next(a.id for a in kec.roles if a.region_kode == post)
        claims.claim(s, Actor.of(kec), task.id)
    with db.transaction() as s:
        administration.remove_role(s, province_admin, stand_in, reason="tugas rangkap berakhir")
    with db.read() as s:
        assert s.get(HumanTask, task.id).assignee_id == users.find_user(s, "verif.kec").id
    assert _events(db, AuditAction.TASK_RELEASED) == []


def test_only_the_province_carries_a_role_over_to_a_successor_region(db, regency_admin, province_admin):
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "verif.baru", "verifier", "65.01.01")
        users.add_user(s, SYSTEM, "verif.baru", "verifier", "65.01.02")
        old = next(a.id for a in user.roles if a.region_kode == "65.01.01")
    with pytest.raises(Forbidden), db.transaction() as s:
        administration.move_role(s, regency_admin, old, "65.01.02", "pemekaran")
    with db.transaction() as s:  # held there already: the old one ends instead of being held twice
        administration.move_role(s, province_admin, old, "65.01.02", "pemekaran")
    with db.read() as s:
        assert [(a.role, a.region_kode) for a in users.find_user(s, "verif.baru").roles] == [
            (Role.VERIFIER, "65.01.02")
        ]


# --- agency tokens ---------------------------------------------------------------------------------


def _token(db, region: str, **kw) -> int:
    request = tokens.TokenRequest(instansi="DP3AP2KB", region_kode=region, resources=("agregat",), **kw)
    with db.transaction() as s:
        return tokens.create_token(s, SYSTEM, request).token.id


def test_a_regency_admin_lists_the_tokens_of_its_own_regency_only(db, regency_admin, province_admin):
    mine, theirs, provinces = _token(db, "65.01.01"), _token(db, "65.02"), _token(db, "65")
    with db.read() as s:
        assert [t.id for t in tokens.list_tokens(s, regency_admin)] == [mine]
        assert {t.id for t in tokens.list_tokens(s, province_admin)} == {mine, theirs, provinces}


def test_a_file_of_more_accounts_than_the_bound_is_refused_before_any_row_is_read(db, province_admin):
    blank = {"username": "", "nama": "", "peran": "operator", "wilayah": ""}
    with pytest.raises(Invalid, match=f"paling banyak {accounts.MAX_ACCOUNTS}"), db.transaction() as s:
        accounts.create_many(s, province_admin, [blank] * (accounts.MAX_ACCOUNTS + 1))
    with pytest.raises(Invalid, match="Tidak ada akun") as refused, db.transaction() as s:  # as many: each row read
        accounts.create_many(s, province_admin, [blank] * accounts.MAX_ACCOUNTS)
    said = refused.value.problems  # each on its row (the header is row 1), as many as the bound on them
    assert len(said) == accounts.MAX_PROBLEMS and said[0].row == 2


def test_a_token_made_is_on_the_trail_and_revoked_once_by_whoever_revoked_it_first(db, regency_admin):
    request = tokens.TokenRequest(instansi="Dinas Kesehatan", region_kode="65.01", resources=("agregat",))
    with db.transaction() as s:
        token_id = tokens.create_token(s, regency_admin, request).token.id
    [made] = _events(db, AuditAction.TOKEN_CREATED)
    assert (made.actor, made.subject_id, made.after["instansi"]) == ("admin.kab", str(token_id), "Dinas Kesehatan")
    assert "token" not in made.after and "secret_hash" not in made.after  # the secret is shown once, never kept
    with db.transaction() as s:
        tokens.revoke_token(s, regency_admin, token_id, "kontrak selesai")
    with pytest.raises(Conflict), db.transaction() as s:
        tokens.revoke_token(s, SYSTEM, token_id, "lagi")
    with db.read() as s:
        assert s.get(AgencyToken, token_id).revoked_by == "admin.kab"
    assert [e.reason for e in _events(db, AuditAction.TOKEN_REVOKED)] == ["kontrak selesai"]


def test_a_token_is_expired_from_the_very_moment_it_expires(db):
    token_id = _token(db, "65.01")
    with db.read() as s:
        token = s.get(AgencyToken, token_id)
        assert tokens.state(token, token.expires_at) == tokens.TokenState.KEDALUWARSA
        assert tokens.state(token, token.expires_at - timedelta(seconds=1)) == tokens.TokenState.AKTIF


def test_a_token_lasts_two_years_at_most(db):
    with pytest.raises(Invalid) as refused:
        _token(db, "65.01", days=tokens.MAX_DAYS + 1)
    assert [p.column for p in refused.value.problems] == ["hari"]
    with pytest.raises(Invalid):
        _token(db, "65.01", days=0)
    token_id = _token(db, "65.01", days=tokens.MAX_DAYS)
    with db.read() as s:
        token = s.get(AgencyToken, token_id)
        assert token.expires_at - token.created_at == timedelta(days=tokens.MAX_DAYS)


# --- signing in ------------------------------------------------------------------------------------


def _attempts(db) -> list[str]:
    with db.read() as s:
        return sorted(a.address for a in s.scalars(select(LoginAttempt)))


def test_signing_in_from_one_address_leaves_the_failures_from_another(db, people):
    # someone guessing from elsewhere is not let off by the person signing in at their own desk
    with clock.frozen_at(clock.now()):
        for _ in range(3):
            with db.transaction() as s:
                assert sign_in.authenticate(s, "verif.kab", "bukan-sandinya", "10.9.9.9") is None
        with db.transaction() as s:
            assert sign_in.authenticate(s, "verif.kab", "bukan-sandinya", "10.1.1.1") is None
        with db.transaction() as s:
            assert sign_in.authenticate(s, "verif.kab", PASSWORD, "10.1.1.1") is not None
    assert _attempts(db) == ["10.9.9.9"] * 3
    [signed] = _events(db, AuditAction.USER_LOGGED_IN)
    assert (signed.actor, signed.after) == ("verif.kab", {"address": "10.1.1.1"})


def test_a_deactivated_person_cannot_sign_in_with_the_right_password(db, people):
    with db.transaction() as s:
        users.find_user(s, "verif.kab").aktif = False
    with db.transaction() as s:
        assert sign_in.authenticate(s, "verif.kab", PASSWORD, "10.1.1.1") is None
    assert _attempts(db) == ["10.1.1.1"]
    assert _events(db, AuditAction.USER_LOGGED_IN) == []


def test_a_new_password_the_same_as_the_current_one_is_refused(db, people):
    with db.read() as s:
        person = Actor.of(users.find_user(s, "verif.kab"))
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        sign_in.change_password(s, person, PASSWORD, PASSWORD, PASSWORD, "10.1.1.1")
    assert [p.column for p in refused.value.problems] == ["new"]
    with db.read() as s:
        assert users.check_password(users.find_user(s, "verif.kab"), PASSWORD)
    assert _events(db, AuditAction.USER_PASSWORD_CHANGED) == []


def test_the_longest_of_the_waits_due_holds_an_attempt_back(db, people):
    # six failures from one address (a wait of two seconds) among ten at the username (one second)
    start = clock.now()
    with db.transaction() as s:
        for address in ["10.9.9.9"] * 6 + ["10.8.8.8"] * 4:
            s.add(LoginAttempt(username="verif.kab", address=address, at=start))
    with clock.frozen_at(start + timedelta(milliseconds=1500)):
        with pytest.raises(sign_in.Throttled, match="1 detik"), db.transaction() as s:
            sign_in.authenticate(s, "verif.kab", PASSWORD, "10.9.9.9")
    with clock.frozen_at(start + timedelta(seconds=2)), db.transaction() as s:
        assert sign_in.authenticate(s, "verif.kab", PASSWORD, "10.9.9.9") is not None


def test_a_token_s_last_use_is_written_again_once_a_minute_has_passed(db):
    """An administrator reading "last used" sees the agency's latest call, not its first of the day."""
    token_id = _token(db, "65")
    start = clock.now()
    seen = []
    for later in (timedelta(0), timedelta(seconds=30), timedelta(seconds=61)):
        with clock.frozen_at(start + later), db.transaction() as s:
            tokens.touch(s, s.get(AgencyToken, token_id))
        with db.read() as s:
            seen.append(s.get(AgencyToken, token_id).last_used_at)
    assert seen[0] == seen[1] < seen[2]  # not written twice within the minute, written again after it
