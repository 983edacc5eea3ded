"""Personal data kept in its place: masked where auditors read raw events, every look and export
recorded with a reason, and an export a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select, update

from models import AuditEvent
from tests.factories import build_world, person_row


def _audited(db, action):
    with db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_the_instance_page_masks_nik_and_kk_in_raw_events_and_is_recorded(browser, db, people):
    world = build_world(db)
    nik, kk = person_row(7)["nik"], person_row(7)["no_kk"]
    with db.engine.begin() as conn:  # an event whose raw values hold both, as item changes do
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.instance_id == world.instance)
            .values(after={"nik": nik, "no_kk": kk, "catatan": f"sama dengan {nik}"})
        )
    browser.login("auditor.prov")
    page = browser.get(f"/audit/instans/{world.instance}").get_data(as_text=True)
    assert nik not in page and kk not in page
    assert nik[:6] + "**********" in page
    viewed = _audited(db, "TRAIL_VIEWED")
    assert [(e.actor, e.subject_id) for e in viewed] == [("auditor.prov", str(world.instance))]


def test_a_nik_reveal_without_a_reason_is_refused_by_the_server(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    for reason in ("", "   ", "\u200b"):
        answer = browser.post(
            f"/audit/catatan/{world.record}/nik", {"alasan": reason}, token_from=f"/audit/catatan/{world.record}"
        )
        assert answer.status_code == 400 and person_row(7)["nik"] not in answer.get_data(as_text=True)
    assert _audited(db, "NIK_VIEWED") == []


def test_the_export_needs_a_reason_and_is_recorded(browser, db, people):
    build_world(db)
    browser.login("auditor.prov")
    refused = browser.post("/audit/ekspor.csv", {"alasan": ""}, token_from="/audit/")
    assert refused.status_code == 400 and _audited(db, "TRAIL_EXPORTED") == []
    done = browser.post("/audit/ekspor.csv", {"alasan": "permintaan Inspektorat"}, token_from="/audit/")
    assert done.status_code == 200
    [event] = _audited(db, "TRAIL_EXPORTED")
    assert event.actor == "auditor.prov" and event.reason == "permintaan Inspektorat"


def test_the_export_neutralises_formulas_and_writes_json_with_wita_times(browser, db, people):
    build_world(db)
    with db.engine.begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(reason='=HYPERLINK("http://x","klik")'))
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(reason="+1", actor="@jahat"))
    browser.login("auditor.prov")
    body = browser.post("/audit/ekspor.csv", {"alasan": "pemeriksaan BPK"}, token_from="/audit/").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    cells = [value for row in rows for value in row.values()]
    assert not [c for c in cells if c and c[0] in "=+-@\t\r"]
    assert rows[2]["reason"] == '\'=HYPERLINK("http://x","klik")' and rows[3]["actor"] == "'@jahat"
    for row in rows:
        for column in ("before", "after"):
            if row[column]:
                json.loads(row[column])  # every value is JSON, none a Python repr
        assert row["at"].endswith("+08:00")


def test_a_failed_statements_nik_is_kept_out_of_errors_logs_and_the_job_history(db, caplog):
    """A job whose statement fails stores and logs the error: its values (a NIK here) are not in it."""
    from sqlalchemy import text

    from engine.core import jobs
    from models import JobRun

    nik = person_row(7)["nik"]

    def failing() -> str:
        with db.transaction() as s:
            s.execute(text("SELECT nik FROM tabel_yang_tidak_ada WHERE nik = :nik"), {"nik": nik})
        return "tidak sampai"

    assert jobs.run_once(db, "uji_gagal", "satu", failing) == jobs.Outcome.GAGAL
    with db.read() as s:
        stored = s.scalar(select(JobRun.message).where(JobRun.job_id == "uji_gagal"))
    assert "tabel_yang_tidak_ada" in stored and nik not in stored
    assert caplog.records and nik not in caplog.text
