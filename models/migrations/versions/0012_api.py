"""interoperability: agency API tokens, Dukcapil NIK checks, the DTSEN extract, flags on records

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-30 18:18:22.504940
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dtsen_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('no_kk', sa.String(length=16), nullable=True),
    sa.Column('desil', sa.Integer(), nullable=False),
    sa.Column('program', sa.JSON(), nullable=False),
    sa.Column('region_kode', sa.String(length=13), nullable=True),
    sa.Column('imported_at', models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dtsen_entry'))
    )
    with op.batch_alter_table('dtsen_entry', schema=None) as batch_op:
        batch_op.create_index('ix_dtsen_entry_nik', ['nik'], unique=False)
        batch_op.create_index('ix_dtsen_entry_no_kk', ['no_kk'], unique=False)

    op.create_table('agency_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('instansi', sa.String(length=80), nullable=False),
    sa.Column('keterangan', sa.String(length=200), nullable=False),
    sa.Column('region_kode', sa.String(length=13), nullable=False),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('can_write', sa.Boolean(), nullable=False),
    sa.Column('sees_nik', sa.Boolean(), nullable=False),
    sa.Column('rate_limit', sa.String(length=40), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=80), nullable=True),
    sa.Column('last_used_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_kode'], ['region.kode'], name=op.f('fk_agency_token_region_kode_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_token')),
    sa.UniqueConstraint('prefix', name=op.f('uq_agency_token_prefix'))
    )
    op.create_table('nik_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('PADAN', 'TIDAK_PADAN', 'MENINGGAL', 'BELUM_DICEK', name='nikstatus', native_enum=False, length=12), nullable=False),
    sa.Column('berbeda', sa.JSON(), nullable=False),
    sa.Column('checked_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('attempted_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['submission_item.id'], name=op.f('fk_nik_check_item_id_submission_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['ppks_record.id'], name=op.f('fk_nik_check_record_id_ppks_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nik_check')),
    sa.UniqueConstraint('item_id', name=op.f('uq_nik_check_item_id')),
    sa.UniqueConstraint('record_id', name=op.f('uq_nik_check_record_id'))
    )
    with op.batch_alter_table('nik_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nik_check_nik'), ['nik'], unique=False)

    with op.batch_alter_table('quality_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_quality_flag_record_id'), ['record_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_quality_flag_record_id_ppks_record'), 'ppks_record', ['record_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('quality_flag', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_quality_flag_record_id_ppks_record'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_quality_flag_record_id'))
        batch_op.drop_column('record_id')

    with op.batch_alter_table('nik_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nik_check_nik'))

    op.drop_table('nik_check')
    op.drop_table('agency_token')
    with op.batch_alter_table('dtsen_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_dtsen_entry_no_kk')
        batch_op.drop_index('ix_dtsen_entry_nik')

    op.drop_table('dtsen_entry')
