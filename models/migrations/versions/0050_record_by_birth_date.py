"""records by birth date and half of the NIK: a person keyed with one NIK digit wrong is found on
another desa's register

An upload compares each person with the province's active records born the same day whose NIK
shares one half with theirs (`engine.quality.duplicates.slipped_elsewhere`): without these indexes a
scan of the register's same-day records, most of the province's for a large file.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-04 04:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0050'
down_revision = '0049'
branch_labels = None
depends_on = None


HALVES = {'ix_ppks_record_lahir_nik_awal': 'substr(nik, 1, 8)', 'ix_ppks_record_lahir_nik_akhir': 'substr(nik, 9, 8)'}


def upgrade() -> None:
    for name, half in HALVES.items():
        op.create_index(name, 'ppks_record', ['tanggal_lahir', sa.text(half)], unique=False)


def downgrade() -> None:
    for name in HALVES:
        op.drop_index(name, table_name='ppks_record')
