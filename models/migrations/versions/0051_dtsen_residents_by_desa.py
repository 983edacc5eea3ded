"""DTSEN residents by desa and decile, register records by family card: the desa operator's list of
poor residents in no PPKS category

`dtsen.desa_information` reads a desa's residents of deciles 1-2 and looks each one up in the
register by NIK, then by family card: without these indexes a scan of the whole extract and of the
register's family cards for each desa's page.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-04 10:30:00
"""
from alembic import op

revision = '0051'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_dtsen_entry_region_desil', 'dtsen_entry', ['region_kode', 'desil'], unique=False)
    op.create_index('ix_ppks_record_no_kk', 'ppks_record', ['no_kk'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ppks_record_no_kk', table_name='ppks_record')
    op.drop_index('ix_dtsen_entry_region_desil', table_name='dtsen_entry')
