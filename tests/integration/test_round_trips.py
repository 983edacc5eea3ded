"""Round trips of one step on PostgreSQL: the events and audit rows go in two statements, the
instance's open inbox rows come with its lock, and what is stored is the same as on SQLite."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.core import audit
from engine.core.actors import Actor
from engine.people import users
from engine.verification import imports, register, verdicts
from models import (
    AuditEvent,
    HumanTask,
    ItemAction,
    ItemVerdict,
    OutboxEvent,
    RecordVersion,
    SubmissionItem,
    TaskStatus,
    Verdict,
    VervalStatus,
)
from tests.factories import (
    DESA,
    SYSTEM,
    confirm_register,
    csv_of,
    decide,
    make_team,
    open_period,
    open_task,
    open_with_items,
    person_row,
    submit,
    waiting_at_kecamatan,
)


def test_a_step_writes_its_events_and_audit_rows_in_two_statements(db, statements, is_postgresql):
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    with db.read() as s:
        before = (
            s.scalar(select(func.count()).select_from(AuditEvent)),
            s.scalar(select(func.count()).select_from(OutboxEvent)),
        )
    task = open_task(db, submission_id, "kecamatan")
    statements.clear()
    decide(db, team.kecamatan, submission_id, "approve")
    step = [s for s in statements if "audit_head" in s or "outbox_event" in s or "audit_event" in s]
    separate_inbox_reads = [s for s in statements if s.startswith("SELECT human_task.id, human_task.spiff_task_id")]
    if is_postgresql:
        assert len(step) == 2, step
        assert step[0].startswith("WITH queued AS (INSERT INTO outbox_event")
        assert step[1].startswith("WITH appended AS (INSERT INTO audit_event")
    else:
        assert len(step) == 4, step  # portable: events, head lock, rows, head advance
    assert separate_inbox_reads == []
    with db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.human_task_id == task.id)).all()
        assert [r.action for r in rows] == ["TASK_COMPLETED"]
        assert rows[0].after["keputusan"] == "setuju" and rows[0].at.tzinfo is not None
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > before[0]
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) > before[1]
        assert audit.verify_chain(s).ok
        created = s.scalars(
            select(HumanTask).where(HumanTask.submission_id == submission_id, HumanTask.status == TaskStatus.TERBUKA)
        ).all()
        assert [t.tingkat.value for t in created] == ["kabupaten"]
        assert s.get(HumanTask, task.id).status == TaskStatus.SELESAI  # closed, not cancelled by the save


def test_an_imports_items_go_in_at_once_and_read_back_as_entered(db, statements, is_postgresql):
    """PostgreSQL takes an import's items by one COPY (no INSERT per row or batch); every column
    reads back as the rows said, on either database."""
    submission_id = open_with_items(db, rows=[])
    rows = [
        person_row(1),
        person_row(2, alamat="Jl. Lain No. 9"),  # the same KK at two addresses: a warning on both
        person_row(3, no_kk="", keterangan=""),
    ]
    statements.clear()
    with db.transaction() as s:
        report = imports.import_items(s, SYSTEM, submission_id, csv_of(rows))
    assert (report.added, report.updated) == (3, 0)
    inserts = [q for q in statements if q.startswith("INSERT INTO submission_item")]
    assert inserts == [] if is_postgresql else len(inserts) == 1
    with db.read() as s:
        items = s.scalars(
            select(SubmissionItem).where(SubmissionItem.submission_id == submission_id).order_by(SubmissionItem.baris)
        ).all()
    assert [i.baris for i in items] == [2, 3, 4]
    assert {i.aksi for i in items} == {ItemAction.TAMBAH} and {i.source for i in items} == {"import"}
    assert [i.nik for i in items] == [r["nik"] for r in rows]
    assert [i.no_kk for i in items] == [rows[0]["no_kk"], rows[1]["no_kk"], None]
    assert items[1].data["alamat"] == "Jl. Lain No. 9" and items[2].data["keterangan"] == ""
    assert items[0].data["atribut"] == {} and items[0].data["tanggal_lahir"] == "1950-05-17"
    assert [[f["aturan"] for f in i.masalah] for i in items] == [["kk_alamat"], ["kk_alamat"], []]
    assert not any(i.dibuang for i in items) and all(i.record_id is None for i in items)
    assert all(i.updated_at.tzinfo is not None for i in items)
    with db.transaction() as s:  # the same file again: nothing changes, and the summary says so
        again = imports.import_items(s, SYSTEM, submission_id, csv_of(rows))
    assert again.summary().startswith("0 baris baru, 0 diperbarui, 3 tidak berubah")


def test_a_return_reads_the_items_verdicts_once_and_records_each_reason(db, statements):
    """The verdicts a decision sends are stored and passed on as they are: no delete when nothing
    was saved before, no second read of what was just written."""
    team = make_team(db)
    submission_id = open_with_items(db)
    submit(db, team.operator, submission_id)
    task = open_task(db, submission_id, "kecamatan")
    with db.read() as s:
        item_ids = s.scalars(
            select(SubmissionItem.id)
            .where(SubmissionItem.submission_id == submission_id, SubmissionItem.aksi == ItemAction.TAMBAH)
            .order_by(SubmissionItem.id)
        ).all()
    statements.clear()
    decide(db, team.kecamatan, submission_id, "return", "NIK salah", {item_ids[1]: "lahir 1951"})
    verdict_reads = [q for q in statements if q.startswith("SELECT") and "FROM item_verdict" in q]
    assert len(verdict_reads) == 1, verdict_reads
    assert not [q for q in statements if q.startswith("DELETE FROM item_verdict")]
    with db.read() as s:
        row = s.scalars(
            select(AuditEvent).where(AuditEvent.human_task_id == task.id, AuditEvent.action == "TASK_COMPLETED")
        ).one()
        assert row.after["tidak_sesuai"] == {str(item_ids[1]): "lahir 1951"}
        assert row.before == {"status": "terbuka"} and row.after["status"] == "selesai"
        stored = s.scalars(select(ItemVerdict).where(ItemVerdict.human_task_id == task.id)).all()
        assert {v.item_id: (v.verdict, v.alasan) for v in stored} == {
            item_ids[0]: (Verdict.SESUAI, None),
            item_ids[1]: (Verdict.TIDAK_SESUAI, "lahir 1951"),
        }


def test_verdicts_saved_before_the_decision_are_replaced_by_it(db, statements):
    team, submission_id, task, first = waiting_at_kecamatan(db)
    with db.transaction() as s:
        verdicts.save(s, Actor.of(users.find_user(s, team.kecamatan)), task.id, {first: (Verdict.TIDAK_SESUAI, "cek")})
    statements.clear()
    decide(db, team.kecamatan, submission_id, "return", "periksa lagi")
    assert [q for q in statements if q.startswith("DELETE FROM item_verdict")]
    with db.read() as s:
        row = s.scalars(
            select(AuditEvent).where(AuditEvent.human_task_id == task.id, AuditEvent.action == "TASK_COMPLETED")
        ).one()
        assert row.after["tidak_sesuai"] == {str(first): "cek"}
        assert s.scalar(
            select(func.count()).select_from(ItemVerdict).where(ItemVerdict.human_task_id == task.id)
        ) == s.scalar(
            select(func.count()).select_from(SubmissionItem).where(SubmissionItem.submission_id == submission_id)
        )


def test_submitting_counts_the_register_and_the_entries_in_one_statement(db, statements):
    team = make_team(db)
    submission_id = open_with_items(db)
    with db.transaction() as s:
        confirm_register(s, Actor.of(users.find_user(s, team.operator)), submission_id)
    statements.clear()
    submit(db, team.operator, submission_id, reverify=False)
    counts = [q for q in statements if q.startswith("SELECT") and "count(" in q and "submission_item" in q]
    assert len(counts) == 1, counts
    assert open_task(db, submission_id, "kecamatan")


def _province_approval(db, team, statements, period: str, rows: list[dict], is_postgresql: bool) -> int:
    """Statements the province's approval sends to write this period's items to the register (SQLite,
    in the process and without round trips, gives each new record its id with an INSERT of its own)."""
    submission_id = open_period(db, period, rows)
    submit(db, team.operator, submission_id)
    decide(db, team.kecamatan, submission_id, "approve")
    decide(db, team.kabupaten, submission_id, "approve")
    statements.clear()
    decide(db, team.provinsi, submission_id, "approve")
    return len([s for s in statements if is_postgresql or not s.startswith("INSERT INTO ppks_record (")])


def test_the_provinces_approval_writes_a_kelurahans_items_in_batches_not_one_by_one(db, statements, is_postgresql):
    """Two new people, then forty more beside the two re-verified: the approval writing 42 records
    sends about as many statements as the one writing 2 (a kelurahan's 5,000 took 20,000)."""
    team = make_team(db)
    few = _province_approval(db, team, statements, "2026-Q3", [person_row(1), person_row(2)], is_postgresql)
    many = _province_approval(db, team, statements, "2026-Q4", [person_row(n) for n in range(3, 43)], is_postgresql)
    assert many <= few + 4, (few, many)
    with db.read() as s:
        versions = s.execute(select(RecordVersion.record_id, RecordVersion.versi, RecordVersion.replaces_id)).all()
        assert len(versions) == 44 and audit.verify_chain(s).ok
        first = {record_id: version_id for version_id, (record_id, versi, _) in enumerate(versions, 1) if versi == 1}
        replaced = {record_id: replaces for record_id, versi, replaces in versions if versi == 2}
        assert len(replaced) == 2 and all(replaced[r] == first[r] for r in replaced)  # each its own last version


def test_marking_register_records_reads_them_at_once(db, statements):
    """A bulk mark of many register records sends about as many statements as one of two."""
    team = make_team(db)
    first = open_period(db, "2026-Q3", [person_row(n) for n in range(1, 13)])
    submit(db, team.operator, first)
    for tier in (team.kecamatan, team.kabupaten, team.provinsi):
        decide(db, tier, first, "approve")
    sid = open_period(db, "2026-Q4", [])
    sent = []
    with db.transaction() as s:
        register.prefill(s, {DESA: sid})
        ids = sorted(s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)))
        operator = Actor.of(users.find_user(s, team.operator))
    for chosen in (ids[:2], ids[2:]):
        statements.clear()
        with db.transaction() as s:
            assert register.set_status(s, operator, sid, chosen, VervalStatus.LAYAK) == len(chosen)
        sent.append(len(statements))
    assert sent[1] <= sent[0] + 2, sent
