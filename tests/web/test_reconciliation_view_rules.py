"""What the reconciliation's pages do around the use cases, each rule with a test that fails without
it: opening a year only when asked over open work, saying when it was already open, leading back to
the flag just explained, and a flag that is not the task's said, not a missing page."""

from __future__ import annotations

from sqlalchemy import select

from engine.core import clock
from engine.verification import submissions
from models import HumanTask, TaskStatus
from tests.factories import DESA, SYSTEM
from tests.factories import RECONCILIATION_YEAR as YEAR


def _regency_task(db) -> int:
    with db.read() as s:
        return s.scalar(
            select(HumanTask.id).where(
                HumanTask.bpmn_id == "tinjauan_kabupaten",
                HumanTask.status == TaskStatus.TERBUKA,
                HumanTask.region_kode == "65.01",
            )
        )


def test_a_year_with_open_verification_work_is_opened_only_when_the_steward_insists(year, signed_in):
    with year.transaction() as s:  # a desa's third quarter of the year still waits for its verification
        submissions.open_submission(s, SYSTEM, DESA, f"{YEAR}-Q3", "65")
    province = signed_in("walidata.prov")
    refused = province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)}, follow_redirects=True)
    assert f"tugas verifikasi tahun {YEAR} yang terbuka" in refused.get_data(as_text=True)
    assert _regency_task(year) is None
    forced = province.post("/rekonsiliasi/buka", {"tahun": str(YEAR), "paksa": "1"}, follow_redirects=True)
    assert "Rekonsiliasi dibuka." in forced.get_data(as_text=True) and _regency_task(year) is not None


def test_opening_a_year_twice_says_it_was_already_open(year, signed_in):
    province = signed_in("walidata.prov")
    province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)})
    again = province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)}, follow_redirects=True).get_data(as_text=True)
    assert "Rekonsiliasi tahun ini sudah dibuka." in again and "Rekonsiliasi dibuka." not in again


def test_a_year_typed_wrong_returns_to_the_year_typed_or_last_year(year, signed_in):
    province = signed_in("walidata.prov")
    future = province.post("/rekonsiliasi/buka", {"tahun": "2999"})
    assert future.headers["Location"].endswith("/rekonsiliasi/2999")  # the year asked, with why it cannot open
    typed = province.post("/rekonsiliasi/buka", {"tahun": "dua"})
    assert typed.status_code == 302 and typed.headers["Location"].endswith(f"/rekonsiliasi/{clock.today().year - 1}")


def test_explaining_a_flag_returns_to_it_and_a_flag_of_another_task_is_said(year, signed_in):
    from engine.verification import reconciliation

    signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": str(YEAR)})
    task_id = _regency_task(year)
    with year.read() as s:
        flag = reconciliation.year_flags(s, "65", YEAR, "65.01")[0]
    regency = signed_in("walidata.kab")
    done = regency.post(
        f"/rekonsiliasi/tugas/{task_id}/tanda/{flag.id}", {"aksi": "jelaskan", "catatan": "cakupan lebih luas"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/rekonsiliasi/tugas/{task_id}#tanda-{flag.id}"
    )
    missing = regency.post(f"/rekonsiliasi/tugas/{task_id}/tanda/999999", {"aksi": "jelaskan", "catatan": "x"})
    assert missing.status_code == 302  # back to the task, saying why: not a page that is not there
    assert "999999" in regency.get(missing.headers["Location"]).get_data(as_text=True)


def test_a_figure_s_trail_asked_without_its_category_leads_to_the_table_to_choose_from(year, signed_in):
    auditor = signed_in("auditor.prov")
    for asked in ("wilayah=65.01", "kategori=LUT", ""):
        answer = auditor.get(f"/penetapan/{YEAR}/jejak?{asked}")
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/penetapan/{YEAR}"), asked
