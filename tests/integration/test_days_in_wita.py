"""Days, periods and years where the people are (WITA), by the engine's clock, whatever the server's zone."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.core import clock
from engine.core.errors import Invalid
from engine.quality import row_rules
from engine.quality.nik import compose
from engine.verification import imports, reconciliation, submissions
from tests.factories import SYSTEM, csv_of, person_row

WITA = "+08:00"
DESA = "65.01.01.2005"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + WITA)


def baby(born: date) -> dict:
    return person_row(
        1,
        nik=compose("65.01.01", born, "L", 1),
        tanggal_lahir=born.isoformat(),
        jenis_kelamin="L",
        kategori="ABT",
        no_kk="6501011705500001",
    )


def test_record_rules_today_is_the_engine_clock_in_wita(db):
    """A 'today' of the record rules must be WITA's day by the engine's clock, not the server's."""
    with clock.frozen_at(at("2030-01-01T07:00")), db.read() as s:
        ctx = row_rules.Context.load(s, "2030-Q1")
    assert ctx.today == date(2030, 1, 1)


def test_a_baby_born_today_in_wita_is_accepted_at_seven_in_the_morning(db):
    """07:00 WITA on 1 January 2030 (23:00 UTC the day before): an abandoned newborn found this
    morning and registered with today's birth date is not 'born in the future'."""
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, "2030-Q1", "65").submission.id
    with clock.frozen_at(at("2030-01-01T07:00")), db.transaction() as s:
        imports.import_items(s, SYSTEM, sid, csv_of([baby(date(2030, 1, 1))]))


def test_a_decree_dated_tomorrow_in_wita_is_refused():
    """At 10:00 WITA on 15 January 2027 a decree dated 16 January has not been signed yet."""
    cmd = reconciliation.HeadDecision(task_id=1, keputusan="setuju", nomor_sk="188.44/1/2027", tanggal_sk="16/01/2027")
    with clock.frozen_at(at("2027-01-15T10:00")), pytest.raises(Invalid, match="Surat keputusan"):
        reconciliation._decree(cmd)


def test_a_decree_dated_today_in_wita_is_accepted_just_after_midnight():
    cmd = reconciliation.HeadDecision(task_id=1, keputusan="setuju", nomor_sk="188.44/1/2027", tanggal_sk="16/01/2027")
    with clock.frozen_at(at("2027-01-16T00:30")):
        assert reconciliation._decree(cmd)[1] == date(2027, 1, 16)


def test_the_not_reported_reason_names_the_desas_last_day(db):
    """The desa deadline of 2027-Q2 is 00:00 WITA on 1 May: the last day to submit is 30 April, as
    the page says "hari ini" on 30 April, and so does the reason kept on each silent desa."""
    from sqlalchemy import select

    from engine.verification import cycles
    from models import AuditEvent

    cycles.open_cycle(db, SYSTEM, "2027-Q2", region="65.01.01.2005")
    with clock.frozen_at(at("2027-04-20T10:00")):
        cycles.close_cycle(db, SYSTEM, "2027-Q2", early=True)
    with db.read() as s:
        reasons = {r for r in s.scalars(select(AuditEvent.reason)) if r and "batas" in r}
    assert reasons and all("30-04-2027" in r for r in reasons), reasons
