"""Upkeep at its edges: retention's bounds, its cutoff to the microsecond, its batches and the trail
each batch leaves; the monitoring gauges each count what they name.

Each test here fails against a small wrong change to the product that the rest of the suite let pass."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.quality import completeness
from engine.verification import consistency, coverage, gauges, retention
from models import (
    EMAIL_MAX_ATTEMPTS as MAX_ATTEMPTS,
)
from models import (
    EMAIL_NOT_SENT as NOT_SENT,
)
from models import (
    AuditEvent,
    Cycle,
    CycleStatus,
    EmailMessage,
    HumanTask,
    InstanceStatus,
    OutboxEvent,
    ProcessInstance,
    RecordStatus,
    RecordVersion,
    Region,
    RegionChange,
    RegionChangeKind,
    Source,
    Submission,
    TaskStatus,
    Tier,
)
from tests.factories import (
    SYSTEM,
    make_team,
    open_period,
    open_with_items,
    person_row,
    register_record,
    submit,
)
from tests.regions import regions_restored  # noqa: F401

KEY = "verifikasi_berjenjang"
DAYS = 30


def _finished_at(db, when: datetime, periods: tuple[str, ...] = ("2026-Q1",)) -> list[int]:
    """Gunung Putih's instances of these periods, finished (as retention reads them) at `when`."""
    ids = []
    for n, periode in enumerate(periods):
        sid = open_period(db, periode, [person_row(n + 1)])
        with db.read() as s:
            ids.append(s.get(Submission, sid).instance_id)
    with db.transaction() as s:
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id.in_(ids))
            .values(status=InstanceStatus.SELESAI, updated_at=when)
        )
    return ids


def _kept(db, instance_id: int) -> bool:
    with db.read() as s:
        return s.get(ProcessInstance, instance_id).state != retention.PRUNED


# --- retention ---------------------------------------------------------------------------------------


def test_a_process_key_of_a_hundred_characters_is_a_rule_and_one_longer_is_refused():
    retention.check_rule("k" * 100, DAYS)
    with pytest.raises(Invalid, match="paling banyak 100"):
        retention.check_rule("k" * 101, DAYS)


def test_the_longest_period_allowed_is_a_rule_and_one_day_more_is_refused():
    retention.check_rule(KEY, retention.MAX_DAYS)
    with pytest.raises(Invalid, match=str(retention.MAX_DAYS + 1)):
        retention.check_rule(KEY, retention.MAX_DAYS + 1)


def test_an_instance_finished_exactly_at_the_cutoff_is_kept_and_a_moment_older_is_due(db):
    finished = clock.now().replace(microsecond=0) - timedelta(days=400)
    (instance,) = _finished_at(db, finished)
    at_cutoff = finished + timedelta(days=DAYS)
    with db.transaction() as s:
        assert retention.count_due(s, SYSTEM, KEY, DAYS, at_cutoff) == 0
        assert retention.prune_batch(s, SYSTEM, KEY, DAYS, at_cutoff) == 0
    assert _kept(db, instance)
    with db.transaction() as s:
        assert retention.count_due(s, SYSTEM, KEY, DAYS, at_cutoff + timedelta(seconds=1)) == 1
        assert retention.prune_batch(s, SYSTEM, KEY, DAYS, at_cutoff + timedelta(seconds=1)) == 1
    assert not _kept(db, instance)


def test_a_batch_clears_at_most_its_size_and_the_next_goes_on_from_there(db, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    first, second, third = _finished_at(db, clock.now() - timedelta(days=400), ("2026-Q1", "2026-Q2", "2026-Q3"))
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, DAYS, clock.now()) == 2
    assert (_kept(db, first), _kept(db, second), _kept(db, third)) == (False, False, True)
    with db.transaction() as s:
        assert retention.prune_batch(s, SYSTEM, KEY, DAYS, clock.now()) == 1
        assert retention.prune_batch(s, SYSTEM, KEY, DAYS, clock.now()) == 0
    with db.read() as s:
        trail = s.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.INSTANCE_STATE_PRUNED).order_by(AuditEvent.seq)
        ).all()
    # one row per batch, naming the first and last instance it cleared and the period that applied
    assert [(e.after["instans"], e.after["id_pertama"], e.after["id_terakhir"]) for e in trail] == [
        (2, first, second),
        (1, third, third),
    ]
    assert {e.reason for e in trail} == {f"masa simpan {DAYS} hari"}


# --- the invariant checker ------------------------------------------------------------------------------


def test_the_checker_names_a_record_whose_versions_start_below_one(db):
    """Versions 0 and 2 of a record at version 2: as many rows as versions and the right last one, yet
    version 1 is missing."""
    with db.transaction() as s:
        record = register_record(1, versi=2)
        s.add(record)
        s.flush()
        for versi in (0, 2):
            s.add(
                RecordVersion(
                    record_id=record.id,
                    versi=versi,
                    nilai={},
                    perubahan={},
                    status=RecordStatus.AKTIF,
                    actor="test",
                    source=Source.IMPORT,
                )
            )
        record_id = record.id
    with db.read() as s:
        assert consistency.check(s).problems == [f"catatan {record_id}: versi 0..2 (2 baris) untuk versi 2"]


def test_the_checker_lets_a_provinces_year_be_reconciled_again_in_revisions(db):
    """One instance per desa and period; the province's year, reconciled again, has one per revision."""
    open_with_items(db)
    with db.transaction() as s:
        first = s.scalar(select(ProcessInstance))
        columns = {c.key: getattr(first, c.key) for c in ProcessInstance.__table__.columns if c.key != "id"}
        for revision in (1, 2):
            s.add(
                ProcessInstance(
                    **{
                        **columns,
                        "business_key": f"rekonsiliasi-2026-{revision}",
                        "region_kode": "65",
                        "periode": "2026",
                        "status": InstanceStatus.SELESAI,
                    }
                )
            )
    with db.read() as s:
        assert consistency.check(s).problems == []


# --- a year's reporting --------------------------------------------------------------------------------


def _reported(kode: str, submitted: int) -> completeness.Status:
    # every tier below the province passed them all; the province approved all but one
    verified = {"kecamatan": submitted, "kabupaten": submitted, "provinsi": max(submitted - 1, 0)}
    return completeness.Status(kode, kode, expected=submitted, submitted=submitted, verified=verified)


@pytest.mark.usefixtures("regions_restored")
def test_a_years_reporting_follows_ended_codes_only_and_counts_them_with_their_successor(db, monkeypatch):
    """65.09 ended and carried on by Bulungan (65.03); Kabupaten Baru (65.05) was formed out of Tana Tidung
    (65.04), which goes on. 65.09's desa count with Bulungan's, once each; the new regency's are its own,
    not its origin's; the ended code has no line of its own."""
    decree = {"dasar": "Kepmendagri 1/2026", "berlaku": date(2026, 6, 1)}
    with db.transaction() as s:
        s.add_all(
            [
                Region(kode="65.09", nama="Lama", tingkat=Tier.KABUPATEN, induk="65", berakhir=date(2026, 6, 1)),
                Region(kode="65.05", nama="Kabupaten Baru", tingkat=Tier.KABUPATEN, induk="65"),
            ]
        )
        s.flush()
        s.add_all(
            [
                RegionChange(kode="65.09", perubahan=RegionChangeKind.BERAKHIR, terkait="65.03", **decree),
                RegionChange(kode="65.05", perubahan=RegionChangeKind.BARU, terkait="65.04", **decree),
            ]
        )
        s.add(Cycle(periode="2026-Q1", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    tallied = [_reported("65.03", 2), _reported("65.09", 1), _reported("65.05", 3), _reported("65.04", 0)]
    monkeypatch.setattr(completeness, "tally", lambda *_, **__: tallied)
    with db.read() as s:
        lines = {c.kode: c for c in coverage.of_year(s, "65", 2026)}
    assert sorted(lines) == ["65.01", "65.02", "65.03", "65.04", "65.05", "65.71"]
    assert (lines["65.03"].melapor, lines["65.03"].diharapkan) == (3, 3)
    assert (lines["65.05"].melapor, lines["65.04"].melapor) == (3, 0)
    assert (lines["65.03"].disahkan, lines["65.05"].disahkan) == (1, 2)  # approved by the province


def test_a_determination_frozen_before_reporting_was_kept_reads_as_none():
    assert coverage.read({"angka": []}) == []


# --- the monitoring gauges -------------------------------------------------------------------------------


def _mail(attempts: int = 0, error: str | None = None, sent: bool = False) -> EmailMessage:
    return EmailMessage(
        to_address="a@contoh.id",
        subject="s",
        text="t",
        html="h",
        attempts=attempts,
        last_error=error,
        sent_at=clock.now() if sent else None,
    )


def test_the_gauges_count_open_and_overdue_tasks_per_tier_and_the_mail_in_each_state(db):
    team = make_team(db)
    submit(db, team.operator, open_with_items(db))
    submit(db, team.operator, open_period(db, "2026-Q3", [person_row(2)]))
    with db.read() as s:
        backlog = gauges.read(s).outbox_backlog
    with db.transaction() as s:
        first = s.scalar(
            select(HumanTask).where(HumanTask.status == TaskStatus.TERBUKA).order_by(HumanTask.id).limit(1)
        )
        first.overdue = True
        delivered = [OutboxEvent(event_type="uji", payload={}, delivered_at=clock.now()) for _ in range(2)]
        s.add_all([OutboxEvent(event_type="uji", payload={}), *delivered])
        s.add_all(
            [
                _mail(),  # waiting for its first try
                _mail(attempts=2, error="421 sibuk"),  # being retried
                _mail(attempts=MAX_ATTEMPTS, error="421 sibuk"),  # retried for a day: given up
                _mail(attempts=MAX_ATTEMPTS, error=f"{NOT_SENT}tidak ada alamat"),  # never a try of the server's
                _mail(attempts=1, sent=True),  # sent
                _mail(attempts=MAX_ATTEMPTS, error="421 sibuk", sent=True),  # sent on its last try
            ]
        )
    with db.read() as s:
        figures = gauges.read(s)
    assert figures.open_tasks == {"kecamatan": 2} and figures.overdue_tasks == {"kecamatan": 1}
    assert figures.outbox_backlog == backlog + 1  # the two delivered are no backlog
    assert (figures.email_queued, figures.email_failing, figures.email_given_up) == (2, 1, 1)
