"""A region's rows are read by the prefix of their desa's code (`kode_desa = '65.01' OR kode_desa
LIKE '65.01.%'`). PostgreSQL under a collation other than C serves such a prefix only from an index
built with `varchar_pattern_ops`; without one each read scans the table."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from engine.verification import cycles, reconciliation
from models import Base, HumanTask, Record, Submission
from tests.factories import SYSTEM

PERIOD = "2026-Q4"
KECAMATAN = "65.01.01"
PREFIX_READS = {  # the index each read of a region's rows should go through
    "ix_ppks_record_desa_pola": select(Record.id).where(cycles.within(Record.kode_desa, "65.01")),
    "ix_submission_periode_desa_pola": select(Submission.id).where(
        Submission.periode == PERIOD, cycles.within(Submission.kode_desa, KECAMATAN)
    ),
    "ix_human_task_desa_pola": select(HumanTask.id).where(cycles.within(HumanTask.kode_desa, KECAMATAN)),
}


def _index(name: str):  # type: ignore[no-untyped-def]
    (found,) = [i for table in Base.metadata.tables.values() for i in table.indexes if i.name == name]
    return found


@pytest.mark.parametrize("name", list(PREFIX_READS))
def test_the_prefix_indexes_are_postgresqls_own(name):
    """Built with the pattern operator class, on PostgreSQL only (SQLite has no such class, and its
    LIKE is case-blind: its plain indexes are what it has)."""
    index = _index(name)
    assert index.dialect_options["postgresql"]["ops"] == {"kode_desa": "varchar_pattern_ops"}
    assert index._ddl_if is not None and index._ddl_if.dialect == "postgresql"


@pytest.mark.parametrize("name", list(PREFIX_READS))
def test_a_regions_rows_are_read_through_a_prefix_index_on_postgresql(db, is_postgresql, name):
    if not is_postgresql:
        pytest.skip("varchar_pattern_ops is PostgreSQL's; SQLite builds no such index")
    cycles.open_cycle(db, SYSTEM, PERIOD)  # 482 desa: submissions and tasks of the whole province
    query = str(PREFIX_READS[name].compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    with db.transaction() as s:
        s.execute(text("ANALYZE submission"))
        s.execute(text("ANALYZE human_task"))
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(s.scalars(text(f"EXPLAIN {query}")))
    assert name in plan
    assert "~>=~" in plan  # the prefix itself bounds the index range, not a filter after reading it


def test_a_years_reconciliation_is_found_through_a_key_prefix_index_on_postgresql(db, is_postgresql):
    """`reconciliation.instance_of` reads the year's key or a revision's (`rekonsiliasi:2026:r%`): the
    statement it sends is planned through the pattern index, not a scan of every cycle's instances."""
    if not is_postgresql:
        pytest.skip("varchar_pattern_ops is PostgreSQL's; SQLite builds no such index")
    index = _index("ix_process_instance_key_pola")
    assert index.dialect_options["postgresql"]["ops"] == {"business_key": "varchar_pattern_ops"}
    cycles.open_cycle(db, SYSTEM, PERIOD)  # 482 instances of the verification
    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    with db.transaction() as s:
        s.execute(text("ANALYZE process_instance"))
        s.execute(text("SET LOCAL enable_seqscan = off"))
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            assert reconciliation.instance_of(s, 2026) is None
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        ((statement, parameters),) = [(q, p) for q, p in sent if "business_key" in q]
        plan = "\n".join(row[0] for row in s.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters))
    assert "ix_process_instance_key_pola" in plan and "~>=~" in plan


def test_a_nik_a_record_carries_or_carried_before_is_read_through_indexes(db):
    """The auditor's search by a NIK, also one since corrected, reads the records' and the versions'
    indexes, not every record or version."""
    from models import ids_by_nik

    query = select(Record.id).where(Record.id.in_(ids_by_nik("6501010101900001")))
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    with db.transaction() as s:
        if db.engine.dialect.name == "postgresql":
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(s.scalars(text(f"EXPLAIN {sql}")))
            assert "Seq Scan" not in plan, plan
        else:
            plan = "\n".join(str(row[-1]) for row in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "SCAN ppks_record " not in plan + " ", plan
    assert "ix_ppks_record_version_nik" in plan and "ix_ppks_record_nik" in plan, plan
