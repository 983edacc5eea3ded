"""What the stored data keeps true for the people who read it, whichever release or step wrote it.

A release that adds a column fills it, for the rows already stored, with the value they meant before
the column existed: a person whose account was made before passwords had to be changed is not sent to
the password form, a notification already in the bell stays there, an item a desa entered is not taken
for one it undid, a submission is no report of nihil, the province keeps requiring the signed minutes,
and only the adat communities count as stable by nature. A task nobody escalated stands level with every
other in the inbox sorted by priority, however it was written. The page header names each region a
person works in from the one read of the person and their roles. Some keys are one row each even when
two nodes write at the same moment: a period's cycle, a record's version number, a person's role in a region.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from engine.people import users
from engine.verification import cycles, inbox, submissions
from models import (
    Category,
    Cycle,
    RecordStatus,
    RecordVersion,
    Role,
    RoleAssignment,
    Source,
    Submission,
    Tier,
    User,
)
from models.schema import downgrade, upgrade
from notifications import inapp
from tests.factories import (
    DESA,
    KECAMATAN,
    PERIOD,
    PROVINSI,
    SYSTEM,
    actor,
    items_of,
    make_team,
    new_person,
    open_with_items,
    person_row,
    register_record,
)
from tests.integration.test_migrations import _new_sqlite
from tests.web.conftest import Browser
from web.app import create_app

# Columns added by an upgrade, for the rows already stored


def test_an_account_made_before_passwords_had_to_be_changed_is_not_sent_to_change_it_after_the_upgrade(tmp_path):
    db = _new_sqlite(tmp_path, "akun.db")
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa", "operator", DESA)
    downgrade(db.engine, "0043")
    upgrade(db.engine)
    with db.read() as s:
        assert s.scalar(select(User.ganti_sandi).where(User.username == "op.desa")) is False
    db.dispose()


def test_a_notification_in_the_bell_before_the_upgrade_is_still_there_unread(tmp_path):
    db = _new_sqlite(tmp_path, "lonceng.db")
    with db.transaction() as s:
        user_id = users.add_user(s, SYSTEM, "op.desa", "operator", DESA).id
    downgrade(db.engine, "0041")
    with db.engine.begin() as connection:  # as the release before wrote it
        connection.execute(
            text(
                "INSERT INTO notification (user_id, event_type, judul, isi, created_at) "
                "VALUES (:u, 'task.created', 'Tugas baru', 'Pengajuan menunggu', CURRENT_TIMESTAMP)"
            ),
            {"u": user_id},
        )
    upgrade(db.engine)
    with db.read() as s:
        assert inapp.unread_count(s, user_id) == 1
        assert [n.judul for n in inapp.latest(s, user_id)] == ["Tugas baru"]
    db.dispose()


def test_entries_and_the_rhythm_stored_before_re_verification_keep_their_meaning_after_the_upgrade(tmp_path):
    db = _new_sqlite(tmp_path, "verval.db")
    submission_id = open_with_items(db, [person_row(1), person_row(2)])
    admin = new_person(db, "admin.prov", region="65")
    with db.transaction() as s:
        cycles.set_rhythm(s, admin, "triwulan", 1, {"desa": 20, "kecamatan": 30, "kabupaten": 40, "provinsi": 50}, 3)
    downgrade(db.engine, "0007")
    upgrade(db.engine)
    assert [item.dibuang for item in items_of(db, submission_id)] == [False, False]  # still entered, not undone
    with db.read() as s:
        assert s.get(Submission, submission_id).nihil is False
        rhythm = cycles.rhythm(s)
        assert (rhythm.batas_desa, rhythm.berita_acara_wajib) == (20, True)
    db.dispose()


def test_only_the_adat_communities_count_as_stable_after_the_upgrade_that_brought_stability(tmp_path):
    db = _new_sqlite(tmp_path, "stabil.db")
    downgrade(db.engine, "0006")
    upgrade(db.engine)
    with db.read() as s:
        stable = set(s.scalars(select(Category.kode).where(Category.stabil.is_(True))))
    assert stable == {"KAT"}
    db.dispose()


# Tasks as they are written to the inbox


def test_sorted_by_priority_tasks_nobody_escalated_keep_their_deadline_order(db):
    """A task the cycle's opening wrote and one a single step wrote stand equal until one is escalated."""
    make_team(db)
    cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)  # every desa's task, written at once
    with db.transaction() as s:  # a later deadline, written by the step that opened it
        submissions.open_submission(s, SYSTEM, DESA, "2026-Q3", PROVINSI, default_sla="P60D")
    operator = actor(db, "op.desa")
    with db.read() as s:
        page = inbox.inbox_page(s, operator, inbox.InboxFilter(urut="prioritas"))
    assert [task.periode for task in page.tasks] == [PERIOD, "2026-Q3"]


# People and their roles


def _header_statements(app, username: str, statements: list[str]) -> tuple[int, str]:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    browser.get("/akun/sandi")  # the first page after signing in settles what a session reads once
    statements.clear()
    page = browser.get("/akun/sandi")
    return len(statements), page.get_data(as_text=True)


def test_the_page_header_names_each_region_of_a_person_without_a_read_per_region(db, password_hash, statements):
    with db.transaction() as s:
        for region in ("65.01.01", "65.01.02", "65.01.03"):
            users.add_user(s, SYSTEM, "verif.tiga", "verifier", region).password_hash = password_hash
        users.add_user(s, SYSTEM, "verif.satu", "verifier", "65.01.01").password_hash = password_hash
    app = create_app(db.settings, db, testing=True)
    one, _ = _header_statements(app, "verif.satu", statements)
    three, page = _header_statements(app, "verif.tiga", statements)
    assert all(name in page for name in ("Tanjung Palas Barat", "Tanjung Palas Utara"))
    assert three == one


# One row per key, whoever writes it


def test_a_period_has_one_cycle_even_when_a_second_node_stores_one_at_the_same_moment(db):
    cycles.open_cycle(db, SYSTEM, PERIOD, region=KECAMATAN)
    with db.read() as s:
        opened = s.scalars(select(Cycle).where(Cycle.periode == PERIOD)).one()
        twin = {"periode": PERIOD, "region_kode": opened.region_kode, "batas": opened.batas}
    with pytest.raises(IntegrityError), db.transaction() as s:  # the other node's row, past its own check
        s.add(Cycle(**twin))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Cycle).where(Cycle.periode == PERIOD)) == 1


def test_a_record_never_holds_two_versions_under_one_number(db):
    """Two approvals touching one record at once cannot both write its next version."""
    with db.transaction() as s:
        record = register_record(1)
        s.add(record)
        s.flush()
        record_id = record.id

    def version() -> RecordVersion:
        nilai = {"nama": "Maria Ingan 1"}
        return RecordVersion(
            record_id=record_id,
            versi=2,
            nilai=nilai,
            perubahan={},
            status=RecordStatus.AKTIF,
            actor="uji",
            source=Source.TASK,
        )

    with db.transaction() as s:
        s.add(version())
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(version())
    with db.read() as s:
        assert s.scalars(select(RecordVersion.versi).where(RecordVersion.record_id == record_id)).all() == [2]


def test_a_person_holds_a_role_in_a_region_once(db):
    with db.transaction() as s:
        user_id = users.add_user(s, SYSTEM, "op.desa", "operator", DESA).id
    with pytest.raises(IntegrityError), db.transaction() as s:  # a second grant, past the page's own check
        s.add(RoleAssignment(user_id=user_id, role=Role.OPERATOR, region_kode=DESA, tingkat=Tier.DESA))
    with db.read() as s:
        assert [(a.role, a.region_kode) for a in s.get(User, user_id).roles] == [(Role.OPERATOR, DESA)]
