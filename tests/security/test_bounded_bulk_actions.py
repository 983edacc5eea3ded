"""Actions on many tasks or records at once are bounded, and their answer fits a session cookie.

Claiming tasks and marking register records took any number of ids (a form holds 30,000 of them),
each worked in turn in one transaction; and a bulk action flashed a line per task, which made the
session cookie larger than a browser keeps (the test run turns Werkzeug's warning into an error).
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine.verification.bulk_approval import BULK_LIMIT
from engine.verification.register import MARK_LIMIT
from models import AuditEvent, HumanTask
from web.views.tasks import LISTED_REFUSALS

MISSING = 1_000_000  # ids no task or item has


def _missing(n: int) -> list[str]:
    return [str(MISSING + i) for i in range(n)]


def _session_cookie(answer) -> str:  # noqa: ANN001
    return next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_claiming_more_tasks_than_the_bound_is_refused_whole(db, world, signed_in):
    kab = signed_in("verif.kab")
    answer = kab.post("/tugas/klaim", {"task_id": [str(world.kab_task), *_missing(BULK_LIMIT)]}, token_from="/tugas/")
    assert answer.status_code == 400
    assert f"Paling banyak {BULK_LIMIT} tugas sekali klaim" in answer.get_data(as_text=True)
    with db.read() as s:
        assert s.get(HumanTask, world.kab_task).assignee_id is None


def test_a_bulk_claim_at_the_bound_answers_in_a_few_lines(db, world, signed_in):
    kab = signed_in("verif.kab")
    chosen = [str(world.kab_task), *_missing(BULK_LIMIT - 1)]
    answer = kab.post("/tugas/klaim", {"task_id": chosen}, token_from="/tugas/")
    assert answer.status_code == 302 and len(_session_cookie(answer)) < 4000
    page = kab.get("/tugas/").get_data(as_text=True)
    assert "1 tugas diklaim." in page
    assert page.count(f"Tugas #{MISSING}") == 1 and f"Tugas #{MISSING + LISTED_REFUSALS}" not in page
    assert f"... dan {BULK_LIMIT - 1 - LISTED_REFUSALS} tugas lain tidak dapat diproses." in page
    with db.read() as s:
        assert s.get(HumanTask, world.kab_task).assignee_id is not None


def test_a_bulk_approval_of_many_refused_tasks_answers_in_a_few_lines(db, world, signed_in):
    kab = signed_in("verif.kab")
    answer = kab.post("/tugas/setujui", {"task_id": _missing(BULK_LIMIT)}, token_from="/tugas/")
    assert answer.status_code == 302 and len(_session_cookie(answer)) < 4000


def test_marking_more_register_records_than_the_bound_is_refused_whole(db, world, signed_in):
    operator = signed_in("op.desa")
    page = f"/desa/pengajuan/{world.draft}/register"
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    answer = operator.post(
        page,
        {"item_id": _missing(MARK_LIMIT + 1), "status": "meninggal", "alasan": "wafat"},
        token_from=page,
        follow_redirects=True,
    )
    assert f"Paling banyak {MARK_LIMIT} catatan sekali tandai" in answer.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
