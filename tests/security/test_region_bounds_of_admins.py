"""A regency's people act within their regency, and what applies to the whole province is the
province's: cycles, agency tokens, accounts without a region, the year's reconciliation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.core.errors import Forbidden, NotFound
from engine.people import administration, sign_in, tokens, users
from engine.quality import agency_indicators
from engine.verification import cycles, dtsen, period_figures, submissions
from models import AgencyToken, ApiResource, Cycle, CycleStatus, LoginAttempt, Submission, SubmissionStatus
from tests.factories import DESA, PERIOD, SYSTEM, make_team, new_person

pytestmark = pytest.mark.usefixtures("db")


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- update cycles ---------------------------------------------------------------------------------


def test_a_regency_admin_cannot_close_the_provinces_cycle(db, regency_admin, province_admin):
    # Closing marks every desa of the province that has not submitted as not reporting: a regency's
    # admin would be recording that about the other regencies' desa too.
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    drafts = _count(db, Submission, Submission.status == SubmissionStatus.DRAF)
    assert drafts > 0
    with pytest.raises(Forbidden, match="seluruh provinsi"):
        cycles.close_cycle(db, regency_admin, PERIOD, early=True)
    assert _count(db, Submission, Submission.status == SubmissionStatus.DRAF) == drafts
    assert _count(db, Submission, Submission.status == SubmissionStatus.TIDAK_MELAPOR) == 0
    assert _count(db, Cycle, Cycle.status == CycleStatus.DITUTUP) == 0
    outcome = cycles.close_cycle(db, province_admin, PERIOD, early=True)
    assert outcome["tidak_melapor"] == drafts


def test_a_regency_admin_opens_its_own_desa_but_not_another_regencys(db, regency_admin):
    # Bulungan's admin opening Malinau's desa would set Malinau's operators to work on its say.
    with pytest.raises(NotFound, match="65.02"):
        cycles.open_cycle(db, regency_admin, PERIOD, region="65.02")
    assert _count(db, Submission) == 0
    opened = cycles.open_cycle(db, regency_admin, PERIOD, region="65.01.01")
    assert opened.opened > 0
    assert _count(db, Submission, Submission.kode_desa.like("65.01.01.%")) == opened.opened
    assert _count(db, Submission, Submission.kode_desa.like("65.02.%")) == 0


# --- agency tokens ---------------------------------------------------------------------------------


def _token(db, region: str) -> int:
    request = tokens.TokenRequest(instansi="DP3AP2KB", region_kode=region, resources=(ApiResource.AGREGAT.value,))
    with db.transaction() as s:
        return tokens.create_token(s, SYSTEM, request).token.id


def _still_active(db, token_id: int) -> bool:
    with db.read() as s:
        return tokens.state(s.get(AgencyToken, token_id)) == tokens.TokenState.AKTIF


@pytest.mark.parametrize("region", ["65.02", "65"])
def test_a_regency_admin_cannot_cut_off_an_agency_outside_its_regency(db, regency_admin, region):
    # Malinau's agency, or one reading the whole province, goes on reading: to Bulungan's admin the
    # token is not there.
    token_id = _token(db, region)
    with db.transaction() as s, pytest.raises(NotFound, match=f"Token {token_id} tidak ada"):
        tokens.revoke_token(s, regency_admin, token_id, "coba")
    assert _still_active(db, token_id)


def test_a_regency_admin_revokes_a_token_of_its_own_regency(db, regency_admin):
    token_id = _token(db, "65.01.01")
    with db.transaction() as s:
        tokens.revoke_token(s, regency_admin, token_id, "instansi berganti sistem")
    assert not _still_active(db, token_id)


def test_only_the_province_moves_a_token_to_a_successor_region(db, regency_admin, province_admin):
    # A decree's recoding applies to the whole province; a regency's admin could otherwise point an
    # agency of its own at another regency's people.
    token_id = _token(db, "65.01")
    with db.transaction() as s, pytest.raises(Forbidden, match="admin provinsi"):
        tokens.move_token(s, regency_admin, token_id, "65.02", "keputusan menteri")
    with db.read() as s:
        assert s.get(AgencyToken, token_id).region_kode == "65.01"
    with db.transaction() as s:
        tokens.move_token(s, province_admin, token_id, "65.02", "keputusan menteri")
    with db.read() as s:
        assert s.get(AgencyToken, token_id).region_kode == "65.02"


# --- accounts without roles ------------------------------------------------------------------------


@pytest.fixture
def roleless(db) -> int:
    """A former operator whose only role was taken away, and who has since been guessed at."""
    with db.transaction() as s:
        user = users.add_user(s, SYSTEM, "mantan.operator", "operator", DESA)
        administration.remove_role(s, SYSTEM, user.roles[0].id, "pindah tugas")
        for _ in range(3):
            s.add(LoginAttempt(username="mantan.operator", address="10.0.0.9"))
        return user.id


def test_a_regency_admin_cannot_unlock_a_person_without_roles(db, roleless, regency_admin, province_admin):
    # A person without roles lies in no regency: whether they may sign in again is the province's call.
    with db.transaction() as s, pytest.raises(NotFound, match="mantan.operator"):
        sign_in.unlock(s, regency_admin, "mantan.operator")
    assert _count(db, LoginAttempt) == 3
    with db.transaction() as s:
        assert sign_in.unlock(s, province_admin, "mantan.operator") == 3
    assert _count(db, LoginAttempt) == 0


def test_a_regency_admin_cannot_deactivate_a_person_without_roles(db, roleless, regency_admin, province_admin):
    with db.transaction() as s, pytest.raises(NotFound):
        administration.set_active(s, regency_admin, roleless, False)
    with db.transaction() as s:
        administration.set_active(s, province_admin, roleless, False)
    with db.read() as s:
        assert users.find_user(s, "mantan.operator").aktif is False


# --- a desa's own work -----------------------------------------------------------------------------


def test_a_kecamatan_verifier_does_not_open_or_read_as_one_of_its_desa(db):
    # The verifier checks what the desa sends; opening the desa's submission, or reading its DTSEN
    # residents for the musyawarah, is the desa operator's.
    team = make_team(db)
    with db.read() as s:
        verifier = Actor.of(users.find_user(s, team.kecamatan))
        operator = Actor.of(users.find_user(s, team.operator))
    with db.transaction() as s, pytest.raises(NotFound, match=DESA):
        submissions.open_submission(s, verifier, DESA, PERIOD, "65")
    assert _count(db, Submission) == 0
    with db.read() as s, pytest.raises(NotFound, match=DESA):
        dtsen.desa_information(s, verifier, DESA)
    with db.read() as s:
        assert dtsen.desa_information(s, operator, DESA) == []
    with db.transaction() as s:
        assert submissions.open_submission(s, operator, DESA, PERIOD, "65").created


# --- the year's reconciliation ---------------------------------------------------------------------


def test_only_the_provinces_walidata_maps_an_agencys_indicators(db):
    # The mapping holds for every regency's comparison: a regency's walidata would be deciding the
    # other regencies' discrepancies.
    regency = new_person(db, "walidata.kab", "walidata", "65.01")
    province = new_person(db, "walidata.prov", "walidata", "65")
    mapping = agency_indicators.Mapping("DP3AP2KB", "kasus kekerasan anak", "LUT", sama=False)
    with db.transaction() as s, pytest.raises(Forbidden, match="provinsi"):
        agency_indicators.set_mapping(s, regency, mapping)
    with db.read() as s:
        assert agency_indicators.mappings(s) == []
    with db.transaction() as s:
        agency_indicators.set_mapping(s, province, mapping)
    with db.read() as s:
        assert [m["indikator"] for m in agency_indicators.mappings(s)] == ["kasus kekerasan anak"]


# --- a region's figures ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["verifier", "admin"])
def test_a_regencys_overseer_does_not_read_another_regencys_figures(db, role):
    person = new_person(db, f"{role}.kab", role, "65.01")
    with db.read() as s, pytest.raises(NotFound, match="65.02"):
        period_figures.region_figures(s, person, "65.02", "", "65")
    with db.read() as s:
        assert period_figures.region_figures(s, person, "65.01", "", "65").kode == "65.01"


def test_another_regencys_figures_page_is_not_there_for_a_regencys_admin(db, people, password_hash, signed_in):
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", "65.01").password_hash = password_hash
    regency = signed_in("admin.kab")
    assert regency.get("/mutu/angka?wilayah=65.02").status_code == 404
    assert regency.get("/mutu/angka?wilayah=65").status_code == 404  # nor the province above it
    assert regency.get("/mutu/angka?wilayah=65.01").status_code == 200
