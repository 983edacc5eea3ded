"""What a desa operator and the people above rely on when a submission is opened and sent up, and
when the head of the Dinas Sosial determines a year's official figures: which codes take a
submission, when a correction is due, what the operator's page lists and counts, what holds a
draft back, and what a determination freezes, totals, compares and hands out."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.actors import Actor
from engine.core.errors import Forbidden, Invalid, NotFound
from engine.people import tokens
from engine.verification import cycles, determinations, register, submissions
from engine.verification.stale_imports import STALE_AFTER
from models import (
    AuditEvent,
    Cycle,
    Determination,
    ImportJob,
    ImportStatus,
    QualityFlag,
    Record,
    Submission,
    SubmissionItem,
    VervalStatus,
)
from tests.factories import (
    DESA,
    PERIOD,
    SYSTEM,
    actor,
    carded_record,
    decide,
    items_of,
    make_team,
    open_period,
    open_with_items,
    person_row,
    submit,
)
from tests.integration.reconciliation_steps import YEAR, person

DUE = {
    "desa": "2026-10-31T16:00:00+00:00",
    "kecamatan": "2099-11-15T16:00:00+00:00",
    "kabupaten": "2099-11-30T16:00:00+00:00",
    "provinsi": "2099-12-15T16:00:00+00:00",
}


def _page(db, submission_id: int, **asked) -> submissions.SubmissionPage:
    with db.read() as s:
        return submissions.submission_page(s, actor(db, "op.desa"), submission_id, **asked)


# -- opening and sending up ------------------------------------------------------------------


def test_a_kecamatan_code_takes_no_submission_of_its_own(db):
    """Only a desa/kelurahan submits: a kecamatan's code is refused as no desa code, nothing opened."""
    with pytest.raises(Invalid, match="tidak dikenal"), db.transaction() as s:
        submissions.open_submission(s, SYSTEM, "65.01.01", PERIOD, "65")
    with db.read() as s:
        assert s.scalar(select(Submission.id)) is None


def test_an_opened_submission_starts_unsent_and_its_opening_names_the_process_version(db):
    """A fresh draft has gone up no times (a cycle's closing counts it silent), and the trail keeps
    which version of the verification process it runs."""
    submission_id = open_with_items(db)
    with db.read() as s:
        assert s.get(Submission, submission_id).putaran == 0
        (opened,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "SUBMISSION_OPENED"))
    assert opened.after == {"kode_desa": DESA, "periode": PERIOD, "definition_version": 1}


def test_the_operator_lists_their_submissions_newest_period_first(db):
    make_team(db)
    older, newer = open_period(db, "2026-Q2", [person_row(1)]), open_period(db, "2026-Q3", [person_row(2)])
    with db.read() as s:
        listed = submissions.my_submissions(s, actor(db, "op.desa"))
    assert [x.id for x in listed] == [newer, older]


def test_a_submission_is_not_sent_up_by_the_system_in_an_operators_place(db):
    make_team(db)
    submission_id = open_with_items(db)
    with pytest.raises(Forbidden, match="operator desa"), db.transaction() as s:
        submissions.submit(s, SYSTEM, submission_id)
    with db.read() as s:
        assert s.get(Submission, submission_id).putaran == 0


# -- when it is due ---------------------------------------------------------------------------


def test_a_submission_returned_again_by_the_kabupaten_is_due_by_the_kabupatens_deadline(db):
    """Returned once by the kecamatan and later by the kabupaten, the correction is due by the tier
    that returned it last, not by the first that ever did."""
    team = make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as s:
        s.add(Cycle(periode=PERIOD, region_kode="65", batas=DUE))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "cek KTP")
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")
    decide(db, team.kabupaten, submission_id, "return", "cek KK")
    with db.read() as s:
        due = submissions.deadline_of(s, s.get(Submission, submission_id))
    assert due == datetime.fromisoformat(DUE["kabupaten"])
    page = _page(db, submission_id)
    assert [(r["tingkat"], r["alasan"]) for r in page.returns] == [("kabupaten", "cek KK")]  # the last return alone


# -- what holds a draft back ------------------------------------------------------------------


def _import_job(db, submission_id: int, status: str, age: timedelta) -> None:
    with db.transaction() as s:
        s.add(ImportJob(submission_id=submission_id, filename="data.csv", status=status, created_at=clock.now() - age))


def test_a_file_still_being_imported_holds_the_submission_back(db):
    make_team(db)
    submission_id = open_with_items(db)
    _import_job(db, submission_id, ImportStatus.BERJALAN, timedelta(minutes=1))
    with pytest.raises(Invalid) as refused:
        submit(db, "op.desa", submission_id)
    assert "data.csv masih diimpor" in refused.value.problems[0].message


def test_an_import_no_scheduler_took_for_longer_than_it_could_run_does_not_hold_the_submission(db):
    make_team(db)
    submission_id = open_with_items(db)
    _import_job(db, submission_id, ImportStatus.BERJALAN, STALE_AFTER + timedelta(minutes=1))
    submit(db, "op.desa", submission_id)
    with db.read() as s:
        assert s.get(Submission, submission_id).putaran == 1


def test_checking_a_draft_names_the_missing_minutes_and_each_record_error_together(minutes_required):
    db = minutes_required
    make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as s:
        item = s.scalars(select(SubmissionItem).where(SubmissionItem.submission_id == submission_id)).first()
        item.data = {**item.data, "nik": "99"}
    with db.transaction() as s:
        problems = submissions.check_draft(s, actor(db, "op.desa"), submission_id)
    columns = [p.column for p in problems]
    assert "berita_acara" in columns and "nik" in columns


# -- the operator's page ----------------------------------------------------------------------


def test_the_counts_beside_a_view_are_of_every_item_not_of_one_page(db, monkeypatch):
    """Items set aside beyond one page, items judged not matching beyond one page: each count is the
    whole, and the entries still in the submission are counted while another view is shown."""
    monkeypatch.setattr(submissions, "PAGE_SIZE", 1)
    team = make_team(db)
    submission_id = open_with_items(db, rows=[person_row(n) for n in range(1, 6)])
    ids = [i.id for i in items_of(db, submission_id)]
    with db.transaction() as s:
        for item in s.scalars(select(SubmissionItem).where(SubmissionItem.id.in_(ids[:2]))):
            item.dibuang = True
    page = _page(db, submission_id, tampil="disisihkan")
    assert (page.discarded_total, page.item_total, page.live_total, page.tampil) == (2, 2, 3, "disisihkan")
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "periksa", {i: "tidak sesuai KTP" for i in ids[2:]})
    page = _page(db, submission_id)
    assert (page.returned_total, len(page.returned_items), page.live_total) == (3, 1, 3)


def test_an_entry_set_aside_does_not_go_up_and_is_no_longer_offered_back(db):
    """Set aside before submitting and never judged, an entry leaves the submission when it goes up."""
    team = make_team(db)
    submission_id = open_with_items(db)
    kept, set_aside = (i.id for i in items_of(db, submission_id))
    with db.transaction() as s:
        s.get(SubmissionItem, set_aside).dibuang = True
    submit(db, team.operator, submission_id)
    assert [i.id for i in items_of(db, submission_id)] == [kept]
    assert _page(db, submission_id).discarded_total == 0


def test_a_register_record_marked_for_removal_is_listed_with_the_entries(db):
    make_team(db)
    carded_record(db, 9)
    submission_id = open_with_items(db, rows=[])
    with db.transaction() as s:
        (item_id,) = s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == submission_id))
        register.set_status(s, actor(db, "op.desa"), submission_id, [item_id], VervalStatus.MENINGGAL, "wafat")
    page = _page(db, submission_id)
    assert [row.item.id for row in page.items] == [item_id] and page.item_total == 1


def test_an_entry_judged_not_matching_then_set_aside_is_not_listed_as_still_to_correct(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    first, second = (i.id for i in items_of(db, submission_id))
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "return", "periksa", {first: "KTP", second: "KK"})
    with db.transaction() as s:
        s.get(SubmissionItem, first).dibuang = True
    page = _page(db, submission_id, tampil="dikembalikan")
    assert [row.item.id for row in page.returned_items] == [second] and page.returned_total == 1
    assert [row.item.id for row in page.items] == [second] and page.editable


def test_asking_for_the_returned_view_of_a_draft_never_returned_shows_its_entries(db):
    make_team(db)
    submission_id = open_with_items(db)
    page = _page(db, submission_id, tampil="dikembalikan")
    assert (page.tampil, page.item_total, page.returned_total, page.returned_items) == ("", 2, 0, [])


def test_a_submission_gone_up_is_not_editable_and_lists_its_newest_imports_first(db):
    team = make_team(db)
    submission_id = open_with_items(db)
    for age in range(7, 0, -1):
        _import_job(db, submission_id, ImportStatus.SELESAI, STALE_AFTER + timedelta(minutes=age))
    with db.read() as s:
        jobs = list(s.scalars(select(ImportJob.id).where(ImportJob.submission_id == submission_id)))
    submit(db, team.operator, submission_id)
    page = _page(db, submission_id)
    assert [j.id for j in page.jobs] == sorted(jobs, reverse=True)[:5] and not page.editable


# -- the determination ------------------------------------------------------------------------


def _freeze(db, tahun: int = YEAR, decree: str = "SK-1/2027") -> int:
    with db.transaction() as s:
        approval = determinations.Approval("65", tahun, decree, date(2027, 1, 5))
        return determinations.freeze(s, person(db, "kepala.dinas"), approval).id


def test_anyone_recomputes_a_determinations_hash_from_its_content_as_the_product_documents_it(year):
    """SHA-256 of the content as JSON with its keys sorted, no spaces, UTF-8: an auditor's own
    computation agrees with the stored hash, and the figures are listed in order."""
    frozen = _freeze(year)
    with year.read() as s:
        d = s.get(Determination, frozen)
        written = json.dumps(d.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(written.encode("utf-8")).hexdigest() == d.content_hash
        assert d.content["angka"] == sorted(d.content["angka"]) and ["65", "LUT", 3] in d.content["angka"]


def test_the_determination_and_its_trail_name_the_head_and_what_was_frozen(year):
    frozen = _freeze(year)
    head = person(year, "kepala.dinas")
    with year.read() as s:
        d = s.get(Determination, frozen)
        assert (d.approved_by, d.approved_by_id) == ("kepala.dinas", head.user_id)
        (approved,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "DETERMINATION_APPROVED"))
    assert approved.after["catatan"] == 4 and approved.after["angka"] == len(d.content["angka"])
    assert (approved.after["revisi"], approved.after["hash"], approved.after["nomor_sk"]) == (
        0,
        d.content_hash,
        "SK-1/2027",
    )


def test_determinations_are_listed_newest_year_first_and_a_year_is_read_at_its_latest_revision(year):
    _freeze(year, YEAR - 1, "SK-0/2026")
    _freeze(year, YEAR, "SK-1/2027")
    _freeze(year, YEAR, "SK-2/2027")
    reader = actor(year, "valid.prov")
    with year.read() as s:
        listed = determinations.list_determinations(s, reader)
        assert [(x["tahun"], x["revisi"]) for x in listed] == [(YEAR, 1), (YEAR, 0), (YEAR - 1, 0)]
        assert {x["hash_sah"] for x in listed} == {None}  # the list does not read the content to check it
        assert determinations.get(s, reader, YEAR).nomor_sk == "SK-2/2027"
        with pytest.raises(NotFound, match="tidak mempunyai revisi 5"):
            determinations.get(s, reader, YEAR, 5)
        with pytest.raises(NotFound, match=f"Belum ada penetapan untuk tahun {YEAR + 1}"):
            determinations.get(s, reader, YEAR + 1)


def test_a_desa_operator_does_not_read_the_determinations(year):
    _freeze(year)
    with year.read() as s, pytest.raises(Forbidden):
        determinations.list_determinations(s, actor(year, "op.desa"))
    with year.read() as s, pytest.raises(Forbidden):
        determinations.get(s, actor(year, "op.desa"), YEAR)


def test_year_on_year_shows_only_the_province_and_regencies_with_the_later_years_own_figure_flags(year):
    """Each compiled figure carries the flags raised on it in the later year: not a kecamatan's, not
    one on a single record, not the earlier year's."""
    _freeze(year, YEAR - 1, "SK-0/2026")
    _freeze(year, YEAR)
    with year.transaction() as s:
        for region, periode, record in (
            ("65.01", str(YEAR), None),
            ("65.01.01", str(YEAR), None),
            ("65.01", str(YEAR - 1), None),
            ("65.01", str(YEAR), s.scalar(select(Record.id).limit(1))),
        ):
            message = f"tanda {region} {periode} {record}"
            s.add(
                QualityFlag(
                    rule="uji",
                    severity="warning",
                    message=message,
                    region_kode=region,
                    kategori="LUT",
                    periode=periode,
                    record_id=record,
                )
            )
    with year.read() as s:
        compared = determinations.diff(s, actor(year, "valid.prov"), YEAR - 1, YEAR)
    changes = {(c["wilayah"], c["kategori"]): c for c in compared["perubahan"]}
    assert {wilayah for wilayah, _ in changes} == {"65", "65.01"}
    shown = [t["pesan"] for c in changes.values() for t in c["tanda"]]
    assert shown == [f"tanda 65.01 {YEAR} None"]
    assert changes[("65.01", "LUT")]["sebelum"] is None and changes[("65.01", "LUT")]["sesudah"] == 3


def _token(session, region: str, resources: tuple[str, ...] = ("penetapan",)) -> Actor:
    request = tokens.TokenRequest(instansi="DP3AP2KB", region_kode=region, resources=resources)
    return Actor.of_token(tokens.create_token(session, SYSTEM, request).token)


@pytest.fixture
def reported_year(year):
    """The year determined after a closed cycle that asked Malinau's desa too (none reported)."""
    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q4", early=True)
    _freeze(year)
    return year


def test_an_agencys_token_reads_its_own_regions_figures_and_reporting_and_the_whole_only_from_the_province(
    reported_year,
):
    db = reported_year
    with db.transaction() as s:
        regency, province, other = _token(s, "65.01"), _token(s, "65"), _token(s, "65.01", ("agregat",))
        shown = determinations.published_year(s, regency, YEAR)
        assert shown["data"] and {r["wilayah"][:5] for r in shown["data"]} == {"65.01"}
        assert [c["kode"] for c in shown["kelengkapan"]] == ["65.01"]
        assert [x["hash_sah"] for x in determinations.published(s, regency)] == [None]
        assert determinations.published_whole(s, province, YEAR).tahun == YEAR
        with pytest.raises(NotFound, match="hanya untuk token tingkat provinsi 65"):
            determinations.published_whole(s, regency, YEAR)
        with pytest.raises(Forbidden):
            determinations.published(s, other)


def test_a_regencys_people_take_their_own_part_and_the_provinces_the_whole(reported_year):
    db = reported_year
    with db.read() as s:
        d = determinations.get(s, actor(db, "valid.prov"), YEAR)
        assert determinations.part_of(actor(db, "valid.prov"), d) is None
        part = determinations.part_of(actor(db, "verif.kab"), d)
        assert [g.region_kode for g in part.grants] == ["65.01"]
        assert {c.kode for c in determinations.reporting(d, part)} == {"65.01"}
        assert {c.kode for c in determinations.reporting(d)} >= {"65.01", "65.02"}
        assert {f["wilayah"][:5] for f in determinations.figures(d, part)} == {"65.01"}
