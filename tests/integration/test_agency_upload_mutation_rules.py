"""Rules of other agencies' figures the earlier tests left open: which uploads a year lists, what an
undoing says and leaves behind, the bounds of a file and of a year's page, a determined year under
revision or being frozen, what the year's list counts and shows, how an agency's figure is told
against ours, and how an agency's indicators are mapped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid
from engine.quality import agencies, agency_indicators, aggregates, counts, review, series
from engine.quality.thresholds import Thresholds
from engine.verification import agency_figures, agency_listing, agency_uploads, determinations, reconciliation
from models import AggregateValue, AuditEvent, QualityFlag
from tests.factories import RECONCILIATION_YEAR, SYSTEM, actor
from tests.integration.interleave import first_then_second
from tests.integration.reconciliation_steps import determine
from tests.integration.test_agency_uploads import FILE, _actions, _key, _preview, _receive

REASON = "berkas Dinkes tersimpan atas nama DP3AP2KB"


def _undo(db, seq, reason=REASON, tahun=2024):
    with db.transaction() as s:
        return agency_uploads.undo(s, actor(db, "walidata.prov"), seq, tahun, reason)


def _last_upload(db) -> int:
    return _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq


def _stored(db, agency="DP3AP2KB") -> dict[tuple[str, str], int]:
    with db.read() as s:
        found = s.scalars(select(AggregateValue).where(AggregateValue.sumber == agency))
        return {(r.region_kode, r.periode): r.nilai for r in found}


def _flags(db, status=None) -> list[tuple[str, str, str, str]]:
    """The flags on compiled figures: rule, region, period, and the agency they are on."""
    with db.read() as s:
        query = select(QualityFlag).where(QualityFlag.item_id.is_(None))
        if status:
            query = query.where(QualityFlag.status == status)
        return sorted(
            (f.rule, f.region_kode, f.periode or "", str(f.sources.get("instansi") or f.sources.get("sumber")))
            for f in s.scalars(query)
        )


def _listed(db, tahun=2024, username="walidata.prov") -> dict[str, agency_listing.AgencyYear]:
    with db.read() as s:
        return {a.instansi: a for a in agency_listing.overview(s, actor(db, username), tahun)}


# --- the year's list of uploads and undoing one ------------------------------------------------------


def test_a_year_lists_at_most_its_newest_uploads_however_the_other_years_fall_between(
    db, stewards, our_figures, monkeypatch
):
    """The list keeps its bound even when a batch read past another year's upload brings more of this year's."""
    _receive(db, _preview(db))
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",31\n")))
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",32\n")))
    uploads = [e.seq for e in _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)]
    monkeypatch.setattr(agency_uploads, "READ", 2)
    with db.read() as s:
        listed = agency_uploads.uploads(s, actor(db, "walidata.prov"), 2024)
    assert [u.seq for u in listed] == [uploads[3], uploads[1]]


def test_an_upload_without_a_file_is_listed_with_a_dash_and_the_agencies_it_changed(db, stewards, our_figures):
    """Figures pushed by an agency's system name no file; the list names each agency the upload changed."""
    with db.transaction() as s:
        values = [
            series.Value("65.01", "AKTK", "2024", 30, "DP3AP2KB"),
            series.Value("65.01", "LUT", "2024", 4, "Dinas Kesehatan"),
        ]
        aggregates.store(s, SYSTEM, values, AuditAction.AGENCY_FIGURES_IMPORTED)
    with db.read() as s:
        (listed,) = agency_uploads.uploads(s, actor(db, "walidata.prov"), 2024)
    assert (listed.berkas, listed.instansi, listed.oleh) == ("-", ["DP3AP2KB", "Dinas Kesehatan"], SYSTEM.name)


def test_undoing_an_upload_of_new_figures_counts_them_removed_not_returned(db, stewards, our_figures):
    """The trail tells how many figures went and how many came back, each as it happened."""
    _receive(db, _preview(db))  # 65.01 = 30 and 65.02 = 21, both new
    first = _last_upload(db)
    _undo(db, first, reason="  berkas Dinkes   tersimpan \n atas nama DP3AP2KB ")
    entry = _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)[-1]
    assert entry.after == {"unggahan": first, "dikembalikan": 0, "dihapus": 2}
    assert entry.reason == REASON  # as written, its spaces collapsed
    assert _stored(db) == {}


def test_an_undone_upload_leaves_no_open_flag_on_the_figures_it_took_away(db, stewards, our_figures):
    """The series are checked again once the figures go: the gap they showed is no longer open."""
    _receive(db, _preview(db))
    assert ("selisih_instansi", "65.01", "2024", "DP3AP2KB") in _flags(db, "terbuka")
    _undo(db, _last_upload(db))
    assert [f for f in _flags(db, "terbuka") if f[3] == "DP3AP2KB"] == []


def test_a_figure_an_undoing_puts_back_counts_as_received_at_the_undoing(db, stewards, our_figures):
    """The figure returned changed when the upload was taken back: the year's list says it was received then."""
    for day, text in ((3, FILE), (10, FILE.replace(",30\n", ",31\n"))):
        with clock.frozen_at(datetime(2025, 2, day, 4, 0, tzinfo=UTC)):
            _receive(db, _preview(db, text=text))
    with clock.frozen_at(datetime(2025, 2, 17, 4, 0, tzinfo=UTC)):
        _undo(db, _last_upload(db))
    assert _stored(db) == {("65.01", "2024"): 30, ("65.02", "2024"): 21}
    assert clock.instant(_listed(db)["DP3AP2KB"].diterima) == datetime(2025, 2, 17, 4, 0, tzinfo=UTC)


def test_an_upload_is_undone_with_as_many_later_changes_as_are_read_and_refused_beyond(
    db, stewards, our_figures, monkeypatch
):
    """Later changes of any agency's figures are read up to a bound; beyond it the undoing is refused."""
    monkeypatch.setattr(agency_uploads, "LATER_READ", 1)
    _receive(db, _preview(db))
    first = _last_upload(db)
    _receive(db, _preview(db, text=FILE.replace("DP3AP2KB", "Dinas Kesehatan")))  # one later, of another agency
    _undo(db, first)
    assert _stored(db) == {}
    _receive(db, _preview(db))
    again = _last_upload(db)
    _receive(db, _preview(db, text=FILE.replace("DP3AP2KB", "Dinas Kesehatan").replace(",30\n", ",31\n")))
    _receive(db, _preview(db, text=FILE.replace("DP3AP2KB", "Dinas Kesehatan").replace(",30\n", ",32\n")))
    with pytest.raises(Conflict, match="^Lebih dari 1 unggahan"):
        _undo(db, again)
    assert _stored(db) == {("65.01", "2024"): 30, ("65.02", "2024"): 21}


def _jump_explained(db) -> None:
    """Three quiet years of DP3AP2KB, then a 2024 jump at 65.01 whose flag the steward explained."""
    for year, n in (("2021", 30), ("2022", 31), ("2023", 30)):
        text = FILE.replace("2024", year).replace(",30\n", f",{n}\n")
        _receive(db, _preview(db, text=text, tahun=int(year)), tahun=int(year))
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",300\n")))
    with db.transaction() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "lonjakan", QualityFlag.periode == "2024"))
        review.settle(s, actor(db, "walidata.prov"), flag.id, "jelaskan", "pendataan ulang seluruh desa", "terbuka")


def test_an_undone_upload_takes_the_explanation_of_a_jump_in_its_own_series_along(db, stewards, our_figures):
    """An explained jump of a figure the upload added goes onto the trail with it, not left to quiet a later one."""
    _jump_explained(db)
    _undo(db, _last_upload(db))
    entry = _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)[-1]
    assert [t[1] for t in entry.before["tanda"]] == ["lonjakan"]
    assert [f for f in _flags(db) if f[0] == "lonjakan" and f[2] == "2024"] == []


def test_withdrawing_a_year_takes_the_explanation_of_a_jump_in_its_own_series_along(db, stewards, our_figures):
    """A withdrawal keeps on the trail the explained jumps of the agency's figures it removes."""
    _jump_explained(db)
    with db.transaction() as s:
        agency_figures.withdraw(
            s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "  berkas   tahun yang salah ", _key(db)
        )
    entry = _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)[-1]
    assert [t[1] for t in entry.before["tanda"]] == ["lonjakan"] and entry.reason == "berkas tahun yang salah"
    assert [f for f in _flags(db) if f[0] == "lonjakan" and f[2] == "2024"] == []


# --- receiving a file ----------------------------------------------------------------------------------


def test_a_year_s_page_refuses_a_later_year_s_figures_too(db, stewards, our_figures):
    """Figures of the coming year are loaded on that year's page, as those of past years are."""
    with pytest.raises(Invalid, match="memuat 1 angka di luar tahun 2024"):
        _preview(db, text=FILE + "DP3AP2KB,AKTK,65.01,2025,12\n")
    rows = agency_figures.from_carried(agency_figures.carried(_preview(db)))
    rows[0]["periode"] = "2025-S1"
    with pytest.raises(Invalid, match="di luar tahun 2024"), db.transaction() as s:
        sent = agency_figures.Confirmation(2024, rows, "0" * 32)
        agency_figures.receive(s, actor(db, "walidata.prov"), sent, "65", "rahasia-uji")
    assert _stored(db) == {}


def test_a_file_of_exactly_as_many_figures_as_allowed_is_previewed_and_saved(db, stewards, our_figures, monkeypatch):
    """The bound on a file's figures refuses only more than it."""
    monkeypatch.setattr(agency_figures, "MAX_FIGURES", 2)
    plan = _preview(db)
    assert _receive(db, plan).saved and _stored(db) == {("65.01", "2024"): 30, ("65.02", "2024"): 21}


def test_a_determined_year_takes_agency_figures_again_while_its_revision_is_open(year):
    """A revision of the year's reconciliation reopens its agency figures until it is determined again."""
    determine(year, RECONCILIATION_YEAR, "SK-1/2027")
    text = FILE.replace("2024", str(RECONCILIATION_YEAR)).replace("DP3AP2KB", "Dinas Kesehatan")
    with pytest.raises(Conflict, match="sudah ditetapkan"):
        _preview(year, text=text, tahun=RECONCILIATION_YEAR)
    with year.transaction() as s:
        reconciliation.open_year(
            s, SYSTEM, "65", RECONCILIATION_YEAR, force=True, alasan_revisi="angka Dinkes direvisi"
        )
    plan = _preview(year, text=text, tahun=RECONCILIATION_YEAR)
    assert _receive(year, plan, tahun=RECONCILIATION_YEAR).saved
    assert _stored(year, "Dinas Kesehatan") == {("65.01", "2026"): 30, ("65.02", "2026"): 21}


def test_a_save_or_a_withdrawal_while_the_year_is_frozen_waits_and_is_refused(db, stewards, our_figures):
    """A save or a withdrawal that came while the year was being determined waits for the freeze, then is
    refused with nothing changed: the determined year keeps the agency figures it was determined with."""
    plan = _preview(db)
    approval = determinations.Approval("65", 2024, "188.44/12/2025", date(2025, 3, 1))
    refused = first_then_second(db, lambda s: determinations.freeze(s, SYSTEM, approval), lambda: _receive(db, plan))
    assert isinstance(refused, Conflict) and "sudah ditetapkan" in str(refused), refused
    assert _stored(db) == {}
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)
    seen = _key(db, tahun=2023)

    def withdraw():
        with db.transaction() as s:
            return agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2023, "berkas salah", seen)

    approval = determinations.Approval("65", 2023, "188.44/12/2024", date(2024, 3, 1))
    refused = first_then_second(db, lambda s: determinations.freeze(s, SYSTEM, approval), withdraw)
    assert isinstance(refused, Conflict) and "sudah ditetapkan" in str(refused), refused
    assert _stored(db) == {("65.01", "2023"): 30, ("65.02", "2023"): 21}


# --- what the year's page lists ------------------------------------------------------------------------


def test_the_year_s_list_counts_an_agency_s_categories_and_says_when_it_last_received_one(db, stewards, our_figures):
    """Each agency's row counts its figures, regions and categories, received at its latest sending."""
    with clock.frozen_at(datetime(2025, 2, 3, 4, 0, tzinfo=UTC)):
        _receive(db, _preview(db, text=FILE + "DP3AP2KB,LUT,65.01,2024,4\n"))
    with clock.frozen_at(datetime(2025, 2, 10, 4, 0, tzinfo=UTC)):
        _receive(db, _preview(db, text=FILE.splitlines()[0] + "\nDP3AP2KB,LUT,65.01,2024,5\n"))  # one figure alone
    row = _listed(db)["DP3AP2KB"]
    assert (row.angka, row.wilayah, row.kategori) == (3, 2, 2)
    assert clock.instant(row.diterima) == datetime(2025, 2, 10, 4, 0, tzinfo=UTC)


def test_the_year_s_list_counts_only_open_flags_within_the_person_s_regions(db, stewards, our_figures):
    """An explained gap is no longer counted open, a regency's steward counts its own region's only, and
    another year's gaps are that year's."""
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, [series.Value("65.01", "AKTK", "2023", 66)], AuditAction.BASELINE_IMPORTED)
    _receive(db, _preview(db, text=FILE.replace("2024", "2023").replace(",30\n", ",29\n"), tahun=2023), tahun=2023)
    assert _listed(db, 2023)["DP3AP2KB"].tanda_terbuka == 1  # 29 against 66
    _receive(db, _preview(db, text=FILE.replace(",21\n", ",5\n")))  # a gap at each regency
    assert _listed(db)["DP3AP2KB"].tanda_terbuka == 2
    assert _listed(db, username="walidata.kab")["DP3AP2KB"].tanda_terbuka == 1
    with db.transaction() as s:
        flag = s.scalar(
            select(QualityFlag).where(
                QualityFlag.rule == "selisih_instansi",
                QualityFlag.region_kode == "65.01",
                QualityFlag.periode == "2024",
            )
        )
        review.settle(s, actor(db, "walidata.prov"), flag.id, "jelaskan", "DP3AP2KB menghitung kasus", "terbuka")
    assert _listed(db)["DP3AP2KB"].tanda_terbuka == 1
    with db.read() as s:
        rows, _, _ = agency_listing.figures_of(s, actor(db, "walidata.prov"), 2024, "DP3AP2KB")
    assert [(r.kode_wilayah, [f.rule for f in r.tanda]) for r in rows] == [
        ("65.01", []),
        ("65.02", ["selisih_instansi"]),
    ]


def test_one_agency_s_figures_are_listed_with_that_year_s_figures_and_its_own_flags_only(db, stewards, our_figures):
    """Another year's figures of the agency, and another agency's flags on the same figure, are not beside them."""
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)
    _receive(db, _preview(db, text=FILE + "Dinas Kesehatan,AKTK,65.01,2024,400\n"))
    with db.read() as s:
        rows, _, _ = agency_listing.figures_of(s, actor(db, "walidata.prov"), 2024, "DP3AP2KB")
    assert [(r.kode_wilayah, r.periode, r.nilai, r.nilai_kita) for r in rows] == [
        ("65.01", "2024", 30, 68),
        ("65.02", "2024", 21, 20),
    ]
    on = sorted((f.rule, f.sources.get("instansi") or f.sources.get("sumber")) for f in rows[0].tanda)
    assert on == [("selisih_instansi", "DP3AP2KB"), ("tetap", "DP3AP2KB")]  # not Dinas Kesehatan's gap


def test_a_withdrawal_is_refused_when_a_figure_s_value_changed_since_the_page_was_opened(db, stewards, our_figures):
    """The page's key names the values too: a corrected figure since then is not taken back unseen."""
    _receive(db, _preview(db))
    seen = _key(db)
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",31\n")))
    with pytest.raises(Conflict, match="berubah sejak halaman dibuka"), db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas tahun yang salah", seen)
    assert _stored(db) == {("65.01", "2024"): 31, ("65.02", "2024"): 21}


# --- an agency's indicators --------------------------------------------------------------------------


def _map(db, mapping: agency_indicators.Mapping) -> None:
    with db.transaction() as s:
        agency_indicators.set_mapping(s, actor(db, "valid.prov"), mapping)


def test_an_indicator_mapped_again_to_another_category_is_compared_with_that_one(db, people):
    """Remapping moves that indicator alone to the new category, the note said on the trail as its reason;
    the mappings are listed by agency and indicator, their names read without the spaces around them."""
    _map(db, agency_indicators.Mapping(" Dinkes ", " TB_PARU\t", "LUT"))
    _map(db, agency_indicators.Mapping("Dinkes", "ODHA_ART", "ODHA"))
    _map(db, agency_indicators.Mapping("Dinkes", "ODHA_ART", "LUT", keterangan=" dihitung per rumah tangga "))
    with db.read() as s:
        assert [(m["instansi"], m["indikator"], m["kategori"]) for m in agency_indicators.mappings(s)] == [
            ("Dinkes", "ODHA_ART", "LUT"),
            ("Dinkes", "TB_PARU", "LUT"),
        ]
        trail = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "AGENCY_INDICATOR_SET").order_by(AuditEvent.seq)
        )
        assert [(e.before, e.reason) for e in trail] == [
            (None, None),
            (None, None),
            ({"kategori": "ODHA", "sama": True}, "dihitung per rumah tangga"),
        ]
        assert agency_indicators.translate(s, [{"instansi": " Dinkes ", "indikator": " ODHA_ART "}])[0] == [
            {"instansi": " Dinkes ", "indikator": " ODHA_ART ", "kategori": "LUT"}
        ]


@pytest.mark.parametrize(
    ("instansi", "indikator", "keterangan", "refused"),
    [
        ("D" * 80, "I" * 40, "k" * 500, []),
        ("D" * 81, "I" * 40, "k" * 500, ["instansi"]),
        ("D" * 80, "I" * 41, "k" * 500, ["indikator"]),
        ("D" * 80, "I" * 40, "k" * 501, ["keterangan"]),
    ],
)
def test_an_indicator_s_names_and_note_are_bounded_at_their_lengths(
    db, people, instansi, indikator, keterangan, refused
):
    """An agency up to 80 characters, an indicator up to 40 and a note up to 500 are kept; one more is refused."""
    mapping = agency_indicators.Mapping(instansi, indikator, "ODHA", keterangan=keterangan)
    if not refused:
        _map(db, mapping)
        return
    with pytest.raises(Invalid) as problem:
        _map(db, mapping)
    assert [p.column for p in problem.value.problems] == refused


def test_rows_naming_an_indicator_among_rows_naming_a_category_are_translated(db, people):
    """Rows of the API may name a category or an indicator each: those naming an indicator get its category."""
    _map(db, agency_indicators.Mapping("Dinkes", "ODHA_ART", "ODHA"))
    rows = [{"instansi": "Dinkes", "kategori": "LUT"}, {"instansi": "Dinkes", "indikator": "ODHA_ART"}]
    with db.read() as s:
        translated, problems = agency_indicators.translate(s, rows)
    assert [r["kategori"] for r in translated] == ["LUT", "ODHA"] and problems == []


# --- an agency's figures against ours ----------------------------------------------------------------


def _dinkes(ours, theirs) -> list[series.Flag]:
    """Our ODHA figures and Dinkes's at 65.01, year by year from 2020."""
    years = [str(2020 + i) for i in range(len(ours))]
    values = [series.Value("65.01", "ODHA", y, n) for y, n in zip(years, ours, strict=True)]
    values += [series.Value("65.01", "ODHA", y, n, "Dinkes") for y, n in zip(years, theirs, strict=True)]
    ctx = series.Context(Thresholds(), {"ODHA": counts.Dispersion(0.0)})
    return agencies.compare(values, agencies.AgencyContext(ctx))


def test_a_changed_ratio_shows_the_ratio_now_beside_the_one_before_and_both_counts():
    """The warning reads their count, ours, and the ratio now against the ratio of the periods before."""
    (flag,) = _dinkes((100,) * 5, (100, 100, 100, 100, 200))
    assert (flag.rule, flag.periode, flag.observed, flag.expected) == ("instansi", "2024", 2.0, 1.0)
    assert flag.sources == {"sumber": "dinsos", "instansi": "Dinkes", "nilai_kita": 100, "nilai_instansi": 200}
    assert "Dinkes mencatat 200, Dinas Sosial 100 (rasio 2.00); pada periode sebelumnya rasionya sekitar 1.00" in (
        flag.message
    )


def test_a_first_gap_says_how_many_times_ours_or_that_we_count_none():
    """A gap seen for the first time is told as a plain multiple of ours, or as none of ours at all."""
    (gap,) = _dinkes((40,), (56,))
    assert (gap.rule, gap.observed, gap.expected) == ("selisih_instansi", 56, 40)
    assert "Dinkes mencatat 56, Dinas Sosial 40 (1,4 kali)" in gap.message
    values = [series.Value("65.01", "LUT", "2020", 12), series.Value("65.01", "ODHA", "2020", 4, "Dinkes")]
    (none,) = agencies.compare(values, agencies.AgencyContext(series.Context(Thresholds(), {})))
    assert "Dinkes mencatat 4, Dinas Sosial tidak mencatat satu pun" in none.message
