"""Agency tokens and signing in: what an administrator, an agency and an auditor rely on.

- A token's agency name and note are kept as typed without the spaces around them; the name is
  required and at most 80 characters, the note at most 200 as kept; the resources are known ones,
  at least one, each listed once; a resource only sent to needs the right to send; the rate is a
  positive count per second, minute, hour or day, written in Indonesian or English in any case,
  and kept as the limiter reads it.
- The list of tokens shows the newest first and who issued each; a revoked token reads revoked even
  once its expiry has passed; a revocation's reason is kept trimmed and bounded, or none at all, and
  its trail shows the token active before and revoked after; a token that is gone cannot be moved.
- A token is recognised whatever characters its secret holds; its last use is written once a whole
  minute has passed, and only on that token.
- Sign-in: failures exactly as old as the window still count and are not purged; the wait told is
  rounded up to whole seconds and is never zero; a flood of recorded failures still waits five
  minutes; an overlong username or address is held back and stored like any other; a wrong password
  on a deactivated account, or from no known address, is on its trail; an unlock is on the trail
  with how many failures it cleared; a changed password is the one that signs in afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Invalid, NotFound
from engine.people import sign_in, tokens, users
from models import AgencyToken, AuditEvent, LoginAttempt
from tests.factories import PASSWORD, SYSTEM


def _request(**kw) -> tokens.TokenRequest:
    kw.setdefault("instansi", "DP3AP2KB")
    kw.setdefault("region_kode", "65.01")
    kw.setdefault("resources", ("agregat",))
    return tokens.TokenRequest(**kw)


def _issue(db, actor: Actor = SYSTEM, **kw) -> tokens.Issued:
    with db.transaction() as s:
        issued = tokens.create_token(s, actor, _request(**kw))
        s.expunge(issued.token)
    return issued


def _refused_on(db, **kw) -> list[str]:
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        tokens.create_token(s, SYSTEM, _request(**kw))
    return [p.column for p in refused.value.problems]


def _events(db, action: AuditAction) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)))


# --- issuing a token -------------------------------------------------------------------------------


def test_an_agencys_name_and_note_are_kept_without_the_spaces_around_them(db):
    token = _issue(db, instansi="  Dinas Kesehatan ", keterangan="  aplikasi gizi  ").token
    assert (token.instansi, token.keterangan) == ("Dinas Kesehatan", "aplikasi gizi")


def test_an_agencys_name_is_required_and_at_most_80_characters(db):
    assert _issue(db, instansi="D" * 80).token.instansi == "D" * 80
    assert _refused_on(db, instansi="D" * 81) == ["instansi"]
    assert _refused_on(db, instansi="") == ["instansi"]
    assert _refused_on(db, instansi="   ") == ["instansi"]  # spaces are no name


def test_a_note_is_at_most_200_characters_as_it_is_kept(db):
    assert _issue(db, keterangan=f"  {'k' * 200}  ").token.keterangan == "k" * 200
    assert _refused_on(db, keterangan="k" * 201) == ["keterangan"]


@pytest.mark.parametrize("resources", [(), ("agregat", "rahasia")], ids=["none", "unknown"])
def test_a_token_opens_at_least_one_resource_and_only_known_ones(db, resources):
    assert _refused_on(db, resources=resources) == ["sumber_daya"]


def test_a_resource_only_sent_to_needs_the_right_to_send(db):
    assert _refused_on(db, resources=("pengajuan",)) == ["tulis"]
    assert _refused_on(db, resources=("agregat", "angka-instansi")) == ["tulis"]
    assert _issue(db, resources=("pengajuan",), can_write=True).token.can_write


def test_each_resource_is_listed_once_in_order(db):
    token = _issue(db, resources=("status", "agregat", "status")).token
    assert tokens.describe(token)["sumber_daya"] == ["agregat", "status"]


@pytest.mark.parametrize(
    ("written", "kept"),
    [("60/Menit", "60/minute"), ("2/JAM", "2/hour"), ("10/detik", "10/second"), ("500/Hari", "500/day")],
)
def test_a_rate_written_in_indonesian_in_any_case_is_kept_as_the_limiter_reads_it(db, written, kept):
    assert _issue(db, rate_limit=written).token.rate_limit == kept


@pytest.mark.parametrize("written", ["0/minute", "00/menit", "120/minutes", "120/menit saja", "1234567/day"])
def test_a_rate_of_no_calls_or_of_an_unknown_unit_is_refused(db, written):
    assert _refused_on(db, rate_limit=written) == ["batas_laju"]


def test_the_list_shows_the_newest_token_first_and_who_issued_each(db, regency_admin):
    first = _issue(db, regency_admin).token.id
    second = _issue(db, SYSTEM).token.id
    with db.read() as s:
        listed = [tokens.describe(t) for t in tokens.list_tokens(s, SYSTEM)]
    assert [(t["id"], t["dibuat_oleh"]) for t in listed] == [(second, SYSTEM.name), (first, "admin.kab")]
    [made, _] = _events(db, AuditAction.TOKEN_CREATED)
    assert made.after["dibuat_oleh"] == "admin.kab"


# --- revoking, expiring and moving -----------------------------------------------------------------


def _revoke(db, token_id: int, reason: str, actor: Actor = SYSTEM) -> AuditEvent:
    with db.transaction() as s:
        tokens.revoke_token(s, actor, token_id, reason)
    return _events(db, AuditAction.TOKEN_REVOKED)[-1]


def test_a_revocation_is_on_the_trail_from_active_to_revoked_by_whom(db, regency_admin):
    issued = _issue(db)
    event = _revoke(db, issued.token.id, "  kontrak selesai  ", regency_admin)
    assert event.reason == "kontrak selesai"
    assert (event.before["status"], event.before["dicabut_oleh"]) == ("aktif", None)
    assert (event.after["status"], event.after["dicabut_oleh"]) == ("dicabut", "admin.kab")
    with db.read() as s:
        assert tokens.describe(s.get(AgencyToken, issued.token.id))["dicabut_oleh"] == "admin.kab"


def test_a_revocation_without_a_reason_keeps_none_and_a_long_one_keeps_500_characters(db):
    assert _revoke(db, _issue(db).token.id, "   ").reason is None
    assert _revoke(db, _issue(db).token.id, " " + "r" * 600).reason == "r" * 500


def test_a_revoked_token_reads_revoked_even_after_its_expiry(db):
    issued = _issue(db, days=1)
    _revoke(db, issued.token.id, "bocor")
    later = issued.token.expires_at + timedelta(days=1)
    with db.read() as s:
        assert tokens.state(s.get(AgencyToken, issued.token.id), later) == tokens.TokenState.DICABUT
    with clock.frozen_at(later), db.read() as s:
        found = tokens.authenticate(s, issued.secret)
    assert (found.token, found.refusal) == (None, "Token sudah dicabut")


def test_a_token_that_is_gone_cannot_be_moved(db, province_admin):
    with pytest.raises(NotFound, match="Token 999"), db.transaction() as s:
        tokens.move_token(s, province_admin, 999, "65.02", "keputusan menteri")


# --- presenting a token ----------------------------------------------------------------------------


def test_a_token_whose_secret_holds_underscores_is_recognised(db):
    issued = _issue(db)
    secret = f"sjk_{issued.token.prefix}_ab_cd_ef-{'x' * 36}"  # as token_urlsafe may write it
    with db.transaction() as s:
        s.get(AgencyToken, issued.token.id).secret_hash = tokens.digest(secret)
    with db.read() as s:
        assert tokens.authenticate(s, secret).token.id == issued.token.id
        assert tokens.authenticate(s, issued.secret).refusal == "Token tidak dikenal"


def test_an_unknown_token_is_refused_in_the_same_words_however_it_is_wrong(db):
    issued = _issue(db)
    prefix = issued.token.prefix
    wrong = [
        issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"),  # a known prefix, another secret
        f"sjk_{'0' * 8 if prefix != '0' * 8 else '1' * 8}_{'x' * 43}",  # an unknown prefix
        issued.secret.replace("sjk_", "xyz_", 1),  # another scheme
        issued.secret + "x" * 100,  # too long
        "sjk_" + prefix,  # no secret
    ]
    with db.read() as s:
        assert {tokens.authenticate(s, w).refusal for w in wrong} == {"Token tidak dikenal"}


def test_last_use_is_written_once_a_whole_minute_has_passed_and_only_on_that_token(db):
    used, idle = _issue(db).token.id, _issue(db).token.id
    start = clock.now()
    seen = []
    for later in (timedelta(0), timedelta(minutes=1)):
        with clock.frozen_at(start + later), db.transaction() as s:
            tokens.touch(s, s.get(AgencyToken, used))
        with db.read() as s:
            seen.append(s.get(AgencyToken, used).last_used_at)
            described = tokens.describe(s.get(AgencyToken, used))
            assert s.get(AgencyToken, idle).last_used_at is None
    assert seen[0] < seen[1]
    assert clock.instant(described["terakhir_dipakai"]) == start + timedelta(minutes=1)


# --- signing in ------------------------------------------------------------------------------------


def _fail(db, at, times: int, username: str = "verif.kab", address: str = "10.9.9.9") -> None:
    with db.transaction() as s:
        s.add_all(LoginAttempt(username=username, address=address, at=at) for _ in range(times))


def _sign_in(db, username: str = "verif.kab", password: str = PASSWORD, address: str = "10.9.9.9"):
    with db.transaction() as s:
        return sign_in.authenticate(s, username, password, address)


def _attempts(db) -> list[LoginAttempt]:
    with db.read() as s:
        return list(s.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))


def test_a_failure_exactly_as_old_as_the_window_still_counts(db, people):
    start = clock.now()
    _fail(db, start - sign_in.WINDOW, 1)
    _fail(db, start, sign_in.PER_USERNAME_AND_ADDRESS.free_failures - 1)
    with clock.frozen_at(start), pytest.raises(sign_in.Throttled):
        _sign_in(db)


def test_the_purge_keeps_a_failure_exactly_as_old_as_the_window(db, people):
    start = clock.now()
    _fail(db, start - sign_in.WINDOW, 1)
    _fail(db, start - sign_in.WINDOW - timedelta(microseconds=1), 1)
    assert sign_in.purge_attempts(db, start).startswith("1 ")
    assert len(_attempts(db)) == 1


def test_the_wait_told_is_rounded_up_to_whole_seconds_and_never_zero(db, people):
    start = clock.now()
    _fail(db, start, sign_in.PER_USERNAME_AND_ADDRESS.free_failures + 1)  # a wait of two seconds
    with clock.frozen_at(start + timedelta(milliseconds=500)):
        with pytest.raises(sign_in.Throttled, match="dalam 2 detik"):
            _sign_in(db)
    with clock.frozen_at(start + timedelta(seconds=2) - timedelta(microseconds=500)):
        with pytest.raises(sign_in.Throttled, match="dalam 1 detik"):
            _sign_in(db)


def test_any_number_of_recorded_failures_waits_five_minutes_at_most(db, people):
    start = clock.now()
    _fail(db, start, 80)
    with clock.frozen_at(start + timedelta(minutes=1)):
        with pytest.raises(sign_in.Throttled, match="dalam 240 detik"):
            _sign_in(db)
    with clock.frozen_at(start + timedelta(minutes=5)):
        assert _sign_in(db) is not None


def test_an_overlong_username_tried_again_and_again_is_held_back_like_any_other(db, people):
    overlong = "z" * (sign_in.USERNAME_CHARS + 1)
    free = sign_in.PER_USERNAME_AND_ADDRESS.free_failures
    with clock.frozen_at(clock.now()):
        for _ in range(free):
            assert _sign_in(db, overlong, "apa-saja-123") is None
        with pytest.raises(sign_in.Throttled):
            _sign_in(db, overlong, "apa-saja-123")
    assert {a.username for a in _attempts(db)} == {overlong[: sign_in.USERNAME_CHARS]}


def test_an_overlong_or_missing_address_is_stored_and_on_the_trail_like_any_other(db, people):
    long_address = "2001:db8::" + "f" * 300
    assert _sign_in(db, password="bukan-sandinya", address=long_address) is None
    assert _sign_in(db, password="bukan-sandinya", address="") is None
    assert [a.address for a in _attempts(db)] == [long_address[: sign_in.ADDRESS_CHARS], "-"]
    failed = _events(db, AuditAction.USER_SIGN_IN_FAILED)
    assert [e.after for e in failed] == [
        {"address": long_address[: sign_in.ADDRESS_CHARS], "pada": "masuk"},
        {"address": "-", "pada": "masuk"},
    ]
    assert _sign_in(db, address="") is not None
    assert [a.address for a in _attempts(db)] == [long_address[: sign_in.ADDRESS_CHARS]]  # its own cleared


def test_a_wrong_password_at_a_deactivated_account_is_on_its_trail(db, people):
    with db.transaction() as s:
        user = users.find_user(s, "verif.kab")
        user.aktif, user_id = False, user.id
    assert _sign_in(db, password="bukan-sandinya") is None
    [failed] = _events(db, AuditAction.USER_SIGN_IN_FAILED)
    assert (failed.actor, failed.subject_id, failed.after["pada"]) == ("verif.kab", str(user_id), "masuk")


def test_an_unlock_is_on_the_trail_with_how_many_failures_it_cleared(db, people, province_admin):
    _fail(db, clock.now(), 3)
    _fail(db, clock.now(), 2, username="verif.kec")
    with db.transaction() as s:
        assert sign_in.unlock(s, province_admin, "verif.kab") == 3
    [unlocked] = _events(db, AuditAction.USER_UNLOCKED)
    assert (unlocked.actor, unlocked.subject_id, unlocked.after) == ("admin.prov", "verif.kab", {"attempts_cleared": 3})
    assert [a.username for a in _attempts(db)] == ["verif.kec"] * 2


# --- changing one's password -----------------------------------------------------------------------


def _me(db) -> Actor:
    with db.read() as s:
        return Actor.of(users.find_user(s, "verif.kab"))


def test_a_changed_password_signs_in_and_the_old_one_no_longer_does(db, people):
    new = "sungai-kayan-hulu-7"
    with db.transaction() as s:
        assert sign_in.change_password(s, _me(db), PASSWORD, new, new, "10.1.1.1") is not None
    [changed] = _events(db, AuditAction.USER_PASSWORD_CHANGED)
    assert changed.actor == "verif.kab"
    assert _sign_in(db, password=PASSWORD) is None
    assert _sign_in(db, password=new) is not None


def test_a_new_password_typed_differently_the_second_time_is_refused(db, people):
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        sign_in.change_password(s, _me(db), PASSWORD, "sungai-kayan-hulu-7", "sungai-kayan-hulu-8", "10.1.1.1")
    assert [p.column for p in refused.value.problems] == ["repeat"]
    assert _sign_in(db, password=PASSWORD) is not None
    assert _events(db, AuditAction.USER_PASSWORD_CHANGED) == []


def test_a_wrong_current_password_from_an_overlong_or_no_address_counts_like_any_other(db, people):
    me, new, long_address = _me(db), "sungai-kayan-hulu-7", "2001:db8::" + "e" * 300
    for address in (long_address, ""):
        with db.transaction() as s:
            assert sign_in.change_password(s, me, "bukan-sandinya", new, new, address) is None
    assert [a.address for a in _attempts(db)] == [long_address[: sign_in.ADDRESS_CHARS], "-"]
    failed = _events(db, AuditAction.USER_SIGN_IN_FAILED)
    assert [e.after["address"] for e in failed] == [long_address[: sign_in.ADDRESS_CHARS], "-"]
