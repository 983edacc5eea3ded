"""The quality dashboard and the flags verifiers see on their tasks."""

from __future__ import annotations

import re

from engine.quality import aggregates
from models import AggregateValue, QualityFlag
from tests.factories import SYSTEM, decide, open_with_items, store_history, submit


def test_who_sees_the_dashboard(app, people, signed_in):
    for username, status in (
        ("verif.kab", 200),
        ("valid.prov", 200),
        ("admin.prov", 200),
        ("auditor.prov", 200),
        ("verif.kec", 403),
        ("op.desa", 403),
    ):
        assert signed_in(username).get("/mutu/").status_code == status, username


def test_flags_are_listed_in_indonesian_most_serious_first(app, db, people, signed_in):
    store_history(db)
    page = signed_in("valid.prov").get("/mutu/").get_data(as_text=True)
    table = page.split('id="tanda"', 1)[1].split("</table>", 1)[0]
    assert "lonjakan" in table and "angka tidak berubah" in table and "selisih dengan instansi lain" in table
    assert "peringatan" in table and "informasi" in table
    # no rule ids, severities in English, or Python lists on the page
    for raw in ("selisih_instansi", ">tetap<", ">warning<", ">info<", "[3, 41]", "["):
        assert raw not in table, raw
    assert "3–41" in table
    # warnings (the jump scores higher than the repeat) before information
    assert table.index("lonjakan") < table.index("angka tidak berubah") < table.index("selisih dengan instansi")
    regency = signed_in("verif.kab").get("/mutu/?rule=selisih_instansi").get_data(as_text=True)
    assert "DP3AP2KB mencatat 30" in regency and "lonjakan" not in regency.split('id="tanda"', 1)[1]
    other = signed_in("verif.kab.lain").get("/mutu/").get_data(as_text=True)
    assert "DP3AP2KB" not in other and "Tidak ada tanda dengan saringan ini" in other


def test_an_unknown_filter_value_is_refused_beside_its_field(app, people, signed_in):
    response = signed_in("valid.prov").get("/mutu/?rule=%3Cscript%3E&status=x")
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)


def test_the_trend_series_carries_each_source_and_the_flags_explained(app, db, people, signed_in):
    store_history(db)
    data = signed_in("verif.kab").get("/mutu/seri?wilayah=65.01&kategori=LUT").get_json()
    assert data["labels"] == ["2022", "2023", "2024", "2025"]
    assert {d["sumber"]: d["values"] for d in data["datasets"]} == {
        "DP3AP2KB": [None, None, None, 30],
        "dinsos": [17, 17, 17, 68],
    }
    assert any("DP3AP2KB mencatat 30" in m for m in data["flags"]["2025"]) and data["flags"]["2024"]
    assert signed_in("verif.kab.lain").get("/mutu/seri?wilayah=65.01&kategori=LUT").status_code == 404


def test_completeness_per_region_drills_down(app, db, people, signed_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    open_with_items(db, desa="65.01.01.2006")
    browser = signed_in("valid.prov")
    page = browser.get("/mutu/?induk=65&periode_lengkap=2026-Q4").get_data(as_text=True)
    assert "65.01 Bulungan" in page or "65.01 Kabupaten Bulungan" in page
    kecamatan = browser.get("/mutu/?induk=65.01.01&periode_lengkap=2026-Q4").get_data(as_text=True)
    assert "65.01.01.2005" in kecamatan
    table = browser.get("/mutu/?induk=65.01&periode_lengkap=2026-Q4").get_data(as_text=True)
    row = table.split("65.01.01 ", 1)[1].split("</tr>", 1)[0]
    cells = [c.split("<", 1)[0] for c in row.split("<td>")[1:]]
    assert cells[1:5] == ["2", "1", "0", "0"]  # opened, submitted, verified, not reported


def _open_task(db, sid, tier_user):
    from sqlalchemy import select

    from models import HumanTask

    with db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))


def _flag(s, region, severity, skor, message, rule="lonjakan"):
    from engine.core import clock
    from models import QualityFlag

    s.add(
        QualityFlag(
            rule=rule,
            severity=severity,
            message=message,
            region_kode=region,
            kategori="LUT",
            periode="2025",
            observed=5,
            expected=[1, 2],
            sources={},
            skor=skor,
            status="terbuka",
            created_at=clock.now(),
        )
    )


def test_the_task_shows_the_flags_of_its_desa_and_the_regions_above_ranked(app, db, people, signed_in):
    sid = open_with_items(db)  # desa 65.01.01.2005
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    with db.transaction() as s:
        _flag(s, "65.01.01.2005", "info", 0.5, "info-desa")
        _flag(s, "65.01.01", "warning", 3.0, "kecamatan-biasa")
        _flag(s, "65.01", "warning", 9.0, "kabupaten-mengejutkan")
        _flag(s, "65.01", "error", 10.0, "kabupaten-total", rule="total")
        _flag(s, "65.01.02", "error", 12.0, "kecamatan-lain")  # not this desa's lineage
        _flag(s, "65.02", "error", 12.0, "kabupaten-lain")
        for n in range(12):
            _flag(s, "65.01.01.2005", "info", 0.1, f"kecil-{n}")
    page = signed_in("verif.kab").get(f"/tugas/{_open_task(db, sid, 'verif.kab')}").get_data(as_text=True)
    section = page.split('id="h-region-flags"', 1)[1].split("</section>", 1)[0]
    shown = ["kabupaten-total", "kabupaten-mengejutkan", "kecamatan-biasa", "info-desa"]
    positions = [section.index(m) for m in shown]
    assert positions == sorted(positions)
    assert "kecamatan-lain" not in section and "kabupaten-lain" not in section
    assert section.count('class="flag ') == 10 and "6 tanda lainnya" in section
    assert "galat · jumlah tidak cocok" in section


def test_a_flag_is_explained_from_the_dashboard_and_stays_settled(app, db, people, signed_in):
    from sqlalchemy import select

    from models import AuditEvent, QualityFlag

    store_history(db)
    with db.read() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
    regency = signed_in("verif.kab")
    form = {"aksi": "jelaskan", "status_dilihat": "terbuka", "kembali": "/mutu/?status=terbuka"}
    refused = regency.post(f"/mutu/tanda/{flag.id}", {**form, "catatan": "  "}, token_from="/mutu/")
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"#tanda-{flag.id}")
    assert "Catatan wajib diisi" in regency.get("/mutu/").get_data(as_text=True)
    note = "DP3AP2KB menghitung korban yang ditangani, Dinas Sosial yang membutuhkan layanan"
    done = regency.post(f"/mutu/tanda/{flag.id}", {**form, "catatan": note}, token_from="/mutu/")
    assert done.headers["Location"].endswith(f"/mutu/?status=terbuka#tanda-{flag.id}")
    with db.read() as s:
        settled = s.get(QualityFlag, flag.id)
        assert (settled.status, settled.ack_by, settled.ack_note, settled.ack_tingkat) == (
            "dijelaskan",
            "verif.kab",
            note,
            "kabupaten",
        )
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "FLAG_EXPLAINED"))
        assert event.actor == "verif.kab" and event.reason == note
    # a second click from the same stale page changes nothing and says why
    regency.post(f"/mutu/tanda/{flag.id}", {**form, "catatan": "lagi"}, token_from="/mutu/")
    assert "sudah ditindaklanjuti oleh verif.kab" in regency.get("/mutu/").get_data(as_text=True)  # and by whom
    # checking the series again does not raise the explained gap again
    store_history(db)
    with db.read() as s:
        again = s.scalars(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi")).all()
        assert [f.status for f in again] == ["dijelaskan"]
    listed = signed_in("valid.prov").get("/mutu/?status=dijelaskan").get_data(as_text=True)
    assert note in listed and "Buka lagi" in listed


def test_only_reviewers_of_the_region_settle_a_flag(app, db, people, signed_in):
    from sqlalchemy import select

    from models import QualityFlag

    store_history(db)
    with db.read() as s:
        flag_id = s.scalar(select(QualityFlag.id).where(QualityFlag.rule == "lonjakan"))
    form = {"aksi": "tutup", "status_dilihat": "terbuka", "catatan": "dicoba"}
    for username, message in (
        ("auditor.prov", "ditindaklanjuti oleh verifikator"),
        ("verif.kab.lain", "tidak ada di wilayah Anda"),
    ):
        browser = signed_in(username)
        browser.post(f"/mutu/tanda/{flag_id}", form, token_from="/mutu/")
        assert message in browser.get("/mutu/").get_data(as_text=True), username
    assert signed_in("op.desa").post(f"/mutu/tanda/{flag_id}", form, token_from="/akun/sandi").status_code == 403
    with db.read() as s:
        assert s.get(QualityFlag, flag_id).status == "terbuka"
    page = signed_in("auditor.prov").get("/mutu/").get_data(as_text=True)
    assert "Tindak lanjuti" not in page


def test_the_dashboard_page_loads_its_chart_from_the_npm_package(app, people, signed_in):
    page = signed_in("valid.prov").get("/mutu/").get_data(as_text=True)
    assert "/vendor/chart.js/dist/chart.umd.min.js" in page
    response = signed_in("valid.prov").get("/vendor/chart.js/dist/chart.umd.min.js")
    assert response.status_code == 200 and len(response.data) > 100_000
    response.close()


def test_a_period_that_is_not_one_is_refused_not_shown_as_zeros(db, people, signed_in):
    regency = signed_in("verif.kab")
    for odd in ("zzz", "2026-Q9", "٢٠٢٦-Q4"):  # a form strips spaces and newlines; other digits it refuses
        refused = regency.get(f"/mutu/?periode_lengkap={odd}")
        assert refused.status_code == 400 and "seperti 2026-Q4, 2026-S2 atau 2026" in refused.get_data(as_text=True)
    assert regency.get("/mutu/?periode_lengkap=2026-Q4").status_code == 200


def _figure_statuses(html: str) -> dict[str, str]:
    """Category -> the status word of its row in the period's table."""
    rows = re.findall(r'<tr class="figure-(\w+)"><th scope="row">(\w+) ', html)
    return {kategori: status for status, kategori in rows}


def test_a_regions_figures_of_a_period_are_listed_with_their_status_and_the_regions_below(world, db, signed_in):
    with db.transaction() as s:  # Q2 verified; Q3 waiting at the kabupaten (both Gunung Putih's)
        for periode in ("2026-Q2", "2026-Q3"):
            aggregates.snapshot_records(s, SYSTEM, periode, "65")
    regency = signed_in("verif.kab")
    newest = regency.get("/mutu/angka").get_data(as_text=True)  # its own region, the newest period
    assert "65.01 Kabupaten Bulungan" in newest and '<option value="2026-Q3" selected>' in newest
    assert _figure_statuses(newest) == {"LUT": "sementara"}
    assert re.search(r'wilayah=65.01.01&amp;periode=2026-Q3">65.01.01 [^<]+</a> <span class="badge">sementara', newest)
    earlier = regency.get("/mutu/angka?wilayah=65.01&periode=2026-Q2").get_data(as_text=True)
    assert _figure_statuses(earlier) == {"LUT": "terverifikasi"} and 'class="badge"' not in earlier
    desa = regency.get("/mutu/angka?wilayah=65.01.01.2005&periode=2026-Q3").get_data(as_text=True)
    assert "wilayah=65.01.01&amp;periode=2026-Q3" in desa  # up to the kecamatan, within its region
    assert ">1</td>" in desa and "Wilayah di bawahnya" not in desa
    top = regency.get("/mutu/angka?wilayah=65.01").get_data(as_text=True)
    assert "Wilayah di atasnya" not in top  # the province is not its to read


def test_a_regions_figures_are_refused_outside_the_persons_region_and_for_an_odd_period(world, db, signed_in):
    assert signed_in("verif.kab").get("/mutu/angka?wilayah=65.02").status_code == 404  # as one it does not know
    assert signed_in("op.desa").get("/mutu/angka").status_code == 403
    province = signed_in("valid.prov")
    assert province.get("/mutu/angka?wilayah=65.99").status_code == 404
    odd = province.get("/mutu/angka?periode=2026-Q9")
    assert odd.status_code == 400 and "seperti 2026-Q4, 2026-S2 atau 2026" in odd.get_data(as_text=True)
    empty = province.get("/mutu/angka?wilayah=65.02").get_data(as_text=True)
    assert "Belum ada angka untuk wilayah ini" in empty


def test_a_sensitive_count_below_the_regency_is_for_those_who_see_the_records(db, stewards, signed_in):
    """One desa's ODHA count is often one person: the Forum, the head and the stewards, whose work is
    the compiled figures, read it from the regency up; verifiers read it where they see the records."""
    with db.transaction() as s:
        for region in ("65.01.01.2005", "65.01"):
            s.add(AggregateValue(region_kode=region, kategori="ODHA", periode="2026-Q3", nilai=1, sumber="dinsos"))
    desa = "/mutu/seri?wilayah=65.01.01.2005&kategori=ODHA"
    for username in ("forum.sdi", "kepala.dinas", "walidata.prov", "walidata.kab"):
        person = signed_in(username)
        assert person.get(desa).status_code == 403, username
        assert person.get("/mutu/seri?wilayah=65.01&kategori=ODHA").status_code == 200, username
        figures = person.get("/mutu/angka?wilayah=65.01.01.2005&periode=2026-Q3").get_data(as_text=True)
        assert "ODHA" not in _figure_statuses(figures), username
    assert signed_in("verif.kab").get(desa).get_json()["datasets"][0]["values"] == [1]
    with db.transaction() as s:  # a flag says the figure too
        s.add(
            QualityFlag(
                rule="lonjakan",
                severity="warning",
                region_kode="65.01.01.2005",
                kategori="ODHA",
                periode="2026-Q3",
                observed=7777,
                expected=1,
                message="ODHA di 65.01.01.2005 naik dari 1 ke 7777",
            )
        )
    assert "7777" not in signed_in("forum.sdi").get("/mutu/?status=semua").get_data(as_text=True)
    assert "7777" in signed_in("verif.kab").get("/mutu/?status=semua").get_data(as_text=True)
