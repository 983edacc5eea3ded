# ruff: noqa: F811 (the imported fixtures are named again as test parameters)
"""What the register's records and the regions' history promise their readers, at the edges.

- An auditor's look at a person's record history is on the trail with how many records it found,
  so a look that found someone reads differently from one that found no one.
- A record changed by an approval, or moved by a decree that merged its desa, is listed to an agency
  asking for the records changed since a moment before it.
- A decree merging a desa carries its active register to the desa that carries on; a person already
  removed stays where she was removed, without a new version.
- The trail tells a correction (RECORD_UPDATED) from a re-verification found as it stood
  (RECORD_REVERIFIED).
- A person removed from the register and entered anew stays a new entry when another period of her
  desa is approved: she is not tied to the removed record.
- A region renamed in the very instant asked for bears its new name at that instant: the names at a
  moment undo only the changes made after it.
- The auditor's page of region changes lists more than the 200 an administrator's page shows.
- A decree's preview lists the tokens of an ending desa in the order they were issued.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.verification import record_history, region_history, region_updates
from models import AuditEvent, ItemAction, Record, RecordStatus, RecordVersion, Source
from tests.factories import (
    SYSTEM,
    Team,
    actor,
    approved_everywhere,
    items_of,
    open_period,
    open_with_items,
    person_row,
    register_record,
    submit,
)
from tests.integration.test_figure_and_holder_rules import _token
from tests.integration.test_intake_and_record_rules import WHY, _applied, _records
from tests.integration.test_region_updates import BASIS, HEIR, MERGED, TODAY
from tests.integration.test_task_view_and_batch_rules import _renamed
from tests.regions import SEED, listing, regions_restored  # noqa: F401  (the fixture)

# the API fixtures of tests/web, used here as the tests there use them
from tests.web.conftest import api, app, issue_token, signed_in  # noqa: F401

LONG_AGO = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)


def test_a_record_history_that_finds_a_person_says_so_on_the_trail(db, people):
    """The auditor's look that found Maria's record is recorded as having found one record."""
    (record_id,) = _records(db, register_record(1))
    _applied(db, record_id, ItemAction.PERIKSA, {**person_row(1), "atribut": {}})
    nik = person_row(1)["nik"]
    with db.transaction() as s:
        assert len(record_history.history(s, actor(db, "auditor.prov"), nik, WHY)) == 1
    with db.read() as s:
        (searched,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "NIK_SEARCHED")).all()
    assert searched.after == {"nik": nik, "ditemukan": 1}


def test_a_record_corrected_by_an_approval_is_listed_as_changed_since_before_it(db, issue_token, api):
    """Maria's address corrected today: an agency asking for the records changed this year reads her."""
    (record_id,) = _records(db, register_record(1, updated_at=LONG_AGO))
    _applied(db, record_id, ItemAction.UBAH, {**person_row(1), "alamat": "Jl. Baru No. 1", "atribut": {}})
    token = issue_token("65.01", ("catatan",))
    since = {"diperbarui_sejak": "2026-01-01T00:00:00+08:00"}
    listed = api("GET", "/api/v1/records", token, query_string=since).get_json()["data"]
    assert [(r["id"], r["alamat"]) for r in listed] == [(record_id, "Jl. Baru No. 1")]


def _moved(db, *records) -> list[int]:
    """Records of Pejalin written in, then Pejalin merged into Gunung Putih by the decree."""
    ids = _records(db, *records)
    with db.transaction() as s:
        region_updates.apply_update(s, SYSTEM, listing(drop={MERGED}, lama={HEIR: MERGED}), "65", BASIS, TODAY)
    return ids


@pytest.mark.usefixtures("regions_restored")
def test_a_person_removed_from_a_merged_desas_register_stays_where_she_was_removed(db):
    """Maria, recorded dead in Pejalin before the merger, is not carried into Gunung Putih's register."""
    kept, gone = _moved(
        db,
        register_record(1, kode_desa=MERGED),
        register_record(2, kode_desa=MERGED, status=RecordStatus.DIHAPUS, versi=2),
    )
    with db.read() as s:
        assert (s.get(Record, kept).kode_desa, s.get(Record, gone).kode_desa) == (HEIR, MERGED)
        assert (s.get(Record, gone).versi, s.get(Record, gone).status) == (2, RecordStatus.DIHAPUS)
        moved = s.scalars(select(RecordVersion.record_id).where(RecordVersion.source == Source.WILAYAH)).all()
    assert moved == [kept]


@pytest.mark.usefixtures("regions_restored")
def test_a_register_moved_by_a_merger_is_listed_as_changed_since_before_the_decree(db, issue_token, api):
    """An agency asking for Bulungan's records changed this year reads Pejalin's people under Gunung Putih."""
    (record_id,) = _moved(db, register_record(1, kode_desa=MERGED, updated_at=LONG_AGO))
    token = issue_token("65.01", ("catatan",))
    since = {"diperbarui_sejak": "2026-01-01T00:00:00+08:00"}
    listed = api("GET", "/api/v1/records", token, query_string=since).get_json()["data"]
    assert [(r["id"], r["kode_desa"]) for r in listed] == [(record_id, HEIR)]


def test_the_trail_tells_a_correction_from_a_re_verification(db):
    """Maria's address corrected and Rina found as she stood: the auditor reads which was which."""
    corrected, found = _records(db, register_record(1), register_record(2))
    _applied(db, corrected, ItemAction.UBAH, {**person_row(1), "alamat": "Jl. Baru No. 1", "atribut": {}})
    _applied(db, found, ItemAction.PERIKSA, {**person_row(2), "atribut": {}})
    with db.read() as s:
        said = s.execute(
            select(AuditEvent.subject_id, AuditEvent.action).where(AuditEvent.subject_type == "ppks_record")
        ).all()
    assert sorted(said) == sorted([(str(corrected), "RECORD_UPDATED"), (str(found), "RECORD_REVERIFIED")])


def test_a_person_entered_again_after_her_removal_stays_a_new_entry_when_another_period_is_approved(db, people):
    """Maria, removed from the register, is entered anew in this period's draft; an earlier period's
    approval does not tie her entry to the removed record, which would keep her off the register."""
    _records(db, register_record(1, status=RecordStatus.DIHAPUS, versi=2))
    draft = open_with_items(db, rows=[person_row(1)])
    earlier = open_period(db, "2026-Q3", [person_row(5)])
    submit(db, "op.desa", earlier)
    approved_everywhere(db, Team(), earlier)
    [entry] = [item for item in items_of(db, draft) if item.nik == person_row(1)["nik"]]
    assert (entry.aksi, entry.record_id) == (ItemAction.TAMBAH, None)


@pytest.mark.usefixtures("regions_restored")
def test_a_region_renamed_at_the_very_moment_asked_for_already_bears_its_new_name(db):
    """A rename applied in the same instant as a determination's approval is the name the decree used."""
    moment = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    with clock.frozen_at(moment):
        _renamed(db, "Gunung Putih Raya")
    with db.read() as s:
        assert region_history.names_at(s, moment, [HEIR]) == {HEIR: "Gunung Putih Raya"}


@pytest.mark.usefixtures("regions_restored")
def test_an_auditor_reads_more_of_the_regions_history_than_an_admins_page_lists(db, people, signed_in):
    """A decree renaming 201 desa: the auditor's page of region changes lists every one of them."""
    desa = [kode for kode, _ in SEED if kode.count(".") == 3][:201]
    renamed = listing(rename={kode: f"Desa Baru {n}" for n, kode in enumerate(desa)})
    with db.transaction() as s:
        region_updates.apply_update(s, SYSTEM, renamed, "65", BASIS, TODAY)
    page = signed_in("auditor.prov").get("/audit/wilayah").get_data(as_text=True)
    assert page.split('id="riwayat-wilayah"')[1].count("<tr><td>") == 201


@pytest.mark.usefixtures("regions_restored")
def test_a_decrees_preview_lists_the_tokens_of_an_ending_desa_in_the_order_they_were_issued(db):
    """Pejalin's two applications' tokens, issued one after the other, are previewed in that order."""
    first, second = _token(db, "Aplikasi Desa"), _token(db, "Aplikasi Posyandu")
    with db.read() as s:
        preview = region_updates.plan_update(s, SYSTEM, listing(drop={MERGED}, lama={HEIR: MERGED}), "65")
    assert [(t.token_id, t.penerus) for t in preview.tokens] == [(first, HEIR), (second, HEIR)]
