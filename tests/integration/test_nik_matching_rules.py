"""Rules of the check against the civil registry (Dukcapil) that no other test held:

Linkage: an answer given at the very moment of the values it checked is shown; an item changed after
its answer shows `belum_dicek`.

Dukcapil:
- names compare without case, dots and commas; a field empty on either side is no mismatch; the
  address's desa is compared; the message names every differing field;
- only items of submissions under verification, and only non-empty NIKs, are sent; the never-asked
  come first and the batch limit holds across items and records;
- an answer clears the last error, a failure counts its attempt and keeps the registry's reason, a NIK
  shared by two subjects is asked once;
- an answer replaces only its own subject's open flag (a settled one stays), and its flag and audit row
  carry the subject's region, category, period, submission and the differing fields.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.core import clock
from engine.core.audit import AuditAction
from engine.verification import linkage, nik_matching
from models import (
    AuditEvent,
    FlagStatus,
    NikCheck,
    QualityFlag,
    Record,
    Submission,
    SubmissionItem,
    SubmissionStatus,
)
from tests.factories import DESA, PERIOD, carded_record, open_with_items, person_row

NEIGHBOUR = "65.01.01.2006"  # another desa of the same kecamatan


def _flags(db, rule):
    with db.read() as s:
        return s.scalars(select(QualityFlag).where(QualityFlag.rule == rule).order_by(QualityFlag.id)).all()


# --- what the pages show of Dukcapil's answers ---------------------------------------------------------------


def test_an_answer_given_at_the_moment_of_the_values_it_checked_is_shown(db):
    moment = clock.now().replace(microsecond=0) - timedelta(days=1)
    record = carded_record(db, 1, updated_at=moment)
    with db.transaction() as s:
        (subject,) = nik_matching.candidates(s, 10)
        nik_matching.record_answers(s, [(subject, None)], asked_at=moment)
    with db.read() as s:
        assert linkage.nik_statuses(s, [record.id])[record.id].status == "tidak_padan"


def _submitted(db, rows=None, desa=DESA):
    submission_id = open_with_items(db, rows, desa=desa)
    with db.transaction() as s:
        s.execute(update(Submission).where(Submission.id == submission_id).values(status=SubmissionStatus.DIAJUKAN))
    return submission_id


def test_an_item_changed_after_its_answer_shows_belum_dicek(db):
    _submitted(db)
    with db.transaction() as s:
        subjects = nik_matching.candidates(s, 10)
        nik_matching.record_answers(s, [(subject, None) for subject in subjects])
        changed, kept = (s.get(SubmissionItem, subject.item_id) for subject in subjects)
        changed.updated_at = clock.now() + timedelta(seconds=5)  # corrected after the answer
    with db.read() as s:
        shown = linkage.item_nik_statuses(s, [changed.id, kept.id])
    assert (shown[changed.id].status, shown[kept.id].status) == ("belum_dicek", "tidak_padan")


# --- Dukcapil's verdict --------------------------------------------------------------------------------------


class Registry:
    """A Dukcapil holding `people` (NIK → Person); remembers what it was asked."""

    def __init__(self, people=None, failing=()):
        self.people, self.failing, self.asked = people or {}, set(failing), []

    def lookup(self, niks):
        self.asked.append(list(niks))
        if self.failing & set(niks):
            raise nik_matching.RegistryUnavailable("Dukcapil tidak menjawab setelah 1 percobaan: HTTP 500")
        return {n: self.people[n] for n in niks if n in self.people}


def _person(record, **changes):
    values = {
        "nik": record.nik,
        "nama": record.nama,
        "tanggal_lahir": "1950-05-17",
        "jenis_kelamin": "P",
        "no_kk": record.no_kk or "",
        "kode_wilayah": DESA,
    }
    return nik_matching.Person(**{**values, **changes})


def _checks(db):
    with db.read() as s:
        return {c.nik: c for c in s.scalars(select(NikCheck))}


def test_names_are_compared_without_case_dots_and_commas(db):
    upper, titled = carded_record(db, 1), carded_record(db, 2, nama="Drs. Maria Ingan, S.Sos")
    registry = Registry(
        {upper.nik: _person(upper, nama="MARIA INGAN 1"), titled.nik: _person(titled, nama="DRS MARIA INGAN S SOS")}
    )
    report = nik_matching.sync(db, registry, limit=10)
    assert report.answered["padan"] == 2, report


def test_a_field_empty_on_either_side_is_no_mismatch(db):
    ours_empty = carded_record(db, 1, no_kk=None)
    theirs_empty = carded_record(db, 2)
    registry = Registry(
        {
            ours_empty.nik: _person(ours_empty, no_kk="6501011705500001"),
            theirs_empty.nik: _person(theirs_empty, tanggal_lahir="", no_kk="", jenis_kelamin=""),
        }
    )
    assert nik_matching.sync(db, registry, limit=10).answered["padan"] == 2


def test_the_desa_of_the_address_is_compared(db):
    record = carded_record(db, 1)
    nik_matching.sync(db, Registry({record.nik: _person(record, kode_wilayah=NEIGHBOUR)}), limit=10)
    assert _checks(db)[record.nik].berbeda == ["kode_wilayah"]
    assert [f.message for f in _flags(db, "dukcapil")] == ["Dukcapil: tidak padan pada wilayah alamat"]


def test_the_message_names_every_differing_field(db):
    record = carded_record(db, 1)
    person = _person(record, tanggal_lahir="1950-05-18", no_kk="6501019999999999")
    nik_matching.sync(db, Registry({record.nik: person}), limit=10)
    assert _checks(db)[record.nik].berbeda == ["tanggal_lahir", "no_kk"]
    assert [f.message for f in _flags(db, "dukcapil")] == ["Dukcapil: tidak padan pada tanggal lahir, nomor KK"]


# --- whom Dukcapil is asked about --------------------------------------------------------------------------


def test_items_of_a_draft_are_not_sent_to_dukcapil(db):
    open_with_items(db)  # still a draft: the desa may change it
    registry = Registry()
    assert nik_matching.sync(db, registry, limit=10).asked == 0
    assert registry.asked == []


def test_an_empty_nik_is_not_sent_to_dukcapil(db):
    _submitted(db, [person_row(1), person_row(2)])
    carded_record(db, 3, nik="")
    with db.transaction() as s:
        s.execute(update(SubmissionItem).where(SubmissionItem.nik == person_row(2)["nik"]).values(nik=""))
    registry = Registry()
    nik_matching.sync(db, registry, limit=10)
    assert registry.asked == [[person_row(1)["nik"]]]


def test_items_never_asked_about_come_before_those_that_failed(db):
    _submitted(db)
    nik_matching.sync(db, Registry(), limit=10)  # Dukcapil leaves both out of its answer
    _submitted(db, desa=NEIGHBOUR)
    registry = Registry()
    nik_matching.sync(db, registry, limit=1)
    assert registry.asked == [[person_row(61)["nik"]]]  # the neighbour's first item


def test_records_never_asked_about_come_before_those_that_failed(db):
    carded_record(db, 1)
    nik_matching.sync(db, Registry(), limit=10)
    fresh = carded_record(db, 2)
    registry = Registry()
    nik_matching.sync(db, registry, limit=1)
    assert registry.asked == [[fresh.nik]]


def test_the_batch_limit_holds_across_items_and_records(db):
    _submitted(db)  # two items, asked first
    for serial in (11, 12, 13):
        carded_record(db, serial)
    registry = Registry()
    assert nik_matching.sync(db, registry, limit=3).asked == 3
    assert len(registry.asked[0]) == 3


# --- what an answer or a failure leaves --------------------------------------------------------------------


def test_an_answer_clears_the_last_error_and_a_failure_counts_its_attempt(db):
    record = carded_record(db, 1)
    nik_matching.sync(db, Registry(), limit=10)
    nik_matching.sync(db, Registry(), limit=10)
    failed = _checks(db)[record.nik]
    assert (failed.attempts, failed.last_error) == (2, "Dukcapil tidak menjawab NIK ini")
    nik_matching.sync(db, Registry({record.nik: _person(record)}), limit=10)
    answered = _checks(db)[record.nik]
    assert (answered.status, answered.attempts, answered.last_error) == ("padan", 3, None)


def test_a_failure_keeps_the_registrys_reason(db):
    record = carded_record(db, 1)
    nik_matching.sync(db, Registry(failing={record.nik}), limit=10)
    assert "HTTP 500" in _checks(db)[record.nik].last_error


def test_a_nik_shared_by_an_item_and_a_record_is_asked_once_when_it_fails(db):
    record = carded_record(db, 1, no_kk=person_row(1)["no_kk"])
    _submitted(db, [person_row(1)])  # the same person, entered again
    registry = Registry(failing={record.nik})
    report = nik_matching.sync(db, registry, limit=10)
    assert (report.asked, report.failed) == (2, 2)
    assert registry.asked == [[record.nik]]  # not again in halves: there is nothing to split


def test_an_answer_replaces_only_its_own_subjects_open_flag(db):
    first, second = carded_record(db, 1), carded_record(db, 2)
    unknown = Registry({first.nik: None, second.nik: None})  # Dukcapil knows neither NIK
    nik_matching.sync(db, unknown, limit=10)
    with db.transaction() as s:  # the first one's flag settled, and the record corrected since
        s.execute(
            update(QualityFlag)
            .where(QualityFlag.rule == "dukcapil", QualityFlag.record_id == first.id)
            .values(status=FlagStatus.SELESAI, ack_note="sudah dicek ke Dukcapil")
        )
        s.get(Record, first.id).updated_at = clock.now() + timedelta(seconds=5)
    nik_matching.sync(db, unknown, limit=10)  # only the corrected record is asked again
    assert unknown.asked[-1] == [first.nik]
    flags = sorted((f.record_id, f.status) for f in _flags(db, "dukcapil"))
    assert flags == sorted([(first.id, "selesai"), (first.id, "terbuka"), (second.id, "terbuka")])


def test_an_items_flag_and_audit_row_carry_its_place_and_the_differing_fields(db):
    submission_id = _submitted(db, [person_row(1)])
    item_nik = person_row(1)["nik"]
    record = carded_record(db, 2)
    people = {
        item_nik: nik_matching.Person(item_nik, "Orang Lain", "1950-05-17", "P", person_row(1)["no_kk"], DESA),
        record.nik: _person(record, nama="Orang Lain Lagi"),
    }
    nik_matching.sync(db, Registry(people), limit=10)
    flag = next(f for f in _flags(db, "dukcapil") if f.item_id is not None)
    assert (flag.region_kode, flag.kategori, flag.periode, flag.submission_id) == (DESA, "LUT", PERIOD, submission_id)
    assert flag.observed == {"status": "tidak_padan", "berbeda": ["nama"]}
    with db.read() as s:
        trail = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.NIK_CHECKED)).all()
    assert sorted((e.subject_type, e.subject_id, e.after["berbeda"]) for e in trail) == sorted(
        [("submission_item", str(flag.item_id), ["nama"]), ("ppks_record", str(record.id), ["nama"])]
    )
