"""The access matrix of the reconciliation: every role, the lane roles included, against every page
and form of the reconciliation and the determination, and against a region that is not theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.verification import reconciliation
from models import AuditEvent, HumanTask
from tests.conftest import PEOPLE
from tests.factories import RECONCILIATION_PEOPLE, RECONCILIATION_YEAR, SYSTEM, reconciliation_year

EVERYONE = [u for u, _, _ in PEOPLE] + [u for u, _, _ in RECONCILIATION_PEOPLE]
LANE = {"walidata.prov", "walidata.kab", "walidata.kab.lain", "forum.sdi", "kepala.dinas"}
OVERSEERS = {"verif.kab", "verif.kab.lain", "valid.prov", "admin.prov", "auditor.prov", "auditor.kab.lain"} | LANE
INBOX = {"verif.kec", "verif.kec.lain", "verif.kab", "verif.kab.lain", "valid.prov"} | LANE
# route -> who is let in; everyone else gets 403 (wrong role) or 404 (another region, another lane)
MATRIX = [
    ("GET", "/tugas/", INBOX),
    ("POST", "/tugas/filter", INBOX),  # the inbox's own buttons work for everyone it is shown to
    ("POST", "/tugas/klaim", INBOX),
    ("GET", f"/rekonsiliasi/{RECONCILIATION_YEAR}", OVERSEERS),
    ("GET", "/rekonsiliasi/tugas/{bulungan}", {"walidata.kab"}),
    ("POST", "/rekonsiliasi/tugas/{bulungan}", {"walidata.kab"}),
    ("GET", "/penetapan/", OVERSEERS),
    ("POST", "/rekonsiliasi/buka", {"walidata.prov", "valid.prov", "admin.prov"}),
]


@pytest.fixture
def opened(db, people, password_hash):
    reconciliation_year(db, password_hash, team=False)
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", RECONCILIATION_YEAR)
        bulungan = session.scalar(
            select(HumanTask.id).where(HumanTask.bpmn_id == "tinjauan_kabupaten", HumanTask.region_kode == "65.01")
        )
    return {"bulungan": bulungan}


@pytest.mark.parametrize("method, template, allowed", MATRIX, ids=[f"{m} {t}" for m, t, _ in MATRIX])
def test_each_person_is_answered_as_the_matrix_says(signed_in, db, opened, method, template, allowed):
    path = template.format(**opened)
    wrong = []
    for username in EVERYONE:
        browser = signed_in(username)
        with db.read() as s:
            before = s.scalar(select(func.count()).select_from(AuditEvent))
        data = {"tahun": str(RECONCILIATION_YEAR), "catatan": ""}
        response = browser.get(path) if method == "GET" else browser.post(path, data)
        status = response.status_code
        if username in allowed:
            if status not in (200, 302, 400):
                wrong.append(f"{username} {method} {path}: {status}, expected to be let in")
            continue
        if status not in (403, 404):
            wrong.append(f"{username} {method} {path}: {status}, expected 403 or 404")
        with db.read() as s:
            if s.scalar(select(func.count()).select_from(AuditEvent)) != before:
                wrong.append(f"{username} changed something through {method} {path}")
    assert not wrong, "\n".join(wrong)
