"""A spreadsheet cannot make the server read, store or show an unbounded amount."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from engine.core import tables
from engine.core.errors import Invalid
from engine.verification import imports, stale_imports
from models import ImportJob, SubmissionItem
from tests.factories import csv_of, open_with_items, person_row

HEADER = ["nik", "no_kk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "kategori", "keterangan"]


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def row_bomb(rows: int) -> bytes:
    """A small file whose sheet expands to `rows` rows: the sheet's XML replaced, compressed."""
    source = zipfile.ZipFile(io.BytesIO(xlsx([HEADER])))
    body = "".join(f'<row r="{n}"><c r="C{n}" t="inlineStr"><is><t>x</t></is></c></row>' for n in range(2, rows + 2))
    sheet = source.read("xl/worksheets/sheet1.xml").decode()
    sheet = sheet.replace("</row></sheetData>", "</row>" + body + "</sheetData>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = sheet.encode() if info.filename == "xl/worksheets/sheet1.xml" else source.read(info)
            target.writestr(info.filename, data)
    return out.getvalue()


def test_an_xlsx_row_bomb_is_refused_while_streaming(monkeypatch):
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, rows=2_000))
    bomb = row_bomb(100_000)
    assert len(bomb) < 1024 * 1024  # small on the wire, whatever its sheet declares
    with pytest.raises(Invalid) as refused:
        imports.read_file("bom.xlsx", bomb)
    assert "2000 baris data" in str(refused.value) and "baris 2002" in str(refused.value)


def test_an_xlsx_that_expands_beyond_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, uncompressed_bytes=50_000))
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        imports.read_file("besar.xlsx", row_bomb(2_000))
    assert "setelah diekstrak" in str(refused.value)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_columns_a_long_cell_or_blank_rows_are_refused(kind):
    def read(rows):
        if kind == "csv":
            return imports.read_file("a.csv", "\n".join(",".join(map(str, r)) for r in rows).encode())
        return imports.read_file("a.xlsx", xlsx(rows))

    wide = HEADER + [f"extra{i}" for i in range(70)]
    with pytest.raises(Invalid, match="melampaui batas"):
        read([wide, ["x"] * len(wide)])
    with pytest.raises(Invalid, match="melampaui batas"):
        read([HEADER, ["", "", "x" * 3000, "", "", "", "LUT", ""]])
    with pytest.raises(Invalid, match="melampaui batas"):
        read([HEADER] + [["", ""]] * 10_001 + [["", "", "Ani", "", "", "", "LUT", ""]])


def test_cells_that_repeat_one_long_shared_string_are_refused_by_the_tables_whole_text(monkeypatch):
    """An XLSX stores a text once and points every cell at it: a 70 KB file read as 64 MB of text
    passed every limit of a cell, a row and a column, and was kept whole on the import's job."""
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, text_chars=100_000))
    long = "x" * 1_999
    bomb = xlsx([HEADER] + [["", "", long, "", "", long, "LUT", long]] * 100)
    assert len(bomb) < 50_000
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        imports.read_file("bom.xlsx", bomb)
    assert "isi tabel lebih dari 100.000 karakter" in str(refused.value) and "baris 18" in str(refused.value)


def test_an_xlsx_whose_shared_strings_are_beyond_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, shared_strings_bytes=20_000))
    many = io.BytesIO()  # Excel keeps a sheet's texts in one part, read whole when the workbook opens
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "xl/sharedStrings.xml", "<sst>" + "".join(f"<si><t>{i:x}</t></si>" for i in range(2_000)) + "</sst>"
        )
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        imports.read_file("teks.xlsx", many.getvalue())
    assert "teks berkas XLSX lebih dari" in str(refused.value)


@pytest.mark.parametrize("where", ["header", "row"])
def test_a_csv_row_of_millions_of_empty_cells_is_refused_before_they_are_read(where):
    wide = "," * 2_000_000
    content = (",".join(HEADER) + wide + "\nx,,Ani\n") if where == "header" else (",".join(HEADER) + "\n,,Ani" + wide)
    with pytest.raises(Invalid, match="melampaui batas") as refused:
        imports.read_file("lebar.csv", content.encode())
    assert "lebih dari 16384 sel" in str(refused.value)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_repeated_header_columns_are_refused(kind):
    header = ["nama", "kategori", "nama"]
    content = b"nama,kategori,nama\nAni,LUT,Budi\n" if kind == "csv" else xlsx([header, ["Ani", "LUT", "Budi"]])
    with pytest.raises(Invalid, match="berulang") as refused:
        imports.read_file(f"a.{kind}", content)
    assert "nama" in str(refused.value)


def test_a_csv_beyond_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr(tables, "TABLE_LIMITS", dataclasses.replace(tables.TABLE_LIMITS, rows=100))
    content = csv_of([person_row(i) for i in range(1, 102)]).encode()
    with pytest.raises(Invalid, match="100 baris data"):
        imports.read_file("a.csv", content)


def test_a_job_keeps_a_bounded_list_of_problems_shows_the_first_and_gives_all_it_kept(browser, db, people, monkeypatch):
    monkeypatch.setattr(imports, "PROBLEMS_KEPT", 300)
    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    rows = [person_row(i, kategori="XYZ") for i in range(1, 451)]
    done = browser.post(
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of(rows).encode()), "data.csv")},
        content_type="multipart/form-data",
    )
    page = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="gagal"' in page and "200 pertama dari 450" in page
    with db.read() as s:
        report = s.scalar(select(ImportJob.report))
        assert s.scalar(select(SubmissionItem.id)) is None
    assert len(report["problems"]) == imports.PROBLEMS_KEPT and report["problems_total"] == 450
    assert report["problems_per_column"] == {"kategori": 450}
    assert "(300 masalah pertama)" in page
    listed = browser.get(done.headers["Location"] + "/masalah.csv")
    text = listed.get_data().decode("utf-8-sig")
    assert listed.headers["Content-Type"].startswith("text/csv") and text.startswith("baris,kolom,masalah")
    assert text.count("\n") == 301 and "\n2,kategori," in text  # every kept problem, from the file's first row
    other = browser.get(done.headers["Location"].replace("/impor/", "/impor/9") + "/masalah.csv")
    assert other.status_code == 404


def test_a_job_left_running_by_a_dead_process_is_marked_failed(db):
    from datetime import timedelta

    from engine.core import clock
    from models import ImportStatus
    from tests.factories import SYSTEM

    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job_id = imports.create_job(s, SYSTEM, sid, "a.csv", [{"nama": "x"}] * 10).id
        s.get(ImportJob, job_id).status = ImportStatus.BERJALAN
    now = clock.now()
    assert stale_imports.fail_stale_jobs(db, now).startswith("0 ")  # still young
    assert stale_imports.fail_stale_jobs(db, now + stale_imports.STALE_AFTER + timedelta(minutes=1)).startswith("1 ")
    with db.read() as s:
        job = s.get(ImportJob, job_id)
        assert job.status == ImportStatus.GAGAL and "unggah lagi" in job.message
    assert "impor_macet" in db.registry.jobs


def test_a_job_whose_process_died_is_failed_once_that_process_holds_no_live_run(db):
    """Not half an hour after the upload: as soon as the process running it holds no live run of the
    import job (a process killed mid-import loses its run's lease within `jobs.LEASE`)."""
    from datetime import timedelta

    from engine.core import clock, jobs
    from models import ImportStatus, JobRun, JobStatus
    from tests.factories import SYSTEM

    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job_id = imports.create_job(s, SYSTEM, sid, "a.csv", [{"nama": "x"}] * 10).id
    assert imports._take_waiting(db) == job_id  # as the scheduled run takes it
    now = clock.now()
    with db.transaction() as s:
        assert s.get(ImportJob, job_id).runner == jobs.HOLDER
        s.add(
            JobRun(
                job_id=imports.IMPORT_JOB,
                run_key="uji",
                holder=jobs.HOLDER,
                status=JobStatus.BERJALAN,
                started_at=now,
                lease_until=now + jobs.LEASE,
            )
        )
    assert stale_imports.fail_stale_jobs(db, now + timedelta(minutes=5)).startswith("0 ")  # its run is alive
    lapsed = now + jobs.LEASE + timedelta(minutes=1)
    assert lapsed < now + stale_imports.STALE_AFTER
    assert stale_imports.fail_stale_jobs(db, lapsed).startswith("1 ")
    with db.read() as s:
        job = s.get(ImportJob, job_id)
        assert job.status == ImportStatus.GAGAL and "unggah lagi" in job.message


def test_uploads_wait_for_the_scheduled_import_job_and_each_runs_once(db):
    from engine.core import clock, jobs
    from models import ImportStatus
    from tests.factories import SYSTEM, csv_of, person_row

    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        first = imports.create_job(
            s, SYSTEM, sid, "a.csv", imports.read_file("a.csv", csv_of([person_row(1)]).encode())
        )
        second = imports.create_job(
            s, SYSTEM, sid, "b.csv", imports.read_file("b.csv", csv_of([person_row(2)]).encode())
        )
        first, second = first.id, second.id
    with db.read() as s:  # nothing runs in the request: both wait, with their rows
        assert {j.status for j in s.scalars(select(ImportJob))} == {ImportStatus.MENUNGGU}
    assert jobs.run_job(db, "impor", clock.now()) == jobs.Outcome.SELESAI  # under the scheduler's lease
    with db.read() as s:
        done = {j.id: j for j in s.scalars(select(ImportJob))}
        assert [done[first].status, done[second].status] == [ImportStatus.SELESAI, ImportStatus.SELESAI]
        assert done[first].pending_rows is None and done[second].pending_rows is None
        assert len(s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)).all()) == 2
    assert imports.run_waiting_jobs(db, clock.now(), poll=0) == "0 impor dijalankan"  # nothing runs twice


def test_an_import_failed_meanwhile_writes_nothing_when_its_process_reaches_the_end(db):
    """Taken for dead (another node's live run does not vouch for it) and told to upload again, an
    import must not then save its rows: the person would upload them a second time."""
    from engine.core import clock, jobs
    from models import ImportStatus, JobRun, JobStatus
    from tests.factories import SYSTEM, items_of

    sid = open_with_items(db, rows=[])
    with db.transaction() as s:
        job_id = imports.create_job(s, SYSTEM, sid, "a.csv", [{k: str(v) for k, v in person_row(1).items()}]).id
    assert imports._take_waiting(db) == job_id
    now = clock.now()
    with db.transaction() as s:  # another node's run of the import job is alive; this process holds none
        s.add(
            JobRun(
                job_id=imports.IMPORT_JOB,
                run_key="lain",
                holder="node-lain:1",
                status=JobStatus.BERJALAN,
                started_at=now,
                lease_until=now + jobs.LEASE,
            )
        )
    assert stale_imports.fail_stale_jobs(db, now).startswith("1 ")
    imports.run_job(db, job_id)  # the process was alive after all, and reaches the end
    with db.read() as s:
        assert s.get(ImportJob, job_id).status == ImportStatus.GAGAL
    assert items_of(db, sid) == []
