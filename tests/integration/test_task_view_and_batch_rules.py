"""What a verifier sees of a submission and how a cycle's desa are opened in batches: the task page's
returns, set-asides and views, the tiers' verdicts by round, the regions' names over time and who
reads their history, the service steps of the tiered process, and the operator's draft."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from engine.bpmn import bulk_start, definitions, timers
from engine.core import clock
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, NotFound
from engine.people import privacy
from engine.verification import (
    claims,
    cycle_batches,
    cycles,
    imports,
    items,
    region_history,
    region_updates,
    register,
    submission_view,
    submissions,
    task_page,
    verdicts,
)
from models import (
    AuditEvent,
    CycleRhythm,
    HumanTask,
    NikCheck,
    NikStatus,
    OutboxEvent,
    QualityFlag,
    Record,
    Submission,
    SubmissionItem,
    Verdict,
    VervalStatus,
)
from tests.factories import (
    PERIOD,
    SYSTEM,
    actor,
    carded_record,
    csv_of,
    decide,
    make_team,
    new_person,
    open_task,
    person_row,
    submit,
)
from tests.regions import listing, regions_restored  # noqa: F401  (the fixture)

DESA = "65.01.01.2005"  # Gunung Putih
BASIS = ("Kepmendagri No. 100.1.1-9999 Tahun 2026", date(2026, 11, 1))
TODAY = date(2026, 12, 3)


def _renamed(db, name: str) -> None:
    with db.transaction() as s:
        region_updates.apply_update(s, SYSTEM, listing(rename={DESA: name}), "65", BASIS, TODAY)


@pytest.mark.usefixtures("regions_restored")
def test_a_region_renamed_twice_since_a_moment_is_named_as_it_was_at_that_moment(db):
    """A determination names its regions as its decree did, not by a rename in between."""
    moment = clock.now()
    _renamed(db, "Gunung Putih Raya")
    _renamed(db, "Gunung Putih Baru")
    with db.read() as s:
        then = region_history.names_at(s, moment, [DESA, "65.01"])
        assert then == {DESA: "Gunung Putih", "65.01": "Kabupaten Bulungan"}
        assert region_history.names_at(s, clock.now(), [DESA]) == {DESA: "Gunung Putih Baru"}


@pytest.mark.usefixtures("regions_restored")
def test_the_history_of_regions_is_for_province_admins_and_any_auditor_only(db):
    """Regency admins and verifiers do not read the province's list of region changes; auditors do, newest first."""
    readers = [new_person(db, "admin.prov2", region="65"), new_person(db, "auditor.kab2", "auditor", "65.02")]
    refused = [new_person(db, "admin.kab"), new_person(db, "verif.kab2", "verifier", "65.01")]
    _renamed(db, "Gunung Putih Raya")
    _renamed(db, "Gunung Putih Baru")
    with db.read() as s:
        for reader in readers:  # the newest change first
            changes = region_history.history(s, reader)
            assert [c.nama_sesudah for c, _ in changes] == ["Gunung Putih Baru", "Gunung Putih Raya"]
        for person in refused:
            with pytest.raises(Forbidden):
                region_history.history(s, person)


def _item(db, sid: int, serial: int) -> int:
    with db.read() as s:
        nik = person_row(serial)["nik"]
        return s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid, SubmissionItem.nik == nik))


def _sent_up_with_register(db) -> int:
    """Gunung Putih's team; two register records (people 1 and 2) found still eligible and one new
    entry (person 7), sent up to the kecamatan."""
    make_team(db)
    carded_record(db, 1)
    carded_record(db, 2)
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        register.prefill(s, {DESA: sid})
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(7)]))
    submit(db, "op.desa", sid)
    return sid


MOVER = 4
NEW_KK = "6501010101260009"


def _carried_and_next_waiting(db) -> tuple[int, int, int]:
    """People 1 and 4 verified in Q1; Q2 marks person 4 moved and corrects person 1's address and goes
    up to the kabupaten; Q3, opened meanwhile, had an entry of its own set aside by the operator before
    it went up to the kecamatan. Returns Q2, Q3 and the Q3 kecamatan task."""
    make_team(db)
    with db.transaction() as s:
        q1 = submissions.open_submission(s, SYSTEM, DESA, "2026-Q1", "65").submission.id
        imports.import_items(s, SYSTEM, q1, csv_of([person_row(1), person_row(MOVER)]))
    submit(db, "op.desa", q1)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, q1, "approve")
    operator = actor(db, "op.desa")
    with db.transaction() as s:
        q2 = submissions.open_submission(s, SYSTEM, DESA, "2026-Q2", "65").submission.id
        register.prefill(s, {DESA: q2})
    with db.transaction() as s:
        register.set_status(s, operator, q2, [_item(db, q2, MOVER)], VervalStatus.PINDAH, "ke Malinau")
        changed = {"alamat": "RT 07 Dusun Baru", "no_kk": NEW_KK}
        row = {k: person_row(1).get(k, "") for k in items.ITEM_COLUMNS} | changed
        items.save_item(s, operator, q2, row, _item(db, q2, 1))
    submit(db, "op.desa", q2)
    decide(db, "verif.kec", q2, "approve")
    with db.transaction() as s:
        q3 = submissions.open_submission(s, SYSTEM, DESA, "2026-Q3", "65").submission.id
        register.prefill(s, {DESA: q3})
        imports.import_items(s, SYSTEM, q3, csv_of([person_row(9)]))
    with db.transaction() as s:
        items.discard_item(s, operator, q3, _item(db, q3, 9))
    submit(db, "op.desa", q3)
    return q2, q3, open_task(db, q3, "kecamatan").id


def _page(db, username: str, task_id: int, view: str | None = None) -> task_page.TaskPage:
    with db.read() as s:
        return task_page.task_page(s, actor(db, username), task_id, view)


def test_after_a_return_the_kecamatan_sees_the_record_it_found_wrong_among_the_changes(db):
    """A register record found not in order and sent back unchanged is listed first for the verifier,
    each view counts what it holds, and the round's verdicts are kept apart from the earlier round's."""
    sid = _sent_up_with_register(db)
    wrong, new = _item(db, sid, 1), _item(db, sid, 7)
    decide(db, "verif.kec", sid, "return", "cek KTP", {wrong: "KTP tidak cocok"})
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    page = _page(db, "verif.kec", task.id)
    assert page.shown.view == "perubahan"
    assert page.shown.counts == {"perubahan": 2, "belum": 1, "dikonfirmasi": 2, "semua": 3}
    assert [row.item.id for row in page.items] == sorted([wrong, new])
    judged = next(row for row in page.items if row.item.id == wrong)
    assert judged.verdicts == {}  # nobody judged it yet in this round
    assert [(v["tingkat"], v["verdict"], v["alasan"]) for v in judged.earlier] == [
        ("kecamatan", "tidak_sesuai", "KTP tidak cocok")
    ]
    confirmed = _page(db, "verif.kec", task.id, "dikonfirmasi")
    assert sorted(row.item.id for row in confirmed.items) == sorted([wrong, _item(db, sid, 2)])
    with db.transaction() as s:
        verdicts.save(s, actor(db, "verif.kec"), task.id, {new: (Verdict.SESUAI, "")})
    page = _page(db, "verif.kec", task.id, "belum")
    assert (page.shown.counts["belum"], page.items) == (0, [])
    assert _page(db, "verif.kec", task.id, "perubahan").shown.mine == {new: (Verdict.SESUAI, None)}


def test_a_verdict_saved_while_the_task_is_worked_is_not_yet_the_tiers_word(db):
    """Others reading the submission see only decided tasks' verdicts, never a person's draft."""
    sid = _sent_up_with_register(db)
    task, new = open_task(db, sid, "kecamatan"), _item(db, sid, 7)
    with db.transaction() as s:
        verdicts.save(s, actor(db, "verif.kec"), task.id, {new: (Verdict.TIDAK_SESUAI, "bukan warga")})
    with db.read() as s:
        submission = s.get(Submission, sid)
        rows = submission_view.items_of(s, actor(db, "verif.kab"), submission)
        assert all(row.verdicts == {} and row.draft is None for row in rows)
        mine = submission_view.items_of(s, actor(db, "verif.kec"), submission, draft_of=task.id)
        assert {row.item.id: row.draft for row in mine if row.draft} == {new: (Verdict.TIDAK_SESUAI, "bukan warga")}
        assert all(row.verdicts == {} for row in mine)  # the person's own draft, not a tier's verdict


def test_the_task_page_names_the_latest_return_not_the_first(db):
    """Returned by the kecamatan, then by the kabupaten: the page says the kabupaten's reason first."""
    sid = _sent_up_with_register(db)
    decide(db, "verif.kec", sid, "return", "alamat belum lengkap")
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "approve")
    decide(db, "verif.kab", sid, "return", "cek KTP lagi")
    submit(db, "op.desa", sid)
    page = _page(db, "verif.kec", open_task(db, sid, "kecamatan").id)
    assert (page.returned["tingkat"], page.returned["alasan"]) == ("kabupaten", "cek KTP lagi")
    said = [d["keputusan"] for d in page.decisions]
    assert said == ["ajukan", "kembalikan", "ajukan", "setuju", "kembalikan", "ajukan"]


def test_the_task_page_lists_only_what_another_periods_approval_changed_while_the_task_waited(db):
    """The operator's own set-aside before sending up is not "brought up to date"; the approval's are,
    each said as set aside or updated."""
    q2, q3, task_id = _carried_and_next_waiting(db)
    assert _page(db, "verif.kec", task_id).brought_up == []
    with db.read() as s:  # the kabupaten reads Q2's correction field by field, the NIK masked
        rows = submission_view.items_of(s, actor(db, "verif.kab"), s.get(Submission, q2))
        corrected = next(row for row in rows if row.item.nik == person_row(1)["nik"])
        old_kk = privacy.mask_nik(person_row(1)["no_kk"])
        assert corrected.changes == [
            ("no_kk", old_kk, privacy.mask_nik(NEW_KK)),
            ("alamat", "Jl. Sengkawit No. 3", "RT 07 Dusun Baru"),
        ]
        assert corrected.nik == privacy.mask_nik(person_row(1)["nik"]) != person_row(1)["nik"]
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, q2, "approve")
    page = _page(db, "verif.kec", task_id)
    shown = {(b.nama, b.disisihkan) for b in page.brought_up}
    assert shown == {(f"{person_row(MOVER)['nama']} (LUT)", True), (f"{person_row(1)['nama']} (LUT)", False)}
    # the register before and after no longer counts the copy set aside
    assert [(c.kategori, c.sebelum, c.baru, c.keluar, c.sesudah) for c in page.summary] == [("LUT", 1, 0, 0, 1)]
    with db.read() as s:  # both set-asides on the trail: what the entry held, its instance, and why
        instance = s.get(Submission, q3).instance_id
        trail = s.execute(
            select(AuditEvent.before, AuditEvent.instance_id, AuditEvent.reason)
            .where(AuditEvent.action == AuditAction.ITEM_DISCARDED.value)
            .order_by(AuditEvent.seq)
        ).all()
    assert [(before["nama"], at) for before, at, _ in trail] == [
        (person_row(9)["nama"], instance),
        (person_row(MOVER)["nama"], instance),
    ]
    assert trail[0].reason is None and "2026-Q2" in trail[1].reason


def _template(db) -> bulk_start.Template:
    with db.transaction() as s:
        definition = definitions.current(s, submissions.PROCESS_KEY)
        return bulk_start.template(s, definition, {"sla_durasi": "P14D"}, cycles.START_VARIABLES)


@pytest.mark.usefixtures("regions_restored")
def test_a_period_opened_in_batches_opens_each_desa_in_use_once_with_its_register(db, monkeypatch):
    """Batches of two: every desa still in use is opened, its register carried in and the opening
    audited as done in bulk; one opened before and one whose code ended are left alone."""
    carded_record(db, 1)
    with db.transaction() as s:
        submissions.open_submission(s, SYSTEM, "65.01.01.1001", PERIOD, "65")
    rows = listing(drop={"65.01.01.2006"}, lama={DESA: "65.01.01.2006"})
    with db.transaction() as s:
        region_updates.apply_update(s, SYSTEM, rows, "65", BASIS, TODAY)
    monkeypatch.setattr(cycle_batches, "BATCH", 2)
    asked = ["65.01.01.1001", "65.01.01.1002", "65.01.01.1003", "65.01.01.1004", DESA, "65.01.01.2006", "65.01.01.2007"]
    assert cycle_batches.open_desa(db, SYSTEM, PERIOD, asked, _template(db)) == 5
    assert cycle_batches.open_desa(db, SYSTEM, PERIOD, asked, _template(db)) == 0  # a rerun opens nothing more
    with db.read() as s:
        opened = dict(s.execute(select(Submission.kode_desa, Submission.id).where(Submission.periode == PERIOD)).all())
        assert sorted(opened) == sorted(set(asked) - {"65.01.01.2006"})
        carried = s.scalars(select(SubmissionItem.nik).where(SubmissionItem.submission_id == opened[DESA])).all()
        assert carried == [person_row(1)["nik"]]
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.SUBMISSION_OPENED.value)).all()
        bulk = sorted(e.after["kode_desa"] for e in audited if (e.after or {}).get("massal"))
        assert bulk == sorted(set(asked) - {"65.01.01.1001", "65.01.01.2006"})


def test_the_kecamatans_deadline_marks_its_open_task_late_not_the_one_it_decided_before(db):
    """A return and a second round: the timer of the second round's task marks that task, once."""
    sid = _sent_up_with_register(db)
    decide(db, "verif.kec", sid, "return", "alamat belum lengkap")
    submit(db, "op.desa", sid)
    again = open_task(db, sid, "kecamatan")
    timers.fire_due_timers(db, again.due_at + timedelta(hours=1))
    with db.read() as s:
        late = s.execute(
            select(HumanTask.status, HumanTask.overdue).where(HumanTask.tingkat == "kecamatan").order_by(HumanTask.id)
        ).all()
    assert [(status.value, overdue) for status, overdue in late] == [("selesai", False), ("terbuka", True)]


def test_the_operator_is_told_where_a_submission_no_longer_editable_stands(db):
    """Waiting at a tier it names the tier; verified it says so; other desa's operators never find it."""
    sid = _sent_up_with_register(db)
    new = _item(db, sid, 7)
    with db.transaction() as s, pytest.raises(Conflict, match="sedang diperiksa di tingkat kecamatan"):
        items.discard_item(s, actor(db, "op.desa"), sid, new)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    with db.transaction() as s, pytest.raises(Conflict, match="periode 2026-Q4 sudah terverifikasi; tidak dapat"):
        items.discard_item(s, actor(db, "op.desa"), sid, new)
    stranger = new_person(db, "op.lain", "operator", "65.01.01.2006")
    for person in (stranger, actor(db, "verif.kec")):
        with db.transaction() as s, pytest.raises(NotFound):
            items.discard_item(s, person, sid, new)


def test_a_register_the_desa_stated_it_could_not_check_is_not_reverified_by_approval(db):
    """Only the record the operator re-verified gets a new version; the one nobody checked stays as it
    was, and the kecamatan reads the operator's reason on the task."""
    make_team(db)
    carded_record(db, 1)
    carded_record(db, 2)
    operator = actor(db, "op.desa")
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, PERIOD, "65").submission.id
        register.prefill(s, {DESA: sid})
    with db.transaction() as s:
        register.set_status(s, operator, sid, [_item(db, sid, 1)], VervalStatus.LAYAK)
        register.declare(s, operator, sid, unchecked="jalan ke dusun 2 putus karena banjir")
    submit(db, "op.desa", sid, reverify=False)
    page = _page(db, "verif.kec", open_task(db, sid, "kecamatan").id)
    assert page.unchecked_reason == "jalan ke dusun 2 putus karena banjir"
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, sid, "approve")
    with db.read() as s:
        versions = dict(s.execute(select(Record.nik, Record.versi)).all())
    assert versions == {person_row(1)["nik"]: 2, person_row(2)["nik"]: 1}


def _warned(db, sid: int, item_id: int, message: str, **sources: str) -> int:
    with db.transaction() as s:
        flag = QualityFlag(rule="contoh", severity="warning", message=message, region_kode=DESA, item_id=item_id)
        flag.sources = sources
        flag.submission_id = sid  # the item's submission, as the checks store it
        s.add(flag)
        s.flush()
        return flag.id


def test_warnings_of_other_pages_and_verdicts_to_carry_are_offered_only_to_who_may_act(db):
    """The kecamatan's verifier is offered the warnings of items not on the page and the verdicts to
    carry from the last round; a colleague, while the task is claimed, reads who holds it and is
    offered neither."""
    sid = _sent_up_with_register(db)
    decide(db, "verif.kec", sid, "return", "cek KTP", {_item(db, sid, 1): "KTP tidak cocok"})
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    _warned(db, sid, _item(db, sid, 7), "umur tidak wajar")  # on the first page of changes
    other = _warned(db, sid, _item(db, sid, 2), "alamat kosong")  # a record confirmed, on another page
    page = _page(db, "verif.kec", task.id)
    assert [(w.flag_id, w.message) for w in page.elsewhere] == [(other, "alamat kosong")]
    assert (page.can_act, page.carriable, page.claimant) == (True, 2, None)
    colleague = new_person(db, "verif.kec2", "verifier", "65.01.01")
    with db.transaction() as s:
        claims.claim(s, actor(db, "verif.kec"), task.id)
    with db.read() as s:
        seen = task_page.task_page(s, colleague, task.id)
    assert (seen.can_act, seen.claimant, seen.elsewhere, seen.carriable) == (False, "verif.kec", [], 0)
    assert "verif.kec" in seen.why_not


def test_where_else_an_entry_is_registered_is_told_only_to_verifiers_covering_both_places(db):
    """The kabupaten, covering both desa, reads the other place and category; the kecamatan does not;
    the desa's operator is never told that the person is registered elsewhere at all."""
    sid = _sent_up_with_register(db)
    there, entry = "65.01.02.2001", _item(db, sid, 7)  # Long Beluah, another kecamatan of Bulungan
    flag = _warned(db, sid, entry, "terdaftar di desa lain", tempat=there, kategori="LUT", sumber="pengajuan")
    found = [{"aturan": "duplikat_nik_tempat_lain", "pesan": "terdaftar lain"}, {"aturan": "contoh", "pesan": "x"}]
    with db.transaction() as s:
        s.get(SubmissionItem, entry).masalah = found  # as the import's checks keep them on the item
    with db.read() as s:
        submission = s.get(Submission, sid)
        seen = {
            who: next(r for r in submission_view.items_of(s, actor(db, who), submission) if r.item.id == entry)
            for who in ("verif.kec", "verif.kab", "op.desa")
        }
    assert seen["verif.kec"].disclosed == {} and seen["verif.kab"].checks == found
    told = seen["verif.kab"].disclosed[flag]
    assert all(word in told for word in (there, "Long Beluah", "Lanjut Usia Terlantar", "pengajuan periode ini"))
    assert [c["aturan"] for c in seen["op.desa"].checks] == ["contoh"]


def test_a_record_confirmed_unchanged_shows_dukcapils_answer_on_the_record(db):
    """An item re-verifying a register record, with no answer of its own, carries the record's."""
    sid = _sent_up_with_register(db)
    with db.transaction() as s:
        record = s.scalar(select(Record).where(Record.nik == person_row(1)["nik"]))
        s.add(NikCheck(record_id=record.id, nik=record.nik, status=NikStatus.PADAN, checked_at=clock.now()))
    with db.read() as s:
        rows = submission_view.items_of(s, actor(db, "verif.kec"), s.get(Submission, sid))
    checked = {row.item.nik: row.nik_check.status for row in rows}
    assert checked == {
        person_row(1)["nik"]: "padan",
        person_row(2)["nik"]: "belum_dicek",
        person_row(7)["nik"]: "belum_dicek",
    }


def _minutes_required(db, required: bool) -> None:
    with db.transaction() as s:
        s.execute(update(CycleRhythm).values(berita_acara_wajib=required))


def test_minutes_missing_are_said_to_the_kecamatan_that_approves_them_only(db):
    """Required minutes not attached hold the kecamatan's approval; the kabupaten is not told so."""
    sid = _sent_up_with_register(db)
    _minutes_required(db, True)
    assert _page(db, "verif.kec", open_task(db, sid, "kecamatan").id).minutes_missing
    _minutes_required(db, False)
    decide(db, "verif.kec", sid, "approve")
    _minutes_required(db, True)
    assert not _page(db, "verif.kab", open_task(db, sid, "kabupaten").id).minutes_missing


def test_a_verifiers_first_look_at_full_niks_on_a_task_goes_on_the_trail_once_per_person(db):
    """Each kecamatan verifier's first look is recorded once; the kabupaten, who reads NIKs masked, never."""
    sid = _sent_up_with_register(db)
    task = open_task(db, sid, "kecamatan").id
    colleague = new_person(db, "verif.kec2", "verifier", "65.01.01")
    assert _page(db, "verif.kec", task).nik_look_unrecorded
    for person in (actor(db, "verif.kec"), actor(db, "verif.kec"), colleague):
        with db.transaction() as s:
            task_page.record_nik_look(s, person, task)
        with db.read() as s:
            assert not task_page.task_page(s, person, task).nik_look_unrecorded
    decide(db, "verif.kec", sid, "approve")
    kabupaten = open_task(db, sid, "kabupaten").id
    with db.transaction() as s:
        task_page.record_nik_look(s, actor(db, "verif.kab"), kabupaten)
    assert not _page(db, "verif.kab", kabupaten).nik_look_unrecorded
    with db.read() as s:
        looks = s.execute(
            select(AuditEvent.actor, AuditEvent.subject_id).where(AuditEvent.action == AuditAction.NIK_VIEWED.value)
        ).all()
    assert sorted(looks) == [("verif.kec", str(task)), ("verif.kec2", str(task))]


def test_the_task_page_says_what_the_desa_changed_on_each_item_after_the_return(db):
    """A field edited, an entry brought back after being set aside, a record marked died: each card
    says what it was at the return and what it is now; an entry untouched says nothing."""
    sid = _sent_up_with_register(db)
    died, new = _item(db, sid, 1), _item(db, sid, 7)
    decide(db, "verif.kec", sid, "return", "cek lagi")
    operator = actor(db, "op.desa")
    with db.transaction() as s:
        items.discard_item(s, operator, sid, new)
    with db.transaction() as s:
        items.restore_item(s, operator, sid, new)
        row = {k: person_row(7).get(k, "") for k in items.ITEM_COLUMNS} | {"alamat": "RT 09 Dusun Baru"}
        items.save_item(s, operator, sid, row, new)
        register.set_status(s, operator, sid, [died], VervalStatus.MENINGGAL, "wafat 2026-10-01")
    submit(db, "op.desa", sid)
    page = _page(db, "verif.kec", open_task(db, sid, "kecamatan").id, "semua")
    assert page.since_return == {
        new: [("alamat", "Jl. Sengkawit No. 3", "RT 09 Dusun Baru"), ("disisihkan", True, False)],
        died: [("aksi", "periksa", "hapus"), ("verval", "layak", "meninggal")],
    }


def _first_task_announced(db, desa: str, periode: str) -> bool:
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == desa, Submission.periode == periode))
        created = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "task.created")).all()
    (payload,) = [p for p in created if p["submission_id"] == sid]
    return payload["diumumkan"]


def test_a_desa_outside_the_regions_a_cycle_announced_hears_of_its_first_task_from_the_announcement(db):
    """Opened in a cycle announced for one desa only, a neighbour waits for its own announcement (its
    task is not told); a period without a cycle announces nothing, so its task is told."""
    cycles.open_cycle(db, SYSTEM, PERIOD, region=DESA)
    cycle_batches.open_desa(db, SYSTEM, PERIOD, ["65.01.01.2006"], _template(db))
    cycle_batches.open_desa(db, SYSTEM, "2027-Q1", ["65.01.01.2006"], _template(db))
    assert _first_task_announced(db, "65.01.01.2006", PERIOD) is True
    assert _first_task_announced(db, "65.01.01.2006", "2027-Q1") is False


def test_a_correction_still_shows_what_it_changed_once_its_submission_is_approved(db):
    """Looking back at a decided submission (the trail, a decided task), a correction names its fields."""
    q2, _, _ = _carried_and_next_waiting(db)
    for user in ("verif.kab", "valid.prov"):
        decide(db, user, q2, "approve")
    with db.read() as s:
        rows = submission_view.items_of(s, actor(db, "verif.kab"), s.get(Submission, q2))
    corrected = next(row for row in rows if row.item.nik == person_row(1)["nik"])
    assert ("alamat", "Jl. Sengkawit No. 3", "RT 07 Dusun Baru") in corrected.changes
