"""Rules of the linkage with the national register (DTSEN) that no other test held:

- an extract is refused whole for a family card that is not 16 digits, a decile outside 1-10, more than
  20 programmes or a programme past 40 characters, and for having no row at all (the earlier stays);
- only a province's administrator replaces its extract, and only DTSEN's open flags are replaced;
- a record linked by family card takes the family's lowest decile, and a record's own NIK comes first;
- `dtsen_fm_tidak_ada` is for fakir miskin only, and records and residents of another province raise
  nothing; the flags carry what the pages show (message, severity, region, tier, decile);
- the desa's information counts deciles 1-2 only, leaves out residents registered by NIK or by family
  card, shows at most 20 NIKs and masks them; the operator's list is the desa's own residents of
  deciles 1-2 and keeps a resident registered by family card only in another desa;
- the endpoint's pages are bounded (a page longer than asked, a next page past the limit; exactly the
  limit is fine), programmes sent as a list and null fields are read, an answer of the wrong shape is
  "unavailable", and only the province's administrator fetches.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from engine.core.config import DtsenSettings
from engine.core.errors import Invalid, NotFound, Unavailable
from engine.people import privacy
from engine.verification import dtsen, nik_matching
from models import (
    DtsenEntry,
    QualityFlag,
)
from tests.factories import DESA, SYSTEM, actor, carded_record, make_team, person_row

HEADER = "nik,no_kk,desil,program,kode_wilayah\n"
NEIGHBOUR = "65.01.01.2006"  # another desa of the same kecamatan
OTHER_PROVINCE = "64.01.01.2009"  # Samurangau, Kalimantan Timur


def _import(db, text, who=SYSTEM):
    with db.transaction() as s:
        return dtsen.import_extract(s, who, dtsen.read_extract("dtsen.csv", text.encode()), "65")


def _refused(db, text):
    with pytest.raises(Invalid) as refused:
        _import(db, text)
    return [(p.row, p.column) for p in refused.value.problems]


def _flags(db, rule):
    with db.read() as s:
        return s.scalars(select(QualityFlag).where(QualityFlag.rule == rule).order_by(QualityFlag.id)).all()


def _stored(db):
    with db.read() as s:
        return sorted(s.scalars(select(DtsenEntry.nik)))


# --- the extract's rows ------------------------------------------------------------------------------


def test_a_family_card_that_is_not_16_digits_is_refused(db):
    assert _refused(db, HEADER + f"{person_row(1)['nik']},12345,3,,\n") == [(2, "no_kk")]


def test_deciles_run_from_1_to_10(db):
    assert _refused(db, HEADER + f"{person_row(1)['nik']},,0,,\n") == [(2, "desil")]
    assert _import(db, HEADER + f"{person_row(1)['nik']},,10,,\n").rows == 1  # the richest decile is a decile


def test_a_decile_written_as_a_superscript_digit_is_a_row_problem_not_a_crash(db):
    """A cell holding "\u00b2" (a superscript two, as a copied report or a word processor writes it)."""
    assert _refused(db, HEADER + f"{person_row(1)['nik']},,\u00b2,,\n") == [(2, "desil")]
    assert _refused(db, HEADER + f"{person_row(1)['nik']},,\uff13,,\n") == [(2, "desil")]  # a full-width three


def test_programmes_are_at_most_20_names_of_at_most_40_characters(db):
    nik = person_row(1)["nik"]
    twenty = "|".join(["A" * 40] + [f"P{i}" for i in range(19)])
    assert _import(db, HEADER + f"{nik},,3,{twenty},\n").rows == 1
    assert _refused(db, HEADER + f"{nik},,3,{twenty}|P19,\n") == [(2, "program")]  # a 21st
    assert _refused(db, HEADER + f"{nik},,3,{'A' * 41},\n") == [(2, "program")]  # a 41st character


def test_an_extract_without_rows_is_refused_and_the_earlier_one_stays(db):
    """An endpoint answering with no row (or an empty file) must not wipe the extract out."""
    _import(db, HEADER + f"{person_row(1)['nik']},,3,,\n")
    with db.transaction() as s, pytest.raises(Invalid) as refused:
        dtsen.import_extract(s, SYSTEM, [], "65")
    assert [p.message for p in refused.value.problems] == ["berkas tidak berisi baris data"]
    assert _stored(db) == [person_row(1)["nik"]]


def test_only_the_provinces_administrator_replaces_its_extract(db, regency_admin):
    _import(db, HEADER + f"{person_row(1)['nik']},,3,,\n")
    with pytest.raises(NotFound):
        _import(db, HEADER + f"{person_row(2)['nik']},,3,,\n", who=regency_admin)  # Bulungan's admin
    assert _stored(db) == [person_row(1)["nik"]]


# --- the flags an extract raises -----------------------------------------------------------------------


def test_an_extract_leaves_the_open_flags_of_other_registers_alone(db):
    record = carded_record(db, 1)
    with db.transaction() as s:
        (subject,) = nik_matching.candidates(s, 10)
        nik_matching.record_answers(s, [(subject, None)])  # Dukcapil does not know the NIK
    _import(db, HEADER + f"{record.nik},,3,,\n")
    assert [f.record_id for f in _flags(db, "dukcapil")] == [record.id]


def test_a_record_linked_by_family_card_takes_the_familys_lowest_decile(db):
    rich = carded_record(db, 1, "PRSE", no_kk="6501010000000001")
    poor = carded_record(db, 2, "FM", no_kk="6501010000000002")
    report = _import(
        db,
        HEADER
        + "6501010101800011,6501010000000001,9,,\n"  # two members of the first family, deciles 9 and 8
        + "6501010101800012,6501010000000001,8,,\n"
        + "6501010101800021,6501010000000002,9,,\n"  # the second family: 9 and 2, so 2
        + "6501010101800022,6501010000000002,2,,\n",
    )
    assert (report.linked_nik, report.linked_kk, report.flags) == (0, 2, {dtsen.HIGH: 1})
    (high,) = _flags(db, dtsen.HIGH)
    assert (high.record_id, high.observed) == (rich.id, {"desil": 8})
    assert poor.id not in {f.record_id for f in _flags(db, dtsen.MISSING)}


def test_a_records_own_nik_comes_before_its_family_card(db):
    rich = carded_record(db, 1, "PRSE", no_kk="6501010000000001")
    poor = carded_record(db, 2, "FM", no_kk="6501010000000002")
    report = _import(
        db,
        HEADER
        + f"{rich.nik},6501010000000001,9,,\n"
        + "6501010101800011,6501010000000001,1,,\n"  # a poorer member of the same family
        + f"{poor.nik},6501010000000002,3,,\n"
        + "6501010101800021,6501010000000002,10,,\n",
    )
    assert (report.linked_nik, report.linked_kk, report.flags) == (2, 0, {dtsen.HIGH: 1})
    assert [(f.record_id, f.observed) for f in _flags(db, dtsen.HIGH)] == [(rich.id, {"desil": 9})]


def test_only_fakir_miskin_missing_from_dtsen_is_flagged(db):
    carded_record(db, 1, "PRSE")  # a poverty category, but not a family one
    fm = carded_record(db, 2, "FM")
    report = _import(db, HEADER + "6501010101800099,,5,,\n")
    assert report.flags == {dtsen.MISSING: 1}
    assert [f.record_id for f in _flags(db, dtsen.MISSING)] == [fm.id]


def test_records_and_residents_of_another_province_raise_nothing(db):
    carded_record(db, 1, "FM", kode_desa=OTHER_PROVINCE)  # not in DTSEN
    carded_record(db, 2, "PRSE", kode_desa=OTHER_PROVINCE)
    report = _import(
        db, HEADER + f"{person_row(2)['nik']},,9,,{OTHER_PROVINCE}\n" + f"6501010101800099,,1,,{OTHER_PROVINCE}\n"
    )
    assert (report.linked_nik, report.flags) == (0, {})
    with db.read() as s:
        assert s.scalars(select(QualityFlag)).all() == []


def test_the_flags_carry_what_the_pages_show(db):
    fm, prse = carded_record(db, 1, "FM"), carded_record(db, 2, "PRSE")
    _import(db, HEADER + f"{prse.nik},,9,,{DESA}\n" + f"6501010101800099,,1,,{DESA}\n")
    (missing,), (high,), (low,) = _flags(db, dtsen.MISSING), _flags(db, dtsen.HIGH), _flags(db, dtsen.LOW)
    assert (missing.record_id, missing.severity, missing.region_kode, missing.kategori) == (
        fm.id,
        "warning",
        DESA,
        "FM",
    )
    assert missing.message == "Fakir miskin ini tidak ada di DTSEN (menurut NIK maupun KK)"
    assert (high.severity, high.region_kode, high.kategori, high.field) == ("warning", DESA, "PRSE", "kategori")
    assert high.message == "Kategori kemiskinan PRSE, tetapi DTSEN mencatat desil 9"
    assert (high.observed, high.expected) == ({"desil": 9}, {"desil": "1-7"})
    assert (low.severity, low.region_kode, low.tingkat, low.record_id) == ("info", DESA, "desa", None)
    assert low.message.startswith("1 warga desil 1-2 di DTSEN belum tercatat")


def test_the_desas_information_counts_deciles_1_and_2_not_registered_by_nik_or_family_card(db):
    carded_record(db, 1, "FM", no_kk="6501010000000001")
    second = "6501010101800022"
    _import(
        db,
        HEADER
        + f"6501010101800011,6501010000000001,1,,{DESA}\n"  # a member of a registered family
        + f"{second},6501010000000002,2,,{DESA}\n"  # decile 2, not registered: counted
        + f"6501010101800033,6501010000000003,3,,{DESA}\n",  # decile 3: not among the poorest
    )
    (low,) = _flags(db, dtsen.LOW)
    assert low.observed == {"jumlah": 1, "nik": [privacy.mask_nik(second)]}


def test_the_desas_information_shows_at_most_20_masked_niks_but_counts_everyone(db):
    residents = [f"65010101018{i:05d}" for i in range(21)]
    _import(db, HEADER + "".join(f"{nik},,1,,{DESA}\n" for nik in residents))
    (low,) = _flags(db, dtsen.LOW)
    assert low.observed["jumlah"] == 21
    assert low.observed["nik"] == [privacy.mask_nik(n) for n in residents[:20]]
    assert not set(low.observed["nik"]) & set(residents)  # never a whole NIK


# --- the desa operator's list ------------------------------------------------------------------------


def test_the_operators_list_is_the_desas_own_residents_of_deciles_1_and_2(db):
    team = make_team(db)
    poorest, neighbour, third = "6501010101800011", "6501010101800022", "6501010101800033"
    _import(db, HEADER + f"{poorest},,2,,{DESA}\n{neighbour},,1,,{NEIGHBOUR}\n{third},,3,,{DESA}\n")
    with db.read() as s:
        listed = dtsen.desa_information(s, actor(db, team.operator), DESA)
    assert [e.nik for e in listed] == [poorest]


def test_the_operators_list_keeps_a_resident_whose_family_is_registered_only_in_another_desa(db):
    """Leaving the list would tell the operator the family is registered elsewhere."""
    team = make_team(db)
    carded_record(db, 1, "FM", kode_desa=NEIGHBOUR, no_kk="6501010000000001")
    resident = "6501010101800011"
    _import(db, HEADER + f"{resident},6501010000000001,1,,{DESA}\n")
    with db.read() as s:
        assert [e.nik for e in dtsen.desa_information(s, actor(db, team.operator), DESA)] == [resident]


def test_the_operators_list_is_bounded(db):
    team = make_team(db)
    _import(db, HEADER + "".join(f"65010101018{i:05d},,1,,{DESA}\n" for i in range(3)))
    with db.read() as s:
        assert len(dtsen.desa_information(s, actor(db, team.operator), DESA, limit=2)) == 2


# --- the extract from the endpoint ------------------------------------------------------------------------


def _endpoint(pages, page_size=2, max_rows=10):
    """A DTSEN endpoint serving `pages` (page number → answer body); any other page is empty."""
    asked = []

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["halaman"])
        asked.append(page)
        return httpx.Response(200, json=pages.get(page, {"baris": [], "halaman_berikutnya": None}))

    settings = DtsenSettings(base_url="http://dtsen", retries=1, backoff=0.0, page_size=page_size, max_rows=max_rows)
    return dtsen.HttpDtsen(settings, transport=httpx.MockTransport(answer)), asked


def _people(first, n):
    return [{"nik": f"65010101018{i:05d}", "desil": 1, "kode_wilayah": DESA} for i in range(first, first + n)]


def test_a_page_longer_than_asked_is_refused(db):
    client, _ = _endpoint({1: {"baris": _people(0, 3), "halaman_berikutnya": None}})
    with pytest.raises(Invalid, match="padahal diminta 2"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    client.close()


def test_a_next_page_past_the_limit_is_refused(db):
    """10 rows of 2 a page are 5 pages (and a last empty one): a pointer to page 99 is not followed."""
    client, asked = _endpoint({1: {"baris": _people(0, 2), "halaman_berikutnya": 99}})
    with pytest.raises(Invalid, match="halaman 99"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    assert asked == [1]
    client.close()


def test_an_extract_of_exactly_the_limit_is_read_and_one_row_more_is_refused(db):
    pages = {
        1: {"baris": _people(0, 2), "halaman_berikutnya": 2},
        2: {"baris": _people(2, 2), "halaman_berikutnya": None},
    }
    client, _ = _endpoint(pages, max_rows=4)
    assert len(dtsen.fetch_extract(SYSTEM, client, "65")) == 4
    client.close()
    pages[2]["halaman_berikutnya"] = 3
    pages[3] = {"baris": _people(4, 1), "halaman_berikutnya": None}
    client, _ = _endpoint(pages, max_rows=4)
    with pytest.raises(Invalid, match="lebih dari 4 baris"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    client.close()


def test_programmes_sent_as_a_list_and_null_fields_are_read(db):
    row = {"nik": "6501010101800011", "no_kk": None, "desil": 2, "program": ["PKH", "BPNT"], "kode_wilayah": None}
    client, _ = _endpoint({1: {"baris": [row], "halaman_berikutnya": None}})
    rows = dtsen.fetch_extract(SYSTEM, client, "65")
    client.close()
    with db.transaction() as s:
        dtsen.import_extract(s, SYSTEM, rows, "65", source="http://dtsen")
    with db.read() as s:
        entry = s.scalar(select(DtsenEntry))
    assert (entry.nik, entry.no_kk, entry.program, entry.region_kode) == (row["nik"], None, ["PKH", "BPNT"], None)


@pytest.mark.parametrize(
    "body",
    [{"baris": [1, 2], "halaman_berikutnya": None}, {"baris": _people(0, 2), "halaman_berikutnya": "2"}],
    ids=["rows-not-objects", "next-page-a-word"],
)
def test_an_answer_of_the_wrong_shape_is_unavailable_and_changes_nothing(db, body):
    client, _ = _endpoint({1: body})
    with pytest.raises(Unavailable, match="tidak ada yang diubah"):
        dtsen.fetch_extract(SYSTEM, client, "65")
    client.close()


def test_only_the_provinces_administrator_fetches_the_extract(db, regency_admin):
    client, asked = _endpoint({1: {"baris": _people(0, 1), "halaman_berikutnya": None}})
    with pytest.raises(NotFound):
        dtsen.fetch_extract(regency_admin, client, "65")
    assert asked == []  # DTSEN was never called
    client.close()
