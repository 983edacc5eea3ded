"""Rules of the matching with the civil registry (Dukcapil) and of what the pages and the API show of
it, that no other test held:

- only `"ditemukan": false` is "not found"; a null, or a name of nothing but spaces, is no verdict;
- a person found without a word on whether they live is not recorded as dead;
- a row about a NIK not asked in that call is not taken as its answer;
- an item corrected after its answer is asked again; an answer given at the moment of the values it
  checked is not asked again;
- an answer replaces the subject's own Dukcapil flag only: other rules' open flags, and the flags of
  other items, stay;
- a failure notes the latest reason, not the first one;
- the run's summary names only the verdicts given;
- the shown answer carries its time;
- the API gives each record its Dukcapil answer and its DTSEN decile (by family card when the NIK is
  not in DTSEN); records changed since a moment include those changed at that very moment; a record
  without a NIK read by a trusted token is disclosed, but no NIK of it is said to be viewed;
- a family's programmes are listed once each, sorted.
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import select

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.config import DukcapilSettings
from engine.verification import dtsen, linkage, nik_matching
from models import (
    AuditEvent,
    FlagStatus,
    NikCheck,
    QualityFlag,
    Severity,
    SubmissionItem,
)
from tests.factories import DESA, SYSTEM, carded_record, person_row
from tests.integration.test_nik_matching_rules import Registry, _submitted
from tests.web.conftest import api, app, issue_token  # noqa: F401  (the web fixtures, borrowed)


def _http(rows_for=None, answer=None):
    """A Dukcapil over HTTP answering each asked NIK with the row `rows_for(nik)`, or each request with
    `answer(niks)`."""

    def dukcapil(request: httpx.Request) -> httpx.Response:
        niks = json.loads(request.content)["nik"]
        return answer(niks) if answer else httpx.Response(200, json={"hasil": [rows_for(n) for n in niks]})

    settings = DukcapilSettings(base_url="http://dukcapil", retries=1, backoff=0.0, breaker_failures=1000)
    return nik_matching.HttpDukcapil(settings, transport=httpx.MockTransport(dukcapil))


def _sync(db, client) -> nik_matching.SyncReport:
    """One run of the matching over HTTP, its connections closed after."""
    try:
        return nik_matching.sync(db, client, limit=10)
    finally:
        client.close()


def _person(record, **changes):
    values = {"nama": record.nama, "tanggal_lahir": "1950-05-17", "jenis_kelamin": "P", "no_kk": record.no_kk}
    return nik_matching.Person(nik=record.nik, kode_wilayah=DESA, **{**values, **changes})


def _found(record, **changes):
    row = {
        "nik": record.nik,
        "ditemukan": True,
        "nama": record.nama,
        "tanggal_lahir": "1950-05-17",
        "jenis_kelamin": "P",
        "no_kk": record.no_kk,
        "kode_wilayah": DESA,
    }
    return {**row, **changes}


def _checks(db):
    with db.read() as s:
        return {c.nik: c for c in s.scalars(select(NikCheck))}


def _dukcapil_flags(db):
    with db.read() as s:
        return s.scalars(select(QualityFlag).where(QualityFlag.rule == "dukcapil").order_by(QualityFlag.id)).all()


# --- what an answer of the registry says ------------------------------------------------------------------


def test_a_person_found_without_a_word_on_being_alive_is_not_recorded_as_dead(db):
    """Only `status_hidup: meninggal` says the person died; a row without it is compared as usual."""
    record = carded_record(db, 1)
    report = _sync(db, _http(lambda nik: _found(record)))  # no status_hidup at all
    assert (report.answered["padan"], report.answered["meninggal"]) == (1, 0), report
    assert _dukcapil_flags(db) == []


def test_a_null_found_field_is_no_verdict_and_the_person_stays_unchecked(db):
    """Only `false` means "not found": a null is an answer SIJOSKU cannot read, not a NIK to flag."""
    record = carded_record(db, 1)
    report = _sync(db, _http(lambda nik: {"nik": nik, "ditemukan": None, "nama": record.nama}))
    assert (report.failed, sum(report.answered.values())) == (1, 0), report
    assert _checks(db)[record.nik].status == "belum_dicek"
    assert _dukcapil_flags(db) == []


def test_a_row_about_a_nik_not_asked_in_that_call_is_not_taken_as_its_answer(db):
    """A chunk that fails is asked again in halves: the NIK whose own call fails stays unchecked, even
    when the other half's answer carries a row about it."""
    first, second = carded_record(db, 1), carded_record(db, 2)

    def dukcapil(niks: list[str]) -> httpx.Response:
        if second.nik in niks:
            return httpx.Response(500, json={"pesan": "galat internal"})
        rows = [_found(first), {"nik": second.nik, "ditemukan": False}]  # about both, though asked one
        return httpx.Response(200, json={"hasil": rows})

    report = _sync(db, _http(answer=dukcapil))
    assert (report.answered["padan"], report.answered["tidak_padan"], report.failed) == (1, 0, 1), report
    assert _checks(db)[second.nik].status == "belum_dicek"
    assert _dukcapil_flags(db) == []


def test_a_person_found_with_a_name_of_only_spaces_is_no_verdict(db):
    """A found row needs a name to compare; blanks are no name."""
    record = carded_record(db, 1)
    report = _sync(db, _http(lambda nik: _found(record, nama="   ")))
    assert (report.failed, sum(report.answered.values())) == (1, 0), report
    assert _checks(db)[record.nik].status == "belum_dicek"


# --- whom Dukcapil is asked about again ---------------------------------------------------------------------


def test_an_item_corrected_after_its_answer_is_asked_again(db):
    """The verifier is waiting on the corrected values: the item goes back to Dukcapil, and only it."""
    _submitted(db)
    nik_matching.sync(db, Registry({person_row(1)["nik"]: None, person_row(2)["nik"]: None}), limit=10)
    with db.transaction() as s:
        corrected = s.scalar(select(SubmissionItem).where(SubmissionItem.nik == person_row(2)["nik"]))
        corrected.updated_at = clock.now() + timedelta(seconds=5)
    registry = Registry()
    assert nik_matching.sync(db, registry, limit=10).asked == 1
    assert registry.asked == [[person_row(2)["nik"]]]


def test_a_record_answered_at_the_moment_of_its_values_is_not_asked_again(db):
    """An answer as new as the values it checked is current: a rerun leaves the record alone."""
    moment = clock.now().replace(microsecond=0) - timedelta(days=1)
    carded_record(db, 1, updated_at=moment)
    with db.transaction() as s:
        (subject,) = nik_matching.candidates(s, 10)
        nik_matching.record_answers(s, [(subject, None)], asked_at=moment)
    registry = Registry()
    assert nik_matching.sync(db, registry, limit=10).asked == 0
    assert registry.asked == []


# --- what an answer or a failure leaves -----------------------------------------------------------------------


def test_an_answer_leaves_the_open_flags_of_other_rules_on_the_record(db):
    """Dukcapil's answer replaces its own flag only; a DTSEN finding on the same person stays open."""
    record = carded_record(db, 1)
    with db.transaction() as s:
        s.add(
            QualityFlag(
                rule="dtsen_desil_tinggi",
                severity=Severity.WARNING,
                message="Kategori kemiskinan PRSE, tetapi DTSEN mencatat desil 9",
                region_kode=DESA,
                kategori="LUT",
                field="nik",
                sources={},
                record_id=record.id,
                status=FlagStatus.TERBUKA,
                created_at=clock.now(),
            )
        )
    nik_matching.sync(db, Registry({record.nik: None}), limit=10)
    with db.read() as s:
        open_rules = sorted(s.scalars(select(QualityFlag.rule).where(QualityFlag.record_id == record.id)))
    assert open_rules == ["dtsen_desil_tinggi", "dukcapil"]


def test_an_answer_on_one_item_leaves_the_flag_of_another_item(db):
    """Each item keeps its own Dukcapil flag when another item of the submission is answered later."""
    _submitted(db)
    first, second = person_row(1)["nik"], person_row(2)["nik"]
    nik_matching.sync(db, Registry({first: None}), limit=10)  # the second left out: asked again later
    nik_matching.sync(db, Registry({second: None}), limit=10)
    with db.read() as s:
        flagged = set(s.scalars(select(SubmissionItem.nik).join(QualityFlag, QualityFlag.item_id == SubmissionItem.id)))
    assert flagged == {first, second}


def test_a_failure_notes_the_latest_reason_not_the_first(db):
    """The last error on a check tells why the latest attempt failed."""
    record = carded_record(db, 1)
    nik_matching.sync(db, Registry(), limit=10)  # left out of the answer
    assert _checks(db)[record.nik].last_error == "Dukcapil tidak menjawab NIK ini"
    nik_matching.sync(db, Registry(failing={record.nik}), limit=10)
    check = _checks(db)[record.nik]
    assert check.attempts == 2 and "HTTP 500" in check.last_error


def test_the_runs_summary_names_only_the_verdicts_given(db):
    """The job's message: what was asked, the verdicts with a count, the failures and what waits."""
    answered, unknown, left_out = carded_record(db, 1), carded_record(db, 2), carded_record(db, 3)
    people = {answered.nik: nik_matching.Person(answered.nik, answered.nama, "", "", "", ""), unknown.nik: None}
    report = nik_matching.sync(db, Registry(people), limit=10)
    assert left_out.nik not in people
    assert report.summary() == "3 ditanyakan; dijawab: padan 1, tidak_padan 1; gagal 1; dilewati 0."


# --- what the pages and the API show ------------------------------------------------------------------------


def test_the_shown_answer_carries_the_time_it_was_given(db):
    """The record page and the API show when Dukcapil answered, beside the verdict."""
    moment = clock.now().replace(microsecond=0) - timedelta(hours=1)
    record = carded_record(db, 1, updated_at=moment - timedelta(days=1))
    with db.transaction() as s:
        (subject,) = nik_matching.candidates(s, 10)
        nik_matching.record_answers(s, [(subject, None)], asked_at=moment)
    with db.read() as s:
        shown = linkage.nik_statuses(s, [record.id])[record.id]
    assert (shown.status, shown.checked_at, shown.berbeda) == ("tidak_padan", moment, ("nik",))


def test_the_api_gives_a_record_its_dukcapil_answer_and_its_familys_dtsen_decile(db, issue_token, api):  # noqa: F811
    """`status_nik` is Dukcapil's current answer with its differing fields; `dtsen` is found by the
    family card when the person's own NIK is not in DTSEN."""
    record = carded_record(db, 1, updated_at=clock.now() - timedelta(days=1))
    nik_matching.sync(db, Registry({record.nik: _person(record, nama="Orang Lain")}), limit=10)
    with db.transaction() as s:  # the person's child is in DTSEN, on the same family card
        child = {"nik": person_row(2)["nik"], "no_kk": record.no_kk, "desil": "3", "program": "PKH|BPNT"}
        dtsen.import_extract(s, SYSTEM, [{**child, "kode_wilayah": DESA}], "65")
    body = api("GET", f"/api/v1/records/{record.id}", issue_token("65.01", ("catatan",))).get_json()
    assert (body["status_nik"]["status"], body["status_nik"]["berbeda"]) == ("tidak_padan", ["nama"])
    assert body["status_nik"]["checked_at"]
    assert body["dtsen"] == {"desil": 3, "program": ["BPNT", "PKH"], "via": "kk"}


def test_records_changed_since_a_moment_include_those_changed_at_that_moment(db, issue_token, api):  # noqa: F811
    """A client going on from the time of the last record it read gets that record again, never loses it."""
    moment = clock.now().replace(microsecond=0) - timedelta(hours=1)
    record = carded_record(db, 1, updated_at=moment)
    carded_record(db, 2, updated_at=moment - timedelta(seconds=1))
    token = issue_token("65.01", ("catatan",))
    since = {"diperbarui_sejak": moment.isoformat()}
    listed = api("GET", "/api/v1/records", token, query_string=since).get_json()["data"]
    assert [r["id"] for r in listed] == [record.id]


def test_a_record_without_a_nik_is_disclosed_but_no_nik_of_it_is_said_viewed(db, issue_token, api):  # noqa: F811
    """The trail tells what went out: the record, and a NIK read only where there was one."""
    without, with_nik = carded_record(db, 1, nik=None), carded_record(db, 2)
    token = issue_token("65.01", ("catatan",), sees_nik=True)
    assert api("GET", "/api/v1/records", token).status_code == 200
    with db.read() as s:
        viewed = s.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == AuditAction.NIK_VIEWED)).all()
        (told,) = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.RECORDS_DISCLOSED)).all()
    assert viewed == [str(with_nik.id)]
    assert sorted(told.after["catatan"]) == sorted([without.id, with_nik.id])


def test_a_familys_programmes_are_listed_once_each_in_order(db):
    """Found by family card, the person shows every programme of the family, each once, sorted."""
    card = "6501010000000077"
    members = [("6501010101900071", "PKH|KIS|BPNT|PIP"), ("6501010101900072", "SEMBAKO|BLT|PKH|RUTILAHU|ATENSI")]
    with db.transaction() as s:
        rows = [{"nik": n, "no_kk": card, "desil": "2", "program": p, "kode_wilayah": DESA} for n, p in members]
        dtsen.import_extract(s, SYSTEM, rows, "65")
    with db.read() as s:
        shown = linkage.dtsen_for(s, [("6501019999999999", card)])[("6501019999999999", card)]
    assert shown.program == ("ATENSI", "BLT", "BPNT", "KIS", "PIP", "PKH", "RUTILAHU", "SEMBAKO")
    assert (shown.desil, shown.via) == (2, "kk")
