"""a year's reconciliation instances by the prefix of their business key, on PostgreSQL

`reconciliation.instance_of` reads `business_key = 'rekonsiliasi:2026' OR business_key LIKE
'rekonsiliasi:2026:r%'`; under a collation other than C the unique index serves the equality only,
so the revision's prefix scanned every instance of every cycle (149 ms at national scale).

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-04 14:30:00
"""
from alembic import op

revision = '0053'
down_revision = '0052'
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    if _postgresql():
        op.create_index(
            'ix_process_instance_key_pola',
            'process_instance',
            ['business_key'],
            unique=False,
            postgresql_ops={'business_key': 'varchar_pattern_ops'},
        )


def downgrade() -> None:
    if _postgresql():
        op.drop_index('ix_process_instance_key_pola', table_name='process_instance')
