"""Rules of the data-quality checks whose false alarms and misses decide whether users trust them.

Figures (`engine/quality/series.py`, `thresholds.py`):
- a jump is judged with the category's wide dispersion, and a category never measured with the
  prior one, so ordinary noise of a large count is no alarm; the range a flag calls expected is the
  one the category's significance sets; a gap of twenty quarters names all twenty, on the figure
  after it;
- a quarterly repeat is judged by how quarters move, not years;
- a coincidence of sibling regions is judged from each one's last four figures, a region without
  history under the narrow reading, and one that cannot be chance has odds of "nearly zero";
- a region's share is judged from its last four periods, with the uncertainty of a mean of few
  periods, and a region of about one person still counts among the siblings setting the scale;
- an agency's level gap beyond 25 % is information, its ratio's change a warning beyond one chance
  in a hundred; no least figure and a fractional level gap are thresholds an administrator may set.

The NIK (`nik.py`): a baby registered on its birthday is born this century; a malformed number is
told how many digits it has, and a numeral of another script is told to be retyped.

Flags on items (`flags.py`, `flag_reading.py`): checking again never drops Dukcapil's or DTSEN's
flags; an item's flag names its desa, category and period, so a sensitive one stays hidden from a
steward.

The same entry twice (`duplicates.py`): a malformed NIK or KK is no duplicate; a community named
twice is, two without a name are not; a family re-verified on its own desa's register is not its own
duplicate; a category change set aside does not take the record off the register.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.quality import counts, flag_reading, flags, record_rules, thresholds
from engine.quality.agencies import AgencyContext, compare
from engine.quality.findings import Finding
from engine.quality.nik import compose, parse, shape_problem
from engine.quality.series import Context, Value, check_copied, check_gaps, check_level, check_repeats, check_share
from engine.quality.thresholds import Thresholds
from engine.verification import submissions
from models import QualityFlag, Severity, Submission, SubmissionItem
from tests.factories import DESA, PERIOD, SYSTEM, actor, items_of, open_with_items, person_row, register_record
from tests.integration.test_region_update_and_duplicate_rules import _checked, _on_register

QUIET = Context(Thresholds(), {"AT": counts.Dispersion(0.0)})


def series(*values, start=2020, kategori="AT", region="65.01"):
    return [Value(region, kategori, str(start + i), v) for i, v in enumerate(values)]


def found(flags):
    return [(f.rule, f.region_kode, f.periode) for f in flags]


# --- a figure against its own history ---


def test_a_large_counts_ordinary_noise_is_judged_with_the_wide_dispersion_and_not_flagged():
    """1,000 three years running, then 1,650, in a category whose series spread φ = 0.02: within what
    noise allows once φ is read wide (× 1.75); the narrow reading is for coincidences only."""
    ctx = Context(Thresholds(), {"AT": counts.Dispersion(0.02)})
    assert check_level(series(1000, 1000, 1000, 1650), ctx) == []
    assert found(check_level(series(1000, 1000, 1000, 1800), ctx)) == [("lonjakan", "65.01", "2023")]


def test_a_category_never_measured_is_judged_with_the_prior_dispersion_not_as_a_quiet_one():
    """An agency's ODHA with no figures of ours to measure: 1,280 after 1,000 is ordinary under the
    prior φ = 0.02, though it would be a jump in a category measured perfectly quiet."""
    rise = series(1000, 1000, 1000, 1280, kategori="ODHA")
    assert check_level(rise, Context(Thresholds(), {})) == []
    assert found(check_level(rise, Context(Thresholds(), {"ODHA": counts.Dispersion(0.0)}))) == [
        ("lonjakan", "65.01", "2023")
    ]


def test_the_range_a_jump_flag_calls_expected_is_set_by_the_categorys_significance():
    """At the default α = 0.002 the range is wide (111-236 around 168); where a category is judged at
    α = 0.3 the range narrows with it, and both say so in the message."""
    (strict,) = check_level(series(160, 171, 172, 640), QUIET)
    loose_ctx = Context(Thresholds({("lonjakan", "AT", "alpha"): 0.3}), QUIET.dispersion)
    (loose,) = check_level(series(160, 171, 172, 640), loose_ctx)
    assert strict.expected == [111, 236] and "(antara 111 dan 236)" in strict.message
    assert loose.expected[0] > 111 and loose.expected[1] < 236
    assert f"(antara {loose.expected[0]} dan {loose.expected[1]})" in loose.message


def test_a_gap_of_twenty_quarters_names_all_twenty():
    (gap,) = check_gaps([Value("65.01", "AT", "2020-Q1", 10), Value("65.01", "AT", "2025-Q2", 12)])
    assert gap.message.startswith("AT di kabupaten/kota 65.01 periode 2025-Q2: tidak ada nilai untuk 2020-Q2, ")
    assert gap.expected == 20 and gap.message.count(", ") == 19 and ", 2025-Q1;" in gap.message


def test_a_quarterly_repeat_is_judged_by_how_quarters_move_not_years():
    """A category whose yearly stocks stand still (a yearly repeat is ordinary) and whose quarters'
    movement is unknown: a quarterly 47 four times running is judged as counts drawn anew."""
    ctx = Context(Thresholds(), {"AT": counts.Dispersion(0.0, {"Y": counts.Movement(0.0)})})
    quarters = [Value("65.01", "AT", f"2024-Q{q}", n) for q, n in zip((1, 2, 3, 4), (47, 47, 47, 47), strict=True)]
    assert found(check_repeats(quarters, ctx)) == [("tetap", "65.01", "2024-Q4")]
    assert check_repeats(series(47, 47, 47, 47), ctx) == []


# --- sibling regions ---


def test_a_coincidence_is_judged_from_each_regions_last_four_figures():
    """A regency that counted 5,000 long ago and about 100 since, agreeing at 100 with a neighbour of
    about 100: an ordinary coincidence, not a copy judged against its old 5,000."""
    values = series(5000, 5000, 5000, 100, 102, 98, 101, 100)
    values += series(97, 103, 99, 101, 96, 104, 100, 100, region="65.02")
    assert check_copied(values, QUIET) == []


def test_a_copy_that_cannot_be_chance_says_its_odds_are_nearly_zero():
    """5,000 in a regency that counted 100 and in one that counted 5,000: no value is likely under
    both, and the flag says so in words instead of failing."""
    values = series(100, 100, 100, 5000) + series(5000, 5000, 5000, 5000, region="65.02")
    flags = check_copied(values, QUIET)
    assert found(flags) == [("salin", "65.01", "2023"), ("salin", "65.02", "2023")]
    assert all(f.message.endswith("peluang kebetulan hampir nol") for f in flags)


def test_two_first_counts_of_five_thousand_are_judged_as_a_coincidence_under_less_noise():
    """Two regencies' first figures ever, 5,000 each: with no history each is judged at its own level
    under the narrow reading (less noise makes an exact repeat likelier): in a quiet category that is
    not improbable, in one whose counts spread (φ = 0.02) it is."""
    values = [Value("65.01", "AT", "2024", 5000), Value("65.02", "AT", "2024", 5000)]
    assert check_copied(values, QUIET) == []
    spread = Context(Thresholds(), {"AT": counts.Dispersion(0.02)})
    assert found(check_copied(values, spread)) == [("salin", "65.01", "2024"), ("salin", "65.02", "2024")]


# --- a region's share ---


def test_a_share_is_judged_from_the_last_four_periods():
    """A regency that fell from 1,000 to 100 four years ago and stayed there, beside two steady ones:
    its 2024 share is its own of the last four years, not a fall from the old one."""
    values = series(1000, 1000, 1000, 1000, 100, 100, 100, 100, 100, start=2016)
    values += series(*[300] * 9, start=2016, region="65.02") + series(*[300] * 9, start=2016, region="65.03")
    assert ("porsi", "65.01", "2024") not in found(check_share(values, QUIET))
    assert ("porsi", "65.01", "2020") in found(check_share(values, QUIET))


def test_a_share_judged_from_two_periods_allows_for_the_uncertainty_of_their_mean():
    """400, 400 then 560 while the siblings stay: within the interval widened for a mean of two
    periods; 600 is not."""
    others = series(200, 200, 200, region="65.02") + series(300, 300, 300, region="65.03")
    assert check_share(series(400, 400, 560) + others, QUIET) == []
    assert found(check_share(series(400, 400, 600) + others, QUIET)) == [("porsi", "65.01", "2022")]


def test_a_region_of_about_one_person_still_counts_among_the_siblings_that_set_the_scale():
    values = series(400, 410, 1600) + series(200, 205, 200, region="65.02") + series(1, 1, 1, region="65.03")
    assert found(check_share(values, QUIET)) == [("porsi", "65.01", "2022")]


# --- thresholds ---


def test_an_agencys_level_gap_of_a_third_is_shown_and_one_of_a_fifth_is_not():
    """Without history to judge a ratio, a level gap beyond 25 % is shown once as information."""

    def gaps(theirs):
        values = [Value("65.01", "ODHA", "2024", 40), Value("65.01", "ODHA", "2024", theirs, "Dinkes")]
        return [(f.rule, f.severity.value, f.observed) for f in compare(values, AgencyContext(QUIET))]

    assert gaps(55) == [("selisih_instansi", "info", 55)]
    assert gaps(48) == []


def test_an_agencys_ratio_is_flagged_only_beyond_one_chance_in_a_hundred():
    """Dinkes counted about three times our ODHA for four years; 215 against our 45 (4.8 times) is a
    change of ratio that happens more often than once in a hundred; 300 (6.7 times) is not."""

    quiet = Context(Thresholds(), {"ODHA": counts.Dispersion(0.0)})

    def changed(theirs):
        ours = [Value("65.01", "ODHA", str(2020 + i), n) for i, n in enumerate((40, 44, 41, 43, 45))]
        agency = [
            Value("65.01", "ODHA", str(2020 + i), n, "Dinkes") for i, n in enumerate((120, 130, 124, 131, theirs))
        ]
        return [
            (f.rule, f.periode) for f in compare(ours + agency, AgencyContext(quiet)) if f.severity != Severity.INFO
        ]

    assert changed(215) == []
    assert changed(300) == [("instansi", "2024")]


@pytest.mark.parametrize(
    "rule, name, value", [("tetap", "min_value", 0), ("salin", "min_value", 0), ("instansi", "gap", 0.3)]
)
def test_no_least_figure_and_a_fractional_level_gap_are_thresholds_an_administrator_may_set(db, rule, name, value):
    with db.transaction() as s:
        thresholds.set_threshold(s, SYSTEM, rule, name, value)
    with db.read() as s:
        assert Thresholds.load(s).get(rule, name) == value


# --- the NIK ---


def test_a_baby_registered_on_the_day_of_birth_is_born_this_century():
    today = date(2026, 11, 27)
    assert parse(compose("65.01.01", today, "P", 1), today=today).birth_date == today


def test_a_number_too_short_says_how_many_digits_it_has():
    assert shape_problem("650101") == "NIK harus 16 angka, bukan 6"
    assert shape_problem("65010117055", "Nomor KK") == "Nomor KK harus 16 angka, bukan 11"


def test_a_numeral_of_another_script_is_told_to_be_retyped_not_called_a_letter():
    """五 (a Chinese numeral) is a number though not a digit: retype it, as a full-width digit."""
    assert "memuat angka yang bukan 0-9 (karakter ke-15" in shape_problem("65010117055000五1")
    assert shape_problem("6501011705500A01") == "NIK hanya boleh berisi angka 0-9; karakter ke-14 bukan angka"


# --- item flags ---


@pytest.mark.parametrize("rule", ["dukcapil", "dtsen_fm_tidak_ada", "dtsen_desil_tinggi", "dtsen_desil_rendah"])
def test_checking_the_items_again_keeps_each_other_registers_flag(db, rule):
    """Dukcapil's and DTSEN's flags are replaced by their own jobs; the record checks never drop them."""
    sid = open_with_items(db)
    with db.transaction() as s:
        items = [s.get(SubmissionItem, i.id) for i in items_of(db, sid)]
        s.add(
            QualityFlag(
                rule=rule,
                severity=Severity.WARNING,
                message=rule,
                region_kode=DESA,
                submission_id=sid,
                item_id=items[0].id,
            )
        )
        s.flush()
        flags.store_item_flags(s, s.get(Submission, sid), items, [[] for _ in items])
    with db.read() as s:
        assert s.scalars(select(QualityFlag.rule).where(QualityFlag.submission_id == sid)).all() == [rule]


def test_an_items_flag_names_its_desa_category_and_period_and_a_sensitive_one_is_hidden_from_a_steward(db, stewards):
    sid = open_with_items(db, rows=[person_row(1, kategori="ODHA")])
    warning = Finding("nama", "nama mirip dengan orang lain", Severity.WARNING, "nama_mirip")
    with db.transaction() as s:
        items = [s.get(SubmissionItem, i.id) for i in items_of(db, sid)]
        flags.store_item_flags(s, s.get(Submission, sid), items, [[warning]])
    with db.read() as s:
        flag = s.scalar(select(QualityFlag).where(QualityFlag.submission_id == sid))
        assert (flag.region_kode, flag.kategori, flag.periode, flag.item_id) == (DESA, "ODHA", PERIOD, items[0].id)
        (seen,) = flag_reading.seen_by(actor(db, "walidata.kab"), [flag])
        assert seen.hidden and seen.message == flag_reading.HIDDEN


# --- the same entry twice ---


def test_a_malformed_nik_or_kk_typed_twice_is_told_once_as_malformed_not_as_a_duplicate(db):
    rows = [person_row(n, nik="650101", kategori="FM", no_kk="6501-0117") for n in (1, 2)]
    second = _checked(db, rows)[1]
    assert not {"duplikat_nik", "duplikat_kk"} & set(second)


def test_a_community_named_twice_is_a_duplicate_and_two_without_a_name_are_not(db):
    named = _checked(db, [{"kategori": "KAT", "nama": "Dayak  Punan"}, {"kategori": "KAT", "nama": "dayak punan"}])
    assert named[1]["duplikat_nama"].severity == Severity.ERROR and "duplikat_nama" not in named[0]
    unnamed = _checked(db, [{"kategori": "KAT", "nama": ""}, {"kategori": "KAT", "nama": " "}])
    assert "duplikat_nama" not in unnamed[1]


def test_a_family_re_verified_on_its_own_desas_register_is_not_its_own_duplicate(db):
    kk = "6501011705500077"
    _on_register(db, register_record(1, kategori="FM", no_kk=kk))
    (found,) = _checked(db, [person_row(1, kategori="FM", no_kk=kk)])
    assert not {"duplikat_kk", "duplikat_kk_tempat_lain"} & set(found)


def test_a_category_change_set_aside_does_not_take_the_record_off_the_register(db):
    """The desa's copy of a LUT record changed to PD and then set aside: the record stays LUT, so the
    same person entered anew as LUT in that submission is a second registration."""
    (record,) = _on_register(db, register_record(1))
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        copy = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid))
        assert copy.record_id == record
        copy.kategori, copy.dibuang = "PD", True
    with db.transaction() as s:
        ctx = record_rules.Context.load(s, PERIOD)
        (found,) = record_rules.check_rows(s, [person_row(1)], ctx, DESA, submission_id=sid, records=[None])
    assert "duplikat_nik" in {f.rule for f in found}
