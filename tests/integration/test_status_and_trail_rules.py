"""A submission's status, the task inbox, the audit trail's reading and the process listing: rules
found untested by hand-made mutation, each pinned here.

- a return tells the desa which tier sent it back and why, on the submission and on the instance's
  history; the reason goes when the desa submits again, in the next round;
- a failed automatic check counts every error; closing a cycle puts each silent desa on the trail;
- a late task is escalated once, to the tier above, and leads the inbox sorted by priority;
- the inbox sorts the newest first when asked, shows the last page for one beyond it, says what each
  desa stated, places a reconciliation step at its regency, and lists saved filters by name;
- an auditor finds a record by its desa's own code and its category; the instance's history and the
  export read in order, masked on the page, never a formula in the export, exported for a reason;
- auditors read the process versions; a diagram is shown to a verifier only where it runs in their
  region; moving instances counts the running ones only, refuses the same version and a missing step;
  stuck instances are the running ones, newest failure first; only the province's admin retries one.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.people import users
from engine.verification import cycles, imports, inbox, processes, reconciliation, status, trail
from models import AuditEvent, HumanTask, InstanceStatus, OutboxEvent, ProcessInstance, Submission, SubmissionStatus
from tests.factories import (
    DESA,
    PERIOD,
    RECONCILIATION_YEAR,
    SYSTEM,
    actor,
    approved_everywhere,
    build_world,
    csv_of,
    decide,
    make_team,
    new_person,
    open_task,
    open_with_items,
    person_row,
    submit,
    waiting_at_kecamatan,
)
from tests.integration.test_definitions import variant

KEY = "verifikasi_berjenjang"  # the tiered verification
NEIGHBOUR = "65.01.01.2006"  # a desa of the same kecamatan as Gunung Putih


def _events(db, action):
    with db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


# --- a submission's status ---------------------------------------------------------------------------


def test_a_return_names_its_tier_and_reason_until_the_desa_submits_again(db):
    team, sid, task, _ = waiting_at_kecamatan(db)
    decide(db, team.kecamatan, sid, "return", reason="alamat belum lengkap")
    with db.read() as s:
        returned = s.get(Submission, sid)
        assert (returned.status, returned.alasan_terakhir) == (
            SubmissionStatus.DIKEMBALIKAN,
            "kecamatan: alamat belum lengkap",  # the desa reads who sent it back, not only why
        )
    (event,) = _events(db, "SUBMISSION_RETURNED")
    assert (event.reason, event.after) == ("alamat belum lengkap", {"tingkat": "kecamatan", "putaran": 1})
    assert event.human_task_id == task.id
    auditor = new_person(db, "auditor.prov", "auditor", "65")
    with db.transaction() as s:  # the return is read on the instance's history, beside the task it decided
        shown = trail.instance_timeline(s, auditor, task.instance_id)["events"]
    assert [(e["action"], e["reason"]) for e in shown if e["action"] == "SUBMISSION_RETURNED"] == [
        ("SUBMISSION_RETURNED", "alamat belum lengkap")
    ]
    looked = [(e.actor, e.subject_type, e.subject_id) for e in _events(db, "TRAIL_VIEWED")]
    assert looked == [("auditor.prov", "process_instance", str(task.instance_id))]  # the look is on the trail
    submit(db, team.operator, sid)
    with db.read() as s:  # the old reason no longer describes the corrected submission
        again = s.get(Submission, sid)
        assert (again.status, again.putaran, again.alasan_terakhir) == (SubmissionStatus.DIAJUKAN, 2, None)


def test_a_failed_automatic_check_returns_the_submission_counting_every_error(db):
    """The desa reads how many errors the check found, and the trail keeps the first hundred of them."""
    team, sid, _, _ = waiting_at_kecamatan(db)
    errors = [f"baris {n}: NIK tidak 16 angka" for n in range(1, 151)]
    with db.transaction() as s:
        status.check_failed(s, SYSTEM, s.get(Submission, sid), errors)
    with db.read() as s:
        back = s.get(Submission, sid)
        assert (back.status, back.alasan_terakhir) == (
            SubmissionStatus.DIKEMBALIKAN,
            "pemeriksaan otomatis: 150 kesalahan data",
        )
        instance = back.instance_id
    (event,) = _events(db, "SUBMISSION_CHECK_FAILED")
    assert (event.after["kesalahan"], event.instance_id) == (errors[:100], instance)


def _two_waiting(db):
    """Gunung Putih's and its neighbour's submissions, each waiting at the kecamatan."""
    team = make_team(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.lain", "operator", NEIGHBOUR)
    found = []
    for desa, operator in ((DESA, team.operator), (NEIGHBOUR, "op.lain")):
        sid = open_with_items(db, desa=desa)
        submit(db, operator, sid)
        found.append(open_task(db, sid, "kecamatan"))
    return team, found[0], found[1]


def test_a_late_task_is_escalated_once_to_the_tier_above_and_comes_first_by_priority(db):
    team, early, late = _two_waiting(db)
    due = clock.now() - timedelta(hours=1)
    with db.transaction() as s:
        s.get(HumanTask, early.id).due_at = due
        s.get(HumanTask, late.id).due_at = clock.now() + timedelta(days=2)
    with db.transaction() as s:
        assert cycles.escalate_late(s, SYSTEM, clock.now()) == 1
    with db.transaction() as s:
        assert cycles.escalate_late(s, SYSTEM, clock.now()) == 0  # once
    (event,) = _events(db, "TASK_OVERDUE")
    assert (event.subject_id, event.after) == (str(early.id), {"overdue": True, "eskalasi_ke": "kabupaten"})
    with db.transaction() as s:  # its deadline moved past the other's: by priority the escalated task still leads
        s.get(HumanTask, early.id).due_at = clock.now() + timedelta(days=5)
    with db.read() as s:
        (told,) = s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "task.overdue")).all()
        assert (told.payload["eskalasi_ke"], told.payload["due_at"]) == ("kabupaten", due.isoformat())
        verifier = actor(db, team.kecamatan)
        by_priority = inbox.inbox_page(s, verifier, inbox.InboxFilter(urut="prioritas")).tasks
        assert [t.id for t in by_priority] == [early.id, late.id]
        by_deadline = inbox.inbox_page(s, verifier, inbox.InboxFilter(urut="tenggat")).tasks
        assert [t.id for t in by_deadline] == [late.id, early.id]


# --- the audit trail's reading -----------------------------------------------------------------------


def _search(db, **asked):
    with db.transaction() as s:
        return [f.record.id for f in trail.search_records(s, actor(db, "auditor.prov"), **asked).found]


def test_an_auditor_finds_a_record_by_its_desa_code_and_by_its_category(db, people):
    world = build_world(db)
    assert _search(db, wilayah=DESA) == [world.record]  # a desa by its own code, not only what lies below it
    assert _search(db, wilayah="65.01.01") == [world.record]
    assert _search(db, nama="Ingan", kategori="LUT") == [world.record]
    assert _search(db, nama="Ingan", kategori="ODHA") == []  # another category is not this person's


def test_the_trail_reads_in_order_with_personal_numbers_masked_and_no_cell_a_formula(db, people):
    """A verifier's reason may quote a NIK and start like a formula: the auditor's page masks the NIK,
    the export keeps the reason whole but never lets a spreadsheet run it."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    nik = person_row(1)["nik"]
    reason = f"=HYPERLINK(NIK {nik} ganda)"
    decide(db, "verif.kec", sid, "return", reason=reason)
    auditor = actor(db, "auditor.prov")
    with db.transaction() as s:
        instance = s.get(Submission, sid).instance_id
        events = trail.instance_timeline(s, auditor, instance)["events"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)  # as it happened
    (returned,) = [e for e in events if e["action"] == "SUBMISSION_RETURNED"]
    assert nik not in returned["reason"] and nik[:6] in returned["reason"]
    with db.read() as s:
        rows = list(csv.reader(io.StringIO("".join(trail.export_csv(s, auditor, "65")).lstrip("\ufeff"))))
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])  # the chain's order, to check it
    assert [r[8] for r in rows[1:] if r[3] == "SUBMISSION_RETURNED"] == ["'" + reason]


def test_closing_puts_every_silent_desa_on_the_trail_with_the_reason(db):
    team = make_team(db)
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == DESA))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    submit(db, team.operator, sid)
    result = cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    with db.read() as s:
        silent = s.scalars(select(Submission).where(Submission.status == SubmissionStatus.TIDAK_MELAPOR)).all()
    events = _events(db, "SUBMISSION_NOT_REPORTED")
    assert result["tidak_melapor"] == len(silent) == 8  # the kecamatan's other desa
    assert sorted(int(e.subject_id) for e in events) == sorted(x.id for x in silent)  # each one, not the first
    assert {(e.reason, e.after["status"]) for e in events} == {(silent[0].alasan_terakhir, "tidak_melapor")}


# --- the process listing -----------------------------------------------------------------------------


def test_an_auditor_reads_the_process_versions_and_a_verifier_does_not(db):
    """An auditor traces what the process was when a decision was made; it changes nothing there."""
    auditor = new_person(db, "auditor.prov", "auditor", "65")
    verifier = new_person(db, "verif.kab", "verifier", "65.01")
    with db.read() as s:
        listed = {d["process_key"]: d["id"] for d in processes.list_definitions(s, auditor)}
        tiered = listed["verifikasi_berjenjang"]
        assert processes.definition(s, auditor, tiered).process_key == "verifikasi_berjenjang"
        with pytest.raises(Forbidden):
            processes.list_definitions(s, verifier)


def test_a_diagram_is_shown_to_a_verifier_only_where_an_instance_of_it_runs_in_their_region(db):
    sid = open_with_items(db)  # Gunung Putih's submission runs the tiered verification
    mine = new_person(db, "verif.kab", "verifier", "65.01")
    elsewhere = new_person(db, "verif.kab.lain", "verifier", "65.02")
    with db.read() as s:
        used = s.get(ProcessInstance, s.get(Submission, sid).instance_id).definition_id
        assert "<bpmn:definitions" in processes.diagram_xml(s, mine, used)
        with pytest.raises(NotFound):  # said as missing: another regency's verifier learns nothing of it
            processes.diagram_xml(s, elsewhere, used)


# --- the task inbox ----------------------------------------------------------------------------------


def test_the_inbox_shows_the_newest_first_the_last_page_for_one_beyond_and_what_each_desa_said(db):
    team, mine, neighbour = _two_waiting(db)
    with db.transaction() as s:  # the operator stated the register could not be checked (a flood)
        s.get(Submission, mine.submission_id).tidak_diperiksa = "banjir"
    verifier = actor(db, team.kecamatan)
    with db.read() as s:
        newest = inbox.inbox_page(s, verifier, inbox.InboxFilter(urut="terbaru"))
        assert [t.id for t in newest.tasks] == [neighbour.id, mine.id]
        beyond = inbox.inbox_page(s, verifier, inbox.InboxFilter(halaman=5))  # a link kept from a longer list
        assert (beyond.filter.halaman, beyond.pages, len(beyond.tasks)) == (1, 1, 2)
        about = beyond.about
    assert (about[mine.id].putaran, about[mine.id].tidak_diperiksa, about[mine.id].nihil) == (1, True, False)
    assert (about[neighbour.id].tidak_diperiksa, about[neighbour.id].nihil) == (False, False)


def test_moving_instances_onto_the_version_they_run_is_refused_as_a_mistake(db):
    open_with_items(db)
    with db.read() as s, pytest.raises(Invalid, match="asal dan tujuan sama"):
        processes.migration_plan(s, SYSTEM, KEY, 1, 1)
    with pytest.raises(Invalid, match="asal dan tujuan sama"):
        processes.migrate_instances(db, SYSTEM, KEY, 1, 1)
    assert _events(db, "INSTANCE_MIGRATED") == []


def test_a_reconciliation_step_in_the_inbox_is_placed_at_its_regency_not_the_province(year):
    with year.transaction() as s:
        reconciliation.open_year(s, actor(year, "walidata.prov"), "65", RECONCILIATION_YEAR, force=False)
    with year.read() as s:
        page = inbox.inbox_page(s, actor(year, "walidata.kab"))
    (task,) = page.tasks
    code, name = page.places[task.id]
    assert code == "65.01" and "Bulungan" in name


def test_the_plan_to_move_instances_counts_only_those_running_and_names_no_missing_step(db):
    team = make_team(db)
    running, finished = open_with_items(db), open_with_items(db, desa=NEIGHBOUR)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.lain", "operator", NEIGHBOUR)
    submit(db, "op.lain", finished)
    approved_everywhere(db, team, finished)  # its instance ended on version 1: nothing to move
    (verified,) = _events(db, "SUBMISSION_VERIFIED")  # the trail says how many entries it wrote
    assert (verified.subject_id, verified.after) == (str(finished), {"items": 2, "putaran": 1})
    with db.transaction() as s:
        processes.deploy(s, SYSTEM, variant(('name="Verifikasi kecamatan"', 'name="Verifikasi kecamatan (baru)"')))
    with db.read() as s:
        assert s.get(ProcessInstance, s.get(Submission, running).instance_id).status.value == "berjalan"
        assert processes.migration_plan(s, SYSTEM, KEY, 1, 2).instances == 1
    # a step mistyped in the mapping is refused before any instance moves, not found missing on each
    with pytest.raises(Invalid, match="langkah 'verifikasi_kec' tidak ada di versi 2"):
        processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"verifikasi_kecamatan": "verifikasi_kec"})
    assert _events(db, "INSTANCE_MIGRATED") == []


def test_stuck_instances_are_the_running_ones_whose_step_failed_newest_failure_first(db):
    older, newer, cancelled = (open_with_items(db, desa=f"65.01.01.{n}") for n in (2005, 2006, 2007))
    now = clock.now()
    with db.transaction() as s:  # each failed at a step; one was cancelled since (its cycle closed)
        for sid, hours_ago in ((older, 3), (newer, 1), (cancelled, 0)):
            instance = s.get(ProcessInstance, s.get(Submission, sid).instance_id)
            instance.failed_at, instance.last_error = now - timedelta(hours=hours_ago), "layanan mati"
        s.get(ProcessInstance, s.get(Submission, cancelled).instance_id).status = InstanceStatus.DIBATALKAN
        expected = [s.get(Submission, sid).instance_id for sid in (newer, older)]
    with db.read() as s:
        assert [i["id"] for i in processes.stuck_instances(s, SYSTEM)] == expected


def test_only_the_provinces_admin_retries_an_instance_and_a_missing_one_is_said_missing(db, regency_admin):
    sid = open_with_items(db)
    with db.read() as s:
        instance = s.get(Submission, sid).instance_id
    with db.transaction() as s, pytest.raises(Forbidden):
        processes.retry_instance(s, regency_admin, instance)
    with db.transaction() as s, pytest.raises(NotFound):  # not dressed up as a diagram's failure
        processes.retry_instance(s, SYSTEM, instance + 1000)
    assert _events(db, "INSTANCE_RETRIED") == []


def test_an_export_of_the_whole_trail_needs_a_stated_reason(db, people):
    with db.transaction() as s, pytest.raises(Invalid, match="Alasan wajib"):
        trail.record_export(s, actor(db, "auditor.prov"), "65", "  ")
    assert _events(db, "TRAIL_EXPORTED") == []


def test_saved_filters_are_listed_by_their_names(db, people):
    verifier = actor(db, "verif.kec")
    with db.transaction() as s:
        for nama in ("Terlambat", "Gunung Putih", "Semua"):
            inbox.save_filter(s, verifier, nama, inbox.InboxFilter())
    with db.read() as s:
        assert [f.nama for f in inbox.saved_filters(s, verifier)] == ["Gunung Putih", "Semua", "Terlambat"]
