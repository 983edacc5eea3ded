"""Who is told of what: the people of the tier, region and role an event concerns, only those still
active, never those of a neighbouring region, and never twice for the same moment."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from engine.core import events
from engine.people import users
from models import Submission, SubmissionStatus, User
from notifications import recipients
from tests.factories import DESA, PERIOD, SYSTEM, make_team, open_with_items

NEIGHBOUR = "65.01.01.2006"  # another desa of Kecamatan Tanjung Palas
OUTSIDE = "65.01.02.2001"  # a desa of the next kecamatan (Long Beluah)


def _add(db, *people: tuple[str, str, str]) -> None:
    with db.transaction() as s:
        for username, role, region in people:
            users.add_user(s, SYSTEM, username, role, region)


def _leave(db, username: str) -> None:
    with db.transaction() as s:
        s.scalar(select(User).where(User.username == username)).aktif = False


def _told(db, event: events.DomainEvent) -> set[str]:
    with db.read() as s:
        return {u.username for u in recipients.for_event(s, event)}


def _operators(db) -> None:
    """The team around Gunung Putih, an operator of the neighbouring desa, one of the next kecamatan,
    and an operator of Gunung Putih who has left."""
    make_team(db)
    _add(db, ("op.tetangga", "operator", NEIGHBOUR), ("op.luar", "operator", OUTSIDE), ("op.pergi", "operator", DESA))
    _leave(db, "op.pergi")


def test_a_new_task_tells_the_active_working_people_of_its_tier_and_region_only(db):
    make_team(db)
    _add(
        db,
        ("verif.kec.lain", "verifier", "65.01.02"),
        ("verif.kec.pergi", "verifier", "65.01.01"),
        ("auditor.kec", "auditor", "65.01.01"),
    )
    _leave(db, "verif.kec.pergi")
    created = events.TaskCreated(task_id=1, nama="Verifikasi", tingkat="kecamatan", region_kode="65.01.01")
    assert _told(db, created) == {"verif.kec"}
    due = events.TaskDueSoon(task_id=1, nama="Verifikasi", tingkat="kecamatan", region_kode="65.01.01")
    assert _told(db, due) == {"verif.kec"}


def test_a_task_announced_by_the_opening_is_not_told_again(db):
    make_team(db)
    announced = events.TaskCreated(task_id=1, nama="Isi", tingkat="desa", region_kode=DESA, diumumkan=True)
    assert _told(db, announced) == set()


def test_a_lane_task_tells_the_lanes_role_not_the_tiers_working_role(db):
    make_team(db)
    _add(db, ("walidata.prov", "walidata", "65"))
    lane = events.TaskCreated(task_id=1, nama="Telaah", tingkat="provinsi", region_kode="65", peran="walidata")
    assert _told(db, lane) == {"walidata.prov"}


def test_a_return_and_an_approval_tell_the_desas_active_operators(db):
    _operators(db)
    returned = events.SubmissionReturned(submission_id=1, kode_desa=DESA, periode=PERIOD, tingkat="kecamatan")
    verified = events.SubmissionVerified(submission_id=1, kode_desa=DESA, periode=PERIOD)
    assert _told(db, returned) == {"op.desa"}
    assert _told(db, verified) == {"op.desa"}


def test_an_opening_tells_the_active_operators_within_its_region_once(db):
    _operators(db)
    _add(db, ("verif.kec.dua", "verifier", "65.01.01"))

    def opened(region: str, sudah: tuple[str, ...] = ()) -> set[str]:
        return _told(db, events.CycleOpened(periode=PERIOD, region_kode=region, sudah=sudah))

    assert opened("65.01.01") == {"op.desa", "op.tetangga"}  # not the next kecamatan, no verifier, no one gone
    assert opened(DESA) == {"op.desa"}  # a desa opened on its own
    assert opened("65.01.01", (DESA,)) == {"op.tetangga"}  # Gunung Putih heard of it before
    assert opened("65.01", ("65.01.01",)) == {"op.luar"}  # the kecamatan's desa heard of it before
    assert opened("65") == {"op.desa", "op.tetangga", "op.luar"}


def test_a_closing_tells_the_operators_within_the_cycles_region(db):
    _operators(db)
    assert _told(db, events.CycleClosed(periode=PERIOD, region_kode="65.01.01")) == {"op.desa", "op.tetangga"}
    assert _told(db, events.CycleClosed(periode=PERIOD)) == {"op.desa", "op.tetangga", "op.luar"}  # older events


def test_the_deadline_reminder_tells_only_the_desa_whose_submission_is_not_in(db):
    """A draft and a returned submission are still due; a submitted one is not, nor another period's."""
    _operators(db)
    _add(db, ("op.ketiga", "operator", "65.01.01.2007"), ("auditor.desa", "auditor", DESA))  # not an operator
    standing = {
        DESA: SubmissionStatus.DRAF,
        NEIGHBOUR: SubmissionStatus.DIKEMBALIKAN,
        "65.01.01.2007": SubmissionStatus.DIAJUKAN,
        OUTSIDE: SubmissionStatus.DRAF,
    }
    ids = {desa: open_with_items(db, rows=[], desa=desa) for desa in standing}
    with db.transaction() as s:
        for desa, status in standing.items():
            s.get(Submission, ids[desa]).status = status
        s.get(Submission, ids[OUTSIDE]).periode = "2026-Q3"  # the next kecamatan's is of another period
    reminder = events.CycleClosingSoon(periode=PERIOD, batas="2026-12-31T23:59:00+08:00")
    assert _told(db, reminder) == {"op.desa", "op.tetangga"}  # and not op.pergi, who left


def test_a_late_task_tells_its_tier_and_the_one_above_who_only_follow_it(db):
    team = make_team(db)
    _add(db, ("verif.kab.lain", "verifier", "65.02"), ("verif.dua", "verifier", "65.01.01"))
    _add(db, ("verif.dua", "verifier", "65.01"))  # of both tiers: told as the late one
    late = events.TaskOverdue(
        task_id=1, nama="Verifikasi", tingkat="kecamatan", region_kode="65.01.01", eskalasi_ke="kabupaten"
    )
    with db.read() as s:
        people, above_only = recipients.told_of_late_task(s, late)
        ids = {u.username: u.id for u in people}
        assert {u.username for u in recipients.for_event(s, late)} == set(ids)
    assert set(ids) == {team.kecamatan, team.kabupaten, "verif.dua"} and len(people) == 3
    assert above_only == {ids[team.kabupaten]}
    top = events.TaskOverdue(task_id=2, nama="Validasi", tingkat="provinsi", region_kode="65", eskalasi_ke="provinsi")
    with db.read() as s:
        people, above_only = recipients.told_of_late_task(s, top)
    assert [u.username for u in people] == [team.provinsi] and above_only == set()


def test_an_update_tells_the_desa_and_the_tier_judging_it_while_its_task_is_open(db):
    from models import HumanTask, TaskStatus
    from tests.factories import waiting_at_kecamatan

    team, sid, task, _ = waiting_at_kecamatan(db)
    _add(db, ("op.dan.kec", "operator", DESA), ("op.dan.kec", "verifier", "65.01.01"))  # of both: told as the desa
    update = events.SubmissionBroughtUpToDate(
        submission_id=sid, kode_desa=DESA, periode=PERIOD, oleh_periode="2026-Q3", tingkat="kecamatan", task_id=task.id
    )

    def told() -> tuple[dict[str, int], set[int]]:
        with db.read() as s:
            people, judging = recipients.told_of_update(s, update)
        return {u.username: u.id for u in people}, judging

    people, judging = told()
    assert set(people) == {team.operator, "op.dan.kec", team.kecamatan} and judging == {people[team.kecamatan]}
    with db.read() as s:
        assert len(recipients.told_of_update(s, update)[0]) == 3  # each once
    with db.transaction() as s:
        s.get(HumanTask, task.id).status = TaskStatus.SELESAI  # decided since: only the desa reloads
    assert told() == ({team.operator: people[team.operator], "op.dan.kec": people["op.dan.kec"]}, set())
    with db.transaction() as s:
        s.get(Submission, sid).status = SubmissionStatus.DIKEMBALIKAN  # returned: it waits with its desa
    with db.read() as s:
        back, judging = recipients.told_of_update(s, dataclasses.replace(update, tingkat="desa", task_id=None))
    assert {u.username for u in back} == {team.operator, "op.dan.kec"} and judging == set()
    with db.transaction() as s:
        s.get(Submission, sid).status = SubmissionStatus.TERVERIFIKASI  # approved in the same action
    assert told() == ({}, set())


def _task_after(db, sid: int, tingkat, decided: bool, keputusan=None):  # noqa: ANN001
    """A task of the submission's instance at `tingkat`, added after the ones there (decided or open)."""
    import uuid

    from engine.core import clock
    from models import HumanTask, TaskStatus

    with db.transaction() as s:
        first = s.scalars(select(HumanTask).where(HumanTask.submission_id == sid).order_by(HumanTask.id)).first()
        region = DESA if tingkat.value == "desa" else DESA[: {"kecamatan": 8, "kabupaten": 5}[tingkat.value]]
        task = HumanTask(
            instance_id=first.instance_id,
            spiff_task_id=str(uuid.uuid4()),
            bpmn_id=first.bpmn_id,
            nama=first.nama,
            tingkat=tingkat,
            region_kode=region,
            kode_desa=DESA,
            periode=PERIOD,
            business_key=first.business_key,
            submission_id=sid,
            status=TaskStatus.SELESAI if decided else TaskStatus.TERBUKA,
            keputusan=keputusan,
            completed_at=clock.now() if decided else None,
        )
        s.add(task)
        s.flush()
        return events.TaskCreated(
            task_id=task.id,
            nama=task.nama,
            tingkat=tingkat.value,
            region_kode=region,
            kode_desa=DESA,
            periode=PERIOD,
            submission_id=sid,
        )


def test_only_the_desas_step_brought_back_by_a_return_is_left_to_the_returns_notice(db):
    """A kecamatan step a kabupaten's return brings back is told (the return's notice goes to the desa
    alone); a desa step brought back otherwise is told even when a later return is decided by then."""
    from models import Decision, Tier
    from tests.factories import submit

    team = make_team(db)
    sid = open_with_items(db)
    submit(db, team.operator, sid)  # the desa's step decided "ajukan"; the kecamatan's open
    again = _task_after(db, sid, Tier.DESA, decided=False)
    assert _told(db, again) == {team.operator}
    _task_after(db, sid, Tier.KECAMATAN, decided=True, keputusan=Decision.KEMBALIKAN)  # a return after it
    assert _told(db, again) == {team.operator}  # delivered late, it is still told
    _task_after(db, sid, Tier.KABUPATEN, decided=True, keputusan=Decision.KEMBALIKAN)
    assert _told(db, _task_after(db, sid, Tier.KECAMATAN, decided=False)) == {team.kecamatan}
    assert _told(db, _task_after(db, sid, Tier.DESA, decided=False)) == set()  # the last decision returned it


def test_a_message_names_the_desa_it_is_about_before_the_region_of_the_task(db):
    from models import Region

    created = events.TaskCreated(
        task_id=1, nama="Verifikasi", tingkat="kecamatan", region_kode="65.01.01", kode_desa=DESA
    )
    opened = events.CycleOpened(periode=PERIOD, region_kode="65.01.01")
    with db.read() as s:
        desa, kecamatan = s.get(Region, DESA).nama, s.get(Region, "65.01.01").nama
        assert recipients.place_name(s, created) == desa != kecamatan
        assert recipients.place_name(s, opened) == kecamatan


def test_a_lane_tasks_reminder_and_escalation_go_to_the_lanes_role(db):
    """A reconciliation step's reminder and its escalation carry its lane, as its creation does: the
    steward who can open it is told, not the province's validator who cannot."""
    import uuid
    from datetime import timedelta

    from engine.core import clock
    from engine.verification import cycles, status
    from models import HumanTask, OutboxEvent, Tier

    make_team(db)
    _add(db, ("walidata.prov", "walidata", "65"))
    sid = open_with_items(db)
    with db.transaction() as s:
        first = s.get(Submission, sid)
        task = HumanTask(
            instance_id=first.instance_id,
            spiff_task_id=str(uuid.uuid4()),
            bpmn_id="telaah",
            nama="Telaah walidata",
            tingkat=Tier.PROVINSI,
            peran="walidata",
            region_kode="65",
            kode_desa=DESA,
            periode=PERIOD,
            business_key="rekonsiliasi:2026",
            due_at=clock.now() + timedelta(hours=5),
        )
        s.add(task)
        s.flush()
        cycles.remind_due_tasks(s, clock.now(), timedelta(days=1))
        status.mark_overdue(s, SYSTEM, task)
    with db.read() as s:
        sent = [
            events.CATALOGUE[row.event_type](**row.payload)
            for row in s.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type.in_(("task.due_soon", "task.overdue")))
            )
        ]
    lane = [e for e in sent if e.nama == "Telaah walidata"]
    assert len(lane) == 2 and all(_told(db, e) == {"walidata.prov"} for e in lane)
