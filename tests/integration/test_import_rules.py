"""What comes in from a desa in a file, at the edges the other tests left open: how a file's rows are read
(codes and sex as a village office types them, a community's attributes, the template's example row, numbers
a spreadsheet turned into figures), what an import reports and writes on the trail, how a background upload
is queued, run, failed and shown only to its own desa, a person taken off the register sent again, and the
sweep of uploads whose process died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock, jobs
from engine.core.errors import Invalid, NotFound, Problem
from engine.verification import imports, instruments, item_checks, items, register, stale_imports
from models import (
    ImportJob,
    ImportStatus,
    ItemSource,
    JobRun,
    JobStatus,
    Record,
    RecordStatus,
    SubmissionItem,
    SubmissionStatus,
    VervalStatus,
)
from tests.factories import (
    SYSTEM,
    actor,
    items_of,
    open_with_items,
    person_row,
    register_record,
)
from tests.integration.entry_steps import (
    FAR_KK,
    OTHER,
    _import,
    _import_rows,
    _refused,
    _register,
    _text_rows,
    _trail,
)

# --- the report of an import ---------------------------------------------------------------------------


def test_a_file_with_new_unchanged_and_doubtful_rows_says_all_three_in_its_summary(db):
    sid = open_with_items(db, rows=[person_row(1)])
    report = _import(db, sid, [person_row(1), person_row(2, no_kk=FAR_KK)])
    assert (report.added, report.updated, report.unchanged, len(report.warnings)) == (1, 0, 1, 1)
    assert report.summary() == "1 baris baru, 0 diperbarui, 1 tidak berubah; 1 peringatan akan diperiksa verifikator"


def test_a_job_report_shows_the_first_warnings_but_counts_them_all(db, monkeypatch):
    monkeypatch.setattr(imports, "WARNINGS_SHOWN", 1)
    sid = open_with_items(db, rows=[])
    report = _import(db, sid, [person_row(1, no_kk=FAR_KK), person_row(2, no_kk=FAR_KK)]).to_dict()
    assert len(report["warnings"]) == 1 and report["warnings_total"] == 2


def test_a_problem_of_no_column_is_counted_under_a_dash():
    """The page's count per column names a problem of the whole file too, not a column called None."""
    counted = imports.problem_report([Problem("berkas kosong"), Problem("x", column="nik")])
    assert counted["problems_per_column"] == {"-": 1, "nik": 1}


def test_the_import_on_the_trail_counts_the_rows_sent_again_unchanged(db):
    sid = open_with_items(db, rows=[person_row(1)])
    _import(db, sid, [person_row(1), person_row(2)])
    assert _trail(db, "SUBMISSION_IMPORTED")[-1].after == {"rows": 2, "added": 1, "updated": 0, "unchanged": 1}


def test_the_checks_found_on_a_row_are_kept_on_its_item_for_the_operator(db):
    sid = open_with_items(db, rows=[person_row(1, no_kk=FAR_KK)])
    [item] = items_of(db, sid)
    assert [(f["aturan"], f["kolom"]) for f in item.masalah] == [("kk_wilayah", "no_kk")]


# --- a row read as a village office writes it ------------------------------------------------------------


def test_codes_typed_in_small_letters_and_sex_written_out_are_read_as_their_codes(db):
    sid = open_with_items(db, rows=[person_row(1, kategori=" lut ", jenis_kelamin="p"), person_row(2)])
    _import(db, sid, [person_row(3, jenis_kelamin="PEREMPUAN")])
    stored = {i.data["nama"]: (i.kategori, i.data["jenis_kelamin"]) for i in items_of(db, sid)}
    assert stored == {"Maria Ingan 1": ("LUT", "P"), "Maria Ingan 2": ("LUT", "P"), "Maria Ingan 3": ("LUT", "P")}


def test_a_communitys_attributes_are_read_from_the_columns_named_after_them(db):
    community = {"nama": "Punan Long Lasan", "alamat": "Long Lasan", "kategori": "KAT"}
    sid = open_with_items(db, rows=[])
    _import_rows(db, sid, [{**community, "jumlah_anggota": "48", "nama_ketua": "Lawing"}])
    [item] = items_of(db, sid)
    assert item.data["atribut"] == {"jumlah_anggota": "48", "nama_ketua": "Lawing"}


def test_the_templates_example_row_left_in_a_file_is_refused(db):
    sid = open_with_items(db, rows=[])
    example = person_row(1, nama="Maria Ingan", alamat=instruments.ADDRESS.example)
    problems = _refused(db, sid, [person_row(2), example])
    assert [(p.row, p.column) for p in problems] == [(3, "nama")]
    assert "baris contoh templat" in problems[0].message


def test_the_example_row_sent_through_the_api_is_numbered_from_one(db):
    sid = open_with_items(db, rows=[])
    example = person_row(1, nama="Maria Ingan", alamat=instruments.ADDRESS.example)
    with db.transaction() as s, pytest.raises(Invalid) as refused:
        submission = s.get(imports.Submission, sid)
        imports.write_rows(s, SYSTEM, submission, _text_rows([example]), source=ItemSource.API, first_row=1)
    assert [(p.row, p.column) for p in refused.value.problems] == [(1, "nama")]


def test_a_family_card_a_spreadsheet_stored_as_a_figure_is_said_once_and_only_as_that(db):
    sid = open_with_items(db, rows=[])
    problems = _refused(db, sid, [person_row(1, no_kk="angka:6.50101e+15")])
    assert [(p.row, p.column) for p in problems] == [(2, "no_kk")]
    assert "tersimpan sebagai angka" in problems[0].message


def test_a_nik_stored_as_a_figure_is_not_also_judged_as_the_figure_it_became(db):
    sid = open_with_items(db, rows=[])
    problems = _refused(db, sid, [person_row(1, nik="angka:6.50101e+15")])
    assert [(p.row, p.column) for p in problems] == [(2, "nik")]


def test_the_problems_of_a_refused_file_are_listed_in_the_files_order(db):
    """A figure found on row 3 and a bad category on row 2 are listed row 2 first, as the file reads."""
    sid = open_with_items(db, rows=[])
    problems = _refused(db, sid, [person_row(1, kategori="XYZ"), person_row(2, nik="angka:6.5e+15")])
    assert [p.row for p in problems] == [2, 3]


def test_a_nik_registered_in_another_desa_is_not_one_of_the_imports_warnings(db):
    """The same NIK on another desa's register is the verifiers' to weigh elsewhere, not a warning here."""
    with db.transaction() as s:
        s.add(register_record(1, kode_desa=OTHER))
    sid = open_with_items(db, rows=[])
    report = _import(db, sid, [person_row(1)])
    assert report.warnings == [] and report.summary() == "1 baris baru, 0 diperbarui"


# --- an import written, and its trail --------------------------------------------------------------------


def test_a_row_set_aside_and_sent_again_is_restored_on_the_trail(db):
    sid = open_with_items(db, rows=[person_row(1)])
    [item] = items_of(db, sid)
    with db.transaction() as s:
        items.discard_item(s, SYSTEM, sid, item.id)
    _import(db, sid, [person_row(1)])
    assert [e.subject_id for e in _trail(db, "ITEM_RESTORED")] == [str(item.id)]
    assert _trail(db, "ITEM_UPDATED") == []  # brought back as it was: nothing changed in it


def test_a_row_sent_again_unchanged_writes_no_change_on_the_trail(db):
    sid = open_with_items(db, rows=[person_row(1)])
    _import(db, sid, [person_row(1)])
    assert _trail(db, "ITEM_UPDATED") == []


# --- an upload queued and run in the background -------------------------------------------------------------


def _job(db, sid: int, rows: list[dict], who=SYSTEM, filename: str = "a.csv") -> int:
    with db.transaction() as s:
        return imports.create_job(s, who, sid, filename, _text_rows(rows)).id


def _job_of(db, job_id: int) -> ImportJob:
    with db.read() as s:
        return s.get(ImportJob, job_id)


def test_an_operator_cannot_queue_an_upload_into_another_desas_submission(db, people):
    sid = open_with_items(db, rows=[])
    with pytest.raises(NotFound), db.transaction() as s:
        imports.create_job(s, actor(db, "op.lain"), sid, "a.csv", _text_rows([person_row(1)]))
    with db.read() as s:
        assert s.scalar(select(ImportJob.id)) is None


def test_an_uploads_long_file_name_is_kept_to_two_hundred_characters(db):
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)], filename="d" * 250 + ".csv")
    assert _job_of(db, job_id).filename == "d" * 200


def test_the_oldest_waiting_upload_is_taken_first(db):
    sid = open_with_items(db, rows=[])
    first, second = _job(db, sid, [person_row(1)]), _job(db, sid, [person_row(2)])
    assert imports._take_waiting(db) == first
    assert imports._take_waiting(db) == second


def test_an_upload_is_written_on_the_trail_as_the_person_who_sent_it(db, people):
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)], who=actor(db, "op.desa"))
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    assert _job_of(db, job_id).status == ImportStatus.SELESAI
    assert [e.actor for e in _trail(db, "SUBMISSION_IMPORTED")] == ["op.desa"]


def test_a_refused_upload_says_every_row_was_checked_and_drops_the_rows_it_held(db):
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1), person_row(2, kategori="XYZ")])
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    job = _job_of(db, job_id)
    assert (job.status, job.rows_done, job.pending_rows) == (ImportStatus.GAGAL, 2, None)
    assert job.report["problems_total"] == 1 and job.message.startswith("Impor ditolak: 1 masalah")


def test_a_run_past_half_its_lease_leaves_new_uploads_to_the_next_run(db, monkeypatch):
    """A run takes uploads for half its lease at most, so the lease is renewed before the sweep takes it for dead."""
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)])
    monkeypatch.setattr(jobs, "LEASE", timedelta(0))
    assert imports.run_waiting_jobs(db, clock.now(), poll=0) == "0 impor dijalankan"
    assert _job_of(db, job_id).status == ImportStatus.MENUNGGU


def test_an_operator_cannot_read_another_desas_upload(db, people):
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)], who=actor(db, "op.desa"))
    with db.read() as s:
        assert imports.get_job(s, actor(db, "op.desa"), job_id).id == job_id
        with pytest.raises(NotFound, match=f"Impor {job_id} tidak ada"):
            imports.get_job(s, actor(db, "op.lain"), job_id)
        with pytest.raises(NotFound, match=f"Impor {job_id} tidak ada"):
            imports.problems_csv(s, actor(db, "verif.kec"), job_id)


# --- the sweep of uploads whose process died --------------------------------------------------------------


def _live_run(db, holder: str, until, job_id: str = imports.IMPORT_JOB) -> None:
    with db.transaction() as s:
        s.add(
            JobRun(
                job_id=job_id,
                run_key=f"uji-{job_id}-{holder}",
                holder=holder,
                status=JobStatus.BERJALAN,
                started_at=until - jobs.LEASE,
                lease_until=until,
            )
        )


def _taken(db) -> tuple[int, int]:
    """A submission and its upload, taken by this process as the scheduled import run takes it."""
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)])
    assert imports._take_waiting(db) == job_id
    return sid, job_id


def test_an_upload_whose_run_holds_its_lease_to_this_very_moment_is_alive(db):
    _, job_id = _taken(db)
    now = clock.now()
    _live_run(db, jobs.HOLDER, until=now)
    assert stale_imports.fail_stale_jobs(db, now).startswith("0 ")
    assert _job_of(db, job_id).status == ImportStatus.BERJALAN


def test_a_live_run_of_another_job_does_not_vouch_for_an_upload(db):
    """The process holds the backup's lease, not the import's: the upload it ran died with its import run."""
    _, job_id = _taken(db)
    now = clock.now()
    _live_run(db, jobs.HOLDER, until=now + jobs.LEASE, job_id="impor_macet")
    assert stale_imports.fail_stale_jobs(db, now).startswith("1 ")
    job = _job_of(db, job_id)
    assert (job.status, job.pending_rows) == (ImportStatus.GAGAL, None)
    assert job.message.startswith("Impor tidak selesai") and job.message.endswith("unggah lagi")


def test_an_upload_no_run_took_fails_only_after_waiting_longer_than_the_limit(db):
    sid = open_with_items(db, rows=[])
    job_id = _job(db, sid, [person_row(1)])
    created = _job_of(db, job_id).created_at
    assert stale_imports.fail_stale_jobs(db, created + stale_imports.STALE_AFTER).startswith("0 ")
    assert _job_of(db, job_id).status == ImportStatus.MENUNGGU
    later = created + stale_imports.STALE_AFTER + timedelta(seconds=1)
    assert stale_imports.fail_stale_jobs(db, later).startswith("1 ")
    job = _job_of(db, job_id)
    assert (job.status, job.pending_rows, job.finished_at) == (ImportStatus.GAGAL, None, later)


# --- added: a register record sent again in a file, the API's rows, an upload that finds its submission gone up


def test_a_register_record_found_and_sent_again_as_it_stands_is_counted_unchanged(db, people):
    sid, (item_id,) = _register(db, 1)
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [item_id], VervalStatus.LAYAK)
    [item] = items_of(db, sid)
    row = {k: v for k, v in item.data.items() if k != "atribut"}
    report = _import_rows(db, sid, [row])
    assert (report.added, report.updated, report.unchanged) == (0, 0, 1)
    [after] = items_of(db, sid)
    assert (after.aksi.value, after.verval) == ("periksa", VervalStatus.LAYAK)


def test_rows_sent_through_the_api_are_kept_as_the_apis(db):
    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        submission = s.get(imports.Submission, sid)
        imports.write_rows(s, SYSTEM, submission, _text_rows([person_row(1)]), source=ItemSource.API, first_row=1)
    [item] = items_of(db, sid)
    assert (item.source, item.baris) == (ItemSource.API, 1)


def test_an_upload_whose_submission_was_closed_meanwhile_fails_saying_so_and_writes_nothing(db):
    sid = open_with_items(db, rows=[person_row(1)])
    job_id = _job(db, sid, [person_row(2)])
    with db.transaction() as s:  # the period closed with the desa as not reporting while the upload waited
        s.get(imports.Submission, sid).status = SubmissionStatus.TIDAK_MELAPOR
    imports.run_waiting_jobs(db, clock.now(), poll=0)
    job = _job_of(db, job_id)
    assert (job.status, job.pending_rows) == (ImportStatus.GAGAL, None)
    assert "tidak dapat diubah sekarang" in job.message
    assert job.report == {"problems": [], "problems_total": 0, "problems_per_column": {}}
    assert len(items_of(db, sid)) == 1


def test_a_person_taken_off_the_register_and_sent_again_in_a_file_is_entered_as_new_data(db):
    """The form enters such a person as new data (TAKEN_OFF says so); a file must do the same, not revive the
    copy of the ended record, which the approval sets aside again, losing the person's re-entry."""
    sid, (copy_id,) = _register(db, 1)
    with db.transaction() as s:  # another period's approval recorded the person moved away
        copy = s.get(SubmissionItem, copy_id)
        s.get(Record, copy.record_id).status = RecordStatus.DIHAPUS
        copy.dibuang = True
    report = _import_rows(db, sid, [person_row(1)])
    assert (report.added, report.updated) == (1, 0)
    copy, entry = items_of(db, sid)
    assert (copy.id, copy.dibuang) == (copy_id, True)
    assert (entry.aksi.value, entry.record_id, entry.source) == ("tambah", None, ItemSource.IMPORT)
    with db.read() as s:  # the copy set aside is no second entry of the person
        assert item_checks.check_submission(s, s.get(imports.Submission, sid)) == []
