"""What a verifier's saved verdicts keep, what the monitoring counts, how far a published figure has come,
which region's figures a person reads first, what a family's template asks, what the Forum Satu Data's
review sends back, and what a closed period with no record left stores.

A verdict "in order" keeps no reason; saving one item's verdict leaves the others as they were, an item
set aside is refused and not carried forward, and only a tier's own verdicts are carried forward. The
monitoring counts only open tasks, undelivered events and unsent e-mails. A determined figure stays
`ditetapkan` while later periods are still in work. The Forum's returns reach only their regencies,
with the reasons on the decision, and an explanation rewritten since the Forum accepted it is reviewed
again."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.quality import aggregates, review, series
from engine.verification import figure_status, gauges, instruments, period_figures, reconciliation, verdicts
from engine.verification.figure_status import FigureStatus, Statuses
from models import (
    AggregateValue,
    AuditEvent,
    Cycle,
    CycleStatus,
    FlagStatus,
    HumanTask,
    ItemVerdict,
    JobRun,
    OutboxEvent,
    Verdict,
)
from tests.factories import (
    DESA,
    SYSTEM,
    actor,
    approved_everywhere,
    decide,
    items_of,
    make_team,
    open_task,
    open_with_items,
    submit,
    waiting_at_kecamatan,
)
from tests.integration.entry_steps import _set_aside_by_an_approval
from tests.integration.reconciliation_steps import YEAR, events, explain_and_send, open_tasks, person, review_regencies
from tests.integration.test_reconciliation_progress_rules import (
    _forum_says,
    _listed,
    _send_back_bulungans_discrepancy,
    _year_flag,
)
from tests.integration.test_upkeep_rules import _mail

# --- a verifier's verdicts, saved item by item ---------------------------------------------------------


def _saved(db, task_id: int) -> dict[int, tuple[str, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(ItemVerdict.item_id, ItemVerdict.verdict, ItemVerdict.alasan).where(
                ItemVerdict.human_task_id == task_id
            )
        )
        return {item: (verdict.value, why) for item, verdict, why in rows}


def test_a_verdict_in_order_keeps_no_reason_and_the_trail_says_what_was_saved(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    first, second = (item.id for item in items_of(db, submission_id))
    judged = {first: (Verdict.SESUAI, "sudah dicek"), second: (Verdict.TIDAK_SESUAI, "  KTP buram ")}
    with db.transaction() as s:
        assert verdicts.save(s, actor(db, team.kecamatan), task.id, judged) == 2
    assert _saved(db, task.id) == {first: ("sesuai", None), second: ("tidak_sesuai", "KTP buram")}
    with db.read() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.VERDICTS_SAVED)).all()
    assert (event.actor, event.subject_id, event.instance_id, event.human_task_id) == (
        team.kecamatan,
        str(task.id),
        task.instance_id,
        task.id,
    )
    assert event.after == {
        str(first): {"putusan": "sesuai", "alasan": None},
        str(second): {"putusan": "tidak_sesuai", "alasan": "KTP buram"},
    }


def test_saving_one_items_verdict_again_leaves_the_others_as_they_were(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    first, second = (item.id for item in items_of(db, submission_id))
    verifier = actor(db, team.kecamatan)
    with db.transaction() as s:
        verdicts.save(s, verifier, task.id, {first: (Verdict.SESUAI, ""), second: (Verdict.SESUAI, "")})
    with db.transaction() as s:
        verdicts.save(s, verifier, task.id, {first: (Verdict.TIDAK_SESUAI, "umur tidak sesuai")})
    assert _saved(db, task.id) == {first: ("tidak_sesuai", "umur tidak sesuai"), second: ("sesuai", None)}


def test_a_verdict_on_an_item_set_aside_meanwhile_is_refused_and_names_it(db):
    team, submission_id, task, _ = waiting_at_kecamatan(db)
    first, second = (item.id for item in items_of(db, submission_id))
    _set_aside_by_an_approval(db, first)
    judged = {first: (Verdict.SESUAI, ""), second: (Verdict.SESUAI, "")}
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, judged)
    (problem,) = refused.value.problems
    assert problem.column == f"verdict_{first}" and "sudah disisihkan dari pengajuan ini" in problem.message
    assert _saved(db, task.id) == {}


def test_a_saved_verdict_given_earlier_is_replaced_when_given_again(db):
    team, submission_id, task, item_id = waiting_at_kecamatan(db)
    earlier = clock.now() - timedelta(hours=1)
    with clock.frozen_at(earlier), db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.SESUAI, "")})
    with db.transaction() as s:
        verdicts.save(s, actor(db, team.kecamatan), task.id, {item_id: (Verdict.SESUAI, "")})
    with db.read() as s:
        (given,) = s.scalars(select(ItemVerdict.created_at).where(ItemVerdict.item_id == item_id)).all()
    assert clock.instant(given) > earlier


def test_opening_the_judging_of_a_free_task_takes_its_claim_even_before_a_verdict(db):
    team, _, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        assert verdicts.save(s, actor(db, team.kecamatan), task.id, {}) == 0
    with db.read() as s:
        assert s.get(HumanTask, task.id).assignee_id == actor(db, team.kecamatan).user_id
    assert _saved(db, task.id) == {}


def test_only_the_verdicts_of_the_same_tier_are_carried_forward_after_a_return(db):
    """Bulungan found the first person not in order; the kecamatan had found both in order. When the
    untouched submission comes back, the kecamatan may carry both, the kabupaten only the second."""
    team = make_team(db)
    submission_id = open_with_items(db)
    first, second = (item.id for item in items_of(db, submission_id))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")
    decide(db, team.kabupaten, submission_id, "return", "cek KTP", {first: "KTP tidak cocok"})
    submit(db, team.operator, submission_id)
    kecamatan = open_task(db, submission_id, "kecamatan")
    with db.transaction() as s:
        assert verdicts.carry_forward(s, actor(db, team.kecamatan), kecamatan.id) == 2
    decide(db, team.kecamatan, submission_id, "approve")
    kabupaten = open_task(db, submission_id, "kabupaten")
    with db.transaction() as s:
        assert verdicts.carry_forward(s, actor(db, team.kabupaten), kabupaten.id) == 1
    assert _saved(db, kabupaten.id) == {second: ("sesuai", None)}


def test_an_item_set_aside_since_the_return_is_not_carried_forward(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    first, second = (item.id for item in items_of(db, submission_id))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "lengkapi data")  # both found in order
    _set_aside_by_an_approval(db, first)
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with db.transaction() as s:
        assert verdicts.carry_forward(s, actor(db, team.kecamatan), task.id) == 1
    assert _saved(db, task.id) == {second: ("sesuai", None)}


def test_a_first_round_has_nothing_to_carry_forward(db):
    team, _, task, _ = waiting_at_kecamatan(db)
    with db.transaction() as s:
        assert verdicts.carry_forward(s, actor(db, team.kecamatan), task.id) == 0
    assert _saved(db, task.id) == {}


# --- what the monitoring counts -----------------------------------------------------------------------


def _email(db, attempts: int, last_error: str | None = None, sent: bool = False) -> None:
    with db.transaction() as s:
        s.add(_mail(attempts, last_error, sent))


def test_the_monitoring_counts_only_open_tasks_and_those_past_due_per_tier(db):
    team, submission_id, _, _ = waiting_at_kecamatan(db)
    decide(db, team.kecamatan, submission_id, "approve")  # the kecamatan's task is done
    with db.transaction() as s:
        s.execute(update(HumanTask).where(HumanTask.tingkat == "kecamatan").values(overdue=True))
    with db.read() as s:
        figures = gauges.read(s)
    assert figures.open_tasks == {"kabupaten": 1}
    assert figures.overdue_tasks == {}
    with db.transaction() as s:
        s.execute(update(HumanTask).where(HumanTask.tingkat == "kabupaten").values(overdue=True))
    with db.read() as s:
        assert gauges.read(s).overdue_tasks == {"kabupaten": 1}


def test_the_monitoring_counts_every_open_task_of_a_tier_whether_past_due_or_not(db, people):
    """Two desa of Tanjung Palas wait at their kecamatan, one of them past its due time."""
    late, on_time = open_with_items(db), open_with_items(db, desa="65.01.01.2006")
    submit(db, "op.desa", late)
    submit(db, "op.lain", on_time)
    with db.transaction() as s:
        s.execute(update(HumanTask).where(HumanTask.submission_id == late).values(overdue=True))
    with db.read() as s:
        figures = gauges.read(s)
    assert (figures.open_tasks, figures.overdue_tasks) == ({"kecamatan": 2}, {"kecamatan": 1})


def test_the_monitoring_counts_undelivered_events_and_each_jobs_runs_by_outcome(db):
    now = clock.now()
    with db.transaction() as s:
        s.add_all(
            [
                OutboxEvent(event_type="uji", payload={}, delivered_at=now),
                OutboxEvent(event_type="uji", payload={}),
                JobRun(job_id="surel", run_key="1", holder="uji", status="selesai", lease_until=now),
                JobRun(job_id="surel", run_key="2", holder="uji", status="gagal", lease_until=now),
                JobRun(job_id="surel", run_key="3", holder="uji", status="gagal", lease_until=now),
            ]
        )
    with db.read() as s:
        figures = gauges.read(s)
        undelivered = s.scalars(select(OutboxEvent.id).where(OutboxEvent.delivered_at.is_(None))).all()
    assert figures.outbox_backlog == len(undelivered) >= 1
    assert {k: v for k, v in figures.job_runs.items() if k[0] == "surel"} == {
        ("surel", "selesai"): 1,
        ("surel", "gagal"): 2,
    }


def test_the_monitoring_tells_queued_failing_and_given_up_mail_apart_and_leaves_out_what_was_sent(db):
    _email(db, 0)  # waiting its first try
    _email(db, 3, "koneksi ditolak")  # failing, still retried
    _email(db, 29, "koneksi ditolak")  # one try left
    _email(db, 30, "550 mailbox unavailable")  # given up
    _email(db, 30, "Tidak dikirim: akun sudah dinonaktifkan")  # not sent on purpose: no failure
    _email(db, 2, "koneksi ditolak", sent=True)  # sent at last
    with db.read() as s:
        figures = gauges.read(s)
    assert (figures.email_queued, figures.email_failing, figures.email_given_up) == (3, 2, 1)


# --- how far a published figure has come --------------------------------------------------------------


def _bulungan(nilai: int, periode: str = "2026") -> AggregateValue:
    return AggregateValue(region_kode="65.01", kategori="LUT", periode=periode, nilai=nilai, sumber="dinsos")


def test_a_determined_figure_stays_official_while_a_later_period_of_its_year_is_in_work(db, monkeypatch):
    determined = SimpleNamespace(content={"angka": [["65.01", "LUT", 17]]})
    monkeypatch.setattr(figure_status.determinations, "latest", lambda _session, tahun: determined)
    open_with_items(db)  # Gunung Putih's 2026-Q4 draft
    with db.read() as s:
        statuses = Statuses(s, ["2026"])
    assert statuses.of(_bulungan(17)) == FigureStatus.DITETAPKAN
    assert statuses.of(_bulungan(18)) == FigureStatus.SEMENTARA


def test_a_quarters_figure_is_provisional_only_in_its_own_quarter_and_its_own_regions(db):
    open_with_items(db)  # 2026-Q4, Gunung Putih
    with db.read() as s:
        statuses = Statuses(s, ["2026-Q4", "2026-Q3"])
    assert [statuses.in_work("2026-Q4", code) for code in (DESA, "65.01.01", "65.01", "65")] == [True] * 4
    assert not statuses.in_work("2026-Q4", "65.01.01.2006") and not statuses.in_work("2026-Q4", "65.02")
    assert not statuses.in_work("2026-Q3", "65.01")
    assert statuses.of(_bulungan(5, "2026-Q3")) == FigureStatus.TERVERIFIKASI


def test_a_period_whose_submissions_are_all_decided_is_verified(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    approved_everywhere(db, team, submission_id)
    with db.read() as s:
        statuses = Statuses(s, ["2026-Q4", "2026"])
    assert statuses.of(_bulungan(2, "2026-Q4")) == FigureStatus.TERVERIFIKASI
    assert statuses.of(_bulungan(2)) == FigureStatus.TERVERIFIKASI


# --- a region's figures as the people overseeing it read them ----------------------------------------


def _figures_of_bulungan(db) -> None:
    values = [series.Value("65.01", "LUT", p, n) for p, n in (("2024", 3), ("2026-Q1", 4), ("2025", 5))]
    values.append(series.Value("65.01.01", "LUT", "2025", 2))
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, values, AuditAction.BASELINE_IMPORTED)


def test_a_regencys_verifier_reads_their_own_regency_first_newest_period_first_without_the_province(db, people):
    _figures_of_bulungan(db)
    with db.read() as s:
        shown = period_figures.region_figures(s, actor(db, "verif.kab"), "", "", "65")
    assert (shown.kode, shown.induk, shown.periode) == ("65.01", "", "2026-Q1")
    assert shown.periods == ["2026-Q1", "2025", "2024"]
    assert [b.kode for b in shown.below][:2] == ["65.01.01", "65.01.02"]


def test_the_province_reads_a_regency_with_the_way_back_up_and_its_kecamatan_figures_below(db, people):
    _figures_of_bulungan(db)
    open_with_items(db)  # Gunung Putih's 2026-Q4 draft: its kecamatan is still in work
    with db.read() as s:
        shown = period_figures.region_figures(s, actor(db, "valid.prov"), "65.01", "2025", "65")
    assert (shown.kode, shown.induk, shown.periode) == ("65.01", "65", "2025")
    assert [(r.kategori, r.nilai, r.status) for r in shown.rows] == [("LUT", 5, FigureStatus.TERVERIFIKASI)]
    assert not any(b.sementara for b in shown.below)
    with db.read() as s:
        later = period_figures.region_figures(s, actor(db, "valid.prov"), "65.01", "2026-Q4", "65")
    assert [b.kode for b in later.below if b.sementara] == ["65.01.01"]


# --- a category's template ----------------------------------------------------------------------------


def _guide(db, kode: str) -> list[tuple]:
    with db.read() as s:
        book = load_workbook(io.BytesIO(instruments.template(s, kode)))
    return list(book["Petunjuk"].iter_rows(values_only=True))


def test_a_family_templates_guide_names_the_category_and_leaves_the_heads_sex_optional(db):
    guide = _guide(db, "FM")
    assert guide[0][0] == "Fakir Miskin (FM) - dicatat per keluarga"
    assert guide[1][0].startswith("Orang atau keluarga tanpa mata pencaharian")
    asked = {row[0]: row[3] for row in guide[4:] if row and row[0] and row[3]}
    assert asked["jenis_kelamin"] == "tidak" and asked["tanggal_lahir"] == "tidak"
    assert asked["nik"] == "tidak" and asked["no_kk"] == "ya"


def test_a_family_templates_card_number_keeps_its_digits_and_an_institution_is_named_as_one(db):
    with db.read() as s:
        data = load_workbook(io.BytesIO(instruments.template(s, "FM")))["Data"]
    card = [c.value for c in data[1]].index("no_kk") + 1
    assert {data.cell(row=r, column=card).number_format for r in (2, 1001)} == {"@"}
    named = {row[0]: row[1] for row in _guide(db, "LKS")[4:] if row and row[0]}
    assert named["nama"] == "Nama lembaga"


def test_a_family_templates_sex_list_may_be_left_blank_but_a_persons_may_not(db):
    def allow_blank(kode: str) -> bool:
        with db.read() as s:
            data = load_workbook(io.BytesIO(instruments.template(s, kode)))["Data"]
        (choice,) = data.data_validations.dataValidation
        return bool(choice.allow_blank)

    assert allow_blank("FM") and not allow_blank("LUT")


# --- the Forum Satu Data's review -------------------------------------------------------------------


def _reviewed_by_the_regencies(db):
    """The province's year opened and each regency's review sent on to the Forum."""
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    return db


def test_the_forum_sends_back_only_to_the_regencies_whose_flags_it_returned_and_says_why(year):
    """Bulungan's DP3AP2KB discrepancy and Nunukan's unexplained warning go back with the Forum's reasons;
    Malinau's explained flag is accepted: only Bulungan and Nunukan review again, and the trail holds
    each verdict with the explanation judged."""
    db = _reviewed_by_the_regencies(year)
    with db.transaction() as session:
        malinau = _year_flag("65.02", FlagStatus.DIJELASKAN, "pendataan ulang di Malinau")
        nunukan = _year_flag("65.03", FlagStatus.TERBUKA)  # a warning nobody explained yet
        session.add_all([malinau, nunukan])
    (forum,) = open_tasks(db, "tinjauan_forum")
    listed = _listed(db, forum)
    back = next(f for f in listed if f.rule == "instansi" and f.region_kode == "65.01")
    why = "rasio berubah " + "x" * (reconciliation.NOTE_LIMIT - 14)  # a reason at its bound
    returned = {back.id: why, nunukan.id: "jelaskan"}
    _forum_says(
        db, forum, {f.id: ("kembalikan", returned[f.id]) if f.id in returned else ("terima", "") for f in listed}
    )
    assert [t.region_kode for t in open_tasks(db, "tinjauan_kabupaten")] == ["65.01", "65.03"]
    with db.read() as session:
        decided = session.get(HumanTask, forum.id)
    assert (decided.keputusan, decided.alasan) == ("kembalikan", f"{why}; jelaskan")
    assert decided.data["dikembalikan"] == {str(back.id): why, str(nunukan.id): "jelaskan"}
    accepted = {int(e.subject_id): e for e in events(db, AuditAction.EXPLANATION_ACCEPTED)}
    assert set(accepted) == {f.id for f in listed} - set(returned)
    assert accepted[malinau.id].after["catatan"] == "pendataan ulang di Malinau"
    assert accepted[malinau.id].human_task_id == forum.id


def test_an_explanation_the_forum_accepted_and_the_regency_rewrote_since_is_reviewed_again(year):
    db = _reviewed_by_the_regencies(year)
    with db.transaction() as session:
        kecamatan = _year_flag("65.01.01", FlagStatus.DIJELASKAN, "pendataan ulang")
        session.add(kecamatan)
    forum = _send_back_bulungans_discrepancy(db, "rasio berubah")
    with db.transaction() as session:  # the province reopens the explanation the Forum accepted
        review.settle(session, person(db, "walidata.prov"), kecamatan.id, review.FlagAction.REOPEN, "cek", "dijelaskan")
    (again,) = open_tasks(db, "tinjauan_kabupaten")
    with clock.frozen_at(clock.now() + timedelta(minutes=5)):
        explain_and_send(db, again.id, "data BPS terbaru")
    (second,) = open_tasks(db, "tinjauan_forum")
    assert second.id != forum.id
    assert kecamatan.id in {f.id for f in _listed(db, second)}


# --- a closed period's figures -------------------------------------------------------------------------


def test_a_closed_period_with_no_record_left_stores_the_drop_to_zero(db):
    """Bulungan counted 3 LUT in 2026-Q2; by the end of 2026-Q3 no record stands: its Q3 figure is 0."""
    with db.transaction() as s:
        aggregates.store(s, SYSTEM, [series.Value("65.01", "LUT", "2026-Q2", 3)], AuditAction.BASELINE_IMPORTED)
        s.add(Cycle(periode="2026-Q3", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    with db.transaction() as s:
        assert period_figures.keep_current(s, SYSTEM, "65", "2026-Q3") == period_figures.Counted("2026-Q3", 0)
    with db.read() as s:
        stored = s.scalar(
            select(AggregateValue.nilai).where(
                AggregateValue.periode == "2026-Q3",
                AggregateValue.region_kode == "65.01",
                AggregateValue.sumber == "dinsos",
            )
        )
    assert stored == 0
