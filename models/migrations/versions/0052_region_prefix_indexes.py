"""records, submissions and tasks by the prefix of their desa's code, on PostgreSQL

A region's rows are read as `kode_desa = '65.01' OR kode_desa LIKE '65.01.%'`. Under a collation
other than C, PostgreSQL's ordinary btree index cannot serve a LIKE prefix, so each such read scanned
the table; an index with `varchar_pattern_ops` can. SQLite needs none (its plain indexes stay).

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-04 10:45:00
"""
from alembic import op

revision = '0052'
down_revision = '0051'
branch_labels = None
depends_on = None


PATTERN = {'kode_desa': 'varchar_pattern_ops'}
INDEXES = {
    'ix_ppks_record_desa_pola': ('ppks_record', ['kode_desa']),
    'ix_submission_periode_desa_pola': ('submission', ['periode', 'kode_desa']),
    'ix_human_task_desa_pola': ('human_task', ['kode_desa']),
}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    if not _postgresql():
        return
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False, postgresql_ops=PATTERN)


def downgrade() -> None:
    if not _postgresql():
        return
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
