"""PostgreSQL's cursor describes its columns only when asked (models/pg_cursor.py), and says what
psycopg's own cursor says."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from models import Region
from models.pg_cursor import Description


@pytest.fixture
def cursor(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("the cursor is PostgreSQL's")
    connection = db.engine.raw_connection()
    try:
        yield connection.cursor()
    finally:
        connection.close()


@pytest.mark.postgresql_only
def test_the_description_is_psycopgs_column_by_column(cursor):
    cursor.execute("SELECT kode, nama, tingkat FROM region WHERE kode = %s", ["65.01"])
    described = cursor.description
    assert isinstance(described, Description) and len(described) == 3
    plain = psycopg.Cursor(cursor.connection)
    plain.execute("SELECT kode, nama, tingkat FROM region WHERE kode = %s", ["65.01"])
    assert [tuple(c) for c in described] == [tuple(c) for c in plain.description]
    assert described[-1].name == "tingkat" and [c.name for c in described[1:]] == ["nama", "tingkat"]
    with pytest.raises(IndexError):
        described[3]
    assert cursor.fetchall() == [("65.01", "Kabupaten Bulungan", "KABUPATEN")]


@pytest.mark.postgresql_only
def test_a_statement_without_rows_has_no_description_and_an_empty_select_has_one(cursor):
    cursor.execute("UPDATE region SET nama = nama WHERE kode = 'tidak ada'")
    assert cursor.description is None
    cursor.execute("SELECT")
    assert cursor.description is not None and len(cursor.description) == 0


@pytest.mark.postgresql_only
def test_a_description_read_after_the_next_statement_is_refused(cursor):
    cursor.execute("SELECT kode FROM region LIMIT 1")
    earlier = cursor.description
    cursor.execute("SELECT nama, tingkat FROM region LIMIT 1")
    with pytest.raises(RuntimeError, match="moved on"):
        earlier[0]
    assert [c.name for c in cursor.description] == ["nama", "tingkat"]


@pytest.mark.postgresql_only
def test_sqlalchemy_results_keep_their_column_names(db, is_postgresql):
    if not is_postgresql:
        pytest.skip("the cursor is PostgreSQL's")
    with db.read() as session:
        for _ in range(3):  # the first run describes the columns; later runs reuse the cached form
            row = session.execute(
                select(Region.kode, Region.nama.label("nama_wilayah")).where(Region.kode == "65")
            ).one()
            assert row._mapping["nama_wilayah"] == "Kalimantan Utara" and row.kode == "65"


@pytest.mark.postgresql_only
def test_a_column_is_described_once_however_often_it_is_read(cursor):
    cursor.execute("SELECT kode, nama FROM region WHERE kode = '65'")
    described = cursor.description
    assert described[1] is described[1] and described[0:2][1] is described[-1]
