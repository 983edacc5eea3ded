"""An approval bringing the desa's other periods up to date, racing what else happens to them: the
operator's edit, mark or submit of the next period, another period's approval, a period's opening.
Each waits for the other's commit and then works on what it left, instead of writing over it with
what it read before. Each pair runs in a fixed order (`tests/integration/interleave.py`)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.core import audit
from engine.core.actors import Actor
from engine.core.errors import Conflict
from engine.people import users
from engine.verification import consistency, items, register, submissions
from models import FlagStatus, HumanTask, OutboxEvent, QualityFlag, Record, RecordStatus, TaskStatus, VervalStatus
from tests.factories import actor, confirm_register, decide_task, make_team, open_task, submit
from tests.integration.interleave import first_then_second, second_waits
from tests.integration.test_overlapping_periods import (
    ELDER,
    MOVER,
    NEWCOMER,
    _correct,
    _entry,
    _first_verified,
    _mark,
    _opened,
    _record,
    _up,
    _verified_then_next_opened,
)

MOVED = "RT 07 Dusun Baru"  # the address Q2 corrects


def _q2_at_the_province(db, change):
    q2, q3 = _verified_then_next_opened(db, change)
    _up(db, q2, ("verif.kab",))
    return q2, q3


def _approving(db, sid):
    """The province's approval of `sid`, in the session given (the first of a pair)."""
    with db.read() as s:
        task = s.scalar(
            select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == TaskStatus.TERBUKA)
        )
    return lambda s: decide_task(s, "valid.prov", task, "approve")


def _approve(db, sid):
    """The same, in a transaction of its own (the second of a pair)."""
    approving = _approving(db, sid)

    def work():
        with db.transaction() as s:
            approving(s)

    return work


def _values(person, **changes):
    return {k: person.get(k, "") for k in items.ITEM_COLUMNS} | changes


def _whole(db):
    with db.read() as s:
        assert consistency.check(s).ok and audit.verify_chain(s).ok


def test_the_operators_own_value_saved_during_the_approval_is_kept(db):
    q2, q3 = _q2_at_the_province(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    copy = _entry(db, q3, ELDER["nik"])
    saving = lambda s: items.save_item(s, actor(db, "op.desa"), q3, _values(ELDER, alamat="RT 08"), copy.id)  # noqa: E731
    assert first_then_second(db, saving, _approve(db, q2)) is None
    assert _entry(db, q3, ELDER["nik"]).data["alamat"] == "RT 08"  # not the approval's, written over it
    _whole(db)


def test_a_form_opened_before_the_approval_and_saved_during_it_is_stale(db):
    """Saved while the approval runs, the form would write the old address back over the rebased copy,
    and Q3's approval then undo Q2's correction."""
    q2, q3 = _q2_at_the_province(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    copy = _entry(db, q3, ELDER["nik"])
    form = _values(ELDER, keterangan="tinggal bersama cucu") | {"versi": copy.updated_at.isoformat()}

    def saving():
        with db.transaction() as s:
            return items.save_item(s, actor(db, "op.desa"), q3, form, copy.id)

    assert isinstance(first_then_second(db, _approving(db, q2), saving), Conflict)
    submit(db, "op.desa", q3)
    _up(db, q3)
    assert _record(db, ELDER["nik"]).alamat == MOVED


def test_a_mark_during_the_approval_keeps_its_reason(db):
    q2, q3 = _q2_at_the_province(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    copy = _entry(db, q3, ELDER["nik"])
    marking = lambda s: register.set_status(  # noqa: E731
        s, actor(db, "op.desa"), q3, [copy.id], VervalStatus.MENINGGAL, "wafat Juli"
    )
    assert first_then_second(db, marking, _approve(db, q2)) is None
    after = _entry(db, q3, ELDER["nik"])
    assert (after.verval, after.data["alasan_hapus"]) == ("meninggal", "meninggal: wafat Juli")


def test_an_edit_of_a_copy_the_approval_sets_aside_is_refused(db):
    q2, q3 = _q2_at_the_province(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat"))
    copy = _entry(db, q3, MOVER["nik"])

    def saving():
        with db.transaction() as s:
            return items.save_item(s, actor(db, "op.desa"), q3, _values(MOVER, alamat="RT 09"), copy.id)

    refused = first_then_second(db, _approving(db, q2), saving)
    assert isinstance(refused, Conflict) and "masukkan sebagai data baru" in str(refused)  # not a dead end
    assert _entry(db, q3, MOVER["nik"]).data["alamat"] != "RT 09"


def test_a_warning_raised_by_a_submit_during_the_approval_is_settled_with_its_copy(db):
    """Q3 is submitted (its check warns on the mover's copy) while Q2's approval, which records the
    mover gone, runs: the copy is set aside and its warning settled, not left for the kecamatan."""
    q2, q3 = _q2_at_the_province(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Malinau"))
    _correct(db, q3, MOVER, no_kk="6599011705500001")  # a KK region no kecamatan has: a warning

    def submitting(s):
        operator = Actor.of(users.find_user(s, "op.desa"))
        confirm_register(s, operator, q3)
        submissions.submit(s, operator, q3)

    assert first_then_second(db, submitting, _approve(db, q2)) is None
    copy = _entry(db, q3, MOVER["nik"])
    with db.read() as s:
        waiting = s.scalars(
            select(QualityFlag).where(QualityFlag.item_id == copy.id, QualityFlag.status == FlagStatus.TERBUKA)
        ).all()
    assert copy.dibuang and waiting == []
    with db.read() as s:  # told as it stands after the submit it waited for: at the kecamatan
        told = s.scalar(select(OutboxEvent.payload).where(OutboxEvent.event_type == "submission.brought_up_to_date"))
    assert told["tingkat"] == "kecamatan" and told["task_id"] == open_task(db, q3, "kecamatan").id
    _up(db, q3, ("verif.kec",))  # nothing about a person gone holds the kecamatan back


def test_a_person_entered_while_the_approval_adds_them_re_verifies_the_new_record(db):
    _first_verified(db, [ELDER])
    q2, q3 = _opened(db, "2026-Q2", [NEWCOMER]), _opened(db, "2026-Q3")
    submit(db, "op.desa", q2)
    _up(db, q2, ("verif.kec", "verif.kab"))
    entering = lambda s: items.save_item(s, actor(db, "op.desa"), q3, _values(NEWCOMER))  # noqa: E731
    assert first_then_second(db, entering, _approve(db, q2)) is None
    assert _entry(db, q3, NEWCOMER["nik"]).record_id == _record(db, NEWCOMER["nik"]).id


@pytest.mark.parametrize("first", ["Q2", "Q3"])
def test_two_periods_approved_at_once_keep_both_corrections(db, first):
    """Q2 corrects the address, Q3 the note; both wait at the province and are approved at once: the
    second applies its items as the first's approval left them, in either order."""
    q2, q3 = _q2_at_the_province(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    _correct(db, q3, ELDER, keterangan="tinggal bersama cucu")
    submit(db, "op.desa", q3)
    _up(db, q3, ("verif.kec", "verif.kab"))
    one, other = (q2, q3) if first == "Q2" else (q3, q2)
    assert first_then_second(db, _approving(db, one), _approve(db, other)) is None
    elder = _record(db, ELDER["nik"])
    assert (elder.alamat, elder.keterangan) == (MOVED, "tinggal bersama cucu")
    _whole(db)


def test_a_period_opened_during_an_approval_copies_the_register_it_leaves(db):
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2")
    _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat")
    _correct(db, q2, ELDER, alamat=MOVED)
    submit(db, "op.desa", q2)
    _up(db, q2, ("verif.kec", "verif.kab"))
    q3 = first_then_second(db, _approving(db, q2), lambda: _opened(db, "2026-Q3"))
    assert _entry(db, q3, MOVER["nik"]) is None  # the dead person is not carried into the new period
    assert _entry(db, q3, ELDER["nik"]).data["alamat"] == MOVED
    with db.read() as s:
        active = s.scalar(select(func.count()).select_from(Record).where(Record.status == RecordStatus.AKTIF))
    assert active == 1


def test_an_edit_after_a_return_during_the_approval_keeps_the_approved_correction(db):
    """Q3 waits at the kecamatan: Q2's approval reads it as sent up (its instance not locked) and
    updates its copy; the kecamatan's return commits meanwhile, and the operator saves the copy's form
    opened after the return. The save waits for the approval's lock on the copy and is then stale,
    instead of writing the old address over the approved one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite's writers take turns whole, so this interleaving cannot happen")
    q2, q3 = _q2_at_the_province(db, lambda q2: _correct(db, q2, ELDER, alamat=MOVED))
    submit(db, "op.desa", q3)
    kecamatan = open_task(db, q3, "kecamatan").id
    returned, commit_return, outcome = threading.Event(), threading.Event(), {}

    def returning():  # decided before the approval reads Q3, committed while it runs
        with db.transaction() as s:
            decide_task(s, "verif.kec", kecamatan, "return", reason="periksa lagi")
            returned.set()
            commit_return.wait(60)

    def saving():
        copy = _entry(db, q3, ELDER["nik"])
        form = _values(ELDER, keterangan="tinggal bersama cucu") | {"versi": copy.updated_at.isoformat()}
        try:
            with db.transaction() as s:
                outcome["saved"] = items.save_item(s, actor(db, "op.desa"), q3, form, copy.id)
        except Conflict as exc:
            outcome["saved"] = exc

    returner, saver = threading.Thread(target=returning), threading.Thread(target=saving)
    returner.start()
    returned.wait(60)
    with db.transaction() as s:
        _approving(db, q2)(s)
        commit_return.set()
        returner.join(60)
        saver.start()
        second_waits(db)
    saver.join(60)
    assert isinstance(outcome["saved"], Conflict)
    assert _entry(db, q3, ELDER["nik"]).data["alamat"] == MOVED


def test_two_bulk_approvals_sharing_two_desa_take_them_in_one_order(db, monkeypatch):
    """Two validators each approve, in one bulk action, one period of desa A and one of desa B, the
    province tasks numbered A-Q2 < B-Q2 < B-Q3 < A-Q3. Taken in task order, the first held A's
    register and waited for B's while the second held B's and waited for A's (a deadlock); taken by
    desa, the second waits for A's and both finish."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite's writers take turns whole, so no circle can form")
    from engine.people import users
    from engine.verification import bulk_approval, decisions, imports
    from tests.factories import SYSTEM, csv_of, person_row

    make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.b", "operator", "65.01.01.2006")
        users.add_user(s, SYSTEM, "valid.prov2", "validator", "65")

    def at_kabupaten(desa, operator, period, serial):
        with db.transaction() as s:
            sid = submissions.open_submission(s, SYSTEM, desa, period, "65").submission.id
            imports.import_items(s, SYSTEM, sid, csv_of([person_row(serial)]))
        submit(db, operator, sid)
        _up(db, sid, ("verif.kec",))
        return sid

    a2, b2 = (
        at_kabupaten("65.01.01.2005", "op.desa", "2026-Q2", 1),
        at_kabupaten("65.01.01.2006", "op.b", "2026-Q2", 51),
    )
    a3, b3 = (
        at_kabupaten("65.01.01.2005", "op.desa", "2026-Q3", 2),
        at_kabupaten("65.01.01.2006", "op.b", "2026-Q3", 52),
    )
    for sid in (a2, b2, b3, a3):  # the province's tasks made in this order
        _up(db, sid, ("verif.kab",))
    task = {sid: open_task(db, sid).id for sid in (a2, b2, b3, a3)}
    real, first_done, go_on, outcome = decisions.decide, threading.Event(), threading.Event(), {}

    def pausing(session, person, command):  # the first validator stops after its first approval
        decided = real(session, person, command)
        if person.name == "valid.prov" and not first_done.is_set():
            first_done.set()
            go_on.wait(60)
        return decided

    monkeypatch.setattr(bulk_approval.decisions, "decide", pausing)

    def approving(user, sids):
        try:
            with db.transaction() as s:
                outcome[user] = bulk_approval.approve_many(s, actor(db, user), task_ids=[task[i] for i in sids])
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcome[user] = exc

    first = threading.Thread(target=approving, args=("valid.prov", (a2, b3)))
    first.start()
    first_done.wait(60)
    second = threading.Thread(target=approving, args=("valid.prov2", (b2, a3)))
    second.start()
    second_waits(db)  # for the register of desa A, which the first holds
    go_on.set()
    first.join(60)
    second.join(60)
    assert [sorted(o.decided) for o in (outcome["valid.prov"], outcome["valid.prov2"])] == [
        sorted([task[a2], task[b3]]),
        sorted([task[b2], task[a3]]),
    ]
    _whole(db)
