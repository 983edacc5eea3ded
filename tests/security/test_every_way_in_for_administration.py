"""The administrators' work reached from the admin pages, the command line and the engine's own call
refuses the same things, and a refusal leaves nothing written: a person held back by wrong guesses is
let in by a new password however it is set; a cycle is opened for no region outside Kalimantan Utara;
a token's revocation reason is held to its bound on the tokens page and on the trail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.core.errors import SijoskuError
from engine.people import administration, users
from engine.verification import cycles
from models import AgencyToken, AuditEvent, Cycle, LoginAttempt, Region, RegionChange, Submission
from tests.factories import SYSTEM
from tests.regions import as_csv, listing, regions_restored  # noqa: F401  (the fixture)
from tests.web.conftest import Browser

NEW = "sandi-baru-dari-admin-77"
GUESSES = 12  # wrong passwords typed for the operator, past the free ones: signing in must wait


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _id(db, username: str) -> int:
    with db.read() as s:
        return users.find_user(s, username).id


def _held_back(db, username: str) -> None:
    with db.transaction() as s:
        for _ in range(GUESSES):
            s.add(LoginAttempt(username=username, address="127.0.0.1"))


def _reset(way, db, cli, signed_in, username: str, password: str) -> None:
    if way == "person's page":
        admin = signed_in("admin.prov")
        page = f"/admin/pengguna/{_id(db, username)}"
        admin.post(f"{page}/sandi", {"password": password}, token_from=page)
    elif way == "command line":
        cli("user", "password", username, "--password-stdin", input=password + "\n", ok=None)
    else:
        with db.transaction() as s:
            admin = Actor.of(users.find_user(s, "admin.prov"))
            administration.reset_password(s, admin, _id(db, username), password)


RESET_WAYS = ["person's page", "command line", "engine"]


@pytest.mark.parametrize("way", RESET_WAYS)
def test_a_new_password_lets_a_person_held_back_by_wrong_guesses_in_at_once(way, app, db, people, cli, signed_in):
    """An operator who forgot the password and was held back by the guesses made meanwhile is given a
    new one by the administrator, on the person's page or from the command line: they sign in with it
    at once, not after the wait, and the clearing is on the trail."""
    _held_back(db, "op.desa")
    _reset(way, db, cli, signed_in, "op.desa", NEW)
    assert _count(db, LoginAttempt, LoginAttempt.username == "op.desa") == 0
    assert _count(db, AuditEvent, AuditEvent.action == "USER_UNLOCKED", AuditEvent.subject_id == "op.desa") == 1
    assert Browser(app.test_client()).login("op.desa", NEW).status_code == 302


# --- opening an update cycle ------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["65.99", "64.01"])
@pytest.mark.parametrize("way", ["command line", "calendar in the engine"])
def test_a_cycle_is_opened_for_no_region_unknown_or_outside_the_province(way, region, db, cli):
    """A mistyped region code, or a regency of the neighbouring province (Kalimantan Timur's Paser),
    opens nothing: no cycle for the period, no desa asked to report, nothing on the trail; the same
    command for a kecamatan of Kalimantan Utara opens it."""
    trail = _count(db, AuditEvent)
    if way == "command line":
        refused = cli("cycle", "open", "2027-Q1", "--region", region, ok=False)
        assert region in refused.output + refused.stderr
    else:
        with pytest.raises(SijoskuError, match=region):
            cycles.open_cycle(db, SYSTEM, "2027-Q1", region=region)
    assert (_count(db, Cycle), _count(db, Submission), _count(db, AuditEvent)) == (0, 0, trail)
    cli("cycle", "open", "2027-Q1", "--region", "65.01.01")
    assert _count(db, Submission) > 0


# --- agency tokens ----------------------------------------------------------------------------------


def _token(db, issue_token) -> int:
    issue_token(region="65.01", resources=("agregat",))
    with db.read() as s:
        return s.scalar(select(AgencyToken.id))


def _revocations(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "TOKEN_REVOKED")))


def test_a_revocation_reason_past_its_bound_is_refused_on_the_page_and_kept_to_it_from_the_command_line(
    db, people, signed_in, cli, issue_token
):
    """The tokens page takes a reason of at most 500 characters: a longer one is refused and the agency
    goes on reading. The command line, which the server's operators use when an agency's secret leaks,
    revokes at once and keeps the reason's first 500 characters on the trail."""
    token_id = _token(db, issue_token)
    admin = signed_in("admin.prov")
    refused = admin.post(f"/admin/token/{token_id}/cabut", {"alasan": "r" * 501}, token_from="/admin/token")
    assert refused.status_code == 400
    assert _revocations(db) == []
    with db.read() as s:
        assert s.get(AgencyToken, token_id).revoked_at is None
    cli("token", "revoke", str(token_id), "--reason", "rahasia bocor " + "r" * 600)
    [revoked] = _revocations(db)
    assert revoked.reason == ("rahasia bocor " + "r" * 600)[:500]


# --- the province's list of regions -----------------------------------------------------------------

GUNUNG_PUTIH = "65.01.01.2005"


@pytest.mark.usefixtures("regions_restored")
def test_a_decree_named_past_its_bound_changes_no_region_from_the_command_line(db, people, cli, tmp_path):
    """The legal basis of a region update is kept in at most 200 characters, as the page's field holds
    it: a longer one typed on the command line is refused, naming the basis, and no region is renamed;
    at the bound itself, the list is previewed."""
    path = tmp_path / "wilayah.csv"
    path.write_text(as_csv(listing(rename={GUNUNG_PUTIH: "Gunung Putih Raya"})), encoding="utf-8")
    args = ["regions", "update", str(path), "--user", "admin.prov", "--effective", "2026-11-01", "--basis"]
    refused = cli(*args, "K" * 201, ok=False)
    assert "dasar hukum" in refused.output + refused.stderr
    with db.read() as s:
        assert s.get(Region, GUNUNG_PUTIH).nama == "Gunung Putih"
    assert _count(db, RegionChange) == 0
    assert _count(db, AuditEvent, AuditEvent.action == "REGIONS_UPDATED") == 0
    assert "ganti nama" in cli(*args, "K" * 200, "--dry-run").output


# --- unlocking a person -----------------------------------------------------------------------------


def test_unlocking_a_person_who_is_not_there_is_not_found_and_clears_nothing(db, people, signed_in):
    """The province's admin sends the unlock form of an account that does not exist (a deleted bookmark,
    a mistyped address): the answer is the page that is not there, and no one's failed sign-ins are
    cleared or recorded as cleared."""
    _held_back(db, "op.desa")
    admin = signed_in("admin.prov")
    missing = admin.post("/admin/pengguna/999999/buka-kunci", token_from="/admin/pengguna")
    assert missing.status_code == 404
    assert _count(db, LoginAttempt) == GUESSES
    assert _count(db, AuditEvent, AuditEvent.action == "USER_UNLOCKED") == 0


# --- making an account ------------------------------------------------------------------------------


def test_a_username_typed_with_capitals_makes_the_account_in_small_letters_on_the_people_page(db, people, signed_in):
    """Usernames are kept in small letters, as a file of accounts makes them: an administrator who types
    "Siti.Op" on the people page makes siti.op (signing in lowers what is typed), not a refusal."""
    admin = signed_in("admin.prov")
    form = {"username": " Siti.Op ", "nama": "Siti", "email": "", "role": "operator", "region": GUNUNG_PUTIH}
    made = admin.post("/admin/pengguna", {**form, "password": NEW}, token_from="/admin/pengguna")
    assert made.status_code == 302
    with db.read() as s:
        assert users.find_user(s, "siti.op").roles[0].region_kode == GUNUNG_PUTIH
