"""Periods overlap: the next one opens, with its copy of the register, while this one is still going
up the tiers. What an approval writes to the register reaches the desa's other submissions in work,
so that approving them later neither brings back a person recorded dead or moved nor undoes a
correction with a value copied before it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import models
from engine.core.errors import Invalid
from engine.quality import aggregates
from engine.quality.nik import compose
from engine.verification import imports, items, records, register, submissions, task_page, verdicts
from models import (
    AuditEvent,
    QualityFlag,
    Record,
    RecordStatus,
    RecordVersion,
    SubmissionItem,
    Verdict,
    VervalStatus,
)
from tests.factories import SYSTEM, actor, csv_of, decide, make_team, open_task, person_row, submit

DESA = "65.01.01.2005"
ELDER = person_row(
    2, nik=compose("65.01.01", date(1940, 3, 3), "P", 2), tanggal_lahir="1940-03-03", jenis_kelamin="P", kategori="LUT"
)
MOVER = person_row(
    4, nik=compose("65.01.01", date(1950, 5, 5), "P", 4), tanggal_lahir="1950-05-05", jenis_kelamin="P", kategori="LUT"
)


def _opened(db, period, rows=()):
    """A period's submission with the register carried in (as a cycle opens it), and `rows` imported."""
    with db.transaction() as s:
        sid = submissions.open_submission(s, SYSTEM, DESA, period, "65").submission.id
        register.prefill(s, {DESA: sid})
        if rows:
            imports.import_items(s, SYSTEM, sid, csv_of(list(rows)))
    return sid


def _up(db, sid, tiers=("verif.kec", "verif.kab", "valid.prov")):
    for user in tiers:
        decide(db, user, sid, "approve")


def _entry(db, sid, nik):
    with db.read() as s:
        return s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == sid, SubmissionItem.nik == nik))


def _record(db, nik):
    with db.read() as s:
        return s.scalar(select(Record).where(Record.nik == nik))


def _save(db, sid, base, item_id=None, **changes):
    with db.transaction() as s:
        row = {k: base.get(k, "") for k in items.ITEM_COLUMNS} | changes
        return items.save_item(s, actor(db, "op.desa"), sid, row, item_id).item.id


def _correct(db, sid, person, **values):
    """The operator writes `values` on the period's entry of `person`."""
    return _save(db, sid, person, _entry(db, sid, person["nik"]).id, **values)


def _lut(db, period):
    with db.read() as s:
        return aggregates.count_records(s, "65", period)[(DESA, "LUT")]


def _mark(db, sid, nik, status, reason=""):
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), sid, [_entry(db, sid, nik).id], status, reason)


def warning_on(db, copy, **settled):
    """A warning of the checks on an entry, open or as `settled` says (status, who, their note)."""
    with db.transaction() as s:
        s.add(
            QualityFlag(
                rule="contoh",
                severity="warning",
                message="periksa",
                region_kode=DESA,
                item_id=copy.id,
                submission_id=copy.submission_id,
                **settled,
            )
        )


def _first_verified(db, rows):
    """The desa's team, and `rows` verified in 2026-Q1 at every tier: the register the periods carry."""
    make_team(db)
    q1 = _opened(db, "2026-Q1", rows)
    submit(db, "op.desa", q1, reverify=False)
    _up(db, q1)


def _verified_then_next_opened(db, change_q2):
    """Q1 verified with both elders; Q2's change sent up and approved by the kecamatan; Q3 opened
    (its copy of the register made) before the kabupaten and province approve Q2."""
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2")
    change_q2(q2)
    submit(db, "op.desa", q2)
    _up(db, q2, ("verif.kec",))
    q3 = _opened(db, "2026-Q3")
    return q2, q3


def test_a_person_recorded_dead_is_not_brought_back_by_the_next_periods_copy(db):
    q2, q3 = _verified_then_next_opened(
        db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat 2026-05-01")
    )
    _up(db, q2, ("verif.kab", "valid.prov"))  # the death reaches the register after Q3 copied it
    set_aside = _entry(db, q3, MOVER["nik"])
    assert set_aside.dibuang, "the copy of a person now off the register stays in the next period"
    submit(db, "op.desa", q3)  # the operator confirms what the page lists
    _up(db, q3)
    assert _record(db, MOVER["nik"]).status == RecordStatus.DIHAPUS
    assert _lut(db, "2026-Q3") == 1
    with db.read() as s:
        said = s.scalar(select(AuditEvent).where(AuditEvent.action == "ITEM_DISCARDED"))
        died = s.scalar(select(RecordVersion).where(RecordVersion.status == RecordStatus.DIHAPUS))
    assert said.subject_id == str(set_aside.id) and "2026-Q2" in said.reason
    assert died.source == "verval"  # the desa's re-verification removed the record, not a verifier's edit


def test_a_person_moved_while_the_next_period_was_already_sent_up_stays_moved(db):
    """Q3 went up (its copy marked found) before Q2's move was approved: still in work, its entry is
    set aside; and were it applied, a record removed since is never made active again."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Malinau"))
    submit(db, "op.desa", q3)
    copy = _entry(db, q3, MOVER["nik"])
    warning_on(db, copy)  # waiting for the kecamatan's note
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert _entry(db, q3, MOVER["nik"]).dibuang  # set aside while the kecamatan judges Q3
    with db.read() as s:  # ... and its warning settled, saying why: nothing to note on a person gone
        settled = s.scalar(select(QualityFlag).where(QualityFlag.item_id == copy.id))
        assert settled.status == "selesai" and "2026-Q2" in settled.ack_note
    _up(db, q3)
    assert _record(db, MOVER["nik"]).status == RecordStatus.DIHAPUS
    assert _lut(db, "2026-Q3") == 1


def test_the_desa_and_the_kecamatan_are_told_what_an_approval_changed_in_the_next_period(db, with_notifications):
    """Q3 waits at the kecamatan when Q2's approval sets the mover's copy aside: the operator and the
    kecamatan's verifier are each told what changed and why, each with the link they can open."""
    with_notifications()
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Malinau"))
    submit(db, "op.desa", q3)
    task = open_task(db, q3, "kecamatan")
    _up(db, q2, ("verif.kab", "valid.prov"))
    with db.read() as s:
        told = {
            name: note
            for note, name in s.execute(
                select(models.Notification, models.User.username)
                .join(models.User, models.User.id == models.Notification.user_id)
                .where(models.Notification.event_type == "submission.brought_up_to_date")
            )
        }
    assert set(told) == {"op.desa", "verif.kec"}
    assert told["op.desa"].tautan == f"/desa/pengajuan/{q3}" and told["verif.kec"].tautan == f"/tugas/{task.id}"
    for note in told.values():
        assert "Periode 2026-Q2 disetujui" in note.isi and "1 data orang yang sudah dikeluarkan" in note.isi
        assert "2026-Q3" in note.judul
    assert "muat ulang tugas Anda" in told["verif.kec"].isi
    assert "sedang diperiksa di tingkat kecamatan" in told["op.desa"].isi  # not told to edit what it cannot
    with db.read() as s:  # and the task page says it, naming the person and the period that changed it
        page = task_page.task_page(s, actor(db, "verif.kec"), task.id)
    assert [(b.nama, b.disisihkan) for b in page.brought_up] == [(f"{MOVER['nama']} (LUT)", True)]
    assert "2026-Q2" in page.brought_up[0].alasan


def test_two_periods_approved_in_one_bulk_action_tell_nobody_to_reload_what_is_decided(db, with_notifications):
    """The province approves Q2 and Q3 in one action: Q2's approval changes Q3's copy, but Q3 is
    approved a moment later, so nobody is told to reload a task no longer open."""
    from engine.verification import bulk_approval

    with_notifications()
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat="RT 07 Dusun Baru"))
    submit(db, "op.desa", q3)
    _up(db, q2, ("verif.kab",))
    _up(db, q3, ("verif.kec", "verif.kab"))
    with db.transaction() as s:
        tasks = [open_task(db, q2).id, open_task(db, q3).id]
        done = bulk_approval.approve_many(s, actor(db, "valid.prov"), task_ids=tasks)
    assert sorted(done.decided) == sorted(tasks) and _record(db, ELDER["nik"]).alamat == "RT 07 Dusun Baru"
    with db.read() as s:
        told = s.scalars(
            select(models.Notification).where(models.Notification.event_type == "submission.brought_up_to_date")
        ).all()
    assert told == []


def test_a_value_the_operator_wrote_in_the_later_copy_is_theirs_to_keep(db):
    """Both periods wrote the address: the later period's observation stands once both are approved."""

    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat="RT 07 Dusun Baru"))
    _correct(db, q3, ELDER, alamat="RT 08 Dusun Baru")
    _up(db, q2, ("verif.kab", "valid.prov"))
    assert _entry(db, q3, ELDER["nik"]).data["alamat"] == "RT 08 Dusun Baru"
    submit(db, "op.desa", q3)
    _up(db, q3)
    assert _record(db, ELDER["nik"]).alamat == "RT 08 Dusun Baru"


def test_a_copy_of_a_removed_record_is_never_applied(db):
    _first_verified(db, [MOVER])
    stale = _opened(db, "2026-Q2")
    with db.transaction() as s:
        record = s.scalar(select(Record))
        record.status = RecordStatus.DIHAPUS  # removed by another path after the copy was made
        entry = s.scalar(select(SubmissionItem).where(SubmissionItem.submission_id == stale))
        applied = records.apply_items(s, SYSTEM, s.get(models.Submission, stale), [entry], None)
        assert applied == 0 and entry.dibuang
    assert _record(db, MOVER["nik"]).status == RecordStatus.DIHAPUS


def test_a_correction_approved_late_is_not_undone_by_the_next_periods_copy(db):
    q2, q3 = _verified_then_next_opened(db, lambda q2: _correct(db, q2, ELDER, alamat="RT 07 Dusun Baru"))
    _correct(db, q3, ELDER, keterangan="tinggal bersama cucu")  # meanwhile, another value of Q3's copy
    _up(db, q2, ("verif.kab", "valid.prov"))
    brought = _entry(db, q3, ELDER["nik"]).data
    assert (brought["alamat"], brought["keterangan"]) == ("RT 07 Dusun Baru", "tinggal bersama cucu")
    assert [(t["submission_id"], t["diperbarui"], t["tingkat"]) for t in _told(db)] == [(q3, 1, "desa")]
    submit(db, "op.desa", q3)
    _up(db, q3)
    elder = _record(db, ELDER["nik"])
    assert (elder.alamat, elder.keterangan) == ("RT 07 Dusun Baru", "tinggal bersama cucu")


def test_a_period_found_unchanged_does_not_write_its_copy_over_the_register(db):
    """A re-verification found as it stood confirms the record; the values are not the copy's to set,
    whichever period is approved first (here the earlier period, returned and approved last)."""
    _first_verified(db, [ELDER])
    q2 = _opened(db, "2026-Q2")
    q3 = _opened(db, "2026-Q3")
    _correct(db, q3, ELDER, alamat="Jl. Sengkawit No. 9")
    submit(db, "op.desa", q3)
    _up(db, q3)
    submit(db, "op.desa", q2)  # found as it stood in Q2, approved after Q3
    _up(db, q2)
    assert _record(db, ELDER["nik"]).alamat == "Jl. Sengkawit No. 9"
    told = [(t["submission_id"], t["oleh_periode"], t["diperbarui"]) for t in _told(db)]
    assert told == [(q2, "2026-Q3", 1)]  # Q3's correction reached Q2's copy; Q2's approval changed nothing


def test_an_approval_that_changes_nothing_in_the_next_period_tells_nobody(db):
    _first_verified(db, [ELDER])
    q2, _ = _opened(db, "2026-Q2"), _opened(db, "2026-Q3")
    submit(db, "op.desa", q2)  # every record found as it stood
    _up(db, q2)
    assert _told(db) == []
    with db.read() as s:
        last = s.scalars(select(RecordVersion).order_by(RecordVersion.id.desc())).first()
    assert (last.source, last.perubahan) == ("verval", {})


def test_a_decided_tasks_register_before_and_after_stays_as_it_was_judged(db):
    """The task page's table of the register before and after the submission, by category: read again
    once the submission is approved (a verifier or an auditor looking back), a new entry is not counted
    as already there, and a record moved into another category still leaves its old one."""
    _first_verified(db, [MOVER, ELDER])
    q2 = _opened(db, "2026-Q2", [person_row(7, kategori="LUT")])
    _mark(db, q2, MOVER["nik"], VervalStatus.MENINGGAL, "wafat")
    _correct(db, q2, ELDER, kategori="PD")
    submit(db, "op.desa", q2)
    kecamatan = open_task(db, q2, "kecamatan")

    def table():
        with db.read() as s:
            page = task_page.task_page(s, actor(db, "verif.kec"), kecamatan.id)
        return [(c.kategori, c.sebelum, c.baru, c.keluar, c.sesudah) for c in page.summary]

    judged = table()
    assert judged == [("LUT", 2, 1, 2, 1), ("PD", 0, 1, 0, 1)]
    _up(db, q2)
    assert table() == judged


def test_a_correction_then_died_then_found_again_keeps_the_operators_values(db):
    """The operator corrects the address of a register record, marks it died by mistake, then found
    again: the item is PERIKSA again but still carries the typed address, which approval now drops."""
    _first_verified(db, [ELDER])
    q2 = _opened(db, "2026-Q2")
    entry = _entry(db, q2, ELDER["nik"]).id
    _save(db, q2, ELDER, entry, alamat="RT 07 Dusun Baru")
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), q2, [entry], VervalStatus.MENINGGAL, "salah tandai")
    with db.transaction() as s:
        register.set_status(s, actor(db, "op.desa"), q2, [entry], VervalStatus.LAYAK)
    shown = _entry(db, q2, ELDER["nik"])
    assert shown.data["alamat"] == "RT 07 Dusun Baru"
    submit(db, "op.desa", q2)
    _up(db, q2)
    assert _record(db, ELDER["nik"]).alamat == "RT 07 Dusun Baru", f"aksi {shown.aksi}"


KAT = {"nama": "Komunitas Punan Long Belaka", "kategori": "KAT", "alamat": "Long Belaka", "keterangan": "musdes"}


def test_a_kat_attribute_corrected_late_is_not_undone_by_the_next_periods_copy(db):
    make_team(db)
    q1 = _opened(db, "2026-Q1")
    _save(db, q1, KAT, atribut={"jumlah_anggota": "40", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q1, reverify=False)
    _up(db, q1)
    q2 = _opened(db, "2026-Q2")
    q3 = _opened(db, "2026-Q3")
    with db.read() as s:
        e2 = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == q2))
        e3 = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == q3))
    _save(db, q2, KAT, e2, atribut={"jumlah_anggota": "55", "nama_ketua": "Pak Ugau"})
    # Q3's operator corrects another value of the copy, the form sending the attributes it shows
    _save(db, q3, KAT, e3, keterangan="musdes Juli", atribut={"jumlah_anggota": "40", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q2)
    _up(db, q2)
    with db.read() as s:
        assert s.scalar(select(Record)).atribut["jumlah_anggota"] == "55"
    submit(db, "op.desa", q3)
    _up(db, q3)
    with db.read() as s:
        rec = s.scalar(select(Record))
        assert (rec.keterangan, rec.atribut["jumlah_anggota"]) == ("musdes Juli", "55")


NEWCOMER = dict(MOVER, nik=MOVER["nik"][:-4] + "0009", nama="Yohana Lahang")


def _two_periods_add_the_same_person(db):
    _first_verified(db, [ELDER])
    q2 = _opened(db, "2026-Q2", [NEWCOMER])
    q3 = _opened(db, "2026-Q3", [NEWCOMER])
    submit(db, "op.desa", q2)
    submit(db, "op.desa", q3)  # sent up before Q2 is approved
    _up(db, q2)
    return q2, q3


def _told(db):
    """The `submission.brought_up_to_date` events written, as their payloads."""
    with db.read() as s:
        return [
            e.payload
            for e in s.scalars(
                select(models.OutboxEvent).where(models.OutboxEvent.event_type == "submission.brought_up_to_date")
            )
        ]


def test_a_person_added_in_two_overlapping_periods_is_one_record(db):
    q2, q3 = _two_periods_add_the_same_person(db)
    assert [(t["submission_id"], t["ditautkan"], t["disisihkan"], t["diperbarui"]) for t in _told(db)] == [
        (q3, 1, 0, 0)
    ]
    entry = _entry(db, q3, NEWCOMER["nik"])
    with db.read() as s:  # the entry now re-verifies the record Q2 added, and the trail says why
        linked = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ITEM_UPDATED", AuditEvent.subject_id == str(entry.id))
        )
    assert entry.aksi == "ubah" and linked.after["record_id"] == entry.record_id and "2026-Q2" in linked.reason
    _up(db, q3)
    with db.read() as s:
        n = len(s.scalars(select(Record).where(Record.nik == NEWCOMER["nik"], Record.status == "aktif")).all())
    assert n == 1 and _lut(db, "2026-Q3") == 2  # its entry in the period already sent up re-verifies it


@pytest.mark.parametrize("verdict", [Verdict.SESUAI, Verdict.TIDAK_SESUAI])
@pytest.mark.parametrize("decision", ["approve", "return"])
def test_a_verdict_on_a_copy_set_aside_since_does_not_hold_up_the_task(db, verdict, decision):
    """The kecamatan judged the mover's copy in Q3; Q2's approval then set it aside. The verdict is
    moot: the task is still decided, and a page opened before cannot judge the copy again."""
    q2, q3 = _verified_then_next_opened(db, lambda q2: _mark(db, q2, MOVER["nik"], VervalStatus.PINDAH, "ke Malinau"))
    submit(db, "op.desa", q3)
    copy, task = _entry(db, q3, MOVER["nik"]), open_task(db, q3, "kecamatan")
    with db.transaction() as s:
        verdicts.save(s, actor(db, "verif.kec"), task.id, {copy.id: (verdict, "tidak sama dengan KTP")})
    _up(db, q2, ("verif.kab", "valid.prov"))
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        verdicts.save(s, actor(db, "verif.kec"), task.id, {copy.id: (Verdict.SESUAI, "")})
    assert [p.message for p in refused.value.problems] == [
        f"{MOVER['nama']} (LUT) sudah disisihkan dari pengajuan ini; muat ulang halaman"
    ]
    # a page opened before sends its verdict on the copy too: moot, the decision goes through
    decide(db, "verif.kec", q3, decision, reason="periksa lagi alamatnya", verdicts={copy.id: "sesuai"})
    with db.read() as s:
        assert s.get(models.HumanTask, task.id).status == "selesai"
        assert not s.scalars(select(models.ItemVerdict).where(models.ItemVerdict.item_id == copy.id)).all()


@pytest.fixture
def kat_without_leader(db):
    """KAT as an administrator left it, without the leader's name; the seeded category back afterwards
    (reference tables are kept between tests)."""
    with db.transaction() as s:
        kind = s.get(models.Category, "KAT")
        asked, kind.atribut_wajib = kind.atribut_wajib, ["jumlah_anggota"]
    yield
    with db.transaction() as s:
        s.get(models.Category, "KAT").atribut_wajib = asked


def test_an_attribute_a_category_no_longer_asks_for_is_named_gone_in_the_record_s_history(db, request):
    """An administrator drops the leader's name from KAT: the next version says it went, and what it was."""
    make_team(db)
    q1 = _opened(db, "2026-Q1")
    _save(db, q1, KAT, atribut={"jumlah_anggota": "40", "nama_ketua": "Pak Ugau"})
    submit(db, "op.desa", q1, reverify=False)
    _up(db, q1)
    request.getfixturevalue("kat_without_leader")  # after Q1 was verified with the leader's name
    q2 = _opened(db, "2026-Q2")
    with db.read() as s:
        copy = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == q2))
    _save(db, q2, KAT, copy, atribut={"jumlah_anggota": "41"})
    submit(db, "op.desa", q2)
    _up(db, q2)
    with db.read() as s:
        latest = s.scalar(select(models.RecordVersion).order_by(models.RecordVersion.versi.desc()).limit(1))
    assert latest.perubahan["atribut_nama_ketua"] == ["Pak Ugau", None]
    assert latest.perubahan["atribut_jumlah_anggota"] == ["40", "41"]
