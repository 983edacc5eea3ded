"""What offices, stewards and the tiers rely on around compiled figures and follow-ups: a figures file
read whole or refused with each fault named at its own row (the province's own figure, another
agency's row in a named agency's file, a steward's confirmation outside the province, a space copied from a
report, a table of thousands of regions), the agency gap an administrator may set and how a change of
a category's threshold is kept on the trail, the sweep that fails an upload nobody took after half an
hour, and the moment a task becomes late for the tier that follows it up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.errors import Invalid
from engine.quality import figure_files, thresholds
from engine.verification import agency_figures, imports, late_tasks, stale_imports
from models import AuditEvent, HumanTask, ImportJob, ImportStatus, Region
from tests.factories import SYSTEM, actor, open_task, open_with_items, submit

BASELINE = "kode_wilayah,kategori,periode,nilai,sumber\n"
AGENCY = "instansi,kategori,kode_wilayah,periode,nilai\n"


def _read(db, text: str, agency: str | None = None, province: str | None = None) -> list:
    """The file read as the command line and the steward's page read it: a historic table, or an agency's."""
    with db.read() as s:
        if text.startswith("kode_wilayah"):
            return figure_files.read_baseline(s, "riwayat.csv", text.encode(), province)
        return figure_files.read_agency(s, "instansi.csv", text.encode(), agency, province)


def _faults(db, text: str, agency: str | None = None) -> list[tuple[int, str]]:
    """The faults a refused file is answered with, as (row, column)."""
    with pytest.raises(Invalid) as refused:
        _read(db, text, agency)
    return [(p.row, p.column) for p in refused.value.problems]


# --- a figures file -----------------------------------------------------------------------------------------


def test_the_province_s_own_figure_is_read_when_a_file_is_held_to_the_province(db):
    values = _read(db, BASELINE + "65,LUT,2024,120,dinsos\n65.01,LUT,2024,17,dinsos\n", province="65")
    assert [v.region_kode for v in values] == ["65", "65.01"]
    agency = _read(db, AGENCY + "DP3AP2KB,LUT,65,2024,90\n", province="65")
    assert [(v.region_kode, v.sumber) for v in agency] == [("65", "DP3AP2KB")]


def test_a_row_of_another_agency_in_a_named_agency_s_file_is_named_by_its_row(db):
    text = AGENCY + "DP3AP2KB,LUT,65.01,2024,30\nDP3AP2KB,LUT,65.02,2024,8\nDinkes,ODHA,65.01,2024,40\n"
    assert _faults(db, text, agency="DP3AP2KB") == [(4, "instansi")]


def test_a_steward_s_confirmation_carrying_a_figure_outside_the_province_is_refused_at_its_row(db, stewards):
    rows = [{"instansi": "DP3AP2KB", "kategori": "AKTK", "kode_wilayah": "64.72", "periode": "2024", "nilai": "3"}]
    with db.read() as s, pytest.raises(Invalid) as refused:
        sent = agency_figures.Confirmation(2024, rows, "0" * 32)
        agency_figures.receive(s, actor(db, "walidata.prov"), sent, "65", "rahasia-uji")
    assert [(p.row, p.column) for p in refused.value.problems] == [(1, "kode_wilayah")]
    assert "berada di luar provinsi 65" in refused.value.problems[0].message


def test_a_no_break_space_in_an_agency_s_row_sent_by_the_api_is_read_as_a_space(db):
    row = {"instansi": "DP3AP2KB\u00a0", "kategori": "Lanjut\u00a0Usia Terlantar", "kode_wilayah": "65.01"}
    with db.read() as s:
        values = figure_files.agency_values(s, [{**row, "periode": "2024", "nilai": "30"}])
    assert [(v.sumber, v.kategori, v.nilai) for v in values] == [("DP3AP2KB", "LUT", 30)]


def test_a_table_of_more_than_a_thousand_regions_is_read_whole(db):
    with db.read() as s:
        codes = s.scalars(select(Region.kode).order_by(Region.kode).limit(2001)).all()
    assert len(codes) == 2001
    text = BASELINE + "".join(f"{code},LUT,2024,3,dinsos\n" for code in codes)
    assert sorted(v.region_kode for v in _read(db, text)) == sorted(codes)


# --- the thresholds an administrator sets -------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kept"), [(0.01, True), (0.005, False), (0.0, False)])
def test_the_agency_gap_shown_as_information_is_at_least_one_percent(db, value, kept):
    rule, name = "instansi", "gap"
    with db.transaction() as s:
        if kept:
            thresholds.set_threshold(s, SYSTEM, rule, name, value)
        else:
            with pytest.raises(Invalid, match="tidak bisa dipakai"):
                thresholds.set_threshold(s, SYSTEM, rule, name, value)
    with db.read() as s:
        assert thresholds.Thresholds.load(s).get(rule, name) == (value if kept else thresholds.DEFAULTS[rule][name])


def test_a_category_s_threshold_set_again_replaces_its_own_and_leaves_every_other_on_the_trail(db):
    for kategori, value in (("", 0.01), ("LUT", 0.2), ("LUT", 0.3)):
        with db.transaction() as s:
            thresholds.set_threshold(s, SYSTEM, "tetap", "alpha", value, kategori=kategori)
    with db.read() as s:
        loaded = thresholds.Thresholds.load(s)
        assert (loaded.get("tetap", "alpha", "LUT"), loaded.get("tetap", "alpha", "ODHA")) == (0.3, 0.01)
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "QUALITY_THRESHOLD_SET").order_by(AuditEvent.seq)
        )
        assert [(e.subject_type, e.subject_id, e.before["nilai"], e.after["nilai"]) for e in events] == [
            ("quality_setting", "tetap.alpha.*", 0.05, 0.01),
            ("quality_setting", "tetap.alpha.LUT", 0.05, 0.2),
            ("quality_setting", "tetap.alpha.LUT", 0.2, 0.3),
        ]


# --- the sweep of uploads whose process died ----------------------------------------------------------------


def test_an_upload_no_scheduler_took_is_failed_once_it_has_waited_over_half_an_hour(db):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job_id = imports.create_job(s, SYSTEM, sid, "a.csv", [{"nik": "6501015705500001"}]).id
    with db.read() as s:
        created = s.get(ImportJob, job_id).created_at
    assert stale_imports.fail_stale_jobs(db, created + timedelta(minutes=30)).startswith("0 ")
    assert stale_imports.fail_stale_jobs(db, created + timedelta(minutes=30, seconds=1)).startswith("1 ")
    with db.read() as s:
        assert s.get(ImportJob, job_id).status == ImportStatus.GAGAL


# --- the late tasks a tier follows up -----------------------------------------------------------------------


def _two_desa_waiting(db) -> list[HumanTask]:
    """Gunung Putih's and its neighbour's submissions sent up: their tasks at the kecamatan, in that order."""
    tasks = []
    for desa, operator in (("65.01.01.2005", "op.desa"), ("65.01.01.2006", "op.lain")):
        sid = open_with_items(db, desa=desa)
        submit(db, operator, sid)
        tasks.append(open_task(db, sid, "kecamatan"))
    return tasks


def _late(db, periode: str) -> list[tuple[int, int]]:
    with db.read() as s:
        listed, total = late_tasks.late_tasks(s, actor(db, "verif.kab"), periode, "65.01.01")
    assert total == len(listed)
    return [(t.task_id, t.hari) for t in listed]


def test_a_task_is_late_only_once_its_deadline_has_passed(db, people):
    task, neighbour = _two_desa_waiting(db)
    with db.transaction() as s:
        s.get(HumanTask, neighbour.id).due_at = task.due_at + timedelta(days=30)  # the neighbour's not due for a month
    with clock.frozen_at(task.due_at):
        assert _late(db, task.periode) == []  # at the very moment of its deadline: not yet late
    with clock.frozen_at(task.due_at + timedelta(seconds=1)):
        assert _late(db, task.periode) == [(task.id, 0)]
