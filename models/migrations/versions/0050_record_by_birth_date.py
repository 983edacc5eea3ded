"""records by birth date: a person keyed with one NIK digit wrong is found on another desa's register

An upload compares each person with the province's active records born the same day
(`engine.quality.duplicates.slipped_elsewhere`); without an index that is a scan of every record.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-04 04:00:00
"""
from alembic import op

revision = '0050'
down_revision = '0049'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ppks_record', schema=None) as batch_op:
        batch_op.create_index('ix_ppks_record_tanggal_lahir', ['tanggal_lahir'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ppks_record', schema=None) as batch_op:
        batch_op.drop_index('ix_ppks_record_tanggal_lahir')
