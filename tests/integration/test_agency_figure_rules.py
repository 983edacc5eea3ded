"""Rules of receiving an agency's file that the upload's own tests left open: its bounds, the name of
the file as kept, every figure of another year named, a determined year closed once its
reconciliation has ended, which agencies are new, a preview that judges a corrected figure in place
of the one it replaces, and every fault of a file, a historic table's too, named by row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Invalid
from engine.people import tokens
from engine.quality import aggregates, review, series
from engine.verification import agency_figures
from models import AgencyIndicator, QualityFlag
from tests.factories import RECONCILIATION_YEAR, SYSTEM, actor
from tests.integration.reconciliation_steps import determine
from tests.integration.test_agency_uploads import FILE, _actions, _determine, _key, _preview, _receive


def test_an_oversized_file_is_refused_before_any_stored_figure_is_read(db, stewards, monkeypatch):
    """The bound on a file's figures keeps its comparison from running at all."""
    monkeypatch.setattr(agency_figures, "MAX_FIGURES", 1)

    def compared(*_args, **_kwargs):
        raise AssertionError("an oversized file was compared with the stored figures")

    monkeypatch.setattr(agency_figures, "_plan", compared)
    with pytest.raises(Invalid, match="paling banyak 1 sekali unggah"):
        _preview(db)


def test_figures_longer_than_a_form_carries_are_refused_and_those_that_fit_are_shown(db, stewards, monkeypatch):
    """The preview's form carries the figures back: a file whose figures would not fit is refused."""
    length = len(agency_figures.carried(_preview(db)))
    monkeypatch.setattr(agency_figures, "CARRIED_CHARS", length)
    assert len(_preview(db).figures) == 2  # exactly at the bound
    monkeypatch.setattr(agency_figures, "CARRIED_CHARS", length - 1)
    with pytest.raises(Invalid, match=f"lebih dari {length - 1} karakter"):
        _preview(db)


def test_a_long_file_name_is_kept_to_its_first_255_characters(db, stewards, our_figures):
    """What the trail keeps of a file's name is bounded whatever the browser sent."""
    name = "angka-" + "x" * 600 + ".csv"
    with db.read() as s:
        upload = agency_figures.Upload(2024, name, FILE.encode(), "")
        plan = agency_figures.preview(s, actor(db, "walidata.prov"), upload, "65", "rahasia-uji")
    assert plan.berkas[0] == name[:255]


def test_every_figure_of_another_year_is_counted_and_the_first_two_hundred_named(db, stewards):
    """The person learns how many figures belong elsewhere, and sees each of the first 200."""
    periods = [f"{y}{part}" for y in range(2000, 2024) for part in ("", "-Q1", "-Q2", "-Q3", "-Q4", "-S1", "-S2")]
    cells = [(region, periode) for region in ("65.01", "65.02") for periode in periods][:250]
    others = "".join(f"DP3AP2KB,AKTK,{region},{periode},{n}\n" for n, (region, periode) in enumerate(cells))
    with pytest.raises(Invalid) as refused:
        _preview(db, text=FILE + others)
    assert "memuat 250 angka di luar tahun 2024" in str(refused.value)
    assert len(refused.value.problems) == 200
    few = "DP3AP2KB,AKTK,65.01,2019,1\nDP3AP2KB,AKTK,65.01,2020,2\nDP3AP2KB,AKTK,65.02,2021,3\n"
    with pytest.raises(Invalid) as refused:
        _preview(db, text=FILE + few)
    assert [p.message.split(" periode ")[1][:4] for p in refused.value.problems] == ["2019", "2020", "2021"]


def test_a_determined_year_whose_reconciliation_has_ended_takes_no_agency_figure(year, cli):
    """Once the head's decree ends the reconciliation, the year's agency figures stay as determined."""
    determine(year, RECONCILIATION_YEAR, "SK-1/2027")
    text = FILE.replace("2024", str(RECONCILIATION_YEAR)).replace("DP3AP2KB", "Dinas Kesehatan")
    with pytest.raises(Conflict, match="sudah ditetapkan"):
        _preview(year, text=text, tahun=RECONCILIATION_YEAR)


def test_figures_of_several_years_are_refused_when_any_of_them_is_determined(db, stewards, our_figures):
    """The command line and the API send several years at once: a determined one among them refuses all."""
    _determine(db, 2024)
    values = [
        series.Value("65.01", "AKTK", "2023", 30, "DP3AP2KB"),
        series.Value("65.01", "AKTK", "2024", 31, "DP3AP2KB"),
    ]
    with pytest.raises(Conflict, match="Angka tahun 2024 sudah ditetapkan"), db.transaction() as s:
        agency_figures.refuse_determined_years(s, values)
    with db.transaction() as s:
        agency_figures.refuse_determined_years(s, values[:1])  # 2023 alone is open


def test_an_agency_holding_a_token_or_a_mapped_indicator_is_not_new(db, stewards, our_figures):
    """An agency the province already knows by its token or its indicators is not pointed out as new."""
    with db.transaction() as s:
        tokens.create_token(s, SYSTEM, tokens.TokenRequest("DP3AP2KB", "65", ("angka-instansi",), can_write=True))
        s.add(AgencyIndicator(instansi="Dinas Kesehatan", indikator="jumlah ODGJ", kategori="AKTK"))
    text = FILE + "Dinas Kesehatan,AKTK,65.01,2024,40\n"
    assert _preview(db, text=text).new_agencies == {}


def test_a_new_agency_is_never_taken_for_a_misspelling_of_our_own(db, stewards, our_figures):
    """Our own figures are not an agency's: a new agency named like ours is new, resembling no one."""
    plan = _preview(db, text=FILE.replace("DP3AP2KB", "Dinkes"))
    assert plan.new_agencies == {"Dinkes": None}


def test_a_preview_lists_figures_by_agency_then_region_whatever_the_file_s_order(db, stewards, our_figures):
    """The page and its carried form read agency by agency, each agency named once."""
    text = (
        "instansi,kategori,kode_wilayah,periode,nilai\n"
        "Dinas Kesehatan,AKTK,65.02,2024,7\nDP3AP2KB,AKTK,65.02,2024,21\n"
        "Dinas Kesehatan,AKTK,65.01,2024,8\nDP3AP2KB,AKTK,65.01,2024,30\n"
    )
    plan = _preview(db, text=text)
    assert [(f.instansi, f.kode_wilayah) for f in plan.figures] == [
        ("DP3AP2KB", "65.01"),
        ("DP3AP2KB", "65.02"),
        ("Dinas Kesehatan", "65.01"),
        ("Dinas Kesehatan", "65.02"),
    ]
    assert [line for line in agency_figures.carried(plan).splitlines() if line.startswith("@")] == [
        "@DP3AP2KB",
        "@Dinas Kesehatan",
    ]


def test_a_corrected_figure_is_judged_in_place_of_the_one_it_replaces(db, stewards, our_figures):
    """A file that corrects last upload's absurd figure shows the flags of the correction, not of the slip."""
    for year, n in (("2021", 68), ("2022", 70), ("2023", 69)):
        text = FILE.replace("2024", year).replace(",30\n", f",{n}\n")
        _receive(db, _preview(db, text=text, tahun=int(year)), tahun=int(year))
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",680\n")))  # a slip: one zero too many
    shown = {(f.rule, f.region_kode) for f in _preview(db, text=FILE.replace(",30\n", ",68\n")).flags}
    assert ("lonjakan", "65.01") not in shown and ("selisih_instansi", "65.01") not in shown


def test_a_preview_does_not_show_again_a_flag_already_explained(db, stewards, our_figures):
    """A jump the steward explained stays explained when the agency's next file keeps that figure."""
    for year, n in (("2021", 30), ("2022", 31), ("2023", 30)):
        text = FILE.replace("2024", year).replace(",30\n", f",{n}\n")
        _receive(db, _preview(db, text=text, tahun=int(year)), tahun=int(year))
    jump = FILE.replace(",30\n", ",300\n")
    _receive(db, _preview(db, text=jump))
    with db.transaction() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "lonjakan", QualityFlag.periode == "2024"))
        review.settle(s, actor(db, "walidata.prov"), flag.id, "jelaskan", "pendataan ulang seluruh desa", "terbuka")
    plan = _preview(db, text=jump.replace(",21\n", ",22\n"))  # only 65.02 changes
    assert plan.count("berubah") == 1 and ("lonjakan", "65.01") not in {(f.rule, f.region_kode) for f in plan.flags}


def test_a_recount_of_ours_that_changes_only_what_a_flag_compares_with_saves_nothing(db, stewards, our_figures):
    """The preview showed the gap to our figure as it then was: a recount moving it asks for a new look."""
    plan = _preview(db)
    with db.transaction() as s:
        aggregates.store(
            s, SYSTEM, [series.Value("65.01", "AKTK", "2024", 75, "dinsos")], AuditAction.BASELINE_IMPORTED
        )
    assert [(f.rule, f.region_kode) for f in _preview(db).flags] == [(f.rule, f.region_kode) for f in plan.flags]
    with pytest.raises(Conflict, match="berubah sejak pratinjau"):
        _receive(db, plan)


def test_a_carried_line_cut_short_is_read_with_its_missing_cells_empty(db, stewards):
    """A form cut off in the browser gives rows to refuse by their cells, not an error page."""
    assert agency_figures.from_carried("@DP3AP2KB\n65.01\tAKTK") == [
        {"instansi": "DP3AP2KB", "kode_wilayah": "65.01", "kategori": "AKTK", "periode": "", "nilai": ""}
    ]


def _confirm(db, rows):
    with db.transaction() as s:
        sent = agency_figures.Confirmation(2024, rows, "0" * 32)
        return agency_figures.receive(s, actor(db, "walidata.prov"), sent, "65", "rahasia-uji")


def test_a_confirmation_with_no_figures_or_too_many_is_refused(db, stewards, our_figures, monkeypatch):
    """A confirmation carries what a preview showed: none at all, or more than a file may hold, is refused."""
    with pytest.raises(Invalid, match="Tidak ada angka untuk disimpan"):
        _confirm(db, [])
    rows = agency_figures.from_carried(agency_figures.carried(_preview(db)))
    monkeypatch.setattr(agency_figures, "MAX_FIGURES", 1)
    with pytest.raises(Invalid, match="Paling banyak 1 angka sekali simpan"):
        _confirm(db, rows)


def test_a_confirmation_of_another_year_s_figures_is_refused_on_this_year_s_page(db, stewards, our_figures):
    """A form altered to carry another year's figures is refused by its year, nothing saved."""
    rows = agency_figures.from_carried(agency_figures.carried(_preview(db)))
    for row in rows:
        row["periode"] = "2023"
    with pytest.raises(Invalid, match="di luar tahun 2024"):
        _confirm(db, rows)


def test_withdrawing_one_agency_s_year_keeps_the_explanations_of_its_other_years_and_of_other_agencies(
    db, stewards, our_figures
):
    """Only explanations of the figures taken back go onto the trail with them; those of figures that stay, stay."""
    with db.transaction() as s:
        aggregates.store(
            s, SYSTEM, [series.Value("65.01", "AKTK", "2023", 66, "dinsos")], AuditAction.BASELINE_IMPORTED
        )
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)
    _receive(db, _preview(db, text=FILE + "Dinas Kesehatan,AKTK,65.01,2024,9\n"))
    with db.transaction() as s:
        for flag in s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi")):
            if (flag.periode, flag.sources["instansi"]) == ("2024", "DP3AP2KB"):
                continue  # the flag of the figures taken back stays open: it is no explanation to keep
            review.settle(s, actor(db, "walidata.prov"), flag.id, "jelaskan", "cakupan instansi berbeda", "terbuka")
    seen = _key(db)
    with db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas tahun yang salah", seen)
    with db.read() as s:
        kept = s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi")).all()
        assert sorted((f.periode, f.sources["instansi"], str(f.status)) for f in kept) == [
            ("2023", "DP3AP2KB", "dijelaskan"),
            ("2024", "Dinas Kesehatan", "dijelaskan"),
        ]
    (entry,) = _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)
    assert entry.after == {"instansi": "DP3AP2KB", "tahun": 2024, "nilai": 2} and entry.before["tanda"] == []


def test_a_withdrawal_s_reason_is_read_with_its_spaces_collapsed_and_bounded_both_ways():
    """Spaces alone make no reason, and a reason longer than the trail keeps is refused."""
    assert agency_figures.reason_given("  berkas \n tahun   salah ") == "berkas tahun salah"
    for said in (" " * 20 + "salah", "x" * 501):
        with pytest.raises(Invalid, match="Alasan wajib"):
            agency_figures.reason_given(said)
    assert agency_figures.reason_given("x" * 500) == "x" * 500


def test_the_agency_named_on_the_form_is_read_without_the_spaces_around_it(db, stewards, our_figures):
    """A file without an agency column takes the form's name, as typed but for its outer spaces."""
    text = "kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\n"
    assert _preview(db, text=text, agency="  DP3AP2KB \t").agencies == ["DP3AP2KB"]


def test_an_unmapped_indicator_and_a_wrong_region_are_both_named_by_row(db, stewards):
    """A file with several kinds of fault tells them all at once, in the order of its rows."""
    text = (
        "instansi,indikator,kode_wilayah,periode,nilai\n"
        "Dinkes,TB_PARU,65.01,2024,3\n"  # an indicator no one mapped to a category
        "Dinkes,TB_PARU,6502,2024,4\n"  # and a BPS code beside it
    )
    with pytest.raises(Invalid) as refused:
        _preview(db, text=text)
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (2, "indikator"),
        (3, "indikator"),
        (3, "kode_wilayah"),
    ]


def test_a_historic_table_of_a_region_outside_the_province_is_refused(cli, tmp_path):
    """Our history is the province's: a neighbouring province's region, though known, is refused by row."""
    path = tmp_path / "riwayat.csv"
    path.write_text("kode_wilayah,kategori,periode,nilai,sumber\n64,AKTK,2023,40,dinsos\n", encoding="utf-8")
    refused = cli("quality", "scan", str(path), ok=False)
    assert "berada di luar provinsi 65" in refused.stdout + refused.stderr
