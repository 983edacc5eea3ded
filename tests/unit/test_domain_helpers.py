"""Region codes, periods, record checks and the controllable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.core import clock
from engine.core.errors import Invalid
from engine.core.periods import months_left_out, overlaps, period_key, reference_date, validate_period
from engine.quality import record_rules as checks
from engine.setup.demo import nik_for
from models import Tier, ancestor_code, contains, tier_of_code


@pytest.mark.parametrize(
    "code, tier",
    [
        ("65", Tier.PROVINSI),
        ("65.01", Tier.KABUPATEN),
        ("65.71", Tier.KABUPATEN),
        ("65.01.01", Tier.KECAMATAN),
        ("65.01.01.2005", Tier.DESA),
    ],
)
def test_the_tier_follows_from_the_code(code, tier):
    assert tier_of_code(code) == tier


def test_ancestors_and_containment():
    assert ancestor_code("65.01.01.2005", Tier.KECAMATAN) == "65.01.01"
    assert ancestor_code("65.01.01.2005", Tier.KABUPATEN) == "65.01"
    assert ancestor_code("65.01.01.2005", Tier.PROVINSI) == "65"
    assert contains("65.01", "65.01.01.2005") and not contains("65.01", "65.010.1")
    with pytest.raises(ValueError):
        ancestor_code("65.01", Tier.DESA)


@pytest.mark.parametrize(
    "period, last_day",
    [
        ("2026-Q1", date(2026, 3, 31)),
        ("2026-Q4", date(2026, 12, 31)),
        ("2026-S1", date(2026, 6, 30)),
        ("2024-Q1", date(2024, 3, 31)),
    ],
)
def test_reference_date_is_the_last_day_of_the_period(period, last_day):
    assert reference_date(validate_period(period)) == last_day


@pytest.mark.parametrize(
    "period",
    # digits of other scripts and a trailing newline would each open a period of its own
    ["2026-Q5", "2026-S3", "2026", "26-Q1", "2026-q1", "", "٢٠٢٦-Q1", "２０２６-Q1", "2026-Q1\n", "2026-Q1 "],
)
def test_bad_periods_are_refused(period):
    with pytest.raises(Invalid):
        validate_period(period)


@pytest.mark.parametrize("period", ["٢٠٢٦", "２０２６-S1", "2026\n", "2026-Q1\n"])
def test_a_period_in_other_digits_or_with_a_newline_has_no_place_in_the_order(period):
    with pytest.raises(ValueError):
        period_key(period)


@pytest.mark.parametrize(
    "a, b, shared",
    [
        ("2026-S1", "2026-Q2", True),
        ("2026-Q2", "2026-S1", True),
        ("2026-Q4", "2026-S2", True),
        ("2026-Q1", "2026-S2", False),
        ("2026-S2", "2026-Q1", False),
        ("2026-Q4", "2027-Q1", False),
        ("2026-S2", "2027-S1", False),
    ],
)
def test_two_periods_overlap_only_when_they_share_a_month_whichever_is_named_first(a, b, shared):
    """A desa is asked once for a month: a semester and a quarter inside it overlap, periods apart do not."""
    assert overlaps(a, b) is shared


def test_the_months_no_opened_period_covers_are_those_from_this_month_to_the_periods_last_written_yyyy_mm():
    """Switching from quarters to semesters after 2026-Q1 was opened leaves 2026-04..06 of 2026-S1 to no
    cycle; months already gone are no switch's doing, and nothing is left out where no period overlaps."""
    assert months_left_out("2026-S1", ["2026-Q1"], date(2026, 2, 10)) == ["2026-04", "2026-05", "2026-06"]
    assert months_left_out("2026-S1", ["2026-Q1"], date(2026, 5, 2)) == ["2026-05", "2026-06"]
    assert months_left_out("2026-S2", ["2026-Q1"], date(2026, 8, 1)) == []
    assert months_left_out("2026-S1", ["2026-Q1", "2026-Q2"], date(2026, 2, 10)) == []


def test_women_have_forty_added_to_the_day_of_their_nik():
    assert nik_for("65.01.01.2005", date(1950, 5, 17), "P", 1) == "6501015705500001"
    assert nik_for("65.01.01.2005", date(1950, 5, 17), "L", 12) == "6501011705500012"


LUT = checks.Kind("LUT", "Lanjut Usia Terlantar", "individu", 60, None, None, False, ())


def _fields(values):
    kind = LUT if values.get("kategori") == "LUT" else None
    return {f.field for f in checks.check_shape(values, kind, date(2026, 11, 1))}


def test_record_checks_name_each_bad_field():
    good = {
        "nik": "6501015705500001",
        "no_kk": "6501011705500001",
        "nama": "Maria",
        "jenis_kelamin": "P",
        "tanggal_lahir": "1950-05-17",
        "kategori": "LUT",
    }
    assert _fields(good) == set()
    assert _fields({**good, "nik": "650101"}) == {"nik"}
    assert _fields({**good, "no_kk": "12"}) == {"no_kk"}
    assert _fields({**good, "jenis_kelamin": "W", "kategori": "XX"}) == {"jenis_kelamin", "kategori"}
    assert _fields({**good, "tanggal_lahir": "17-05-1950"}) == {"tanggal_lahir"}
    assert _fields({**good, "tanggal_lahir": "2030-01-01"}) == {"tanggal_lahir"}
    assert _fields({**good, "nama": " "}) == {"nama"}


def test_the_clock_can_be_frozen_and_reaches_spiffworkflow_timers():
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    from engine.bpmn.timers import follow_engine_clock

    follow_engine_clock()  # what the composition root does
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert timer.datetime.now(UTC) == moment
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(ValueError):
        with clock.frozen_at(datetime(2030, 1, 1)):
            pass


def test_times_are_labelled_with_the_zone_the_product_is_set_to(tmp_path):
    from engine.core.config import load_settings

    named = {
        zone: load_settings(
            {"SIJOSKU_TIMEZONE": zone, "SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "k"}
        ).zone_name
        for zone in ("Asia/Makassar", "Asia/Jakarta", "Asia/Jayapura", "Europe/Amsterdam")
    }
    assert named == {
        "Asia/Makassar": "WITA",
        "Asia/Jakarta": "WIB",
        "Asia/Jayapura": "WIT",
        "Europe/Amsterdam": "Europe/Amsterdam",
    }
