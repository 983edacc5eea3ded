"""Rules of deciding, claiming and judging tasks, of update cycles and of the year's determination
that a person of the product meets: who may act at which step, what a refused action leaves behind,
what the audit trail keeps, and where the bounds of periods, deadlines and revisions lie."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.errors import Conflict, Forbidden, Invalid
from engine.people import administration, users
from engine.verification import claims, cycles, determinations, reconciliation, submissions, verdicts
from models import Determination, HumanTask, ItemVerdict, QualityFlag, Severity, User, Verdict
from tests.factories import (
    DESA,
    KABUPATEN,
    KECAMATAN,
    PERIOD,
    SYSTEM,
    actor,
    decide,
    decide_task,
    items_of,
    make_team,
    open_period,
    open_task,
    open_with_items,
    person_row,
    submit,
    verified_records,
    waiting_at_kecamatan,
)
from tests.integration.reconciliation_steps import YEAR, open_tasks, person, to_the_head


def test_one_person_does_not_act_in_two_lanes_of_the_province_in_one_year(year):
    """The Forum member who accepted the year's discrepancies cannot also approve it as the head."""
    db = year
    with db.transaction() as s:
        forum = s.scalar(select(User).where(User.username == "forum.sdi"))
        administration.assign_role(s, SYSTEM, forum.id, "kepala_dinas", "65")
    head = to_the_head(db)
    with pytest.raises(Forbidden, match="dua tingkat"), db.transaction() as s:
        reconciliation.decide_determination(
            s, person(db, "forum.sdi"), reconciliation.HeadDecision(head.id, "approve", "", "SK-1", "2026-11-25")
        )
    assert [t.id for t in open_tasks(db, "penetapan_kepala")] == [head.id]


def _two_periods_at_kabupaten(db) -> dict[str, int]:
    """Gunung Putih's submissions of two periods, each approved by its kecamatan: period -> kabupaten task."""
    make_team(db)
    tasks = {}
    for periode, serial in (("2026-Q3", 8), (PERIOD, 9)):
        submission_id = open_period(db, periode, [person_row(serial)])
        submit(db, "op.desa", submission_id)
        decide(db, "verif.kec", submission_id, "approve")
        tasks[periode] = open_task(db, submission_id, "kabupaten").id
    return tasks


def test_a_kecamatan_verifier_cannot_send_a_submission_up_with_the_desas_word(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    with pytest.raises(Invalid, match="approve \\(setuju\\) atau return"), db.transaction() as s:
        decide_task(s, team.kecamatan, task.id, "ajukan")
    assert open_task(db, submission_id, "kecamatan").id == task.id


def test_a_verdict_cannot_be_saved_on_a_task_already_decided(db):
    team, submission_id, task, item_id = waiting_at_kecamatan(db)
    with db.transaction() as s:
        decide_task(s, team.kecamatan, task.id, "approve")
    with pytest.raises(Conflict, match=f"sudah selesai oleh {team.kecamatan}"), db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.TIDAK_SESUAI, "salah")})
    with db.read() as s:
        kept = s.scalars(select(ItemVerdict.verdict).where(ItemVerdict.human_task_id == task.id)).all()
    assert kept == [Verdict.SESUAI, Verdict.SESUAI]


def test_claiming_a_task_one_already_holds_keeps_it_theirs(db):
    tasks = _two_periods_at_kabupaten(db)
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kab"), tasks[PERIOD])
    with db.transaction() as s:
        assert claims.claim_many(s, actor(db, "verif.kab"), [tasks[PERIOD]]) == {tasks[PERIOD]: "diklaim"}
    with db.read() as s:
        assert s.get(HumanTask, tasks[PERIOD]).assignee_id == actor(db, "verif.kab").user_id


def test_an_administrator_sees_only_the_open_claims_of_their_own_region(db):
    tasks = _two_periods_at_kabupaten(db)
    verifier = actor(db, "verif.kab")
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", KABUPATEN)
        users.add_user(s, SYSTEM, "admin.kab.lain", "admin", "65.02")
        claims.claim(s, verifier, tasks[PERIOD])
        claims.claim(s, verifier, tasks["2026-Q3"])
    with db.transaction() as s:
        decide_task(s, "verif.kab", tasks["2026-Q3"], "approve")
    with db.read() as s:
        assert [t.id for t in claims.held_by(s, actor(db, "admin.kab"), verifier.user_id)] == [tasks[PERIOD]]
        assert claims.held_by(s, actor(db, "admin.kab.lain"), verifier.user_id) == []


def test_a_saved_reason_is_kept_without_the_spaces_around_it(db):
    team, _, task, item_id = waiting_at_kecamatan(db)
    with db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.TIDAK_SESUAI, "  KTP buram \n")})
    with db.read() as s:
        assert s.scalar(select(ItemVerdict.alasan).where(ItemVerdict.item_id == item_id)) == "KTP buram"


BATAS = {"desa": 20, "kecamatan": 30, "kabupaten": 40, "provinsi": 50}


def test_a_reminder_as_many_days_ahead_as_the_desa_has_is_kept(db):
    with db.transaction() as s:
        cycles.set_rhythm(s, SYSTEM, "triwulan", 1, BATAS, 20)
    with db.read() as s:
        assert cycles.rhythm(s).pengingat_hari == 20


def test_a_desas_task_sent_back_is_held_to_no_deadline_of_its_own_only_the_cycles(db):
    """The desa's deadline is the cycle's, reminded and counted at closing: a task returned to the desa is
    not made due (and escalated) by it, as a verifier's task is by its tier's."""
    with clock.frozen_at(datetime.fromisoformat("2026-10-20T10:00+08:00")):
        cycles.open_cycle(db, SYSTEM, PERIOD, region=DESA)
        _, submission_id, _, _ = waiting_at_kecamatan(db)
        decide(db, "verif.kec", submission_id, "return", "Data dua orang belum lengkap")
        desa_task = open_task(db, submission_id, "desa")
    assert desa_task.due_at is None


def test_a_regencys_administrator_cannot_set_the_provinces_rhythm(db, regency_admin):
    with pytest.raises(Forbidden), db.transaction() as s:
        cycles.set_rhythm(s, regency_admin, "semester", 5, BATAS, 3)
    with db.read() as s:
        assert cycles.rhythm(s).ritme == "triwulan"


def _frozen(db, times: int) -> list[int]:
    """The reconciliation year determined `times` times over: each revision's id, in order."""
    ids = []
    for n in range(times):
        with db.transaction() as s:
            approval = determinations.Approval("65", YEAR, f"SK-{n}/2027", date(2027, 1, 5), alasan_revisi=f"ralat {n}")
            ids.append(determinations.freeze(s, person(db, "kepala.dinas"), approval).id)
    return ids


def test_each_revision_of_a_determination_follows_the_newest_one(year):
    ids = _frozen(year, 3)
    with year.read() as s:
        chain = [(d.revisi, d.replaces_id) for d in (s.get(Determination, i) for i in ids)]
        assert chain == [(0, None), (1, ids[0]), (2, ids[1])]
        assert determinations.latest(s, YEAR).id == ids[2]


def test_a_determination_totals_the_provinces_own_figures_and_shows_a_changed_content(year):
    with year.transaction() as s:
        users.add_user(s, SYSTEM, "op.lain", "operator", "65.01.01.2006")
    verified_records(year, "65.01.01.2006", (11,))  # a second desa with a figure of its own
    (frozen,) = _frozen(year, 1)
    with year.transaction() as s:
        d = s.get(Determination, frozen)
        assert determinations.summary(d)["totals"] == {"LUT": 4, "ODHA": 1, "jumlah": 5}
        assert determinations.summary(d)["hash_sah"] is True
        altered = {**d.content, "angka": [row for row in d.content["angka"] if row[1] != "ODHA"]}
    with year.transaction() as s:  # changed behind the product's back, in the database itself
        s.execute(update(Determination.__table__).where(Determination.id == frozen).values(content=altered))
    with year.read() as s:
        assert determinations.summary(s.get(Determination, frozen))["hash_sah"] is False


def test_a_warning_that_stops_a_kabupaten_approval_names_the_person_with_the_nik_masked(db):
    tasks = _two_periods_at_kabupaten(db)
    nik = person_row(9)["nik"]
    with db.transaction() as s:
        task = s.get(HumanTask, tasks[PERIOD])
        s.add(
            QualityFlag(
                rule="nik_ganda",
                severity=Severity.WARNING,
                message=f"NIK {nik} juga terdaftar di desa lain",
                region_kode=task.kode_desa,
                submission_id=task.submission_id,
            )
        )
    with pytest.raises(Invalid, match="belum diakui") as refused, db.transaction() as s:
        decide_task(s, "verif.kab", tasks[PERIOD], "approve")
    [problem] = refused.value.problems
    assert problem.message.startswith("NIK ") and nik not in problem.message and nik[-4:] not in problem.message


def test_a_bulk_claim_refuses_a_task_of_the_persons_other_tier_without_saying_why(db):
    """Who verified at the kecamatan cannot take the kabupaten's task too, and the bulk claim says
    only that the task cannot be taken, as it does for a task outside the person's region."""
    team, submission_id, _, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.dua", "verifier", KECAMATAN)
        users.add_user(s, SYSTEM, "verif.dua", "verifier", KABUPATEN)
    decide(db, "verif.dua", submission_id, "approve")
    task = open_task(db, submission_id, "kabupaten")
    with db.transaction() as s:
        outcome = claims.claim_many(s, actor(db, "verif.dua"), [task.id])
    assert outcome == {task.id: f"Tugas {task.id} tidak ada di kotak tugas Anda atau tidak dapat Anda ambil"}


def test_the_operator_is_shown_only_what_the_last_return_found_not_in_order(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    first, second = (item.id for item in items_of(db, submission_id))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "cek KTP", {first: "KTP tidak cocok"})
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "cek KK", {second: "KK tidak cocok"})
    with db.read() as s:
        page = submissions.submission_page(s, actor(db, team.operator), submission_id, tampil="dikembalikan")
    assert [row.item.id for row in page.returned_items] == [second] and page.returned_total == 1
    assert [row.item.id for row in page.items] == [second]
