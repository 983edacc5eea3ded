"""Who may see and do what, by role and region: the rules of access, personal data, agency tokens
and signing in.

- Tasks are worked only by the working roles (operator, verifier, validator) and the lane roles; a
  regency's admin or auditor, though they sit at the kabupaten tier, has no task in their inbox and
  cannot decide one.
- Aggregate flags are settled by the reviewers (verifiers, validators, walidata, the Forum SDI), never
  by an auditor, and the settlement names the tier the person acts at in that region (the narrowest
  of their roles there), as the task page shows it.
- Administering (accounts, agency tokens) is the admin's and auditing (a person's history by NIK) the
  auditor's: neither role lends the other its work; an admin below the regency gives accounts in its
  own region.
- A sensitive category's count below the regency is hidden from operators and from the stewards of
  the compiled figures; an admin is not told where else an entry is registered, an operator who also
  verifies is; a family card number is masked under any `kk` key; a reason of five characters is
  enough; the command line sees whole NIKs.
- An agency token's rights must reach something, its note is bounded, a regency's admin issues tokens
  in the regency only and none with whole NIKs, and a token moved to a successor region is on the
  trail.
- Sign-in failures hold back a username after ten from anywhere and an address after twenty for any
  username; failures older than the window no longer count; a regency's admin unlocks only the
  regency's people; a changed password is no longer one to change, and signing out everywhere is on
  the trail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.people import accounts, administration, privacy, sign_in, tokens, users
from engine.quality import review
from engine.verification import inbox, record_history
from models import AuditEvent, FlagStatus, LoginAttempt, QualityFlag, Role, Tier, User
from tests.factories import (
    DESA,
    PASSWORD,
    SYSTEM,
    actor,
    decide,
    decide_task,
    new_person,
    open_task,
    store_history,
    waiting_at_kecamatan,
)
from tests.unit.test_scope import person

NIK = "6501015705500001"


# --- working tasks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_a_regencys_admin_or_auditor_has_no_kabupaten_task_to_work(db, role):
    _, submission_id, _, _ = waiting_at_kecamatan(db)
    decide(db, "verif.kec", submission_id, "approve")  # now waiting at Bulungan's verifier
    someone = new_person(db, f"{role}.kab", role, "65.01")
    with db.read() as s:
        assert inbox.open_count(s, actor(db, "verif.kab")) == 1
        assert inbox.open_count(s, someone) == 0
        assert inbox.inbox_page(s, someone).tasks == []
    task_id = open_task(db, submission_id, "kabupaten").id
    with pytest.raises(NotFound, match="tidak ada"), db.transaction() as s:
        decide_task(s, someone.name, task_id, "approve")


# --- aggregate flags -------------------------------------------------------------------------------


def _regency_flag(db) -> int:
    store_history(db)
    with db.read() as s:
        return s.scalars(
            select(QualityFlag.id)
            .where(QualityFlag.region_kode == "65.01", QualityFlag.item_id.is_(None))
            .where(QualityFlag.status == FlagStatus.TERBUKA)
            .order_by(QualityFlag.id)
        ).first()


def test_an_auditor_reads_a_flag_but_does_not_settle_it(db, people):
    flag_id = _regency_flag(db)
    with pytest.raises(Forbidden), db.transaction() as s:
        review.settle(s, actor(db, "auditor.prov"), flag_id, review.FlagAction.CLOSE, "sudah", "terbuka")
    with db.read() as s:
        assert s.get(QualityFlag, flag_id).status == FlagStatus.TERBUKA


def test_a_settled_flag_names_the_tier_the_person_acts_at_in_its_region(db, people):
    # a regency's verifier who is also the province's walidata acknowledges Bulungan's flag as the
    # regency's verifier: the task page says "Diakui oleh ... (kabupaten)"
    flag_id = _regency_flag(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kab", "walidata", "65")
    with db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.ACKNOWLEDGE, "sedang dicek", "terbuka")
    with db.read() as s:
        flag = s.get(QualityFlag, flag_id)
        assert (flag.status, flag.ack_by, flag.ack_tingkat) == (FlagStatus.DIAKUI, "verif.kab", Tier.KABUPATEN)


# --- administering and auditing --------------------------------------------------------------------


def test_an_auditor_issues_no_agency_token(db):
    auditor = new_person(db, "auditor.prov", "auditor", "65")
    request = tokens.TokenRequest(instansi="DP3AP2KB", region_kode="65.01", resources=("agregat",))
    with pytest.raises(Forbidden, match="admin"), db.transaction() as s:
        tokens.create_token(s, auditor, request)
    with db.read() as s:
        assert tokens.list_tokens(s, SYSTEM) == []


def test_an_admin_does_not_look_up_a_persons_history_by_nik(db, province_admin):
    with pytest.raises(Forbidden, match="auditor"), db.transaction() as s:
        record_history.history(s, province_admin, NIK, "cocokkan KTP")


def test_a_kecamatans_admin_gives_accounts_in_its_own_desa_and_no_other_kecamatans(db):
    admin = new_person(db, "admin.kec", "admin", "65.01.01")
    with db.transaction() as s:
        administration.create_user(s, admin, "op.baru", "Op Baru", "", "operator", DESA, PASSWORD)
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        administration.create_user(s, admin, "op.jauh", "Op Jauh", "", "operator", "65.01.02.2001", PASSWORD)
    assert [p.column for p in refused.value.problems] == ["region"]
    with db.read() as s:
        assert [(a.role, a.region_kode) for a in users.find_user(s, "op.baru").roles] == [(Role.OPERATOR, DESA)]
        assert s.scalar(select(User).where(User.username == "op.jauh")) is None


# --- personal data ---------------------------------------------------------------------------------


OPERATOR = (Role.OPERATOR, DESA, Tier.DESA)


# The categories whose count in a desa can point at the people: HIV, sex work, drugs, trafficking,
# violence, children before the law, former prisoners.
@pytest.mark.parametrize("kategori", ["ODHA", "TS", "NAPZA", "KTR", "KTK", "AKTK", "ABH", "BWBLP"])
def test_every_sensitive_categorys_desa_count_is_hidden_from_an_operator_and_a_steward(kategori):
    steward = person((Role.WALIDATA, "65", Tier.PROVINSI))
    for reader in (person(OPERATOR), steward):
        assert not privacy.sees_sensitive_count(reader, DESA, kategori)
        assert not privacy.sees_sensitive_count(reader, "65.01.01", kategori)
        assert privacy.sees_sensitive_count(reader, "65.01", kategori)  # from the regency up: published
    assert privacy.sees_sensitive_count(person((Role.VERIFIER, "65.01.01", Tier.KECAMATAN)), DESA, kategori)


def test_a_steward_forum_or_head_does_not_read_sensitive_counts_below_the_regency():
    for role in (Role.WALIDATA, Role.FORUM_SDI, Role.KEPALA_DINAS):
        assert not privacy.reads_sensitive_counts(person((role, "65", Tier.PROVINSI)))
    assert privacy.reads_sensitive_counts(person((Role.AUDITOR, "65.01", Tier.KABUPATEN)))


def test_an_admin_is_not_told_where_else_an_entry_is_registered():
    admin = person((Role.ADMIN, "65", Tier.PROVINSI))
    assert not privacy.sees_other_place(admin, DESA, "65.01.02.2001")
    assert privacy.sees_other_place(person((Role.AUDITOR, "65", Tier.PROVINSI)), DESA, "65.01.02.2001")


def test_an_operator_who_also_verifies_is_told_of_an_entry_elsewhere():
    both = person(OPERATOR, (Role.VERIFIER, "65.01.02", Tier.KECAMATAN))
    assert privacy.told_of_elsewhere(both)


def test_the_command_line_sees_whole_niks():
    assert privacy.sees_full_nik(SYSTEM, DESA)


def test_a_reason_of_exactly_five_characters_is_enough():
    assert privacy.require_reason(" cek  KK ") == "cek KK"
    assert privacy.require_reason("KTP 1") == "KTP 1"


def test_a_family_card_number_under_any_kk_key_is_masked():
    # even typed short: a number under such a key is a family card's, whatever its length
    said = privacy.mask_personal({"kk": "65010117055", "kk_lama": "6501011705", "kkm": "65010117055"})
    assert said == {"kk": "650101*****", "kk_lama": "650101****", "kkm": "65010117055"}


def test_sixteen_digits_spread_out_whose_month_is_no_month_are_not_a_nik():
    # `1350`: a day (57, a woman's 17th) but a thirteenth month: a number of some other kind
    assert privacy.mask_personal("nomor 6501/0157/1350/0001") == "nomor 6501/0157/1350/0001"
    assert privacy.mask_personal("nomor 6501/0157/1250/0001") == "nomor 650101**********"


# --- agency tokens ---------------------------------------------------------------------------------


def _request(region: str = "65.01", resources: tuple[str, ...] = ("agregat",), **kw) -> tokens.TokenRequest:
    return tokens.TokenRequest(instansi="DP3AP2KB", region_kode=region, resources=resources, **kw)


@pytest.mark.parametrize(
    "request_kw, column",
    [
        ({"sees_nik": True}, "nik_lengkap"),  # a whole-NIK right that reaches no record
        ({"can_write": True}, "tulis"),  # a right to send with nothing to send to
        ({"keterangan": "x" * 201}, "keterangan"),
    ],
)
def test_a_token_whose_rights_reach_nothing_or_too_long_a_note_is_refused(db, request_kw, column):
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        tokens.create_token(s, SYSTEM, _request(**request_kw))
    assert [p.column for p in refused.value.problems] == [column]
    with db.transaction() as s:  # at the bound, the note is taken
        assert tokens.create_token(s, SYSTEM, _request(keterangan="x" * 200)).token.keterangan == "x" * 200


def test_a_regency_admin_issues_tokens_in_its_regency_only_and_none_with_whole_niks(db, regency_admin, province_admin):
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        tokens.create_token(s, regency_admin, _request("65.02"))
    assert [p.column for p in refused.value.problems] == ["wilayah"]
    whole = _request("65.01.01", ("catatan",), sees_nik=True)
    with pytest.raises(Forbidden, match="provinsi"), db.transaction() as s:
        tokens.create_token(s, regency_admin, whole)
    with db.read() as s:
        assert tokens.list_tokens(s, SYSTEM) == []
    with db.transaction() as s:
        assert tokens.create_token(s, province_admin, whole).token.sees_nik


def test_a_token_moved_to_a_successor_region_is_on_the_trail(db, province_admin):
    with db.transaction() as s:
        token_id = tokens.create_token(s, SYSTEM, _request("65.01")).token.id
    with db.transaction() as s:
        tokens.move_token(s, province_admin, token_id, "65.02", "keputusan menteri")
    with db.read() as s:
        [moved] = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.TOKEN_MOVED.value)).all()
    assert (moved.actor, moved.subject_id, moved.reason) == ("admin.prov", str(token_id), "keputusan menteri")
    assert (moved.before["wilayah"], moved.after["wilayah"]) == ("65.01", "65.02")


# --- signing in ------------------------------------------------------------------------------------


def _fail(db, username: str, address: str, times: int, at) -> None:
    with db.transaction() as s:
        for _ in range(times):
            s.add(LoginAttempt(username=username, address=address, at=at))


def _signs_in(db, username: str, address: str) -> bool:
    with db.transaction() as s:
        return sign_in.authenticate(s, username, PASSWORD, address) is not None


def test_ten_failures_at_a_username_from_many_addresses_hold_the_next_attempt_back(db, people):
    start = clock.now()
    _fail(db, "verif.kab", "10.0.0.1", 4, start)
    _fail(db, "verif.kab", "10.0.0.2", 4, start)
    _fail(db, "verif.kab", "10.0.0.3", 1, start)
    with clock.frozen_at(start + timedelta(milliseconds=500)):
        assert _signs_in(db, "verif.kab", "10.1.1.1")  # nine: still free
    _fail(db, "verif.kab", "10.0.0.3", 1, start)
    with clock.frozen_at(start + timedelta(milliseconds=500)), pytest.raises(sign_in.Throttled):
        _signs_in(db, "verif.kab", "10.1.1.1")


def test_twenty_failures_from_one_address_hold_back_any_username_from_it(db, people):
    start = clock.now()
    for n in range(19):
        _fail(db, f"tebakan{n}", "10.6.6.6", 1, start)
    with clock.frozen_at(start + timedelta(milliseconds=500)):
        assert _signs_in(db, "verif.kec", "10.6.6.6")
    _fail(db, "tebakan19", "10.6.6.6", 1, start)
    with clock.frozen_at(start + timedelta(milliseconds=500)), pytest.raises(sign_in.Throttled):
        _signs_in(db, "verif.kab", "10.6.6.6")


def test_failures_older_than_the_window_no_longer_hold_anyone_back(db, people):
    # five failures of long ago and one just now: one failure counts, and one is no reason to wait
    start = clock.now()
    _fail(db, "verif.kab", "10.9.9.9", 5, start - sign_in.WINDOW - timedelta(seconds=1))
    _fail(db, "verif.kab", "10.9.9.9", 1, start)
    with clock.frozen_at(start + timedelta(milliseconds=500)):
        assert _signs_in(db, "verif.kab", "10.9.9.9")


def test_a_regency_admin_does_not_unlock_another_regencys_person(db, people, regency_admin):
    _fail(db, "verif.kab.lain", "10.9.9.9", 3, clock.now())
    with pytest.raises(NotFound, match="verif.kab.lain"), db.transaction() as s:
        sign_in.unlock(s, regency_admin, "verif.kab.lain")
    with db.transaction() as s:
        assert sign_in.unlock(s, regency_admin, "verif.kec") == 0  # its own regency's: cleared (none held)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 3


def test_a_changed_password_is_no_longer_one_to_change_and_signing_out_everywhere_is_on_the_trail(db, people):
    with db.transaction() as s:
        users.find_user(s, "verif.kab").ganti_sandi = True  # as after an admin's reset
    with db.transaction() as s:
        owner = Actor.of(users.find_user(s, "verif.kab"))
        new = "sandi-baru-yang-panjang-1"
        assert sign_in.change_password(s, owner, PASSWORD, new, new, "10.1.1.1") is not None
    with db.transaction() as s:
        assert users.find_user(s, "verif.kab").ganti_sandi is False
        version = users.find_user(s, "verif.kab").session_version
        sign_in.sign_out_everywhere(s, owner)
    with db.read() as s:
        assert users.find_user(s, "verif.kab").session_version == version + 1
        [out] = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.USER_LOGGED_OUT.value)).all()
        assert out.actor == "verif.kab"


def test_a_username_of_the_longest_length_allowed_signs_in(db, password_hash):
    longest = "o" * sign_in.USERNAME_CHARS
    with db.transaction() as s:
        users.add_user(s, SYSTEM, longest, "operator", DESA).password_hash = password_hash
    assert _signs_in(db, longest, "10.1.1.1")
    assert not _signs_in(db, longest + "o", "10.1.1.1")


def test_a_file_row_with_spaces_around_its_values_makes_the_account_as_meant(db, province_admin):
    row = {"username": " Op.Spasi ", "nama": " Op  Spasi ", "peran": " operator ", "wilayah": f" {DESA} "}
    with db.transaction() as s:
        [made] = accounts.create_many(s, province_admin, [row])
    assert (made.username, made.peran, made.wilayah) == ("op.spasi", "operator", DESA)
    with db.read() as s:
        assert [(a.role, a.region_kode) for a in users.find_user(s, "op.spasi").roles] == [(Role.OPERATOR, DESA)]
