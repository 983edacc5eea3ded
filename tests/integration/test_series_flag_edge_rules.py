"""The edges of the flags on a region's series of PPKS counts, and of what a reviewer's mark does:

- a series is read in period order, years apart from quarters, and only its last four figures
  predict the next; a jump needs two earlier figures, a gap names every missing period, and a
  category's own threshold is the one its figures are judged by (`series`);
- a figure shared by sibling regions is judged from the least value the rule takes; a share is
  judged only in periods where every region of the parent has a figure; flags come out by region,
  category, period and rule (`series.scan`);
- a threshold is accepted at both ends of its range and refused just beyond them, and one never
  heard of is refused by name (`thresholds`);
- a rescan replaces only the open flags of the series it checks, of its own rules; a flag someone
  explained comes back when its figure changes, and an explanation of an agency's figure is not one
  of ours; the rescan's context counts a region's children in use, the categories stable by nature
  and only the agency gaps someone explained (`aggregates`);
- a warning acknowledged twice keeps its first note and one entry on the trail; a finding no longer
  found is no longer flagged; a note is kept trimmed and bounded (`flags`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from engine.core import clock
from engine.core.errors import Invalid
from engine.quality import aggregates, counts, flags, review, thresholds
from engine.quality.findings import Finding
from engine.quality.series import (
    Context,
    Value,
    check_copied,
    check_gaps,
    check_level,
    check_share,
    dispersions,
    scan,
)
from engine.quality.thresholds import Thresholds
from models import AggregateValue, AuditEvent, FlagStatus, QualityFlag, Region, Severity, Submission, SubmissionItem
from tests.factories import DESA, SYSTEM, actor, open_with_items
from tests.regions import regions_restored  # noqa: F401  (the fixture)

QUIET = Context(Thresholds(), {"AT": counts.Dispersion(0.0)})


def series(*values, start=2020, kategori="AT", region="65.01"):
    return [Value(region, kategori, str(start + i), v) for i, v in enumerate(values) if v is not None]


def found(flags_):
    return [(f.rule, f.region_kode, f.periode) for f in flags_]


# --- one series ---


def test_a_jump_is_judged_from_two_earlier_figures_and_not_from_one():
    assert found(check_level(series(160, 171, 640), QUIET)) == [("lonjakan", "65.01", "2022")]
    assert check_level(series(160, 640), QUIET) == []


def test_only_the_last_four_figures_predict_the_next():
    """A regency whose count was 5,000 long ago and about 100 for the last four years: a fifth year of
    about 100 is ordinary, though every year still judged against the old figures was a fall."""
    flagged = found(check_level(series(5000, 5000, 5000, 100, 102, 98, 101, 99), QUIET))
    assert ("penurunan", "65.01", "2027") not in flagged
    assert ("penurunan", "65.01", "2023") in flagged


def test_a_categorys_own_significance_judges_its_jumps_and_no_other_categorys():
    rise = series(160, 171, 172, 200)
    assert check_level(rise, QUIET) == []
    loose = Thresholds({("lonjakan", "AT", "alpha"): 0.3})
    dispersion = {"AT": counts.Dispersion(0.0), "LUT": counts.Dispersion(0.0)}
    assert found(check_level(rise, Context(loose, dispersion))) == [("lonjakan", "65.01", "2023")]
    assert check_level(series(160, 171, 172, 200, kategori="LUT"), Context(loose, dispersion)) == []


def test_a_long_gap_names_every_missing_period_on_the_figure_after_it():
    (flag,) = check_gaps(series(10, None, None, None, None, 12))
    assert (flag.periode, flag.expected, flag.severity) == ("2025", 4, Severity.INFO)
    assert "tidak ada nilai untuk 2021, 2022, 2023, 2024;" in flag.message


def test_figures_given_out_of_order_are_judged_in_period_order():
    ordered = series(160, 171, 172, 158, 712)
    assert found(scan(list(reversed(ordered)), QUIET)) == found(scan(ordered, QUIET)) == [("lonjakan", "65.01", "2024")]


def test_a_regions_quarters_are_a_series_apart_from_its_years():
    years = series(400, 410, 395, 405)
    quarters = [Value("65.01", "AT", f"2023-Q{q}", n) for q, n in zip((1, 2, 3, 4), (100, 102, 99, 101), strict=True)]
    assert scan(years + quarters, QUIET) == []


def test_the_newest_figure_is_left_out_of_the_yardstick_only_of_a_series_longer_than_three():
    """A figure being judged must not widen the interval it is judged against; a series of three
    figures is measured whole (two would say too little)."""

    def yardstick(rows):
        return dispersions([v for i, r in enumerate(rows) for v in series(*r, region=f"65.0{i + 1}")])

    three = [(100, 112, 95), (200, 215, 190), (300, 280, 310), (150, 160, 140)]
    assert yardstick(three) != yardstick([*three[:3], (150, 160, 400)])
    four = [(*r, r[0]) for r in three]
    assert yardstick(four) == yardstick([*four[:3], (150, 160, 140, 400)])


# --- siblings ---


def test_a_figure_shared_by_two_regencies_is_judged_from_the_least_value_the_rule_takes():
    """`salin.min_value` 5: two regencies both at 5 where 40 and 91 were expected are judged; at 4 never."""
    at_five = series(40, 41, 40, 5) + series(90, 92, 91, 5, region="65.02")
    assert found(check_copied(at_five, QUIET)) == [("salin", "65.01", "2023"), ("salin", "65.02", "2023")]
    at_four = series(40, 41, 40, 4) + series(90, 92, 91, 4, region="65.02")
    assert check_copied(at_four, QUIET) == []


def test_a_share_is_not_judged_while_a_regency_of_the_province_has_no_figures():
    """Four of the five regencies of Kalimantan Utara: their shares of a partial total say nothing."""
    figures = {"65.01": (400, 410, 1600), "65.02": (200, 205, 200), "65.03": (300, 290, 300), "65.04": (90, 95, 92)}
    values = [v for code, f in figures.items() for v in series(*f, region=code)]
    assert found(check_share(values, QUIET)) == [("porsi", "65.01", "2022")]
    province = Context(Thresholds(), QUIET.dispersion, child_counts={"65": 5})
    assert check_share(values, province) == []


def test_flags_come_out_by_region_category_period_and_rule():
    values = series(400, 410, 395, 0, region="65.02") + series(160, 171, 172, 158, 712, region="65.01")
    values += series(300, 290, 305, 0, region="65.01", kategori="LUT")
    ctx = Context(Thresholds(), {"AT": counts.Dispersion(0.0), "LUT": counts.Dispersion(0.0)})
    listed = [(f.region_kode, f.kategori, f.periode, f.rule) for f in scan(values, ctx)]
    assert listed == sorted(listed) and listed[0][:2] == ("65.01", "AT") and listed[-1][0] == "65.02"


# --- thresholds ---


@pytest.mark.parametrize(
    "rule, name, value",
    [
        ("lonjakan", "alpha", 1e-9),
        ("lonjakan", "alpha", 0.5),
        ("lonjakan", "min_history", 1),
        ("porsi", "min_history", 4),
        ("total", "tolerance", 0),
    ],
)
def test_a_threshold_at_either_end_of_its_range_is_accepted(db, rule, name, value):
    with db.transaction() as s:
        thresholds.set_threshold(s, SYSTEM, rule, name, value)
    with db.read() as s:
        assert Thresholds.load(s).get(rule, name) == value


@pytest.mark.parametrize(
    "name, value", [("alpha", 0.51), ("alpha", 1e-10), ("min_history", 5), ("min_history", 0), ("tolerance", -1)]
)
def test_a_threshold_just_beyond_its_range_is_refused(name, value):
    rule = "lonjakan" if name != "tolerance" else "total"
    with pytest.raises(Invalid, match="antara"):
        thresholds.set_threshold(None, SYSTEM, rule, name, value)


def test_a_threshold_of_a_known_rule_but_an_unknown_name_is_refused_by_name():
    with pytest.raises(Invalid, match="tetap.min_history tidak dikenal"):
        thresholds.set_threshold(None, SYSTEM, "tetap", "min_history", 2)


# --- a rescan ---

LUT = "LUT"


def _save(db, values):
    """Figures stored and the series they belong to checked again, as an upload does."""
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
        aggregates.rescan(s, SYSTEM, values)


def _lut(region, *figures, sumber="dinsos"):
    return [Value(region, LUT, str(2022 + i), n, sumber) for i, n in enumerate(figures)]


def _flags(db, **where):
    with db.read() as s:
        rows = s.scalars(select(QualityFlag).filter_by(**where).order_by(QualityFlag.id)).all()
        return [(f.rule, f.region_kode, f.periode, f.sources.get("sumber"), f.status, f.observed) for f in rows]


def _settle(db, rule, sumber="dinsos", action=review.FlagAction.EXPLAIN):
    with db.read() as s:
        flag_id = next(
            f.id
            for f in s.scalars(select(QualityFlag).where(QualityFlag.rule == rule, QualityFlag.status == "terbuka"))
            if f.sources.get("sumber") == sumber
        )
    with db.transaction() as s:
        review.settle(s, actor(db, "valid.prov"), flag_id, action, "panti baru dibuka", "terbuka")


def test_a_rescan_leaves_the_open_flags_of_a_series_it_does_not_check_as_they_were(db):
    """A kecamatan of Malinau jumped; a later upload for a kecamatan of Bulungan checks Bulungan's
    kecamatan again, and Malinau's flag stays one flag, untouched."""
    _save(db, _lut("65.02.01", 40, 42, 41, 400))
    before = _flags(db, rule="lonjakan")
    assert [(rule, region) for rule, region, *_ in before] == [("lonjakan", "65.02.01")]
    _save(db, _lut("65.01.01", 30, 31, 29, 30))
    assert _flags(db, rule="lonjakan") == before


def test_a_rescan_leaves_another_checks_open_flag_on_the_same_figure(db):
    with db.transaction() as s:
        s.add(
            QualityFlag(
                rule="dukcapil",
                severity=Severity.WARNING,
                message="NIK tidak ditemukan di Dukcapil",
                region_kode="65.01",
                kategori=LUT,
                periode="2025",
                sources={"sumber": "dukcapil"},
                status=FlagStatus.TERBUKA,
            )
        )
    _save(db, _lut("65.01", 17, 18, 17, 68))
    assert [f[0] for f in _flags(db, region_kode="65.01")] == ["dukcapil", "lonjakan"]


def test_an_explained_flag_comes_back_open_when_its_figure_changes(db, people):
    _save(db, _lut("65.01", 17, 18, 17, 68))
    _settle(db, "lonjakan")
    _save(db, _lut("65.01", 17, 18, 17, 68))
    assert [(f[4], f[5]) for f in _flags(db, rule="lonjakan")] == [("dijelaskan", 68)]
    _save(db, [Value("65.01", LUT, "2025", 90)])  # the figure corrected: the explanation was of 68
    assert [(f[4], f[5]) for f in _flags(db, rule="lonjakan")] == [("dijelaskan", 68), ("terbuka", 90)]


def test_explaining_an_agencys_jump_does_not_settle_the_same_jump_in_our_figures(db, people):
    _save(db, _lut("65.01", 17, 18, 17, 68) + _lut("65.01", 17, 18, 17, 68, sumber="DP3AP2KB"))
    _settle(db, "lonjakan", sumber="DP3AP2KB")
    _save(db, _lut("65.01", 17, 18, 17, 68))
    assert sorted((f[3], f[4]) for f in _flags(db, rule="lonjakan")) == [
        ("DP3AP2KB", "dijelaskan"),
        ("dinsos", "terbuka"),
    ]


def test_a_figure_copied_into_a_sibling_is_seen_when_only_one_regencys_figures_are_uploaded(db):
    _save(db, _lut("65.02", 90, 95, 88, 420))
    _save(db, _lut("65.01", 410, 395, 402, 420))
    assert sorted((f[0], f[1]) for f in _flags(db, periode="2025") if f[0] == "salin") == [
        ("salin", "65.01"),
        ("salin", "65.02"),
    ]


def test_our_figures_sent_again_unchanged_leave_no_trail_and_an_agencys_are_confirmed(db):
    ours, theirs = _lut("65.01", 17, 18), _lut("65.01", 20, 21, sumber="DP3AP2KB")
    with db.transaction() as s:
        assert aggregates.store(s, SYSTEM, ours + theirs, "BASELINE_IMPORTED") == 4
    with db.transaction() as s:
        assert aggregates.store(s, SYSTEM, ours, "BASELINE_IMPORTED") == 0
        changed = [Value("65.01", LUT, "2023", 19), *theirs]
        assert aggregates.store(s, SYSTEM, changed, "FIGURES_SNAPSHOT_TAKEN") == 0
        aggregates.store(s, SYSTEM, theirs, "BASELINE_IMPORTED")
    with db.read() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.subject_type == "aggregate_value").order_by(AuditEvent.seq)
        )
        trail = [(e.action, e.after["baru"], e.after["diubah"], e.after.get("sama")) for e in events]
    assert trail == [
        ("BASELINE_IMPORTED", 4, 0, []),
        ("FIGURES_SNAPSHOT_TAKEN", 0, 1, None),
        ("AGENCY_FIGURES_CONFIRMED", 0, 0, [[r.region_kode, LUT, r.periode, "DP3AP2KB"] for r in theirs]),
    ]


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_our_figure_counted_again_unchanged_keeps_the_time_of_its_count_and_an_agencys_is_received_anew(db):
    first, later = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 3, 5, 9, tzinfo=UTC)
    values = _lut("65.01", 17) + _lut("65.01", 30, sumber="DP3AP2KB")
    for moment in (first, later):
        with clock.frozen_at(moment), db.transaction() as s:
            aggregates.store(s, SYSTEM, values, "BASELINE_IMPORTED")
    with db.read() as s:
        stamped = {r.sumber: _aware(r.imported_at) for r in s.scalars(select(AggregateValue))}
    assert stamped == {"dinsos": first, "DP3AP2KB": later}


def test_our_figures_of_a_period_as_counted_are_ours_alone_and_roll_up_to_the_province(db):
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, _lut("65.01", 17) + _lut("65.01", 30, sumber="DP3AP2KB"), "BASELINE_IMPORTED")
        assert aggregates.counted_before(s, "65", "2022") == {("65.01", LUT): 17}
    rolled = aggregates.roll_up([(DESA, LUT, 3), ("65.01.01.2006", LUT, 2)])
    assert rolled == {
        (DESA, LUT): 3,
        ("65.01.01.2006", LUT): 2,
        ("65.01.01", LUT): 5,
        ("65.01", LUT): 5,
        ("65", LUT): 5,
    }


def test_a_figure_the_register_gives_that_was_never_counted_is_a_change_and_a_stored_zero_is_none():
    now = Counter({("65.01", LUT): 2, ("65.02", LUT): 0})
    drift = aggregates.differences({("65.02", LUT): 0, ("65.03", LUT): 0}, now)
    assert drift == [aggregates.Drift("65.01", LUT, 0, 2)]


@pytest.mark.usefixtures("regions_restored")
def test_the_rescans_context_counts_children_in_use_stable_categories_and_explained_gaps_only(db):
    with db.transaction() as s:
        s.execute(update(Region).where(Region.kode == "65.01.01").values(berakhir=date(2026, 1, 1)))
        for status in (FlagStatus.TERBUKA, FlagStatus.DIJELASKAN):
            s.add(
                QualityFlag(
                    rule="selisih_instansi",
                    severity=Severity.INFO,
                    message="selisih",
                    region_kode="65.01" if status == FlagStatus.DIJELASKAN else "65.02",
                    kategori="ODHA",
                    periode="2025",
                    sources={"instansi": "Dinkes"},
                    status=status,
                )
            )
    with db.read() as s:
        ctx = aggregates.Context.load(s)
        children = s.scalar(select(func.count()).select_from(Region).where(Region.induk == "65.01"))
    assert ctx.child_counts["65.01"] == children - 1 and ctx.child_counts["65"] == 5
    assert ctx.stable == frozenset({"KAT"})
    assert ctx.explained == frozenset({("Dinkes", "65.01", "ODHA")})


# --- warnings on a submission's items ---


def _items(s, sid):
    return s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == sid).order_by(SubmissionItem.id))


def _find(db, sid, findings):
    with db.transaction() as s:
        items = list(_items(s, sid))
        flags.store_item_flags(s, s.get(Submission, sid), items, [findings] + [[] for _ in items[1:]])


WARN = Finding("nama", "nama mirip dengan orang lain", Severity.WARNING, "nama_mirip", detail={"mirip": "A"})


def _one_flag(db, sid):
    with db.read() as s:
        return s.scalar(select(QualityFlag).where(QualityFlag.submission_id == sid))


def _flagged(db, finding=WARN):
    """A submission whose first item carries one flag: the submission's id and the flag's."""
    sid = open_with_items(db)
    _find(db, sid, [finding])
    return sid, _one_flag(db, sid).id


def _acknowledge(db, sid, flag_id, note):
    with db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: note})


def test_a_warning_acknowledged_twice_keeps_its_first_note_and_one_entry_on_the_trail(db, people):
    sid, flag_id = _flagged(db)
    for note in ("  dicek dengan KTP  ", "catatan kedua"):
        _acknowledge(db, sid, flag_id, note)
    with db.read() as s:
        flag = s.get(QualityFlag, flag_id)
        assert (flag.status, flag.ack_note, flag.ack_by) == ("diakui", "dicek dengan KTP", "verif.kec")
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "FLAG_ACKNOWLEDGED")).all()
        assert [e.reason for e in events] == ["dicek dengan KTP"]


def test_a_note_one_character_over_the_limit_is_refused(db, people):
    sid, flag_id = _flagged(db)
    with pytest.raises(Invalid, match="tidak dapat disimpan"):
        _acknowledge(db, sid, flag_id, "x" * (flags.NOTE_LIMIT + 1))
    assert _one_flag(db, sid).status == "terbuka"


def test_a_note_at_the_limit_with_a_trailing_line_break_is_accepted_as_it_is_when_settling_a_figure(db, people):
    sid, flag_id = _flagged(db)
    _acknowledge(db, sid, flag_id, "x" * flags.NOTE_LIMIT + "\n")
    assert _one_flag(db, sid).ack_note == "x" * flags.NOTE_LIMIT


def test_an_error_is_not_acknowledged_with_a_note_even_when_a_form_asks(db, people):
    """The task page offers a note for warnings only; a crafted post naming an error is refused."""
    sid, flag_id = _flagged(db, Finding("nik", "NIK ganda", Severity.ERROR, "duplikat_nik", detail={"nik": "x"}))
    with pytest.raises(Invalid) as refused:
        _acknowledge(db, sid, flag_id, "diterima saja")
    assert [p.message for p in refused.value.problems] == [
        f"tanda {flag_id} bukan peringatan: hanya peringatan yang dapat diakui"
    ]
    assert _one_flag(db, sid).status == "terbuka"


def test_a_finding_no_longer_found_is_no_longer_flagged_and_one_found_with_other_details_is_new(db, people):
    sid, first = _flagged(db)
    _acknowledge(db, sid, first, "dicek")
    other = Finding(WARN.field, WARN.message, WARN.severity, WARN.rule, detail={"mirip": "B"})
    _find(db, sid, [other])
    now = _one_flag(db, sid)
    assert now.id != first and now.status == "terbuka" and now.sources == {"mirip": "B"}
    _find(db, sid, [])
    assert _one_flag(db, sid) is None


def test_the_warnings_waiting_are_the_oldest_first_and_as_many_as_asked(db):
    sid = open_with_items(db)
    with db.transaction() as s:
        item = next(iter(_items(s, sid)))
        ids = []
        for n in range(3):
            flag = QualityFlag(
                rule="nama_mirip",
                severity=Severity.WARNING,
                message=f"mirip {n}",
                region_kode=DESA,
                submission_id=sid,
                item_id=item.id,
                status=FlagStatus.TERBUKA,
            )
            s.add(flag)
            s.flush()
            ids.append(flag.id)
    with db.read() as s:
        assert [f.id for f in flags.unacknowledged_warnings(s, sid, limit=2)] == ids[:2]
        assert [f.id for f in flags.unacknowledged_warnings(s, sid)] == ids
