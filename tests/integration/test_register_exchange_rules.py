"""Rules of the register's linkage and of the exchange API that no other test held.

- a poverty category in DTSEN decile 8 already raises `dtsen_desil_tinggi` (decile 7 does not).
- importing a DTSEN extract again replaces only the OPEN DTSEN flags; a settled one stays.
- no DTSEN flag is raised on a removed (`dihapus`) record.
- an extract naming one NIK twice is refused whole, with the masked NIK in the problem, and the
  earlier extract stays.
- a submission item that removes a record, and a removed register record, are not sent to
  Dukcapil for matching.
- `/api/v1/aggregates` filters by `kategori` and by `tingkat`.
- the API's rate limit is counted per token: two tokens calling from one address each have
  their own bucket.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.people import privacy
from engine.quality import aggregates, series
from engine.verification import dtsen, nik_matching
from models import (
    DtsenEntry,
    FlagStatus,
    ItemAction,
    QualityFlag,
    RecordStatus,
    Submission,
    SubmissionItem,
    SubmissionStatus,
)
from tests.factories import DESA, SYSTEM, open_with_items, person_row, register_record
from tests.web.conftest import api, app, issue_token  # noqa: F401  (the web fixtures, borrowed)

HEADER = "nik,no_kk,desil,program,kode_wilayah\n"


def _record(db, serial, kategori, status=RecordStatus.AKTIF):
    with db.transaction() as s:
        record = register_record(serial, kategori=kategori, no_kk=f"65010100000000{serial:02d}", status=status)
        s.add(record)
    return record


def _import(db, text):
    with db.transaction() as s:
        return dtsen.import_extract(s, SYSTEM, dtsen.read_extract("dtsen.csv", text.encode()), "65")


def _flags(db):
    with db.read() as s:
        return {(f.rule, f.record_id) for f in s.scalars(select(QualityFlag))}


# --- DTSEN ---------------------------------------------------------------------------------------------


def test_decile_8_is_already_high_for_a_poverty_category_and_decile_7_is_not(db):
    eighth, seventh = _record(db, 1, "PRSE"), _record(db, 2, "FM")
    report = _import(db, HEADER + f"{eighth.nik},,8,,{DESA}\n{seventh.nik},,7,,{DESA}\n")
    assert report.flags == {dtsen.HIGH: 1}, "desil 8 adalah desil tinggi (8-10); desil 7 tidak"
    assert _flags(db) == {(dtsen.HIGH, eighth.id)}


def test_a_new_extract_replaces_open_dtsen_flags_but_keeps_settled_ones(db):
    settled, still_open = _record(db, 1, "PRSE"), _record(db, 2, "PRSE")
    extract = HEADER + f"{settled.nik},,9,,{DESA}\n{still_open.nik},,9,,{DESA}\n"
    _import(db, extract)
    with db.transaction() as s:
        s.execute(
            update(QualityFlag)
            .where(QualityFlag.rule == dtsen.HIGH, QualityFlag.record_id == settled.id)
            .values(status=FlagStatus.SELESAI, ack_note="sudah dibahas di musdes")
        )
    _import(db, extract)
    with db.read() as s:
        rows = s.execute(select(QualityFlag.record_id, QualityFlag.status, QualityFlag.ack_note)).all()
    assert sorted(rows) == [
        (settled.id, FlagStatus.SELESAI, "sudah dibahas di musdes"),  # settled: kept as it was
        (settled.id, FlagStatus.TERBUKA, None),  # raised afresh by the new extract
        (still_open.id, FlagStatus.TERBUKA, None),  # the open one replaced, not doubled
    ], "hanya tanda DTSEN terbuka yang diganti"


def test_no_dtsen_flag_is_raised_on_a_removed_record(db):
    poor_gone = _record(db, 1, "FM", status=RecordStatus.DIHAPUS)  # not in DTSEN: would be "tidak ada"
    rich_gone = _record(db, 2, "PRSE", status=RecordStatus.DIHAPUS)  # decile 9: would be "desil tinggi"
    report = _import(db, HEADER + f"{rich_gone.nik},,9,,{DESA}\n")
    assert report.flags == {}
    assert (report.linked_nik, report.linked_kk) == (0, 0)
    assert not {r for _, r in _flags(db)} & {poor_gone.id, rich_gone.id}


def test_an_extract_naming_one_nik_twice_is_refused_whole_and_the_earlier_extract_stays(db):
    _import(db, HEADER + f"{person_row(3)['nik']},,1,PKH,\n")
    twice = person_row(4)["nik"]
    with pytest.raises(Invalid) as refused:
        _import(db, HEADER + f"{twice},,2,PKH,\n{person_row(5)['nik']},,3,,\n{twice},,5,BPNT,\n")
    assert "tidak ada yang disimpan" in str(refused.value)
    assert [(p.column, p.message) for p in refused.value.problems] == [
        ("nik", f"NIK {privacy.mask_nik(twice)} muncul lebih dari sekali")
    ]
    assert twice not in refused.value.problems[0].message  # masked, never the whole NIK
    with db.read() as s:
        assert list(s.scalars(select(DtsenEntry.nik))) == [person_row(3)["nik"]]


# --- Dukcapil matching ---------------------------------------------------------------------------------


class Recording:
    """A Dukcapil that knows no one and remembers every NIK it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, niks: list[str]) -> dict[str, nik_matching.Person | None]:
        self.asked += niks
        return {nik: None for nik in niks}


def test_an_item_that_removes_a_record_is_not_sent_to_dukcapil(db):
    submission_id = open_with_items(db, [person_row(1), person_row(2)])
    with db.transaction() as s:
        s.execute(update(Submission).where(Submission.id == submission_id).values(status=SubmissionStatus.DIAJUKAN))
        removing = s.scalar(select(SubmissionItem).where(SubmissionItem.nik == person_row(2)["nik"]))
        removing.aksi = ItemAction.HAPUS
    port = Recording()
    report = nik_matching.sync(db, port, limit=100)
    assert port.asked == [person_row(1)["nik"]], "butir hapus tidak dikirim ke Dukcapil"
    assert report.asked == 1


def test_a_removed_register_record_is_not_sent_to_dukcapil(db):
    active = _record(db, 1, "LUT")
    _record(db, 2, "LUT", status=RecordStatus.DIHAPUS)
    port = Recording()
    report = nik_matching.sync(db, port, limit=100)
    assert port.asked == [active.nik], "catatan dihapus tidak dikirim ke Dukcapil"
    assert report.asked == 1


# --- the API ---------------------------------------------------------------------------------------------


@pytest.fixture
def figures(db):
    """Dinas Sosial's figures of 2025: two categories at the regency, one at a kecamatan below it."""
    values = [
        series.Value("65.01", "LUT", "2025", 11),
        series.Value("65.01", "FM", "2025", 22),
        series.Value("65.01.01", "LUT", "2025", 33),
    ]
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, values, AuditAction.BASELINE_IMPORTED)


def _listed(api, token, **query):  # noqa: F811
    answer = api("GET", "/api/v1/aggregates", token, query_string=query)
    assert answer.status_code == 200, answer.get_json()
    return sorted((f["kode_wilayah"], f["kode_kategori"], f["nilai"]) for f in answer.get_json()["data"])


def test_aggregates_filter_by_kategori(db, figures, issue_token, api):  # noqa: F811
    token = issue_token("65.01", ("agregat",))
    assert len(_listed(api, token)) == 3
    assert _listed(api, token, kategori="FM") == [("65.01", "FM", 22)]
    assert _listed(api, token, kategori="LUT") == [("65.01", "LUT", 11), ("65.01.01", "LUT", 33)]


def test_aggregates_filter_by_tingkat(db, figures, issue_token, api):  # noqa: F811
    token = issue_token("65.01", ("agregat",))
    assert _listed(api, token, tingkat="kecamatan") == [("65.01.01", "LUT", 33)]
    assert _listed(api, token, tingkat="kabupaten") == [("65.01", "FM", 22), ("65.01", "LUT", 11)]


def test_two_tokens_behind_one_address_each_have_their_own_bucket(db, issue_token, api):  # noqa: F811
    """Same limit on both, so only the key can tell their buckets apart; the test client calls
    from one address for both."""
    first, second = issue_token(rate_limit="2/minute"), issue_token(rate_limit="2/minute")
    assert [api("GET", "/api/v1/aggregates", first).status_code for _ in range(3)] == [200, 200, 429]
    assert [api("GET", "/api/v1/aggregates", second).status_code for _ in range(2)] == [200, 200]
