"""The data-quality flags' rules that a false alarm or a miss would break, pinned one each:

- a record check re-run keeps another register's flags (Dukcapil, DTSEN) and a warning's
  acknowledgement while the flag is unchanged, and a warning found again as an error is a new
  open flag (`flags.store_item_flags`);
- an acknowledgement names only flags of its own submission, and only open warnings wait for one
  (`flags.acknowledge`, `flags.unacknowledged_warnings`);
- a sensitive category's flag below the regency hides its message and its note from a steward
  (`flag_reading`);
- the aggregate flag list ranks errors first, then the most surprising; keeps a regency's sensitive
  flags for those without the sensitive counts; a region filter takes the regions within it
  (`review.flag_list`); beside a task, the open flags of the desa and of each region above it
  (`review.around`); a flag is settled only within the reviewer's region, on the record (`review.settle`);
- a threshold set for one category beats the one for all, and its audit says what it was before
  (`thresholds`);
- a series flag someone explained is not raised again by a rescan while its figure stays the same
  (`aggregates.not_settled`);
- the dashboard's series shows only open flags (`dashboard.series_for`);
- completeness: a desa that submits at its deadline is on time, one second later late, without a
  cycle neither; one returned waits for its correction (`completeness.tally`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.errors import Invalid, NotFound
from engine.people.scope import Scope
from engine.quality import completeness, dashboard, flag_reading, flags, review, thresholds
from engine.quality.findings import Finding
from engine.verification import cycles, imports
from models import AuditEvent, FlagStatus, HumanTask, QualityFlag, Severity, Submission, SubmissionItem
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    actor,
    csv_of,
    decide,
    open_with_items,
    person_row,
    store_history,
    submit,
)

WARNING = Severity.WARNING


def _items(session, sid):
    return list(
        session.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid).order_by(SubmissionItem.id))
    )


def _figure_flag(session, region="65.01", **overrides) -> int:
    """An aggregate flag (on a figure, not an item), open, as a rescan stores one."""
    columns = {
        "rule": "lonjakan",
        "severity": Severity.WARNING,
        "message": f"lonjakan di {region}",
        "tingkat": None,
        "region_kode": region,
        "kategori": "LUT",
        "periode": "2025",
        "sources": {"sumber": "dinsos"},
        "skor": 3.0,
        "status": FlagStatus.TERBUKA,
    }
    flag = QualityFlag(**{**columns, **overrides})
    session.add(flag)
    session.flush()
    return flag.id


# --- item flags: a record check run again ---


def test_checking_the_items_again_keeps_another_registers_flags(db):
    sid = open_with_items(db)
    with db.transaction() as s:
        item = _items(s, sid)[0]
        s.add(
            QualityFlag(
                rule="dukcapil",
                severity=WARNING,
                message="NIK tidak ditemukan di Dukcapil",
                region_kode=DESA,
                submission_id=sid,
                item_id=item.id,
            )
        )
        s.flush()
        sub = s.get(Submission, sid)
        items = _items(s, sid)
        flags.store_item_flags(s, sub, items, [[] for _ in items])
    with db.read() as s:
        assert s.scalars(select(QualityFlag.rule).where(QualityFlag.submission_id == sid)).all() == ["dukcapil"]


def _acknowledged_then_found_again(db, sid: int, first: Finding, again: Finding) -> int:
    """`first` found on the submission's first item and acknowledged by the kecamatan, then the
    items checked again finding `again`; the acknowledged flag's id."""

    def store(s, finding: Finding) -> None:
        sub, items = s.get(Submission, sid), _items(s, sid)
        flags.store_item_flags(s, sub, items, [[finding]] + [[] for _ in items[1:]])

    with db.transaction() as s:
        store(s, first)
        flag_id = s.scalar(select(QualityFlag.id).where(QualityFlag.rule == first.rule))
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "dicek dengan KTP"})
    with db.transaction() as s:
        store(s, again)
    return flag_id


def test_an_acknowledged_warning_found_again_unchanged_stays_acknowledged(db, people):
    sid = open_with_items(db)
    finding = Finding("nama", "nama mirip dengan orang lain", WARNING, "nama_mirip")
    flag_id = _acknowledged_then_found_again(db, sid, finding, finding)
    with db.read() as s:
        kept = s.scalars(select(QualityFlag).where(QualityFlag.rule == "nama_mirip")).all()
        assert [(f.id, f.status, f.ack_note) for f in kept] == [(flag_id, "diakui", "dicek dengan KTP")]
        assert flags.unacknowledged_warnings(s, sid) == []


def test_a_warning_found_again_as_an_error_is_a_new_open_flag_not_the_acknowledged_warning(db, people):
    """A rule that now judges the same finding an error (a threshold tightened) must block the item."""
    sid = open_with_items(db)
    warning = Finding("nama", "nama mirip dengan orang lain", WARNING, "nama_mirip")
    error = Finding("nama", "nama mirip dengan orang lain", Severity.ERROR, "nama_mirip")
    flag_id = _acknowledged_then_found_again(db, sid, warning, error)
    with db.read() as s:
        now = s.scalars(select(QualityFlag).where(QualityFlag.rule == "nama_mirip")).all()
        assert [(f.severity, f.status) for f in now] == [(Severity.ERROR, "terbuka")]
        assert now[0].id != flag_id


# --- acknowledging warnings ---


def test_a_flag_of_another_submission_cannot_be_acknowledged_through_this_one(db, people):
    mine, other = open_with_items(db), open_with_items(db, desa="65.01.01.2006")
    with db.transaction() as s:
        theirs = s.get(QualityFlag, _figure_flag(s, "65.01.01.2006", submission_id=other, rule="nama_mirip"))
        with pytest.raises(Invalid) as refused:
            flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", mine, {theirs.id: "bukan milik saya"})
        assert "bukan milik pengajuan ini" in refused.value.problems[0].message
    with db.read() as s:
        assert s.get(QualityFlag, theirs.id).status == "terbuka"


def test_a_blank_acknowledgement_is_refused_and_one_is_on_the_record(db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        flag_id = _figure_flag(s, DESA, submission_id=sid, rule="nama_mirip")
    with pytest.raises(Invalid, match="tidak dapat disimpan"), db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "   "})
    with db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "x" * flags.NOTE_LIMIT})
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "FLAG_ACKNOWLEDGED"))
        assert (event.actor, event.reason) == ("verif.kec", "x" * flags.NOTE_LIMIT)


def test_only_open_warnings_wait_for_an_acknowledgement(db):
    sid = open_with_items(db)
    with db.transaction() as s:
        waiting = _figure_flag(s, DESA, submission_id=sid, rule="nama_mirip")
        _figure_flag(s, DESA, submission_id=sid, rule="nik", severity=Severity.ERROR)
        _figure_flag(s, DESA, submission_id=sid, rule="nik_lama", severity=Severity.INFO)
        _figure_flag(s, DESA, submission_id=sid, rule="kk_alamat", status=FlagStatus.DIAKUI)
    with db.read() as s:
        assert [f.id for f in flags.unacknowledged_warnings(s, sid)] == [waiting]


# --- reading a flag ---


def test_a_sensitive_flag_below_the_regency_hides_its_message_and_note_from_a_steward(db, stewards):
    with db.transaction() as s:
        flag = s.get(
            QualityFlag,
            _figure_flag(s, "65.01.01", kategori="ODHA", status=FlagStatus.DIJELASKAN, ack_note="3 orang di Desa X"),
        )
        steward, verifier = actor(db, "walidata.kab"), actor(db, "verif.kab")
        (hidden,) = flag_reading.seen_by(steward, [flag])
        (shown,) = flag_reading.seen_by(verifier, [flag])
        assert (hidden.hidden, hidden.message, hidden.ack_note) == (True, flag_reading.HIDDEN, None)
        assert flag_reading.message_for(steward, flag) == flag_reading.HIDDEN
        assert (shown.message, shown.ack_note) == (flag.message, "3 orang di Desa X")


# --- the aggregate flag list ---


def test_errors_come_first_then_the_most_surprising(db, people):
    with db.transaction() as s:
        dull = _figure_flag(s, "65.01", skor=2.0)
        error = _figure_flag(s, "65.05", rule="total", severity=Severity.ERROR, skor=None)
        sharp = _figure_flag(s, "65.04", skor=9.0)
        info = _figure_flag(s, "65.02", rule="periode_hilang", severity=Severity.INFO, skor=20.0)
        listed = review.flag_list(s, Scope.overseeing(actor(db, "valid.prov")), review.FlagFilter())
        assert [f.id for f in listed.flags] == [error, sharp, dull, info]


def test_a_regencys_sensitive_flag_is_listed_for_everyone_and_a_kecamatans_only_for_those_who_read_it(db, people):
    with db.transaction() as s:
        regency = _figure_flag(s, "65.01", kategori="ODHA")
        kecamatan = _figure_flag(s, "65.01.01", kategori="ODHA")
        scope = Scope.overseeing(actor(db, "valid.prov"))
        without = review.flag_list(s, scope, review.FlagFilter(), sensitive=False)
        assert [f.id for f in without.flags] == [regency]
        assert {f.id for f in review.flag_list(s, scope, review.FlagFilter()).flags} == {regency, kecamatan}


def test_a_region_filter_takes_the_regions_within_it_and_no_other(db, people):
    with db.transaction() as s:
        regency = _figure_flag(s, "65.01")
        desa = _figure_flag(s, DESA)
        _figure_flag(s, "65.02")
        _figure_flag(s, "65.010")  # hypothetical code sharing the prefix but not the region
        scope = Scope.overseeing(actor(db, "valid.prov"))
        listed = review.flag_list(s, scope, review.FlagFilter(region_kode="65.01"))
        assert {f.id for f in listed.flags} == {regency, desa}


def test_beside_a_task_the_open_flags_of_the_desa_and_every_region_above_it(db, people):
    with db.transaction() as s:
        above = [_figure_flag(s, code) for code in (DESA, "65.01.01", "65.01", "65")]
        _figure_flag(s, "65.01.01.2006")  # a neighbour
        _figure_flag(s, "65.01", status=FlagStatus.SELESAI)
        _figure_flag(s, "65.01", rule="dukcapil")  # another register's
        found = review.around(s, Scope.overseeing(actor(db, "valid.prov")), DESA, limit=3)
        assert found.total == 4 and len(found.flags) == 3
        assert {f.id for f in review.around(s, Scope.overseeing(actor(db, "valid.prov")), DESA).flags} == set(above)


# --- settling an aggregate flag ---


def test_a_flag_outside_the_reviewers_region_or_on_an_item_is_not_theirs_to_settle(db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        elsewhere = _figure_flag(s, "65.02")
        item = _items(s, sid)[0]
        on_item = _figure_flag(s, DESA, submission_id=sid, item_id=item.id, rule="nama_mirip")
    for flag_id in (elsewhere, on_item):
        with pytest.raises(NotFound), db.transaction() as s:
            review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.CLOSE, "sudah", "terbuka")
    with db.read() as s:
        assert {s.get(QualityFlag, i).status for i in (elsewhere, on_item)} == {"terbuka"}
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "FLAG_CLOSED")) is None


def test_settling_and_reopening_are_on_the_record_and_a_blank_note_is_refused(db, people):
    with db.transaction() as s:
        flag_id = _figure_flag(s, "65.01")
    verifier = actor(db, "verif.kab")
    with pytest.raises(Invalid, match="Catatan wajib"), db.transaction() as s:
        review.settle(s, verifier, flag_id, review.FlagAction.CLOSE, "  ", "terbuka")
    with pytest.raises(Invalid, match="terlalu panjang"), db.transaction() as s:
        review.settle(s, verifier, flag_id, review.FlagAction.CLOSE, "x" * (flags.NOTE_LIMIT + 1), "terbuka")
    with db.transaction() as s:
        review.settle(s, verifier, flag_id, review.FlagAction.CLOSE, "x" * flags.NOTE_LIMIT, "terbuka")
    with db.transaction() as s:
        review.settle(s, verifier, flag_id, review.FlagAction.REOPEN, "dilihat lagi", "selesai")
    with db.read() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.subject_type == "quality_flag").order_by(AuditEvent.seq)
        ).all()
        assert [(e.action, e.reason) for e in events] == [
            ("FLAG_CLOSED", "x" * flags.NOTE_LIMIT),
            ("FLAG_REOPENED", "dilihat lagi"),
        ]
        assert s.get(QualityFlag, flag_id).status == "terbuka"


# --- thresholds ---


def test_a_categorys_threshold_beats_the_one_for_all_and_its_audit_says_the_one_before(db):
    with db.transaction() as s:
        thresholds.set_threshold(s, SYSTEM, "tetap", "alpha", 0.01)
        thresholds.set_threshold(s, SYSTEM, "tetap", "alpha", 0.2, kategori="LUT")
        thresholds.set_threshold(s, SYSTEM, "tetap", "alpha", 0.02)
        with pytest.raises(Invalid, match="bilangan bulat"):
            thresholds.set_threshold(s, SYSTEM, "lonjakan", "min_history", 2.5)
    with db.read() as s:
        loaded = thresholds.Thresholds.load(s)
        assert (loaded.get("tetap", "alpha", "LUT"), loaded.get("tetap", "alpha", "ODHA")) == (0.2, 0.02)
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "QUALITY_THRESHOLD_SET").order_by(AuditEvent.seq)
        ).all()
        assert [(e.before["nilai"], e.after["nilai"]) for e in events] == [(0.05, 0.01), (0.05, 0.2), (0.01, 0.02)]


# --- a rescan ---


def test_an_explained_jump_is_not_raised_again_while_its_figure_stays_the_same(db, people):
    store_history(db)
    with db.read() as s:
        (jump,) = s.scalars(select(QualityFlag.id).where(QualityFlag.rule == "lonjakan")).all()
    with db.transaction() as s:
        note = "panti baru dibuka"
        review.settle(s, actor(db, "verif.kab"), jump, review.FlagAction.EXPLAIN, note, "terbuka")
    store_history(db)
    with db.read() as s:
        assert s.scalars(select(QualityFlag.status).where(QualityFlag.rule == "lonjakan")).all() == ["dijelaskan"]


# --- the dashboard's series ---


def test_the_series_shows_only_the_open_flags_on_its_figures(db, people):
    with db.transaction() as s:
        _figure_flag(s, "65.01", message="lonjakan terbuka")
        _figure_flag(s, "65.01", message="lonjakan dijelaskan", status=FlagStatus.DIJELASKAN)
        shown = dashboard.series_for(s, actor(db, "valid.prov"), "65.01", "LUT")
        assert shown["flags"] == {"2025": ["lonjakan terbuka"]}


# --- completeness ---


def _kecamatan_row(db, parent="65.01"):
    with db.read() as s:
        return {r.kode: r for r in completeness.tally(s, PERIOD, parent)}


def _kecamatan_cycle(db):
    """The period's cycle opened for kecamatan 65.01.01: its desa deadline, and each desa's submission."""
    with clock.frozen_at(datetime.fromisoformat("2026-10-05T08:00+08:00")):
        cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        opened = dict(s.execute(select(Submission.kode_desa, Submission.id).where(Submission.periode == PERIOD)).all())
    return datetime.fromisoformat("2026-10-31T00:00+08:00"), opened


def test_at_the_deadline_is_on_time_a_second_later_is_late_and_a_return_waits_for_its_correction(db, people):
    deadline, opened = _kecamatan_cycle(db)
    for n, (desa, operator, at) in enumerate(
        ((DESA, "op.desa", deadline), ("65.01.01.2006", "op.lain", deadline + timedelta(seconds=1)))
    ):
        with db.transaction() as s:
            imports.import_items(s, SYSTEM, opened[desa], csv_of([person_row(10 * n + 1)]))
        with clock.frozen_at(at):
            submit(db, operator, opened[desa])
    row = _kecamatan_row(db)["65.01.01"]
    assert (row.submitted, row.on_time, row.late, row.returned) == (2, 1, 1, 0)
    decide(db, "verif.kec", opened[DESA], "return", "alamat belum lengkap")
    row = _kecamatan_row(db)["65.01.01"]
    assert (row.submitted, row.returned) == (2, 1)


def test_without_a_cycle_there_is_no_deadline_to_be_late_for(db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    row = _kecamatan_row(db, "65.01.01")[DESA]
    assert (row.submitted, row.on_time, row.late) == (1, 0, 0)


def test_a_submission_whose_desa_task_has_no_time_is_judged_by_when_it_was_last_sent(db, people):
    deadline, opened = _kecamatan_cycle(db)
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, opened[DESA], csv_of([person_row(1)]))
    with clock.frozen_at(deadline - timedelta(days=1)):
        submit(db, "op.desa", opened[DESA])
    with db.transaction() as s:
        s.execute(update(HumanTask).where(HumanTask.submission_id == opened[DESA]).values(completed_at=None))
    row = _kecamatan_row(db)["65.01.01"]
    assert (row.submitted, row.on_time, row.late) == (1, 1, 0)
    with db.transaction() as s:
        s.execute(update(Submission).where(Submission.id == opened[DESA]).values(submitted_at=None))
    row = _kecamatan_row(db)["65.01.01"]
    assert (row.submitted, row.on_time, row.late) == (1, 0, 1)  # no time at all: not counted on time
