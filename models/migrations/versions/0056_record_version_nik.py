"""a record found by a NIK it carried before a correction: an index of each version's NIK

An auditor handed a complaint, an old list or another agency's file that names a NIK since corrected
finds the record by it (`trail.search_records`, `records.history`); without an index each such search
read every version of every record.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-05 02:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0056'
down_revision = '0055'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ppks_record_version_nik', 'ppks_record_version', [sa.text("(nilai ->> 'nik')")], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ppks_record_version_nik', table_name='ppks_record_version')
