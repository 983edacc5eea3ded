"""Rules of a region update and of the duplicate checks that the broader tests leave unpinned: which
successor a register moves to when a decree merges several desa at once, the bounds of a list that
looks cut short, what the decree's audit event counts, a restored desa joining the open cycle; and,
for duplicates, the period and the place a finding is weighed against, and that a NIK slip in either
half is found while the operator is told of no other desa."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.errors import Invalid
from engine.people import tokens, users
from engine.quality import record_rules
from engine.quality.nik import compose
from engine.verification import cycles, imports, region_updates, submissions
from models import (
    AuditEvent,
    Cycle,
    ItemAction,
    Record,
    RecordStatus,
    Region,
    RegionChange,
    Severity,
    SubmissionItem,
    VervalStatus,
)
from tests.factories import DESA, PERIOD, SYSTEM, csv_of, decide, person_row, register_record, submit
from tests.regions import SEED, listing, regions_restored  # noqa: F401  (the fixture)

BASIS = ("Kepmendagri No. 100.1.1-9999 Tahun 2026", date(2026, 11, 1))
TODAY = date(2026, 12, 3)
OTHER_DESA = "65.01.01.2006"  # Pejalin, in Gunung Putih's kecamatan


def _apply(db, rows):
    with db.transaction() as s:
        return region_updates.apply_update(s, SYSTEM, rows, "65", BASIS, TODAY)


def _desa_of(prefix: str) -> list[str]:
    return [k for k, _ in SEED if k.startswith(prefix + ".") and k.count(".") == 3]


def _on_register(db, *records: Record) -> list[int]:
    with db.transaction() as s:
        s.add_all(records)
        s.flush()
        return [r.id for r in records]


# --- region updates -------------------------------------------------------------------------------


@pytest.mark.usefixtures("regions_restored")
def test_two_merges_in_one_decree_move_each_register_to_its_own_successor(db):
    _on_register(
        db,
        register_record(1, kode_desa="65.01.01.2006"),
        register_record(2, kode_desa="65.01.01.2008"),
    )
    rows = listing(
        drop={"65.01.01.2006", "65.01.01.2008"},
        lama={"65.01.01.2005": "65.01.01.2006", "65.01.01.2007": "65.01.01.2008"},
    )
    plan = _apply(db, rows)
    assert plan.moved_records == {"65.01.01.2006": 1, "65.01.01.2008": 1}
    with db.read() as s:
        where = dict(s.execute(select(Record.nik, Record.kode_desa)).all())
    assert where == {person_row(1)["nik"]: "65.01.01.2005", person_row(2)["nik"]: "65.01.01.2007"}


@pytest.mark.usefixtures("regions_restored")
def test_a_code_cannot_carry_on_from_itself(db):
    rows = listing(lama={"65.01.01.2005": "65.01.01.2005"})
    with pytest.raises(Invalid) as refused:
        _apply(db, rows)
    assert any("di tingkat yang sama" in p.message for p in refused.value.problems)


@pytest.mark.usefixtures("regions_restored")
def test_twenty_desa_may_end_without_successor_but_not_twenty_one(db):
    desa = _desa_of("65.03.04")  # 28 desa of one kecamatan, none with a register
    with pytest.raises(Invalid) as refused:
        _apply(db, listing(drop=set(desa[:21])))
    assert "daftar tampak tidak lengkap: 0 kabupaten/kota dan 21 desa" in refused.value.problems[0].message
    assert _apply(db, listing(drop=set(desa[:20]))).counts["berakhir"] == 20


@pytest.mark.usefixtures("regions_restored")
def test_a_small_kabupaten_ending_without_successor_is_refused(db):
    # Kota Tarakan: 20 desa/kelurahan, few enough to pass as a decree's, but a kabupaten/kota never ends alone
    ended = {k for k, _ in SEED if k == "65.71" or k.startswith("65.71.")}
    assert len([k for k in ended if k.count(".") == 3]) <= region_updates.MAX_ENDED_ALONE
    with pytest.raises(Invalid) as refused:
        _apply(db, listing(drop=ended))
    assert any("1 kabupaten/kota" in p.message for p in refused.value.problems)
    with db.read() as s:
        assert s.get(Region, "65.71").berakhir is None


@pytest.mark.usefixtures("regions_restored")
def test_removed_records_neither_block_a_desa_ending_nor_count_as_moved(db):
    _on_register(
        db,
        register_record(1, kode_desa="65.01.01.2009", status=RecordStatus.DIHAPUS),
        register_record(2, kode_desa="65.01.01.2006"),
        register_record(3, kode_desa="65.01.01.2006", status=RecordStatus.DIHAPUS),
    )
    plan = _apply(db, listing(drop={"65.01.01.2009", "65.01.01.2006"}, lama={"65.01.01.2005": "65.01.01.2006"}))
    assert plan.moved_records == {"65.01.01.2006": 1}
    with db.read() as s:
        assert s.get(Region, "65.01.01.2009").berakhir == BASIS[1]


@pytest.mark.usefixtures("regions_restored")
def test_a_finished_task_does_not_hold_a_region_back(db, people):
    # a desa whose period was verified and closed: its tasks are done, nothing is being worked there
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, OTHER_DESA, "2026-Q3", "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(31)]))
    submit(db, "op.lain", sid)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    plan = _apply(db, listing(drop={OTHER_DESA}, lama={DESA: OTHER_DESA}))
    assert plan.moved_records == {OTHER_DESA: 1}


@pytest.mark.usefixtures("regions_restored")
def test_the_decrees_audit_event_and_history_count_what_moved_and_what_ended(db, people):
    _on_register(db, register_record(1, kode_desa=OTHER_DESA), register_record(2, kode_desa=OTHER_DESA))
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.teras", "operator", "65.01.01.2009")
        for kode in (OTHER_DESA, "65.01.01.2009"):
            tokens.create_token(s, SYSTEM, tokens.TokenRequest(f"Aplikasi {kode}", kode, ("agregat",)))
    plan = _apply(db, listing(drop={OTHER_DESA, "65.01.01.2009"}, lama={DESA: OTHER_DESA}))
    assert sorted((r.kode, r.penerus) for r in plan.roles) == [(OTHER_DESA, DESA), ("65.01.01.2009", None)]
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "REGIONS_UPDATED"))
        ended = s.scalars(select(RegionChange).where(RegionChange.perubahan == "berakhir")).all()
    counted = {k: event.after[k] for k in ("catatan_pindah", "peran_pindah", "peran_berakhir", "token_pindah")}
    assert counted == {"catatan_pindah": 2, "peran_pindah": 1, "peran_berakhir": 1, "token_pindah": 1}
    assert (event.after["berakhir"], event.after["dasar"]) == (2, BASIS[0])
    assert sorted((c.kode, c.nama_sebelum, c.nama_sesudah, c.terkait) for c in ended) == [
        (OTHER_DESA, "Pejalin", None, DESA),
        ("65.01.01.2009", dict(SEED)["65.01.01.2009"], None, None),
    ]


@pytest.mark.usefixtures("regions_restored")
def test_a_desa_restored_before_the_desa_deadline_joins_the_open_cycle(db, people):
    cycles.open_cycle(db, SYSTEM, PERIOD, "65.01.02")
    with db.read() as s:
        deadline = datetime.fromisoformat(s.scalar(select(Cycle.batas)).get("desa"))
    basis = ("Kepmendagri", date(2026, 10, 1))
    with clock.frozen_at(deadline - timedelta(days=2)):
        region_updates.update_regions(db, SYSTEM, listing(drop={"65.01.01.2009"}), basis, None)
    with clock.frozen_at(deadline - timedelta(days=1)):
        restored = region_updates.update_regions(db, SYSTEM, listing(), basis, None)
    assert [c.perubahan for c in restored.plan.changes] == ["berlaku_lagi"]
    assert restored.opened == {PERIOD: 1}


# --- duplicates -----------------------------------------------------------------------------------


def _checked(db, rows: list[dict[str, Any]], records: list[int | None] | None = None):
    """Each row's findings in Gunung Putih, as {rule: finding}."""
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        found = record_rules.check_rows(s, rows, ctx, DESA, records=records)
    return [{f.rule: f for f in row} for row in found]


def _elsewhere(rule: str, row_findings: dict[str, Any]) -> None:
    """The finding is a question for the verifiers, and its words name no other desa."""
    finding = row_findings[rule]
    assert finding.severity.value == "warning" and finding.detail["tempat"] != DESA
    assert finding.detail["tempat"] not in finding.message and "tempat lain" in finding.message


def test_an_entry_in_another_desas_submission_of_an_earlier_period_is_no_registration_now(db):
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, OTHER_DESA, "2026-Q3", "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    (found,) = _checked(db, [person_row(1)])
    assert "duplikat_nik_tempat_lain" not in found


def test_the_same_kk_on_a_neighbouring_desas_register_is_only_a_question_for_the_verifiers(db):
    # Pejalin shares Gunung Putih's kecamatan, not its desa: the operator is not told where
    kk = "6501011705500077"
    _on_register(db, register_record(1, kode_desa=OTHER_DESA, kategori="FM", no_kk=kk))
    (found,) = _checked(db, [person_row(2, kategori="FM", no_kk=kk)])
    _elsewhere("duplikat_kk_tempat_lain", found)
    assert "duplikat_kk" not in found


def test_a_nik_slip_against_the_desas_own_register_is_not_called_elsewhere(db):
    _on_register(db, register_record(1))
    (found,) = _checked(db, [person_row(9, nama="Maria Ingan 1", nik=person_row(2)["nik"])], records=[None])
    assert "nik_salah_ketik_tempat_lain" not in found


def _slipped(nik: str, at: int) -> str:
    return nik[:at] + str((int(nik[at]) + 1) % 10) + nik[at + 1 :]


@pytest.mark.parametrize("at", [3, 12], ids=["first half", "second half"])
def test_a_nik_slip_in_either_half_is_found_on_another_desas_register_once(db, at):
    nik = person_row(1)["nik"]
    _on_register(
        db,  # the same person twice on that desa's register: one question, not two
        register_record(1, kode_desa=OTHER_DESA),
        register_record(1, kode_desa=OTHER_DESA, nik=_slipped(_slipped(nik, at), at)),
    )
    rows = [person_row(1, nik=_slipped(nik, at))]
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        found = record_rules.check_rows(s, rows, ctx, DESA)
    slips = [f for f in found[0] if f.rule == "nik_salah_ketik_tempat_lain"]
    assert len(slips) == 1 and slips[0].detail == {"tempat": OTHER_DESA, "kategori": "LUT", "sumber": "catatan"}
    assert OTHER_DESA not in slips[0].message


def test_categories_whose_age_bands_touch_are_not_exclusive(db):
    # AT runs to 18, PD starts at 18: an 18-year-old may be both, a note, not an error
    born = "2008-06-01"
    nik = compose(DESA[:8], date(2008, 6, 1), "P", 1)
    rows = [person_row(1, kategori=k, tanggal_lahir=born, nik=nik) for k in ("AT", "PD")]
    found = _checked(db, rows)
    assert found[1]["duplikat_nik_kategori_lain"].severity.value == "info"
    assert "duplikat_kategori" not in found[1]


@pytest.mark.parametrize(
    ("born", "rule", "severity", "not_said"),
    [  # 17 on the period's last day: the ADK record still holds, so a PD entry is the same person twice
        (date(2009, 6, 1), "duplikat_kategori", Severity.ERROR, "pindah_kategori"),
        (date(2008, 6, 1), "pindah_kategori", Severity.INFO, "duplikat_kategori"),  # past it: a move, noted
    ],
    ids=["within-band", "past-band"],
)
def test_a_child_record_is_a_second_registration_until_past_its_band_then_a_move(db, born, rule, severity, not_said):
    nik = compose(DESA[:8], born, "P", 1)
    _on_register(db, register_record(1, kategori="ADK", tanggal_lahir=born, nik=nik))
    (found,) = _checked(db, [person_row(1, kategori="PD", tanggal_lahir=born.isoformat(), nik=nik)], [None])
    said = found[rule]
    assert (said.severity, said.observed, said.expected) == (severity, "PD", "ADK")  # the entry's, the record's
    assert not_said not in found


def test_a_record_another_desa_is_taking_off_its_register_is_no_registration_elsewhere(db):
    # Pejalin marks the person moved away in its draft; Gunung Putih, where they arrived, enters them
    (record,) = _on_register(db, register_record(1, kode_desa=OTHER_DESA))
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, OTHER_DESA, PERIOD, "65").submission.id
        copy = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        assert copy.record_id == record
        copy.aksi, copy.verval, copy.verval_alasan = ItemAction.HAPUS, VervalStatus.PINDAH, "pindah ke Gunung Putih"
    (found,) = _checked(db, [person_row(1)], records=[None])
    assert "duplikat_nik_tempat_lain" not in found


def test_a_file_row_with_the_nik_of_another_desas_record_in_its_category_is_asked_not_taken_as_its_own(db):
    # a row of a file is taken to re-verify the desa's own record of its category, never another desa's
    _on_register(db, register_record(1, kode_desa=OTHER_DESA))
    (found,) = _checked(db, [person_row(1)])
    _elsewhere("duplikat_nik_tempat_lain", found)
    assert found["duplikat_nik_tempat_lain"].detail == {"tempat": OTHER_DESA, "kategori": "LUT", "sumber": "catatan"}
