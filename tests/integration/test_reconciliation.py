"""A year's reconciliation from its opening to the frozen determination, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.bootstrap import reconciliation_calendar
from engine.bpmn import definitions
from engine.core.config import DEFAULT_BPMN_DIR
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.people import users
from engine.quality import aggregates, review
from engine.verification import decisions, determination_exports, determinations, forum_review, inbox, reconciliation
from models import (
    Cycle,
    CycleStatus,
    Determination,
    FlagStatus,
    HumanTask,
    ProcessInstance,
    QualityFlag,
    Record,
    Severity,
)
from tests.factories import (
    SYSTEM,
    decide,
    finish_as_system,
    open_period,
    person_row,
    submit,
)
from tests.integration.reconciliation_steps import (
    YEAR,
    accept_at_forum,
    decree_at_head,
    determine,
    explain_and_send,
    flags_of,
    open_tasks,
    person,
    review_regencies,
)


def test_lanes_name_roles_at_tiers_and_unknown_ones_are_refused():
    xml = (DEFAULT_BPMN_DIR / "rekonsiliasi_tahunan.bpmn").read_text("utf-8")
    assert definitions.parse_definition(xml).process_key == "rekonsiliasi_tahunan"
    for bad in ("provinsi:bupati", "desa:forum_sdi", "kabupaten:kepala_dinas", "pusat"):
        with pytest.raises(Invalid) as refused:
            definitions.parse_definition(xml.replace('name="provinsi:forum_sdi"', f'name="{bad}"'))
        assert any(p.element == "Lane_forum_sdi" for p in refused.value.problems)


def test_a_year_from_opening_to_the_frozen_determination(year):
    db = year
    with db.transaction() as session:
        opened = reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR)
    assert opened.created
    with db.transaction() as session:  # opening the year twice opens nothing new
        again = reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR)
    assert (again.created, again.instance_id) == (False, opened.instance_id)

    # one review task per regency, each in its own walidata's inbox only
    regency_tasks = open_tasks(db, "tinjauan_kabupaten")
    assert [t.region_kode for t in regency_tasks][:2] == ["65.01", "65.02"]
    assert {t.peran for t in regency_tasks} == {"walidata"}
    bulungan = regency_tasks[0]
    with db.read() as session:
        assert [t.id for t in inbox.inbox_page(session, person(db, "walidata.kab")).tasks] == [bulungan.id]
        assert bulungan.id not in [t.id for t in inbox.inbox_page(session, person(db, "walidata.kab.lain")).tasks]
        assert inbox.inbox_page(session, person(db, "verif.kab")).total == 0  # a verifier is not the walidata

    flags = flags_of(db, "65.01")
    discrepancy = next(f for f in flags if f.rule == "instansi")
    gap = next(f for f in flags if f.rule == "selisih_instansi")
    assert discrepancy.severity == Severity.WARNING and gap.severity == Severity.INFO

    with db.transaction() as session:  # nothing goes up while a warning is unexplained
        with pytest.raises(Invalid) as refused:
            reconciliation.submit_regency_review(session, person(db, "walidata.kab"), bulungan.id)
    assert any(f"tanda_{discrepancy.id}" == p.column for p in refused.value.problems)

    explain_and_send(db, bulungan.id, "DP3AP2KB menghitung semua lansia, bukan hanya yang terlantar")
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "walidata.kab.lain"), regency_tasks[1].id)
        for other in regency_tasks[2:]:  # regencies without a walidata of their own in this test
            finish_as_system(session, session.get(HumanTask, other.id))

    # the Forum returns the ODHA gap with a reason (our count missed someone) and accepts the rest
    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:
        listed = forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))
    verdicts = {
        f.id: ("kembalikan", "periksa lagi ODHA Gunung Putih; Dinkes mencatat pasien yang belum terdaftar")
        if f.id == gap.id
        else ("terima", "")
        for f in listed
    }
    with db.transaction() as session:
        with pytest.raises(NotFound):  # the Forum's task is not in a regency walidata's inbox
            forum_review.forum_review(session, person(db, "walidata.kab"), forum_review.ForumReview(forum.id, verdicts))
    with db.transaction() as session:
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))

    # only Bulungan reviews again; its correction is a new record through the normal verification
    (again_task,) = open_tasks(db, "tinjauan_kabupaten")
    assert again_task.region_kode == "65.01"
    correction = open_period(db, f"{YEAR}-Q3", [person_row(5, kategori="ODHA")])
    submit(db, "op.desa", correction)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, correction, "approve")
    (reopened,) = [
        f for f in flags_of(db, "65.01") if f.status == FlagStatus.TERBUKA and f.severity != Severity.INFO
    ] or [f for f in flags_of(db, "65.01") if f.rule == "selisih_instansi"]
    with db.transaction() as session:
        reconciliation.explain_flag(
            session,
            person(db, "walidata.kab"),
            again_task.id,
            reopened.id,
            review.FlagAction.CLOSE,
            "ODHA yang terlewat sudah didaftarkan dan diverifikasi",
        )
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "walidata.kab"), again_task.id)

    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.read() as session:
        listed = forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))
    # what was accepted before is not asked again: only the corrected gap is
    assert [(f.rule, f.region_kode, f.status) for f in listed] == [("selisih_instansi", "65.01", FlagStatus.SELESAI)]
    with db.transaction() as session:
        forum_review.forum_review(
            session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, {listed[0].id: ("terima", "")})
        )

    # the head refuses without a decree; then approves
    (head,) = open_tasks(db, "penetapan_kepala")
    kepala = reconciliation.HeadDecision(head.id, "setuju", nomor_sk="", tanggal_sk="")
    with db.transaction() as session, pytest.raises(Invalid):
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), kepala)
    no_such_day = reconciliation.HeadDecision(head.id, "setuju", nomor_sk="188.44/123/2027", tanggal_sk="31/02/2027")
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), no_such_day)
    assert [p.message for p in refused.value.problems] == ["tanggal surat keputusan bukan tanggal yang ada: DD/MM/YYYY"]
    for hidden in ("SK\u200b-1/2027", "SK-\u202e7202/1"):  # a part unseen, or printed backwards
        unseen = reconciliation.HeadDecision(head.id, "setuju", nomor_sk=hidden, tanggal_sk="20/11/2026")
        with db.transaction() as session, pytest.raises(Invalid) as refused:
            reconciliation.decide_determination(session, person(db, "kepala.dinas"), unseen)
        assert [p.column for p in refused.value.problems] == ["nomor_sk"]
    ahead = reconciliation.HeadDecision(head.id, "setuju", nomor_sk="", tanggal_sk="15/01/2099")  # both at once
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), ahead)
    assert [p.column for p in refused.value.problems] == ["nomor_sk", "tanggal_sk"]
    assert "belum tiba" in refused.value.problems[1].message
    approve = reconciliation.HeadDecision(head.id, "setuju", nomor_sk="188.44/123/DINSOS/2027", tanggal_sk="20/11/2026")
    with db.transaction() as session:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), approve)

    with db.read() as session:
        shown = determinations.show(session, SYSTEM, YEAR)
        frozen = session.scalar(select(Determination))
        assert determinations.content_hash(frozen.content) == frozen.content_hash == shown["hash"]
    assert shown["decree"] == {"nomor": "188.44/123/DINSOS/2027", "tanggal": "2026-11-20"}
    assert shown["approved_by"] == "kepala.dinas"
    assert shown["totals"]["LUT"] == 3 and shown["totals"]["ODHA"] == 2 and shown["jumlah_catatan"] == 5

    with db.transaction() as session, pytest.raises(ValueError):  # frozen: never changed afterwards
        session.get(Determination, frozen.id).nomor_sk = "lain"
        session.flush()
    with db.transaction() as session:  # opening a determined year again opens nothing new
        assert not reconciliation.open_year(session, SYSTEM, "65", YEAR).created


def test_opening_waits_for_open_verification_tasks_unless_confirmed(year):
    db = year
    pending = open_period(db, f"{YEAR}-Q3", [person_row(9)])
    submit(db, "op.desa", pending)  # a kecamatan task of 2026 is open
    with db.transaction() as session, pytest.raises(Conflict) as refused:
        reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR)
    assert "tugas verifikasi" in str(refused.value) and f"{YEAR}-Q3" in str(refused.value)
    assert "Verifikasi kecamatan, Gunung Putih" in str(refused.value)  # the task and its place, by name
    with db.transaction() as session:  # the scheduler's run says why the year waits
        session.add(Cycle(periode=f"{YEAR}-Q4", region_kode="65", status=CycleStatus.DITUTUP, batas={}))
    said = reconciliation_calendar(db, datetime(YEAR + 1, 1, 2, tzinfo=UTC))
    assert said.startswith(f"0 rekonsiliasi dibuka; {YEAR} menunggu: Masih ada 1 tugas verifikasi tahun {YEAR}")
    with db.transaction() as session:
        assert reconciliation.open_year(session, person(db, "walidata.prov"), "65", YEAR, force=True).created


def test_only_the_province_opens_a_year(year):
    db = year
    for username in ("walidata.kab", "forum.sdi", "op.desa"):
        with db.transaction() as session, pytest.raises(Forbidden):
            reconciliation.open_year(session, person(db, username), "65", YEAR)
    with db.transaction() as session, pytest.raises(Invalid):
        reconciliation.open_year(session, SYSTEM, "65", "20x6")


def test_a_years_determination_counts_the_register_as_its_cycles_left_it(year):
    """A record verified in the next year's first cycle, while this year is still being reconciled,
    is not one of this year's figures; this year's count stays what its cycles verified."""
    later = open_period(year, f"{YEAR + 1}-Q1", [person_row(9)])
    submit(year, "op.desa", later)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(year, user, later, "approve")
    determine(year, YEAR, "SK/2027/001")
    with year.read() as session:
        frozen = session.scalar(select(Determination).where(Determination.tahun == YEAR))
        counted = {r[0] for r in frozen.content["catatan"]}
        ninth = session.scalar(select(Record.id).where(Record.nik == person_row(9)["nik"]))
        lut = {(code, kategori): n for code, kategori, n in frozen.content["angka"]}
    assert ninth not in counted and len(counted) == 4
    assert lut[("65", "LUT")] == 3 and lut[("65", "ODHA")] == 1


def test_exports_carry_one_hash_and_the_next_year_shows_the_change(year, cli, tmp_path):
    import csv
    import io

    import openpyxl
    import pypdfium2

    db = year
    determine(db, YEAR, "SK–1/2027")  # an en dash, as a decree pasted from a word processor has
    shown = cli("determination", "show", str(YEAR), "--json")
    import json

    first = json.loads(shown.output)
    assert " WITA" in cli("determination", "show", str(YEAR)).output  # the head's approval, as the office reads it
    for fmt in ("csv", "xlsx", "pdf", "csv"):
        cli("determination", "export", str(YEAR), "--format", fmt, "--out", str(tmp_path / f"p.{fmt}"))
    rows = list(csv.reader(io.StringIO((tmp_path / "p.csv").read_text("utf-8"))))
    assert ["# hash_sha256", first["hash"]] in rows and ["# nomor_sk", "SK–1/2027"] in rows
    approved = dict(r for r in rows if len(r) == 2)["# disetujui_pada"]
    assert approved.endswith("+08:00")  # in WITA, as every page shows times, with its offset
    assert ["65.01", "Kabupaten Bulungan", "LUT", "Lanjut Usia Terlantar", "individu", "3"] in rows
    book = openpyxl.load_workbook(tmp_path / "p.xlsx")
    assert dict(book["metadata"].iter_rows(values_only=True))["hash_sha256"] == first["hash"]
    pdf = pypdfium2.PdfDocument(tmp_path / "p.pdf")
    request_close = pdf.close
    page = pdf[0].render(scale=1).to_pil().convert("L")
    assert len(pdf) >= 1 and page.getextrema()[0] < 128  # something dark was drawn on the page
    assert "SK–1/2027" in pdf[0].get_textpage().get_text_range()  # an en dash as typed, not "?"
    request_close()
    assert json.loads(cli("determination", "show", str(YEAR), "--json").output)["hash"] == first["hash"]

    # the next year: one more LUT record in Bulungan
    more = open_period(db, f"{YEAR + 1}-Q1", [person_row(11)])
    submit(db, "op.desa", more)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, more, "approve")
    determine(db, YEAR + 1, "SK-2/2028")
    diff = json.loads(cli("determination", "diff", str(YEAR), str(YEAR + 1), "--json").output)
    change = next(c for c in diff["perubahan"] if (c["wilayah"], c["kategori"]) == ("65.01", "LUT"))
    assert (change["sebelum"], change["sesudah"], change["selisih"]) == (3, 4, 1)
    assert {c["wilayah"] for c in diff["perubahan"]} == {"65", "65.01"}  # compiled: no desa's ODHA count
    listed = json.loads(cli("determination", "list", "--json").output)
    assert [d["tahun"] for d in listed] == [YEAR + 1, YEAR]
    refused = cli("determination", "show", "1999", ok=False)
    assert "Belum ada penetapan" in refused.stderr
    again = json.loads(cli("reconciliation", "open", str(YEAR + 1), "--json").output)
    assert again["dibuka"] is False
    status = json.loads(cli("reconciliation", "status", str(YEAR + 1), "--json").output)
    assert status["penetapan"]["decree"]["nomor"] == "SK-2/2028"


def test_a_crash_while_computing_or_freezing_leaves_nothing_half_made(year, monkeypatch):
    db = year

    def crash(*args, **kwargs):
        raise RuntimeError("listrik padam")

    with monkeypatch.context() as patched:
        patched.setattr(aggregates, "snapshot_records", crash)
        with pytest.raises(Exception, match="listrik padam"), db.transaction() as session:
            reconciliation.open_year(session, SYSTEM, "65", YEAR)
    with db.read() as session:
        assert reconciliation.instance_of(session, YEAR) is None
        assert session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.peran.is_not(None))) == 0

    with monkeypatch.context() as patched:
        patched.setattr(determinations, "build_content", crash)
        with pytest.raises(Exception, match="listrik padam"):
            determine(db, YEAR, "SK-9/2027")
    (head,) = open_tasks(db, "penetapan_kepala")  # the head's task still waits
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Determination)) == 0
    decree_at_head(db, head, "SK-9/2027", "2026-11-25")
    with db.read() as session:
        assert determinations.show(session, SYSTEM, YEAR)["decree"]["nomor"] == "SK-9/2027"


def test_a_determined_year_is_corrected_only_by_a_numbered_revision_with_its_reason(year, cli, tmp_path):
    import json

    db = year
    determine(db, YEAR, "SK-1/2027")
    again = json.loads(cli("reconciliation", "open", str(YEAR), "--json").output)
    assert again["dibuka"] is False  # opening the determined year again opens nothing new
    said = cli("reconciliation", "open", str(YEAR)).output  # and says what would: a numbered revision
    assert f"Tahun {YEAR} sudah ditetapkan (revisi 0)" in said and "--revision" in said
    opened = json.loads(
        cli("reconciliation", "open", str(YEAR), "--revision", "ODHA Malinau terlewat", "--json").output
    )
    assert opened["dibuka"] is True
    with db.transaction() as session:  # the revision's reconciliation runs like the year's
        reconciliation.open_year(session, SYSTEM, "65", YEAR, alasan_revisi="ODHA Malinau terlewat")
    for task in open_tasks(db, "tinjauan_kabupaten"):
        with db.transaction() as session:
            finish_as_system(session, session.get(HumanTask, task.id))
    (forum,) = open_tasks(db, "tinjauan_forum")
    with db.transaction() as session:
        listed = forum_review.discrepancies(session, session.get(ProcessInstance, forum.instance_id))
        verdicts = {f.id: ("terima", "") for f in listed}
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum.id, verdicts))
    (head,) = open_tasks(db, "penetapan_kepala")
    decree_at_head(db, head, "SK-1a/2027", "2026-11-27")
    with db.read() as session:
        first, revision = session.scalars(select(Determination).order_by(Determination.revisi)).all()
    assert (revision.revisi, revision.replaces_id, revision.alasan_revisi) == (1, first.id, "ODHA Malinau terlewat")
    assert first.nomor_sk == "SK-1/2027"  # the first is kept as it was
    shown = json.loads(cli("determination", "show", str(YEAR), "--json").output)
    assert (shown["revisi"], shown["decree"]["nomor"]) == (1, "SK-1a/2027")
    with db.read() as session:  # its files say what it replaces and why, as the API does
        said = dict(determination_exports.metadata(session, revision, ZoneInfo("Asia/Makassar")))
    assert said["menggantikan"] == f"revisi 0, SK SK-1/2027, hash_sha256 {first.content_hash}"
    assert said["alasan_revisi"] == "ODHA Malinau terlewat"
    out = tmp_path / "penetapan.csv"
    for asked, latest in ((["--revision", "0"], False), ([], True)):  # the first kept, or the latest by default
        cli("determination", "export", str(YEAR), "--format", "csv", "--out", str(out), *asked)
        assert ("SK-1a/2027" in out.read_text(encoding="utf-8-sig")) is latest
    refused = cli(
        "determination", "export", str(YEAR), "--format", "csv", "--out", str(out), "--revision", "7", ok=False
    )
    assert f"Penetapan tahun {YEAR} tidak mempunyai revisi 7" in refused.output  # not "no determination yet"
    # the year reconciled again is an instance of its own, not a desa's second instance of a period
    assert "Pemeriksaan keutuhan: utuh" in cli("check").output  # exit 0, where it said "desa 65 ...: 2 instans"


def test_agency_indicators_are_configured_and_the_comparison_knows_what_it_compares(year, cli, tmp_path):
    db = year
    cli("agency", "map", "Dinkes", "ODHA_ART", "ODHA", "--different", "--note", "ODHA yang menjalani terapi ARV")
    cli("agency", "map", "Dinkes", "ODHA_ART", "ZZZ", ok=False)  # an unknown category is refused
    listed = cli("agency", "list", "--json").output
    assert '"sama": false' in listed
    figures = tmp_path / "dinkes-2026.csv"
    figures.write_text("instansi,indikator,kode_wilayah,periode,nilai\nDinkes,ODHA_ART,65.01,2026,45\n")
    cli("quality", "agency", str(figures))
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    flagged = {(f.rule, f.sources.get("instansi")) for f in flags_of(db, "65.01")}
    assert ("instansi", "DP3AP2KB") in flagged  # the real discrepancy is still raised
    assert not any(agency == "Dinkes" for _, agency in flagged)  # Dinkes counts something else: no level gap

    bad = tmp_path / "salah.csv"
    bad.write_text(
        "instansi,indikator,kode_wilayah,periode,nilai\n"
        "Dinkes,ODHA_ART,65.99,2026,4\n"  # unknown region
        "Dinkes,TB_PARU,65.01,2026,4\n"  # an indicator nobody mapped
        "Dinkes,ODHA_ART,65.01,20x6,4\n"  # not a year
    )
    refused = cli("quality", "agency", str(bad), ok=False)
    assert "3 masalah" in refused.stderr
    for row, what in ((2, "65.99"), (3, "TB_PARU"), (4, "20x6")):
        assert f"baris {row}" in refused.stderr and what in refused.stderr


def test_the_scheduler_opens_a_year_once_its_last_cycle_has_closed(year):
    db = year
    now = datetime(2027, 1, 2, 0, 5, tzinfo=UTC)
    with db.transaction() as session:
        session.add(Cycle(periode=f"{YEAR}-Q4", region_kode="65", status=CycleStatus.DIBUKA, batas={}))
    assert reconciliation_calendar(db, now).startswith("0 ")  # the year's last cycle is still open
    with db.transaction() as session:
        session.execute(Cycle.__table__.update().values(status=CycleStatus.DITUTUP))
    assert reconciliation_calendar(db, now) == f"1 rekonsiliasi dibuka {YEAR}"
    assert reconciliation_calendar(db, now).startswith("0 ")  # and only once
    assert len(open_tasks(db, "tinjauan_kabupaten")) == 5


def test_one_person_acts_in_one_lane_of_a_year(year):
    from engine.people import administration

    db = year
    with db.transaction() as session:
        forum = users.find_user(session, "forum.sdi")
        administration.assign_role(session, SYSTEM, forum.id, "walidata", "65.01")
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    (bulungan,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    for flag in flags_of(db, "65.01"):
        if flag.status == FlagStatus.TERBUKA:
            with db.transaction() as session:
                reconciliation.explain_flag(
                    session, person(db, "forum.sdi"), bulungan.id, flag.id, review.FlagAction.EXPLAIN, "wajar"
                )
    with db.transaction() as session:
        reconciliation.submit_regency_review(session, person(db, "forum.sdi"), bulungan.id)
    with db.transaction() as session:
        for other in open_tasks(db, "tinjauan_kabupaten"):
            finish_as_system(session, session.get(HumanTask, other.id))
    (forum_task,) = open_tasks(db, "tinjauan_forum")
    with db.transaction() as session, pytest.raises(Forbidden, match="empat mata|dua tingkat"):
        forum_review.forum_review(session, person(db, "forum.sdi"), forum_review.ForumReview(forum_task.id, {}))


def test_a_lane_role_step_is_not_completed_as_a_verification_decision(year):
    # `sijosku task complete --decision approve` on the regency's review left the year stuck before the Forum
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    (bulungan,) = [t for t in open_tasks(db, "tinjauan_kabupaten") if t.region_kode == "65.01"]
    with db.transaction() as session, pytest.raises(Invalid, match="langkah rekonsiliasi"):
        decisions.decide(
            session,
            person(db, "walidata.kab"),
            decisions.DecisionCommand(task_id=bulungan.id, keputusan="setuju", semua_sesuai=True),
        )
    assert bulungan.id in [t.id for t in open_tasks(db, "tinjauan_kabupaten")]


def test_the_head_cannot_determine_while_a_warning_is_unexplained(year):
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    accept_at_forum(db)
    # after the Forum, the province reopens a warning on the quality page: its explanation no longer holds
    warning = next(f for f in flags_of(db, "65.01") if f.severity == Severity.WARNING)
    with db.transaction() as session:
        review.settle(
            session,
            person(db, "walidata.prov"),
            warning.id,
            review.FlagAction.REOPEN,
            "angka DP3AP2KB direvisi",
            warning.status,
        )
    (head,) = open_tasks(db, "penetapan_kepala")
    approve = reconciliation.HeadDecision(head.id, "setuju", "", "SK-5/2027", "2026-11-25")
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), approve)
    assert "Penetapan ditolak" in str(refused.value)
    assert f"tanda_{warning.id}" in {p.column for p in refused.value.problems}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Determination)) == 0
    assert [t.id for t in open_tasks(db, "penetapan_kepala")] == [head.id]  # the head's task still waits


@pytest.mark.parametrize("status", [FlagStatus.DIJELASKAN, FlagStatus.DIAKUI])
def test_an_error_explained_or_acknowledged_still_stops_the_determination(year, status):
    """A warning may be explained; an error (a total that is not the sum of its parts) must be
    corrected: figures that do not add up are never made official with a note beside them."""
    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    accept_at_forum(db)
    with db.transaction() as session:
        error = QualityFlag(
            rule="total",
            severity=Severity.ERROR,
            message="jumlah kecamatan tidak sama dengan jumlah desanya",
            tingkat="kabupaten",
            region_kode="65.01",
            kategori="LUT",
            periode=str(YEAR),
            status=status,
            ack_note="akan diperbaiki tahun depan",
        )
        session.add(error)
    (head,) = open_tasks(db, "penetapan_kepala")
    approve = reconciliation.HeadDecision(head.id, "setuju", "", "SK-6/2027", "2026-11-25")
    with db.transaction() as session, pytest.raises(Invalid) as refused:
        reconciliation.decide_determination(session, person(db, "kepala.dinas"), approve)
    assert f"tanda_{error.id}" in {p.column for p in refused.value.problems}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Determination)) == 0
