"""A sensitive category's count in a desa or kecamatan on the reconciliation's pages: the steward,
the Forum and the head, who work on compiled figures, see that a flag is there and whether it is
settled, not what it says; the regency's verifier, who sees the records, explains it."""

from __future__ import annotations

import pytest

from engine.quality import flag_reading, review
from engine.quality.aggregates import Drift
from engine.quality.twice import Twice
from engine.verification import reconciliation, reconciliation_tasks
from models import FlagStatus, QualityFlag, Severity
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.integration.reconciliation_steps import open_tasks, person

DESA = "65.01.01.2001"
SAID = "ODHA di desa ini 7 orang, biasanya 0 sampai 2"
NOTE = "tiga orang pindah dari Tarakan, dicek di puskesmas"


def flag_on_desa(db) -> int:
    with db.transaction() as session:
        flag = QualityFlag(
            rule="series_nb",
            severity=Severity.WARNING,
            message=SAID,
            tingkat="desa",
            region_kode=DESA,
            kategori="ODHA",
            periode=str(YEAR),
            status=FlagStatus.TERBUKA,
        )
        session.add(flag)
        session.flush()
        return flag.id


def test_the_steward_sees_a_sensitive_desa_flag_is_there_not_what_it_says(year, signed_in):
    signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": str(YEAR)})
    flag_id = flag_on_desa(year)
    (task,) = [t for t in open_tasks(year, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    regency = signed_in("walidata.kab")
    page = regency.get(f"/rekonsiliasi/tugas/{task.id}").get_data(as_text=True)
    shown = page.split(f'id="tanda-{flag_id}"')[1].split("</li>")[0]
    assert "ODHA" in shown and SAID not in page and "isinya hanya untuk verifikator" in shown
    assert f"/tanda/{flag_id}" not in page  # no form to explain what the steward cannot read
    refused = regency.post(
        f"/rekonsiliasi/tugas/{task.id}/tanda/{flag_id}",
        {"aksi": "jelaskan", "catatan": "wajar", "status_dilihat": "terbuka"},
    )
    assert refused.status_code == 403
    sent = regency.post(f"/rekonsiliasi/tugas/{task.id}", {"catatan": "semua dijelaskan"})
    assert sent.status_code == 400 and SAID not in sent.get_data(as_text=True)
    with year.read() as session:
        assert session.get(QualityFlag, flag_id).status == FlagStatus.TERBUKA

    with year.transaction() as session:  # the regency's verifier explains it, as on the quality page
        review.settle(session, person(year, "verif.kab"), flag_id, review.FlagAction.EXPLAIN, NOTE, FlagStatus.TERBUKA)
    page = regency.get(f"/rekonsiliasi/tugas/{task.id}").get_data(as_text=True)
    assert NOTE not in page and "verif.kab" in page.split(f'id="tanda-{flag_id}"')[1].split("</li>")[0]


def test_the_forum_and_the_head_read_the_same_flag_without_its_figures(year):
    with year.transaction() as session:
        reconciliation.open_year(session, person(year, "walidata.prov"), "65", YEAR, force=False)
    flag_id = flag_on_desa(year)
    with year.transaction() as session:
        review.settle(session, person(year, "verif.kab"), flag_id, review.FlagAction.EXPLAIN, NOTE, FlagStatus.TERBUKA)
        flag = session.get(QualityFlag, flag_id)
        for name in ("walidata.kab", "forum.sdi", "kepala.dinas"):
            (seen,) = flag_reading.seen_by(person(year, name), [flag])
            assert seen.hidden and SAID not in seen.message and seen.ack_note is None
        for name in ("verif.kab", "auditor.prov"):
            (seen,) = flag_reading.seen_by(person(year, name), [flag])
            assert not seen.hidden and (seen.message, seen.ack_note) == (SAID, NOTE)


def test_the_heads_changed_figures_and_double_registrations_count_sensitive_rows_without_listing_them(year):
    proposal = reconciliation.Proposal(
        kabupaten=[("65.01", "Kabupaten Bulungan")],
        baris=[],
        berubah=[Drift(DESA, "ODHA", 1, 2), Drift("65.01", "ODHA", 3, 4), Drift(DESA, "LUT", 5, 6)],
        ganda=[Twice("ODHA", (DESA, "65.01.02.2001"), 1), Twice("LUT", (DESA, "65.01.02.2001"), 2)],
    )
    shown, hidden = reconciliation_tasks._proposal_seen(person(year, "kepala.dinas"), proposal)
    assert [(d.wilayah, d.kategori) for d in shown.berubah] == [("65.01", "ODHA"), (DESA, "LUT")]
    assert [t.kategori for t in shown.ganda] == ["LUT"]
    assert hidden == {"berubah": 1, "ganda": 1, "ganda_orang": 1}
    whole, none = reconciliation_tasks._proposal_seen(person(year, "auditor.prov"), proposal)
    assert whole == proposal and none == {"berubah": 0, "ganda": 0, "ganda_orang": 0}


def test_the_heads_refusal_for_changed_figures_names_none_of_a_sensitive_desa(year, monkeypatch):
    from engine.core.errors import Invalid
    from tests.integration.reconciliation_steps import to_the_head

    head = to_the_head(year)
    changed = [Drift(DESA, "ODHA", 1, 2), Drift("65.01", "ODHA", 3, 4)]
    monkeypatch.setattr(reconciliation, "changed_since_forum", lambda *args: changed)
    decision = reconciliation.HeadDecision(head.id, "setuju", "", "SK-9/2026", "2026-11-25")
    with year.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(year, "kepala.dinas"), decision)
    assert "2 angka berubah" in str(refused.value)  # counted, as the page counts them
    assert [p.column for p in refused.value.problems] == ["angka_65.01"]


def test_a_forum_return_written_before_returns_named_their_category_hides_a_desa_explanation(year):
    old = {"aturan": "lonjakan", "wilayah": DESA, "periode": str(YEAR), "catatan": NOTE, "alasan": "cek lagi"}
    regency = {**old, "wilayah": "65.01"}
    seen = reconciliation_tasks._returns_seen(person(year, "walidata.kab"), [old, regency])
    assert [r["catatan"] for r in seen] == [None, NOTE]
    assert reconciliation_tasks._returns_seen(person(year, "verif.kab"), [old])[0]["catatan"] == NOTE
