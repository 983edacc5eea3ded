"""The figures agree wherever they are read: what the head is warned of, what the API publishes, the
determination page and its comparison all read the register and the revision they name."""

from __future__ import annotations

from sqlalchemy import select

from models import Record, RecordVersion, Submission, SubmissionStatus
from tests.factories import RECONCILIATION_YEAR as YEAR

ELSEWHERE = "65.01.01.2006"  # another desa of the same kecamatan


def moved_in(session, record: Record, nik: str, periode: str) -> None:
    """`record` standing for the person `nik` in the other desa from a version verified in `periode`,
    as today's register holds it (the desa it came from never marked the person "pindah")."""
    last = session.scalar(
        select(RecordVersion).where(RecordVersion.record_id == record.id, RecordVersion.versi == record.versi)
    )
    later = Submission(kode_desa=ELSEWHERE, periode=periode, status=SubmissionStatus.TERVERIFIKASI)
    session.add(later)
    session.flush()
    session.add(
        RecordVersion(
            record_id=record.id,
            versi=record.versi + 1,
            replaces_id=last.id,
            nilai={**last.nilai, "nik": nik, "kode_desa": ELSEWHERE},
            perubahan={"kode_desa": [record.kode_desa, ELSEWHERE]},
            status=last.status,
            actor="op.desa",
            source=last.source,
            submission_id=later.id,
        )
    )
    record.nik, record.kode_desa, record.versi = nik, ELSEWHERE, record.versi + 1


def two_of_lut(session) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.kategori == "LUT").order_by(Record.id).limit(2)))


def test_the_head_is_not_told_of_a_person_counted_twice_only_after_the_year(year, signed_in):
    """The head determines the year's figures from the register as it stood at the year's end: a
    person entered in a second desa in a later year is counted twice in that year's figures, not in
    these, and the head is not warned of it here."""
    from tests.integration.reconciliation_steps import to_the_head

    with year.transaction() as s:
        stays, moves = two_of_lut(s)
        moved_in(s, moves, stays.nik, f"{YEAR + 1}-Q1")
    head = to_the_head(year)
    asked = signed_in("kepala.dinas").get(f"/rekonsiliasi/tugas/{head.id}").get_data(as_text=True)
    assert 'id="angka-ditetapkan"' in asked and 'id="terdaftar-ganda"' not in asked


def test_a_period_counts_the_records_of_the_periods_ended_by_its_last_day_not_sorted_by_name(db):
    """A semester's records (2026-S1 ends in June) stand on the register of 2026-Q3, which ends in
    September, though "S1" sorts after "Q3"; the register of 2026-S1 holds none verified in 2026-Q3."""
    from engine.quality import aggregates
    from tests.factories import make_team
    from tests.integration.test_record_rules import DESA, _verified, person

    make_team(db)
    _verified(db, [person(1)], "2026-S1")
    _verified(db, [person(2)], "2026-Q3")
    with db.read() as s:
        assert aggregates.count_records(s, "65", "2026-Q3")[(DESA, "LUT")] == 2
        assert aggregates.count_records(s, "65", "2026-S1")[(DESA, "LUT")] == 1
        assert aggregates.count_records(s, "65", "2026")[("65", "LUT")] == 2
        assert aggregates.periods_until(s, "2026-Q3") == ["2026-Q3", "2026-S1"]
        assert aggregates.periods_until(s, "2026-S1") == ["2026-S1"]


def test_a_flag_on_an_agencys_own_series_says_whose_figures_they_are(year):
    """DP3AP2KB's own series jumps from 3 to 30: the flag is about DP3AP2KB's figures, and says so
    before anything else, in Indonesian and in English."""
    from engine.quality import aggregates, series
    from tests.factories import SYSTEM
    from web.engine_messages import english

    with year.transaction() as s:
        theirs = series.Value("65.01", "LUT", str(YEAR), 30, "DP3AP2KB")
        flags = [f for f in aggregates.rescan(s, SYSTEM, [theirs]) if f.sources.get("sumber") == "DP3AP2KB"]
    assert flags and all(f.message.startswith("Angka DP3AP2KB, bukan angka Dinas Sosial — ") for f in flags)
    told = english().translate(flags[0].message)
    assert told.startswith("DP3AP2KB's figures, not Dinas Sosial's — ") and "Dinas Sosial —" not in told[40:]


def test_the_api_publishes_a_sensitive_category_from_the_regency_up_as_the_determination_does(db, issue_token, api):
    """ODHA counted in a desa and a kecamatan could point at the people themselves: the API gives it
    for the kabupaten only, as the determination's files do; a category that is not sensitive is
    given at every level."""
    from engine.core.audit import AuditAction
    from engine.quality import aggregates, series
    from tests.factories import SYSTEM

    figures = [("65.01", "ODHA", 4), ("65.01.01", "ODHA", 4), ("65.01.01.2005", "ODHA", 4), ("65.01.01.2005", "LUT", 3)]
    with db.transaction() as s:
        values = [series.Value(code, kategori, "2025", n, aggregates.OURS) for code, kategori, n in figures]
        aggregates.store(s, SYSTEM, values, AuditAction.FIGURES_SNAPSHOT_TAKEN)
    token = issue_token("65.01", ("agregat",))
    body = api("GET", "/api/v1/aggregates", token).get_json()
    published = [(r["kode_wilayah"], r["kode_kategori"]) for r in body["data"]]
    assert published == [("65.01", "ODHA"), ("65.01.01.2005", "LUT")] and body["halaman"]["total"] == 2
    asked = api("GET", "/api/v1/aggregates", token, query_string={"kategori": "ODHA", "tingkat": "desa"}).get_json()
    assert asked["data"] == [] and asked["halaman"]["total"] == 0


def test_a_determination_page_of_an_earlier_revision_compares_that_revision(year, signed_in):
    """The next year determined with 4 LUT in Bulungan, then revised with 5: its page at revision 0
    compares 4 with last year's 3, the revision's own figure, not the latest revision's."""
    from tests.factories import decide, open_period, person_row, submit
    from tests.integration.reconciliation_steps import determine

    def verified(period, row):
        submission = open_period(year, period, [row])
        submit(year, "op.desa", submission)
        for user in ("verif.kec", "verif.kab", "valid.prov"):
            decide(year, user, submission, "approve")

    determine(year, YEAR, "SK-1/2027")
    verified(f"{YEAR + 1}-Q1", person_row(11))
    determine(year, YEAR + 1, "SK-2/2028")
    verified(f"{YEAR + 1}-Q2", person_row(12))
    determine(year, YEAR + 1, "SK-3/2028", alasan_revisi="satu orang lagi")

    def compared(query):
        page = signed_in("walidata.prov").get(f"/penetapan/{YEAR + 1}{query}").get_data(as_text=True)
        row = page.split('id="perbandingan"')[1].split("<td>65.01</td><td>LUT</td>")[1].split("</tr>")[0]
        return row.replace("\n", "")

    assert compared("?revisi=0").startswith("<td>3</td><td>4</td><td>+1 (33.3%)</td>")
    assert compared("").startswith("<td>3</td><td>5</td><td>+2 (66.7%)</td>")


def test_the_total_of_categories_of_different_units_is_told_as_a_number_of_records(year, signed_in):
    """Three LUT people and one ODHA person: the row summing the categories (people, families,
    institutions and communities alike) is the number of records, on the head's task, on the
    determination and in the list of determinations, and is said not to be a number of people."""
    from tests.integration.reconciliation_steps import decree_at_head, to_the_head

    head = to_the_head(year)
    asked = signed_in("kepala.dinas").get(f"/rekonsiliasi/tugas/{head.id}").get_data(as_text=True)
    assert '<tr><th scope="row">Jumlah catatan</th><td>4</td>' in asked and "bukan jumlah orang" in asked
    decree_at_head(year, head, "SK-1/2027")
    province = signed_in("walidata.prov")
    page = province.get(f"/penetapan/{YEAR}").get_data(as_text=True)
    assert '<tr><th scope="row">Jumlah catatan</th><td>4</td></tr>' in page and 'id="jumlah-catatan"' in page
    assert ">Jumlah<" not in page
    assert '<th scope="col">Jumlah catatan</th>' in province.get("/penetapan/").get_data(as_text=True)
