"""A NIK corrected through re-verification: the auditor still finds the record by the number it
carried before, and a revealed NIK shows every number the record held, not two identical masks."""

from __future__ import annotations

from sqlalchemy import select

from engine.verification import items, register, trail
from models import SubmissionItem
from tests.factories import actor, build_world, decide, person_row, submit

CORRECTED = person_row(99)["nik"]  # same birth date and sex, another serial: a slip of the keyboard


def _correct_the_nik(db, world) -> None:
    with db.transaction() as s:
        register.prefill(s, {"65.01.01.2005": world.draft})
        item = s.scalar(
            select(SubmissionItem).where(
                SubmissionItem.submission_id == world.draft, SubmissionItem.record_id == world.record
            )
        )
        values = {**person_row(7), "nik": CORRECTED, "keterangan": "NIK salah ketik"}
        items.save_item(s, actor(db, "op.desa"), world.draft, values, item.id)
    submit(db, "op.desa", world.draft)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, world.draft, "approve")


def test_the_auditor_finds_a_corrected_record_by_its_former_nik(db, people):
    world = build_world(db)
    _correct_the_nik(db, world)
    with db.transaction() as s:
        by_old = trail.search_records(s, actor(db, "auditor.prov"), nik=person_row(7)["nik"])
        by_new = trail.search_records(s, actor(db, "auditor.prov"), nik=CORRECTED)
    assert [f.record.id for f in by_new.found] == [world.record]
    assert [f.record.id for f in by_old.found] == [world.record]  # the number a complaint or an old list names


def test_a_revealed_nik_shows_the_former_number_in_the_timeline(browser, db, people):
    world = build_world(db)
    _correct_the_nik(db, world)
    browser.login("auditor.prov")
    masked = browser.get(f"/audit/catatan/{world.record}").get_data(as_text=True)
    assert person_row(7)["nik"] not in masked and CORRECTED not in masked
    page = browser.post(
        f"/audit/catatan/{world.record}/nik",
        {"alasan": "pengaduan NIK salah ketik 2026"},
        token_from=f"/audit/catatan/{world.record}",
    ).get_data(as_text=True)
    assert CORRECTED in page and person_row(7)["nik"] in page  # before → after, both as they were
