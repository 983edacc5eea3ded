"""a record found by a NIK it carried before a correction: an index of each version's NIK; and an
index of the items by the record they carry (whether a record is being removed by work in progress)

An auditor handed a complaint, an old list or another agency's file that names a NIK since corrected
finds the record by it (`trail.search_records`, `record_history.history`); without an index each such search
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


# each database's JSON as `models.record.NikHeld` writes it in a query (SQLite's `->>` only from 3.38)
INDEX = {
    'postgresql': ('ix_ppks_record_version_nik', "(nilai ->> 'nik')"),
    'sqlite': ('ix_ppks_record_version_nik_json', "json_extract(nilai, '$.nik')"),
}


def upgrade() -> None:
    name, expression = INDEX[op.get_bind().dialect.name]
    op.create_index(name, 'ppks_record_version', [sa.text(expression)], unique=False)
    op.create_index('ix_submission_item_record_id', 'submission_item', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_submission_item_record_id', table_name='submission_item')
    name, _ = INDEX[op.get_bind().dialect.name]
    op.drop_index(name, table_name='ppks_record_version')
