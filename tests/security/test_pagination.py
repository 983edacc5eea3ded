"""A submission of any size: the operator's page shows one page of its items, in about the time a
small submission's page takes (a ratio measured in one run, never a wall-clock limit)."""

from __future__ import annotations

import time

from sqlalchemy import insert, select, text

from engine.verification import task_page
from models import SubmissionItem
from tests.factories import open_task, open_with_items, submit

MANY = 100_000
GROWTH = 20  # how much slower the page of a thousand times the items may be


def _grow(db, submission_id: int, total: int) -> None:
    """Copies of the submission's first item, written in bulk (the import would check each), until it
    holds `total` items."""
    with db.transaction() as s:
        items = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission_id)).all()
        row = {c.key: getattr(items[0], c.key) for c in SubmissionItem.__table__.columns if c.key != "id"}
        last = max(i.baris or 0 for i in items)
        for start in range(len(items), total, 10_000):
            count = min(10_000, total - start)
            s.execute(insert(SubmissionItem), [{**row, "baris": last + start + i + 1} for i in range(count)])
    if db.engine.dialect.name == "postgresql":  # as autovacuum would soon: plans for the table's new size
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE submission_item"))


def _fastest(client, path: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - started)
    return min(times)


def test_a_submission_of_100000_items_renders_one_page_quickly(db, people, signed_in):
    sid = open_with_items(db, rows=None)
    with db.transaction() as s:  # one item to copy
        for item in s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).all()[1:]:
            s.delete(item)
    operator = signed_in("op.desa")
    _grow(db, sid, 100)
    small = _fastest(operator, f"/desa/pengajuan/{sid}")
    _grow(db, sid, MANY)
    large = _fastest(operator, f"/desa/pengajuan/{sid}")
    html = operator.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert html.count('id="item-') == 100 and f"({MANY})" in html and "1 / 1000" in html
    # A thousand times the items, one page each: the page must not grow with the submission (drawing
    # every item would take hundreds of times as long; the bound leaves room for a noisy machine).
    assert len(html) < 1_000_000 and large < GROWTH * small, (len(html), small, large)
    last = operator.get(f"/desa/pengajuan/{sid}?halaman=1000").get_data(as_text=True)
    assert last.count('id="item-') == 100 and "1000 / 1000" in last
    assert operator.get(f"/desa/pengajuan/{sid}?halaman=abc").status_code == 400
    assert operator.get(f"/desa/pengajuan/{sid}?halaman=99999999999").status_code == 400


def test_the_task_page_of_a_100000_item_submission_shows_one_page_of_cards(db, people, signed_in):
    sid = open_with_items(db, rows=None)
    with db.transaction() as s:  # one item to copy
        for item in s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid)).all()[1:]:
            s.delete(item)
    submit(db, "op.desa", sid)
    task_id = open_task(db, sid).id
    verifier = signed_in("verif.kec")
    _grow(db, sid, 100)
    small = _fastest(verifier, f"/tugas/{task_id}")
    _grow(db, sid, MANY)
    large = _fastest(verifier, f"/tugas/{task_id}")
    html = verifier.get(f"/tugas/{task_id}").get_data(as_text=True)
    assert html.count('id="item-') == task_page.PAGE_SIZE
    assert len(html) < 1_000_000 and large < GROWTH * small, (len(html), small, large)
    assert verifier.get(f"/tugas/{task_id}?halaman=abc").status_code in (200, 400)  # never a 500
