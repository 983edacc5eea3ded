"""What the stored data keeps true whichever page, job or upgrade writes it.

A region code names one place at one level (provinsi, kabupaten/kota, kecamatan, desa/kelurahan), and the
places above it follow from the code alone: scopes, late-task escalation and figures per region rely on it.
A role is given only at the levels where its work is done, and a process lane names only a reconciliation
role. A new submission is no report of nihil: a desa with nothing entered says so. A determination, once
stored, stays as the head signed it. A time is stored as one instant whatever zone a server runs in, so a
deadline or a trail entry reads the same on every node. The connection to the database keeps personal
values out of error texts and, on SQLite, has a change take its turn at once instead of failing half-way.
An upgrade of a deployed database carries the data already stored into the new release's form.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.exc import DBAPIError, StatementError

from engine.core.audit import AuditAction
from engine.core.errors import Invalid
from engine.people import users
from engine.verification import cycles, status
from models import (
    EMAIL_MAX_ATTEMPTS,
    TIER_ORDER_UP,
    WORK_ROLE_OF_TIER,
    AuditEvent,
    CycleRhythm,
    Determination,
    HumanTask,
    LoginAttempt,
    QualityFlag,
    Region,
    RoleAssignment,
    Submission,
    SubmissionItem,
    Tier,
    ancestor_code,
    contains,
    parent_code,
    parse_lane,
    tier_of_code,
)
from models.db import make_engine, normalise_url, postgresql_timeouts
from models.schema import downgrade, revisions, upgrade
from notifications.email import BACKOFF, LONGEST_WAIT
from tests.factories import (
    DESA,
    SYSTEM,
    items_of,
    make_team,
    open_with_items,
    person_row,
    register_record,
    submit,
    waiting_at_kecamatan,
)
from tests.integration.test_agency_uploads import _determine
from tests.integration.test_migrations import _new_sqlite, _sqlite_at

NIK = "6501015705500001"


# Region codes


@pytest.mark.parametrize("code", ["65.01.01.2005.1", "65.01.01.2005.1.2"])
def test_a_code_deeper_than_a_desa_names_no_region(code):
    with pytest.raises(ValueError, match="kode wilayah tidak sah"):
        tier_of_code(code)


def test_a_region_has_an_ancestor_at_its_own_level_and_above_but_not_below():
    assert ancestor_code("65.01", Tier.KABUPATEN) == "65.01"
    assert ancestor_code("65.01", Tier.PROVINSI) == "65"
    with pytest.raises(ValueError, match="tidak berada di bawah tingkat kecamatan"):
        ancestor_code("65.01", Tier.KECAMATAN)


def test_each_region_hangs_under_the_level_just_above_and_the_province_under_none():
    assert parent_code("65.01.01.2005") == "65.01.01"
    assert parent_code("65.01.01") == "65.01"
    assert parent_code("65.01") == "65"
    assert parent_code("65") is None


def test_a_region_contains_itself_and_its_own_places_only():
    assert contains("65.01", "65.01") and contains("65.01", "65.01.01")
    assert not contains("65.01.01", "65.01") and not contains("65.01", "65.010")


def test_levels_are_named_as_the_ministry_names_them_and_ordered_from_the_province_down():
    assert [t.label for t in Tier] == ["provinsi", "kabupaten/kota", "kecamatan", "desa/kelurahan"]
    assert [t.depth for t in Tier] == [0, 1, 2, 3]


def test_a_late_task_goes_one_level_up_and_the_province_keeps_its_own():
    assert TIER_ORDER_UP == {
        Tier.DESA: Tier.KECAMATAN,
        Tier.KECAMATAN: Tier.KABUPATEN,
        Tier.KABUPATEN: Tier.PROVINSI,
        Tier.PROVINSI: Tier.PROVINSI,
    }


def test_a_kecamatans_late_task_is_escalated_to_its_kabupaten_on_the_trail(db):
    """A new task waits at the ordinary priority; once late it comes before every task not late."""
    _, _, task, _ = waiting_at_kecamatan(db)
    assert (task.priority, task.overdue) == (0, False)
    with db.transaction() as s:
        assert status.mark_overdue(s, SYSTEM, s.get(HumanTask, task.id))
    with db.read() as s:
        trail = s.scalar(select(AuditEvent).where(AuditEvent.action == AuditAction.TASK_OVERDUE))
        assert (s.get(HumanTask, task.id).priority, s.get(HumanTask, task.id).overdue) == (status.ESCALATED, True)
    assert trail.after == {"overdue": True, "eskalasi_ke": "kabupaten"}


# Submissions


def test_a_new_submission_is_no_report_of_nihil_and_an_empty_one_is_refused(db):
    """A desa with nothing entered says so explicitly: never a silent zero."""
    team = make_team(db)
    submission_id = open_with_items(db, [])
    with db.read() as s:
        opened = s.get(Submission, submission_id)
        assert (opened.nihil, opened.tidak_diperiksa, opened.putaran) == (False, None, 0)
    with pytest.raises(Invalid, match="pengajuan kosong"):
        submit(db, team.operator, submission_id)


def test_submissions_opened_for_a_whole_cycle_are_no_reports_of_nihil(db):
    cycles.open_cycle(db, SYSTEM, "2026-Q4")
    with db.read() as s:
        assert set(s.scalars(select(Submission.nihil).distinct())) == {False}


# Roles and the levels they are bound at

ROLE_LEVELS = {
    "operator": {"desa"},
    "verifier": {"kecamatan", "kabupaten"},
    "validator": {"provinsi"},
    "admin": {"provinsi", "kabupaten", "kecamatan", "desa"},
    "auditor": {"provinsi", "kabupaten", "kecamatan", "desa"},
    "walidata": {"kabupaten", "provinsi"},
    "forum_sdi": {"provinsi"},
    "kepala_dinas": {"provinsi"},
}
CODE_OF_LEVEL = {"provinsi": "65", "kabupaten": "65.01", "kecamatan": "65.01.01", "desa": DESA}


@pytest.mark.parametrize("lane", ["desa:operator", "kecamatan:verifier", "provinsi:validator", "provinsi:auditor"])
def test_a_process_lane_names_only_a_reconciliation_role_never_a_tiers_own_or_an_overseer(lane):
    with pytest.raises(ValueError, match="tidak dapat menjadi lane"):
        parse_lane(lane)


def test_each_verification_level_is_worked_by_its_own_working_role():
    assert {tier.value: role.value for tier, role in WORK_ROLE_OF_TIER.items()} == {
        "desa": "operator",
        "kecamatan": "verifier",
        "kabupaten": "verifier",
        "provinsi": "validator",
    }


def test_each_role_is_given_only_at_the_levels_where_its_work_is_done(db):
    for role, levels in ROLE_LEVELS.items():
        for level, code in CODE_OF_LEVEL.items():
            username = f"{role.replace('_', '.')}.{level}"
            if level in levels:
                with db.transaction() as s:
                    users.add_user(s, SYSTEM, username, role, code)
            else:
                with pytest.raises(Invalid, match=f"tidak dapat diberikan di tingkat {level}"):
                    with db.transaction() as s:
                        users.add_user(s, SYSTEM, username, role, code)
    with db.read() as s:
        given = {(a.role.value, a.tingkat.value) for a in s.scalars(select(RoleAssignment))}
    assert given == {(role, level) for role, levels in ROLE_LEVELS.items() for level in levels}


def test_the_register_items_index_is_built_on_the_condition_the_progress_counts_ask(db, is_postgresql):
    """Each database uses a partial index only for a query with its very condition."""
    (index,) = [i for i in SubmissionItem.__table__.indexes if i.name == "ix_submission_item_carried"]
    with db.engine.connect() as connection:
        if is_postgresql:
            built = connection.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": index.name})
            assert built.endswith("WHERE (((source)::text = 'register'::text) AND (dibuang IS FALSE))")
        else:
            built = connection.scalar(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": index.name})
            assert built.endswith(f"WHERE {index.dialect_options['sqlite']['where']}")
            assert built.endswith("WHERE source = 'register' AND dibuang IS 0")


def test_an_email_that_keeps_failing_is_tried_for_a_night_and_a_working_day_before_it_is_given_up():
    waits = [min(BACKOFF * 2 ** (attempt - 1), LONGEST_WAIT) for attempt in range(1, EMAIL_MAX_ATTEMPTS)]
    assert waits[:6] == [timedelta(minutes=m) for m in (2, 4, 8, 16, 32, 60)]
    assert sum(waits, timedelta()) == timedelta(hours=25, minutes=2)


# The update rhythm

RHYTHM = ("ritme", "hari_buka", "batas_desa", "batas_kecamatan", "batas_kabupaten", "batas_provinsi", "pengingat_hari")


def test_a_rhythm_stored_with_its_defaults_is_the_one_the_province_has_before_setting_any(db):
    """Quarterly, opening on the 1st, deadlines 30/45/60/75 days, reminded 3 days ahead, minutes required."""
    with db.transaction() as s:
        s.execute(delete(CycleRhythm))
        unset = cycles.rhythm(s)
        stored = CycleRhythm()
        s.add(stored)
        s.flush()
        assert [getattr(stored, c) for c in RHYTHM] == [getattr(unset, c) for c in RHYTHM]
        assert [getattr(unset, c) for c in RHYTHM] == ["triwulan", 1, 30, 45, 60, 75, 3]
        assert stored.berita_acara_wajib is unset.berita_acara_wajib is True


# The determination


def test_a_determination_once_stored_is_neither_changed_nor_deleted(db):
    _determine(db, 2025)
    with db.read() as s:
        determination_id = s.scalar(select(Determination.id))
    with pytest.raises(ValueError, match="penetapan 2025 revisi 0 sudah dibekukan"):
        with db.transaction() as s:
            s.get(Determination, determination_id).nomor_sk = "188.44/13/2025"
    with pytest.raises(ValueError, match="penetapan 2025 revisi 0 sudah dibekukan"):
        with db.transaction() as s:
            s.delete(s.get(Determination, determination_id))
    with db.read() as s:
        assert s.get(Determination, determination_id).nomor_sk == "188.44/12/2025"


# Times


def test_a_time_in_a_local_zone_is_stored_as_the_same_instant_and_read_back_in_utc(db):
    wita = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=8)))
    with db.transaction() as s:
        s.add(LoginAttempt(username="op.desa", address="10.0.0.1", at=wita))
    with db.read() as s:
        stored = s.scalar(select(LoginAttempt.at))
    assert stored == wita and stored.tzinfo is UTC and (stored.day, stored.hour) == (31, 15)


def test_a_time_without_a_zone_is_refused_rather_than_guessed(db):
    with pytest.raises(StatementError, match="waktu tanpa zona waktu tidak boleh disimpan"):
        with db.transaction() as s:
            s.add(LoginAttempt(username="op.desa", address="10.0.0.1", at=datetime(2026, 12, 31, 23, 30)))
            s.flush()
    with db.read() as s:
        assert s.scalar(select(LoginAttempt.id)) is None


# The connection


def test_a_postgres_address_is_read_as_postgresql_through_psycopg_with_its_password_kept():
    assert normalise_url("postgres://sijosku:rahasia@db:5432/sijosku") == (
        "postgresql+psycopg://sijosku:rahasia@db:5432/sijosku"
    )
    assert normalise_url("postgresql://sijosku:rahasia@db/sijosku") == "postgresql+psycopg://sijosku:rahasia@db/sijosku"
    assert normalise_url("sqlite:////srv/sijosku.db") == "sqlite:////srv/sijosku.db"


def test_a_silent_postgresql_server_is_given_up_on_after_the_statement_time_and_a_little_more():
    assert postgresql_timeouts(5, 30) == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=30000",
        "tcp_user_timeout": 35000,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def test_a_postgresql_engine_waits_for_a_free_connection_twice_the_connect_time_and_checks_it_first():
    engine = make_engine("postgresql://sijosku@127.0.0.1:1/sijosku", connect_timeout=4, statement_timeout=20)
    try:
        assert engine.pool._timeout == 8 and engine.pool._pre_ping
        assert engine.dialect.driver == "psycopg" and engine.hide_parameters
    finally:
        engine.dispose()


def test_a_failed_statement_does_not_repeat_the_nik_it_was_given(db):
    with pytest.raises(DBAPIError) as failure:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT kode FROM wilayah_tidak_ada WHERE kode = :nik"), {"nik": NIK})
    assert NIK not in str(failure.value)


def test_a_row_postgresql_refuses_is_not_repeated_in_the_error_text_either(db):
    """PostgreSQL's DETAIL line ("Failing row contains (...)") would carry the row's NIK into the text
    logs and the job history keep."""
    with pytest.raises(DBAPIError) as failure:
        with db.transaction() as s:
            s.add(register_record(1, nik=NIK, nama=None))
    assert NIK not in str(failure.value)


def test_on_sqlite_references_are_enforced_and_readers_work_beside_a_writer(db, is_postgresql):
    if is_postgresql:
        pytest.skip("SQLite's connection settings")
    fresh = make_engine(db.settings.database_url)  # a node's first connection, as it starts
    try:
        with fresh.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        fresh.dispose()


def test_on_sqlite_a_change_holds_the_write_lock_from_its_first_read(db, is_postgresql):
    """A change that reads first and writes later waits its turn at the start, never fails half-way."""
    if is_postgresql:
        pytest.skip("PostgreSQL locks rows, not the database")
    with db.transaction() as s:
        assert s.get(Region, DESA).nama
        with closing(sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)) as other:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")


# The schema's revision


def test_a_database_never_set_up_is_known_and_waits_for_the_latest_revision(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kosong.db'}")
    try:
        current, head, known = revisions(engine)
    finally:
        engine.dispose()
    assert (current, known) == (None, True) and head


def test_a_database_at_the_latest_revision_is_known_and_one_a_later_release_upgraded_is_not(db, tmp_path):
    current, head, known = revisions(db.engine)
    assert (current, known) == (head, True)
    later = _new_sqlite(tmp_path, "later.db")
    with later.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert revisions(later.engine) == ("9999", head, False)
    later.dispose()


# Upgrades of a database in use


def test_a_stored_determination_totals_only_the_provinces_own_figures_and_counts_its_records(tmp_path):
    db = _sqlite_at(tmp_path, "0047")
    angka = [["65", "LUT", 3], ["65", "KTK", 2], ["65.01", "LUT", 1], ["65.01", "ODHA", 4]]
    stored = {"tahun": 2025, "wilayah": "65", "angka": angka, "catatan": [[1, 1], [2, 1], [3, 2]]}
    frozen = {"region_kode": "65", "nomor_sk": "188.44/1/2026", "tanggal_sk": date(2026, 3, 1)}
    with db.engine.begin() as connection:  # as the release before wrote it: no totals beside it
        connection.execute(
            insert(Determination.__table__).values(
                tahun=2025, approved_by="kepala.dinas", content_hash="0" * 64, content=stored, **frozen
            )
        )
    upgrade(db.engine)
    with db.engine.connect() as connection:
        ringkasan = connection.execute(text("SELECT ringkasan FROM determination")).scalar()
    assert ringkasan in (
        '{"totals": {"KTK": 2, "LUT": 3, "jumlah": 5}, "catatan": 3}',
        {"totals": {"KTK": 2, "LUT": 3, "jumlah": 5}, "catatan": 3},
    )
    db.dispose()


def _flag_messages(db) -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.scalars(text("SELECT message FROM quality_flag ORDER BY id")))


def test_flags_of_a_family_card_registered_elsewhere_are_reworded_too_and_back_on_downgrade(tmp_path):
    db = _sqlite_at(tmp_path, "0045")
    old = "No. KK ini sudah terdaftar di tempat lain; kecamatan akan memeriksanya"
    with db.engine.begin() as connection:
        flag = {"severity": "warning", "message": old, "tingkat": "desa", "region_kode": DESA}
        connection.execute(insert(QualityFlag.__table__).values(rule="duplikat_kk_tempat_lain", **flag))
    upgrade(db.engine, "0046")
    reworded = _flag_messages(db)
    downgrade(db.engine, "0045")
    assert (reworded, _flag_messages(db)) == (
        ["No. KK ini juga terdaftar di tempat lain; periksa apakah orang yang sama"],
        [old],
    )
    db.dispose()


def test_items_stored_before_family_cards_were_keyed_keep_an_empty_card_as_none_not_a_shared_blank(tmp_path):
    """An empty card number read from the item's values would make every card-less person one family."""
    db = _new_sqlite(tmp_path, "kk.db")
    submission_id = open_with_items(db, [person_row(1, no_kk=""), person_row(2)])
    downgrade(db.engine, "0006")
    upgrade(db.engine)
    assert [item.no_kk for item in items_of(db, submission_id)] == [None, person_row(2)["no_kk"]]
    db.dispose()
