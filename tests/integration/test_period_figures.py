"""Our figures of each closed cycle's period, taken by the scheduler's daily job without anyone running
`sijosku quality snapshot`, and taken again when a late approval changes what the register gives."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from engine.core import clock, jobs
from engine.core.audit import AuditAction
from engine.core.jobs import Outcome
from engine.people import users
from engine.quality import aggregates, series
from engine.verification import cycles, imports, period_figures
from models import AggregateValue, AuditEvent, Cycle, CycleStatus, Determination, JobRun, Region, Submission
from tests.factories import DESA, KABUPATEN, KECAMATAN, SYSTEM, csv_of, decide, make_team, person_row, submit
from web import engine_messages

PERIOD = "2026-Q3"


def _day(n: int) -> datetime:
    return datetime.fromisoformat(f"2026-10-{n:02d}T01:00+08:00")


def _figures(db, periode: str = PERIOD) -> dict[str, int]:
    """The stored LUT figure of the desa, its kecamatan, its kabupaten and the province."""
    with db.read() as s:
        rows = s.execute(
            select(AggregateValue.region_kode, AggregateValue.nilai).where(
                AggregateValue.periode == periode, AggregateValue.kategori == "LUT", AggregateValue.sumber == "dinsos"
            )
        )
        return {code: n for code, n in rows if code in (DESA, KECAMATAN, KABUPATEN, "65")}


def _taken(db) -> int:
    with db.read() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.FIGURES_SNAPSHOT_TAKEN, AuditEvent.actor == "sistem:penjadwal")
        )


def _run(db, day: int) -> str:
    assert jobs.run_job(db, "angka_periode", _day(day)) == Outcome.SELESAI
    with db.read() as s:
        return s.scalar(select(JobRun.message).where(JobRun.job_id == "angka_periode").order_by(JobRun.id.desc()))


def _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db, verified: str | None = None) -> int:
    """Gunung Putih sends three people; the kecamatan approves; the cycle closes before the rest.
    `verified`: a neighbouring desa whose two people went all the way up before the close."""
    make_team(db)
    cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)
    if verified:
        with db.transaction() as s:
            users.add_user(s, SYSTEM, "op.lain", "operator", verified)
        neighbour = _sent(db, verified, "op.lain", [person_row(41), person_row(42)])
        for user in ("verif.kec", "verif.kab", "valid.prov"):
            decide(db, user, neighbour, "approve")
    sid = _sent(db, DESA, "op.desa", [person_row(1), person_row(2), person_row(3)])
    decide(db, "verif.kec", sid, "approve")
    cycles.close_cycle(db, SYSTEM, PERIOD, early=True)
    return sid


def _sent(db, desa: str, operator: str, rows: list[dict]) -> int:
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == desa, Submission.periode == PERIOD))
    with db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of(rows))
    submit(db, operator, sid)
    return sid


def test_a_closed_cycles_figures_are_taken_by_the_daily_job_and_again_after_a_late_approval(db):
    assert _run(db, 1) == "belum ada siklus yang ditutup"
    sid = _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db)

    assert _run(db, 2) == f"1 periode dihitung ulang ({PERIOD}); 0 angka berubah"  # nothing verified yet
    assert _figures(db) == {} and _taken(db) == 0

    for user in ("verif.kab", "valid.prov"):  # approved after the cycle closed
        decide(db, user, sid, "approve")
    message = _run(db, 3)
    assert message == f"1 periode dihitung ulang ({PERIOD}); 4 angka berubah", message  # LUT at four levels
    assert _figures(db) == {DESA: 3, KECAMATAN: 3, KABUPATEN: 3, "65": 3}
    assert _taken(db) == 1
    with db.read() as s:  # the trail says which period was counted, by whom
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.FIGURES_SNAPSHOT_TAKEN))
    assert event.after["periode"] == PERIOD and event.after["baru"] == len(event.after["perubahan"])

    assert _run(db, 4).endswith("; 0 angka berubah")  # nothing changed: nothing stored, nothing on the trail
    assert _taken(db) == 1


def test_figures_taken_at_the_close_are_taken_again_when_a_late_approval_changes_the_period(db):
    neighbour = "65.01.01.2006"
    sid = _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db, verified=neighbour)
    assert _run(db, 2).endswith("; 4 angka berubah")  # LUT in the neighbour, its kecamatan, kabupaten, province
    assert _figures(db) == {KECAMATAN: 2, KABUPATEN: 2, "65": 2}  # the neighbour's two
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    assert _run(db, 3).endswith("; 4 angka berubah")  # Gunung Putih new; the three above it changed
    assert _figures(db) == {DESA: 3, KECAMATAN: 5, KABUPATEN: 5, "65": 5}
    assert _taken(db) == 2


def test_an_open_cycle_and_a_determined_year_are_left_alone(db):
    sid = _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db)
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    cycles.open_cycle(db, SYSTEM, "2026-Q4", region=DESA)  # open: its desa are still at work
    with db.transaction() as s:  # 2026 determined: its periods stay as they were frozen
        s.add(
            Determination(
                tahun=2026,
                region_kode="65",
                nomor_sk="SK 1/2027",
                tanggal_sk=date(2027, 1, 15),
                approved_by="kepala.dinas",
                content_hash="0" * 64,
                content={"angka": []},
            )
        )
    assert _run(db, 2) == "setiap periode yang ditutup termasuk tahun yang sudah ditetapkan"
    assert _figures(db) == {} and _figures(db, "2026-Q4") == {}
    with db.transaction() as s:  # a revision's reconciliation of 2026 takes them again, with the year's
        period_figures.take_year(s, SYSTEM, "65", 2026)
    assert _figures(db) == {DESA: 3, KECAMATAN: 3, KABUPATEN: 3, "65": 3}
    assert _figures(db, "2026") == {DESA: 3, KECAMATAN: 3, KABUPATEN: 3, "65": 3}
    assert _figures(db, "2026-Q4") == {}  # still open


def test_a_figure_the_register_no_longer_gives_is_zero_once_and_then_unchanged(db):
    """A desa merged since the period was counted (its code ended) keeps no figure of that period its
    records no longer give: it becomes 0, once, and the next days find nothing changed."""
    sid = _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db)
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    _run(db, 3)
    ended = "65.01.01.2006"
    with db.transaction() as s:
        s.execute(update(Region).where(Region.kode == ended).values(berakhir=date(2026, 9, 1)))
        s.add(AggregateValue(region_kode=ended, kategori="LUT", periode=PERIOD, nilai=2, sumber="dinsos"))
    try:
        assert _run(db, 4).endswith("; 1 angka berubah")
        assert [_run(db, day).endswith("; 0 angka berubah") for day in (5, 6)] == [True, True]
        with db.read() as s:
            assert s.scalar(select(AggregateValue.nilai).where(AggregateValue.region_kode == ended)) == 0
    finally:  # the regions are the seeded reference every later test reads
        with db.transaction() as s:
            s.execute(update(Region).where(Region.kode == ended).values(berakhir=None))


def test_an_open_cycle_is_not_counted(db):
    _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db)
    with db.transaction() as s:
        s.execute(update(Cycle).values(status=CycleStatus.DIBUKA, closed_at=None))  # as if still open
    assert _run(db, 2) == "belum ada siklus yang ditutup"


def test_a_period_that_cannot_be_counted_holds_no_other_back_and_is_named(db, monkeypatch):
    sid = _cycle_closed_with_one_desa_waiting_at_the_kabupaten(db)
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    with db.transaction() as s:  # an older closed cycle, whose count fails
        s.add(Cycle(periode="2026-Q2", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    real = aggregates.count_records

    def failing(session, province, periode):  # type: ignore[no-untyped-def]
        if periode == "2026-Q2":
            raise RuntimeError("disk penuh")
        return real(session, province, periode)

    monkeypatch.setattr(aggregates, "count_records", failing)
    assert jobs.run_job(db, "angka_periode", _day(2)) == Outcome.GAGAL
    with db.read() as s:
        message = s.scalar(select(JobRun.message).where(JobRun.job_id == "angka_periode"))
    assert "1 periode dihitung ulang (2026-Q3); 4 angka berubah" in message and "gagal dihitung: 2026-Q2" in message
    assert _figures(db) == {DESA: 3, KECAMATAN: 3, KABUPATEN: 3, "65": 3}


def test_the_jobs_message_reads_whole_in_english():
    """One sentence for every period, so the admin's English page translates all of it."""
    indonesian = "2 periode dihitung ulang (2026-Q4, 2027-Q1); 72 angka berubah"
    assert (
        engine_messages.english().translate(indonesian)
        == "2 periods counted again (2026-Q4, 2027-Q1); 72 figures changed"
    )


def test_a_figure_counted_again_unchanged_keeps_the_time_it_last_changed(db):
    """The API's `diperbarui` tells an agency which figures changed: one counted again as it was keeps
    its time, while a figure of the same period that changed gets the new one."""
    values = [series.Value("65", "LUT", PERIOD, 3, "dinsos"), series.Value("65", "ODHA", PERIOD, 1, "dinsos")]
    first, later = _day(2), _day(3)
    with clock.frozen_at(first), db.transaction() as s:
        aggregates.store(s, SYSTEM, values, AuditAction.FIGURES_SNAPSHOT_TAKEN)
    with clock.frozen_at(later), db.transaction() as s:
        aggregates.store(
            s, SYSTEM, [values[0], series.Value("65", "ODHA", PERIOD, 2, "dinsos")], AuditAction.FIGURES_SNAPSHOT_TAKEN
        )
    with db.read() as s:
        stamps = dict(s.execute(select(AggregateValue.kategori, AggregateValue.imported_at)).all())
    assert {k: v.replace(tzinfo=UTC) for k, v in stamps.items()} == {"LUT": first, "ODHA": later}
