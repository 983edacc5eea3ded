"""Running the verification process, a reconciliation task's page, an official figure's trail and a
cycle's opening: rules the province's admin, an auditor and the reconciliation's people rely on.

- moving running instances between versions, and the list of stuck instances, are the province's
  admin's alone; the list keeps to the length asked, newest failure first; a step still failing on
  a retry is told in a problem of at most 500 characters; a version that does not exist, or that
  belongs to another process, is said missing; an instance refused a move is named by its business
  key; the side-by-side comparison has the earlier version on the left;
- a Forum return written before returns named their category hides the explanation on a kecamatan
  from the regency's steward, as on a desa;
- an official figure's trail names its own region and category, reads the flag history in the order
  it happened, and masks a NIK in a flag's message or explanation unless the reader checks people
  against documents there;
- a cycle opens each desa as a draft waiting at the desa, each opening on the trail with the process it
  started; on PostgreSQL the statistics are renewed each time the filled tables have doubled.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bpmn import definitions, timers
from engine.core import audit, clock
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.people import users
from engine.verification import cycle_batches, cycles, figure_trail, processes, reconciliation, reconciliation_tasks
from models import AuditEvent, Category, ProcessInstance, QualityFlag, Region, Submission
from tests.factories import (
    PERIOD,
    RECONCILIATION_YEAR,
    SYSTEM,
    actor,
    new_person,
    open_with_items,
    person_row,
    waiting_at_kecamatan,
)
from tests.integration.reconciliation_steps import determine, open_tasks
from tests.integration.test_definitions import variant

KEY = "verifikasi_berjenjang"  # the tiered verification


def _events(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _second_version(session) -> definitions.DeployResult:
    """Version 2 of the tiered verification: the kecamatan's step renamed."""
    renamed = variant(('name="Verifikasi kecamatan"', 'name="Verifikasi kecamatan (baru)"'))
    return processes.deploy(session, SYSTEM, renamed)


def _instance_of(db, submission_id: int) -> int:
    with db.read() as s:
        return s.get(Submission, submission_id).instance_id


# --- the process's running instances: the province's admin's ---------------------------------------


def test_a_regencys_admin_neither_plans_nor_moves_the_provinces_running_instances(db, regency_admin):
    open_with_items(db)  # Gunung Putih's submission runs version 1
    with db.transaction() as s:
        _second_version(s)
    with db.read() as s, pytest.raises(Forbidden):
        processes.migration_plan(s, regency_admin, KEY, 1, 2)
    with pytest.raises(Forbidden):
        processes.migrate_instances(db, regency_admin, KEY, 1, 2)
    assert _events(db, "INSTANCE_MIGRATED") == []


def test_a_regencys_admin_is_not_shown_the_provinces_stuck_instances(db, regency_admin):
    sid = open_with_items(db)
    with db.transaction() as s:
        s.get(ProcessInstance, _instance_of(db, sid)).failed_at = clock.now()
    with db.read() as s, pytest.raises(Forbidden):
        processes.stuck_instances(s, regency_admin)


def test_the_stuck_list_holds_no_more_than_asked_newest_failure_first(db):
    older, newer = (open_with_items(db, desa=f"65.01.01.{n}") for n in (2005, 2006))
    now = clock.now()
    with db.transaction() as s:
        for sid, hours_ago in ((older, 2), (newer, 1)):
            instance = s.get(ProcessInstance, s.get(Submission, sid).instance_id)
            instance.failed_at, instance.last_error = now - timedelta(hours=hours_ago), "layanan mati"
    with db.read() as s:
        assert [i["id"] for i in processes.stuck_instances(s, SYSTEM, limit=1)] == [_instance_of(db, newer)]


def test_a_step_still_failing_on_a_retry_is_told_in_a_problem_of_at_most_500_characters(db):
    _, sid, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        registry = s.info["sijosku_registry"]
    original = registry.handlers["mark_overdue"]
    registry.handlers["mark_overdue"] = lambda *a: (_ for _ in ()).throw(RuntimeError("layanan mati " * 100))
    later = task.due_at + timedelta(hours=1)
    try:
        timers.fire_due_timers(db, later)
        with clock.frozen_at(later), db.transaction() as s, pytest.raises(Invalid, match="masih gagal") as refused:
            processes.retry_instance(s, SYSTEM, _instance_of(db, sid))
    finally:
        registry.handlers["mark_overdue"] = original
    (problem,) = refused.value.problems
    assert problem.message.startswith("RuntimeError: layanan mati") and len(problem.message) == 500


def test_a_version_that_does_not_exist_is_said_missing_to_whoever_reads_the_versions(db):
    auditor = new_person(db, "auditor.prov", "auditor", "65")
    with db.read() as s:
        with pytest.raises(NotFound, match="Definisi 999"):
            processes.definition(s, auditor, 999)
        with pytest.raises(NotFound, match="Definisi 999"):  # a comparison with it too
            processes.compare(s, auditor, 1, 999)


def test_a_version_asked_of_one_process_is_not_found_in_another_process(db):
    """Version 2 of the tiered verification is no version 2 of the annual reconciliation."""
    with db.transaction() as s:
        _second_version(s)
    with db.read() as s, pytest.raises(NotFound, match="'rekonsiliasi_tahunan' tidak punya versi 2"):
        processes.migration_plan(s, SYSTEM, "rekonsiliasi_tahunan", 1, 2)


def test_an_instance_refused_a_move_is_named_by_its_business_key_and_nothing_moves(db):
    _, sid, _, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        _second_version(s)
        key = s.get(ProcessInstance, s.get(Submission, sid).instance_id).business_key
    report = processes.migrate_instances(db, SYSTEM, KEY, 1, 2, {"verifikasi_kecamatan": ""})  # the step unmapped
    (refused,) = report.results
    assert (refused.ok, refused.business_key, report.moved, report.refused) == (False, key, 0, 1)
    assert key and refused.problems and _events(db, "INSTANCE_MIGRATED") == []


def test_the_side_by_side_comparison_heads_the_earlier_version_on_the_left(db):
    with db.transaction() as s:
        second = _second_version(s).definition.id
    auditor = new_person(db, "auditor.prov", "auditor", "65")
    with db.read() as s:
        html = processes.compare(s, auditor, 1, second).changes.diff_html
    assert "versi 1" in html and html.index("versi 1") < html.index("versi 2")


# --- an official figure's trail, for an auditor -----------------------------------------------------


@pytest.fixture
def determined(year):
    """The reconciliation year determined, with the province's auditor."""
    determine(year, RECONCILIATION_YEAR, "SK-1/2027")
    new_person(year, "auditor.prov", "auditor", "65")
    return year


def _trail(db, wilayah: str = "65.01", kategori: str = "LUT", username: str = "auditor.prov") -> dict:
    with db.read() as s:
        return figure_trail.figure_trail(s, actor(db, username), RECONCILIATION_YEAR, wilayah, kategori)


def test_a_figures_trail_names_its_own_region_and_category(determined):
    with determined.read() as s:
        names = (s.get(Region, "65.01.01").nama, s.scalar(select(Category.nama).where(Category.kode == "ODHA")))
    trail = _trail(determined, "65.01.01", "ODHA")
    assert (trail["nama_wilayah"], trail["nama_kategori"], trail["nilai"]) == (*names, 1)


def test_a_figures_flag_history_reads_in_the_order_it_happened(determined):
    """The regency explained its flags before the Forum accepted the explanations: the trail says so."""
    actions = [h["aksi"] for h in _trail(determined)["riwayat_tanda"]]
    assert actions == ["FLAG_EXPLAINED", "FLAG_EXPLAINED", "EXPLANATION_ACCEPTED", "EXPLANATION_ACCEPTED"]


def test_a_nik_in_a_figures_flag_is_masked_for_an_auditor_and_whole_for_the_kecamatans_verifier(determined):
    """The kecamatan's verifier checks people against documents; also an auditor, they read the NIK whole."""
    nik = person_row(1)["nik"]
    with determined.transaction() as s:
        s.add(
            QualityFlag(
                rule="lain", severity="warning", message=f"dobel NIK {nik}", region_kode="65.01.01", kategori="LUT",
                periode=str(RECONCILIATION_YEAR), ack_note=f"sudah dicek: {nik}", ack_by="walidata.kab",
            )
        )  # fmt: skip
        for role, region in (("verifier", "65.01.01"), ("auditor", "65.01")):
            users.add_user(s, SYSTEM, "verif.auditor", role, region)
    (masked,) = [f for f in _trail(determined, "65.01.01")["tanda"] if f["aturan"] == "lain"]
    assert masked["pesan"].startswith("dobel NIK ") and nik not in masked["pesan"]
    assert masked["catatan"].startswith("sudah dicek: ") and nik not in masked["catatan"]
    (whole,) = [f for f in _trail(determined, "65.01.01", username="verif.auditor")["tanda"] if f["aturan"] == "lain"]
    assert (whole["pesan"], whole["catatan"]) == (f"dobel NIK {nik}", f"sudah dicek: {nik}")


# --- a reconciliation task's page ---------------------------------------------------------------------


def test_an_old_forum_return_on_a_kecamatan_hides_its_explanation_from_the_regencys_steward(year):
    """Returns written before they named their category: a kecamatan's count may be a sensitive one,
    so its explanation is left out as a desa's is; the regency's own is read."""
    with year.transaction() as s:
        reconciliation.open_year(s, actor(year, "walidata.prov"), "65", RECONCILIATION_YEAR, force=False)
    (task,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with year.transaction() as s:
        for wilayah in ("65.01", "65.01.01"):  # the regency's first, then its kecamatan's
            written = {"aturan": "lonjakan", "wilayah": wilayah, "periode": str(RECONCILIATION_YEAR)}
            audit.record(
                s, actor(year, "forum.sdi"), AuditAction.EXPLANATION_RETURNED, "quality_flag", 1,
                after={**written, "catatan": f"penjelasan {wilayah}"}, instance_id=task.instance_id, reason="cek",
            )  # fmt: skip
    with year.read() as s:
        returns = reconciliation_tasks.task_page(s, actor(year, "walidata.kab"), task.id)["forum_returns"]
    assert [(r["wilayah"], r["catatan"]) for r in returns] == [("65.01.01", None), ("65.01", "penjelasan 65.01")]


# --- a cycle's opening ----------------------------------------------------------------------------------


def test_a_cycle_opens_each_desa_as_a_draft_waiting_at_the_desa(db):
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        opened = s.execute(select(Submission.status, Submission.tingkat, Submission.instance_id)).all()
    assert opened and {(status.value, tier.value) for status, tier, _ in opened} == {("draf", "desa")}
    assert None not in {instance for *_, instance in opened}


def test_each_desa_a_cycle_opens_is_on_the_trail_with_the_process_it_started(db):
    cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01")
    with db.read() as s:
        started = dict(s.execute(select(Submission.id, Submission.instance_id)).all())
    trail = {int(e.subject_id): e.instance_id for e in _events(db, "SUBMISSION_OPENED")}
    assert started and trail == started


def test_opening_renews_postgresqls_statistics_each_time_the_filled_tables_have_doubled(
    db, statements, monkeypatch, is_postgresql
):
    """One desa a batch: statistics renewed after batches 1, 2, 4, 8 …; SQLite has none to renew."""
    monkeypatch.setattr(cycle_batches, "BATCH", 1)
    opened = cycles.open_cycle(db, SYSTEM, PERIOD, region="65.01.01").opened
    renewed = [sql for sql in statements if sql.startswith("ANALYZE")]
    assert opened >= 3 and len(renewed) == (opened.bit_length() if is_postgresql else 0)
