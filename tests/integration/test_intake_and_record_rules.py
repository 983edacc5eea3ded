# ruff: noqa: F811 (the imported fixtures are named again as test parameters)
"""Rules of the data coming in and of records' life that no other test pins down.

- The exchange API's `wilayah` filter takes the region itself as well as what lies under it: a desa's
  records asked for by the desa's own code, a regency's figure by the regency's code.
- `diperbarui_sejak` takes the moment itself: an agency that asks again from the time of the last
  change it read misses no record changed in that same moment.
- A sensitive category's figure (ODHA, …) goes out through the API from the kabupaten/kota up:
  never a kecamatan's, whose few would point at its people as a desa's would.
- A region asked for that does not exist is a 404, not an empty answer that reads as a region with
  nothing in it.
- A removal applied to the register says on the record's version and on the audit trail what the
  person's standing was and became, and why.
- Minutes (berita acara) whose scanner padded the end of the PDF after its end-of-file marker are
  whole, and are taken; a very long file name is kept on the trail cut to 200 characters.
- A record re-verified as found as it stood keeps the register's values, whatever its copy held.
- An address or remarks cleared by a correction reads empty on the register, as typed.
- A post of agency figures holds up to `MAX_ROWS` rows: that many are taken, one more refused.
- A late task names who holds its claim, so the tier above knows whom to call.
- A person's record history (`sijosku records history`) reads oldest version first, and finds a
  record by a NIK it carried before a correction, and says why each tier decided as it did.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.verification import claims, exchange, late_tasks, minutes, record_history, records, submissions
from models import (
    AggregateValue,
    AuditEvent,
    ItemAction,
    ItemSource,
    Record,
    RecordStatus,
    RecordVersion,
    Source,
    SubmissionItem,
)
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    actor,
    decide,
    open_period,
    open_with_items,
    person_row,
    register_record,
    submit,
    waiting_at_kecamatan,
)

# the API fixtures of tests/web, used here as the tests there use them
from tests.web.conftest import api, app, issue_token  # noqa: F401

WHY = "pengaduan warga desa"


def _records(db, *records) -> list[int]:
    with db.transaction() as s:
        s.add_all(records)
        s.flush()
        return [r.id for r in records]


def test_records_asked_for_by_a_desas_own_code_are_that_desas(db, issue_token, api):
    """An agency asking for Gunung Putih's records by its code gets them, not an empty page."""
    (mine,) = _records(db, register_record(1))
    token = issue_token("65.01", ("catatan",))
    listed = api("GET", "/api/v1/records", token, query_string={"wilayah": DESA}).get_json()
    assert [r["id"] for r in listed["data"]] == [mine] and listed["halaman"]["total"] == 1


def test_a_regencys_figure_asked_for_by_its_own_code_is_in_the_answer(db, our_figures, issue_token, api):
    """Bulungan's own figure is in the answer to a filter on Bulungan's code."""
    token = issue_token("65", ("agregat",))
    answer = api("GET", "/api/v1/aggregates", token, query_string={"wilayah": "65.01"}).get_json()
    assert [(f["kode_wilayah"], f["nilai"]) for f in answer["data"]] == [("65.01", 68)]


def test_records_changed_at_the_moment_asked_from_are_listed(db, issue_token, api):
    """A record changed at 16:00 WITA is in the answer to "changed since 16:00 WITA"."""
    moment = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    (changed,) = _records(db, register_record(1, updated_at=moment))
    token = issue_token("65.01", ("catatan",))
    since = {"diperbarui_sejak": "2026-11-02T16:00:00+08:00"}
    listed = api("GET", "/api/v1/records", token, query_string=since).get_json()["data"]
    assert [r["id"] for r in listed] == [changed]


def test_a_sensitive_categorys_figure_of_a_kecamatan_is_not_published(db, issue_token, api):
    """An agency reading ODHA figures sees Bulungan's, not Tanjung Palas kecamatan's."""
    with db.transaction() as s:
        for region in ("65.01.01", "65.01"):
            s.add(AggregateValue(region_kode=region, kategori="ODHA", periode="2025", nilai=3, sumber="dinsos"))
    token = issue_token("65", ("agregat",))
    data = api("GET", "/api/v1/aggregates", token, query_string={"kategori": "ODHA"}).get_json()["data"]
    assert [f["kode_wilayah"] for f in data] == ["65.01"]


@pytest.mark.parametrize(("path", "resource"), [("/api/v1/records", "catatan"), ("/api/v1/aggregates", "agregat")])
def test_a_region_that_does_not_exist_is_not_found_rather_than_empty(db, issue_token, api, path, resource):
    """A mistyped kecamatan code within the token's regency is answered 404, not "nothing there"."""
    token = issue_token("65.01", (resource,))
    answer = api("GET", path, token, query_string={"wilayah": "65.01.99"})
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"


def test_a_late_task_names_the_verifier_who_holds_it(db):
    """Bulungan's verifier sees that verif.kec holds Gunung Putih's overdue task."""
    team, _, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        claims.claim(s, actor(db, team.kecamatan), task.id)
    with clock.frozen_at(task.due_at + timedelta(days=2)), db.read() as s:
        listed, total = late_tasks.late_tasks(s, actor(db, team.kabupaten), task.periode, "65.01.01")
    assert [(t.task_id, t.hari, t.pemegang) for t in listed] == [(task.id, 2, team.kecamatan)] and total == 1


def _versions(db, record_id: int, *held: tuple[str, str]) -> None:
    """The record's versions 1, 2, … each holding (NIK, desa), as the register wrote them."""
    with db.transaction() as s:
        for versi, (nik, desa) in enumerate(held, start=1):
            s.add(
                RecordVersion(
                    record_id=record_id,
                    versi=versi,
                    nilai={"nik": nik, "kode_desa": desa},
                    perubahan={"nik": [None, nik]},
                    status=RecordStatus.AKTIF,
                    actor="sistem",
                    source=Source.WILAYAH,
                    created_at=clock.now(),
                )
            )
            s.flush()


def test_a_record_history_reads_oldest_version_first(db, people):
    """The auditor reads Maria's register entry as it grew: version 1, then the version that moved it."""
    nik = person_row(1)["nik"]
    (record_id,) = _records(db, register_record(1, versi=2))
    _versions(db, record_id, (nik, "65.01.01.2006"), (nik, DESA))
    with db.transaction() as s:
        versions = record_history.history(s, actor(db, "auditor.prov"), nik, WHY)
    assert [(v["record_id"], v["versi"]) for v in versions] == [(record_id, 1), (record_id, 2)]


def test_a_record_history_finds_a_record_by_the_nik_it_carried_before_a_correction(db, people):
    """Asked for the NIK a record was first entered under, the auditor finds the corrected record."""
    typed, corrected = person_row(1)["nik"], person_row(2)["nik"]
    (record_id,) = _records(db, register_record(2, versi=2))  # now carries person 2's NIK
    _versions(db, record_id, (typed, DESA), (corrected, DESA))
    with db.transaction() as s:
        versions = record_history.history(s, actor(db, "auditor.prov"), typed, WHY)
    assert [(v["record_id"], v["versi"], v["nilai"]["nik"]) for v in versions] == [
        (record_id, 1, typed),
        (record_id, 2, corrected),
    ]


def test_a_record_history_says_why_each_tier_decided(db, people):
    """The kecamatan's note on its approval is in the history beside its name."""
    sid = open_period(db, "2026-Q1", [person_row(1)])
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve", reason="dicek di lapangan 3 November")
    for verifier in ("verif.kab", "valid.prov"):
        decide(db, verifier, sid, "approve")
    with db.transaction() as s:
        (version,) = record_history.history(s, actor(db, "auditor.prov"), person_row(1)["nik"], WHY)
    told = {t["tingkat"]: (t["oleh"], t["alasan"]) for t in version["verifikasi"]}
    assert told["kecamatan"] == ("verif.kec", "dicek di lapangan 3 November")


def _applied(db, record_id: int, aksi: ItemAction, data: dict) -> None:
    """An item of this period's submission on the record, applied to the register as an approval does."""
    with db.transaction() as s:
        submission = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission
        item = SubmissionItem(
            submission_id=submission.id,
            aksi=aksi,
            record_id=record_id,
            kategori="LUT",
            data=data,
            source=ItemSource.FORM,
            updated_at=clock.now(),
        )
        s.add(item)
        s.flush()
        records.apply_items(s, SYSTEM, submission, [item], None)


def test_a_removal_says_the_standing_before_and_after_and_why(db):
    """Maria recorded dead: her version and the trail say she went from active to removed, and why."""
    (record_id,) = _records(db, register_record(1))
    _applied(db, record_id, ItemAction.HAPUS, {"nama": "Maria Ingan 1", "alasan_hapus": "meninggal dunia"})
    with db.read() as s:
        version = s.scalar(select(RecordVersion).where(RecordVersion.record_id == record_id))
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "RECORD_REMOVED"))
        assert s.get(Record, record_id).status == RecordStatus.DIHAPUS
    assert (version.versi, version.perubahan) == (
        2,
        {"status": ["aktif", "dihapus"], "alasan_hapus": [None, "meninggal dunia"]},
    )
    assert (event.subject_id, event.before["status"], event.after["status"], event.reason) == (
        str(record_id),
        "aktif",
        "dihapus",
        "meninggal dunia",
    )


PDF = b"%PDF-1.4\n% berita acara musdes\n%%EOF\n"


def _attach(db, sid: int, name: str, content: bytes) -> str:
    with db.transaction() as s:
        return minutes.attach_minutes(s, actor(db, "op.desa"), sid, name, content, db.settings.upload_dir)


def test_minutes_padded_after_their_end_of_file_marker_are_taken(db, people):
    """A scan whose PDF ends in a few hundred padding bytes after %%EOF is accepted, not called cut short."""
    sid = open_with_items(db)
    assert _attach(db, sid, "ba.pdf", PDF + b"\0" * 500).endswith(".pdf")


def test_a_long_minutes_file_name_is_kept_on_the_trail_cut_short(db, people):
    """The trail keeps the first 200 characters of the name the operator's file had."""
    sid = open_with_items(db)
    name = "berita-acara-musdes-" + "x" * 300 + ".pdf"
    _attach(db, sid, name, PDF)
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "MINUTES_ATTACHED"))
    assert event.after["nama_asli"] == name[:200]


def test_an_address_cleared_by_a_correction_is_empty_on_the_register(db):
    """Maria's address struck out (she has none now) reads empty on her record, not missing."""
    (record_id,) = _records(db, register_record(1, alamat="Jl. Sengkawit No. 3", keterangan="musdes 2025"))
    _applied(db, record_id, ItemAction.UBAH, {**person_row(1), "alamat": "", "keterangan": "", "atribut": {}})
    with db.read() as s:
        record = s.get(Record, record_id)
        assert (record.nama, record.alamat, record.keterangan, record.versi) == ("Maria Ingan 1", "", "", 2)


def test_a_record_found_as_it_stood_keeps_its_values(db):
    """Maria re-verified as found keeps the register's values, whatever her copy's row held."""
    (record_id,) = _records(db, register_record(1))
    _applied(db, record_id, ItemAction.PERIKSA, {**person_row(1), "nama": "Maria Salah Ketik", "atribut": {}})
    with db.read() as s:
        record = s.get(Record, record_id)
        version = s.scalar(select(RecordVersion).where(RecordVersion.record_id == record_id))
        assert (record.nama, record.status, record.versi) == ("Maria Ingan 1", RecordStatus.AKTIF, 2)
    assert (version.source, version.perubahan) == (Source.VERVAL, {})


def test_a_post_of_agency_figures_holds_up_to_its_bound_of_rows(db, issue_token, api, monkeypatch):
    """At the bound the agency's rows are stored; one row more and it is told to split the post."""
    monkeypatch.setattr(exchange, "MAX_ROWS", 2)
    token = issue_token("65", ("angka-instansi",), can_write=True)
    rows = [{"kategori": "LUT", "kode_wilayah": "65.01", "periode": str(year), "nilai": 3} for year in (2023, 2024)]
    assert api("POST", "/api/v1/agency-figures", token, json={"baris": rows}).status_code == 201
    more = [*rows, {**rows[0], "periode": "2025"}]
    refused = api("POST", "/api/v1/agency-figures", token, json={"baris": more})
    assert refused.status_code == 400 and "Paling banyak 2 baris" in refused.get_data(as_text=True)


def test_an_agency_s_region_code_with_spaces_around_it_is_read_as_the_code(db, issue_token, api):
    """The figures' reader strips a code copied from a spreadsheet with a space; the region check does too."""
    token = issue_token("65.01", ("angka-instansi",), can_write=True)
    row = {"kategori": "LUT", "kode_wilayah": " 65.01 ", "periode": "2024", "nilai": 3}
    sent = api("POST", "/api/v1/agency-figures", token, json={"baris": [row]})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(select(AggregateValue.region_kode).where(AggregateValue.nilai == 3)) == "65.01"
