"""What an agency's token reads of a person is on the trail, and only what it may read goes out: a
record without a NIK still discloses its family card number, name and address; a token not trusted
with NIKs does not read one written inside an address (as the task and auditor pages mask it)."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent
from tests.factories import register_record

KK = "6501011705500009"
OTHER_NIK = "6501014405600031"  # the person's child, written into the address by the desa


def _record_without_nik(db) -> int:
    with db.transaction() as s:
        record = register_record(9, nik=None, no_kk=KK, alamat="Jl. Sengkawit No. 9")
        s.add(record)
        s.flush()
        return record.id


def _about(db, record_id):
    with db.read() as s:
        return s.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "ppks_record",
                (AuditEvent.subject_id == str(record_id)) | (AuditEvent.action == "RECORDS_DISCLOSED"),
            )
        ).all()


def test_a_full_kk_read_through_the_api_is_on_the_trail_when_the_record_has_no_nik(db, people, issue_token, api):
    record_id = _record_without_nik(db)
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    answer = api("GET", f"/api/v1/records/{record_id}", token)
    body = answer.get_json()
    assert answer.status_code == 200 and body["no_kk"] == KK and body["nama"]  # the full KK, name, address went out
    told = _about(db, record_id)
    assert told, "a full family card number (and name, address) left through the API with no audit row"


def test_a_listing_with_full_numbers_records_every_record_it_disclosed(db, people, issue_token, api):
    record_id = _record_without_nik(db)
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    listed = api("GET", "/api/v1/records", token).get_json()["data"]
    assert [r["no_kk"] for r in listed if r["id"] == record_id] == [KK]
    assert _about(db, record_id), "the listing disclosed the record's full KK without a trail row"


def test_a_masked_token_does_not_read_a_nik_written_in_the_address(db, people, issue_token, api):
    with db.transaction() as s:
        record = register_record(9, alamat=f"ikut anak (NIK {OTHER_NIK}), Jl. Sengkawit No. 9")
        s.add(record)
        s.flush()
        record_id = record.id
    token = issue_token("65.01", ("catatan",))  # no full NIKs
    body = api("GET", f"/api/v1/records/{record_id}", token).get_json()
    assert "*" in body["nik"] and body["nik_lengkap"] is False
    assert OTHER_NIK not in str(body), "a NIK inside the address goes to a token not trusted with NIKs"
