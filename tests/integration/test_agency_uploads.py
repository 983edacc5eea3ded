"""The province's data steward receives an agency's file: a preview that writes nothing, saving
exactly what was shown, a stale or repeated confirmation, a regency's steward refused, and a year's
figures of one agency taken back with a reason, kept on the audit trail."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select

from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.quality import aggregates, review, series
from engine.verification import agency_figures, agency_listing
from models import AggregateValue, AuditEvent, Determination, QualityFlag
from tests.factories import SYSTEM, actor

PROVINCE = "65"
SECRET = "rahasia-uji"
FILE = "instansi,kategori,kode_wilayah,periode,nilai\nDP3AP2KB,AKTK,65.01,2024,30\nDP3AP2KB,AKTK,65.02,2024,21\n"


def _preview(db, username="walidata.prov", text=FILE, agency="", tahun=2024):
    with db.read() as s:
        upload = agency_figures.Upload(tahun, "angka.csv", text.encode(), agency)
        return agency_figures.preview(s, actor(db, username), upload, PROVINCE, SECRET)


def _receive(db, plan, username="walidata.prov", tahun=2024):
    rows = agency_figures.from_carried(agency_figures.carried(plan))
    with db.transaction() as s:
        sent = agency_figures.Confirmation(tahun, rows, plan.digest, plan.berkas)
        return agency_figures.receive(s, actor(db, username), sent, PROVINCE, SECRET)


def _key(db, agency="DP3AP2KB", tahun=2024) -> str:
    """The key of an agency's figures for a year as the page shows it."""
    with db.read() as s:
        return next(
            a.kunci for a in agency_listing.overview(s, actor(db, "walidata.prov"), tahun) if a.instansi == agency
        )


def _theirs(db) -> dict[tuple[str, str], int]:
    with db.read() as s:
        found = s.scalars(select(AggregateValue).where(AggregateValue.sumber != "dinsos"))
        return {(r.sumber, r.region_kode): r.nilai for r in found}


def _determine(db, tahun=2024) -> None:
    """The year's figures determined by the head of the dinas."""
    with db.transaction() as s:
        s.add(
            Determination(
                tahun=tahun,
                region_kode="65",
                nomor_sk="188.44/12/2025",
                tanggal_sk=date(2025, 3, 1),
                approved_by="kepala.dinas",
                content_hash="0" * 64,
                content={},
            )
        )


def _actions(db, action: AuditAction) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action.value).order_by(AuditEvent.seq)))


def test_a_preview_writes_nothing_and_saving_stores_what_it_showed(db, stewards, our_figures):
    plan = _preview(db)
    assert (plan.count("baru"), plan.count("berubah"), plan.agencies) == (2, 0, ["DP3AP2KB"])
    assert [(f.rule, f.region_kode) for f in plan.flags] == [("selisih_instansi", "65.01")]  # 30 against 68
    assert _theirs(db) == {} and _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED) == []
    received = _receive(db, plan)
    assert received.saved and _theirs(db) == {("DP3AP2KB", "65.01"): 30, ("DP3AP2KB", "65.02"): 21}
    with db.read() as s:
        stored = s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi")).all()
    assert [(f.region_kode, f.sources["instansi"]) for f in stored] == [("65.01", "DP3AP2KB")]  # as previewed
    again = _preview(db, text=FILE.replace("65.02,2024,21", "65.02,2024,25"))
    assert (again.count("baru"), again.count("berubah"), again.count("sama")) == (0, 1, 1)
    changed = next(f for f in again.figures if f.perubahan == "berubah")
    assert (changed.kode_wilayah, changed.sebelum, changed.nilai) == ("65.02", 21, 25)


def test_a_confirmation_after_the_stored_figures_changed_saves_nothing(db, stewards, our_figures):
    stale = _preview(db)
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",31\n")))  # another upload meanwhile
    with pytest.raises(Conflict, match="berubah sejak pratinjau"):
        _receive(db, stale)
    assert _theirs(db)[("DP3AP2KB", "65.01")] == 31


def test_the_same_confirmation_twice_saves_once(db, stewards, our_figures):
    plan = _preview(db)
    assert _receive(db, plan).saved
    assert not _receive(db, plan).saved  # a double click
    assert len(_actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)) == 1


def test_a_file_of_two_agencies_is_carried_and_saved_whole(db, stewards, our_figures):
    text = FILE + "Dinas Kesehatan,AKTK,65.01,2024,40\n"
    plan = _preview(db, text=text)
    assert plan.agencies == ["DP3AP2KB", "Dinas Kesehatan"]
    assert agency_figures.from_carried(agency_figures.carried(plan))[-1] == {
        "instansi": "Dinas Kesehatan",
        "kode_wilayah": "65.01",
        "kategori": "AKTK",
        "periode": "2024",
        "nilai": "40",
    }
    _receive(db, plan)
    assert _theirs(db)[("Dinas Kesehatan", "65.01")] == 40


def test_a_wrong_row_refuses_the_whole_file_by_row(db, stewards):
    with pytest.raises(Invalid) as refused:
        _preview(db, text=FILE + "DP3AP2KB,AKTK,6502,2024,3\n")
    assert [(p.row, p.column) for p in refused.value.problems] == [(4, "kode_wilayah")]


def test_a_file_over_the_bound_is_refused_before_it_is_compared(db, stewards, monkeypatch):
    monkeypatch.setattr(agency_figures, "MAX_FIGURES", 1)
    with pytest.raises(Invalid, match="paling banyak 1 sekali unggah"):
        _preview(db)


@pytest.mark.parametrize("username", ["walidata.kab", "forum.sdi", "auditor.prov"])
def test_only_the_province_receives_or_withdraws_an_agency_s_figures(db, stewards, our_figures, username):
    with pytest.raises(Forbidden):
        _preview(db, username)
    plan = _preview(db)
    with pytest.raises(Forbidden):
        _receive(db, plan, username)
    _receive(db, plan)
    with pytest.raises(Forbidden), db.transaction() as s:
        agency_figures.withdraw(s, actor(db, username), "DP3AP2KB", 2024, "berkas salah instansi", _key(db))
    assert len(_theirs(db)) == 2


def test_a_regency_s_steward_reads_its_own_region_s_agency_figures(db, stewards, our_figures):
    _receive(db, _preview(db))
    with db.read() as s:
        seen = agency_listing.overview(s, actor(db, "walidata.kab"), 2024)
        rows, page, pages = agency_listing.figures_of(s, actor(db, "walidata.kab"), 2024, "DP3AP2KB")
        everything = agency_listing.overview(s, actor(db, "walidata.prov"), 2024)
    assert [(a.instansi, a.angka, a.tanda_terbuka) for a in seen] == [("DP3AP2KB", 1, 1)]  # 65.01 only
    assert [(r.kode_wilayah, r.nilai, r.nilai_kita) for r in rows] == [("65.01", 30, 68)] and (page, pages) == (1, 1)
    assert [f.rule for f in rows[0].tanda] == ["selisih_instansi"]
    assert [(a.instansi, a.angka, a.wilayah, a.periode) for a in everything] == [("DP3AP2KB", 2, 2, ["2024"])]


def test_withdrawing_a_year_removes_its_figures_and_flags_and_keeps_them_on_the_trail(db, stewards, our_figures):
    _receive(db, _preview(db))
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)  # another year stays
    with db.transaction() as s:
        removed = agency_figures.withdraw(
            s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas tahun yang salah", _key(db)
        )
    assert removed == 2
    with db.read() as s:
        left = s.scalars(select(AggregateValue.periode).where(AggregateValue.sumber == "DP3AP2KB")).all()
        open_flags = s.scalar(
            select(func.count())
            .select_from(QualityFlag)
            .where(QualityFlag.rule == "selisih_instansi", QualityFlag.periode == "2024")
        )
    assert sorted(left) == ["2023", "2023"] and open_flags == 0
    entry = _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)[-1]
    assert entry.reason == "berkas tahun yang salah" and entry.actor == "walidata.prov"
    assert sorted(entry.before["perubahan"]) == [
        ["65.01", "AKTK", "2024", "DP3AP2KB", 30],
        ["65.02", "AKTK", "2024", "DP3AP2KB", 21],
    ]


def test_a_withdrawal_is_refused_with_a_short_reason_a_stale_count_or_nothing_to_take(db, stewards, our_figures):
    _receive(db, _preview(db))
    walidata = actor(db, "walidata.prov")
    with pytest.raises(Invalid), db.transaction() as s:
        agency_figures.withdraw(s, walidata, "DP3AP2KB", 2024, "salah", _key(db))
    with pytest.raises(Conflict, match="berubah sejak halaman dibuka"), db.transaction() as s:
        agency_figures.withdraw(s, walidata, "DP3AP2KB", 2024, "berkas tahun yang salah", "0123456789abcdef")
    with pytest.raises(NotFound), db.transaction() as s:
        agency_figures.withdraw(s, walidata, "Dinas Kesehatan", 2024, "berkas tahun yang salah", "")
    assert len(_theirs(db)) == 2 and _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN) == []


def test_the_command_line_takes_a_year_back_as_the_page_does(cli, db, stewards, our_figures):
    _receive(db, _preview(db))
    refused = cli("agency", "withdraw", "Dinas Kesehatan", "2024", "--reason", "berkas salah instansi", ok=False)
    assert "Tidak ada angka Dinas Kesehatan untuk tahun 2024" in refused.stdout + refused.stderr
    done = cli("agency", "withdraw", "DP3AP2KB", "2024", "--reason", "berkas salah instansi", "--user", "walidata.prov")
    assert "2 angka DP3AP2KB ditarik" in done.stdout and _theirs(db) == {}
    assert _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)[-1].actor == "walidata.prov"


def test_an_agency_spelled_another_way_is_pointed_out_before_it_is_saved(db, stewards, our_figures):
    _receive(db, _preview(db))
    plan = _preview(db, text=FILE.replace("DP3AP2KB", "DP3A-P2KB") + "Dinas Kesehatan,AKTK,65.01,2024,40\n")
    assert plan.new_agencies == {"DP3A-P2KB": "DP3AP2KB", "Dinas Kesehatan": None}
    assert _preview(db).new_agencies == {}  # known by the figures it sent


def test_a_preview_says_which_figures_have_none_of_ours_to_be_compared_with(db, stewards, our_figures):
    plan = _preview(db, text=FILE + "DP3AP2KB,AKTK,65.01,2024-S1,14\n")
    assert plan.uncompared == 1
    assert [(f.periode, f.nilai_kita) for f in plan.figures if f.kode_wilayah == "65.01"] == [
        ("2024", 68),
        ("2024-S1", None),
    ]


def _open_flags(db) -> set[tuple[str, str, str, str]]:
    with db.read() as s:
        found = s.scalars(select(QualityFlag).where(QualityFlag.status == "terbuka", QualityFlag.item_id.is_(None)))
        return {
            (f.rule, f.region_kode, f.periode, str(f.sources.get("instansi") or f.sources.get("sumber"))) for f in found
        }


def test_the_preview_shows_every_flag_saving_leaves_open_on_the_agency_s_series(db, stewards, our_figures):
    for year, n in (("2021", 30), ("2022", 31), ("2023", 30)):  # the agency's history, a year at a time
        _receive(
            db,
            _preview(db, text=FILE.replace("2024", year).replace(",30\n", f",{n}\n"), tahun=int(year)),
            tahun=int(year),
        )
    plan = _preview(db, text=FILE.replace(",30\n", ",300\n"))  # a jump in their own series
    shown = {
        (f.rule, f.region_kode, f.periode, str(f.sources.get("instansi") or f.sources.get("sumber")))
        for f in plan.flags
    }
    assert ("lonjakan", "65.01", "2024", "DP3AP2KB") in shown
    received = _receive(db, plan)
    theirs = {k for k in _open_flags(db) if k[3] == "DP3AP2KB"}
    assert theirs == shown and len(received.plan.flags) == len(shown)  # the page said what saving did
    with db.read() as s:  # the year's list counts the same flags, its own series' ones too
        listed = {a.instansi: a.tanda_terbuka for a in agency_listing.overview(s, actor(db, "walidata.prov"), 2024)}
        rows, _, _ = agency_listing.figures_of(s, actor(db, "walidata.prov"), 2024, "DP3AP2KB")
    assert listed["DP3AP2KB"] == len([f for f in shown if f[2] == "2024"])
    assert "lonjakan" in {f.rule for r in rows for f in r.tanda}


def test_a_recount_of_ours_between_preview_and_save_that_changes_the_flags_saves_nothing(db, stewards, our_figures):
    plan = _preview(db)
    with db.transaction() as s:  # the reconciliation counts ours again meanwhile
        recount = [
            series.Value("65.01", "AKTK", "2024", 31, "dinsos"),
            series.Value("65.02", "AKTK", "2024", 90, "dinsos"),
        ]
        aggregates.store(s, SYSTEM, recount, AuditAction.BASELINE_IMPORTED)
    with pytest.raises(Conflict, match="atau tandanya berubah sejak pratinjau"):
        _receive(db, plan)
    assert _theirs(db) == {}


def test_a_year_s_page_receives_that_year_s_figures_only(db, stewards, our_figures):
    with pytest.raises(Invalid) as refused:
        _preview(db, text=FILE + "DP3AP2KB,AKTK,65.01,2019,12\n")
    assert "di luar tahun 2024" in str(refused.value) and "periode 2019" in refused.value.problems[0].message


def test_a_determined_year_s_agency_figures_stay_as_they_were(db, stewards, our_figures, cli, tmp_path):
    plan = _preview(db)
    _receive(db, plan)
    _determine(db)
    with pytest.raises(Conflict, match="sudah ditetapkan"):
        _preview(db, text=FILE.replace(",30\n", ",33\n"))
    with pytest.raises(Conflict, match="sudah ditetapkan"), db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas tahun yang salah", _key(db))
    path = tmp_path / "angka.csv"
    path.write_text(FILE.replace(",30\n", ",33\n"), encoding="utf-8")
    refused = cli("quality", "agency", str(path), ok=False)
    assert "sudah ditetapkan" in refused.stdout + refused.stderr
    assert _theirs(db)[("DP3AP2KB", "65.01")] == 30


ODD_CELLS = {
    "a name longer than its column": (
        "DP3AP2KB",
        '"Dinas Pemberdayaan Perempuan, Perlindungan Anak, Pengendalian Penduduk dan Keluarga Berencana '
        'Provinsi Kalimantan Utara"',
        "paling panjang 80 karakter",
    ),
    "a NUL inside a name": ("DP3AP2KB", "DP3\x00AP2KB", "karakter kendali"),
    "a count no region has": (",30\n", ",99999999999\n", "terlalu besar"),
}


@pytest.mark.parametrize("case", sorted(ODD_CELLS))
def test_an_odd_cell_is_refused_by_row_not_answered_with_an_error_page(db, stewards, case):
    old, new, said = ODD_CELLS[case]
    with pytest.raises(Invalid) as refused:
        _preview(db, text=FILE.replace(old, new, 1))
    assert any(said in p.message and p.row == 2 for p in refused.value.problems)
    assert _theirs(db) == {}


def test_withdrawing_a_wrong_file_takes_its_explanations_along(db, stewards, our_figures):
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",5\n")))  # another agency's file, loaded as DP3AP2KB
    with db.transaction() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
        review.settle(
            s,
            actor(db, "walidata.prov"),
            flag.id,
            "jelaskan",
            "DP3AP2KB hanya menghitung kasus yang dilaporkan",
            "terbuka",
        )
    with db.transaction() as s:
        agency_figures.withdraw(
            s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas Dinkes yang salah nama", _key(db)
        )
    entry = _actions(db, AuditAction.AGENCY_FIGURES_WITHDRAWN)[-1]
    assert [t[1] for t in entry.before["tanda"]] == ["selisih_instansi"]  # the explanation, on the trail
    plan = _preview(db, text=FILE.replace(",30\n", ",5\n"))  # the true DP3AP2KB file
    assert [f.rule for f in plan.flags] == ["selisih_instansi"]  # judged afresh, not quieted


def test_a_saved_file_is_named_on_the_trail_with_its_hash(db, stewards, our_figures):
    plan = _preview(db)
    _receive(db, plan)
    after = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].after
    assert (after["berkas"], after["sha256"], after["kunci"]) == (
        "angka.csv",
        hashlib.sha256(FILE.encode()).hexdigest(),
        plan.digest,
    )


def test_a_confirmation_naming_another_file_or_keyed_without_the_secret_saves_nothing(db, stewards, our_figures):
    plan = _preview(db)
    rows = agency_figures.from_carried(agency_figures.carried(plan))
    forged = ("laporan-resmi-DP3AP2KB.xlsx", "0" * 64)
    unsigned = agency_figures._digest(plan.figures, plan.flags, forged, "")  # as one without the secret would
    for digest, berkas in ((plan.digest, forged), (unsigned, forged)):
        with pytest.raises(Conflict, match="berubah sejak pratinjau"), db.transaction() as s:
            sent = agency_figures.Confirmation(2024, rows, digest, berkas)
            agency_figures.receive(s, actor(db, "walidata.prov"), sent, PROVINCE, SECRET)
    assert _theirs(db) == {} and _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED) == []


@pytest.mark.parametrize("ours", ["dinsos", "Dinas Sosial", "DINSOS"])
def test_our_own_figures_are_never_withdrawn_as_an_agency_s(db, stewards, our_figures, ours):
    with pytest.raises(Invalid, match="Angka Dinas Sosial bukan angka instansi"), db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), ours, 2024, "angka kita sendiri dihapus", "")
    with db.read() as s:
        assert agency_listing.figures_of(s, actor(db, "walidata.prov"), 2024, ours) == ([], 1, 1)
        assert s.scalar(select(func.count()).select_from(AggregateValue).where(AggregateValue.sumber == "dinsos")) == 2


def test_a_count_of_thousands_of_digits_is_refused_by_row(db, stewards):
    rows = [
        {"instansi": "DP3AP2KB", "kode_wilayah": "65.01", "kategori": "AKTK", "periode": "2024", "nilai": "9" * 5000}
    ]
    with pytest.raises(Invalid) as refused, db.read() as s:
        agency_figures.receive(
            s, actor(db, "walidata.prov"), agency_figures.Confirmation(2024, rows, "0" * 32), PROVINCE, SECRET
        )
    assert any("terlalu besar" in p.message for p in refused.value.problems)


def test_a_no_break_space_copied_from_a_report_is_read_as_a_space(db, stewards, our_figures):
    copied = FILE.replace(",65.01,", ",\u00a065.01\u00a0,").replace(",21\n", ",21\u00a0\n")
    plan = _preview(db, text=copied)
    assert [(f.kode_wilayah, f.nilai) for f in plan.figures] == [("65.01", 30), ("65.02", 21)]


def test_a_year_determined_between_preview_and_save_takes_nothing(db, stewards, our_figures):
    plan = _preview(db)
    _determine(db)
    with pytest.raises(Conflict, match="sudah ditetapkan"):
        _receive(db, plan)
    assert _theirs(db) == {}
