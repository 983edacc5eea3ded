"""`sijosku quality`: scanning historic tables, storing them, comparing another agency's figures."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from models import AggregateValue, QualityFlag
from tests.integration.test_cli import as_json

BASELINE = """kode_wilayah,kategori,periode,nilai,sumber
65.01,AKTK,2021,17,dinsos
65.01,AKTK,2022,17,dinsos
65.01,AKTK,2023,17,dinsos
65.01,AKTK,2024,68,dinsos
65.71,AKTK,2021,31,dinsos
65.71,AKTK,2022,27,dinsos
65.71,AKTK,2023,25,dinsos
65.71,AKTK,2024,0,dinsos
"""


def test_scan_prints_flags_as_json_and_exits_0(cli, tmp_path, db):  # noqa: F811
    path = tmp_path / "historis.csv"
    path.write_text(BASELINE)
    flags = as_json(cli("quality", "scan", str(path), "--json"))
    assert {"rule", "region_kode", "kategori", "periode", "observed", "severity", "message"} <= flags[0].keys()
    rules = {(f["rule"], f["region_kode"], f["periode"]) for f in flags}
    assert {("tetap", "65.01", "2023"), ("lonjakan", "65.01", "2024"), ("turun_ke_nol", "65.71", "2024")} <= rules
    with db.read() as s:  # without --store nothing is written
        assert s.scalar(select(func.count()).select_from(AggregateValue)) == 0
    read = cli("quality", "scan", str(path)).stdout  # a person reads the pages' words, not ids
    assert "[peringatan] turun ke nol: " in read and "turun_ke_nol" not in read and "[warning]" not in read
    clean = tmp_path / "bersih.csv"
    clean.write_text("kode_wilayah,kategori,periode,nilai,sumber\n65.01,LUT,2024,300,dinsos\n")
    assert as_json(cli("quality", "scan", str(clean), "--json")) == []


def test_store_keeps_figures_and_flags_and_checks_them_with_history(cli, tmp_path, db):  # noqa: F811
    first = tmp_path / "2021-2023.csv"
    first.write_text("\n".join(BASELINE.splitlines()[:4]) + "\n")
    cli("quality", "scan", str(first), "--store")
    latest = tmp_path / "2024.csv"
    latest.write_text("kode_wilayah,kategori,periode,nilai,sumber\n65.01,AKTK,2024,68,dinsos\n")
    flags = as_json(cli("quality", "scan", str(latest), "--store", "--json"))
    assert ("lonjakan", "2024") in {(f["rule"], f["periode"]) for f in flags}  # judged against the stored years
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AggregateValue)) == 4
        stored = s.scalars(select(QualityFlag).where(QualityFlag.item_id.is_(None))).all()
    assert {f.rule for f in stored} >= {"lonjakan", "tetap"} and all(f.tingkat == "kabupaten" for f in stored)
    assert all(f.skor and f.skor > 1 for f in stored)
    again = as_json(cli("quality", "scan", str(latest), "--store", "--json"))
    with db.read() as s:  # scanning again replaces the open flags instead of piling them up
        assert s.scalar(select(func.count()).select_from(QualityFlag)) == len(again)


def test_agency_figures_are_compared_with_ours(cli, tmp_path, db):  # noqa: F811
    ours = tmp_path / "dinsos.csv"
    ours.write_text(
        "kode_wilayah,kategori,periode,nilai,sumber\n65.01,AKTK,2024,68,dinsos\n65.02,AKTK,2024,20,dinsos\n"
    )
    cli("quality", "scan", str(ours), "--store")
    theirs = tmp_path / "dp3ap2kb.csv"
    theirs.write_text("kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,30\nAKTK,65.02,2024,21\n")
    flags = as_json(cli("quality", "agency", str(theirs), "--agency", "DP3AP2KB", "--json"))
    assert len(flags) == 1  # 20 against 21 is within the tolerance
    flag = flags[0]
    # without history a gap is only information: the two may count different things
    assert (flag["rule"], flag["severity"], flag["region_kode"]) == ("selisih_instansi", "info", "65.01")
    assert flag["sources"] == {"sumber": "dinsos", "instansi": "DP3AP2KB", "nilai_kita": 68, "nilai_instansi": 30}
    assert "68" in flag["message"] and "30" in flag["message"]


def test_our_own_figures_are_ours_however_written_and_never_replaced_as_an_agency_s(cli, tmp_path, db):  # noqa: F811
    ours = tmp_path / "dinsos.csv"
    ours.write_text("kode_wilayah,kategori,periode,nilai,sumber\n65.01,AKTK,2024,68,Dinas Sosial\n")
    cli("quality", "scan", str(ours), "--store")
    with db.read() as s:
        assert s.scalars(select(AggregateValue.sumber)).all() == ["dinsos"]  # compared as ours
    theirs = tmp_path / "bukan.csv"
    theirs.write_text("kategori,kode_wilayah,periode,nilai\nAKTK,65.01,2024,5\n")
    refused = cli("quality", "agency", str(theirs), "--agency", "dinsos", ok=False)
    assert "bukan Dinas Sosial" in refused.stderr + refused.stdout
    with db.read() as s:
        assert s.scalar(select(AggregateValue.nilai)) == 68  # not overwritten


def test_a_figure_with_a_decimal_is_refused_and_a_dot_between_thousands_is_read(cli, tmp_path, db):  # noqa: F811
    """A count is whole: 1.5 is refused (it was read as 15), and 1.250 is Indonesian for 1250."""
    theirs = tmp_path / "dp3ap2kb.csv"
    theirs.write_text("kategori,kode_wilayah,periode,nilai\nKTR,65.02,2024,1.5\nKTR,65.01,2024,12.50\n")
    refused = cli("quality", "agency", str(theirs), "--agency", "DP3AP2KB", ok=False)
    said = refused.stderr + refused.stdout
    assert "'1.5' bukan bilangan bulat" in said and "'12.50' bukan bilangan bulat" in said
    with db.read() as s:
        assert s.scalar(select(AggregateValue.nilai)) is None  # nothing written
    theirs.write_text("kategori,kode_wilayah,periode,nilai\nKTR,65.02,2024,1.250\n")
    cli("quality", "agency", str(theirs), "--agency", "DP3AP2KB")
    with db.read() as s:
        assert s.scalar(select(AggregateValue.nilai)) == 1250


def test_an_agency_ratio_that_moves_is_a_warning(cli, tmp_path, db):  # noqa: F811
    ours = tmp_path / "dinsos.csv"
    theirs = tmp_path / "dinkes.csv"
    years = {2021: (100, 50), 2022: (104, 53), 2023: (98, 49), 2024: (102, 150)}
    ours.write_text(
        "kode_wilayah,kategori,periode,nilai,sumber\n"
        + "".join(f"65.01,ODHA,{y},{o},dinsos\n" for y, (o, _) in years.items())
    )
    theirs.write_text(
        "kategori,kode_wilayah,periode,nilai\n" + "".join(f"ODHA,65.01,{y},{t}\n" for y, (_, t) in years.items())
    )
    cli("quality", "scan", str(ours), "--store")
    flags = as_json(cli("quality", "agency", str(theirs), "--agency", "DINKES", "--json"))
    warnings = [(f["rule"], f["periode"]) for f in flags if f["severity"] == "warning"]
    assert warnings == [("instansi", "2024")]  # the steady half before is not a problem


def test_a_bad_table_is_refused_row_by_row(cli, tmp_path):  # noqa: F811
    path = tmp_path / "rusak.csv"
    path.write_text("kode_wilayah,kategori,periode,nilai,sumber\n65.99,AKTK,2024,5,dinsos\n65.01,ZZZ,2024-Q5,lima,\n")
    result = cli("quality", "scan", str(path), "--json", ok=False)
    problems = {(p["row"], p["column"]) for p in json.loads(result.stdout)["problems"]}
    assert problems == {(2, "kode_wilayah"), (3, "kategori"), (3, "periode"), (3, "nilai"), (3, "sumber")}


def test_a_snapshot_counts_verified_records_at_every_level(cli, db):  # noqa: F811
    from tests.factories import decide, make_team, open_with_items, submit

    make_team(db)
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    assert as_json(cli("quality", "snapshot", "2026", "--json"))["angka"] == 4  # desa, kec, kab, prov × LUT
    with db.read() as s:
        values = dict(s.execute(select(AggregateValue.region_kode, AggregateValue.nilai)).all())
    assert values == {"65.01.01.2005": 2, "65.01.01": 2, "65.01": 2, "65": 2}


def test_thresholds_are_set_per_category_and_used(cli, tmp_path, db):  # noqa: F811
    path = tmp_path / "dua.csv"
    path.write_text(
        "kode_wilayah,kategori,periode,nilai,sumber\n65.01,ODHA,2023,100,dinsos\n65.01,ODHA,2024,104,dinsos\n"
        "65.01,ODHA,2025,130,dinsos\n65.01,LUT,2023,100,dinsos\n65.01,LUT,2024,104,dinsos\n"
        "65.01,LUT,2025,130,dinsos\n"
    )
    assert [f["rule"] for f in as_json(cli("quality", "scan", str(path), "--json"))] == []
    cli("quality", "set", "lonjakan", "alpha", "0.3", "--category", "ODHA")
    flags = as_json(cli("quality", "scan", str(path), "--json"))
    assert [(f["rule"], f["kategori"]) for f in flags] == [("lonjakan", "ODHA")]
    assert "tidak dikenal" in cli("quality", "set", "rasio", "tinggi", "3", ok=False).stderr
    assert "antara" in cli("quality", "set", "lonjakan", "alpha", "2", ok=False).stderr
    assert "bulat" in cli("quality", "set", "lonjakan", "min_history", "1.5", ok=False).stderr
