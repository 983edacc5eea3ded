"""Taking one upload of agencies' figures back: what it added goes, what it replaced returns, its
explanations go with it onto the trail; refused with nothing changed when a later change stands on
it, when it was taken back already, for a determined year, another year or another role."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.core import agency_names
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.people import tokens
from engine.quality import aggregates, review, series
from engine.verification import agency_figures, agency_uploads, determinations, exchange
from models import AgencyToken, AggregateValue, AuditEvent, QualityFlag
from tests.factories import SYSTEM, actor
from tests.integration.interleave import first_then_second
from tests.integration.test_agency_uploads import FILE, _actions, _determine, _key, _preview, _receive

CORRECTED = FILE.replace(",30\n", ",31\n") + "DP3AP2KB,AKTK,65.01,2024-S1,14\n"
REASON = "berkas Dinkes tersimpan atas nama DP3AP2KB"


def _two_uploads(db) -> tuple[int, int]:
    _receive(db, _preview(db))
    _receive(db, _preview(db, text=CORRECTED))
    first, second = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)
    return first.seq, second.seq


def _undo(db, seq, username="walidata.prov", reason=REASON, tahun=2024):
    with db.transaction() as s:
        return agency_uploads.undo(s, actor(db, username), seq, tahun, reason)


def _stored(db) -> dict[tuple[str, str], int]:
    """DP3AP2KB's figures by region and period."""
    with db.read() as s:
        found = s.scalars(select(AggregateValue).where(AggregateValue.sumber == "DP3AP2KB"))
        return {(r.region_kode, r.periode): r.nilai for r in found}


AFTER_BOTH = {("65.01", "2024"): 31, ("65.02", "2024"): 21, ("65.01", "2024-S1"): 14}
AFTER_FIRST = {("65.01", "2024"): 30, ("65.02", "2024"): 21}


def test_undoing_an_upload_returns_what_it_replaced_and_removes_what_it_added(db, stewards, our_figures):
    first, second = _two_uploads(db)
    assert _stored(db) == AFTER_BOTH
    changes = _undo(db, second)
    assert sorted((c.kode_wilayah, c.periode, c.sebelum, c.sesudah) for c in changes) == [
        ("65.01", "2024", 30, 31),
        ("65.01", "2024-S1", None, 14),
    ]
    assert _stored(db) == AFTER_FIRST
    entry = _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)[-1]
    assert (entry.subject_id, entry.reason, entry.actor) == (str(second), REASON, "walidata.prov")
    assert entry.after == {"unggahan": second, "dikembalikan": 1, "dihapus": 1}
    assert sorted(entry.before["perubahan"]) == [
        ["65.01", "AKTK", "2024", "DP3AP2KB", 31, 30],
        ["65.01", "AKTK", "2024-S1", "DP3AP2KB", 14, None],
    ]
    with db.read() as s:
        listed = agency_uploads.uploads(s, actor(db, "walidata.prov"), 2024)
    assert [(u.seq, u.baru, u.diubah) for u in listed] == [(second, 1, 1), (first, 2, 0)]
    assert listed[0].dibatalkan is not None and listed[0].dibatalkan.alasan == REASON
    assert listed[1].dibatalkan is None and listed[0].berkas == "angka.csv"


def test_an_upload_a_later_one_changed_is_not_undone_and_nothing_moves(db, stewards, our_figures):
    first, second = _two_uploads(db)
    with pytest.raises(
        Conflict,
        match=f"^1 angka unggahan nomor {first} diubah sesudahnya oleh unggahan nomor {second};",
    ):
        _undo(db, first)
    assert _stored(db) == AFTER_BOTH
    _undo(db, second)
    with pytest.raises(Conflict, match="sudah dibatalkan"):
        _undo(db, second)
    _undo(db, first)  # the later one taken back first, the earlier one goes too
    assert _stored(db) == {} and len(_actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)) == 2


def test_an_upload_a_later_one_sent_again_unchanged_is_not_undone(db, stewards, our_figures):
    _receive(db, _preview(db))  # 65.01 = 30 and 65.02 = 21, both new
    first = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq
    _receive(db, _preview(db, text=FILE + "DP3AP2KB,AKTK,65.01,2024-S1,14\n"))  # the same two, and one more
    second = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq
    with pytest.raises(
        Conflict, match=f"^2 angka unggahan nomor {first} dikirim lagi tanpa perubahan sesudahnya [(]nomor {second}[)]:"
    ):
        _undo(db, first)  # the later file, which stands, sent them too
    assert _stored(db) == {("65.01", "2024"): 30, ("65.02", "2024"): 21, ("65.01", "2024-S1"): 14}


def test_a_determined_year_s_agency_figures_stay_through_the_historic_import(cli, db, stewards, our_figures, tmp_path):
    _receive(db, _preview(db))
    _determine(db)
    path = tmp_path / "historis.csv"  # a historic table whose sumber column names the agency
    path.write_text("kode_wilayah,kategori,periode,nilai,sumber\n65.01,AKTK,2024,999,DP3AP2KB\n", encoding="utf-8")
    refused = cli("quality", "scan", str(path), "--store", ok=False)
    assert "sudah ditetapkan" in refused.stderr and _stored(db) == {("65.01", "2024"): 30, ("65.02", "2024"): 21}


def test_undoing_is_refused_for_a_short_reason_another_role_year_or_event(db, stewards, our_figures):
    _, second = _two_uploads(db)
    with pytest.raises(Invalid):
        _undo(db, second, reason="salah")
    with pytest.raises(Forbidden):
        _undo(db, second, username="walidata.kab")
    with pytest.raises(NotFound):
        _undo(db, second, tahun=2023)  # not an upload of that year's page
    with db.read() as s:
        other = s.scalar(select(AuditEvent.seq).where(AuditEvent.action != AuditAction.AGENCY_FIGURES_IMPORTED.value))
    with pytest.raises(NotFound):
        _undo(db, other)  # an audit row of something else
    with pytest.raises(NotFound):
        _undo(db, 10**9)
    assert _stored(db) == AFTER_BOTH and _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE) == []
    with db.read() as s:
        assert agency_uploads.uploads(s, actor(db, "walidata.kab"), 2024) == []  # one regency's view


def test_a_determined_year_s_uploads_stay(db, stewards, our_figures):
    _, second = _two_uploads(db)
    _determine(db)
    with pytest.raises(Conflict, match="sudah ditetapkan"):
        _undo(db, second)
    assert _stored(db) == AFTER_BOTH


def test_an_undone_upload_takes_the_explanations_of_what_it_added_along(db, stewards, our_figures):
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",5\n")))
    with db.transaction() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi"))
        review.settle(
            s, actor(db, "walidata.prov"), flag.id, "jelaskan", "DP3AP2KB hanya menghitung kasus dilaporkan", "terbuka"
        )
    _undo(db, _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq)
    entry = _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)[-1]
    assert [t[1] for t in entry.before["tanda"]] == ["selisih_instansi"]
    with db.read() as s:
        assert s.scalar(select(QualityFlag).where(QualityFlag.rule == "selisih_instansi")) is None
    plan = _preview(db, text=FILE.replace(",30\n", ",5\n"))
    assert [f.rule for f in plan.flags] == ["selisih_instansi"]  # judged afresh, not quieted


def test_the_command_line_lists_uploads_and_takes_one_back(cli, db, stewards, our_figures):
    first, second = _two_uploads(db)
    listed = cli("agency", "uploads", "2024").stdout
    assert listed.index(f"{second}  ") < listed.index(f"{first}  ") and "1 baru, 1 diganti" in listed
    refused = cli("agency", "undo", str(first), "2024", "--reason", REASON, ok=False)
    assert "diubah sesudahnya" in refused.stderr and _stored(db) == AFTER_BOTH
    done = cli("agency", "undo", str(second), "2024", "--reason", REASON, "--user", "walidata.prov")
    assert f"Unggahan {second} dibatalkan: 1 angka kembali, 1 dihapus" in done.stdout and _stored(db) == AFTER_FIRST
    assert "(dibatalkan)" in cli("agency", "uploads", "2024").stdout.splitlines()[0]
    assert _actions(db, AuditAction.AGENCY_UPLOAD_UNDONE)[-1].actor == "walidata.prov"


def test_an_upload_whose_figures_were_withdrawn_and_sent_again_the_same_is_not_undone(db, stewards, our_figures):
    _receive(db, _preview(db))
    first = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq
    with db.transaction() as s:
        agency_figures.withdraw(s, actor(db, "walidata.prov"), "DP3AP2KB", 2024, "berkas tahun yang salah", _key(db))
    _receive(db, _preview(db))  # the same figures again, by a later upload
    with pytest.raises(Conflict, match="ditarik sesudahnya"):
        _undo(db, first)  # the values are as the first left them, but they are the later upload's now
    assert _stored(db) == AFTER_FIRST


def test_figures_sent_again_unchanged_are_recorded_as_confirmed_but_not_listed_as_an_upload(db, stewards, our_figures):
    """An agency's system pushes the same figures again, nothing else: the trail records the sending
    (as it does when the same sending also changed another figure), the year's list of uploads does
    not list it (it changed nothing), and the earlier upload is no longer undone."""
    _receive(db, _preview(db))
    first = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq
    with db.transaction() as s:
        values = [series.Value("65.01", "AKTK", "2024", 30, "DP3AP2KB")]
        aggregates.store(s, SYSTEM, values, AuditAction.AGENCY_FIGURES_IMPORTED)
    (pushed,) = _actions(db, AuditAction.AGENCY_FIGURES_CONFIRMED)  # not an upload: the year's list reads none
    assert [e.seq for e in _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)] == [first]
    assert pushed.after["sama"] == [["65.01", "AKTK", "2024", "DP3AP2KB"]]
    assert pushed.after["perubahan"] == [] and (pushed.after["baru"], pushed.after["diubah"]) == (0, 0)
    with db.read() as s:
        assert [u.seq for u in agency_uploads.uploads(s, actor(db, "walidata.prov"), 2024)] == [first]
    with pytest.raises(Conflict, match=f"^1 angka unggahan nomor {first} dikirim lagi tanpa perubahan"):
        _undo(db, first)
    assert _stored(db) == AFTER_FIRST
    ours = [series.Value("65.01", "AKTK", "2024", 30, "dinsos")]
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, ours, AuditAction.BASELINE_IMPORTED)
    before = len(_actions(db, AuditAction.BASELINE_IMPORTED))
    with db.transaction() as s:  # other figures sent again as they stand leave no row
        aggregates.store(s, SYSTEM, ours, AuditAction.BASELINE_IMPORTED)
    assert len(_actions(db, AuditAction.BASELINE_IMPORTED)) == before


def test_a_years_uploads_are_listed_however_many_of_other_years_came_after(db, stewards, our_figures, monkeypatch):
    _receive(db, _preview(db, text=FILE.replace("2024", "2023"), tahun=2023), tahun=2023)
    monkeypatch.setattr(agency_uploads, "READ", 2)  # 500 in production: an agency's API pushing daily fills it
    _receive(db, _preview(db))
    _receive(db, _preview(db, text=FILE.replace(",30\n", ",31\n")))
    with db.read() as s:
        assert len(agency_uploads.uploads(s, actor(db, "walidata.prov"), 2023)) == 1
        assert len(agency_uploads.uploads(s, actor(db, "walidata.prov"), 2024)) == 2


@pytest.mark.parametrize(
    "office",
    ["Dinas Sosial, Pemberdayaan Perempuan dan Perlindungan Anak", "Dinsos P3AP2KB", "Dinas Sosial Kab. Nunukan"],
)
def test_an_office_with_more_than_dinas_sosial_in_its_name_is_another_agency(office):
    assert not agency_names.is_ours(office)  # a merged office's figures never replace ours


@pytest.mark.parametrize("ours", ["Dinas Sosial Kaltara", "Dinsos Prov. Kaltara", "DINAS SOSIAL PROVINSI KALTARA"])
def test_our_own_office_however_written_is_not_received_as_another_agency(db, stewards, our_figures, ours):
    with pytest.raises(Invalid, match="bukan Dinas Sosial|instansi lain"):
        _preview(db, text=FILE.replace("DP3AP2KB", ours))


def _freezing(approval):
    return lambda s: determinations.freeze(s, SYSTEM, approval)


def test_an_undoing_or_a_post_while_the_year_is_frozen_waits_and_is_refused(db, stewards, our_figures):
    """The freeze holds the province's figures: an undoing, or an agency's figures sent by the API, that
    came between its own check and the freeze would change a year just determined. Each waits for the
    freeze, then is refused with nothing changed."""
    _, second = _two_uploads(db)
    approval = determinations.Approval("65", 2024, "188.44/12/2025", date(2025, 3, 1))
    refused = first_then_second(db, _freezing(approval), lambda: _undo(db, second))
    assert isinstance(refused, Conflict) and "sudah ditetapkan" in str(refused), refused
    assert _stored(db) == AFTER_BOTH
    with db.transaction() as s:
        request = tokens.TokenRequest("DP3AP2KB", "65", ("angka-instansi",), can_write=True)
        token = tokens.create_token(s, SYSTEM, request).token.id
    row = {"kategori": "AKTK", "kode_wilayah": "65.01", "periode": "2025", "nilai": 9}

    def post():
        with db.transaction() as s:
            return exchange.post_agency_figures(s, Actor.of_token(s.get(AgencyToken, token)), [row])

    again = determinations.Approval("65", 2025, "188.44/1/2026", date(2026, 3, 1))
    refused = first_then_second(db, _freezing(again), post)
    assert isinstance(refused, Conflict) and "sudah ditetapkan" in str(refused), refused
    assert ("65.01", "2025") not in _stored(db)


@pytest.mark.parametrize(
    ("value", "told"),
    [(30, "dikirim lagi tanpa perubahan sesudahnya [(]"), (35, "diubah sesudahnya oleh impor angka historis ")],
)
def test_an_upload_a_historic_table_sent_again_or_changed_is_not_undone(
    cli, db, stewards, our_figures, tmp_path, value, told
):
    """A historic table whose `sumber` names the agency, stored after its upload, stands on the
    upload's figure as a later upload does: undoing the upload would take that table's figure with it."""
    _receive(db, _preview(db))  # 65.01 = 30 and 65.02 = 21
    first = _actions(db, AuditAction.AGENCY_FIGURES_IMPORTED)[-1].seq
    path = tmp_path / "historis.csv"
    path.write_text(f"kode_wilayah,kategori,periode,nilai,sumber\n65.01,AKTK,2024,{value},DP3AP2KB\n", encoding="utf-8")
    cli("quality", "scan", str(path), "--store")
    with pytest.raises(Conflict, match=f"^1 angka unggahan nomor {first} {told}(nomor )?[0-9]"):
        _undo(db, first)
    table = _actions(db, AuditAction.BASELINE_IMPORTED if value != 30 else AuditAction.AGENCY_FIGURES_CONFIRMED)[-1]
    assert table.after["berkas"] == "historis.csv"  # the trail names the table either way
    assert _stored(db) == {("65.01", "2024"): value, ("65.02", "2024"): 21}
